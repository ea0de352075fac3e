#!/usr/bin/env bash
# make replica-test: the read-replica tests (crates/api/tests/api/replicas.rs, issue 23) against
# the project-local primary (scripts/db.sh) and a streaming standby of it (scripts/replica.sh).
#
# The tests stop and start both servers, so they run one at a time, on the project-local
# cluster only: a DATABASE_URL of your own is not used here. They are #[ignore]d in a plain
# `cargo test` and run here with --ignored.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export LANDUSE_PG_PORT=${LANDUSE_PG_PORT:-55432}
export LANDUSE_PG_REPLICA_PORT=${LANDUSE_PG_REPLICA_PORT:-$((LANDUSE_PG_PORT + 1))}
if [[ -n ${DATABASE_URL:-} ]]; then
  echo "replica-test: DATABASE_URL is set; these tests stop and start servers, so they use the project-local cluster instead"
fi
"$root/scripts/db.sh" start
# A standby copied fresh for every run: one left from an earlier run may need WAL the primary has
# since recycled (there is no replication slot), and would never catch up.
"$root/scripts/replica.sh" clean >/dev/null
"$root/scripts/replica.sh" start
# The standby is the tests' own: stopped afterwards, pass or fail (scripts/replica.sh start
# brings it back for a look by hand).
trap '"$root/scripts/replica.sh" stop >/dev/null || true' EXIT
DATABASE_URL=$("$root/scripts/db.sh" url)
export DATABASE_URL
export LANDUSE_TEST_STANDBY_URL=postgres://postgres@127.0.0.1:$LANDUSE_PG_REPLICA_PORT
started=$(date +%s)
cd "$root"
# `--workspace`, not `-p landuse-api`: the feature set of `make test`'s own build, so this reuses its
# test binary instead of compiling the api crate and its dependencies once more.
cargo test --workspace --test api replicas:: -- --ignored --test-threads=1
echo "replica-test: passed in $(($(date +%s) - started)) s"
