"""Schemathesis hooks for scripts/api-fuzz.sh: give the fuzzer's valid requests what a real client
would have, so they reach the operation's logic.

Only positive cases (those the document calls valid) are touched; the negative ones are sent as
generated, so the service's refusals are still tested.

- `If-Match`: a client sends the ETag it last read; the fuzzer cannot know it, so a valid request
  sends `*` (RFC 9110: any current version), which the service accepts.
- `Idempotency-Key`: a client makes a new key for each new request; the fuzzer draws keys from a
  small pool and would send one again with another body (422 by the draft standard), so a valid
  request gets a new UUID.
- Operations that use an object up (a transition, a confirmation, a quota allocation…) get a
  fresh one made through the API just before the call, as the role that would make it.
- A calendar year gets a valid notice for that year, with `If-Match: *` (a loaded year may only be
  replaced by a client that read it).
- Rules across fields, which the document states in words but a schema cannot carry, are kept
  as a client that read it would: a quota transfer moves between a county and the municipal pool;
  an allocation gives year and mu together or neither; a quota request is for a case just
  submitted (one request per case), in the bureau's year, for at least the case's need; an offset indicator's paddy area is part
  of its area; an indicator is transferred in a small part to another county; a
  county officer registers projects in the county it serves; a yearly quota is set with the
  ETag of the account read just before, once the account exists.
- A new case (and every fresh case the hooks make) is opened on a new project of the county: a
  project's further cases must state their phase and keep off each other's parcels; a case that
  states a phase gets a key project (the green channel), put on the list by the leader.
- Parcel uploads get a valid footprint: a small square inside the first officer's county (random
  JSON cannot be a valid polygon, and the document cannot say "a simple closed ring"), or, sent as
  text/plain, parcels of the county as the coordinate file the service itself writes.
- A transition is sent on a case where its action is allowed, as the role whose action it is
  (an officer submits, withdraws and answers a correction; a reviewer advances, asks for a
  correction and rejects), with a reason where the action needs one.
- Land supply (prepare.py's `supply_fixture`: an approved case and a part of it followed to its
  completion): a part is recorded on a square of the approval no earlier part covers, given as
  GeoJSON, with its indicators on industrial land only; every date of a record and of what
  follows it is the bureau's today, which is after the approval and not after today, and in
  order; a part is brought to the step before the one recorded (handed over before its
  certificate and its start, started before its completion), and developed within its area.
- A mineral overlay query is opened on a fresh case (which has none open), and an answer goes
  to a query just opened on another, as the reviewer, dated today, with a known conclusion and
  a document number.
- An approval record (prepare.py's `approval_fixture`: a case whose confirmed check calls for one)
  answers that case's hit with the kind it calls for, as the reviewer, decided today, with the
  geohazard assessment's conclusion.
- Advance use (a key project with a pre-reviewed case, made fresh for each request): a request is asked by the county's officer for
  a small square inside the case's parcel, given as GeoJSON, for schedule-controlling works with a
  reason; a decision is taken by the leader on a request made just before, with a document number
  when it approves.
- A key project's start is recorded on a project of the officer's own county, on a day not after
  the bureau's today.
- A designation is the leader's, on a fresh project it changes (listed when it is taken off, not
  listed when it is put on), with a level above county, a list document and a responsible
  leader when it lists.
"""

import json
import os
import random
import subprocess
import uuid
from datetime import datetime, timedelta, timezone

import requests
import schemathesis
from schemathesis.generation import GenerationMode

STATE = json.loads(open(os.environ["FUZZ_STATE"], encoding="utf-8").read())
BASE = STATE["base"]
SESSION = requests.Session()
RNG = random.Random(7)


def _headers(role: str, **extra) -> dict:
    return {"Authorization": f"Bearer {STATE['tokens'][role]}", **extra}


def _call(method: str, path: str, role: str, body=None, **headers) -> requests.Response:
    kwargs = {"headers": _headers(role, **headers), "timeout": 30}
    if body is not None:
        kwargs["data"] = json.dumps(body)
        kwargs["headers"].setdefault("Content-Type", "application/json")
    return SESSION.request(method, BASE + path, **kwargs)


def _officer() -> str:
    return f"officer:{STATE['own_county']}"


