"""Writes the schemathesis configuration for scripts/api-fuzz.sh from a loaded demo region.

Each operation is sent with the token of a role that may perform it (schemathesis tries the
identities of auth.json in order and keeps the first the operation admits), and with path and
query values drawn from the demo region's own objects, so that the fuzzer reaches each operation's logic rather than its 401,
403 or 404. County reads keep the two county officers as schemathesis "peers", so its
object-level authorization check replays each officer's reads as the other.

Usage: prepare.py TOKENS_JSON DATABASE_URL BASE_URL OUT_DIR
Writes OUT_DIR/schemathesis.toml, OUT_DIR/auth.json and OUT_DIR/state.json (read by hooks.py).
"""

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests

OWN, OTHER = "610902", "610921"


def rows(database_url: str, sql: str) -> list[list[str]]:
    out = subprocess.run(
        ["psql", "-XAt", "-F", "\t", database_url, "-c", sql],
        check=True, capture_output=True, text=True,
    ).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def column(database_url: str, sql: str) -> list[str]:
    return [r[0] for r in rows(database_url, sql)]


def toml_value(value) -> str:
    return json.dumps(value, ensure_ascii=False)


# The bureau's day (UTC+8): what the service calls today.
BUREAU = timezone(timedelta(hours=8))
# The side, in degrees, of the squares supplied parts are cut from: about 9 m by 11 m.
CELL = 0.0001


def approve_one(database_url: str, base: str, tokens: dict) -> None:
    """Takes the first officer's case waiting in conversion on to its approval through the API, as
    the reviewer would (the approval's number, the quota its check needs, the offset when the
    check found cultivated land, then `advance`). When the region holds none, or a ledger
    refuses it, a case of the county with parcels is approved as a record imported from the
    bureau's older system is (its stage, number and approval event written in the database), as
    the tests' fixture does."""
    if column(database_url, f"select case_id from approval_batches where county_code = '{OWN}' limit 1"):
        return
    reviewer = {"Authorization": f"Bearer {tokens['reviewer']}", "If-Match": "*"}

    def post(path: str, body: dict) -> requests.Response:
        return requests.post(f"{base}/api/v1{path}", headers=reviewer, json=body, timeout=30)

    waiting = column(database_url, f"select id from cases where county_code = '{OWN}' and stage = 'conversion' order by id")
    for case in waiting[:1]:
        post(f"/cases/{case}/facts", {"conversion_approval": "陕政土批〔fuzz〕1号"})
        post("/quotas/allocations", {"case_id": case, "year": datetime.now(BUREAU).year})
        check = rows(
            database_url,
            "select coalesce((summary ->> 'cultivated_land_found')::boolean, false), coalesce((select sum((l -> 'counted' ->> 'm2')::float) "
            "from jsonb_array_elements(report -> 'layers') l where l ->> 'kind' = 'cultivated_land'), 0) "
            f"from checks where case_id = '{case}' order by run_at desc limit 1",
        )
        if check and check[0][0] == "t":
            post(f"/cases/{case}/offset/lock", {"capacity_kg": round(float(check[0][1]) * 0.45)})
        if post(f"/cases/{case}/transitions", {"action": "advance"}).ok:
            return
    with_parcels = column(
        database_url,
        f"select c.id from cases c where c.county_code = '{OWN}' and c.stage not in ('supply', 'registration', 'completed') "
        "and exists (select 1 from parcels p where p.case_id = c.id) order by c.stage = 'conversion' desc, c.id limit 1",
    )
    for case in with_parcels:
        subprocess.run(["psql", "-XAtq", database_url, "-c", f"""
            update cases set stage = 'supply', facts = coalesce(facts, '{{}}'::jsonb) || jsonb_build_object('conversion_approval', '陕政土批〔fuzz〕2号')
             where id = '{case}';
            insert into case_events (case_id, at, actor_role, kind, from_stage, to_stage)
            values ('{case}', now() - interval '1 day', 'reviewer', 'advance', 'conversion', 'supply')"""], check=True)


