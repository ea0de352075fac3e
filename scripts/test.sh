#!/usr/bin/env bash
# Everything CI checks, in the order that fails fastest. Expects DATABASE_URL (see scripts/with-db.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
: "${DATABASE_URL:?scripts/test.sh needs DATABASE_URL; run it through make test}"

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
echo "== migrate $DATABASE_URL"
# One build for every step: the binary scripts/landuse-bin.sh makes is the one `cargo test
# --workspace` links (the same feature set), so nothing below compiles the api crate again.
bin=$(scripts/landuse-bin.sh)
"$bin" migrate
"$bin" seed
echo "== vendored OpenLayers against the published package"
scripts/vendor-ol.sh --check
echo "== the tile tests' decoder: mapbox-vector-tile from PyPI (scripts/tiles-venv.sh)"
scripts/tiles-venv.sh >/dev/null
echo "== cargo test"
cargo test --workspace --no-fail-fast
echo "== fuzz (LANDUSE_FUZZ_SECONDS=0 skips; scripts/fuzz.sh 3600 for a long run)"
if [[ ${LANDUSE_FUZZ_SECONDS:-20} != 0 ]]; then
  scripts/fuzz.sh "${LANDUSE_FUZZ_SECONDS:-20}"
fi
echo "== the review page in a real browser (chromium, playwright)"
scripts/review-browser.sh
echo "== schemathesis against /openapi.json"
scripts/api-fuzz.sh
echo "== memory under a 200-connection load (LANDUSE_LOAD_SECONDS=600 for a long run)"
scripts/load-memory.sh
echo "== read replicas: a streaming standby of the project-local cluster (scripts/replica-test.sh)"
scripts/replica-test.sh