def square(side: float = 0.0006, at=None) -> dict:
    """A square footprint, as a FeatureCollection: at `at` (lon, lat), or a little way from a
    known parcel of the county."""
    if at is None:
        lon, lat = STATE["position"]
        lon += RNG.uniform(-0.01, 0.01)
        lat += RNG.uniform(-0.01, 0.01)
    else:
        lon, lat = at
    ring = [[lon, lat], [lon + side, lat], [lon + side, lat + side], [lon, lat + side], [lon, lat]]
    return {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "properties": {"name": "fuzz"}, "geometry": {"type": "Polygon", "coordinates": [ring]}}],
    }


def fresh_project(key: bool = False) -> str:
    """A new project of the first officer's county, put on the key-project list by the leader when
    `key`. A project's further cases must state their phase (green channel only) and keep off each
    other's parcels, so each fresh case gets a project of its own."""
    made = _call("POST", "/api/v1/projects", _officer(), {
        "name": "fuzz project", "county_code": STATE["own_county"], "category": "infrastructure", "year": 2026,
    })
    made.raise_for_status()
    project = made.json()["id"]
    if key:
        _call("PUT", f"/api/v1/projects/{project}/designation", "leader", {
            "on_key_list": True, "level": "provincial", "sector": "transport", "new_start": True,
            "list_document": "陕发改重点〔fuzz〕1号", "responsible_leader": "fuzz", "reason": "fuzz: 分段报批",
        }, **{"If-Match": made.headers["ETag"]}).raise_for_status()
    return project


def _new_case(case) -> None:
    """A case opened on a project with no live case: a key project when it states its phase."""
    if isinstance(case.body, dict):
        case.body["project_id"] = fresh_project(key=case.body.get("phase") is not None)


def fresh_case(with_parcels: bool = True, at=None, project=None, side: float = 0.0006) -> str:
    """A new draft case of the first officer's county (on `project`, else a fresh one), with a
    parcel (a square of `side` degrees, see `square`) unless asked otherwise."""
    made = _call("POST", "/api/v1/cases", _officer(), {"project_id": project or fresh_project(), "title": "fuzz case"})
    made.raise_for_status()
    case = made.json()["id"]
    if with_parcels:
        put = SESSION.put(
            f"{BASE}/api/v1/cases/{case}/parcels",
            headers=_headers(_officer(), **{"Content-Type": "application/geo+json", "If-Match": "*"}),
            data=json.dumps(square(side, at=at)),
            timeout=30,
        )
        put.raise_for_status()
    return case


def fresh_check(case: str) -> str:
    """A new check of `case`, run by the planner."""
    ran = _call("POST", f"/api/v1/cases/{case}/checks", "planner")
    ran.raise_for_status()
    return ran.json()["id"]


def moved(case: str, action: str, role: str) -> None:
    """Moves `case` on by `action`, as `role`."""
    done = _call("POST", f"/api/v1/cases/{case}/transitions", role, {"action": action}, **{"If-Match": "*"})
    done.raise_for_status()


def submitted_case(at=None) -> str:
    """A fresh case the officer has submitted (accepted)."""
    case = fresh_case(at=at)
    moved(case, "submit", _officer())
    return case


def requested_case(mu: float = 1.0) -> str:
    case = submitted_case()
    asked = _call("POST", "/api/v1/quotas/requests", _officer(), {"case_id": case, "year": _bureau_year(), "mu": mu})
    asked.raise_for_status()
    return case


def allocated_case() -> str:
    case = requested_case()
    given = _call("POST", "/api/v1/quotas/allocations", "reviewer", {"case_id": case, "year": _bureau_year(), "mu": 1.0})
    given.raise_for_status()
    return case


def locked_case() -> str:
    """A case in pre-review over cultivated land, its check confirmed and its offset locked."""
    case = submitted_case(at=STATE["cultivated"])
    moved(case, "advance", "reviewer")
    check = fresh_check(case)
    confirmed = _call("POST", f"/api/v1/cases/{case}/checks/{check}/confirm", "planner", **{"If-Match": "*"})
    confirmed.raise_for_status()
    locked = _call("POST", f"/api/v1/cases/{case}/offset/lock", "reviewer", {"capacity_kg": 1000.0})
    locked.raise_for_status()
    return case


