#!/usr/bin/env python3
"""The review page in a real browser: Debian's chromium, driven by playwright.

Run by scripts/review-browser.sh against a server with the small demo region loaded. It picks a
demo case whose check has a permanent-farmland hit that alone makes the case's result, dismisses
another hit through the API (so the page has a dismissal to show), and then, in a browser with
WebGL and in one started without it:

- signs in with the planner's token on the sign-in form;
- finds every rule, its verdict and layer version, and the dismissal's reason in the page's text;
- reads the screenshot at the farmland overlap's inner point (the farmland colour) and at a point
  inside the parcel but outside every hit (not that colour);
- records every request the browser makes: none may leave 127.0.0.1.

In the second browser, clicking the farmland rule's row must zoom the map to its overlap.
In the first browser it then sees a refused confirmation (a stale ETag) show the problem's detail,
dismisses the farmland hit from the page and sees the case's result change; an officer of another county gets the 404 page. Screenshots go to --out. The last line
is "N passed, N failed".
"""

import argparse
import json
import math
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

FARMLAND = "permanent_farmland"
RULE_NAMES = ["永久基本农田", "生态保护红线", "城镇开发边界", "耕地", "地质灾害隐患点", "重要矿产资源"]
REASON = "测绘成果证明为田坎碎片（浏览器测试）"

results = []


def check(name, ok, detail=""):
    results.append((name, bool(ok)))
    print(("ok    " if ok else "FAIL  ") + name + ("" if ok else f": {detail}"), flush=True)
    return ok


