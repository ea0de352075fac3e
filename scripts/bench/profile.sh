#!/usr/bin/env bash
# Where a request's time goes: a flame graph of the whole machine (the release server,
# PostgreSQL's backends, wrk) while wrk sends one part's requests again, as in
# docs/performance.md: PROFILE_PART=bbox (part 2b's bbox items, 4 connections, the default) or
# load (part 4's mixed reads, 32 connections). Run after a bench run that kept its database and
# its wrk scripts:
#   BENCH_PARTS=bbox,load make bench && PROFILE_PART=load scripts/with-db.sh scripts/bench/profile.sh
# perf (Debian's linux-perf, installed by scripts/install-deps.sh) samples on the CPU clock
# (this machine's virtual CPUs count no cycles), with DWARF call graphs (neither the release
# build nor Debian's PostgreSQL keeps frame pointers). inferno (crates.io, pinned) folds the
# stacks and draws the SVG; it is built once into the bench's tool folder.
# Writes $BENCH_OUT/profile-PART.svg, profile-PART.folded and profile-PART.txt (the share of
# each process and the functions with the most samples of their own).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=${BENCH_OUT:-$root/bench-out}
target=${CARGO_TARGET_DIR:-$root/target}
seconds=${PROFILE_SECONDS:-20}
part=${PROFILE_PART:-bbox}
case $part in
  bbox) script=$out/bbox-ours.lua connections=4 title="bbox items under wrk, 4 connections (release)" ;;
  load) script=$out/load.lua connections=32 title="mixed reads under wrk, 32 connections (release)" ;;
  *) echo "profile: PROFILE_PART is bbox or load, not $part" >&2; exit 1 ;;
esac
: "${DATABASE_URL:?DATABASE_URL must point at the PostGIS server of the bench run}"
for f in "$out/tokens.json" "$script" "$target/release/landuse"; do
  [[ -e $f ]] || { echo "profile: $f is missing; run BENCH_PARTS=$part make bench first" >&2; exit 1; }
done
command -v perf >/dev/null || { echo "profile: perf is missing; run scripts/install-deps.sh" >&2; exit 1; }

inferno_version=0.12.8
inferno=$out/tools/inferno-$inferno_version/bin
if [[ ! -x $inferno/inferno-flamegraph ]]; then
  nice cargo install -q --locked inferno --version "$inferno_version" --root "$out/tools/inferno-$inferno_version"
fi

url=$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' \
  "$DATABASE_URL" "${BENCH_DB:-landuse_benchrun}")
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
DATABASE_URL=$url LANDUSE_LISTEN=127.0.0.1:$port LANDUSE_SWEEP_INTERVAL_S=0 LANDUSE_RATE_LIMIT=1000000000 RUST_LOG=warn \
  "$target/release/landuse" serve >"$out/profile-server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break
  sleep 0.2
done

echo "profile: $part, wrk for ${seconds}s at $connections connections, perf recording the middle $((seconds - 6))s"
wrk -t2 -c"$connections" -d"${seconds}s" --latency -s "$script" "http://127.0.0.1:$port" >"$out/profile-wrk.txt" &
load=$!
sleep 3
perf record -q -a -F 199 --call-graph dwarf,16384 -o "$out/profile-$part.data" -- sleep $((seconds - 6)) 2>/dev/null
wait $load
grep -E "Requests/sec|Non-2xx" "$out/profile-wrk.txt" || true

perf script -i "$out/profile-$part.data" 2>/dev/null | "$inferno/inferno-collapse-perf" >"$out/profile-$part.folded"
"$inferno/inferno-flamegraph" --title "$title" <"$out/profile-$part.folded" >"$out/profile-$part.svg"
python3 - "$out/profile-$part.folded" <<'PY' | tee "$out/profile-$part.txt"
import collections, sys
by_process, by_function, total = collections.Counter(), collections.Counter(), 0
for line in open(sys.argv[1]):
    stack, _, count = line.rstrip().rpartition(" ")
    frames, count = stack.split(";"), int(count)
    total += count
    by_process[frames[0]] += count
    by_function[(frames[0], frames[-1])] += count
print(f"{total} samples")
print("by process:")
for name, n in by_process.most_common(12):
    print(f"  {100 * n / total:5.1f}%  {name}")
print("by function (own samples):")
for (proc, fn), n in by_function.most_common(30):
    print(f"  {100 * n / total:5.1f}%  {proc}: {fn[:110]}")
PY