def checked_case() -> str:
    """A case in pre-review over cultivated land with a confirmed check, nothing locked yet."""
    case = submitted_case(at=STATE["cultivated"])
    moved(case, "advance", "reviewer")
    check = fresh_check(case)
    confirmed = _call("POST", f"/api/v1/cases/{case}/checks/{check}/confirm", "planner", **{"If-Match": "*"})
    confirmed.raise_for_status()
    return case


def approved_with_lock() -> str:
    """An approved case still holding an offset lock, as records imported from the bureau's older
    system can be (the service's own approval consumes the lock in the same transaction): made
    through the API, then moved to `supply` in the database as such an import would."""
    case = locked_case()
    subprocess.run(
        ["psql", "-XAtq", STATE["database_url"], "-c", f"update cases set stage = 'supply' where id = '{case}'"],
        check=True,
    )
    return case


def _positive(case) -> bool:
    meta = case.meta
    return meta is not None and meta.generation.mode == GenerationMode.POSITIVE


FRESH = {
    "PUT /api/v1/cases/{id}/parcels": lambda case: case.path_parameters.update(id=fresh_case(False)),
    "POST /api/v1/cases/{id}/parcels": lambda case: case.path_parameters.update(id=fresh_case(False)),
    "POST /api/v1/cases/{id}/quota/cancel": lambda case: case.path_parameters.update(id=requested_case()),
    "POST /api/v1/cases/{id}/quota/release": lambda case: case.path_parameters.update(id=allocated_case()),
    "POST /api/v1/cases/{id}/offset/lock": lambda case: case.path_parameters.update(id=checked_case()),
    "POST /api/v1/cases/{id}/offset/release": lambda case: case.path_parameters.update(id=locked_case()),
    "POST /api/v1/cases/{id}/offset/consume": lambda case: case.path_parameters.update(id=approved_with_lock()),
}


def _confirmable(case) -> None:
    target = STATE["hit_case"]
    case.path_parameters.update(id=target, check_id=fresh_check(target))


def _dismissable(case) -> None:
    target = STATE["hit_case"]
    check = fresh_check(target)
    report = _call("GET", f"/api/v1/cases/{target}/checks/{check}", "planner").json()
    hits = list(_hit_ids(report))
    case.path_parameters.update(id=target, check_id=check, hit_id=hits[0] if hits else str(uuid.uuid4()))


def _hit_ids(value):
    """Every hit id in a check report, wherever the answer nests its layers."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "hits" and isinstance(item, list):
                yield from (hit["id"] for hit in item if isinstance(hit, dict) and "id" in hit)
            else:
                yield from _hit_ids(item)
    elif isinstance(value, list):
        for item in value:
            yield from _hit_ids(item)


def _allocatable(case) -> None:
    if isinstance(case.body, dict):
        case.body["case_id"] = requested_case()


FRESH["POST /api/v1/cases/{id}/checks/{check_id}/confirm"] = _confirmable
FRESH["POST /api/v1/cases"] = _new_case
FRESH["POST /api/v1/cases/{id}/checks/{check_id}/hits/{hit_id}/dismiss"] = _dismissable
FRESH["POST /api/v1/quotas/allocations"] = _allocatable


def _calendar(case) -> None:
    """A valid notice for the year in the path: New Year's Day off, no weekend made a workday."""
    year = case.path_parameters.get("year")
    if isinstance(year, int) and isinstance(case.body, dict):
        case.body = {"holidays": [f"{year}-01-01"], "adjusted_workdays": []}
        case.headers = {**(case.headers or {}), "If-Match": "*"}


def _caller_county(case, kwargs) -> str:
    """The county of the officer whose token the request carries (the first officer's for the
    city-wide roles, who may name any)."""
    headers = {**(kwargs.get("headers") or {}), **(case.headers or {})}
    sent = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    other = STATE["other_county"]
    return other if sent == f"Bearer {STATE['tokens'].get(f'officer:{other}')}" else STATE["own_county"]


def _own_county(case, kwargs) -> None:
    if isinstance(case.body, dict):
        case.body["county_code"] = _caller_county(case, kwargs)


def _paddy_within_area(case, kwargs) -> None:
    body = case.body
    if isinstance(body, dict) and all(isinstance(body.get(k), (int, float)) for k in ("area_m2", "paddy_m2")):
        body["paddy_m2"] = min(body["paddy_m2"], body["area_m2"])
    _own_county(case, kwargs)


