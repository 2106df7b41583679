#!/usr/bin/env bash
# A private PostgreSQL 15 cluster for the tests: postgres.sh start|stop|restart|status.
# initdb refuses root, so the cluster belongs to the postgres user (the
# Debian package makes it). It listens on 127.0.0.1:$ORCH_PG_PORT (default
# 55432) and a socket under $ORCH_TEST_DIR, with password (SCRAM) auth for
# the role orch / orch-test-pw on TCP. start is idempotent and prints the
# connection string; stop stops only this cluster (pg_ctl with its own
# data directory, which signals the pid in its own postmaster.pid).
set -euo pipefail
base=${ORCH_TEST_DIR:-/tmp/orch-test}
port=${ORCH_PG_PORT:-55432}
data="$base/pg-data"
sockdir="$base/pg-sock"
bin=/usr/lib/postgresql/15/bin
url="postgresql://orch:orch-test-pw@127.0.0.1:$port/orch"

as_pg() { runuser -u postgres -- "$@"; }
ready() { "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" 2>/dev/null; }

start() {
  if ready; then echo "$url"; return 0; fi
  [ -x "$bin/postgres" ] || {
    echo "postgres.sh: PostgreSQL 15 is not installed (apt-get install postgresql-15)" >&2
    exit 1
  }
  mkdir -p "$base" "$sockdir" "$base/pg-log"
  chown postgres "$sockdir" "$base/pg-log"
  if [ ! -f "$data/PG_VERSION" ]; then
    mkdir -p "$data"
    chown postgres "$data"
    as_pg "$bin/initdb" -D "$data" -U postgres -A trust --no-sync >"$base/pg-initdb.log" 2>&1
    cat >>"$data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$sockdir'
fsync = off
max_connections = 200
EOF
    # Local socket: the superuser, for setup. TCP: passwords only.
    cat >"$data/pg_hba.conf" <<EOF
local all postgres trust
host all all 127.0.0.1/32 scram-sha-256
EOF
  fi
  as_pg "$bin/pg_ctl" -D "$data" -l "$base/pg-log/postgres.log" -w -t 60 start >/dev/null
  psql_su() { as_pg psql -h "$sockdir" -p "$port" -U postgres -v ON_ERROR_STOP=1 -qAt "$@"; }
  if [ "$(psql_su -c "SELECT 1 FROM pg_roles WHERE rolname = 'orch'")" != 1 ]; then
    psql_su -c "CREATE ROLE orch LOGIN CREATEDB PASSWORD 'orch-test-pw'"
    psql_su -c "CREATE DATABASE orch OWNER orch"
  fi
  echo "$url"
}

case "${1:-}" in
start) start ;;
stop)
  [ -f "$data/postmaster.pid" ] || exit 0
  as_pg "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
  ;;
restart)
  as_pg "$bin/pg_ctl" -D "$data" -m fast -w -t 60 restart -l "$base/pg-log/postgres.log" >/dev/null
  ;;
status)
  if ready; then echo "running on 127.0.0.1:$port"; else echo "not running"; exit 1; fi
  ;;
*)
  echo "usage: postgres.sh start|stop|restart|status" >&2
  exit 2
  ;;
esac
