"""Part 5 of `make bench` (docs/performance.md): vector tiles of the farmland layer, our OGC API -
Tiles against martin, the reference PostGIS tile server, side by side in one run.

Both serve the same 100,000 farmland polygons from the same database: ours from the layer store
(layer_features and its subdivided pieces, through /ogc/collections/permanent_farmland/tiles),
martin from bench_peer.farmland, a plain copy with the same rows, primary key and spatial index
(the table tipg and pygeoapi read). Martin runs with its tile cache off (cache_size_mb 0), so
every request is drawn by PostGIS; ours keeps control-layer tiles in layer_tiles, and starts
cold: the table is emptied and the server restarted before the cold runs.

For each matrix (10, 12, 14) the tiles are every tile over the farmland's extent, in a shuffled
order. Each server answers two runs, with `Accept-Encoding: gzip` as browsers send it:
  - first view: every tile once, from 4 client threads (for ours, cold: each tile drawn once);
  - sustained: wrk cycling through the tiles for --seconds with 4 connections (for ours, what
    the first view kept).
Our tiles are also measured as the import leaves them (the bench imports the farmland with
`--tiles-up-to 14`, so every tile measured was drawn ahead), before the cold runs. Figures: tiles/s, p50 and p99 latency, bytes per tile as
sent (compressed), empty tiles, and the server's resident memory before and at its peak.
"""

import json
import math
import os
import random
import re
import threading
import time

ZOOMS = (10, 12, 14)

WRK_TILES = """
local paths = %s
local token = %s
local counter = 0
function setup(thread)
  thread:set("offset", counter * 997)
  counter = counter + 1
end
local i = 0
function request()
  i = i + 1
  local path = paths[((i + offset) %% #paths) + 1]
  local headers = { ["Accept-Encoding"] = "gzip" }
  if token ~= "" then headers["Authorization"] = "Bearer " .. token end
  return wrk.format("GET", path, headers)
end
"""


def tiles_covering(bbox, z):
    """(x, y) of every tile of matrix z over a west, south, east, north box, as
    landuse_spatial::tile::tiles_covering counts them."""
    west, south, east, north = bbox
    n = 2**z

    def column(lon):
        return min(n - 1, max(0, int((lon + 180.0) / 360.0 * n)))

    def row(lat):
        lat = max(-85.0511287798, min(85.0511287798, lat))
        return min(n - 1, max(0, int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)))

    return [(x, y) for y in range(row(north), row(south) + 1) for x in range(column(west), column(east) + 1)]


def first_view(h, port, paths, token, threads=4):
    """Every path once from `threads` keep-alive clients; per-request latency, status and size."""
    todo = list(paths)
    lock = threading.Lock()
    samples = []

    def client():
        conn = h.Http(port, token)
        while True:
            with lock:
                if not todo:
                    return
                path = todo.pop()
            t = time.perf_counter()
            status, _, body = conn.request("GET", path, headers={"Accept-Encoding": "gzip"})
            took = (time.perf_counter() - t) * 1000
            with lock:
                samples.append((took, status, len(body)))

    started = time.perf_counter()
    workers = [threading.Thread(target=client) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    seconds = time.perf_counter() - started
    latencies = [s[0] for s in samples]
    full = [s[2] for s in samples if s[1] == 200]
    return {
        "tiles": len(samples),
        "seconds": round(seconds, 2),
        "tiles_per_second": round(len(samples) / seconds, 1),
        "p50_ms": round(h.percentile(latencies, 50), 2),
        "p99_ms": round(h.percentile(latencies, 99), 2),
        "statuses": {str(k): sum(1 for s in samples if s[1] == k) for k in sorted({s[1] for s in samples})},
        "bytes_per_tile": round(sum(full) / len(full)) if full else 0,
        "threads": threads,
    }


def sustained(h, args, name, port, paths, token):
    script = os.path.join(args.out, f"{name}.lua")
    with open(script, "w") as f:
        f.write(WRK_TILES % (h.lua_list(paths), json.dumps(token or "")))
    text = h.run(
        ["wrk", "-t2", "-c4", f"-d{args.seconds}s", "--timeout", "30s", "--latency", "-s", script,
         f"http://127.0.0.1:{port}"]
    )
    with open(os.path.join(args.out, f"{name}.wrk.txt"), "w") as f:
        f.write(text)
    lat = {p: round(float(v) * h.UNITS[u], 2) for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M)}
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    return {
        "tiles_per_second": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),
        "requests": int(re.search(r"(\d+) requests in", text).group(1)),
        "p50_ms": lat.get("50"),
        "p99_ms": lat.get("99"),
        "non_2xx": int(bad.group(1)) if bad else 0,
        "connections": 4,
        "seconds": args.seconds,
    }


