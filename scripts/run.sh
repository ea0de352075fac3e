#!/usr/bin/env bash
# make run: migrate, load the seeds and the demo region once, then serve.
# The demo is generated into .data/demo (not committed) and loaded only when the database has
# none; a second run keeps it. .data/demo-tokens.json holds a token per role and per county
# officer: tokens still valid are kept, missing or revoked ones re-issued (docs/demo.md).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
: "${DATABASE_URL:?scripts/run.sh needs DATABASE_URL; run it through make run}"
cargo build -q -p landuse-api --bin landuse
bin="${CARGO_TARGET_DIR:-target}/debug/landuse"
"$bin" migrate
"$bin" seed
mkdir -p .data
tokens=.data/demo-tokens.json
"$bin" demo setup --seed "${LANDUSE_DEMO_SEED:-8}" --dir .data/demo --tokens "$tokens"

listen="${LANDUSE_LISTEN:-127.0.0.1:8080}"
token_of() {
  # The file is written by `landuse demo setup` as flat {"key": "token"} JSON.
  jq -r --arg key "$1" '.[$key] // empty' "$tokens"
}
cat <<MSG

The demo region is loaded (docs/demo.md: what it holds and three things to try).
  API docs      http://$listen/docs   (OpenAPI: http://$listen/openapi.json)
  API           http://$listen/api/v1/cases
  OGC landing   http://$listen/ogc
  health        http://$listen/readyz
  review page   http://$listen/review   sign in with the planner's token: $(token_of planner)
  tokens        $tokens  (one per role, one officer per county)
MSG
for role in planner reviewer leader admin gis officer:610902; do
  printf '    %-15s %s\n' "$role" "$(token_of "$role")"
done
cat <<MSG
  try           curl -H "Authorization: Bearer $(token_of reviewer)" "http://$listen/api/v1/cases?overdue=true"

MSG
# The service runs as landuse_app (migration 0007), which owns nothing and is held to each
# county's rows by row-level security (0010); LANDUSE_DB_ROLE= (empty) keeps the login role.
LANDUSE_DB_ROLE=${LANDUSE_DB_ROLE-landuse_app} exec "$bin" serve
