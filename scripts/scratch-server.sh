# Sourced by the scripts that run `landuse serve` of their own against a database of their own
# (api-fuzz.sh, load-memory.sh); not run by itself. Expects $bin (a landuse binary) and
# DATABASE_URL (a server where databases can be created).
#
#   scratch_database NAME   makes the database NAME_<pid> on DATABASE_URL's server, points
#                           DATABASE_URL at it, migrates and seeds it; a scratch folder is $work.
#   scratch_serve [VAR=VALUE...]
#                           starts the server as landuse_app (row-level security, as in
#                           production) on a free port with the extra environment given,
#                           logging JSON to $work/serve.log; sets $pid and $base (http://…).
#   scratch_errors          prints the server's ERROR lines; fails when there are any.
#
# On exit the server is stopped, the database dropped and $work removed.

scratch_server=${DATABASE_URL%/*}
scratch_db=""
work=$(mktemp -d)
pid=""
base=""

scratch_cleanup() {
  [[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  [[ -n $scratch_db ]] &&
    psql -q "$scratch_server/postgres" -c "drop database if exists $scratch_db with (force)" >/dev/null 2>&1
  rm -rf "$work"
}
trap scratch_cleanup EXIT

scratch_database() {
  scratch_db="$1_$$"
  psql -q "$scratch_server/postgres" -c "create database $scratch_db" >/dev/null
  export DATABASE_URL="$scratch_server/$scratch_db"
  "$bin" migrate >/dev/null
  "$bin" seed >/dev/null
}

scratch_serve() {
  env LANDUSE_DB_ROLE=landuse_app "$@" \
    "$bin" serve --listen 127.0.0.1:0 --log-format json >"$work/serve.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do
    base=$(sed -n 's/.*"message":"listening".*"addr":"\([^"]*\)".*/http:\/\/\1/p' "$work/serve.log" | head -1)
    [[ -n $base ]] && return 0
    sleep 0.1
  done
  echo "$(basename "$0"): the server did not start:"
  cat "$work/serve.log"
  return 1
}

scratch_errors() {
  if grep -q '"level":"ERROR"' "$work/serve.log"; then
    echo "$(basename "$0"): the server logged errors:"
    grep '"level":"ERROR"' "$work/serve.log" | head -20
    return 1
  fi
}
