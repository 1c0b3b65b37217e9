# The calendar of the backups: when the next one is due, and which ones retention deletes.
# Sourced by backup.sh (bash, in the database's image) and by s3-copy.sh (sh, in rclone's
# image, busybox on Alpine): so POSIX sh, and no date, awk or GNU tool, whose options differ
# between the two.
#
# Backups are named <database>-YYYYmmddTHHMMSSZ.sql.gz (UTC). Retention keeps, newest first:
#   - every backup of the last 24 hours (a restore's own safety backup never pushes out the one
#     being restored);
#   - the newest backup of each of the last KEEP_DAILY days that have one;
#   - the newest backup of each of the last KEEP_WEEKLY weeks (Monday to Sunday) that have one.

# Days since 1970-01-01 of a date in the proleptic Gregorian calendar (H. Hinnant's days_from_civil).
wayshub_days() {
  _y=$1
  _m=${2#0}
  _d=${3#0}
  if [ "$_m" -le 2 ]; then _y=$((_y - 1)); fi
  _era=$((_y / 400))
  _yoe=$((_y - _era * 400))
  if [ "$_m" -gt 2 ]; then _mp=$((_m - 3)); else _mp=$((_m + 9)); fi
  _doy=$(((153 * _mp + 2) / 5 + _d - 1))
  echo $((_era * 146097 + _yoe * 365 + _yoe / 4 - _yoe / 100 + _doy - 719468))
}

# wayshub_next_run_in NOW SCHEDULE: seconds from NOW (since the epoch) to the next run of
# SCHEDULE, `daily HH:MM` (UTC) or `every SECONDS`.
wayshub_next_run_in() {
  case $2 in
    every\ *) echo "${2#every }" ;;
    daily\ *)
      _at=${2#daily }
      _hh=${_at%:*}
      _mm=${_at#*:}
      _today=$(($1 / 86400 * 86400 + ${_hh#0} * 3600 + ${_mm#0} * 60))
      if [ "$_today" -gt "$1" ]; then echo $((_today - $1)); else echo $((_today + 86400 - $1)); fi
      ;;
    *) return 1 ;;
  esac
}

# wayshub_retention NOW KEEP_DAILY KEEP_WEEKLY: backup names on stdin, those to delete on stdout.
# NOW is seconds since the epoch (UTC). Names that are not backups are left alone.
wayshub_retention() {
  _now=$1
  _keep_daily=$2
  _keep_weekly=$3
  _last_day=
  _last_week=
  _days=0
  _weeks=0
  # The stamp first, so that a plain reverse sort puts the newest first.
  sed -n 's/^\(.*-\([0-9]\{8\}T[0-9]\{6\}Z\)\.sql\.gz\)$/\2 \1/p' | sort -r | while read -r _stamp _name; do
    _date=${_stamp%%T*}
    _time=${_stamp#*T}
    _day=$(wayshub_days "$(echo "$_date" | cut -c1-4)" "$(echo "$_date" | cut -c5-6)" "$(echo "$_date" | cut -c7-8)")
    _hh=$(echo "$_time" | cut -c1-2)
    _mm=$(echo "$_time" | cut -c3-4)
    _ss=$(echo "$_time" | cut -c5-6)
    _at=$((_day * 86400 + ${_hh#0} * 3600 + ${_mm#0} * 60 + ${_ss#0}))
    # 1970-01-01 was a Thursday: three days on, week 0 starts on a Monday.
    _week=$(((_day + 3) / 7))
    _keep=no
    if [ $((_now - _at)) -lt 86400 ]; then _keep=yes; fi
    if [ "$_day" != "$_last_day" ]; then
      _last_day=$_day
      _days=$((_days + 1))
      if [ "$_days" -le "$_keep_daily" ]; then _keep=yes; fi
    fi
    if [ "$_week" != "$_last_week" ]; then
      _last_week=$_week
      _weeks=$((_weeks + 1))
      if [ "$_weeks" -le "$_keep_weekly" ]; then _keep=yes; fi
    fi
    if [ "$_keep" = no ]; then echo "$_name"; fi
  done
}
