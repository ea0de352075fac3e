#!/usr/bin/env bash
# Runs a command with DATABASE_URL pointing at a ready, migrated PostGIS.
# With DATABASE_URL already set, that server is used and no cluster is started.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [[ -z ${DATABASE_URL:-} ]]; then
  "$root/scripts/db.sh" start
  DATABASE_URL=$("$root/scripts/db.sh" url)
  export DATABASE_URL
fi
exec "$@"
