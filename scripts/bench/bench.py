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
import random
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


# What broke in this run: a part that stopped, an answer that was not 2xx, a peer's error, a
# figure a budget needs that is missing. Any of them makes `make bench` exit non-zero after the
# report is written, and the report names them.
BROKEN = []


def broken(part, why):
    BROKEN.append({"part": part, "why": why})
    log(f"BROKEN {part}: {why}")


def wrk_answered(part, w):
    """Marks the part broken unless every request wrk sent was answered 2xx (3xx counts as not)."""
    if not w["requests"]:
        broken(part, "wrk got no answer at all")
    if w["non_2xx"]:
        broken(part, f"{w['non_2xx']:,} of {w['requests']:,} answers were not 2xx")
    if w["socket_errors"]:
        broken(part, f"socket errors: {w['socket_errors']}")


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

    def __init__(self, port, token=None, timeout=600):
        self.port, self.token, self.timeout = port, token, timeout
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

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
        except TimeoutError:
            # A server that does not answer in time is not asked again: the caller records it.
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            raise
        except (http.client.HTTPException, OSError):
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
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
    # For scripts/bench/profile.sh, which loads the server of this database again.
    with open(os.path.join(args.out, "tokens.json"), "w") as f:
        json.dump(tokens, f)
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
        -- pygeoapi builds its bbox in EPSG:4326 whatever the column's SRID, so against the
        -- CGCS2000 table every bbox request fails; this copy lets it be compared at all.
        create table bench_peer.farmland_4326 as
          select id, source_id, bsm, dlbm, tbmj, zldwmc, xzqdm,
                 st_transform(geom, 4326)::geometry(MultiPolygon, 4326) as geom
            from bench_peer.farmland order by id;
        alter table bench_peer.farmland_4326 add primary key (id);
        create index farmland_4326_geom on bench_peer.farmland_4326 using gist (geom);
        analyze bench_peer.farmland_4326;
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
  local headers = {}
  if token ~= "" then headers["Authorization"] = "Bearer " .. token end
  return wrk.format(method, path, headers)
end
"""

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def run_wrk(out_dir, name, port, paths, token, method, threads, connections, seconds):
    script = os.path.join(out_dir, f"{name}.lua")
    with open(script, "w") as f:
        f.write(WRK_ROTATE % (lua_list(paths), json.dumps(token or ""), json.dumps(method)))
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
    wrk_answered("check", results["check"]["throughput"])
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


STORE_STATEMENTS = """
insert into checks (id, case_id, run_at, run_by, result, report, summary, quota_need_mu)
  select gen_random_uuid(), case_id, clock_timestamp(), run_by, result, report, summary, quota_need_mu
    from bench_floor.checks where n = :i
  returning id as check_id \\gset
insert into check_hits (id, check_id, layer_kind, hit_index, layer_version_id, feature_id, overlap_m2, attributes, geom)
  select gen_random_uuid(), cast(:check_id as uuid), layer_kind, hit_index, layer_version_id, feature_id,
         overlap_m2, attributes, geom
    from bench_floor.hits where n = :i;
insert into case_events (case_id, at, actor_id, actor_role, kind, from_stage, to_stage, reason, data)
  select case_id, clock_timestamp(), actor_id, actor_role, kind, from_stage, to_stage, reason,
         jsonb_set(data, '{check_id}', to_jsonb(cast(:check_id as text)))
    from bench_floor.events where n = :i;
update cases set version = version + 1, updated_at = clock_timestamp()
  where id = (select case_id from bench_floor.checks where n = :i);