def _to_another_county(case, kwargs) -> None:
    body = case.body
    if not isinstance(body, dict):
        return
    # A small part: what an indicator has left may be less than generated amounts, and moving
    # "everything left" of one already moved is a zero amount.
    body.update(area_m2=1.0, paddy_m2=0.5, capacity_kg=1.0)
    indicator = case.path_parameters.get("id")
    shown = _call("GET", f"/api/v1/offsets/{indicator}", "reviewer")
    found = shown.json() if shown.ok else {}
    owner = (found.get("indicator") or found).get("county_code")
    body["to_county"] = STATE["other_county"] if owner == STATE["own_county"] else STATE["own_county"]


def _year_with_mu(case, kwargs) -> None:
    body = case.body
    if isinstance(body, dict) and ((body.get("year") is None) != (body.get("mu") is None)):
        body.pop("year", None)
        body.pop("mu", None)


def _covers_need(case, kwargs) -> None:
    """A quota request is made as a client would: for a case just submitted in the officer's
    county, with no request of its own yet (a demo case may hold one already, or sit in a stage
    that asks for none), in the bureau's year, for at least what the case needs."""
    body = case.body
    if not isinstance(body, dict) or not isinstance(body.get("mu"), (int, float)):
        return
    try:
        body["case_id"] = submitted_case()
    except requests.HTTPError:
        return
    body["year"] = _bureau_year()
    _as(case, _officer())
    shown = _call("GET", f"/api/v1/cases/{body.get('case_id')}/quota", "reviewer")
    needed = ((shown.json().get("position") or {}).get("needed_mu") if shown.ok else None)
    if isinstance(needed, (int, float)) and body["mu"] < needed:
        body["mu"] = needed


def _via_pool(case, kwargs) -> None:
    body = case.body
    if not isinstance(body, dict):
        return
    if "pool" not in (body.get("from"), body.get("to")):
        body["to"] = "pool"
    elif body.get("from") == body.get("to"):
        body["to"] = STATE["own_county"]


def _read_first(case, kwargs) -> None:
    """A yearly quota is set as a client that read the account would: with its ETag once it
    exists (the document: required once the account exists), without `If-Match` before."""
    year, holder = case.path_parameters.get("year"), case.path_parameters.get("holder")
    if not isinstance(year, int):
        return
    shown = _call("GET", f"/api/v1/quotas/{year}/{holder}", "admin")
    headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "if-match"}
    if shown.ok and shown.headers.get("ETag"):
        headers["If-Match"] = shown.headers["ETag"]
    case.headers = headers


FRESH["PUT /api/v1/calendar/{year}"] = _calendar


def _as(case, role: str) -> None:
    """Sends the request with `role`'s token instead of the one the fuzzer picked."""
    headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    headers["Authorization"] = f"Bearer {STATE['tokens'][role]}"
    case.headers = headers


def _corrected_case() -> str:
    """A submitted case the reviewer sent back for correction."""
    case = submitted_case()
    done = _call("POST", f"/api/v1/cases/{case}/transitions", "reviewer",
                 {"action": "request_correction", "reason": "fuzz: 材料不全"}, **{"If-Match": "*"})
    done.raise_for_status()
    return case


# Each action of the transition table: the case it is allowed on (made fresh), whose it is, and
# whether it needs a reason.
ACTIONS = {
    "submit": (fresh_case, "officer", False),
    "withdraw": (fresh_case, "officer", True),
    "answer_correction": (_corrected_case, "officer", False),
    "advance": (submitted_case, "reviewer", False),
    "request_correction": (submitted_case, "reviewer", True),
    "reject": (submitted_case, "reviewer", True),
}


def _transition(case, kwargs) -> None:
    body = case.body
    if not isinstance(body, dict) or body.get("action") not in ACTIONS:
        return
    make, role, needs_reason = ACTIONS[body["action"]]
    reason = body.get("reason")
    if needs_reason and not (isinstance(reason, str) and reason.strip()):
        body["reason"] = "fuzz: 理由"
    _as(case, _officer() if role == "officer" else role)
    try:
        case.path_parameters.update(id=make())
    except requests.HTTPError:
        pass


