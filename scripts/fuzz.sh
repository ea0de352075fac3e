#!/usr/bin/env bash
# Fuzzes the intake parsers with libFuzzer (cargo fuzz): the GeoJSON parcel/layer reader and the
# boundary-point coordinate-file parser, each for SECONDS (default 25), seeded with the
# committed fixtures. `make test` runs it briefly; for a long run, e.g. an hour per target:
#   scripts/fuzz.sh 3600
# Findings (a crashing input) land in fuzz/artifacts/<target>/ and the run fails.
#
# cargo fuzz needs nightly-only compiler flags. Only a stable toolchain is assumed here, so the
# run sets RUSTC_BOOTSTRAP=1 (which lets stable accept them) and builds without a sanitizer:
# the workspace forbids unsafe code, so AddressSanitizer would find little that a panic does
# not, and stable ships no sanitizer runtimes anyway.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds=${1:-25}

if ! command -v cargo-fuzz >/dev/null; then
  echo "fuzz: cargo-fuzz is missing; scripts/install-deps.sh installs it" >&2
  exit 1
fi

export RUSTC_BOOTSTRAP=1
# A target directory of its own: the fuzz build uses other flags than the workspace's.
export CARGO_TARGET_DIR=${LANDUSE_FUZZ_TARGET_DIR:-$PWD/fuzz/target}
work=$CARGO_TARGET_DIR/corpus

declare -A seeds=(
  [geojson_intake]="fixtures/hostile"
  [coordfile]="fixtures/coordfiles fixtures/hostile"
)
for target in geojson_intake coordfile; do
  mkdir -p "$work/$target"
  dirs=("$work/$target")
  for d in ${seeds[$target]}; do dirs+=("$PWD/$d"); done
  echo "== fuzz $target for ${seconds}s"
  set +e
  (cd fuzz && cargo fuzz run -O --sanitizer none "$target" "${dirs[@]}" \
    -- -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=1048576 -print_final_stats=1) \
    >"$work/$target.log" 2>&1
  status=$?
  set -e
  grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|SUMMARY|Done)' "$work/$target.log" || true
  if ((status != 0)); then
    tail -n 40 "$work/$target.log" >&2
    echo "fuzz: $target failed (status $status); crashing inputs are in fuzz/artifacts/$target/" >&2
    exit 1
  fi
done
