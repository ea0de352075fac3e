//! Advance use (先行用地), through the router: the share of the pre-reviewed area holds to the
//! hundredth of a square metre on the union of the project's requests, each ineligible project
//! is refused with its code, only a leader decides, the conversion waits until the cases cover
//! every approved parcel, and bad input is refused with nothing stored. One test runs the real
//! binary.
#![allow(clippy::unwrap_used)]

use crate::approvals::{case_in_pre_review, checked, issue_opinion, LAT, LON};
use crate::common::{self, import_every_layer_far_away, Answer, TestApp, TestServer};
use geo_types::{polygon, MultiPolygon};
use landuse_spatial::area::ellipsoidal_area;
use serde_json::{json, Value};
use sqlx::PgPool;

/// The side of the case's square parcel, in degrees.
const SIDE: f64 = 0.001;

/// A rectangle `SIDE` high from (`west`, LAT), `width` degrees wide.
fn rect(west: f64, width: f64) -> MultiPolygon {
    polygon![(x: west, y: LAT), (x: west + width, y: LAT), (x: west + width, y: LAT + SIDE), (x: west, y: LAT + SIDE)].into()
}

fn geojson(mp: &MultiPolygon) -> Value {
    let ring: Vec<[f64; 2]> = mp.0[0].exterior().0.iter().map(|c| [c.x, c.y]).collect();
    json!({ "type": "Polygon", "coordinates": [ring] })
}