def supply_fixture(database_url: str, base: str, tokens: dict) -> dict | None:
    """An approved case of the first officer's county, the free part of its approval (no demo
    part on it) cut into squares for parts to be recorded on, and one part recorded through the
    API as the reviewer and followed to its completion, every date today's: what the land-supply
    operations need (the record refuses a part outside the approval or over an earlier one, and
    each step after it needs the one before)."""
    found = rows(
        database_url,
        f"""with free as (
              select b.case_id,
                     st_buffer(st_difference(
                         (select st_union(p.geom) from parcels p where p.case_id = b.case_id),
                         coalesce((select st_union(st_buffer(s.geom, {CELL / 4})) from supply_parts s
                                    where s.case_id = b.case_id),
                                  st_setsrid('POLYGON EMPTY'::geometry, 4490))), -{CELL / 10}) as geom
                from approval_batches b where b.county_code = '{OWN}'),
            cells as (
              select f.case_id, st_xmin(g.geom) as x, st_ymin(g.geom) as y
                from free f, st_squaregrid({CELL}, f.geom) g
               where st_within(g.geom, f.geom))
            select case_id, json_agg(json_build_array(x, y) order by x, y)::text
              from cells group by case_id order by count(*) desc limit 1""",
    )
    if not found:
        return None
    case, cells = found[0][0], json.loads(found[0][1])
    today = datetime.now(BUREAU).date().isoformat()
    headers = {"Authorization": f"Bearer {tokens['reviewer']}", "Content-Type": "application/json"}
    x, y = cells.pop()
    ring = [[x, y], [x + CELL, y], [x + CELL, y + CELL], [x, y + CELL], [x, y]]
    made = requests.post(f"{base}/api/v1/cases/{case}/supply-parts", headers=headers, timeout=30, json={
        "method": "transfer_listing", "document_number": "安出让〔fuzz〕1号", "decided_on": today,
        "price_wan_yuan": 10.0, "industrial": False, "agreed_handover_on": today,
        "agreed_start_on": today, "agreed_completion_on": today,
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    })
    made.raise_for_status()
    part, etag = made.json()["id"], made.headers["ETag"]
    for step, body in [
        ("handover", {"handed_over_on": today}),
        ("certificate", {"number": "陕（fuzz）不动产权第1号", "issued_on": today}),
        ("start", {"started_on": today}),
        ("completion", {"completed_on": today}),
    ]:
        done = requests.post(f"{base}/api/v1/supply-parts/{part}/{step}", timeout=30, json=body,
                             headers={**headers, "If-Match": etag})
        done.raise_for_status()
        etag = done.headers["ETag"]
    return {"case": case, "part": part, "part_mu": made.json()["area_mu"], "cell": CELL, "cells": cells}


def approval_fixture(database_url: str, base: str, tokens: dict) -> dict | None:
    """A case whose latest confirmed check calls for an approval record, with one hit and the
    kind it calls for (as the case view lists what is missing): what an approval record needs
    (the record must answer a hit of that check, with the kind the hit calls for). The demo
    leaves cases waiting in pre-review on such records; the first the reviewer sees is taken."""
    headers = {"Authorization": f"Bearer {tokens['reviewer']}"}
    for case in column(
        database_url,
        "select c.id from cases c join latest_checks l on l.case_id = c.id "
        "where l.confirmed_at is not null and not l.stale and c.stage in ('pre_review', 'conversion') order by c.id",
    ):
        shown = requests.get(f"{base}/api/v1/cases/{case}", headers=headers, timeout=30)
        missing = (shown.json().get("approvals") or {}).get("missing") or [] if shown.ok else []
        if missing:
            return {"case": case, "kind": missing[0]["kind"], "hit": missing[0]["hit_id"]}
    return None


