#!/usr/bin/env bash
# Makes sure an S3 server answers on this machine for the backup tests (and for trying S3 backups
# locally): s3rver, an S3 server from npm (a devDependency, so after `npm ci`), keeping its
# buckets in /var/lib/wayshub-s3, with the bucket `wayshub-backups`. Exit status: 0 when it answers.
#
#   bash scripts/s3-up.sh     # then: WAYSHUB_BACKUP_S3=s3://wayshub-backups/<prefix>
#
# Its keys are s3rver's fixed test keys (S3RVER / S3RVER). It listens on every address, since
# containers reach it through their network's gateway, so keep its port closed to the internet.
set -u
cd "$(dirname "$0")/.."
port=${WAYSHUB_E2E_S3_PORT:-4569}
dir=${WAYSHUB_E2E_S3_DIR:-/var/lib/wayshub-s3}
log=${TMPDIR:-/tmp}/wayshub-s3.log

answers() { curl -s -o /dev/null --max-time 3 "http://127.0.0.1:$port/"; }
if answers; then
  echo "s3-up: an S3 server answers on port $port" >&2
  exit 0
fi
[ -x node_modules/.bin/s3rver ] || { echo "s3-up: node_modules/.bin/s3rver is missing: run npm ci first" >&2; exit 1; }
mkdir -p "$dir"
echo "s3-up: starting s3rver on port $port (buckets in $dir, log: $log) ..." >&2
setsid nohup node_modules/.bin/s3rver --directory "$dir" --address 0.0.0.0 --port "$port" \
  --configure-bucket wayshub-backups >"$log" 2>&1 < /dev/null &
for _ in $(seq 1 40); do
  if answers; then
    echo "s3-up: s3rver answers on port $port" >&2
    exit 0
  fi
  sleep 0.25
done
echo "s3-up: s3rver did not answer on port $port within 10 s; see $log" >&2
exit 1
