#!/usr/bin/env bash
# Makes sure a PostgreSQL server from Debian's packages answers on 127.0.0.1:5432 with a role and
# a database for Terraform state, for the tests of WAYSHUB_STATE=pg (and for trying it locally).
# Installs postgresql when missing, starts the cluster, creates role and database when missing.
# Prints the connection string to use as PG_CONN_STR. Exit status: 0 when it answers, 1 otherwise.
#
#   bash scripts/postgres-up.sh            # then: export PG_CONN_STR=<the line it printed>
#
# The role's password is a local test password (WAYSHUB_PG_PASSWORD to choose another): the
# server listens on loopback only.
set -u
user=${WAYSHUB_PG_USER:-wayshub_state}
password=${WAYSHUB_PG_PASSWORD:-wayshub-state-local-only}
database=${WAYSHUB_PG_DATABASE:-wayshub_state}

if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then
    echo "postgres-up: PostgreSQL is not installed; as root: apt-get install postgresql" >&2
    exit 1
  fi
  echo "postgres-up: installing postgresql from Debian's packages ..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || echo "postgres-up: apt-get update failed" >&2
  apt-get install -y -qq postgresql >/dev/null || { echo "postgres-up: apt-get install postgresql failed" >&2; exit 1; }
fi

cluster=$(pg_lsclusters --no-header 2>/dev/null | awk 'NR == 1 { print $1 " " $2 }')
if [ -z "$cluster" ]; then
  echo "postgres-up: no PostgreSQL cluster; create one with: pg_createcluster --start 15 main" >&2
  exit 1
fi
# shellcheck disable=SC2086
if ! pg_ctlcluster $cluster status >/dev/null 2>&1; then
  # shellcheck disable=SC2086
  pg_ctlcluster $cluster start || { echo "postgres-up: could not start cluster $cluster; see /var/log/postgresql/" >&2; exit 1; }
fi

as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 && break; sleep 0.5; done
pg_isready -q -h 127.0.0.1 || { echo "postgres-up: the server does not answer on 127.0.0.1:5432" >&2; exit 1; }

# Role and database, once; the password is passed on stdin, never on a command line.
if [ "$(as_postgres psql -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$user'")" != 1 ]; then
  printf "CREATE ROLE %s LOGIN PASSWORD '%s';\n" "$user" "$password" | as_postgres psql -q -v ON_ERROR_STOP=1 >/dev/null || exit 1
fi
# The state's owner makes the plan roles of pull requests (scripts/pg-plan-role.sql).
as_postgres psql -q -v ON_ERROR_STOP=1 -c "ALTER ROLE $user CREATEROLE" >/dev/null || exit 1
if [ "$(as_postgres psql -tAc "SELECT 1 FROM pg_database WHERE datname = '$database'")" != 1 ]; then
  as_postgres createdb -O "$user" "$database" || exit 1
fi
echo "postgres-up: PostgreSQL answers; state database $database, role $user" >&2
echo "postgres://$user:$password@127.0.0.1:5432/$database?sslmode=disable"