def _bureau_year() -> int:
    """The bureau's year (UTC+8): the year a new quota request is made in."""
    return datetime.now(timezone(timedelta(hours=8))).year


def _bureau_today() -> str:
    """The bureau's date (UTC+8): the service's today, for every date of a supply record."""
    return datetime.now(timezone(timedelta(hours=8))).date().isoformat()


CELLS = list((STATE.get("supply") or {}).get("cells") or [])


def _free_square() -> dict:
    """A square of the fixture's approval that no part covers yet, as a GeoJSON Polygon."""
    side = STATE["supply"]["cell"]
    x, y = CELLS.pop() if CELLS else (0.0, 0.0)
    ring = [[x, y], [x + side, y], [x + side, y + side], [x, y + side], [x, y]]
    return {"type": "Polygon", "coordinates": [ring]}


def _supply_record(case, kwargs) -> None:
    body = case.body
    if not isinstance(body, dict) or not STATE.get("supply"):
        return
    # An approved case with land left to supply: a link may name a case still in its workflow.
    case.path_parameters.update(id=STATE["supply"]["case"])
    today = _bureau_today()
    for field in ("decided_on", "agreed_handover_on", "agreed_start_on", "agreed_completion_on"):
        body[field] = today
    body.pop("coordinate_file", None)
    body["geometry"] = _free_square()
    if body.get("agreed_indicators") is not None:
        body["industrial"] = True


def _part_at(case, steps: tuple) -> None:
    """Brings the part of the path through `steps` (each recorded today) when it has not been,
    or sends the request to the fixture's part, which has them all, when the path names no part
    the reviewer sees."""
    part = case.path_parameters.get("id")
    shown = _call("GET", f"/api/v1/supply-parts/{part}", "reviewer")
    if not shown.ok:
        if STATE.get("supply"):
            case.path_parameters.update(id=STATE["supply"]["part"])
        return
    found, etag, today = shown.json(), shown.headers.get("ETag", "*"), _bureau_today()
    for step, field, body in (
        ("handover", "handed_over_on", {"handed_over_on": today}),
        ("start", "started_on", {"started_on": today}),
    ):
        if step in steps and not found.get(field):
            done = _call("POST", f"/api/v1/supply-parts/{part}/{step}", "reviewer", body, **{"If-Match": etag})
            if not done.ok:
                return
            etag = done.headers.get("ETag", "*")


def _handover(case, kwargs) -> None:
    if isinstance(case.body, dict):
        _part_at(case, ())
        case.body["handed_over_on"] = _bureau_today()


def _certificate(case, kwargs) -> None:
    if isinstance(case.body, dict):
        _part_at(case, ("handover",))
        case.body["issued_on"] = _bureau_today()
        if not str(case.body.get("number", "")).strip():
            case.body["number"] = "陕（fuzz）不动产权第2号"


def _start(case, kwargs) -> None:
    body = case.body
    if not isinstance(body, dict):
        return
    _part_at(case, ("handover",))
    body["started_on"] = _bureau_today()
    if body.get("halted_since") is not None:
        body["halted_since"] = body["started_on"]
    if isinstance(body.get("developed_mu"), (int, float)) and STATE.get("supply"):
        shown = _call("GET", f"/api/v1/supply-parts/{case.path_parameters.get('id')}", "reviewer")
        area = shown.json().get("area_mu", 0) if shown.ok else STATE["supply"]["part_mu"]
        body["developed_mu"] = min(body["developed_mu"], area)


def _project_start(case, kwargs) -> None:
    """A key project's start is a day that has come: the generated date when it is not after
    the bureau's today, today otherwise."""
    body = case.body
    if isinstance(body, dict) and not (isinstance(body.get("started_on"), str) and body["started_on"] <= _bureau_today()):
        body["started_on"] = _bureau_today()


def _designation(case, kwargs) -> None:
    """A designation is the leader's, on a fresh project of the county that it changes: one off
    the list is put on it, one on the list is taken off (a decision that changes nothing is
    refused). Putting one on the list names a level above county, the list document and the
    responsible leader."""
    body = case.body
    if not isinstance(body, dict):
        return
    _as(case, "leader")
    listing = body.get("on_key_list") is True
    try:
        case.path_parameters.update(id=fresh_project(key=not listing))
    except requests.HTTPError:
        return
    if listing:
        if body.get("level") in (None, "county"):
            body["level"] = "provincial"
        for field, text in (("list_document", "陕发改重点〔fuzz〕2号"), ("responsible_leader", "fuzz")):
            if not (isinstance(body.get(field), str) and body[field].strip()):
                body[field] = text


