#!/usr/bin/env bash
# Builds the `landuse` binary and prints its path, for the scripts that run it (test.sh, api-fuzz.sh,
# review-browser.sh, load-memory.sh, chaos.sh).
#
# It builds with `--workspace --all-targets`, which resolves the dependencies' features exactly
# as `cargo test --workspace` does (dev-dependencies included), so the binary is the one the test
# build already made. `cargo build -p landuse-api` resolves another feature set and recompiled
# landuse-api and much of its dependency tree, 5 to 7 minutes on the 2-core machine, once per
# feature set in every `make test` after a change to the api crate.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
cargo build --workspace --all-targets >&2
echo "${CARGO_TARGET_DIR:-$root/target}/debug/landuse"
