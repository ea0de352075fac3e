#!/usr/bin/env python3
"""The chaos run behind `make chaos` (started by scripts/chaos.sh, which prepares the cluster).

Writers create cases through `POST /api/v1/cases`, each with its own Idempotency-Key, and retry
every write until the server acknowledges it (2xx), as a client that must not lose its work
would. Meanwhile a killer sends SIGKILL to the server at random moments (phase 1), then to the
PostgreSQL postmaster (phase 2); a supervisor restarts whatever died. At the end every
acknowledged key must name exactly one case with its `created` event, and no case may exist
twice. Standard library only.
"""

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

parser = argparse.ArgumentParser()
parser.add_argument("--bin", required=True)
parser.add_argument("--database-url", required=True)
parser.add_argument("--token", required=True)
parser.add_argument("--pg-home", required=True)
parser.add_argument("--writes", type=int, default=3000)
parser.add_argument("--workers", type=int, default=8)
parser.add_argument("--restart-db", required=True)
parser.add_argument("--port", type=int, default=18931)
parser.add_argument("--seed", type=int, default=11)
parser.add_argument("--server-log", default="/tmp/landuse-chaos-server.log")
args = parser.parse_args()

rng = random.Random(args.seed)
base = f"http://127.0.0.1:{args.port}"
# As in production: the service's role, under row-level security.
env = dict(os.environ, DATABASE_URL=args.database_url, LANDUSE_LISTEN=f"127.0.0.1:{args.port}",
           LANDUSE_LOG_FORMAT="json", LANDUSE_DB_ROLE="landuse_app")
lock = threading.Lock()
stats = {"attempts": 0, "acknowledged": 0, "status": {}, "retry_after_503": 0, "refused_conn": 0,
         "server_kills": 0, "postmaster_kills": 0, "replayed": 0}
acked = {}  # key -> case id
server = None
stop = threading.Event()


def count(name, by=1):
    with lock:
        stats[name] += by


server_log = open(args.server_log, "a")


def start_server():
    global server
    server = subprocess.Popen([args.bin, "serve"], env=env, stdout=server_log, stderr=server_log)


def request(method, path, body=None, headers=None, timeout=10):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Authorization", f"Bearer {args.token}")
    if body is not None:
        req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def wait_ready(limit=60):
    deadline = time.time() + limit
    while time.time() < deadline:
        try:
            status, _, _ = request("GET", "/readyz", timeout=2)
            if status == 200:
                return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


def writer(keys, projects):
    for key in keys:
        body = {"project_id": projects[key], "title": f"chaos {key}"}
        while True:
            count("attempts")
            try:
                status, raw_headers, payload = request("POST", "/api/v1/cases", body, {"Idempotency-Key": key})
                headers = {k.lower(): v for k, v in raw_headers.items()}
            except OSError:
                count("refused_conn")
                time.sleep(0.05)
                continue
            with lock:
                stats["status"][status] = stats["status"].get(status, 0) + 1
            if status == 503 and "retry-after" in headers:
                count("retry_after_503")
            if 200 <= status < 300:
                case = json.loads(payload)["id"]
                with lock:
                    if key in acked and acked[key] != case:
                        print(f"DIFFERENT ANSWERS for {key}: {acked[key]} then {case}", flush=True)
                    acked[key] = case
                    stats["acknowledged"] += 1
                if headers.get("idempotent-replayed") == "true":
                    count("replayed")
                break
            time.sleep(0.05)


def postmaster_pid():
    with open(os.path.join(args.pg_home, "pg", "postmaster.pid")) as f:
        return int(f.readline())