def measure(h, args, server, label, port, paths_by_zoom, token, results, zooms=ZOOMS):
    out = results.setdefault(label, {})
    for z in zooms:
        paths = paths_by_zoom[z]
        h.log(f"tiles, {label}, matrix {z}: {len(paths)} tiles")
        rss_before = h.rss_kib(server.pid)
        with h.RssSampler(server.pid) as rss:
            first = first_view(h, port, paths, token)
            server.check_alive(f"{label} matrix {z}")
            again = sustained(h, args, f"tiles-{label}-{z}", port, paths, token)
        server.check_alive(f"{label} matrix {z}")
        out[str(z)] = {
            "first_view": first,
            "sustained": again,
            "rss_before_mb": round(rss_before / 1024, 1),
            "rss_peak_mb": round(rss.peak / 1024, 1),
            "loadavg": h.loadavg(),
        }
        h.log(f"tiles, {label}, matrix {z}: {out[str(z)]}")


MARTIN_CONFIG = """
listen_addresses: 127.0.0.1:{port}
cache_size_mb: 0
postgres:
  connection_string: {url}
  pool_size: 16
  auto_publish: false
  tables:
    farmland:
      schema: bench_peer
      table: farmland
      srid: 4490
      geometry_column: geom
      geometry_type: MULTIPOLYGON
      id_column: id
      bounds: [{bounds}]
      properties:
        source_id: text
        bsm: text
        dlbm: text
        tbmj: float8
        zldwmc: text
        xzqdm: text
"""


def ours(h, args, url, env_base, label):
    port = h.free_port()
    env = dict(
        env_base,
        DATABASE_URL=url,
        LANDUSE_LISTEN=f"127.0.0.1:{port}",
        LANDUSE_SWEEP_INTERVAL_S="0",
        # A map asks for tens of tiles at once; the bench asks for thousands a second with one
        # token. The limit stays on (every request is still counted), just out of the way.
        LANDUSE_RATE_LIMIT="1000000000",
        RUST_LOG="warn",
    )
    return port, h.Server(f"landuse-{label}", [args.binary, "serve"], env, port, "/healthz", args.out)


def bench_tiles(h, args, url, tokens, results):
    extent = [float(v) for v in h.psql(
        url, "select array_to_string(extent, ',') from layer_versions where is_current and kind = 'permanent_farmland'"
    ).split(",")]
    tiles = {z: tiles_covering(extent, z) for z in ZOOMS}
    for z in ZOOMS:
        random.Random(z).shuffle(tiles[z])
    ours_paths = {
        z: [f"/ogc/collections/permanent_farmland/tiles/WebMercatorQuad/{z}/{y}/{x}" for x, y in tiles[z]]
        for z in ZOOMS
    }
    martin_paths = {z: [f"/farmland/{z}/{x}/{y}" for x, y in tiles[z]] for z in ZOOMS}
    token = tokens["gis"]
    figures = {"extent": extent, "tiles": {str(z): len(tiles[z]) for z in ZOOMS}}
    kept_at_import = int(h.psql(url, "select count(*) from layer_tiles"))
    figures["kept_at_import"] = kept_at_import

    # Ours as the import left it: the farmland is imported with --tiles-up-to 14, so every tile
    # of the three matrices was drawn ahead (and the import's time includes drawing them).
    port, server = ours(h, args, url, os.environ, "imported")
    try:
        measure(h, args, server, "ours_imported", port, ours_paths, token, figures)
    finally:
        server.stop()

    # Ours cold: nothing kept, a fresh process.
    h.psql(url, "truncate layer_tiles")
    port, server = ours(h, args, url, os.environ, "cold")
    try:
        measure(h, args, server, "ours_cold", port, ours_paths, token, figures)
        figures["kept_after_cold"] = int(h.psql(url, "select count(*) from layer_tiles"))
    finally:
        server.stop()

    # Martin, cache off.
    port = h.free_port()
    config = os.path.join(args.out, "martin.yaml")
    with open(config, "w") as f:
        f.write(MARTIN_CONFIG.format(port=port, url=url, bounds=", ".join(str(v) for v in extent)))
    server = h.Server("martin", [args.martin, "--config", config], dict(os.environ, RUST_LOG="warn"), port,
                      "/health", args.out)
    try:
        figures["martin_version"] = h.run([args.martin, "--version"]).strip()
        measure(h, args, server, "martin", port, martin_paths, None, figures)
    finally:
        server.stop()
    results["tiles"] = figures


