#!/usr/bin/env bash
# `make bench`: the benchmark suite of docs/performance.md, end to end, on this machine.
#   1. the release build of the server (`cargo build --release`), the criterion micro-benchmarks
#      of crates/spatial (coordinate files, areas);
#   2. a virtual environment with the peers (tipg, pygeoapi) at pinned versions, from PyPI;
#   3. martin (crates.io, pinned), the reference tile server, built once into $BENCH_OUT/tools;
#   4. the generated region (scripts/bench/region.py; kept while the generator is unchanged);
#   5. scripts/bench/bench.py: a fresh database (BENCH_DB, default landuse_benchrun) on the server
#      of DATABASE_URL, the region imported with `landuse layer import`, then the check against
#      pgbench, the layer read against the peers, the mixed-read load with wrk, and the farmland's
#      vector tiles against martin (scripts/bench/tilebench.py).
# Figures go to $BENCH_OUT (default bench-out/): report.md, results.json, and each tool's output.
# BENCH_PARTS=bbox,deep (any of check, serving, bbox, deep, load, tiles) runs only those parts
# after loading the region, and skips criterion, and martin's build unless tiles is among them.
# Exit status: non-zero when any part broke (an answer not 2xx, a peer's error, a part that
# stopped, a figure a budget needs missing); the report names them and marks each budget.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${BENCH_OUT:-$root/bench-out}
target=${CARGO_TARGET_DIR:-$root/target}
python=${PYTHON:-python3}
: "${DATABASE_URL:?DATABASE_URL must point at a PostGIS server (make bench sets it)}"
mkdir -p "$out"
started=$(date +%s)
stamp() { echo "[bench $(date +%H:%M:%S)] $*"; }

for tool in wrk pgbench psql; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing; run scripts/install-deps.sh" >&2; exit 1; }
done

stamp "release build"
t=$(date +%s)
cargo build --release -q -p landuse-api --bin landuse
build_s=$(( $(date +%s) - t ))

stamp "criterion micro-benchmarks (crates/spatial/benches)"
t=$(date +%s)
rm -rf "$target/criterion"
parts=${BENCH_PARTS:-check,serving,bbox,deep,load,tiles}
if [[ -z ${BENCH_PARTS:-} ]]; then
  cargo bench -q -p landuse-spatial --bench spatial -- --warm-up-time 1 --measurement-time 3 --noplot \
    | tee "$out/criterion.txt"
fi
criterion_s=$(( $(date +%s) - t ))

stamp "peers' virtual environment"
t=$(date +%s)
venv=$out/venv
[[ -x $venv/bin/python ]] || "$python" -m venv "$venv"
# Pinned, so that runs compare; psycopg2, SQLAlchemy and GeoAlchemy2 are what pygeoapi's
# PostgreSQL provider needs, uvicorn and gunicorn serve tipg and pygeoapi.
"$venv/bin/pip" install -q --disable-pip-version-check \
  tipg==1.6.1 pygeoapi==0.21.0 uvicorn==0.54.0 gunicorn==27.0.1 \
  psycopg2-binary==2.9.13 SQLAlchemy==2.1.9 GeoAlchemy2==0.20.0
venv_s=$(( $(date +%s) - t ))

stamp "martin (the reference tile server), built once from crates.io"
t=$(date +%s)
# Pinned, so that runs compare; only its PostgreSQL source (no web UI, which needs npm, no
# MBTiles/PMTiles/fonts/sprites). Built into the bench's tool folder with a target dir of its
# own that is deleted afterwards (800 MB of intermediate files for a 25 MB binary; the build took
# about half an hour here with other builds sharing the 2 cores).
martin_version=1.14.0
martin_root=$out/tools/martin-$martin_version
if [[ ,$parts, == *,tiles,* && ! -x $martin_root/bin/martin ]]; then
  rm -rf "$out/tools/martin-build"
  CARGO_TARGET_DIR=$out/tools/martin-build nice cargo install -q --locked martin --version "$martin_version" \
    --no-default-features --features postgres --root "$martin_root"
  rm -rf "$out/tools/martin-build"
fi
martin_s=$(( $(date +%s) - t ))

stamp "region"
t=$(date +%s)
region=$out/region
source_hash=$(sha256sum "$root/scripts/bench/region.py" | cut -c1-16)
if [[ ! -f $region/region.json || $(cat "$region/.source" 2>/dev/null) != "$source_hash" ]]; then
  rm -rf "$region"
  "$venv/bin/python" "$root/scripts/bench/region.py" "$region"
  echo "$source_hash" >"$region/.source"
fi
region_s=$(( $(date +%s) - t ))

stamp "suite"
suite_status=0
"$venv/bin/python" "$root/scripts/bench/bench.py" \
  --binary "$target/release/landuse" \
  --region "$region" \
  --out "$out" \
  --db-name "${BENCH_DB:-landuse_benchrun}" \
  --criterion "$target/criterion" \
  --martin "$martin_root/bin/martin" \
  --parts "$parts" || suite_status=$?

if [[ -z ${BENCH_PARTS:-} ]]; then
  stamp "review page and check report (scripts/review/bench.py)"
  python3 "$root/scripts/review/bench.py" --binary "$target/release/landuse" --database-url "$DATABASE_URL" --out "$out"
fi

total=$(( $(date +%s) - started ))
{
  echo
  echo "Steps: release build ${build_s} s, criterion ${criterion_s} s, peers' venv ${venv_s} s, martin ${martin_s} s, region ${region_s} s."
  echo "make bench took ${total} s in all."
} | tee -a "$out/report.md"
if [[ $suite_status != 0 ]]; then
  echo "make bench: the suite broke (exit $suite_status); see BROKEN in $out/report.md" >&2
  exit "$suite_status"
fi
