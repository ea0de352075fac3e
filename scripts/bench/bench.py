"""The benchmark suite of `make bench` (see docs/performance.md): run by scripts/bench.sh with the
virtual environment's Python, after the release build and the criterion micro-benchmarks.

Every figure comes from this run on this machine: a fresh database, the generated region loaded
through `landuse layer import`, the release server, the peers (tipg, pygeoapi) serving a copy of
the same farmland features from the same database, pgbench for the bare PostGIS floor and wrk for
load. Writes results.json and report.md to the output folder.
"""

import argparse
import http.client
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse

import tilebench

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SQL_DIR = os.path.join(ROOT, "crates", "spatial", "src", "store", "sql")


def log(message):
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def loadavg():
    """The machine's 1-minute load average: the suite shares 2 cores with whatever else runs."""
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def run(cmd, env=None, capture=True, check=True):
    done = subprocess.run(cmd, env=env, capture_output=capture, text=True, check=False)
    if check and done.returncode != 0:
        raise SystemExit(f"bench: {' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout if capture else ""


def with_database(url, name):
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values, p):
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, int(round(p / 100.0 * (len(ordered) - 1)))))
    return ordered[k]


# ---------------------------------------------------------------------------------------------
# Processes and memory
# ---------------------------------------------------------------------------------------------


