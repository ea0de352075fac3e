#!/usr/bin/env python3
"""`make bench`: how fast the review page and the check report answer (issue 22: each under
300 ms p50 on the demo region, release build).

A scratch database on the server of --database-url with the small demo region, the release
binary serving it as landuse_app, then sequential requests as the planner: the case page of a
checked case and its check's report PDF, after a warm-up. Appends a section to report.md in
--out and writes review.json there; the database is dropped afterwards.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

TARGET_MS = 300.0


def percentile(values, p):
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url, token):
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        body = response.read()
        return response.status, body


def timed(url, token, count):
    times = []
    for _ in range(count):
        started = time.perf_counter()
        status, _ = get(url, token)
        times.append((time.perf_counter() - started) * 1000)
        assert status == 200, (url, status)
    return times


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    server = args.database_url.rsplit("/", 1)[0]
    name = f"landuse_reviewbench_{os.getpid()}"
    url = f"{server}/{name}"
    work = tempfile.mkdtemp(prefix="review-bench-")
    subprocess.run(["psql", "-q", f"{server}/postgres", "-c", f"create database {name}"], check=True)
    serve = None
    try:
        env = dict(os.environ, DATABASE_URL=url)
        for command in (["migrate"], ["seed"]):
            subprocess.run([args.binary, *command], env=env, check=True, stdout=subprocess.DEVNULL)
        subprocess.run(
            [args.binary, "demo", "setup", "--dir", f"{work}/demo", "--tokens", f"{work}/tokens.json", "--seed", "5",
             "--cultivated", "400", "--deposits", "6", "--farmland", "150", "--hazards", "40", "--projects", "30",
             "--redline", "9"],
            env=env, check=True, stdout=subprocess.DEVNULL)
        tokens = json.load(open(f"{work}/tokens.json"))
        port = free_port()
        log = open(f"{work}/serve.log", "w")
        serve = subprocess.Popen(
            [args.binary, "serve", "--listen", f"127.0.0.1:{port}"],
            env=dict(env, LANDUSE_DB_ROLE="landuse_app", LANDUSE_RATE_LIMIT="0", RUST_LOG="warn"),
            stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if get(base + "/readyz", tokens["planner"])[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        planner = tokens["planner"]
        _, body = get(base + "/api/v1/cases?stage=pre_review&limit=200", planner)
        cases = [c for c in json.loads(body)["items"] if c.get("latest_check")]
        # The case with the most hits: the heaviest page and report of the demo.
        def hits(case):
            _, view = get(base + case["latest_check"]["href"], planner)
            return sum(len(l["hits"]) for l in json.loads(view)["report"]["layers"])
        case = max(cases, key=hits)
        page = f"{base}/review/cases/{case['id']}"
        report = f"{base}{case['latest_check']['href']}/report.pdf"
        timed(page, planner, 5)
        timed(report, planner, 5)
        figures = {}
        for label, target in (("page", page), ("report", report)):
            times = timed(target, planner, args.requests)
            figures[label] = {
                "requests": len(times),
                "p50_ms": round(percentile(times, 50), 1),
                "p95_ms": round(percentile(times, 95), 1),
                "max_ms": round(max(times), 1),
            }
        _, pdf = get(report, planner)
        figures["report_bytes"] = len(pdf)
        figures["case"] = case["id"]
        figures["hits"] = hits(case)
        with open(os.path.join(args.out, "review.json"), "w") as f:
            json.dump(figures, f, indent=2)
        lines = [
            "",
            "## Review page and check report (issue 22)",
            "",
            f"Small demo region (seed 5), release build, the pre-review case with the most hits ({figures['hits']}); "
            f"{args.requests} sequential requests each as the planner after 5 of warm-up; "
            f"load average {os.getloadavg()[0]:.1f} at the end.",
            "",
            "| what | p50 ms | p95 ms | max ms | target p50 |",
            "|---|---|---|---|---|",
        ]
        for label, what in (("page", "`GET /review/cases/{id}` (HTML)"),
                            ("report", "`GET …/checks/{check_id}/report.pdf`")):
            f = figures[label]
            verdict = "met" if f["p50_ms"] < TARGET_MS else "**missed**"
            lines.append(f"| {what} | {f['p50_ms']} | {f['p95_ms']} | {f['max_ms']} | < {TARGET_MS:.0f} ms: {verdict} |")
        lines.append(f"\nThe report is {figures['report_bytes'] / 1024:.0f} KiB.")
        with open(os.path.join(args.out, "report.md"), "a") as f:
            f.write("\n".join(lines) + "\n")
        print("\n".join(lines))
        return 0 if all(figures[k]["p50_ms"] < TARGET_MS for k in ("page", "report")) else 1
    finally:
        if serve is not None:
            serve.terminate()
            serve.wait(timeout=30)
        subprocess.run(["psql", "-q", f"{server}/postgres", "-c", f"drop database if exists {name} with (force)"],
                       check=False)


if __name__ == "__main__":
    sys.exit(main())
