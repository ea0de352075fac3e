#!/usr/bin/env bash
# Memory under a 200-connection load: the server's resident memory must stay flat while 200
# clients keep it busy, or a long day of desktop GIS clients and officers would grow it until
# the machine kills it.
#
# A fresh database gets a small demo region; `landuse serve` (as landuse_app, so under
# row-level security) is loaded by wrk with 200 connections over a mix of reads (case lists of
# the whole city and of one county, single cases with their history, projects, alerts, OGC
# layer and parcel pages) by a reviewer and a county officer. The server's RSS is sampled every
# second. After a warm-up, the peak RSS of the last quarter of the run may exceed that of the
# first quarter by at most LANDUSE_LOAD_GROWTH_MB (default 16); every answer must be 2xx and no
# connection may fail. Figures go to stdout and to $LANDUSE_LOAD_OUT (default
# target/load-memory.txt).
#
# Environment: DATABASE_URL (a server where databases can be created), LANDUSE_LOAD_SECONDS
# (measured run, default 40), LANDUSE_LOAD_WARMUP (default 10), LANDUSE_LOAD_CONNECTIONS
# (default 200), LANDUSE_LOAD_BIN (a landuse binary; default: the debug build).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
: "${DATABASE_URL:?DATABASE_URL must point at a PostGIS server (make test sets it)}"
seconds=${LANDUSE_LOAD_SECONDS:-40}
warmup=${LANDUSE_LOAD_WARMUP:-10}
connections=${LANDUSE_LOAD_CONNECTIONS:-200}
growth_limit_mb=${LANDUSE_LOAD_GROWTH_MB:-16}
out=${LANDUSE_LOAD_OUT:-${CARGO_TARGET_DIR:-$root/target}/load-memory.txt}
command -v wrk >/dev/null || { echo "load-memory: wrk is missing (scripts/install-deps.sh installs it)"; exit 1; }

if [[ -n ${LANDUSE_LOAD_BIN:-} ]]; then
  bin=$LANDUSE_LOAD_BIN
else
  bin=$("$root/scripts/landuse-bin.sh")
fi

# shellcheck source=scripts/scratch-server.sh
source "$root/scripts/scratch-server.sh"
scratch_database landuse_load
"$bin" demo setup --dir "$work/demo" --tokens "$work/tokens.json" \
  --cultivated 2000 --farmland 800 --projects 60 >"$work/demo.log" 2>&1 ||
  { echo "load-memory: the demo region did not load:"; cat "$work/demo.log"; exit 1; }
reviewer=$(jq -r '.reviewer' "$work/tokens.json")
officer=$(jq -r '."officer:610902"' "$work/tokens.json")

# Requests a reviewer and an officer make all day, over ids of this region.
mapfile -t cases < <(psql -Atq "$DATABASE_URL" -c "select id from cases order by id limit 20")
mapfile -t own < <(psql -Atq "$DATABASE_URL" -c "select id from cases where county_code = '610902' order by id limit 5")
paths=(
  "/api/v1/cases?limit=50"
  "/api/v1/cases?overdue=true"
  "/api/v1/projects"
  "/api/v1/alerts?limit=100"
  "/api/v1/ledger"
  "/ogc/collections"
  "/ogc/collections/cultivated_land/items?limit=100"
  "/ogc/collections/permanent_farmland/items?limit=100&bbox=108.5,32.5,109.5,33.2"
  "/ogc/collections/parcels/items?limit=50"
)
for id in "${cases[@]:0:8}"; do paths+=("/api/v1/cases/$id" "/api/v1/cases/$id/history"); done
officer_paths=("/api/v1/cases?limit=50" "/api/v1/projects" "/ogc/collections/parcels/items?limit=50")
for id in "${own[@]}"; do officer_paths+=("/api/v1/cases/$id"); done

