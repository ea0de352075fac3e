"""Decodes one Mapbox Vector Tile with PyPI's mapbox-vector-tile (an independent reader of what
PostGIS's ST_AsMVT wrote) and prints it as JSON: {layer name: {"extent", "version", "features":
[{"id", "properties", "geometry"}]}}, coordinates on the tile's grid with y counted down from the
north edge, as the tile stores them. A gzip-compressed tile is unpacked first.

Run by the tile tests: python decode.py TILE_FILE (scripts/tiles-venv.sh gives the python).
"""

import gzip
import json
import sys

import mapbox_vector_tile


def main():
    with open(sys.argv[1], "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    tile = mapbox_vector_tile.decode(data, default_options={"y_coord_down": True, "geojson": True})
    json.dump(tile, sys.stdout)


if __name__ == "__main__":
    main()
