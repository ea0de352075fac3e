#!/usr/bin/env bash
# The Python that decodes vector tiles in the tile tests (crates/api/tests/api/tiles.rs): a
# virtual environment with mapbox-vector-tile from PyPI, pinned, an independent decoder of what
# PostGIS's ST_AsMVT wrote. Created on first use (make test creates it before the tests); later
# calls only print its python. Several test threads may call this at once: a lock serialises
# them, so the environment is built once.
#
# Environment: LANDUSE_TILES_VENV (where it lives, default .data/venv-tiles).
# Prints the path of the environment's python on stdout.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mvt_version=2.1.0
venv=${LANDUSE_TILES_VENV:-$root/.data/venv-tiles}
mkdir -p "$(dirname "$venv")"
exec 9>"$venv.lock"
flock 9
if [[ ! -x $venv/bin/python ]] || ! "$venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(0 if m.version('mapbox-vector-tile') == '$mvt_version' else 1)" 2>/dev/null; then
  echo "tiles-venv: installing mapbox-vector-tile $mvt_version into $venv" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "mapbox-vector-tile==$mvt_version" >&2
fi
echo "$venv/bin/python"