{
  echo 'local reviewer = {'
  for p in "${paths[@]}"; do printf '  "%s",\n' "$p"; done
  echo '}'
  echo 'local officer = {'
  for p in "${officer_paths[@]}"; do printf '  "%s",\n' "$p"; done
  echo '}'
  cat <<LUA
local counter = 0
function setup(thread)
  thread:set("offset", counter * 7)
  counter = counter + 1
end
local i = 0
function request()
  i = i + 1
  if i % 4 == 0 then
    local path = officer[((i + offset) % #officer) + 1]
    return wrk.format("GET", path, { ["Authorization"] = "Bearer $officer" })
  end
  local path = reviewer[((i + offset) % #reviewer) + 1]
  return wrk.format("GET", path, { ["Authorization"] = "Bearer $reviewer" })
end
LUA
} >"$work/mix.lua"

scratch_serve LANDUSE_RATE_LIMIT=1000000000 || exit 1
# Every path answers 200 before the load starts: a broken path would only measure errors.
for p in "${paths[@]}"; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $reviewer" "$base$p")
  [[ $code == 200 ]] || { echo "load-memory: $p answered $code before the load"; exit 1; }
done
for p in "${officer_paths[@]}"; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $officer" "$base$p")
  [[ $code == 200 ]] || { echo "load-memory: $p answered $code to the officer before the load"; exit 1; }
done

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$pid/status"; }
idle=$(rss_kb)
(
  while kill -0 "$pid" 2>/dev/null; do
    echo "$(date +%s) $(rss_kb)"
    sleep 1
  done
) >"$work/rss.txt" &
sampler=$!

total=$((warmup + seconds))
wrk -t2 -c"$connections" -d"${total}s" --timeout 30s -s "$work/mix.lua" "$base" >"$work/wrk.txt" 2>&1
kill "$sampler" 2>/dev/null || true
after=$(rss_kb)

# Samples of the measured run (after the warm-up), in KiB.
start=$(head -1 "$work/rss.txt" | cut -d' ' -f1)
awk -v s="$start" -v w="$warmup" -v n="$seconds" '$1 >= s + w && $1 < s + w + n {print $2}' "$work/rss.txt" >"$work/measured.txt"
count=$(wc -l <"$work/measured.txt")
[[ $count -ge 8 ]] || { echo "load-memory: only $count samples were taken"; exit 1; }
quarter=$((count / 4))
first=$(head -n "$quarter" "$work/measured.txt" | sort -n | tail -1)
last=$(tail -n "$quarter" "$work/measured.txt" | sort -n | tail -1)
peak=$(sort -n "$work/measured.txt" | tail -1)
growth=$(((last - first) / 1024))

requests=$(awk '/requests in/ {print $1}' "$work/wrk.txt")
rps=$(awk '/^Requests\/sec:/ {print $2}' "$work/wrk.txt")
non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$work/wrk.txt")
socket=$(grep -o 'Socket errors:.*' "$work/wrk.txt" || true)
latency=$(awk '/^    Latency/ {print $2 " mean, " $4 " max"}' "$work/wrk.txt")

report=$(cat <<REPORT
load-memory: $connections connections, ${warmup} s warm-up + ${seconds} s measured, $(basename "$bin") ($bin)
  requests      ${requests:-0} (${rps:-0}/s), latency ${latency:-?}
  non-2xx       ${non2xx:-0}
  socket errors ${socket:-none}
  RSS idle      $((idle / 1024)) MiB
  RSS measured  first quarter peak $((first / 1024)) MiB, last quarter peak $((last / 1024)) MiB, peak $((peak / 1024)) MiB
  RSS after     $((after / 1024)) MiB
  growth        ${growth} MiB (limit ${growth_limit_mb} MiB)
REPORT
)
echo "$report"
mkdir -p "$(dirname "$out")"
echo "$report" >"$out"

status=0
if [[ -n ${non2xx:-} && ${non2xx:-0} -gt 0 ]]; then
  echo "load-memory: $non2xx answers were not 2xx"; status=1
fi
if [[ -n $socket ]]; then
  echo "load-memory: connections failed: $socket"; status=1
fi
scratch_errors || status=1
if ((growth > growth_limit_mb)); then
  echo "load-memory: resident memory grew by $growth MiB under steady load"; status=1
fi
exit $status
