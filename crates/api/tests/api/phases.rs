//! Phased and segmented cases (分期 / 分段, issue 18) through the router and the real binary:
//! the phase a case states and the rules on it, the refusal of parcels that overlap another
//! live case of the project (with nothing stored), and the project view's sums.
#![allow(clippy::unwrap_used)]

use crate::common;

use chrono::Utc;
use common::{square, url_of, Answer, TestApp, TestServer};
use landuse_api::quota::{
    offsets::{self, NewIndicatorOf},
    quotas::{self, Holder},
};
use landuse_domain::{
    county::CountyCode,
    ledger::{Amount, Quantities},
    role::Role,
};
use serde_json::{json, Value};
use sqlx::{
    postgres::{PgConnectOptions, PgPoolOptions},
    PgPool,
};
use uuid::Uuid;

/// The south-west corner of segment 1's parcel; every parcel here is a 0.002° square at this
/// latitude.
const LON: f64 = 109.0;
const LAT: f64 = 32.7;
const SIDE: f64 = 0.002;

/// Opens a case of `project` stating `phase` (none when `Null`) as `who`.
async fn open(app: &TestApp, who: &str, project: &str, title: &str, phase: Value) -> Answer {
    let mut body = json!({ "project_id": project, "title": title });
    if !phase.is_null() {
        body["phase"] = phase;
    }
    app.send("POST", "/api/v1/cases", who, Some(body), &[]).await
}

/// Opens segment `number` of `project` and insists on 201; its id and ETag.
async fn segment(app: &TestApp, project: &str, number: i64) -> (String, String) {
    let phase = json!({ "kind": "segment", "number": number, "name": format!("K{}+000", number * 10) });
    let created = open(app, "officer", project, &format!("第{number}段用地"), phase).await;
    assert_eq!(created.status, 201, "{}", created.text);
    (created.json["id"].as_str().unwrap().to_owned(), created.etag())
}

/// Replaces the parcels of `case` with the square at `lon`.
async fn put_square(app: &TestApp, case: &str, lon: f64, etag: &str) -> Answer {
    let body = serde_json::to_vec(&square(lon, LAT, SIDE)).unwrap();
    app.send_raw(
        "PUT",
        &format!("/api/v1/cases/{case}/parcels"),
        "officer",
        "application/geo+json",
        body,
        &[("if-match", etag)],
    )
    .await
}