def process_tree(pid):
    """The pid and its descendants (gunicorn's workers, uvicorn's reloader children)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return out


def rss_kib(pid):
    total = 0
    for p in process_tree(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


class RssSampler:
    """Samples the resident memory of a process tree every 20 ms while running."""

    def __init__(self, pid):
        self.pid, self.peak, self.samples, self._stop = pid, 0, 0, threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_kib(self.pid))
            self.samples += 1
            self._stop.wait(0.02)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


class Server:
    """A server process in a session of its own, stopped by its process-group id."""

    def __init__(self, name, cmd, env, port, probe, log_dir):
        self.name, self.port, self.probe = name, port, probe
        self.log = open(os.path.join(log_dir, f"{name}.log"), "w")
        self.proc = subprocess.Popen(
            cmd, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True, cwd=log_dir
        )
        deadline = time.time() + 90
        while True:
            if self.proc.poll() is not None:
                raise SystemExit(f"bench: {name} exited with {self.proc.returncode}; see {self.log.name}")
            try:
                status, _, _ = Http(port).request("GET", probe)
                if status < 500:
                    break
            except OSError:
                pass
            if time.time() > deadline:
                self.stop()
                raise SystemExit(f"bench: {name} did not answer {probe} in 90 s; see {self.log.name}")
            time.sleep(0.2)

    @property
    def pid(self):
        return self.proc.pid

    def check_alive(self, during):
        """Stops the run with the exit status (a negative one is the signal) if the server died."""
        code = self.proc.poll()
        if code is not None:
            raise SystemExit(f"bench: {self.name} exited with {code} during {during}; see {self.log.name}")

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


class Http:
    """One keep-alive connection."""

    def __init__(self, port, token=None):
        self.port, self.token = port, token
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)

    def request(self, method, path, body=None, headers=None):
        h = dict(headers or {})
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        try:
            self.conn.request(method, path, body=body, headers=h)
            r = self.conn.getresponse()
        except (http.client.HTTPException, OSError):
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
            self.conn.request(method, path, body=body, headers=h)
            r = self.conn.getresponse()
        data = r.read()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data

    def json(self, method, path, body=None, headers=None, expect=(200, 201)):
        status, h, data = self.request(method, path, body, headers)
        if status not in expect:
            raise SystemExit(f"bench: {method} {path} answered {status}: {data[:500]!r}")
        return json.loads(data) if data else None, h


# ---------------------------------------------------------------------------------------------
# The database and the region
# ---------------------------------------------------------------------------------------------


def psql(url, sql):
    return run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", url, "-c", sql]).strip()


def fresh_database(admin_url, name):
    psql(admin_url, f'drop database if exists "{name}" with (force)')
    psql(admin_url, f'create database "{name}"')


def landuse(binary, url, *args):
    env = dict(os.environ, DATABASE_URL=url, RUST_LOG="warn")
    return run([binary, *args], env=env).strip()


def load_region(args, url, region_dir, results):
    binary = args.binary
    t0 = time.time()
    landuse(binary, url, "migrate")
    landuse(binary, url, "seed")
    tokens = {}
    for name, role, county in [
        ("bench-officer", "officer", ["--county", "610902"]),
        ("bench-planner", "planner", []),
        ("bench-reviewer", "reviewer", []),
        ("bench-gis", "gis", []),
    ]:
        landuse(binary, url, "user", "add", "--name", name, "--role", role, *county)
        tokens[role] = landuse(binary, url, "token", "issue", "--user", name, "--label", "bench").splitlines()[-1]
    imports = {}
    # The farmland's tiles are drawn ahead down to matrix 14 (street level, where the review page
    # shows a case), the other layers' to the default matrix 10: part 5 measures both ways.
    for kind, file, tiles in [
        ("permanent_farmland", "farmland.geojson", ["--tiles-up-to", "14"]),
        ("ecological_redline", "redline.geojson", []),
        ("urban_boundary", "urban.geojson", []),
    ]:
        started = time.time()
        done = subprocess.run(
            [binary, "layer", "import", "--kind", kind, "--file", os.path.join(region_dir, file), *tiles],
            env=dict(os.environ, DATABASE_URL=url, RUST_LOG="warn"), capture_output=True, text=True, check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"bench: importing {kind} failed:\n{done.stdout}\n{done.stderr}")
        # The report is the last line (log lines, e.g. sqlx's slow-statement warning, come first);
        # what drawing the tiles ahead took is on stderr.
        report = json.loads(done.stdout.strip().splitlines()[-1])
        seeded = re.search(r"^tiles up to matrix (\d+): (\{.*\})$", done.stderr, re.M)
        imports[kind] = {
            "seconds": round(time.time() - started, 2),
            "features": report["features_written"],
            "pieces": report["pieces_written"],
            "tiles": dict(json.loads(seeded.group(2)), up_to=int(seeded.group(1))) if seeded else None,
        }
        log(f"imported {kind}: {imports[kind]}")
    results["import"] = imports
    results["setup_seconds"] = round(time.time() - t0, 1)
    return tokens


def peer_table(url):
    """A plain PostGIS table of the farmland features for the peers: the same rows, attributes as
    columns, primary key and spatial index, analysed."""
    psql(
        url,
        """
        drop schema if exists bench_peer cascade;
        create schema bench_peer;
        create table bench_peer.farmland as
          select f.id, f.source_id, f.attributes ->> 'BSM' as bsm, f.attributes ->> 'DLBM' as dlbm,
                 (f.attributes ->> 'TBMJ')::float8 as tbmj, f.attributes ->> 'ZLDWMC' as zldwmc,
                 f.attributes ->> 'XZQDM' as xzqdm, f.geom::geometry(MultiPolygon, 4490) as geom
            from layer_features f join layer_versions v on v.id = f.version_id
           where v.is_current and v.kind = 'permanent_farmland'
           order by f.id;
        alter table bench_peer.farmland add primary key (id);
        create index farmland_geom on bench_peer.farmland using gist (geom);
        analyze bench_peer.farmland;
        """,
    )


# ---------------------------------------------------------------------------------------------
# 1. The footprint check and its floor
# ---------------------------------------------------------------------------------------------


def create_cases(port, tokens, parcels, extra_cases):
    officer = Http(port, tokens["officer"])
    with_parcels, others = [], []
    for i in range(len(parcels) + extra_cases):
        # A project's second case must be one of its phases (green channel only), so each case
        # has a project of its own.
        project, _ = officer.json(
            "POST",
            "/api/v1/projects",
            {
                "name": f"基准测试项目{i}",
                "county_code": "610902",
                "level": "county",
                "category": "industry",
                "sector": "other",
                "on_key_list": False,
                "year": 2026,
            },
        )
        case, h = officer.json("POST", "/api/v1/cases", {"project_id": project["id"], "title": f"基准地块{i}"})
        if i < len(parcels):
            feature = {"type": "Feature", "properties": {"name": f"地块{i}"}, "geometry": parcels[i]}
            _, h = officer.json(
                "PUT",
                f"/api/v1/cases/{case['id']}/parcels",
                json.dumps(feature).encode(),
                {"Content-Type": "application/geo+json", "If-Match": h["etag"]},
            )
            with_parcels.append((case["id"], h["etag"]))
        else:
            others.append(case["id"])
    return with_parcels, others


def submit_cases(port, tokens, cases):
    officer = Http(port, tokens["officer"])
    submitted = 0
    for case_id, _ in cases:
        status, h, _ = officer.request("GET", f"/api/v1/cases/{case_id}")
        status, _, body = officer.request(
            "POST",
            f"/api/v1/cases/{case_id}/transitions",
            json.dumps({"action": "submit"}).encode(),
            {"Content-Type": "application/json", "If-Match": h["etag"]},
        )
        if status == 200:
            submitted += 1
        elif submitted == 0:
            log(f"submit answered {status}: {body[:300]!r}")
    return submitted


def lua_list(values):
    return "{" + ",".join(json.dumps(v) for v in values) + "}"


WRK_ROTATE = """
local paths = %s
local token = %s
local method = %s
local counter = 0
function setup(thread)
  thread:set("offset", counter * 997)
  counter = counter + 1
