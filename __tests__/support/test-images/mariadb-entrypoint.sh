#!/bin/bash
# Entrypoint of the end-to-end tests' MariaDB image (built by images.ts from Debian's
# mariadb-server), with the environment contract of the official mysql/mariadb images:
#   MYSQL_DATABASE, MYSQL_USER, MYSQL_PASSWORD: the database and its user ('user'@'%'),
#   one of MYSQL_ROOT_PASSWORD, MYSQL_RANDOM_ROOT_PASSWORD=yes, MYSQL_ALLOW_EMPTY_PASSWORD=yes,
#   MYSQL_ROOT_HOST (default %): where root may log in from besides localhost.
# Each may also be given as MARIADB_<name> (which wins) or as <name>_FILE (a file holding it).
# Only read when /var/lib/mysql holds no database yet; with existing data the server just starts.
set -euo pipefail

DATADIR=/var/lib/mysql
RUNDIR=/run/mysqld
SOCKET=$RUNDIR/mysqld.sock

log() { printf '%s [entrypoint] %s\n' "$(date -u '+%Y-%m-%d %H:%M:%S')" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# setting NAME: MARIADB_NAME, MYSQL_NAME, or the contents of the file named by either's _FILE.
setting() {
  local name=$1 var file_var
  for var in "MARIADB_$name" "MYSQL_$name"; do
    file_var="${var}_FILE"
    if [ -n "${!var:-}" ] && [ -n "${!file_var:-}" ]; then die "both $var and $file_var are set: give only one"; fi
    if [ -n "${!var:-}" ]; then
      printf '%s' "${!var}"
      return
    fi
    if [ -n "${!file_var:-}" ]; then
      [ -r "${!file_var}" ] || die "$file_var names ${!file_var}, which cannot be read"
      cat -- "${!file_var}"
      return
    fi
  done
}

# A string literal for SQL run with sql_mode NO_BACKSLASH_ESCAPES: only quotes need doubling.
sql_string() { local s=${1//\'/\'\'}; printf "'%s'" "$s"; }
sql_ident() { local s=${1//\`/\`\`}; printf '`%s`' "$s"; }

is_yes() { case "${1,,}" in yes | y | true | 1 | on) return 0 ;; *) return 1 ;; esac; }

# Runs the server until it answers on its socket; SERVER_PID is its pid.
start_temporary_server() {
  "$@" --skip-networking --socket="$SOCKET" --skip-log-bin &
  SERVER_PID=$!
  local i
  for i in $(seq 120); do
    if mariadb-admin --socket="$SOCKET" --user=root --silent ping >/dev/null 2>&1; then return; fi
    kill -0 "$SERVER_PID" 2>/dev/null || die "the temporary server exited during initialization (its output is above)"
    sleep 0.25
  done
  die "the temporary server did not answer on $SOCKET within 30 s"
}

stop_temporary_server() {
  kill "$SERVER_PID"
  wait "$SERVER_PID" || die "the temporary server did not shut down cleanly"
}

initialize() {
  local database user password root_password root_host random_root allow_empty
  database=$(setting DATABASE)
  user=$(setting USER)
  password=$(setting PASSWORD)
  root_password=$(setting ROOT_PASSWORD)
  random_root=$(setting RANDOM_ROOT_PASSWORD)
  allow_empty=$(setting ALLOW_EMPTY_PASSWORD)
  root_host=$(setting ROOT_HOST)
  root_host=${root_host:-%}

  if [ -z "$root_password" ] && ! is_yes "$random_root" && ! is_yes "$allow_empty"; then
    die "the database is uninitialized and no root password option is given: set one of" \
      "MYSQL_ROOT_PASSWORD, MYSQL_RANDOM_ROOT_PASSWORD=yes or MYSQL_ALLOW_EMPTY_PASSWORD=yes"
  fi
  if [ -n "$user" ] && [ -z "$password" ]; then die "MYSQL_USER is set but MYSQL_PASSWORD is not"; fi
  if [ -z "$user" ] && [ -n "$password" ]; then die "MYSQL_PASSWORD is set but MYSQL_USER is not"; fi
  if [ "$user" = root ]; then
    die "MYSQL_USER=root: root is created anyway; use MYSQL_ROOT_PASSWORD for its password"
  fi
  if [ -z "$root_password" ] && is_yes "$random_root"; then
    root_password=$(head -c 24 /dev/urandom | base64 | tr -d '\n')
    echo "GENERATED ROOT PASSWORD: $root_password"
  fi

  # Built in a scratch directory and moved into place at the end: a container killed halfway
  # leaves no half-made database that the next start would take for a finished one.
  local scratch="$DATADIR/.initializing"
  rm -rf "$scratch"
  mkdir "$scratch"
  [ "$(id -u)" != 0 ] || chown mysql:mysql "$scratch"
  log "initializing the database in $DATADIR"
  local output
  output=$(mktemp)
  mariadb-install-db "${USER_ARG[@]}" --datadir="$scratch" --rpm --auth-root-authentication-method=normal \
    --skip-test-db --skip-name-resolve --skip-log-bin >"$output" 2>&1 ||
    { cat "$output" >&2; die "mariadb-install-db failed"; }
  rm -f "$output"

  start_temporary_server "$1" "${USER_ARG[@]}" --datadir="$scratch"

  local sql
  sql="SET SESSION sql_log_bin = 0;
SET SESSION sql_mode = 'NO_BACKSLASH_ESCAPES';
DROP USER IF EXISTS 'root'@'127.0.0.1', 'root'@'::1';
EXECUTE IMMEDIATE CONCAT('DROP USER IF EXISTS ''root''@''', @@hostname, '''');
DROP DATABASE IF EXISTS test;"
  if [ -n "$root_password" ]; then
    sql+="
ALTER USER 'root'@'localhost' IDENTIFIED BY $(sql_string "$root_password");"
  fi
  if [ "$root_host" != localhost ]; then
    sql+="
CREATE USER 'root'@$(sql_string "$root_host") IDENTIFIED BY $(sql_string "$root_password");
GRANT ALL ON *.* TO 'root'@$(sql_string "$root_host") WITH GRANT OPTION;"
  fi
  if [ -n "$database" ]; then
    sql+="
CREATE DATABASE IF NOT EXISTS $(sql_ident "$database");"
  fi
  if [ -n "$user" ]; then
    sql+="
CREATE USER $(sql_string "$user")@'%' IDENTIFIED BY $(sql_string "$password");"
    if [ -n "$database" ]; then
      sql+="
GRANT ALL ON $(sql_ident "$database").* TO $(sql_string "$user")@'%';"
    fi
  fi
  mariadb --socket="$SOCKET" --user=root --batch <<<"$sql" || die "setting up the database and its users failed"

  stop_temporary_server
  # The system database `mysql` goes last: its presence marks a finished initialization.
  # Whatever a move interrupted before left in the way is ours (there was no database yet).
  shopt -s dotglob
  local entry
  for entry in "$scratch"/*; do
    [ "${entry##*/}" = mysql ] && continue
    rm -rf "${DATADIR:?}/${entry##*/}"
    mv "$entry" "$DATADIR/"
  done
  mv "$scratch/mysql" "$DATADIR/mysql"
  rmdir "$scratch"
  shopt -u dotglob
  log "database ${database:-(none)} and user ${user:-(none)} created; starting the server"
}

# `docker run IMAGE --some-option` passes options to the server.
if [ $# -eq 0 ] || [ "${1:0:1}" = - ]; then set -- mysqld "$@"; fi

if [ "$1" != mysqld ] && [ "$1" != mariadbd ]; then exec "$@"; fi

USER_ARG=()
mkdir -p "$RUNDIR" "$DATADIR"
if [ "$(id -u)" = 0 ]; then
  USER_ARG=(--user=mysql)
  chown mysql:mysql "$RUNDIR"
  # A fresh named volume is owned by root.
  find "$DATADIR" \! -user mysql -exec chown mysql:mysql '{}' +
fi

if [ -d "$DATADIR/mysql" ]; then
  log "$DATADIR already holds a database: skipping initialization"
else
  initialize "$1"
fi

server=$1
shift
exec "$server" "${USER_ARG[@]}" --bind-address=0.0.0.0 --port=3306 --socket="$SOCKET" \
  --skip-name-resolve "$@"