/// How many parcels and events `case` has, and its version.
async fn stored(pool: &PgPool, case: &str) -> (i64, i64, i64) {
    let id = Uuid::parse_str(case).unwrap();
    sqlx::query_as(
        "select (select count(*) from parcels where case_id = $1),
                (select count(*) from case_events where case_id = $1),
                (select version from cases where id = $1)",
    )
    .bind(id)
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn withdraw(app: &TestApp, case: &str) {
    let etag = app
        .send("GET", &format!("/api/v1/cases/{case}"), "officer", None, &[])
        .await
        .etag();
    let withdrawn = app.act(case, "officer", "withdraw", &etag, Some("改线")).await;
    assert_eq!(withdrawn.status, 200, "{}", withdrawn.text);
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_parcel_overlapping_another_live_segment_is_refused_with_the_overlap_and_nothing_stored(
    pool: PgPool,
) {
    let app = TestApp::new(pool.clone()).await;
    let project = app.project(true).await;
    let (one, one_etag) = segment(&app, &project, 1).await;
    let (two, two_etag) = segment(&app, &project, 2).await;
    let put = put_square(&app, &one, LON, &one_etag).await;
    assert_eq!(put.status, 200, "{}", put.text);
    let put = put_square(&app, &two, LON + 0.01, &two_etag).await;
    assert_eq!(put.status, 200, "{}", put.text);

    let viewed = app
        .send("GET", &format!("/api/v1/cases/{two}"), "officer", None, &[])
        .await;
    assert_eq!(
        viewed.json["phase"],
        json!({ "kind": "segment", "number": 2, "name": "K20+000" })
    );
    let listed = app.send("GET", "/api/v1/cases", "officer", None, &[]).await;
    let phases: Vec<&Value> = listed.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["phase"]["number"])
        .collect();
    assert!(
        phases.contains(&&json!(1)) && phases.contains(&&json!(2)),
        "{}",
        listed.text
    );

    // Segment 3 half over segment 1: refused, naming segment 1 and the overlap.
    let (three, three_etag) = segment(&app, &project, 3).await;
    let before = stored(&pool, &three).await;
    let refused = put_square(&app, &three, LON + SIDE / 2.0, &three_etag).await;
    assert_eq!(refused.status, 409, "{}", refused.text);
    assert_eq!(refused.headers["content-type"], "application/problem+json");
    assert!(refused.json["type"].as_str().unwrap().ends_with("phase-overlap"));
    assert_eq!(refused.json["other_case_id"], json!(one));
    let whole = viewed_area(&app, &one).await;
    let m2 = refused.json["overlap_m2"].as_f64().unwrap();
    assert!(
        (m2 - whole / 2.0).abs() < whole * 0.001,
        "{m2} is half of {whole}"
    );
    let mu = refused.json["overlap_mu"].as_f64().unwrap();
    assert!(
        (mu - m2 / (10_000.0 / 15.0)).abs() <= 0.005,
        "{mu} mu for {m2} m²"
    );
    assert_eq!(stored(&pool, &three).await, before, "nothing stored");

    // Touching segment 1 along its east edge is no overlap.
    let touching = put_square(&app, &three, LON + SIDE, &three_etag).await;
    assert_eq!(touching.status, 200, "{}", touching.text);

    // Once segment 1 is withdrawn, its parcels no longer block segment 4.
    let (four, four_etag) = segment(&app, &project, 4).await;
    let blocked = put_square(&app, &four, LON, &four_etag).await;
    assert_eq!(blocked.status, 409, "{}", blocked.text);
    withdraw(&app, &one).await;
    let passes = put_square(&app, &four, LON, &four_etag).await;
    assert_eq!(passes.status, 200, "{}", passes.text);
}

/// The area of `case`'s parcels, as its parcels collection states it.
async fn viewed_area(app: &TestApp, case: &str) -> f64 {
    let parcels = app
        .send(
            "GET",
            &format!("/api/v1/cases/{case}/parcels"),
            "officer",
            None,
            &[],
        )
        .await;
    assert_eq!(parcels.status, 200, "{}", parcels.text);
    parcels.json["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["area_m2"].as_f64().unwrap())
        .sum()
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_rejected_case_frees_its_land_and_its_number(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let project = app.project(true).await;
    let (one, one_etag) = segment(&app, &project, 1).await;
    put_square(&app, &one, LON, &one_etag).await;
    sqlx::query("update cases set stage = 'rejected' where id = $1")
        .bind(Uuid::parse_str(&one).unwrap())
        .execute(&pool)
        .await
        .unwrap();
    let (again, again_etag) = segment(&app, &project, 1).await;
    let put = put_square(&app, &again, LON, &again_etag).await;
    assert_eq!(put.status, 200, "{}", put.text);
}

#[sqlx::test(migrations = "../../migrations")]
async fn the_phase_rules_refuse_with_the_field_or_the_conflict_and_store_nothing(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let cases = || async {
        sqlx::query_scalar::<_, i64>("select count(*) from cases")
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    let plain = app.project(false).await;
    let refused = open(
        &app,
        "officer",
        &plain,
        "一期",
        json!({ "kind": "phase", "number": 1 }),
    )
    .await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert_eq!(refused.json["field"], "phase");
    assert!(refused.json["type"]
        .as_str()
        .unwrap()
        .ends_with("not-on-green-channel"));
    let whole = open(&app, "officer", &plain, "项目用地", Value::Null).await;
    assert_eq!(whole.status, 201, "{}", whole.text);
    assert_eq!(whole.json["phase"], Value::Null);
    let second = open(&app, "officer", &plain, "二期", Value::Null).await;
    assert_eq!(second.status, 422, "{}", second.text);
    assert!(second.json["type"].as_str().unwrap().ends_with("phase-required"));
    assert_eq!(cases().await, 1);

    let key = app.project(true).await;
    segment(&app, &key, 1).await;
    let n = cases().await;
    for (phase, status, slug, field) in [
        (
            json!({ "kind": "segment", "number": 1 }),
            409,
            "phase-duplicate",
            None,
        ),
        (
            json!({ "kind": "phase", "number": 2 }),
            409,
            "phase-kind-mixed",
            None,
        ),
        (Value::Null, 422, "phase-required", Some("phase")),
        (
            json!({ "kind": "segment", "number": 0 }),
            422,
            "invalid-field",
            Some("phase.number"),
        ),
        (
            json!({ "kind": "segment", "number": 2, "name": "  " }),
            422,
            "invalid-field",
            Some("phase.name"),
        ),
    ] {
        let answer = open(&app, "officer", &key, "二段", phase.clone()).await;
        assert_eq!(answer.status, status, "{phase}: {}", answer.text);
        assert!(
            answer.json["type"].as_str().unwrap().ends_with(slug),
            "{}",
            answer.text
        );
        if let Some(field) = field {
            assert_eq!(answer.json["field"], field, "{}", answer.text);
        }
    }
    assert_eq!(cases().await, n, "nothing stored");
}

#[sqlx::test(migrations = "../../migrations")]
async fn another_countys_officer_sees_neither_the_project_nor_its_cases(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let project = app.project(true).await;
    let (one, _) = segment(&app, &project, 1).await;
    for path in [
        format!("/api/v1/projects/{project}"),
        format!("/api/v1/cases/{one}"),
    ] {
        let answer = app.send("GET", &path, "officer2", None, &[]).await;
        assert_eq!(answer.status, 404, "{path}: {}", answer.text);
    }
    let phase = json!({ "kind": "segment", "number": 2 });
    let refused = open(&app, "officer2", &project, "二段", phase).await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert_eq!(refused.json["field"], "project_id");
}

#[sqlx::test(migrations = "../../migrations")]
async fn two_concurrent_overlapping_uploads_to_one_project_cannot_both_pass(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let project = app.project(true).await;
    let (one, one_etag) = segment(&app, &project, 1).await;
    let (two, two_etag) = segment(&app, &project, 2).await;
    let (a, b) = tokio::join!(
        put_square(&app, &one, LON, &one_etag),
        put_square(&app, &two, LON + SIDE / 2.0, &two_etag)
    );
    let mut statuses = [a.status, b.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409], "{} / {}", a.text, b.text);
    let parcels: i64 = sqlx::query_scalar("select count(*) from parcels")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(parcels, 1);
}

fn mu(value: f64) -> Amount {
    Amount::parse(value).unwrap()
}

fn quantities(area: f64, paddy: f64, capacity: f64) -> Quantities {
    Quantities {
        area_m2: mu(area),
        paddy_m2: mu(paddy),
        capacity_kg: mu(capacity),
    }
}

/// Gives `case` (in conversion) `held` mu of quota and a lock of `locked`, then, when
/// `approve`, moves it to supply and consumes both.
async fn ledgers(pool: &PgPool, case: &str, held: f64, locked: Quantities, approve: bool) {
    let mut conn = pool.acquire().await.unwrap();
    let case = Uuid::parse_str(case).unwrap();
    let reviewer: Uuid = sqlx::query_scalar("select id from users where name = 'reviewer'")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    let set_stage = |stage: &'static str| {
        sqlx::query("update cases set stage = $2 where id = $1")
            .bind(case)
            .bind(stage)
    };
    set_stage("conversion").execute(&mut *conn).await.unwrap();
    let actor = (reviewer, Role::Reviewer);
    quotas::request(&mut conn, case, 2026, mu(held), actor, Utc::now())
        .await
        .unwrap();
    quotas::allocate(&mut conn, case, actor, Utc::now())
        .await
        .unwrap();
    let check = common::confirmed_check(&mut conn, case, 0.0, 0.0).await;
    offsets::lock(&mut conn, case, check, locked, actor, Utc::now())
        .await
        .unwrap();
    if approve {
        set_stage("supply").execute(&mut *conn).await.unwrap();
        quotas::consume(&mut conn, case, Some(reviewer), Utc::now())
            .await
            .unwrap();
        offsets::consume(&mut conn, case, actor, Utc::now())
            .await
            .unwrap();
    }
}

#[sqlx::test(migrations = "../../migrations")]
async fn the_project_view_sums_the_areas_quota_and_offsets_of_its_segments(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let project = app.project(true).await;
    let (one, one_etag) = segment(&app, &project, 1).await;
    let (two, two_etag) = segment(&app, &project, 2).await;
    let (three, three_etag) = segment(&app, &project, 3).await;
    put_square(&app, &one, LON, &one_etag).await;
    put_square(&app, &two, LON + 0.01, &two_etag).await;
    put_square(&app, &three, LON + 0.02, &three_etag).await;
    {
        let mut conn = pool.acquire().await.unwrap();
        let hanbin = Holder::County(CountyCode::parse("610902").unwrap());
        quotas::set_yearly(&mut conn, hanbin, 2026, mu(100.0), None, None, Utc::now())
            .await
            .unwrap();
        let reviewer: Uuid = sqlx::query_scalar("select id from users where name = 'reviewer'")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        let new = NewIndicatorOf {
            county: CountyCode::parse("610902").unwrap(),
            source_project: "汉滨区高标准农田建设项目",
            source_ref: "安自然资发〔2025〕1号",
            amounts: quantities(5000.0, 2000.0, 4000.0),
        };
        offsets::register(&mut conn, &new, (reviewer, Role::Reviewer), Utc::now())
            .await
            .unwrap();
    }
    ledgers(&pool, &one, 12.34, quantities(100.0, 40.0, 80.0), true).await;
    ledgers(&pool, &two, 5.5, quantities(50.0, 10.0, 20.0), false).await;
    withdraw(&app, &three).await;

    let view = app
        .send(
            "GET",
            &format!("/api/v1/projects/{project}"),
            "officer",
            None,
            &[],
        )
        .await;
    assert_eq!(view.status, 200, "{}", view.text);
    assert_eq!(view.json["id"], json!(project), "the project's own fields stay");
    let cases = view.json["cases"]["cases"].as_array().unwrap();
    let ids: Vec<&str> = cases.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [one.as_str(), two.as_str(), three.as_str()],
        "in segment order"
    );
    for (case, id) in cases.iter().zip([&one, &two, &three]) {
        let area = viewed_area(&app, id).await;
        assert!((case["area"]["m2"].as_f64().unwrap() - area).abs() < 1e-6);
    }
    assert_eq!(cases[0]["quota"]["consumed_mu"], json!(12.34));
    assert_eq!(cases[0]["quota"]["held_mu"], json!(0.0));
    assert_eq!(cases[1]["quota"]["held_mu"], json!(5.5));
    assert_eq!(cases[0]["offset"]["consumed"]["area_m2"], json!(100.0));
    assert_eq!(cases[1]["offset"]["locked"]["paddy_m2"], json!(10.0));
    assert_eq!(cases[2]["live"], json!(false));

    let totals = &view.json["cases"]["totals"];
    let live_area = cases[0]["area"]["m2"].as_f64().unwrap() + cases[1]["area"]["m2"].as_f64().unwrap();
    assert!(
        (totals["area"]["m2"].as_f64().unwrap() - live_area).abs() < 1e-6,
        "{totals}"
    );
    assert_eq!(totals["quota_held_mu"], json!(5.5));
    assert_eq!(totals["quota_consumed_mu"], json!(12.34));
    assert_eq!(
        totals["offset_locked"],
        json!({ "area_m2": 50.0, "paddy_m2": 10.0, "capacity_kg": 20.0 })
    );
    assert_eq!(
        totals["offset_consumed"],
        json!({ "area_m2": 100.0, "paddy_m2": 40.0, "capacity_kg": 80.0 })
    );
    assert_eq!(
        totals["cases_per_stage"],
        json!([
            { "stage": "conversion", "cases": 1 },
            { "stage": "supply", "cases": 1 },
            { "stage": "withdrawn", "cases": 1 }
        ])
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn the_real_binary_refuses_an_overlap_as_problem_json_and_shows_the_project_view(
    pool_options: PgPoolOptions,
    options: PgConnectOptions,
) {
    let pool = pool_options.connect_with(options.clone()).await.unwrap();
    let app = TestApp::new(pool).await;
    let project = app.project(true).await;
    let (one, one_etag) = segment(&app, &project, 1).await;
    put_square(&app, &one, LON, &one_etag).await;
    let (two, two_etag) = segment(&app, &project, 2).await;
    let server = TestServer::spawn(&url_of(&options), &[]);
    let token = &app.tokens["officer"];
    let refused = server
        .http
        .put(server.url(&format!("/api/v1/cases/{two}/parcels")))
        .bearer_auth(token)
        .header("content-type", "application/geo+json")
        .header("if-match", two_etag)
        .body(square(LON, LAT, SIDE).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 409);
    assert_eq!(refused.headers()["content-type"], "application/problem+json");
    let problem: Value = refused.json().await.unwrap();
    assert_eq!(problem["other_case_id"], json!(one));
    assert!(problem["overlap_m2"].as_f64().unwrap() > 40_000.0, "{problem}");
    let view: Value = server
        .http
        .get(server.url(&format!("/api/v1/projects/{project}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(view["cases"]["cases"].as_array().unwrap().len(), 2, "{view}");
    assert_eq!(
        view["cases"]["totals"]["cases_per_stage"],
        json!([{ "stage": "draft", "cases": 2 }])
    );
    server.terminate();
}