def killer():
    # Phase 1 (the first half of the writes): the server dies. Phase 2: the postmaster does.
    while not stop.is_set():
        time.sleep(rng.uniform(0.3, 1.5))
        if stop.is_set():
            break
        with lock:
            first_half = len(acked) < args.writes // 2
        if first_half:
            server.send_signal(signal.SIGKILL)
            server.wait()
            count("server_kills")
            start_server()
        else:
            try:
                os.kill(postmaster_pid(), signal.SIGKILL)
                count("postmaster_kills")
            except (OSError, ValueError):
                pass
            time.sleep(rng.uniform(0.5, 2.0))
            # The server keeps running and answers 503 meanwhile; its pool reconnects by itself.
            subprocess.run(args.restart_db, shell=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)


def errors_logged():
    """The distinct causes of the server's logged errors (what a 500 was)."""
    causes = {}
    server_log.flush()
    with open(args.server_log) as f:
        for line in f:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("level") == "ERROR":
                cause = f'{event.get("doing", "")}: {str(event.get("error", ""))[:160]}'
                causes[cause] = causes.get(cause, 0) + 1
    return causes


def main():
    start_server()
    if not wait_ready():
        sys.exit("chaos: the server did not become ready")
    keys = [f"chaos-{i:05d}" for i in range(args.writes)]
    # A project's second case must be one of its phases (green channel only), so each write
    # opens the one case of a project of its own, registered before the chaos starts.
    projects = {}
    for key in keys:
        status, _, payload = request("POST", "/api/v1/projects", {
            "name": f"chaos project {key}", "county_code": "610902",
            "category": "industry", "year": 2026})
        assert status == 201, payload
        projects[key] = json.loads(payload)["id"]
    started = time.time()
    threads = [threading.Thread(target=writer, args=(keys[w::args.workers], projects))
               for w in range(args.workers)]
    kill_thread = threading.Thread(target=killer)
    for t in threads:
        t.start()
    kill_thread.start()
    for t in threads:
        t.join()
    stop.set()
    kill_thread.join()
    elapsed = time.time() - started
    if server.poll() is not None:
        start_server()
    ready_again = wait_ready()

    out = subprocess.run(
        ["psql", "-At", "-F", "\t", args.database_url, "-c",
         "select c.title, count(*) over (partition by c.title),"
         " (select count(*) from case_events e where e.case_id = c.id and e.kind = 'created'), c.id"
         " from cases c where c.title like 'chaos %'"],
        capture_output=True, text=True, check=True).stdout
    rows = [line.split("\t") for line in out.splitlines() if line]
    by_key = {}
    for title, copies, events, case in rows:
        by_key.setdefault(title.removeprefix("chaos "), []).append((int(copies), int(events), case))
    found = sum(1 for k in acked if k in by_key)
    duplicates = sum(len(v) - 1 for v in by_key.values() if len(v) > 1)
    lost = [k for k in acked if k not in by_key]
    wrong_id = [k for k in acked if k in by_key and by_key[k][0][2] != acked[k]]
    no_event = [k for k, v in by_key.items() if any(events != 1 for _, events, _ in v)]
    server.send_signal(signal.SIGTERM)
    server.wait()

    report = {
        "writes attempted": args.writes,
        "requests sent": stats["attempts"],
        "acknowledged": len(acked),
        "found": found,
        "duplicates": duplicates,
        "lost": len(lost),
        "acknowledged id differs from stored": len(wrong_id),
        "cases without exactly one created event": len(no_event),
        "server kills (SIGKILL)": stats["server_kills"],
        "postmaster kills (SIGKILL)": stats["postmaster_kills"],
        "connection refused/reset (retried)": stats["refused_conn"],
        "503 with Retry-After": stats["retry_after_503"],
        "replayed answers": stats["replayed"],
        "statuses": {str(k): v for k, v in sorted(stats["status"].items())},
        "server errors logged": errors_logged(),
        "readyz recovered": ready_again,
        "seconds": round(elapsed, 1),
    }
    print(json.dumps(report, indent=2, ensure_ascii=False))
    ok = (len(acked) == args.writes and found == args.writes and duplicates == 0 and not lost
          and not wrong_id and not no_event and ready_again)
    print("chaos: PASS" if ok else "chaos: FAIL")
    sys.exit(0 if ok else 1)


main()