class Api:
    def __init__(self, base):
        self.base = base

    def call(self, method, path, token, body=None, headers=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {token}")
        if body is not None:
            request.add_header("Content-Type", "application/json")
        for key, value in (headers or {}).items():
            request.add_header(key, value)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                raw = response.read()
                return response.status, {k.lower(): v for k, v in response.headers.items()}, (json.loads(raw) if raw[:1] in b"[{" else raw)
        except urllib.error.HTTPError as error:
            raw = error.read()
            return error.code, {k.lower(): v for k, v in error.headers.items()}, (json.loads(raw) if raw[:1] in b"[{" else raw)


# --- geometry: a point well inside a shape, from the GeoJSON alone ----------------------------

def polygons(geometry):
    if geometry is None:
        return []
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"]]
    if geometry["type"] == "MultiPolygon":
        return geometry["coordinates"]
    if geometry["type"] == "GeometryCollection":
        return [p for g in geometry["geometries"] for p in polygons(g)]
    return []


def inside(polys, x, y):
    hit = False
    for rings in polys:
        for ring in rings:
            for (x1, y1), (x2, y2) in zip(ring, ring[1:]):
                if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
                    hit = not hit
    return hit


def edge_distance(polys_list, x, y, kx):
    best = math.inf
    for polys in polys_list:
        for rings in polys:
            for ring in rings:
                for (x1, y1), (x2, y2) in zip(ring, ring[1:]):
                    ax, ay, bx, by, px, py = x1 * kx, y1, x2 * kx, y2, x * kx, y
                    dx, dy = bx - ax, by - ay
                    t = 0.0 if dx == dy == 0 else max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
                    best = min(best, math.hypot(px - (ax + t * dx), py - (ay + t * dy)))
    return best


def inner_point(within, outside_of, all_edges, steps=60):
    """The sampled point inside `within` and outside every shape of `outside_of` that lies
    farthest from every edge of `all_edges`; (lon, lat, distance in degrees of latitude)."""
    xs = [x for rings in within for ring in rings for x, _ in ring]
    ys = [y for rings in within for ring in rings for _, y in ring]
    kx = math.cos(math.radians(sum(ys) / len(ys)))
    best = None
    for i in range(1, steps):
        for j in range(1, steps):
            x = min(xs) + (max(xs) - min(xs)) * i / steps
            y = min(ys) + (max(ys) - min(ys)) * j / steps
            if not inside(within, x, y) or any(inside(o, x, y) for o in outside_of):
                continue
            d = edge_distance(all_edges, x, y, kx)
            if best is None or d > best[2]:
                best = (x, y, d)
    return best


# --- choosing the case ------------------------------------------------------------------------

def layers_of(check_view):
    return {layer["kind"]: layer for layer in check_view["report"]["layers"]}


def counted(layer):
    return [h for h in layer["hits"] if h.get("class") == "counted" and not h.get("dismissal")]


def plan(check_view):
    """(the farmland hit, the hits to dismiss first) so that the farmland hit alone makes the
    case's result: every other counted hit as severe is dismissed beforehand (or, when there is
    none, one other hit, so the page has a dismissal to show); None when the check has no such
    farmland hit."""
    layers = layers_of(check_view)
    farmland = layers.get(FARMLAND)
    if not farmland or len(counted(farmland)) != 1 or farmland["result"] != check_view["result"]:
        return None
    co_worst = [h for k, l in layers.items() if k != FARMLAND and l["result"] == farmland["result"]
                for h in counted(l)]
    others = co_worst or [h for k, l in layers.items() if k != FARMLAND for h in l["hits"]
                          if h.get("id") and not h.get("dismissal")][:1]
    return (counted(farmland)[0], others) if others else None


def kind_of(check_view, hit_id):
    return next(l["kind"] for l in check_view["report"]["layers"] for h in l["hits"] if h.get("id") == hit_id)


def choose_case(api, tokens):
    planner = tokens["planner"]
    for stage in ["pre_review", "accepted", "conversion"]:
        status, _, page = api.call("GET", f"/api/v1/cases?stage={stage}&limit=200", planner)
        assert status == 200, page
        for case in page["items"]:
            latest = case.get("latest_check")
            if not latest:
                continue
            status, _, view = api.call("GET", latest["href"], planner)
            if status != 200 or plan(view) is None:
                continue
            parcels = api.call("GET", f"/api/v1/cases/{case['id']}/parcels", planner)[2]
            parcel_polys = [p for f in parcels["features"] for p in polygons(f["geometry"])]
            hit_polys = [polygons(h["geometry"]) for l in view["report"]["layers"] for h in l["hits"]]
            # Dismissed hits are drawn as dashed outlines, unfilled: the point must lie outside
            # every filled one, and away from every outline.
            dismissed = {h["id"] for h in plan(view)[1]}
            filled = [polygons(h["geometry"]) for l in view["report"]["layers"] for h in l["hits"]
                      if h.get("id") not in dismissed and not h.get("dismissal")]
            free = inner_point(parcel_polys, filled, hit_polys + [parcel_polys])
            if free is None:
                continue
            return case, view, parcel_polys, hit_polys, free
    return None


def dismiss_first(api, tokens, case_id, view):
    """Makes `view` (the case's latest check) ready: a fresh check when it can no longer change,
    then the hits of its plan dismissed through the API. Returns (check after, farmland hit,
    kinds dismissed)."""
    planner = tokens["planner"]
    if view["confirmed_at"] is not None or view["stale"]:
        # A confirmed check no longer changes: run a fresh one, as a planner would.
        status, _, view = api.call("POST", f"/api/v1/cases/{case_id}/checks", planner)
        assert status == 201, view
    key, others = plan(view)
    for other in others:
        _, headers, _ = api.call("GET", f"/api/v1/cases/{case_id}", planner)
        status, _, view = api.call(
            "POST", f"/api/v1/cases/{case_id}/checks/{view['id']}/hits/{other['id']}/dismiss", planner,
            {"reason": REASON}, {"If-Match": headers["etag"], "Idempotency-Key": f"browser-test-{other['id']}"})
        assert status == 200, view
    return view, key, sorted({kind_of(view, o["id"]) for o in others})


def prepare(api, tokens):
    chosen = choose_case(api, tokens)
    if chosen is None:
        return None
    case, view, parcel_polys, hit_polys, free = chosen
    check_view, key, kinds = dismiss_first(api, tokens, case["id"], view)
    return {
        "case": case,
        "check": check_view,
        "key": key,
        "other_kinds": kinds,
        "parcel_polys": parcel_polys,
        "hit_polys": hit_polys,
        "free": free,
    }


# --- the browser --------------------------------------------------------------------------------

def colour_close(a, b, tolerance=10):
    return all(abs(x - y) <= tolerance for x, y in zip(a, b))


def hex_colour(text):
    return tuple(int(text[i:i + 2], 16) for i in (1, 3, 5))


def sign_in(page, base, path, token):
    page.goto(base + path)
    page.fill("#token", token)
    page.click("#signin-form button[type=submit]")


def run_browser(playwright, label, launch_args, base, tokens, prepared, out, requests, act):
    browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=launch_args)
    context = browser.new_context(viewport={"width": 1366, "height": 768}, device_scale_factor=1, locale="zh-CN")

    def route(r):
        requests.append(r.request.url)
        parsed = urllib.parse.urlparse(r.request.url)
        if parsed.scheme in ("data", "blob") or parsed.hostname == "127.0.0.1":
            r.continue_()
        else:
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    webgl = page.evaluate("() => !!document.createElement('canvas').getContext('webgl')")
    if "--disable-webgl" in launch_args:
        check(f"{label}: the browser really has no WebGL", not webgl)
    else:
        print(f"note  {label}: WebGL available in this browser: {webgl}")

    case = prepared["case"]
    case_path = f"/review/cases/{case['id']}"
    sign_in(page, base, case_path, tokens["planner"])
    page.wait_for_selector("#case-data", state="attached", timeout=30000)
    page.wait_for_selector("html[data-map-ready='true']", timeout=60000)
    text = page.inner_text("body")
    for name in RULE_NAMES:
        check(f"{label}: the page names the rule {name}", name in text)
    for layer in prepared["check"]["report"]["layers"]:
        for v in layer["versions"]:
            check(f"{label}: the page names {layer['kind']}'s version v{v['version_no']}",
                  f"v{v['version_no']}（{v['jurisdiction']}）" in text)
    check(f"{label}: the page shows the farmland verdict", "禁止占用" in text or "需报国务院批准" in text, text[:400])
    check(f"{label}: the page shows the dismissal's reason", REASON in text)
    shot = out / f"case-{label}.png"
    page.screenshot(path=str(shot))
    image = Image.open(shot).convert("RGB")

    farmland = hex_colour(prepared["check_colour"])
    key_polys = polygons(prepared["key"]["geometry"])
    lon, lat, _ = inner_point(key_polys, [], prepared["hit_polys"] + [prepared["parcel_polys"]])
    x, y = page.evaluate("([lon, lat]) => window.review.pixelOf(lon, lat)", [lon, lat])
    on = image.getpixel((round(x), round(y)))
    check(f"{label}: the farmland overlap's inner point ({lon:.6f}, {lat:.6f}) is drawn in its colour",
          colour_close(on, farmland), f"pixel {on} at ({x:.0f}, {y:.0f}), expected {farmland}")
    flon, flat, _ = prepared["free"]
    x, y = page.evaluate("([lon, lat]) => window.review.pixelOf(lon, lat)", [flon, flat])
    off = image.getpixel((round(x), round(y)))
    check(f"{label}: a point in the parcel outside every drawn overlap is not the overlap colour",
          not colour_close(off, farmland), f"pixel {off} at ({x:.0f}, {y:.0f})")

    if not act:
        # Clicking the farmland rule's row zooms the map to its overlap: the view narrows and the
        # overlap's box is inside it, filling most of one side.
        before = page.evaluate("() => window.review.map.getView().calculateExtent()")
        page.click("tr.rule[data-kind='permanent_farmland'] td:nth-child(3)")
        page.wait_for_function(
            "(before) => { const e = window.review.map.getView().calculateExtent();"
            " return e[2] - e[0] < 0.9 * (before[2] - before[0]); }", arg=before, timeout=10000)
        view, box = page.evaluate(
            "(id) => [window.review.map.getView().calculateExtent(),"
            " window.review.map.getLayers().getArray().map(l => l.getSource && l.getSource())"
            ".filter(s => s && s.getFeatures).flatMap(s => s.getFeatures())"
            ".find(f => f.get('hit') === id).getGeometry().getExtent()]", prepared["key"]["id"])
        inside_view = view[0] <= box[0] and view[1] <= box[1] and box[2] <= view[2] and box[3] <= view[3]
        fills = max((box[2] - box[0]) / (view[2] - view[0]), (box[3] - box[1]) / (view[3] - view[1]))
        check(f"{label}: clicking the farmland row zooms the map to its overlap",
              inside_view and fills > 0.4, f"view {view}, overlap {box}, fills {fills:.2f}")
        page.screenshot(path=str(out / f"case-{label}-zoomed-to-farmland.png"))

    if act:
        # A refusal, as when someone changed the case since the page was drawn: the page's ETag
        # made stale, confirming is refused (412) and the page shows the problem's detail, word
        # for word as the API gives it; the check stays unconfirmed.
        api = Api(base)
        check_path = f"/api/v1/cases/{case['id']}/checks/{prepared['check']['id']}"
        status, _, problem = api.call("POST", check_path + "/confirm", tokens["planner"], None, {"If-Match": '"v0"'})
        current = page.evaluate("() => { const e = window.review.data.etag; window.review.data.etag = '\"v0\"'; return e; }")
        page.click("#confirm-check")
        page.wait_for_selector("#problem:not([hidden])", timeout=30000)
        shown = page.inner_text("#problem")
        check(f"{label}: a refused confirmation shows the problem's status and detail",
              status == 412 and shown == f"412：{problem['detail']}", f"API {status} {problem}, page {shown!r}")
        check(f"{label}: the refused confirmation confirmed nothing",
              api.call("GET", check_path, tokens["planner"])[2]["confirmed_at"] is None)
        page.evaluate("(etag) => { window.review.data.etag = etag; }", current)

        before = page.get_attribute("#case-result", "data-result")
        form = f"form.dismiss[data-hit='{prepared['key']['id']}']"
        page.fill(f"{form} input[name=reason]", "航测复核：永久基本农田图斑边界误差（浏览器测试）")
        page.click(f"{form} button[type=submit]")
        page.wait_for_function(
            "(before) => { const e = document.querySelector('#case-result'); return e && e.dataset.result !== before; }",
            arg=before, timeout=30000)
        after = page.get_attribute("#case-result", "data-result")
        check(f"{label}: dismissing the farmland hit from the page changes the case result",
              after != before, f"{before} -> {after}")
        page.wait_for_selector("html[data-map-ready='true']", timeout=60000)
        page.screenshot(path=str(out / f"case-{label}-after-dismissal.png"))
        prepared["result_after"] = after
        prepared["result_before"] = before

        # The queue, as the planner sees it (the token is still in the tab's session storage).
        page.goto(base + "/review")
        page.wait_for_selector("main.queue", timeout=30000)
        page.screenshot(path=str(out / "queue.png"))

        # An officer of another county: the 404 page, as the API answers.
        other = next(k for k in tokens if k.startswith("officer:") and k != f"officer:{case['county_code']}")
        officer_page = context.new_page()
        officer_page.goto(base + "/review")
        officer_page.evaluate("() => sessionStorage.clear()")
        sign_in(officer_page, base, case_path, tokens[other])
        officer_page.wait_for_selector("main.error-page", timeout=30000)
        status = officer_page.get_attribute("main.error-page", "data-status")
        check(f"{label}: {other} gets 404 for another county's case", status == "404", status)
        check(f"{label}: the 404 page shows nothing of the case",
              case["project_name"] not in officer_page.inner_text("body"))
    browser.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True)
    parser.add_argument("--tokens", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tokens = json.loads(Path(args.tokens).read_text())
    api = Api(args.base)

    prepared = prepare(api, tokens)
    if not check("the demo has a case whose farmland hit alone makes its result", prepared is not None):
        print(f"{sum(ok for _, ok in results)} passed, {sum(not ok for _, ok in results)} failed")
        return 1
    farmland_layer = layers_of(prepared["check"])[FARMLAND]
    prepared["check_colour"] = "#e69f00"
    print(f"note  case {prepared['case']['id']} ({prepared['case']['county_code']}), check {prepared['check']['id']}, "
          f"result {prepared['check']['result']}, farmland {farmland_layer['counted']['m2']:.1f} m², "
          f"dismissed beforehand: {', '.join(prepared['other_kinds'])}")

    requests = []
    with sync_playwright() as playwright:
        run_browser(playwright, "webgl", [], args.base, tokens, prepared, out, requests, act=True)
        # The farmland hit is dismissed now; the browser without WebGL reads a fresh check of the
        # same parcels, made ready the same way.
        status, _, fresh = api.call("POST", f"/api/v1/cases/{prepared['case']['id']}/checks", tokens["planner"])
        if check("a fresh check of the case runs and finds the farmland hit again",
                 status == 201 and plan(fresh) is not None, fresh):
            view, key, _ = dismiss_first(api, tokens, prepared["case"]["id"], fresh)
            prepared.update(check=view, key=key)
            run_browser(playwright, "no-webgl", ["--disable-webgl", "--disable-3d-apis", "--disable-gpu"],
                        args.base, tokens, prepared, out, requests, act=False)

    outside = sorted({u for u in requests
                      if urllib.parse.urlparse(u).scheme not in ("data", "blob")
                      and urllib.parse.urlparse(u).hostname != "127.0.0.1"})
    check(f"no request leaves 127.0.0.1 ({len(requests)} requests made)", not outside, outside[:5])
    check("the browsers made requests to the OGC API for the control features",
          any("/ogc/collections/" in u for u in requests))

    # The report of the checked case, for the docs and for a person to look at.
    status, _, pdf = api.call("GET", f"/api/v1/cases/{prepared['case']['id']}/checks/{prepared['check']['id']}/report.pdf",
                              tokens["planner"])
    if check("the case's check report is a PDF", status == 200 and isinstance(pdf, bytes) and pdf.startswith(b"%PDF")):
        (out / "report.pdf").write_bytes(pdf)

    passed = sum(ok for _, ok in results)
    failed = len(results) - passed
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