def broken_answers(results):
    """What in part 5 was not answered 200 or 204: each a reason the run is broken."""
    out = []
    for label, by_zoom in results.get("tiles", {}).items():
        if label not in ("ours_imported", "ours_cold", "martin"):
            continue
        for z, m in by_zoom.items():
            odd = {k: n for k, n in m["first_view"]["statuses"].items() if k not in ("200", "204")}
            if odd:
                out.append(f"{label}, matrix {z}, first view: answers {odd}")
            if m["sustained"]["non_2xx"]:
                out.append(f"{label}, matrix {z}, sustained: {m['sustained']['non_2xx']:,} answers not 2xx")
    return out


def ratio(a, b):
    return round(a / b, 2) if a and b else None


def rates(t, z):
    """Our cold first view, cold sustained and as-imported sustained rates against martin's."""
    m = t.get("martin", {}).get(z)
    cold, imported = t.get("ours_cold", {}).get(z), t.get("ours_imported", {}).get(z)
    if not (m and cold and imported):
        return [None]
    return [
        ratio(cold["first_view"]["tiles_per_second"], m["first_view"]["tiles_per_second"]),
        ratio(cold["sustained"]["tiles_per_second"], m["sustained"]["tiles_per_second"]),
        ratio(imported["sustained"]["tiles_per_second"], m["sustained"]["tiles_per_second"]),
    ]


def report_lines(results):
    t = results.get("tiles")
    if not t:
        return []
    lines = [
        "",
        f"## 5. Vector tiles of the farmland layer: ours against {t.get('martin_version', 'martin')} (cache off)",
        "",
        f"Tiles over the farmland extent: {', '.join(f'matrix {z}: {n:,}' for z, n in t['tiles'].items())}. "
        f"Tiles kept after the imports (all layers): {t['kept_at_import']:,}. Gzip asked for by every request. "
        "ours_imported: what the import drew ahead; ours_cold: layer_tiles emptied and the server restarted, "
        "so the first view draws every tile and the sustained run reads what it kept.",
        "",
        "| matrix | server | first view tiles/s | p50 ms | p99 ms | sustained tiles/s | p50 ms | p99 ms | bytes/tile | "
        "empty | RSS before → peak MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for z in t["tiles"]:
        for label in ("ours_imported", "ours_cold", "martin"):
            m = t.get(label, {}).get(z)
            if not m:
                continue
            f, s = m["first_view"], m["sustained"]
            lines.append(
                f"| {z} | {label} | {f['tiles_per_second']:,} | {f['p50_ms']} | {f['p99_ms']} | "
                f"{s['tiles_per_second']:,.1f} | {s['p50_ms']} | {s['p99_ms']} | {f['bytes_per_tile']:,} | "
                f"{f['statuses'].get('204', 0)} | {m['rss_before_mb']} → {m['rss_peak_mb']} |"
            )
    lines += ["", "Tiles/s, ours against martin (cache off), first view and sustained:", ""]
    for z in t["tiles"]:
        m = t.get("martin", {}).get(z)
        for label, name in (("ours_imported", "as imported"), ("ours_cold", "cold (nothing kept)")):
            o = t.get(label, {}).get(z)
            if not (o and m):
                continue
            first = ratio(o["first_view"]["tiles_per_second"], m["first_view"]["tiles_per_second"])
            again = ratio(o["sustained"]["tiles_per_second"], m["sustained"]["tiles_per_second"])
            lines.append(f"- matrix {z}, {name}: first view {first}×, sustained {again}×")
    lines.append("")
    lines.append("Goal ≥ 1× at every matrix: " + ", ".join(
        f"matrix {z} {'met' if all(r and r >= 1 for r in rates(t, z)) else 'NOT met'}" for z in t["tiles"]
    ) + " (cold first view, cold sustained, as imported).")
    return lines
