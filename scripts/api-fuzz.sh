#!/usr/bin/env bash
# API fuzzing with schemathesis against /openapi.json of the real binary, run by `make test`.
#
# A fresh database of its own (dropped afterwards), two officers of different counties as
# schemathesis "peers" (so its object_level_authorization check replays each one's reads as
# the other) plus a planner, every check schemathesis has, and a failure on any of them:
# no 5xx, every status, content type, header and body as the document says, and no
# cross-county read.
#
# Environment: DATABASE_URL (a server where databases can be created), LANDUSE_FUZZ_EXAMPLES
# (generated cases per operation and phase, default 25; raise it for a long run),
# LANDUSE_FUZZ_TIME (a ceiling in seconds, default 300), LANDUSE_VENV (where the virtual environment lives, default
# .data/venv-fuzz; created on first use from PyPI).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
: "${DATABASE_URL:?api-fuzz needs DATABASE_URL (run it through make test)}"
schemathesis_version=4.32.5
venv=${LANDUSE_VENV:-$root/.data/venv-fuzz}
fuzz_time=${LANDUSE_FUZZ_TIME:-300}
examples=${LANDUSE_FUZZ_EXAMPLES:-25}

if [[ ! -x $venv/bin/st ]] || ! "$venv/bin/st" --version 2>/dev/null | grep -q "$schemathesis_version"; then
  echo "api-fuzz: installing schemathesis $schemathesis_version into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "schemathesis==$schemathesis_version"
fi

cargo build -q -p landuse-api --bin landuse
bin=${CARGO_TARGET_DIR:-$root/target}/debug/landuse

# shellcheck source=scripts/scratch-server.sh
source "$root/scripts/scratch-server.sh"
scratch_database landuse_fuzz

token_for() { # name role county...
  local name=$1 role=$2
  shift 2
  local counties=()
  for c in "$@"; do counties+=(--county "$c"); done
  "$bin" user add --name "$name" --role "$role" "${counties[@]}" >/dev/null
  "$bin" token issue --user "$name" --label fuzz
}
hanbin=$(token_for fuzz-hanbin officer 610902)
hanyin=$(token_for fuzz-hanyin officer 610921)
planner=$(token_for fuzz-planner planner)

scratch_serve || exit 1
# Each officer owns a project and a case, so that reads have objects to find and replay.
for pair in "$hanbin 610902" "$hanyin 610921"; do
  read -r token county <<<"$pair"
  project=$(curl -sf -X POST "$base/api/v1/projects" -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/json' \
    -d "{\"name\":\"fuzz project $county\",\"county_code\":\"$county\",\"category\":\"infrastructure\",\"year\":2026}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  curl -sf -X POST "$base/api/v1/cases" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d "{\"project_id\":\"$project\",\"title\":\"fuzz case $county\"}" >/dev/null
done

cat >"$work/auth.json" <<EOF
{"auth": [
  {"name": "hanbin", "fixedHeaders": [{"name": "Authorization", "value": "Bearer $hanbin"}]},
  {"name": "hanyin", "fixedHeaders": [{"name": "Authorization", "value": "Bearer $hanyin"}]},
  {"name": "planner", "fixedHeaders": [{"name": "Authorization", "value": "Bearer $planner"}]}
]}
EOF
# positive_data_acceptance: a request the document calls valid must be accepted. Reads are held
# to that in full. A write can still be refused by a rule the document states but a schema
# cannot carry: a stale If-Match (412, schemathesis cannot know the current ETag), a refused
# transition or ledger rule, GeoJSON that parses but is not a valid polygon, a county code of the
# right form that is not one of the region's (422, each naming its rule). The reads named below
# take a county or holder that must exist (422 unknown-county), or an alert id or instant.
cat >"$work/schemathesis.toml" <<EOF
[auth.wfc]
path = "$work/auth.json"
peers = ["hanbin", "hanyin"]

# A write without its required If-Match is 428 Precondition Required (RFC 6585).
[checks.missing_required_header]
expected-statuses = ["400", "401", "403", "404", "422", "428"]

[[operations]]
include-method-regex = "^(POST|PUT|PATCH)$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "412", "422", "428"]

[[operations]]
include-path-regex = '^/api/v1/(offsets|quotas/\{year\}/\{holder\}|alerts)$'
include-method = "GET"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "422"]
EOF

echo "api-fuzz: schemathesis $schemathesis_version against $base/openapi.json ($examples examples per operation, at most ${fuzz_time}s)"
status=0
(cd "$work" && "$venv/bin/st" --config-file "$work/schemathesis.toml" run "$base/openapi.json" \
  --checks all --phases coverage,fuzzing,stateful --max-examples "$examples" --max-time "$fuzz_time" \
  --workers 1 --request-timeout 30 \
  --seed 7 --no-color) || status=$?
scratch_errors || status=1
exit $status
