"""The benchmark region: control layers and case parcels west of Ankang, generated from a seed.

Sizes are the issue's defaults: 100,000 permanent-farmland polygons, 1,000 ecological red-line
polygons and 10 urban boundaries, plus the parcels the benchmark's cases are checked with.

Every polygon is star-shaped around its centre (the angle of each vertex strictly increases, the
radius varies smoothly), so it is simple and valid; vertex counts follow a log-normal spread as
surveyed data does (most farmland polygons have a few dozen vertices, a few have hundreds). Some
farmland polygons carry a hole (a yard or a pond). The region is 1.6° x 1.0° from 108.2°E 32.2°N.

Run: python3 region.py OUT_DIR [--seed N]; writes farmland.geojson, redline.geojson,
urban.geojson (RFC 7946 FeatureCollections) and parcels.json (a list of GeoJSON polygons).
"""

import json
import math
import os
import random
import sys

WEST, SOUTH = 108.2, 32.2
COLUMNS, ROWS, CELL = 400, 250, 0.004  # the farmland grid: 100,000 cells of about 375 m x 445 m
EAST, NORTH = WEST + COLUMNS * CELL, SOUTH + ROWS * CELL

FARMLAND = COLUMNS * ROWS
REDLINES = 1000
URBAN = 10
PARCELS = 100


def lognormal_count(rng, median, sigma, low, high):
    return max(low, min(high, int(round(median * math.exp(rng.gauss(0.0, sigma))))))


def star(rng, cx, cy, radius, vertices, wobble=0.12):
    """A closed counter-clockwise ring of `vertices` distinct points around (cx, cy)."""
    # A few low harmonics make an irregular but smooth outline; a little noise per vertex.
    harmonics = [(rng.randint(2, 7), rng.uniform(0, wobble), rng.uniform(0, math.tau)) for _ in range(3)]
    offset = rng.uniform(0, math.tau)
    ring = []
    for k in range(vertices):
        t = offset + k * math.tau / vertices
        r = 1.0 + sum(a * math.sin(n * t + p) for n, a, p in harmonics) + rng.uniform(-0.01, 0.01)
        r *= radius
        ring.append((cx + r * math.cos(t), cy + r * math.sin(t) * 0.85))
    ring.append(ring[0])
    return ring


def ring_text(ring):
    return "[" + ",".join(f"[{x:.8f},{y:.8f}]" for x, y in ring) + "]"


def clockwise(ring):
    return list(reversed(ring))


def write_collection(path, name, features):
    """Writes a FeatureCollection from an iterator of (id, properties, rings_text) lazily."""
    with open(path, "w", encoding="utf-8") as out:
        out.write('{"type":"FeatureCollection","name":"%s","features":[\n' % name)
        first = True
        for fid, props, rings in features:
            if not first:
                out.write(",\n")
            first = False
            out.write(
                '{"type":"Feature","id":%d,"properties":%s,"geometry":{"type":"Polygon","coordinates":[%s]}}'
                % (fid, json.dumps(props, ensure_ascii=False), ",".join(rings))
            )
        out.write("\n]}\n")


def farmland(rng, counts):
    villages = ["五里村", "关庙村", "吉河村", "流水村", "大竹园村", "张滩村", "建民村", "县河村"]
    for i in range(FARMLAND):
        col, row = i % COLUMNS, i // COLUMNS
        cx = WEST + (col + 0.5) * CELL
        cy = SOUTH + (row + 0.5) * CELL
        n = lognormal_count(rng, 40, 0.7, 8, 1500)
        radius = CELL * rng.uniform(0.28, 0.34)
        outer = star(rng, cx, cy, radius, n)
        rings = [ring_text(outer)]
        counts.append(n)
        if rng.random() < 0.03:
            hole = star(rng, cx, cy, radius * 0.2, 8, wobble=0.05)
            rings.append(ring_text(clockwise(hole)))
            counts[-1] += 8
        area_mu = round(math.pi * (radius * 100000) ** 2 * 0.85 / 666.67, 2)
        props = {
            "BSM": f"{i:08d}",
            "DLBM": rng.choice(["0101", "0102", "0103"]),
            "TBMJ": area_mu,
            "ZLDWMC": rng.choice(villages),
            "XZQDM": "610902",
        }
        yield i, props, rings


def redlines(rng, counts):
    for i in range(REDLINES):
        n = lognormal_count(rng, 250, 0.6, 40, 3000)
        radius = rng.uniform(0.004, 0.015)
        cx = rng.uniform(WEST + 0.02, EAST - 0.02)
        cy = rng.uniform(SOUTH + 0.02, NORTH - 0.02)
        counts.append(n)
        props = {"HXBH": f"HX{i:05d}", "STBHHX": rng.choice(["汉江水源涵养", "秦岭生物多样性", "巴山水土保持"])}
        yield i, props, [ring_text(star(rng, cx, cy, radius, n))]


def urban(rng, counts):
    for i in range(URBAN):
        n = rng.randint(2000, 6000)
        radius = rng.uniform(0.03, 0.07)
        cx = WEST + 0.1 + (i % 5) * 0.32 + rng.uniform(-0.02, 0.02)
        cy = SOUTH + 0.25 + (i // 5) * 0.5 + rng.uniform(-0.02, 0.02)
        counts.append(n)
        yield i, {"CZKFBJ": f"城镇开发边界{i + 1}"}, [ring_text(star(rng, cx, cy, radius, n, wobble=0.08))]


def parcels(rng):
    """Case footprints of 50-500 vertices (evenly spread counts), about 250-600 m across, placed
    uniformly over the region (most lie outside every urban boundary, as rural sites do)."""
    out = []
    for i in range(PARCELS):
        n = 50 + (i * 450) // (PARCELS - 1)
        radius = 0.0012 + n * 0.000004
        cx = rng.uniform(WEST + 0.05, EAST - 0.05)
        cy = rng.uniform(SOUTH + 0.05, NORTH - 0.05)
        ring = star(rng, cx, cy, radius, n, wobble=0.1)
        out.append({"type": "Polygon", "coordinates": [[[round(x, 8), round(y, 8)] for x, y in ring]]})
    return out


def main():
    out_dir = sys.argv[1]
    seed = int(sys.argv[sys.argv.index("--seed") + 1]) if "--seed" in sys.argv else 9
    os.makedirs(out_dir, exist_ok=True)
    summary = {"seed": seed}
    for name, layer, gen in [
        ("farmland", "YJJBNTTB", farmland),
        ("redline", "STBHHX", redlines),
        ("urban", "CZKFBJ", urban),
    ]:
        rng = random.Random(f"{seed}-{name}")
        counts = []
        path = os.path.join(out_dir, f"{name}.geojson")
        write_collection(path, layer, gen(rng, counts))
        counts.sort()
        summary[name] = {
            "features": len(counts),
            "vertices": sum(counts),
            "vertices_median": counts[len(counts) // 2],
            "vertices_p99": counts[min(len(counts) - 1, len(counts) * 99 // 100)],
            "vertices_max": counts[-1],
            "bytes": os.path.getsize(path),
        }
    rng = random.Random(f"{seed}-parcels")
    with open(os.path.join(out_dir, "parcels.json"), "w", encoding="utf-8") as out:
        json.dump(parcels(rng), out)
    with open(os.path.join(out_dir, "region.json"), "w", encoding="utf-8") as out:
        json.dump(summary, out, indent=1)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