def _completion(case, kwargs) -> None:
    if isinstance(case.body, dict):
        _part_at(case, ("handover", "start"))
        case.body["completed_on"] = _bureau_today()
def _approval(case, kwargs) -> None:
    """An approval record answers a hit of the case's latest confirmed check with the kind the
    hit calls for (prepare.py's `approval_fixture`), decided not after today; the geohazard
    assessment states its conclusion."""
    body = case.body
    fixture = STATE.get("approval")
    if not isinstance(body, dict) or not fixture:
        return
    case.path_parameters.update(id=fixture["case"])
    _as(case, "reviewer")
    body.update(kind=fixture["kind"], hits=[fixture["hit"]], decided_on=_bureau_today())
    for field, text in (("document_number", "陕自然资函〔fuzz〕1号"), ("authority", "陕西省自然资源厅")):
        if not (isinstance(body.get(field), str) and body[field].strip()):
            body[field] = text
    if fixture["kind"] == "geohazard_assessment" and not (body.get("conclusion") or "").strip():
        body["conclusion"] = "fuzz: 危险性小，适宜建设"


def advance_project() -> dict:
    """What a request for advance use needs, made fresh: a key project of the first officer's
    county whose case is at pre-review with its opinion issued, and a small square inside the
    case's parcel. Fresh for each request: the fuzzer's own writes (a designation taken back, the
    case moved on) can take a shared project off the green channel, and then every later request
    is refused."""
    project = fresh_project(key=True)
    lon, lat = STATE["position"][0] + 0.02, STATE["position"][1] + 0.02
    case = fresh_case(at=(lon, lat), project=project, side=0.002)
    moved(case, "submit", _officer())
    moved(case, "advance", "reviewer")
    _call("POST", f"/api/v1/cases/{case}/facts", "reviewer", {"pre_review_opinion": "安自然资预〔fuzz〕1号"},
          **{"If-Match": "*"}).raise_for_status()
    inside = square(0.0003, at=(lon + 0.0005, lat + 0.0005))["features"][0]["geometry"]
    return {"project": project, "parcel": inside}


def _advance_fixture() -> dict | None:
    """A fresh advance-use project, or none when the region has no parcel to place it by or the
    service refused to make one (the request then goes as generated)."""
    if not STATE.get("position"):
        return None
    try:
        return advance_project()
    except requests.HTTPError:
        return None


def _advance_request(case, kwargs) -> None:
    body = case.body
    if not isinstance(body, dict):
        return
    fixture = _advance_fixture()
    if not fixture:
        return
    case.path_parameters.update(id=fixture["project"])
    _as(case, _officer())
    body.pop("coordinate_file", None)
    body.update(parcels=fixture["parcel"], controls_schedule=True)
    if not (isinstance(body.get("reason"), str) and body["reason"].strip()):
        body["reason"] = "fuzz: 控制性工程先行施工"


def _pending_request(case) -> None:
    """A request for advance use made just before, pending, to decide."""
    fixture = _advance_fixture()
    if not fixture:
        return
    asked = _call("POST", f"/api/v1/projects/{fixture['project']}/advance-use", _officer(),
                  {"parcels": fixture["parcel"], "controls_schedule": True, "reason": "fuzz"})
    asked.raise_for_status()
    case.path_parameters.update(id=fixture["project"], request_id=asked.json()["request"]["id"])


def _advance_decision(case, kwargs) -> None:
    body = case.body
    if not isinstance(body, dict) or not STATE.get("position"):
        return
    _as(case, "leader")
    if body.get("decision") == "approve" and not (isinstance(body.get("document_number"), str) and body["document_number"].strip()):
        body["document_number"] = "安政先用〔fuzz〕1号"
    if not (isinstance(body.get("reason"), str) and body["reason"].strip()):
        body["reason"] = "fuzz: 同意"


