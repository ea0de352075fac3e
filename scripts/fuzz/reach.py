"""Reads schemathesis's HAR and JSON reports and says which operations of the document answered
2xx at least once, which never did, and which warnings the run raised.

Usage: reach.py OPENAPI_JSON HAR_FILE JSON_REPORT
Exit status 1 when an operation that documents a 2xx never answered one, or a warning was raised.
"""

import json
import re
import sys
from urllib.parse import urlparse


def templates(document: dict) -> list[tuple[str, str, re.Pattern, bool]]:
    out = []
    for path, item in document["paths"].items():
        pattern = re.compile("^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(path)) + "$")
        for method, operation in item.items():
            has_2xx = any(code.startswith("2") for code in operation.get("responses", {}))
            out.append((method.upper(), path, pattern, has_2xx))
    # Literal segments before parameters: /quotas/waiting before /quotas/{year}/...
    out.sort(key=lambda t: t[1].count("{"))
    return out


def main() -> int:
    document = json.load(open(sys.argv[1], encoding="utf-8"))
    har = json.load(open(sys.argv[2], encoding="utf-8"))
    report = json.load(open(sys.argv[3], encoding="utf-8"))
    ops = templates(document)
    reached: dict[str, set[int]] = {f"{m} {p}": set() for m, p, _, _ in ops}
    for entry in har["log"]["entries"]:
        method = entry["request"]["method"].upper()
        path = urlparse(entry["request"]["url"]).path
        status = entry["response"]["status"]
        for m, p, pattern, _ in ops:
            if m == method and pattern.match(path):
                reached[f"{m} {p}"].add(status)
                break
    with_2xx = [f"{m} {p}" for m, p, _, has in ops if has]
    ok = sorted(op for op in with_2xx if any(200 <= s < 300 for s in reached[op]))
    missed = sorted(set(with_2xx) - set(ok))
    print(f"api-fuzz: {len(ok)} of {len(with_2xx)} operations answered 2xx at least once")
    for op in missed:
        print(f"  never 2xx: {op} (saw {sorted(reached[op]) or 'no request'})")
    warnings = {kind: labels for kind, labels in (report.get("warnings") or {}).items() if labels}
    for kind, labels in warnings.items():
        print(f"  warning {kind}: {', '.join(labels)}")
    return 1 if missed or warnings else 0


if __name__ == "__main__":
    sys.exit(main())
