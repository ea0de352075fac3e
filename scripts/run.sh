#!/usr/bin/env bash
# make run: migrate, load the seeds and the demo region once, then serve.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
: "${DATABASE_URL:?scripts/run.sh needs DATABASE_URL; run it through make run}"
cargo build -q -p landuse-api --bin landuse
bin=target/debug/landuse
"$bin" migrate
"$bin" seed
exec "$bin" serve