end
local i = 0
function request()
  i = i + 1
  local path = paths[((i + offset) %% #paths) + 1]
  return wrk.format(method, path, { ["Authorization"] = "Bearer " .. token })
end
"""

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def run_wrk(out_dir, name, port, paths, token, method, threads, connections, seconds):
    script = os.path.join(out_dir, f"{name}.lua")
    with open(script, "w") as f:
        f.write(WRK_ROTATE % (lua_list(paths), json.dumps(token), json.dumps(method)))
    text = run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "30s",
            "--latency",
            "-s",
            script,
            f"http://127.0.0.1:{port}",
        ]
    )
    with open(os.path.join(out_dir, f"{name}.wrk.txt"), "w") as f:
        f.write(text)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    lat = {}
    for p, value, unit in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M):
        lat[p] = round(float(value) * UNITS[unit], 2)
    total = int(re.search(r"(\d+) requests in", text).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors = re.search(r"Socket errors: (.*)", text)
    return {
        "requests": total,
        "rps": rps,
        "p50_ms": lat.get("50"),
        "p90_ms": lat.get("90"),
        "p99_ms": lat.get("99"),
        "non_2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": errors.group(1) if errors else None,
        "threads": threads,
        "connections": connections,
        "seconds": seconds,
    }


def bench_checks(args, port, tokens, cases, results):
    planner = Http(port, tokens["planner"])
    paths = [f"/api/v1/cases/{c}/checks" for c, _ in cases]
    for p in paths[:10]:  # warm-up: plans, caches, the pool
        planner.json("POST", p)
    latencies, hits = [], 0
    for i in range(args.check_runs):
        t = time.perf_counter()
        report, _ = planner.json("POST", paths[i % len(paths)])
        latencies.append((time.perf_counter() - t) * 1000)
        hits += sum(len(layer["hits"]) for layer in report["report"]["layers"])
    results["check"] = {
        "runs": len(latencies),
        "p50_ms": round(percentile(latencies, 50), 2),
        "p99_ms": round(percentile(latencies, 99), 2),
        "mean_ms": round(statistics.mean(latencies), 2),
        "hits_per_check": round(hits / len(latencies), 2),
        "throughput": run_wrk(
            args.out, "check", port, paths, tokens["planner"], "POST", 2, args.check_connections, args.seconds
        ),
    }
    log(f"check: {results['check']}")


def floor_script(out_dir):
    """The statements `store::check_footprint` runs for this region's layers (the parcel areas,
    the current versions, an overlap per polygon layer, the part outside the urban boundary), read
    from the same SQL files, with the parcels bound from a table by a random index."""

    def read(name):
        with open(os.path.join(SQL_DIR, name)) as f:
            return "\n".join(l for l in f.read().splitlines() if not l.lstrip().startswith("--")).strip()

    parcels = "(select array_agg(wkb) from bench_floor.parcels where n = :i)"

    def versions(kind):
        return f"(select array_agg(id) from layer_versions where is_current and kind = '{kind}')"

    def bind(sql, values):
        return re.sub(r"\$(\d+)\b", lambda m: values[int(m.group(1)) - 1], sql) + ";"

    statements = [
        bind(read("parcel_areas.sql"), [parcels]),
        bind(read("current_versions.sql"), ["array['610902','610900','610000']"]),
        bind(read("overlap_polygons.sql"), [parcels, versions("permanent_farmland"), "1.0e-4"]),
        bind(read("overlap_polygons.sql"), [parcels, versions("ecological_redline"), "1.0e-4"]),
        bind(read("outside_polygons.sql"), [parcels, versions("urban_boundary")]),
    ]
    path = os.path.join(out_dir, "floor.sql")
    with open(path, "w") as f:
        f.write("\\set i random(1, :parcels)\n" + "\n".join(statements) + "\n")
    return path


def bench_floor(args, url, cases, results):
    psql(
        url,
        """
        drop schema if exists bench_floor cascade;
        create schema bench_floor;
        create table bench_floor.parcels as
          select (row_number() over (order by case_id))::int as n, st_asbinary(geom) as wkb
            from parcels;
        analyze bench_floor.parcels;
        """,
    )
    script = floor_script(args.out)
    n = str(len(cases))
    prefix = os.path.join(args.out, "floor")
    for old in os.listdir(args.out):
        if old.startswith("floor.") and old != "floor.sql":
            os.remove(os.path.join(args.out, old))
    base = ["pgbench", "-n", "-M", "prepared", "-D", f"parcels={n}", "-f", script]
    run(base + ["-c", "1", "-j", "1", "-t", "10", url])  # warm-up
    run(base + ["-c", "1", "-j", "1", "-t", str(args.check_runs), "-l", f"--log-prefix={prefix}", url])
    latencies = []
    for name in os.listdir(args.out):
        if name.startswith("floor.") and name != "floor.sql":
            with open(os.path.join(args.out, name)) as f:
                latencies.extend(int(line.split()[2]) / 1000.0 for line in f if line.strip())
    text = run(base + ["-c", str(args.check_connections), "-j", "2", "-T", str(args.seconds), url])
    tps = float(re.search(r"tps = ([\d.]+) \(without initial connection time\)", text).group(1))
    results["floor"] = {
        "runs": len(latencies),
        "p50_ms": round(percentile(latencies, 50), 2),
        "p99_ms": round(percentile(latencies, 99), 2),
        "mean_ms": round(statistics.mean(latencies), 2),
        "throughput": {"tps": tps, "connections": args.check_connections, "seconds": args.seconds},
    }
    log(f"floor: {results['floor']}")


# ---------------------------------------------------------------------------------------------
# 2. Feature serving
# ---------------------------------------------------------------------------------------------

LINK = re.compile(rb"\{[^{}]*\}")
HREF = re.compile(rb'"href"\s*:\s*"([^"]+)"')
NEXT = re.compile(rb'"rel"\s*:\s*"next"')
RETURNED = re.compile(rb'"numberReturned"\s*:\s*(\d+)')


def next_link(body):
    # Links come after the features (ours, pygeoapi) or before them (tipg).
    ends = body[:16384] + b" " + body[-16384:]
    for m in LINK.finditer(ends):
        if NEXT.search(m.group(0)):
            href = HREF.search(m.group(0))
            if href:
                return href.group(1).decode().replace("&amp;", "&")
    return None


def read_layer(port, token, first_path, server_pid, limit_seconds):
    """Follows `next` from the first page to the end, reading every byte; the features counted
    from numberReturned; the server's peak resident memory sampled meanwhile."""
    client = Http(port, token)
    baseline = rss_kib(server_pid)
    features = pages = size = 0
    path = first_path
    started = time.perf_counter()
    complete = True
    with RssSampler(server_pid) as rss:
        while path:
            status, _, body = client.request("GET", path, headers={"Accept": "application/geo+json"})
            if status != 200:
                raise SystemExit(f"bench: GET {path} answered {status}: {body[:300]!r}")
            pages += 1
            size += len(body)
            returned = RETURNED.search(body[-4096:]) or RETURNED.search(body[:4096])
            features += int(returned.group(1)) if returned else body.count(b'"Feature"')
            href = next_link(body)
            path = urllib.parse.urlsplit(href)._replace(scheme="", netloc="").geturl() if href else None
            if path and time.perf_counter() - started > limit_seconds:
                complete = False
                break
    seconds = time.perf_counter() - started
    return {
        "seconds": round(seconds, 2),
        "features": features,
        "pages": pages,
        "megabytes": round(size / 1e6, 1),
        "features_per_second": round(features / seconds),
        "rss_before_mb": round(baseline / 1024, 1),
        "rss_peak_mb": round(rss.peak / 1024, 1),
        "complete": complete,
    }


def bench_serving(args, ours_port, ours_pid, tokens, url, results):
    serving = {}
    sizes = [1000, 10000]
    serving["ours"] = {}
    for size in sizes:
        r = read_layer(
            ours_port,
            tokens["gis"],
            f"/ogc/collections/permanent_farmland/items?limit={size}",
            ours_pid,
            args.peer_limit,
        )
        serving["ours"][str(size)] = r
        log(f"ours, pages of {size}: {r}")

    venv_bin = os.path.dirname(sys.executable)
    parts = urllib.parse.urlsplit(url)
    db_name = parts.path.lstrip("/")
    host, port = parts.hostname or "127.0.0.1", parts.port or 5432
    user = parts.username or "postgres"

    # tipg: FastAPI under uvicorn, one worker, the bench_peer schema only.
    tipg_port = free_port()
    env = dict(
        os.environ,
        DATABASE_URL=f"postgresql://{user}@{host}:{port}/{db_name}",
        TIPG_DB_SCHEMAS='["bench_peer"]',
        TIPG_MAX_FEATURES_PER_QUERY="10000",
        TIPG_DEFAULT_FEATURES_LIMIT="10",
    )
    peers = {}
    server = Server(
        "tipg",
        [os.path.join(venv_bin, "uvicorn"), "tipg.main:app", "--host", "127.0.0.1", "--port", str(tipg_port),
         "--log-level", "warning"],
        env,
        tipg_port,
        "/collections",
        args.out,
    )
    try:
        peers["tipg"] = {}
        for size in sizes:
            r = read_layer(
                tipg_port, None, f"/collections/bench_peer.farmland/items?limit={size}", server.pid, args.peer_limit
            )
            peers["tipg"][str(size)] = r
            log(f"tipg, pages of {size}: {r}")
    finally:
        server.stop()

    # pygeoapi: Flask under gunicorn, one worker, its PostgreSQL provider on the same table.
    pg_port = free_port()
    config = os.path.join(args.out, "pygeoapi.yml")
    openapi = os.path.join(args.out, "pygeoapi-openapi.yml")
    with open(config, "w") as f:
        f.write(PYGEOAPI_CONFIG.format(port=pg_port, host=host, db_port=port, db=db_name, user=user))
    env = dict(os.environ, PYGEOAPI_CONFIG=config, PYGEOAPI_OPENAPI=openapi)
    run([os.path.join(venv_bin, "pygeoapi"), "openapi", "generate", config, "--output-file", openapi], env=env)
    server = Server(
        "pygeoapi",
        [os.path.join(venv_bin, "gunicorn"), "-w", "1", "-b", f"127.0.0.1:{pg_port}", "--timeout", "600",
         "pygeoapi.flask_app:APP"],
        env,
        pg_port,
        "/collections",
        args.out,
    )
    try:
        peers["pygeoapi"] = {}
        for size in sizes:
            r = read_layer(
                pg_port, None, f"/collections/farmland/items?f=json&limit={size}", server.pid, args.peer_limit
            )
            peers["pygeoapi"][str(size)] = r
            log(f"pygeoapi, pages of {size}: {r}")
    finally:
        server.stop()
    serving["peers"] = peers
    results["serving"] = serving


PYGEOAPI_CONFIG = """
server:
  bind: {{host: 127.0.0.1, port: {port}}}
  url: http://127.0.0.1:{port}
  mimetype: application/json; charset=UTF-8
  encoding: utf-8
  languages: [en-US]
  limits:
    default_items: 10
    max_items: 10000
  map:
    url: https://tile.openstreetmap.org/{{z}}/{{x}}/{{y}}.png
    attribution: none
logging:
  level: ERROR
metadata:
  identification:
    title: bench
    description: bench
    keywords: [bench]
    keywords_type: theme
    terms_of_service: none
    url: http://127.0.0.1
  license:
    name: none
    url: http://127.0.0.1
  provider:
    name: bench
    url: http://127.0.0.1
  contact:
    name: bench
    position: bench
    address: none
    city: none
    stateorprovince: none
    postalcode: none
    country: none
    phone: none
    fax: none
    email: none
    url: none
    hours: none
    instructions: none
    role: pointOfContact
resources:
  farmland:
    type: collection
    title: farmland
    description: the benchmark farmland layer
    keywords: [farmland]
    links: []
    extents:
      spatial:
        bbox: [108.2, 32.2, 109.8, 33.2]
        crs: http://www.opengis.net/def/crs/OGC/1.3/CRS84
    providers:
      - type: feature
        name: PostgreSQL
        data:
          host: {host}
          port: {db_port}
          dbname: {db}
          user: {user}
          password: ""
          search_path: [bench_peer]
        id_field: id
        table: farmland
        geom_field: geom
"""


def bench_encoding(url, results):
    """The database's side of the two ways to serve features: every farmland feature rendered
    by ST_AsGeoJSON as the page statement does (CCW rings, 9 decimals), against the same rows
    leaving as WKB for Rust to encode (criterion's geojson_from_wkb gives that side)."""
    vid = psql(url, "select id from layer_versions where is_current and kind = 'permanent_farmland'")
    where = f"from layer_features where version_id = '{vid}' order by id"

    def timed(select):
        best = None
        for _ in range(2):
            t = time.perf_counter()
            subprocess.run(
                ["psql", "-X", "-q", url, "-c", f"copy ({select} {where}) to stdout with (format binary)"],
                stdout=subprocess.DEVNULL,
                check=True,
            )
            took = time.perf_counter() - t
            best = took if best is None else min(best, took)
        return round(best, 2)

    results["encoding"] = {
        "st_asgeojson_seconds": timed(
            "select id, st_asgeojson(st_transform(st_forcepolygonccw(geom), 4490), 9, 0)"
        ),
        "wkb_seconds": timed("select id, st_asbinary(geom)"),
        "features": int(psql(url, f"select count(*) from layer_features where version_id = '{vid}'")),
        "vertices": int(psql(url, f"select sum(st_npoints(geom)) from layer_features where version_id = '{vid}'")),
    }
    log(f"encoding: {results['encoding']}")


# ---------------------------------------------------------------------------------------------
# 4. Load
# ---------------------------------------------------------------------------------------------


def bench_load(args, port, tokens, case_ids, results):
    paths = []
    for i in range(100):
        if i % 10 < 3:
            paths.append("/api/v1/cases?limit=20" if i % 2 else "/api/v1/cases?county=610902&limit=50")
        elif i % 10 < 8:
            paths.append(f"/api/v1/cases/{case_ids[(i * 7) % len(case_ids)]}")
        else:
            paths.append("/api/v1/ledger")
    results["load"] = run_wrk(
        args.out, "load", port, paths, tokens["reviewer"], "GET", 2, args.load_connections, args.seconds
    )
    results["load"]["mix"] = "30% case lists, 50% case reads, 20% ledger"
    log(f"load: {results['load']}")


# ---------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------


def versions(url, venv_bin):
    def pip_version(name):
        text = run([os.path.join(venv_bin, "pip"), "show", name], check=False)
        m = re.search(r"^Version: (.*)$", text, re.M)
        return m.group(1) if m else "?"

    return {
        "postgresql": psql(url, "show server_version"),
        "postgis": psql(url, "select postgis_lib_version()"),
        "geos": psql(url, "select postgis_geos_version()"),
        "tipg": pip_version("tipg"),
        "pygeoapi": pip_version("pygeoapi"),
        "uvicorn": pip_version("uvicorn"),
        "gunicorn": pip_version("gunicorn"),
        "python": sys.version.split()[0],
        "wrk": run(["wrk", "-v"], check=False).splitlines()[0] if True else "",
        "rustc": run(["rustc", "-V"], check=False).strip(),
        "cores": os.cpu_count(),
    }


def criterion_figures(criterion_dir):
    """Mean time per iteration and throughput of each criterion benchmark of crates/spatial."""
    out = {}
    if not os.path.isdir(criterion_dir):
        return out
    for root, _, files in os.walk(criterion_dir):
        if os.path.basename(root) == "new" and "estimates.json" in files and "benchmark.json" in files:
            with open(os.path.join(root, "benchmark.json")) as f:
                meta = json.load(f)
            with open(os.path.join(root, "estimates.json")) as f:
                est = json.load(f)
            ns = est["mean"]["point_estimate"]
            entry = {"mean_us": round(ns / 1000, 2)}
            tp = meta.get("throughput") or {}
            for kind, count in tp.items():
                entry[f"{kind.lower()}_per_second"] = round(count / (ns / 1e9))
            out[meta["full_id"]] = entry
    return dict(sorted(out.items()))


def ratio(a, b):
    return round(a / b, 2) if a and b else None


def report(results):
    r = results
    lines = [f"# Benchmark run {r['started']}", ""]
    v = r["versions"]
    lines += [
        f"Machine: {v['cores']} cores; PostgreSQL {v['postgresql']}, PostGIS {v['postgis']}, GEOS {v['geos']}; "
        f"{v['rustc']}; peers tipg {v['tipg']} (uvicorn {v['uvicorn']}), pygeoapi {v['pygeoapi']} "
        f"(gunicorn {v['gunicorn']}), Python {v['python']}; {v['wrk']}.",
        "",
        f"Region: {json.dumps(r['region'], ensure_ascii=False)}",
        "",
        f"Load average (1 min) of the machine as each part began: {json.dumps(r.get('loadavg', {}))}.",
        "",
        "## Import (`landuse layer import`, release build)",
        "",
        "| layer | features | check pieces | seconds |",
        "|---|---|---|---|",
    ]
    for kind, i in r["import"].items():
        lines.append(f"| {kind} | {i['features']:,} | {i['pieces']:,} | {i['seconds']} |")
    lines.append("")
    for kind, i in r["import"].items():
        if i.get("tiles"):
            t = i["tiles"]
            lines.append(
                f"{kind}: tiles of matrices 0-{t['up_to']} drawn ahead within those seconds: {t['drawn']:,} "
                f"({t['empty']:,} empty, {t['failed']} failed) in {t['seconds']:.1f} s."
            )
    c, f = r["check"], r["floor"]
    ratio_p50 = ratio(c["p50_ms"], f["p50_ms"])
    ratio_tp = ratio(f["throughput"]["tps"], c["throughput"]["rps"])
    lines += [
        "",
        "## 1. Footprint check (50–500-vertex parcels, every current layer)",
        "",
        "| | p50 ms | p99 ms | mean ms | throughput /s |",
        "|---|---|---|---|---|",
        f"| `POST /api/v1/cases/{{id}}/checks` | {c['p50_ms']} | {c['p99_ms']} | {c['mean_ms']} | "
        f"{c['throughput']['rps']:.1f} ({c['throughput']['connections']} connections, "
        f"p99 {c['throughput']['p99_ms']} ms, non-2xx {c['throughput']['non_2xx']}) |",
        f"| bare PostGIS (pgbench, same statements) | {f['p50_ms']} | {f['p99_ms']} | {f['mean_ms']} | "
        f"{f['throughput']['tps']:.1f} ({f['throughput']['connections']} clients) |",
        f"| ratio | {ratio_p50}× | {ratio(c['p99_ms'], f['p99_ms'])}× | {ratio(c['mean_ms'], f['mean_ms'])}× | "
        f"{ratio_tp}× |",
        "",
        f"Budget ≤ 1.5× (p50): {'met' if ratio_p50 and ratio_p50 <= 1.5 else 'NOT met'}. "
        f"Hits per check: {c['hits_per_check']}.",
        "",
        "## 2. Reading the whole farmland layer (OGC API – Features items, following `next`)",
        "",
        "| server | page size | seconds | features/s | MB | pages | RSS before → peak MB |",
        "|---|---|---|---|---|---|---|",
    ]
    s = r["serving"]
    rows = [("ours", s["ours"])] + list(s["peers"].items())
    for name, by_size in rows:
        for size, x in by_size.items():
            done = "" if x["complete"] else f" (stopped after {x['features']:,} features)"
            lines.append(
                f"| {name} | {int(size):,} | {x['seconds']}{done} | {x['features_per_second']:,} | {x['megabytes']} | "
                f"{x['pages']} | {x['rss_before_mb']} → {x['rss_peak_mb']} |"
            )
    lines.append("")
    verdicts = []
    for size in s["ours"]:
        ours = s["ours"][size]["features_per_second"]
        best_name, best = max(
            ((n, p[size]["features_per_second"]) for n, p in s["peers"].items() if size in p), key=lambda t: t[1]
        )
        x = ratio(ours, best)
        verdicts.append(x)
        lines.append(
            f"Pages of {int(size):,}: ours {ours:,} features/s, fastest peer {best_name} {best:,}: {x}× "
            f"(budget ≥ 2×: {'met' if x and x >= 2 else 'NOT met'})."
        )
    e = r["encoding"]
    rust = r["criterion"].get("geojson_from_wkb/40", {}).get("elements_per_second")
    rust_s = round(e["vertices"] / rust, 2) if rust else None
    lines += [
        "",
        f"Encoding the {e['features']:,} features ({e['vertices']:,} vertices): PostGIS `ST_AsGeoJSON` "
        f"{e['st_asgeojson_seconds']} s in the database; WKB out of the database {e['wkb_seconds']} s, "
        f"plus {rust_s} s of Rust decoding and GeoJSON writing on one core (criterion, 40-vertex rate).",
    ]
    growth = [s["ours"][k]["rss_peak_mb"] - s["ours"][k]["rss_before_mb"] for k in s["ours"]]
    lines += ["", f"Our server's memory growth while reading: {', '.join(f'{g:.1f} MB' for g in growth)}.", ""]
    lines += ["## 3. Micro-benchmarks (criterion, crates/spatial/benches)", "", "| benchmark | mean | rate |",
              "|---|---|---|"]
    for name, m in r["criterion"].items():
        rate = ", ".join(
            f"{v:,} vertices/s" if k == "elements_per_second" else f"{v:,} {k}"
            for k, v in m.items()
            if k.endswith("_per_second")
        )
        if name.startswith("coordfile/"):
            rate = f"{1e6 / m['mean_us']:,.0f} files/s, " + rate
        lines.append(f"| {name} | {m['mean_us']} µs | {rate} |")
    ld = r["load"]
    lines += [
        "",
        f"## 4. Load: mixed reads ({ld['mix']})",
        "",
        f"{ld['rps']:.0f} requests/s sustained over {ld['seconds']} s with wrk ({ld['threads']} threads, "
        f"{ld['connections']} connections): p50 {ld['p50_ms']} ms, p90 {ld['p90_ms']} ms, p99 {ld['p99_ms']} ms; "
        f"{ld['requests']:,} requests, non-2xx {ld['non_2xx']}, socket errors {ld['socket_errors'] or 'none'}.",
    ]
    lines += tilebench.report_lines(r)
    lines += [
        "",
        f"Total {r['total_seconds']} s.",
    ]
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    ap.add_argument("--db-name", default="landuse_benchrun")
    ap.add_argument("--region", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--criterion", default="")
    ap.add_argument("--martin", required=True, help="the martin binary (scripts/bench.sh builds it)")
    ap.add_argument("--only-tiles", action="store_true", help="load the region, then run part 5 alone")
    ap.add_argument("--seconds", type=int, default=15)
    ap.add_argument("--check-runs", type=int, default=200)
    ap.add_argument("--check-connections", type=int, default=4)
    ap.add_argument("--load-connections", type=int, default=32)
    ap.add_argument("--peer-limit", type=float, default=150)
    args = ap.parse_args()
    args.out = os.path.abspath(args.out)
    args.region = os.path.abspath(args.region)
    if not args.database_url:
        raise SystemExit("bench: DATABASE_URL is not set")
    started = time.time()
    results = {"started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    with open(os.path.join(args.region, "region.json")) as f:
        results["region"] = json.load(f)
    url = with_database(args.database_url, args.db_name)
    fresh_database(with_database(args.database_url, "postgres"), args.db_name)
    log(f"fresh database {args.db_name}")
    tokens = load_region(args, url, args.region, results)
    peer_table(url)
    results["versions"] = versions(url, os.path.dirname(sys.executable))

    port = free_port()
    env = dict(
        os.environ,
        DATABASE_URL=url,
        LANDUSE_LISTEN=f"127.0.0.1:{port}",
        LANDUSE_SWEEP_INTERVAL_S="0",
        RUST_LOG="warn",
    )
    if args.only_tiles:
        results["loadavg"] = {"tiles": loadavg()}
        tilebench.bench_tiles(sys.modules[__name__], args, url, tokens, results)
        results["total_seconds"] = round(time.time() - started)
        with open(os.path.join(args.out, "results-tiles.json"), "w") as f:
            json.dump(results, f, indent=1, ensure_ascii=False)
        print("\n".join(tilebench.report_lines(results)))
        return
    server = Server("landuse", [args.binary, "serve"], env, port, "/healthz", args.out)
    try:
        with open(os.path.join(args.region, "parcels.json")) as f:
            parcels = json.load(f)
        cases, others = create_cases(port, tokens, parcels, 200)
        log(f"{len(cases)} cases with parcels, {len(others)} without")
        results.setdefault("loadavg", {})["checks"] = loadavg()
        bench_checks(args, port, tokens, cases, results)
        server.check_alive("the checks")
        results.setdefault("loadavg", {})["floor"] = loadavg()
        bench_floor(args, url, cases, results)
        server.check_alive("the floor")
        results["submitted"] = submit_cases(port, tokens, cases)
        results.setdefault("loadavg", {})["load"] = loadavg()
        bench_load(args, port, tokens, [c for c, _ in cases] + others, results)
        server.check_alive("the load")
        results.setdefault("loadavg", {})["serving"] = loadavg()
        bench_serving(args, port, server.pid, tokens, url, results)
        bench_encoding(url, results)
    finally:
        server.stop()
    # Part 5 starts servers of its own (ours cold, and martin) once the main server is stopped.
    results.setdefault("loadavg", {})["tiles"] = loadavg()
    tilebench.bench_tiles(sys.modules[__name__], args, url, tokens, results)
    results["criterion"] = criterion_figures(args.criterion)
    results["total_seconds"] = round(time.time() - started)
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(results, f, indent=1, ensure_ascii=False)
    text = report(results)
    with open(os.path.join(args.out, "report.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