FRESH["POST /api/v1/projects/{id}/advance-use/{request_id}/decision"] = _pending_request
def _opened_query() -> tuple:
    """A fresh case with an overlay query the reviewer has just opened: (case, query)."""
    case = fresh_case(False)
    opened = _call("POST", f"/api/v1/cases/{case}/overlay-queries", "reviewer", **{"If-Match": "*"})
    opened.raise_for_status()
    return case, opened.json()["overlay"]["queries"][-1]["id"]


def _answerable(case) -> None:
    made, query = _opened_query()
    case.path_parameters.update(id=made, query_id=query)


FRESH["POST /api/v1/cases/{id}/overlay-queries"] = lambda case: case.path_parameters.update(id=fresh_case(False))
FRESH["POST /api/v1/cases/{id}/overlay-queries/{query_id}/answer"] = _answerable


def _overlay_open(case, kwargs) -> None:
    """A reviewer opens overlay queries."""
    _as(case, "reviewer")


def _overlay_answer(case, kwargs) -> None:
    """An answer is the reviewer's, dated today (not before the query was sent that day), with
    one of the three conclusions and a document number."""
    _as(case, "reviewer")
    body = case.body
    if not isinstance(body, dict):
        return
    body["answered_on"] = _bureau_today()
    if body.get("conclusion") not in ("no_overlay", "overlay_approved", "refused"):
        body["conclusion"] = "no_overlay"
    if not (isinstance(body.get("document_number"), str) and body["document_number"].strip()):
        body["document_number"] = "陕自然资矿函〔fuzz〕1号"


# Requests made valid across fields, after FRESH has given them their objects.
ACROSS = {
    "POST /api/v1/cases/{id}/approvals": _approval,
    "POST /api/v1/projects/{id}/advance-use": _advance_request,
    "POST /api/v1/projects/{id}/advance-use/{request_id}/decision": _advance_decision,
    "POST /api/v1/cases/{id}/overlay-queries": _overlay_open,
    "POST /api/v1/cases/{id}/overlay-queries/{query_id}/answer": _overlay_answer,
    "POST /api/v1/quotas/transfers": _via_pool,
    "POST /api/v1/quotas/requests": _covers_need,
    "POST /api/v1/quotas/allocations": _year_with_mu,
    "POST /api/v1/offsets": _paddy_within_area,
    "POST /api/v1/offsets/{id}/transfers": _to_another_county,
    "POST /api/v1/projects": _own_county,
    "PUT /api/v1/quotas/{year}/{holder}": _read_first,
    "POST /api/v1/cases/{id}/transitions": _transition,
    "POST /api/v1/cases/{id}/supply-parts": _supply_record,
    "POST /api/v1/supply-parts/{id}/handover": _handover,
    "POST /api/v1/supply-parts/{id}/certificate": _certificate,
    "POST /api/v1/supply-parts/{id}/start": _start,
    "POST /api/v1/supply-parts/{id}/completion": _completion,
    "POST /api/v1/projects/{id}/start": _project_start,
    "PUT /api/v1/projects/{id}/designation": _designation,
}


@schemathesis.hook
def before_call(context, case, kwargs):
    if not _positive(case):
        return
    for name in list(case.headers or {}):
        if name.lower() == "if-match":
            case.headers[name] = "*"
        elif name.lower() == "idempotency-key":
            case.headers[name] = str(uuid.uuid4())
    label = case.operation.label
    if label in FRESH:
        try:
            FRESH[label](case)
        except requests.HTTPError:
            # The service refused to make the object (the fuzzer's own writes may have used the
            # county's quota up, or put a key project first in the queue): the request goes as
            # generated and gets whatever the service answers it.
            pass
    if label in ACROSS:
        ACROSS[label](case, kwargs)
    if label.endswith("/parcels") and case.method in ("PUT", "POST") and case.media_type in (
        "application/geo+json",
        "application/json",
    ):
        case.body = square()
    elif label.endswith("/parcels") and case.method in ("PUT", "POST") and case.media_type == "text/plain":
        if STATE.get("coordinate_file"):
            case.body = STATE["coordinate_file"]


@schemathesis.deserializer("application/pdf")
def pdf(ctx, response):
    """A check report as the document describes it (a binary string): the bytes, if they are a
    PDF at all, so the response is validated rather than skipped."""
    content = response.content
    if not content.startswith(b"%PDF-"):
        raise ValueError("the body is not a PDF (it does not start with %PDF-)")
    return content.decode("latin-1")
