#!/usr/bin/env bash
# make chaos: thousands of idempotent writes while kill -9 hits the server, then the PostgreSQL
# postmaster, at random moments; afterwards every acknowledged write must exist exactly once with
# its history event. Too long for every CI run; its last result is in docs/reliability.md.
#
# It runs on a cluster of its own (killing the postmaster of the shared one would stop everyone
# else's work): LANDUSE_CHAOS_HOME (default /var/tmp/landuse-chaos-<checkout hash>) on port
# LANDUSE_CHAOS_PORT (default 55499). LANDUSE_CHAOS_WRITES (default 6000) and
# LANDUSE_CHAOS_WORKERS (default 8) size the run.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
hash=$(printf '%s' "$root" | sha1sum | cut -c1-12)
export LANDUSE_PG_HOME=${LANDUSE_CHAOS_HOME:-/var/tmp/landuse-chaos-$hash}
export LANDUSE_PG_PORT=${LANDUSE_CHAOS_PORT:-55499}
export LANDUSE_PG_DB=landuse

bin=$("$root/scripts/landuse-bin.sh")

scripts/db.sh start
url=$(scripts/db.sh url)
psql -q "${url%/*}/postgres" -c "drop database if exists landuse with (force)" -c "create database landuse"
export DATABASE_URL=$url
"$bin" migrate >/dev/null
"$bin" seed >/dev/null
"$bin" user add --name chaos-officer --role officer --county 610902 >/dev/null
token=$("$bin" token issue --user chaos-officer --label chaos)

python3 scripts/chaos.py --bin "$bin" --database-url "$url" --token "$token" \
  --pg-home "$LANDUSE_PG_HOME" --writes "${LANDUSE_CHAOS_WRITES:-6000}" \
  --workers "${LANDUSE_CHAOS_WORKERS:-8}" --restart-db "$root/scripts/db.sh start"
status=$?
scripts/db.sh stop >/dev/null || true
exit $status
