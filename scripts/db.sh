#!/usr/bin/env bash
# The project-local PostGIS cluster: start | stop | status | url | home | clean.
#
# The cluster lives in .data/pg of the checkout when the `postgres` user can reach it. When the
# checkout sits where that user cannot go (under /root, mode 700), it lives in
# /var/tmp/landuse-pg-<hash of the checkout path>/ instead; `scripts/db.sh status` says where.
# It listens on 127.0.0.1:$LANDUSE_PG_PORT (default 55432) and on a socket of its own, so a system
# PostgreSQL on 5432 is never touched. LANDUSE_PG_HOME puts the cluster elsewhere (the set-up's
# own tests use it). The cluster streams its WAL to standbys (scripts/replica.sh makes one):
# wal_level=replica, WAL senders, and a pg_hba entry for replication from 127.0.0.1.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
port=${LANDUSE_PG_PORT:-55432}
dbname=${LANDUSE_PG_DB:-landuse}
pgbin=/usr/lib/postgresql/15/bin
pg_major=15

as_pg() {
  # From /, so the postgres user is never asked to enter a folder it cannot reach.
  if [[ $(id -u) -eq 0 ]]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

cluster_home() {
  if [[ -n ${LANDUSE_PG_HOME:-} ]]; then
    echo "$LANDUSE_PG_HOME"
  elif [[ $(id -u) -ne 0 ]] || runuser -u postgres -- test -x "$root" 2>/dev/null; then
    echo "$root/.data"
  else
    echo "/var/tmp/landuse-pg-$(printf '%s' "$root" | sha1sum | cut -c1-12)"
  fi
}

home=$(cluster_home)
pgdata=$home/pg
sockdir=$home/run
log=$home/postgres.log
url="postgres://postgres@127.0.0.1:$port/$dbname"

die() { echo "db: $*" >&2; exit 1; }

running() { [[ -f $pgdata/PG_VERSION ]] && as_pg "$pgbin/pg_ctl" -D "$pgdata" status >/dev/null 2>&1; }

port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

init_cluster() {
  if [[ -e $pgdata ]]; then
    if [[ ! -f $pgdata/PG_VERSION ]]; then
      die "$pgdata exists but holds no cluster (an interrupted set-up?). Remove it with 'make db-clean' and run again."
    fi
    local v
    v=$(cat "$pgdata/PG_VERSION")
    [[ $v == "$pg_major" ]] || die "$pgdata holds a cluster of PostgreSQL $v, not $pg_major. Remove it with 'make db-clean' (its data is lost) or point DATABASE_URL at a server of your own."
    return
  fi
  mkdir -p "$home"
  [[ $(id -u) -eq 0 ]] && chown postgres:postgres "$home"
  # initdb into a scratch folder and rename at the end, so a failure never leaves a half cluster behind.
  local tmp=$home/pg.initdb.$$
  as_pg mkdir -p "$tmp"
  trap 'rm -rf "$tmp"' EXIT
  as_pg "$pgbin/initdb" -D "$tmp" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$home/initdb.log" 2>&1 \
    || die "initdb failed; see $home/initdb.log"
  as_pg mv "$tmp" "$pgdata"
  trap - EXIT
  echo "db: created a PostgreSQL $pg_major cluster in $pgdata"
}

# A standby connects for replication from 127.0.0.1 (scripts/replica.sh). initdb writes such an
# entry; a cluster made otherwise gets one here, before the server reads pg_hba.conf.
allow_replication() {
  local hba=$pgdata/pg_hba.conf
  if ! as_pg grep -Eq '^host[[:space:]]+replication[[:space:]]+all[[:space:]]+127\.0\.0\.1/32' "$hba"; then
    echo 'host    replication     all             127.0.0.1/32            trust' | as_pg tee -a "$hba" >/dev/null
    echo "db: allowed replication connections from 127.0.0.1 in $hba"
  fi
}

start() {
  [[ -x $pgbin/pg_ctl ]] || die "PostgreSQL $pg_major server binaries are missing; run scripts/install-deps.sh"
  init_cluster
  if running; then
    echo "db: reusing the cluster already running in $pgdata on port $port"
  else
    if port_taken; then
      die "port $port is taken by another program. Stop it, or choose another port: LANDUSE_PG_PORT=55433 make ..."
    fi
    as_pg mkdir -p "$sockdir"
    allow_replication
    # wal_level, max_wal_senders and hot_standby are PostgreSQL 15's defaults, named here so a
    # standby's needs are visible and survive a changed default.
    as_pg "$pgbin/pg_ctl" -D "$pgdata" -l "$log" -w -t 60 \
      -o "-p $port -k $sockdir -c listen_addresses=127.0.0.1 -c max_connections=300 -c shared_buffers=512MB -c fsync=on -c wal_level=replica -c max_wal_senders=10 -c hot_standby=on" \
      start >/dev/null || die "the cluster did not start; see $log"
    echo "db: started the cluster in $pgdata on port $port (log: $log)"
  fi
  local psql=(env PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres)
  # PostGIS in template1: every database made from it (one per test) has the extension from the start.
  "${psql[@]}" -d template1 -c 'create extension if not exists postgis' >/dev/null
  if [[ $("${psql[@]}" -d postgres -tAc "select 1 from pg_database where datname = '$dbname'") != 1 ]]; then
    "${psql[@]}" -d postgres -c "create database $dbname" >/dev/null
    echo "db: created database $dbname"
  fi
}

stop() {
  if running; then
    as_pg "$pgbin/pg_ctl" -D "$pgdata" -m fast -w stop >/dev/null
    echo "db: stopped the cluster in $pgdata"
  else
    echo "db: no cluster running in $pgdata"
  fi
}

clean() {
  running && stop
  rm -rf "$pgdata" "$sockdir" "$home"/pg.initdb.* "$log"
  echo "db: removed $pgdata"
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  clean) clean ;;
  url) echo "$url" ;;
  home) echo "$home" ;;
  status)
    echo "cluster: $pgdata"
    echo "port: $port"
    if running; then echo "state: running"; else echo "state: stopped"; fi
    echo "DATABASE_URL=$url"
    ;;
  *) die "usage: scripts/db.sh start|stop|status|url|home|clean" ;;
esac