def main() -> None:
    tokens_path, database_url, base, out_dir = sys.argv[1:5]
    tokens = json.loads(Path(tokens_path).read_text())
    out = Path(out_dir)
    own_counties = f"('{OWN}','{OTHER}')"

    projects = column(database_url, f"select id from projects where county_code in {own_counties} order by id")
    own_projects = column(database_url, f"select id from projects where county_code = '{OWN}' order by id")
    cases = column(database_url, f"select id from cases where county_code in {own_counties} order by id")
    with_parcels = column(
        database_url,
        "select distinct c.id from cases c join parcels p on p.case_id = c.id "
        f"where c.county_code in {own_counties} order by c.id",
    )
    checked = rows(
        database_url,
        "select c.id, k.id from cases c join checks k on k.case_id = c.id "
        f"where c.county_code = '{OWN}' order by k.run_at desc limit 1",
    )
    indicators = column(
        database_url, f"select id from offset_indicators where county_code in {own_counties} order by id"
    )
    snapshots = column(database_url, "select id from dispatch_snapshots order by id")
    # The demo's supplied parts (land supply after approval), for the part reads and records.
    supply_parts = column(
        database_url,
        "select s.id from supply_parts s join cases c on c.id = s.case_id "
        f"where c.county_code in {own_counties} order by s.id",
    )
    # Where an alert list resumes: an alert id (a page's next_since) or an RFC 3339 instant.
    alert_since = column(database_url, "select id::text from alerts order by id limit 2") + ["2026-01-01T00:00:00+08:00"]
    years = sorted({int(y) for y in column(database_url, "select distinct year from quota_accounts")} or {2026})
    holders = ["pool", OWN, OTHER]
    calendar_years = [int(y) for y in column(database_url, "select year from calendar_years order by year")]

    # What the hooks need to make fresh objects for operations that use one up.
    position = rows(
        database_url,
        "select st_x(st_centroid(p.geom)), st_y(st_centroid(p.geom)) from parcels p "
        f"join cases c on c.id = p.case_id where c.county_code = '{OWN}' limit 1",
    )
    hit_case = column(
        database_url,
        "select c.id from cases c join checks k on k.case_id = c.id join check_hits h on h.check_id = k.id "
        f"where c.county_code = '{OWN}' group by c.id order by count(*) desc limit 1",
    )
    # A point on a cultivated-land patch of the county, so a check there needs an offset.
    cultivated = rows(
        database_url,
        "select st_x(p), st_y(p) from (select st_pointonsurface(f.geom) p from layer_features f "
        "join layer_versions v on v.id = f.version_id where v.kind = 'cultivated_land' and v.is_current "
        "and st_area(f.geom::geography) > 5000 order by f.geom <-> (select st_centroid(p.geom) "
        f"from parcels p join cases c on c.id = p.case_id where c.county_code = '{OWN}' limit 1) limit 1) x",
    )
    approve_one(database_url, base, tokens)
    supply = supply_fixture(database_url, base, tokens)
    approval = approval_fixture(database_url, base, tokens)
    # A case's parcels as a boundary-point coordinate file, as the service writes one, for
    # uploads sent as text/plain.
    coordinate_file = None
    for case in column(
        database_url,
        f"select c.id from cases c where c.county_code = '{OWN}' and exists (select 1 from parcels p where p.case_id = c.id) "
        "order by c.id limit 1",
    ):
        shown = requests.get(f"{base}/api/v1/cases/{case}/parcels?format=txt", timeout=30,
                             headers={"Authorization": f"Bearer {tokens[f'officer:{OWN}']}"})
        if shown.ok:
            coordinate_file = shown.content.decode("gbk")
    state = {
        "base": base,
        "database_url": database_url,
        "tokens": tokens,
        "own_county": OWN,
        "other_county": OTHER,
        "own_project": own_projects[0] if own_projects else None,
        "position": [float(v) for v in position[0]] if position else None,
        "hit_case": hit_case[0] if hit_case else None,
        "cultivated": [float(v) for v in cultivated[0]] if cultivated else None,
        "supply": supply,
        "approval": approval,
        "coordinate_file": coordinate_file,
    }
    (out / "state.json").write_text(json.dumps(state, indent=1))

    dictionaries = {
        "projects": projects,
        "own_projects": own_projects,
        "cases": cases,
        "with_parcels": with_parcels,
        "indicators": indicators or ["00000000-0000-0000-0000-000000000000"],
        "alert_since": alert_since,
        "snapshots": snapshots or ["00000000-0000-0000-0000-000000000000"],
        "supply_parts": supply_parts + ([supply["part"]] if supply else []) or ["00000000-0000-0000-0000-000000000000"],
        # The fixture's approved case and its part, followed to completion (supply_fixture).
        "supply_case": [supply["case"]] if supply else ["00000000-0000-0000-0000-000000000000"],
        "supply_part": [supply["part"]] if supply else ["00000000-0000-0000-0000-000000000000"],
        "years": years,
        "calendar_years": calendar_years or [2026],
        # A notice may replace a loaded year or add the one after the last: the years must stay
        # contiguous.
        "notice_years": (calendar_years[-1:] + [calendar_years[-1] + 1]) if calendar_years else [2026],
        # Years no demo record falls in: a yearly quota set there changes nothing
        # the other operations depend on.
        "spare_years": [2031, 2032],
        "holders": holders,
        "counties": [OWN, OTHER],
        "own_county": [OWN],
        "check_case": [checked[0][0]] if checked else ["00000000-0000-0000-0000-000000000000"],
        "check_id": [checked[0][1]] if checked else ["00000000-0000-0000-0000-000000000000"],
    }

    # (operation, {parameter: dictionary}): where its ids, years and counties come from.
    plan = [
        ("GET /api/v1/projects/{id}", {"path.id": "projects"}),
        ("GET /api/v1/projects/{id}/history", {"path.id": "projects"}),
        ("PATCH /api/v1/projects/{id}", {"path.id": "own_projects"}),
        ("PUT /api/v1/projects/{id}/designation", {"path.id": "projects"}),
        ("POST /api/v1/projects/{id}/start", {"path.id": "own_projects"}),
        ("POST /api/v1/projects", {"body.county_code": "own_county"}),
        ("POST /api/v1/cases", {"body.project_id": "own_projects"}),
        ("GET /api/v1/cases", {"query.county": "counties"}),
        ("GET /api/v1/cases/{id}", {"path.id": "cases"}),
        ("GET /api/v1/cases/{id}/history", {"path.id": "cases"}),
        ("GET /api/v1/cases/{id}/parcels", {"path.id": "with_parcels"}),
        ("GET /api/v1/cases/{id}/checks", {"path.id": "with_parcels"}),
        ("GET /api/v1/cases/{id}/quota", {"path.id": "cases"}),
        ("GET /api/v1/cases/{id}/offset", {"path.id": "cases"}),
        ("GET /api/v1/cases/{id}/checks/{check_id}", {"path.id": "check_case", "path.check_id": "check_id"}),
        ("GET /api/v1/cases/{id}/checks/{check_id}/report.pdf", {"path.id": "check_case", "path.check_id": "check_id"}),
        ("POST /api/v1/cases/{id}/transitions", {}),
        ("PUT /api/v1/cases/{id}/parcels", {}),
        ("POST /api/v1/cases/{id}/parcels", {}),
        ("POST /api/v1/cases/{id}/facts", {"path.id": "cases"}),
        ("POST /api/v1/cases/{id}/green-channel", {"path.id": "cases"}),
        ("GET /api/v1/cases/{id}/approvals", {"path.id": "cases"}),
        ("POST /api/v1/cases/{id}/approvals", {"path.id": "cases"}),
        ("GET /api/v1/cases/{id}/overlay-queries", {"path.id": "cases"}),
        ("POST /api/v1/cases/{id}/overlay-queries", {}),
        ("POST /api/v1/cases/{id}/overlay-queries/{query_id}/answer", {}),
        ("POST /api/v1/cases/{id}/checks", {"path.id": "with_parcels"}),
        ("POST /api/v1/cases/{id}/checks/{check_id}/confirm", {}),
        ("POST /api/v1/cases/{id}/checks/{check_id}/hits/{hit_id}/dismiss", {}),
        ("GET /api/v1/ledger", {"query.county": "counties"}),
        ("GET /api/v1/quotas", {"query.year": "years"}),
        ("GET /api/v1/quotas/waiting", {"query.year": "years"}),
        ("GET /api/v1/quotas/{year}/{holder}", {"path.year": "years", "path.holder": "holders"}),
        ("PUT /api/v1/quotas/{year}/{holder}", {"path.year": "spare_years", "path.holder": "holders"}),
        ("POST /api/v1/quotas/requests", {"body.case_id": "cases", "body.year": "years"}),
        ("POST /api/v1/quotas/allocations", {}),
        ("POST /api/v1/quotas/transfers", {"body.year": "years", "body.from": "holders", "body.to": "holders"}),
        ("POST /api/v1/cases/{id}/quota/release", {}),
        ("POST /api/v1/cases/{id}/quota/cancel", {}),
        ("GET /api/v1/offsets", {"query.county": "counties"}),
        ("GET /api/v1/offsets/{id}", {"path.id": "indicators"}),
        ("POST /api/v1/offsets", {"body.county_code": "own_county"}),
        ("POST /api/v1/offsets/{id}/transfers", {"path.id": "indicators", "body.to_county": "counties"}),
        ("POST /api/v1/cases/{id}/offset/lock", {}),
        ("POST /api/v1/cases/{id}/offset/release", {}),
        ("POST /api/v1/cases/{id}/offset/consume", {}),
        ("GET /api/v1/reports/start-rates", {"query.year": "years"}),
        ("GET /api/v1/calendar/{year}", {"path.year": "calendar_years"}),
        ("PUT /api/v1/calendar/{year}", {"path.year": "notice_years"}),
        ("GET /api/v1/alerts", {"query.county": "counties", "query.since": "alert_since"}),
        ("GET /api/v1/alerts/stream", {"query.county": "counties"}),
        ("GET /api/v1/dispatch", {}),
        ("GET /api/v1/dispatch/{id}", {"path.id": "snapshots"}),
        ("GET /api/v1/supply-parts/{id}", {"path.id": "supply_parts"}),
        ("GET /api/v1/cases/{id}/supply-parts", {"path.id": "cases"}),
        ("POST /api/v1/cases/{id}/supply-parts", {"path.id": "supply_case"}),
        ("POST /api/v1/supply-parts/{id}/handover", {"path.id": "supply_part"}),
        ("POST /api/v1/supply-parts/{id}/certificate", {"path.id": "supply_part"}),
        ("POST /api/v1/supply-parts/{id}/start", {"path.id": "supply_part"}),
        ("POST /api/v1/supply-parts/{id}/completion", {"path.id": "supply_part"}),
        ("GET /api/v1/projects/{id}/advance-use", {"path.id": "projects"}),
        ("POST /api/v1/projects/{id}/advance-use", {}),
        ("POST /api/v1/projects/{id}/advance-use/{request_id}/decision", {}),
    ]

    # Schemathesis tries these identities in order for each operation and keeps the first one
    # the operation admits, so every operation is sent as a role that may perform it. The two
    # officers come first: they own the county data, and as peers each one's reads are
    # replayed as the other.
    identities = {
        "hanbin": tokens[f"officer:{OWN}"],
        "hanyin": tokens[f"officer:{OTHER}"],
        "planner": tokens["planner"],
        "reviewer": tokens["reviewer"],
        "leader": tokens["leader"],
        "admin": tokens["admin"],
        "gis": tokens["gis"],
    }
    (out / "auth.json").write_text(json.dumps({"auth": [
        {"name": name, "fixedHeaders": [{"name": "Authorization", "value": f"Bearer {token}"}]}
        for name, token in identities.items()
    ]}))

    lines = [
        "[auth.wfc]",
        f'path = {toml_value(str(out / "auth.json"))}',
        'peers = ["hanbin", "hanyin"]',
        "",
        "# A write without its required If-Match is 428 Precondition Required (RFC 6585).",
        "[checks.missing_required_header]",
        'expected-statuses = ["400", "401", "403", "404", "422", "428"]',
        "",
    ]
    for name, values in dictionaries.items():
        lines += [f"[dictionaries.{name}]", f"values = {toml_value(values)}", ""]
    for operation, params in plan:
        method = operation.split()[0]
        if not params and method == "GET":
            continue
        lines += ["[[operations]]", f"include-name = {toml_value(operation)}"]
        if params:
            bindings = ", ".join(f"{toml_value(k)} = {{ dictionary = {toml_value(v)} }}" for k, v in params.items())
            lines.append(f"parameters = {{ {bindings} }}")
        if method in ("POST", "PUT", "PATCH"):
            # A write can still be refused by a rule the document states but a schema cannot
            # carry: a refused transition or ledger rule, GeoJSON that parses but is no valid
            # polygon (409/422, each naming its rule).
            lines.append(
                'checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "412", "422", "428"]'
            )
        lines.append("")
    # Reads that take a county, a cursor, an alert id or instant, or a holder that must exist:
    # a value of the right form that names nothing is 422 (unknown-county, a cursor this service
    # did not give), as the document says; the generated ones mostly are.
    lines += [
        "[[operations]]",
        "include-path-regex = '^/api/v1/(cases|offsets|ledger|alerts|alerts/stream|quotas/\\{year\\}/\\{holder\\})$'",
        'include-method = "GET"',
        'checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "422"]',
        "",
    ]
    (out / "schemathesis.toml").write_text("\n".join(lines))
    print(f"prepare: {len(plan)} operations configured from the demo region "
          f"({len(projects)} projects, {len(cases)} cases, {len(indicators)} indicators)")


if __name__ == "__main__":
    main()