"""


def store_floor_script(out_dir, compute_script):
    """The floor of a whole check: `floor_script`'s statements and, in the same transaction, what
    the service writes for a check (the check row with its report and summary, its hits with
    their overlap geometries, the `check_run` event, the case's new version), copied from what
    the service stored for the same case in part 1."""
    with open(compute_script) as f:
        first, rest = f.read().split("\n", 1)
    path = os.path.join(out_dir, "floor-store.sql")
    with open(path, "w") as f:
        f.write(first + "\nbegin;\n" + rest.strip() + "\n" + STORE_STATEMENTS.strip() + "\ncommit;\n")
    return path


def pgbench_logs(out_dir, prefix_name):
    """The paths of pgbench's `-l` logs named `prefix_name.*` (its script, `.sql`, is not one)."""
    return [
        os.path.join(out_dir, name)
        for name in os.listdir(out_dir)
        if name.startswith(prefix_name + ".") and not name.endswith(".sql")
    ]


def pgbench_latencies(out_dir, prefix_name):
    """The per-transaction latencies (ms) of pgbench's `-l` logs named `prefix_name.*`."""
    latencies = []
    for path in pgbench_logs(out_dir, prefix_name):
        with open(path) as f:
            latencies.extend(int(line.split()[2]) / 1000.0 for line in f if line.strip())
    return latencies


def pgbench_tps(text):
    """The transactions per second pgbench printed, without the connection time."""
    return float(re.search(r"tps = ([\d.]+) \(without initial connection time\)", text).group(1))


def bench_floor(args, url, cases, results):
    psql(
        url,
        """
        drop schema if exists bench_floor cascade;
        create schema bench_floor;
        create table bench_floor.parcels as
          select (row_number() over (order by case_id))::int as n, case_id, st_asbinary(geom) as wkb
            from parcels;
        analyze bench_floor.parcels;
        -- What the service stored for each case's latest check (part 1 ran it): the store floor
        -- writes the same rows again.
        create table bench_floor.checks as
          select p.n, k.* from bench_floor.parcels p
            join lateral (select * from checks k where k.case_id = p.case_id order by run_at desc limit 1) k on true;
        create table bench_floor.hits as
          select c.n, h.* from bench_floor.checks c join check_hits h on h.check_id = c.id;
        create table bench_floor.events as
          select c.n, e.* from bench_floor.checks c
            join lateral (select * from case_events e where e.case_id = c.case_id and e.kind = 'check_run'
                          order by e.id desc limit 1) e on true;
        create index on bench_floor.checks (n);
        create index on bench_floor.hits (n);
        create index on bench_floor.events (n);
        analyze bench_floor.checks;
        analyze bench_floor.hits;
        analyze bench_floor.events;
        """,
    )
    compute = floor_script(args.out)
    store = store_floor_script(args.out, compute)
    n = str(len(cases))
    for old in pgbench_logs(args.out, "floor") + pgbench_logs(args.out, "floor-store"):
        os.remove(old)
    for key, script, name in (("floor", compute, "floor"), ("floor_store", store, "floor-store")):
        base = ["pgbench", "-n", "-M", "prepared", "-D", f"parcels={n}", "-f", script]
        run(base + ["-c", "1", "-j", "1", "-t", "10", url])  # warm-up
        prefix = os.path.join(args.out, name)
        run(base + ["-c", "1", "-j", "1", "-t", str(args.check_runs), "-l", f"--log-prefix={prefix}", url])
        latencies = pgbench_latencies(args.out, name)
        text = run(base + ["-c", str(args.check_connections), "-j", "2", "-T", str(args.seconds), url])
        tps = pgbench_tps(text)
        results[key] = {
            "runs": len(latencies),
            "p50_ms": round(percentile(latencies, 50), 2),
            "p99_ms": round(percentile(latencies, 99), 2),
            "mean_ms": round(statistics.mean(latencies), 2),
            "throughput": {"tps": tps, "connections": args.check_connections, "seconds": args.seconds},
        }
        log(f"{key}: {results[key]}")


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


BBOX_BOXES, BBOX_SIZE, BBOX_LIMIT, BBOX_CONNECTIONS = 300, 0.04, 100, 4


def bbox_boxes(url):
    """300 boxes of 0.04° (about 4 km) at random places over the farmland, seeded: the boxes
    QGIS asks for while a user pans at county scale."""
    west, south, east, north = (
        float(v)
        for v in psql(
            url,
            "select array_to_string(extent, ',') from layer_versions where is_current and kind = 'permanent_farmland'",
        ).split(",")
    )
    rng = random.Random(20)
    boxes = []
    for _ in range(BBOX_BOXES):
        x0 = round(rng.uniform(west, east - BBOX_SIZE), 6)
        y0 = round(rng.uniform(south, north - BBOX_SIZE), 6)
        boxes.append((x0, y0, round(x0 + BBOX_SIZE, 6), round(y0 + BBOX_SIZE, 6)))
    return boxes


def bbox_paths(template, boxes):
    return [template.format(bbox=",".join(str(v) for v in b), limit=BBOX_LIMIT) for b in boxes]


def one_pass(port, token, paths, timeout=30):
    """Every path once from one keep-alive client: statuses, features returned, latency. A request
    unanswered after `timeout` seconds counts as status "timeout"; after three in a row the pass
    stops (the rest are not sent, and the part is broken by its missing 200s)."""
    client = Http(port, token, timeout)
    latencies, statuses, returned = [], {}, []
    silent = 0
    for path in paths:
        t = time.perf_counter()
        try:
            status, _, body = client.request("GET", path, headers={"Accept": "application/geo+json"})
            silent = 0
        except TimeoutError:
            statuses["timeout"] = statuses.get("timeout", 0) + 1
            silent += 1
            if silent == 3:
                log(f"one pass: three requests in a row unanswered after {timeout} s, the last {path}; stopping")
                break
            continue
        latencies.append((time.perf_counter() - t) * 1000)
        statuses[str(status)] = statuses.get(str(status), 0) + 1
        if status == 200:
            m = RETURNED.search(body[-4096:]) or RETURNED.search(body[:4096])
            returned.append(int(m.group(1)) if m else body.count(b'"Feature"'))
    return {
        "requests": len(paths),
        "statuses": statuses,
        "p50_ms": round(percentile(latencies, 50), 2),
        "p99_ms": round(percentile(latencies, 99), 2),
        "features_per_answer": round(statistics.mean(returned), 1) if returned else None,
    }


def bench_bbox(args, name, port, token, paths, expect_failure=False):
    """One client through every box, then wrk cycling through them at 4 connections.

    `expect_failure`: a peer known not to answer these requests (pygeoapi on a CGCS2000 column):
    its statuses are recorded, and the run is not broken by them."""
    first = one_pass(port, token, paths)
    figures = {"one_client": first}
    ok = first["statuses"].get("200", 0) == len(paths)
    if not ok and expect_failure:
        figures["fails"] = True
        log(f"bbox, {name}: fails as known: {first['statuses']}")
        return figures
    if not ok:
        broken(f"bbox {name}", f"one client's pass answered {first['statuses']}")
    w = run_wrk(args.out, f"bbox-{name}", port, paths, token, "GET", 2, BBOX_CONNECTIONS, args.seconds)
    wrk_answered(f"bbox {name}", w)
    figures["wrk"] = w
    log(f"bbox, {name}: {figures}")
    return figures


def bbox_floor(args, url, boxes, results):
    """The bare SQL of a bbox request: the count and page statements the service sends for a
    control layer's items (`landuse layer statements`), bound as the service binds a CRS84 bbox
    of `limit=100`, the box looked up by pgbench from the same 300, over the extended protocol
    (an unnamed statement planned with the actual values, as sqlx sends them)."""
    statements = json.loads(landuse(args.binary, url, "layer", "statements"))
    values = [
        "(select array_agg(id) from layer_versions where is_current and kind = 'permanent_farmland')",
        "array[:x0, :y0, :x1, :y1]::float8[]",
        "4490",
        str(BBOX_SIZE / 16.0),
        "null",
        "null",
        "null",
        "null",
        "null",
        str(BBOX_LIMIT + 1),
        "false",
        "4490",
        "9",
    ]
    if len(statements["parameters"]) != len(values):
        broken("bbox floor", f"the statements take {len(statements['parameters'])} parameters, the floor binds {len(values)}")
        return

    def bind(sql):
        sql = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
        return re.sub(r"\$(\d+)\b", lambda m: values[int(m.group(1)) - 1], sql).strip() + ";"

    rows = ",".join(f"({n + 1}, {b[0]}, {b[1]}, {b[2]}, {b[3]})" for n, b in enumerate(boxes))
    psql(
        url,
        f"""
        drop schema if exists bench_bbox cascade;
        create schema bench_bbox;
        create table bench_bbox.boxes (n int primary key, x0 float8, y0 float8, x1 float8, y1 float8);
        insert into bench_bbox.boxes values {rows};
        """,
    )
    script = os.path.join(args.out, "bbox-floor.sql")
    with open(script, "w") as f:
        f.write(f"\\set i random(1, {len(boxes)})\n")
        f.write("select x0, y0, x1, y1 from bench_bbox.boxes where n = :i \\gset\n")
        f.write(bind(statements["count"]) + "\n" + bind(statements["page"]) + "\n")
    prefix = os.path.join(args.out, "bbox-floor")
    for old in pgbench_logs(args.out, "bbox-floor"):
        os.remove(old)
    base = ["pgbench", "-n", "-M", "extended", "-f", script]
    run(base + ["-c", "1", "-j", "1", "-t", "50", url])  # warm-up
    text = run(
        base
        + ["-c", str(BBOX_CONNECTIONS), "-j", "2", "-T", str(args.seconds), "-l", f"--log-prefix={prefix}", url]
    )
    latencies = pgbench_latencies(args.out, "bbox-floor")
    results["bbox"]["floor"] = {
        "tps": pgbench_tps(text),
        "transactions": len(latencies),
        "p50_ms": round(percentile(latencies, 50), 2),
        "p99_ms": round(percentile(latencies, 99), 2),
        "connections": BBOX_CONNECTIONS,
        "seconds": args.seconds,
    }
    log(f"bbox floor: {results['bbox']['floor']}")


def deep_pages(port, token, first_path, pages=100, rounds=30):
    """Follows `next` to page `pages`, then reads page 1 and that page in turn `rounds` times:
    a keyset page costs what the first does, an offset page grows with its depth."""
    client = Http(port, token)
    path, deep = first_path, None
    for _ in range(pages - 1):
        status, _, body = client.request("GET", path, headers={"Accept": "application/geo+json"})
        if status != 200:
            raise SystemExit(f"GET {path} answered {status}: {body[:300]!r}")
        href = next_link(body)
        if not href:
            raise SystemExit(f"the layer ended before page {pages}")
        path = urllib.parse.urlsplit(href)._replace(scheme="", netloc="").geturl()
    deep = path
    timings = {"first": [], "deep": []}
    for _ in range(rounds):
        for which, p in (("first", first_path), ("deep", deep)):
            t = time.perf_counter()
            status, _, body = client.request("GET", p, headers={"Accept": "application/geo+json"})
            timings[which].append((time.perf_counter() - t) * 1000)
            if status != 200:
                raise SystemExit(f"GET {p} answered {status}: {body[:300]!r}")
    return {
        "page": pages,
        "deep_path": deep,
        "first_p50_ms": round(percentile(timings["first"], 50), 2),
        "deep_p50_ms": round(percentile(timings["deep"], 50), 2),
        "rounds": rounds,
    }


def bench_ours_reads(args, port, pid, tokens, url, parts, results):
    """Our side of parts 2 (whole layer), 2b (bbox) and 2c (deep pages)."""
    token = tokens["gis"]
    if "serving" in parts:
        results.setdefault("serving", {})["ours"] = {}
        for size in (1000, 10000):
            r = read_layer(port, token, f"/ogc/collections/permanent_farmland/items?limit={size}", pid, args.peer_limit)
            results["serving"]["ours"][str(size)] = r
            log(f"ours, pages of {size}: {r}")
    if "bbox" in parts:
        boxes = bbox_boxes(url)
        results["bbox"] = {"boxes": len(boxes), "size_degrees": BBOX_SIZE, "limit": BBOX_LIMIT}
        results["bbox"]["ours"] = bench_bbox(
            args, "ours", port, token, bbox_paths("/ogc/collections/permanent_farmland/items?bbox={bbox}&limit={limit}", boxes)
        )
        bbox_floor(args, url, boxes, results)
    if "deep" in parts:
        results.setdefault("deep", {})["ours"] = deep_pages(
            port, token, f"/ogc/collections/permanent_farmland/items?limit={BBOX_LIMIT}"
        )
        log(f"deep pages, ours: {results['deep']['ours']}")


def bench_peers(args, url, parts, results):
    """The peers' side of parts 2, 2b and 2c: tipg, then pygeoapi, each started for its turn."""
    sizes = [1000, 10000]
    boxes = bbox_boxes(url) if "bbox" in parts else []
    venv_bin = os.path.dirname(sys.executable)
    parsed = urllib.parse.urlsplit(url)
    db_name = parsed.path.lstrip("/")
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 5432
    user = parsed.username or "postgres"

    # tipg: FastAPI under uvicorn, one worker, the bench_peer schema only.
    tipg_port = free_port()
    env = dict(
        os.environ,
        DATABASE_URL=f"postgresql://{user}@{host}:{port}/{db_name}",
        TIPG_DB_SCHEMAS='["bench_peer"]',
        TIPG_MAX_FEATURES_PER_QUERY="10000",
        TIPG_DEFAULT_FEATURES_LIMIT="10",
    )
    server = Server(
        "tipg",
        [os.path.join(venv_bin, "uvicorn"), "tipg.main:app", "--host", "127.0.0.1", "--port", str(tipg_port),
         "--log-level", "warning"],
        env,
        tipg_port,
        "/collections",
        args.out,
    )
    items = "/collections/bench_peer.farmland/items"
    try:
        if "serving" in parts:
            results["serving"].setdefault("peers", {})["tipg"] = {}
            for size in sizes:
                r = read_layer(tipg_port, None, f"{items}?limit={size}", server.pid, args.peer_limit)
                results["serving"]["peers"]["tipg"][str(size)] = r
                log(f"tipg, pages of {size}: {r}")
        if "bbox" in parts:
            results["bbox"]["tipg"] = bench_bbox(
                args, "tipg", tipg_port, None, bbox_paths(items + "?bbox={bbox}&limit={limit}", boxes)
            )
        if "deep" in parts:
            results["deep"]["tipg"] = deep_pages(tipg_port, None, f"{items}?limit={BBOX_LIMIT}")
            log(f"deep pages, tipg: {results['deep']['tipg']}")
        server.check_alive("its reads")
    finally:
        server.stop()

    # pygeoapi: Flask under gunicorn, one worker, its PostgreSQL provider on the same table and
    # on the 4326 copy.
    pg_port = free_port()
    config = os.path.join(args.out, "pygeoapi.yml")
    openapi = os.path.join(args.out, "pygeoapi-openapi.yml")
    with open(config, "w") as f:
        resources = "".join(
            PYGEOAPI_RESOURCE.format(name=n, table=t, title=title, host=host, db_port=port, db=db_name, user=user)
            for n, t, title in PYGEOAPI_TABLES
        )
        f.write(PYGEOAPI_CONFIG.format(port=pg_port, resources=resources))
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
        if "serving" in parts:
            results["serving"]["peers"]["pygeoapi"] = {}
            for size in sizes:
                r = read_layer(
                    pg_port, None, f"/collections/farmland/items?f=json&limit={size}", server.pid, args.peer_limit
                )
                results["serving"]["peers"]["pygeoapi"][str(size)] = r
                log(f"pygeoapi, pages of {size}: {r}")
        if "bbox" in parts:
            results["bbox"]["pygeoapi_4490"] = bench_bbox(
                args, "pygeoapi-4490", pg_port, None,
                bbox_paths("/collections/farmland/items?f=json&bbox={bbox}&limit={limit}", boxes),
                expect_failure=True,
            )
            results["bbox"]["pygeoapi_4326"] = bench_bbox(
                args, "pygeoapi-4326", pg_port, None,
                bbox_paths("/collections/farmland4326/items?f=json&bbox={bbox}&limit={limit}", boxes),
            )
        if "deep" in parts:
            results["deep"]["pygeoapi"] = deep_pages(pg_port, None, f"/collections/farmland/items?f=json&limit={BBOX_LIMIT}")
            log(f"deep pages, pygeoapi: {results['deep']['pygeoapi']}")
        server.check_alive("its reads")
    finally:
        server.stop()


PYGEOAPI_RESOURCE = """
  {name}:
    type: collection
    title: {title}
    description: {title}
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
        table: {table}
        geom_field: geom
"""

# pygeoapi's collections: the CGCS2000 table every server reads, and its EPSG:4326 copy.
PYGEOAPI_TABLES = [
    ("farmland", "farmland", "the benchmark farmland layer"),
    ("farmland4326", "farmland_4326", "the benchmark farmland layer, transformed to EPSG:4326"),
]


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
{resources}"""


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
    wrk_answered("load", results["load"])
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


def budgets(r, parts):
    """Each goal of docs/performance.md with this run's figure; a figure of None is missing."""
    out = []

    def add(part, name, value, goal, met):
        if part in parts:
            out.append({"part": part, "name": name, "value": value, "goal": goal,
                        "met": bool(value is not None and met(value))})

    c, fs = r.get("check", {}), r.get("floor_store", {})
    add("check", "check p50 against the floor that computes and stores (one transaction)",
        ratio(c.get("p50_ms"), fs.get("p50_ms")), "≤ 1.5×", lambda v: v <= 1.5)
    s = r.get("serving", {})
    for size in ("1000", "10000"):
        ours = s.get("ours", {}).get(size, {}).get("features_per_second")
        peers = [p[size]["features_per_second"] for p in s.get("peers", {}).values() if size in p]
        add("serving", f"whole layer, pages of {int(size):,}: ours against the fastest peer",
            ratio(ours, max(peers)) if peers else None, "≥ 2×", lambda v: v >= 2)
    b = r.get("bbox", {})
    ours_w, tipg_w = b.get("ours", {}).get("wrk", {}), b.get("tipg", {}).get("wrk", {})
    add("bbox", "bbox items req/s against tipg (4 connections)", ratio(ours_w.get("rps"), tipg_w.get("rps")), "≥ 5×",
        lambda v: v >= 5)
    add("bbox", "bbox items p50 against the SQL floor (4 connections)",
        ratio(ours_w.get("p50_ms"), b.get("floor", {}).get("p50_ms")), "≤ 1.5×", lambda v: v <= 1.5)
    ld = r.get("load", {})
    add("load", "mixed reads: answers not 2xx", ld.get("non_2xx"), "0", lambda v: v == 0)
    add("load", "mixed reads req/s (32 connections)", ld.get("rps"), "≥ 1,500", lambda v: v >= 1500)
    add("load", "mixed reads p99 ms", ld.get("p99_ms"), "≤ 100", lambda v: v <= 100)
    d = r.get("deep", {}).get("ours", {})
    add("deep", "page 100 against page 1 (p50)", ratio(d.get("deep_p50_ms"), d.get("first_p50_ms")), "≤ 1.2×",
        lambda v: v <= 1.2)
    t = r.get("tiles")
    for z in ("10", "12", "14"):
        rs = tilebench.rates(t, z) if t else [None]
        add("tiles", f"tiles/s against martin, matrix {z} (the least of cold first view, cold sustained, as imported)",
            min(rs) if all(x is not None for x in rs) else None, "≥ 1×", lambda v: v >= 1)
    return out


def report(results):
    r = results
    lines = [f"# Benchmark run {r['started']}", ""]
    v = r["versions"]
    lines += [
        f"Machine: {v['cores']} cores; PostgreSQL {v['postgresql']}, PostGIS {v['postgis']}, GEOS {v['geos']}; "
        f"{v['rustc']}; peers tipg {v['tipg']} (uvicorn {v['uvicorn']}), pygeoapi {v['pygeoapi']} "
        f"(gunicorn {v['gunicorn']}), Python {v['python']}; {v['wrk']}.",
        "",
        f"Parts run: {', '.join(r['parts'])}. Region: {json.dumps(r['region'], ensure_ascii=False)}",
        "",
        f"Load average (1 min) of the machine as each part began: {json.dumps(r.get('loadavg', {}))}.",
        "",
        "## Budgets",
        "",
        "| part | budget | figure | goal | |",
        "|---|---|---|---|---|",
    ]
    for b in r["budgets"]:
        verdict = "missing" if b["value"] is None else ("met" if b["met"] else "**NOT met**")
        lines.append(f"| {b['part']} | {b['name']} | {b['value']} | {b['goal']} | {verdict} |")
    if r["broken"]:
        lines += ["", "**This run is broken** (`make bench` exits non-zero):", ""]
        lines += [f"- {b['part']}: {b['why']}" for b in r["broken"]]
    lines += [
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
    if "check" in r and "floor" in r and "floor_store" in r:
        c, f, fs = r["check"], r["floor"], r["floor_store"]
        lines += [
            "",
            "## 1. Footprint check (50–500-vertex parcels, every current layer)",
            "",
            "| | p50 ms | p99 ms | mean ms | throughput /s |",
            "|---|---|---|---|---|",
            f"| `POST /api/v1/cases/{{id}}/checks` | {c['p50_ms']} | {c['p99_ms']} | {c['mean_ms']} | "
            f"{c['throughput']['rps']:.1f} ({c['throughput']['connections']} connections, "
            f"p99 {c['throughput']['p99_ms']} ms, non-2xx {c['throughput']['non_2xx']}) |",
            f"| bare PostGIS (pgbench, the spatial statements only) | {f['p50_ms']} | {f['p99_ms']} | {f['mean_ms']} | "
            f"{f['throughput']['tps']:.1f} ({f['throughput']['connections']} clients) |",
            f"| bare PostGIS (pgbench, the spatial statements and the writes of a check, one transaction) | "
            f"{fs['p50_ms']} | {fs['p99_ms']} | {fs['mean_ms']} | "
            f"{fs['throughput']['tps']:.1f} ({fs['throughput']['connections']} clients) |",
            f"| ratio to the floor that stores | {ratio(c['p50_ms'], fs['p50_ms'])}× | {ratio(c['p99_ms'], fs['p99_ms'])}× | "
            f"{ratio(c['mean_ms'], fs['mean_ms'])}× | {ratio(fs['throughput']['tps'], c['throughput']['rps'])}× |",
            f"| ratio to the compute-only floor | {ratio(c['p50_ms'], f['p50_ms'])}× | {ratio(c['p99_ms'], f['p99_ms'])}× | "
            f"{ratio(c['mean_ms'], f['mean_ms'])}× | {ratio(f['throughput']['tps'], c['throughput']['rps'])}× |",
            "",
            f"Hits per check: {c['hits_per_check']}.",
        ]
    s = r.get("serving", {})
    if s.get("ours"):
        lines += [
            "",
            "## 2. Reading the whole farmland layer (OGC API – Features items, following `next`)",
            "",
            "| server | page size | seconds | features/s | MB | pages | RSS before → peak MB |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, by_size in [("ours", s["ours"])] + list(s.get("peers", {}).items()):
            for size, x in by_size.items():
                done = "" if x["complete"] else f" (stopped after {x['features']:,} features)"
                lines.append(
                    f"| {name} | {int(size):,} | {x['seconds']}{done} | {x['features_per_second']:,} | "
                    f"{x['megabytes']} | {x['pages']} | {x['rss_before_mb']} → {x['rss_peak_mb']} |"
                )
        growth = [s["ours"][k]["rss_peak_mb"] - s["ours"][k]["rss_before_mb"] for k in s["ours"]]
        lines += ["", f"Our server's memory growth while reading: {', '.join(f'{g:.1f} MB' for g in growth)}."]
    e = r.get("encoding")
    if e:
        rust = r["criterion"].get("geojson_from_wkb/40", {}).get("elements_per_second")
        rust_s = round(e["vertices"] / rust, 2) if rust else None
        lines += [
            "",
            f"Encoding the {e['features']:,} features ({e['vertices']:,} vertices): PostGIS `ST_AsGeoJSON` "
            f"{e['st_asgeojson_seconds']} s in the database; WKB out of the database {e['wkb_seconds']} s, "
            f"plus {rust_s} s of Rust decoding and GeoJSON writing on one core (criterion, 40-vertex rate).",
        ]
    b = r.get("bbox")
    if b:
        lines += [
            "",
            f"## 2b. Bounding-box items ({b['boxes']} random {b['size_degrees']}° boxes over the farmland, "
            f"`limit={b['limit']}`, wrk at {BBOX_CONNECTIONS} connections: what QGIS sends while panning)",
            "",
            "| server | req/s | p50 ms | p99 ms | non-2xx | one client p50 ms | features per answer |",
            "|---|---|---|---|---|---|---|",
        ]
        for name in ("ours", "tipg", "pygeoapi_4326", "pygeoapi_4490"):
            x = b.get(name)
            if not x:
                continue
            one = x["one_client"]
            if x.get("fails"):
                lines.append(f"| {name} | fails: {one['statuses']} | | | | | |")
                continue
            w = x["wrk"]
            lines.append(
                f"| {name} | {w['rps']:,.1f} | {w['p50_ms']} | {w['p99_ms']} | {w['non_2xx']} | {one['p50_ms']} | "
                f"{one['features_per_answer']} |"
            )
        fl = b.get("floor")
        if fl:
            lines.append(
                f"| SQL floor (pgbench: the service's count and page statements, same boxes) | {fl['tps']:,.1f} | "
                f"{fl['p50_ms']} | {fl['p99_ms']} | | | |"
            )
        lines += [
            "",
            "pygeoapi_4490 is pygeoapi on the CGCS2000 table every other server reads: its PostgreSQL provider "
            "builds the box in EPSG:4326 against the EPSG:4490 column. pygeoapi_4326 reads a copy of the table "
            "transformed to EPSG:4326.",
        ]
    d = r.get("deep")
    if d:
        lines += ["", "## 2c. Deep pages (page 1 and page 100 of the farmland layer, 100 features a page, p50)", "",
                  "| server | page 1 ms | page 100 ms | ratio |", "|---|---|---|---|"]
        for name, x in d.items():
            lines.append(f"| {name} | {x['first_p50_ms']} | {x['deep_p50_ms']} | "
                         f"{ratio(x['deep_p50_ms'], x['first_p50_ms'])}× |")
    if r["criterion"]:
        lines += ["", "## 3. Micro-benchmarks (criterion, crates/spatial/benches)", "", "| benchmark | mean | rate |",
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
    ld = r.get("load")
    if ld:
        lines += [
            "",
            f"## 4. Load: mixed reads ({ld['mix']})",
            "",
            f"{ld['rps']:.0f} requests/s sustained over {ld['seconds']} s with wrk ({ld['threads']} threads, "
            f"{ld['connections']} connections): p50 {ld['p50_ms']} ms, p90 {ld['p90_ms']} ms, p99 {ld['p99_ms']} ms; "
            f"{ld['requests']:,} requests, non-2xx {ld['non_2xx']}, socket errors {ld['socket_errors'] or 'none'}. "
            f"The bench sets the per-token rate limit to {r['rate_limit']:,} requests a window, so that every "
            "request is still counted as in service and none is refused (the default, 12,000 a minute, would "
            "refuse most of them: one token sends them all).",
        ]
    lines += tilebench.report_lines(r)
    lines += [
        "",
        f"Total {r['total_seconds']} s.",
    ]
    return "\n".join(lines) + "\n"


PARTS = ("check", "serving", "bbox", "deep", "load", "tiles")

# The mixed-read load sends tens of thousands of requests a minute with one token; the service's
# default limit (12,000 per 60 s) would refuse most of them. The bench raises it out of the way:
# every request is still counted in the database, as in service, and none is refused.
RATE_LIMIT = 1_000_000_000


def part(name, parts, fn, *fn_args):
    """Runs one part; a part that stops is recorded as broken and the run goes on."""
    if not any(n in parts for n in name.split(",")):
        return
    try:
        fn(*fn_args)
    except (Exception, SystemExit) as e:  # noqa: BLE001 - every failure of a part is reported
        broken(name, str(e) or type(e).__name__)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    ap.add_argument("--db-name", default="landuse_benchrun")
    ap.add_argument("--region", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--criterion", default="")
    ap.add_argument("--martin", default="", help="the martin binary (scripts/bench.sh builds it); for part tiles")
    ap.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated, of {', '.join(PARTS)}")
    ap.add_argument("--seconds", type=int, default=15)
    ap.add_argument("--check-runs", type=int, default=200)
    ap.add_argument("--check-connections", type=int, default=4)
    ap.add_argument("--load-connections", type=int, default=32)
    ap.add_argument("--peer-limit", type=float, default=150)
    args = ap.parse_args()
    args.out = os.path.abspath(args.out)
    args.region = os.path.abspath(args.region)
    parts = [p for p in args.parts.split(",") if p]
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        raise SystemExit(f"bench: unknown part(s) {', '.join(unknown)}; the parts are {', '.join(PARTS)}")
    if "tiles" in parts and not args.martin:
        raise SystemExit("bench: part tiles needs --martin")
    if not args.database_url:
        raise SystemExit("bench: DATABASE_URL is not set")
    started = time.time()
    results = {"started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "parts": parts}
    with open(os.path.join(args.region, "region.json")) as f:
        results["region"] = json.load(f)
    url = with_database(args.database_url, args.db_name)
    fresh_database(with_database(args.database_url, "postgres"), args.db_name)
    log(f"fresh database {args.db_name}")
    tokens = load_region(args, url, args.region, results)
    peer_table(url)
    results["versions"] = versions(url, os.path.dirname(sys.executable))
    results["rate_limit"] = RATE_LIMIT
    loads = results.setdefault("loadavg", {})

    port = free_port()
    env = dict(
        os.environ,
        DATABASE_URL=url,
        LANDUSE_LISTEN=f"127.0.0.1:{port}",
        LANDUSE_SWEEP_INTERVAL_S="0",
        LANDUSE_RATE_LIMIT=str(RATE_LIMIT),
        RUST_LOG="warn",
    )
    if any(p in parts for p in ("check", "serving", "bbox", "deep", "load")):
        server = Server("landuse", [args.binary, "serve"], env, port, "/healthz", args.out)
        try:
            with open(os.path.join(args.region, "parcels.json")) as f:
                parcels = json.load(f)
            cases, others = create_cases(port, tokens, parcels, 200)
            log(f"{len(cases)} cases with parcels, {len(others)} without")
            loads["checks"] = loadavg()
            part("check", parts, bench_checks, args, port, tokens, cases, results)
            server.check_alive("the checks")
            loads["floor"] = loadavg()
            part("check", parts, bench_floor, args, url, cases, results)
            results["submitted"] = submit_cases(port, tokens, cases)
            loads["load"] = loadavg()
            part("load", parts, bench_load, args, port, tokens, [c for c, _ in cases] + others, results)
            server.check_alive("the load")
            loads["serving"] = loadavg()
            reads = [p for p in parts if p in ("serving", "bbox", "deep")]
            part(",".join(reads) or "serving", reads, bench_ours_reads, args, port, server.pid, tokens, url, reads, results)
            server.check_alive("the reads")
        finally:
            server.stop()
        reads = [p for p in parts if p in ("serving", "bbox", "deep")]
        if reads:
            loads["peers"] = loadavg()
            part(",".join(reads), reads, bench_peers, args, url, reads, results)
        part("serving", parts, bench_encoding, url, results)
    # Part 5 starts servers of its own (ours cold, and martin) once the main server is stopped.
    if "tiles" in parts:
        loads["tiles"] = loadavg()
        part("tiles", parts, tilebench.bench_tiles, sys.modules[__name__], args, url, tokens, results)
        for why in tilebench.broken_answers(results):
            broken("tiles", why)
    results["criterion"] = criterion_figures(args.criterion)
    results["budgets"] = budgets(results, parts)
    for b in results["budgets"]:
        if b["value"] is None:
            broken(b["part"], f"no figure for the budget {b['name']!r}")
    results["broken"] = BROKEN
    results["total_seconds"] = round(time.time() - started)
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(results, f, indent=1, ensure_ascii=False)
    text = report(results)
    with open(os.path.join(args.out, "report.md"), "w") as f:
        f.write(text)
    print(text)
    if BROKEN:
        for b in BROKEN:
            print(f"bench: BROKEN {b['part']}: {b['why']}", file=sys.stderr)
        raise SystemExit(f"bench: {len(BROKEN)} part(s) broken; the figures above are not a valid run")


if __name__ == "__main__":
    main()