/// The width of the rectangle from `west` whose ellipsoidal area is the largest not above
/// `target` m², by bisection against the spatial crate's own area (the API's).
fn width_for(west: f64, target: f64) -> f64 {
    let (mut lo, mut hi) = (0.0, 10.0 * SIDE);
    for _ in 0..200 {
        let mid = f64::midpoint(lo, hi);
        if ellipsoidal_area(&rect(west, mid)) <= target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

/// The area of the case's square parcel: the project's pre-reviewed area.
fn square_area() -> f64 {
    ellipsoidal_area(&rect(LON, SIDE))
}

/// A key project (provincial transport) whose case is at pre-review with its opinion issued,
/// so its pre-reviewed area is the square; returns (project, case, case ETag).
async fn pre_reviewed_project(app: &TestApp) -> (String, String, String) {
    let (case, etag) = case_in_pre_review(app, true, json!({}), LON).await;
    let etag = issue_opinion(app, &case, &etag).await;
    let view = app
        .send("GET", &format!("/api/v1/cases/{case}"), "reviewer", None, &[])
        .await;
    (view.json["project_id"].as_str().unwrap().to_owned(), case, etag)
}

fn body(parcels: &Value, controls_schedule: bool) -> Value {
    json!({ "parcels": parcels, "controls_schedule": controls_schedule, "reason": "控制性工程：隧道进出口先行施工" })
}

async fn ask(app: &TestApp, who: &str, project: &str, body: Value) -> Answer {
    app.send(
        "POST",
        &format!("/api/v1/projects/{project}/advance-use"),
        who,
        Some(body),
        &[("idempotency-key", &uuid::Uuid::now_v7().to_string())],
    )
    .await
}

async fn decide(app: &TestApp, who: &str, project: &str, request: &str, decision: Value) -> Answer {
    app.send(
        "POST",
        &format!("/api/v1/projects/{project}/advance-use/{request}/decision"),
        who,
        Some(decision),
        &[],
    )
    .await
}

fn approve() -> Value {
    json!({ "decision": "approve", "document_number": "安政先用〔2026〕3号", "reason": "控制工期，同意先行用地" })
}

async fn listed(app: &TestApp, project: &str) -> Value {
    let list = app
        .send(
            "GET",
            &format!("/api/v1/projects/{project}/advance-use"),
            "reviewer",
            None,
            &[],
        )
        .await;
    assert_eq!(list.status, 200, "{}", list.text);
    list.json
}

async fn stored(pool: &PgPool) -> (i64, i64) {
    sqlx::query_as(
        "select (select count(*) from advance_use_requests),
                (select count(*) from project_events where kind like 'advance_use%')",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

fn close(actual: &Value, expected: f64, within: f64) {
    let actual = actual.as_f64().unwrap_or(f64::NAN);
    assert!(
        (actual - expected).abs() <= within,
        "{actual} is not {expected} ± {within}"
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn exactly_the_share_passes_and_one_square_metre_more_is_refused_with_used_and_remaining(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let (project, _, _) = pre_reviewed_project(&app).await;
    let share = 0.3 * square_area();

    let over = rect(LON, width_for(LON, share + 1.0));
    let refused = ask(&app, "officer", &project, body(&geojson(&over), true)).await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert_eq!(
        refused.json["type"].as_str().unwrap().rsplit('/').next(),
        Some("advance-use-area-over-share")
    );
    close(&refused.json["requested_m2"], share + 1.0, 0.01);
    close(&refused.json["used_m2"], 0.0, 0.0);
    close(&refused.json["remaining_m2"], share, 0.01);
    close(&refused.json["remaining_mu"], share / 666.666_666_7, 0.01);
    close(&refused.json["used_mu"], 0.0, 0.0);
    assert_eq!(stored(&pool).await, (0, 0), "nothing stored");

    let exact = rect(LON, width_for(LON, share));
    let passed = ask(&app, "officer", &project, body(&geojson(&exact), true)).await;
    assert_eq!(passed.status, 201, "{}", passed.text);
    assert_eq!(passed.json["request"]["status"], "pending");
    close(&passed.json["request"]["area"]["m2"], share, 0.01);
    let figures = &passed.json["figures"];
    assert_eq!(figures["used"]["m2"], figures["allowed"]["m2"], "{figures}");
    close(&figures["remaining"]["m2"], 0.0, 0.0);
    close(&figures["pre_reviewed"]["m2"], square_area(), 0.01);

    let view = app
        .send(
            "GET",
            &format!("/api/v1/projects/{project}"),
            "officer",
            None,
            &[],
        )
        .await;
    assert_eq!(
        view.json["advance_use"], *figures,
        "the project view carries the figures"
    );
    assert_eq!(
        view.etag(),
        passed.etag(),
        "the request gave the project a new version"
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_request_counts_by_its_union_with_the_project_requests_not_refused(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let (project, _, _) = pre_reviewed_project(&app).await;
    let a = square_area();
    let w1 = width_for(LON, 0.25 * a);
    let first = ask(&app, "officer", &project, body(&geojson(&rect(LON, w1)), true)).await;
    assert_eq!(first.status, 201, "{}", first.text);

    // Half over the first: the union grows to 0.375 A, past the share.
    let growing = rect(LON + w1 / 2.0, w1);
    let refused = ask(&app, "reviewer", &project, body(&geojson(&growing), true)).await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    close(&refused.json["used_m2"], 0.25 * a, 0.01);
    close(&refused.json["remaining_m2"], 0.05 * a, 0.01);
    close(
        &refused.json["with_request_m2"],
        ellipsoidal_area(&rect(LON, 1.5 * w1)),
        0.01,
    );

    // Inside the first: the union does not grow, so it passes at any share.
    let inside = rect(LON + w1 / 4.0, w1 / 2.0);
    let overlapping = ask(&app, "reviewer", &project, body(&geojson(&inside), true)).await;
    assert_eq!(overlapping.status, 201, "{}", overlapping.text);
    close(&overlapping.json["figures"]["used"]["m2"], 0.25 * a, 0.01);

    // Refused requests no longer count: with both refused, the growing one now fits.
    for asked in [&first, &overlapping] {
        let id = asked.json["request"]["id"].as_str().unwrap();
        let refusal = json!({ "decision": "refuse", "reason": "不属控制性工程" });
        assert_eq!(decide(&app, "leader", &project, id, refusal).await.status, 200);
    }
    let again = ask(&app, "reviewer", &project, body(&geojson(&growing), true)).await;
    assert_eq!(again.status, 201, "{}", again.text);
    let list = listed(&app, &project).await;
    let statuses: Vec<&str> = list["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["refused", "refused", "pending"]);
}

#[sqlx::test(migrations = "../../migrations")]
async fn each_ineligible_project_is_refused_with_its_code_and_nothing_stored(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let parcel = geojson(&rect(LON, SIDE / 10.0));

    let ordinary = app.project(false).await;
    let designated = |level: &'static str, sector: &'static str| {
        let app = &app;
        async move {
            let id = app.project(false).await;
            let view = app
                .send("GET", &format!("/api/v1/projects/{id}"), "leader", None, &[])
                .await;
            app.designate(&id, level, sector, &view.etag()).await;
            id
        }
    };
    let municipal = designated("municipal", "transport").await;
    let industry = designated("provincial", "industry").await;
    let unreviewed = app.project(true).await;
    let (eligible, _, _) = pre_reviewed_project(&app).await;
    let table = [
        (ordinary, true, "not-on-green-channel"),
        (municipal, true, "advance-use-level"),
        (industry, true, "advance-use-sector"),
        (eligible, false, "advance-use-not-schedule-controlling"),
        (unreviewed, true, "advance-use-not-pre-reviewed"),
    ];
    for (project, controls, code) in table {
        let refused = ask(&app, "officer", &project, body(&parcel, controls)).await;
        assert_eq!(refused.status, 422, "{code}: {}", refused.text);
        assert_eq!(
            refused.json["type"].as_str().unwrap().rsplit('/').next(),
            Some(code),
            "{}",
            refused.text
        );
    }
    assert_eq!(stored(&pool).await, (0, 0), "nothing stored");
}

#[sqlx::test(migrations = "../../migrations")]
async fn only_a_leader_decides_once_and_the_project_history_records_it(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let (project, _, _) = pre_reviewed_project(&app).await;
    let asked = ask(
        &app,
        "officer",
        &project,
        body(&geojson(&rect(LON, SIDE / 10.0)), true),
    )
    .await;
    assert_eq!(asked.status, 201, "{}", asked.text);
    let id = asked.json["request"]["id"].as_str().unwrap();

    for who in ["officer", "reviewer", "planner", "admin"] {
        assert_eq!(
            decide(&app, who, &project, id, approve()).await.status,
            403,
            "{who}"
        );
    }
    let undocumented = decide(
        &app,
        "leader",
        &project,
        id,
        json!({ "decision": "approve", "reason": "同意" }),
    )
    .await;
    assert_eq!(
        (undocumented.status, undocumented.json["field"].as_str()),
        (422, Some("document_number"))
    );
    let unreasoned = decide(
        &app,
        "leader",
        &project,
        id,
        json!({ "decision": "refuse", "reason": " " }),
    )
    .await;
    assert_eq!(
        (unreasoned.status, unreasoned.json["field"].as_str()),
        (422, Some("reason"))
    );
    let unknown = decide(
        &app,
        "leader",
        &project,
        &uuid::Uuid::now_v7().to_string(),
        approve(),
    )
    .await;
    assert_eq!(unknown.status, 404);
    assert_eq!(listed(&app, &project).await["requests"][0]["status"], "pending");

    let approved = decide(&app, "leader", &project, id, approve()).await;
    assert_eq!(approved.status, 200, "{}", approved.text);
    assert_eq!(approved.json["status"], "approved");
    assert_eq!(approved.json["document_number"], "安政先用〔2026〕3号");
    let again = decide(
        &app,
        "leader",
        &project,
        id,
        json!({ "decision": "refuse", "reason": "撤销" }),
    )
    .await;
    assert_eq!(again.status, 409, "{}", again.text);

    let history = app
        .send(
            "GET",
            &format!("/api/v1/projects/{project}/history"),
            "officer",
            None,
            &[],
        )
        .await;
    let kinds: Vec<&str> = history
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.ends_with(&["advance_use_requested", "advance_use_approved"]),
        "{kinds:?}"
    );
    let last = history.json.as_array().unwrap().last().unwrap();
    assert_eq!(last["reason"], "控制工期，同意先行用地");
    assert_eq!(last["actor_role"], "leader");
    assert!(
        last["changes"][0]["to"]
            .as_str()
            .unwrap()
            .contains("approved: 安政先用〔2026〕3号"),
        "{last}"
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn the_conversion_waits_until_the_cases_cover_every_approved_parcel(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    import_every_layer_far_away(&pool).await;
    let (project, case, _) = pre_reviewed_project(&app).await;
    // East of the case's square, a tenth of its area: within the share, outside the case.
    let outside = rect(LON + SIDE, width_for(LON + SIDE, 0.1 * square_area()));
    let asked = ask(&app, "officer", &project, body(&geojson(&outside), true)).await;
    assert_eq!(asked.status, 201, "{}", asked.text);
    let request = asked.json["request"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        decide(&app, "leader", &project, &request, approve()).await.status,
        200
    );

    let (_, etag) = checked(&app, &case).await;
    let refused = app.act(&case, "reviewer", "advance", &etag, None).await;
    assert_eq!(refused.status, 409, "{}", refused.text);
    assert_eq!(refused.json["rule"], "advance-use-uncovered");
    assert_eq!(refused.json["uncovered"][0]["request_id"], request.as_str());
    close(
        &refused.json["uncovered"][0]["uncovered_m2"],
        ellipsoidal_area(&outside),
        0.01,
    );
    close(
        &refused.json["uncovered"][0]["uncovered_mu"],
        ellipsoidal_area(&outside) / 666.666_666_7,
        0.01,
    );
    assert!(
        refused.json["detail"].as_str().unwrap().contains(&request),
        "{}",
        refused.text
    );

    // The case takes the advance-use parcel in: covered, it moves on once checked again.
    let feature = json!({ "type": "Feature", "properties": {}, "geometry": geojson(&outside) });
    let added = app
        .send_raw(
            "POST",
            &format!("/api/v1/cases/{case}/parcels"),
            "officer",
            "application/geo+json",
            serde_json::to_vec(&feature).unwrap(),
            &[("if-match", &current_etag(&app, &case).await)],
        )
        .await;
    assert_eq!(added.status, 201, "{}", added.text);
    let (_, etag) = checked(&app, &case).await;
    let advanced = app.act(&case, "reviewer", "advance", &etag, None).await;
    assert_eq!(advanced.status, 200, "{}", advanced.text);
    assert_eq!(advanced.json["stage"], "conversion");
}

async fn current_etag(app: &TestApp, case: &str) -> String {
    app.send("GET", &format!("/api/v1/cases/{case}"), "officer", None, &[])
        .await
        .etag()
}

#[sqlx::test(migrations = "../../migrations")]
async fn bad_input_is_refused_naming_the_field_with_nothing_stored(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let (project, _, _) = pre_reviewed_project(&app).await;
    let events_before: i64 = sqlx::query_scalar("select count(*) from project_events")
        .fetch_one(&pool)
        .await
        .unwrap();
    let bowtie = json!({ "type": "Polygon", "coordinates": [[[LON, LAT], [LON + 0.0005, LAT + 0.0005], [LON + 0.0005, LAT], [LON, LAT + 0.0005], [LON, LAT]]] });
    let parcel = geojson(&rect(LON, SIDE / 10.0));
    let table: [(&str, String, Value, u16, Option<&str>); 7] = [
        (
            "officer",
            project.clone(),
            body(&bowtie, true),
            422,
            Some("parcels"),
        ),
        (
            "officer",
            project.clone(),
            json!({ "parcels": parcel, "coordinate_file": "[属性描述]", "controls_schedule": true, "reason": "先行" }),
            422,
            Some("parcels"),
        ),
        (
            "officer",
            project.clone(),
            json!({ "coordinate_file": "not a coordinate file", "controls_schedule": true, "reason": "先行" }),
            422,
            Some("coordinate_file"),
        ),
        (
            "officer",
            project.clone(),
            json!({ "parcels": parcel, "controls_schedule": true, "reason": "  " }),
            422,
            Some("reason"),
        ),
        (
            "officer",
            uuid::Uuid::now_v7().to_string(),
            body(&parcel, true),
            404,
            None,
        ),
        ("officer2", project.clone(), body(&parcel, true), 404, None),
        ("planner", project.clone(), body(&parcel, true), 403, None),
    ];
    for (who, project, request, status, field) in table {
        let refused = ask(&app, who, &project, request).await;
        assert_eq!(refused.status, status, "{who}: {}", refused.text);
        if let Some(field) = field {
            let named = refused.json["field"].as_str().unwrap_or_default();
            assert!(named.starts_with(field), "{field}: {}", refused.text);
        }
    }
    assert_eq!(stored(&pool).await, (0, 0), "nothing stored");
    let events_after: i64 = sqlx::query_scalar("select count(*) from project_events")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(events_before, events_after);
    let other_county = app
        .send(
            "GET",
            &format!("/api/v1/projects/{project}/advance-use"),
            "officer2",
            None,
            &[],
        )
        .await;
    assert_eq!(other_county.status, 404);
}

#[sqlx::test(migrations = "../../migrations")]
async fn the_binary_takes_a_request_and_lists_it_with_its_area_and_geometry(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let (project, _, _) = pre_reviewed_project(&app).await;
    let options: sqlx::postgres::PgConnectOptions = (*app.db.connect_options()).clone();
    let server = TestServer::spawn(&common::url_of(&options), &[]);
    let parcel = rect(LON, SIDE / 10.0);
    let asked = server
        .http
        .post(server.url(&format!("/api/v1/projects/{project}/advance-use")))
        .bearer_auth(&app.tokens["officer"])
        .json(&body(&geojson(&parcel), true))
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status(), 201);
    let listed: Value = server
        .http
        .get(server.url(&format!("/api/v1/projects/{project}/advance-use")))
        .bearer_auth(&app.tokens["leader"])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let request = &listed["requests"][0];
    assert_eq!(request["status"], "pending");
    close(&request["area"]["m2"], ellipsoidal_area(&parcel), 0.01);
    close(
        &request["area"]["ha"],
        ellipsoidal_area(&parcel) / 10_000.0,
        0.0001,
    );
    assert_eq!(request["geometry"]["type"], "MultiPolygon");
    close(&listed["figures"]["used"]["m2"], ellipsoidal_area(&parcel), 0.01);
}
