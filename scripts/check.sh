#!/usr/bin/env bash
# The fast path (`make check`): formatting, clippy and the tests that need no database, for the
# edit-compile loop. `make test` stays the full battery CI runs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
start=$SECONDS
echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
echo "== unit tests (every crate's own) and the domain's rule tests"
cargo test --workspace --lib --bins -q
cargo test -p landuse-domain --test domain -q
echo "make check: passed in $((SECONDS - start)) s (make test runs everything, with PostGIS)"
