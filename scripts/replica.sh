#!/usr/bin/env bash
# A streaming standby of the project-local cluster (scripts/db.sh): start | stop | status | url | clean.
#
# The standby is a `pg_basebackup -R -X stream` copy of the primary, in the `standby` folder
# beside the primary's `pg` (scripts/db.sh home says where), listening on 127.0.0.1 at
# LANDUSE_PG_REPLICA_PORT (default LANDUSE_PG_PORT + 1) with a socket folder of its own. It
# replays the primary's WAL as it is written and answers read-only queries (hot standby); when
# the primary stops it keeps answering and reconnects by itself once the primary is back.
#
# LANDUSE_STANDBY_FEEDBACK (on by default) sets hot_standby_feedback: the standby tells the
# primary which rows its open queries still read, so vacuum keeps them and long reads are not
# cancelled by recovery conflicts (docs/scaling.md says what that costs).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
port=${LANDUSE_PG_PORT:-55432}
replica_port=${LANDUSE_PG_REPLICA_PORT:-$((port + 1))}
dbname=${LANDUSE_PG_DB:-landuse}
feedback=${LANDUSE_STANDBY_FEEDBACK:-on}
pgbin=/usr/lib/postgresql/15/bin

as_pg() {
  if [[ $(id -u) -eq 0 ]]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

home=$("$root/scripts/db.sh" home)
pgdata=$home/standby
sockdir=$home/run-standby
log=$home/standby.log
url="postgres://postgres@127.0.0.1:$replica_port/$dbname"

die() { echo "replica: $*" >&2; exit 1; }

running() { [[ -f $pgdata/PG_VERSION ]] && as_pg "$pgbin/pg_ctl" -D "$pgdata" status >/dev/null 2>&1; }

port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

psql_at() {
  local p=$1
  shift
  env PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$p" -U postgres "$@"
}

base_backup() {
  port_taken "$port" || die "the primary is not running on port $port; start it first with scripts/db.sh start"
  # Copy into a scratch folder and rename at the end, so a failed copy never looks like a standby.
  local tmp=$home/standby.basebackup.$$
  trap 'rm -rf "$tmp"' EXIT
  as_pg "$pgbin/pg_basebackup" -h 127.0.0.1 -p "$port" -U postgres -D "$tmp" -R -X stream -c fast \
    >"$home/basebackup.log" 2>&1 || die "pg_basebackup failed; see $home/basebackup.log"
  as_pg mv "$tmp" "$pgdata"
  trap - EXIT
  echo "replica: copied the primary on port $port into $pgdata"
}

start() {
  [[ -x $pgbin/pg_basebackup ]] || die "PostgreSQL 15 server binaries are missing; run scripts/install-deps.sh"
  if [[ -e $pgdata && ! -f $pgdata/standby.signal ]]; then
    die "$pgdata exists but is not a standby (an interrupted copy, or a promoted one). Remove it with 'scripts/replica.sh clean' and run again."
  fi
  [[ -e $pgdata ]] || base_backup
  if running; then
    echo "replica: reusing the standby already running in $pgdata on port $replica_port"
    return
  fi
  port_taken "$replica_port" && die "port $replica_port is taken by another program; choose another: LANDUSE_PG_REPLICA_PORT=... scripts/replica.sh start"
  as_pg mkdir -p "$sockdir"
  # max_connections must be at least the primary's for a hot standby to start.
  as_pg "$pgbin/pg_ctl" -D "$pgdata" -l "$log" -w -t 60 \
    -o "-p $replica_port -k $sockdir -c listen_addresses=127.0.0.1 -c max_connections=300 -c shared_buffers=128MB -c hot_standby=on -c hot_standby_feedback=$feedback" \
    start >/dev/null || die "the standby did not start; see $log"
  echo "replica: started the standby in $pgdata on port $replica_port (log: $log)"
}

stop() {
  if running; then
    as_pg "$pgbin/pg_ctl" -D "$pgdata" -m fast -w stop >/dev/null
    echo "replica: stopped the standby in $pgdata"
  else
    echo "replica: no standby running in $pgdata"
  fi
}

status() {
  echo "standby: $pgdata"
  echo "port: $replica_port (primary: $port)"
  if running; then
    echo "state: running"
    psql_at "$replica_port" -d postgres -tAc \
      "select 'in recovery: ' || pg_is_in_recovery() || E'\nreplayed up to: ' || coalesce(pg_last_wal_replay_lsn()::text, '-')"
    if port_taken "$port"; then
      psql_at "$port" -d postgres -tAc \
        "select 'streaming from the primary: ' || coalesce(string_agg(state || ' (replay lag ' || coalesce(replay_lag::text, '0') || ')', ', '), 'no')
           from pg_stat_replication"
    else
      echo "streaming from the primary: no (the primary is not running)"
    fi
  else
    echo "state: stopped"
  fi
  echo "DATABASE_READ_URL=$url"
}

clean() {
  if running; then stop; fi
  rm -rf "$pgdata" "$sockdir" "$home"/standby.basebackup.* "$log"
  echo "replica: removed $pgdata"
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  status) status ;;
  url) echo "$url" ;;
  clean) clean ;;
  *) die "usage: scripts/replica.sh start|stop|status|url|clean" ;;
esac
