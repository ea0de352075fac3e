//! Mineral overlay queries (压覆矿产查询), through the router and the real binary: a confirmed
//! check on a mineral deposit opens a query; `conversion → supply` is refused naming it until a
//! favourable answer is valid; a refused or lapsed answer needs a new query; an unanswered query
//! raises one reminder and one alert whatever the number of sweeps; a bad answer is refused
//! naming its field with nothing stored.
#![allow(clippy::unwrap_used)]

use crate::approvals::{case_in_pre_review, checked, LAT, LON};
use crate::common::{
    self, import_every_layer_far_away, import_layer, square, url_of, Answer, TestApp, TestServer,
};

use chrono::{DateTime, TimeZone, Utc};
use landuse_api::timers::{sweep::sweep_once, TimerSettings};
use landuse_domain::calendar::BUREAU_OFFSET;
use serde_json::{json, Value};
use sqlx::{
    postgres::{PgConnectOptions, PgPoolOptions},
    PgPool,
};

fn local(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    BUREAU_OFFSET
        .with_ymd_and_hms(y, m, d, h, 0, 0)
        .unwrap()
        .with_timezone(&Utc)
}

/// A case in pre-review whose parcel lies on a mineral deposit, with its check confirmed on the
/// app's clock; returns the case, the confirmed check and the case's ETag.
pub(crate) async fn mineral_case(app: &TestApp, pool: &PgPool) -> (String, Value, String) {
    import_every_layer_far_away(pool).await;
    import_layer(
        pool,
        "mineral_deposit",
        vec![(
            square(LON + 0.0002, LAT + 0.0002, 0.0004),
            json!({ "name": "安康金矿", "KSBH": "KC-7" }),
        )],
    )
    .await;
    let (case, _) = case_in_pre_review(app, false, json!({}), LON).await;
    let (check, etag) = checked(app, &case).await;
    assert_eq!(check["result"], "needs_overlay_approval", "{check}");
    (case, check, etag)
}

pub(crate) async fn view(app: &TestApp, case: &str) -> Answer {
    let view = app
        .send("GET", &format!("/api/v1/cases/{case}"), "reviewer", None, &[])
        .await;
    assert_eq!(view.status, 200, "{}", view.text);
    view
}

async fn facts(app: &TestApp, case: &str, etag: &str, body: Value) -> String {
    let facts = app
        .send(
            "POST",
            &format!("/api/v1/cases/{case}/facts"),
            "reviewer",
            Some(body),
            &[("if-match", etag)],
        )
        .await;
    assert_eq!(facts.status, 200, "{}", facts.text);
    facts.etag()
}

/// Takes a checked case from pre-review to conversion with everything `conversion → supply`
/// needs but the overlay answer: the opinion, the conversion approval, the quota. Returns the
/// case's ETag.
async fn ready_for_supply(app: &TestApp, case: &str, etag: &str) -> String {
    let etag = facts(
        app,
        case,
        etag,
        json!({ "pre_review_opinion": "用字第610902202600001号" }),
    )
    .await;
    let conversion = app.act(case, "reviewer", "advance", &etag, None).await;
    assert_eq!(conversion.json["stage"], "conversion", "{}", conversion.text);
    facts(
        app,
        case,
        &conversion.etag(),
        json!({ "conversion_approval": "陕政土批〔2026〕12号" }),
    )
    .await;
    let quota = app
        .send(
            "PUT",
            "/api/v1/quotas/2026/610902",
            "admin",
            Some(json!({ "granted_mu": 100.0, "reason": "2026 plan" })),
            &[],
        )
        .await;
    assert_eq!(quota.status, 200, "{}", quota.text);
    let allocated = app
        .send(
            "POST",
            "/api/v1/quotas/allocations",
            "reviewer",
            Some(json!({ "case_id": case, "year": 2026 })),
            &[],
        )
        .await;
    assert_eq!(allocated.status, 201, "{}", allocated.text);
    view(app, case).await.etag()
}

pub(crate) async fn answer(app: &TestApp, case: &str, query: &str, etag: &str, body: Value) -> Answer {
    app.send(
        "POST",
        &format!("/api/v1/cases/{case}/overlay-queries/{query}/answer"),
        "reviewer",
        Some(body),
        &[
            ("if-match", etag),
            ("idempotency-key", &uuid::Uuid::now_v7().to_string()),
        ],
    )
    .await
}

async fn open(app: &TestApp, case: &str, etag: &str) -> Answer {
    app.send(
        "POST",
        &format!("/api/v1/cases/{case}/overlay-queries"),
        "reviewer",
        None,
        &[("if-match", etag)],
    )
    .await
}

pub(crate) fn answer_body(answered_on: &str, conclusion: &str) -> Value {
    json!({
        "document_number": "陕自然资矿函〔2026〕7号",
        "answered_on": answered_on,
        "conclusion": conclusion,
        "note": "经查询，项目用地范围不压覆已查明重要矿产资源",
    })
}

/// The id of the case's last query.
pub(crate) fn last_query(case_view: &Value) -> String {
    let queries = case_view["overlay"]["queries"].as_array().unwrap();
    queries.last().unwrap()["id"].as_str().unwrap().to_owned()
}

async fn stored(pool: &PgPool) -> (i64, i64) {
    let queries: i64 = sqlx::query_scalar("select count(*) from case_overlay_queries")
        .fetch_one(pool)
        .await
        .unwrap();
    let answers: i64 = sqlx::query_scalar("select count(*) from case_overlay_answers")
        .fetch_one(pool)
        .await
        .unwrap();
    (queries, answers)
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_mineral_hit_opens_a_query_and_supply_waits_for_a_favourable_answer(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    app.clock.set(local(2026, 3, 2, 10));
    let (case, _, etag) = mineral_case(&app, &pool).await;

    let opened = view(&app, &case).await;
    let overlay = &opened.json["overlay"];
    assert_eq!(overlay["needed"], true, "{overlay}");
    assert_eq!(overlay["missing"]["code"], "overlay-not-answered");
    let queries = overlay["queries"].as_array().unwrap();
    assert_eq!(queries.len(), 1, "opened automatically on confirming: {overlay}");
    assert_eq!(queries[0]["status"], "awaiting");
    assert_eq!(queries[0]["sent_on"], "2026-03-02");
    assert_eq!(
        queries[0]["due_on"], "2026-03-09",
        "five working days after Monday"
    );
    let events: Vec<String> = sqlx::query_scalar(
        "select kind from case_events where case_id = $1::uuid and kind like 'overlay%' order by at",
    )
    .bind(&case)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(events, ["overlay_query_opened"]);
    let listed = app
        .send(
            "GET",
            &format!("/api/v1/cases/{case}/overlay-queries"),
            "officer",
            None,
            &[],
        )
        .await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(listed.json["queries"][0]["id"], queries[0]["id"]);

    let etag = ready_for_supply(&app, &case, &etag).await;
    let query = last_query(&view(&app, &case).await.json);
    let refused = app.act(&case, "reviewer", "advance", &etag, None).await;
    assert_eq!(refused.status, 409, "{}", refused.text);
    assert_eq!(refused.json["rule"], "overlay-not-answered", "{}", refused.text);
    let detail = refused.json["detail"].as_str().unwrap();
    assert!(
        detail.contains(&query) && detail.contains("not answered"),
        "{detail}"
    );
    assert_eq!(view(&app, &case).await.json["stage"], "conversion");

    let again = open(&app, &case, &etag).await;
    assert_eq!(again.status, 409, "one query is open: {}", again.text);

    let no = answer(&app, &case, &query, &etag, answer_body("2026-03-02", "refused")).await;
    assert_eq!(no.status, 201, "{}", no.text);
    assert_eq!(no.json["overlay"]["queries"][0]["status"], "refused");
    let refused = app.act(&case, "reviewer", "advance", &no.etag(), None).await;
    assert_eq!(refused.status, 409, "{}", refused.text);
    assert_eq!(refused.json["rule"], "overlay-refused", "{}", refused.text);

    let reopened = open(&app, &case, &no.etag()).await;
    assert_eq!(
        reopened.status, 201,
        "a refusal asks for a new query: {}",
        reopened.text
    );
    let second = last_query(&reopened.json);
    assert_ne!(second, query);
    let yes = answer(
        &app,
        &case,
        &second,
        &reopened.etag(),
        answer_body("2026-03-02", "no_overlay"),
    )
    .await;
    assert_eq!(yes.status, 201, "{}", yes.text);
    let answered = &yes.json["overlay"]["queries"][1];
    assert_eq!(answered["status"], "valid");
    assert_eq!(answered["answer"]["valid_until"], "2026-09-02");
    assert_eq!(yes.json["overlay"]["missing"], Value::Null);
    let supplied = app.act(&case, "reviewer", "advance", &yes.etag(), None).await;
    assert_eq!(supplied.status, 200, "{}", supplied.text);
    assert_eq!(supplied.json["stage"], "supply");
}

#[sqlx::test(migrations = "../../migrations")]
async fn an_answer_older_than_six_months_lapses_until_a_new_query_is_answered(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    app.clock.set(local(2026, 3, 2, 10));
    let (case, _, etag) = mineral_case(&app, &pool).await;
    let query = last_query(&view(&app, &case).await.json);
    let answered = answer(
        &app,
        &case,
        &query,
        &etag,
        answer_body("2026-03-02", "overlay_approved"),
    )
    .await;
    assert_eq!(answered.status, 201, "{}", answered.text);
    let etag = ready_for_supply(&app, &case, &answered.etag()).await;

    // Valid through 2026-09-02, the corresponding day six months on; lapsed the day after.
    app.clock.set(local(2026, 9, 3, 9));
    let lapsed = view(&app, &case).await;
    assert_eq!(lapsed.json["overlay"]["queries"][0]["status"], "lapsed");
    let refused = app.act(&case, "reviewer", "advance", &etag, None).await;
    assert_eq!(refused.status, 409, "{}", refused.text);
    assert_eq!(refused.json["rule"], "overlay-lapsed", "{}", refused.text);
    let detail = refused.json["detail"].as_str().unwrap();
    assert!(detail.contains("lapsed on 2026-09-03"), "{detail}");

    let reopened = open(&app, &case, &etag).await;
    assert_eq!(reopened.status, 201, "{}", reopened.text);
    assert_eq!(reopened.json["overlay"]["queries"][1]["sent_on"], "2026-09-03");
    let still = app
        .act(&case, "reviewer", "advance", &reopened.etag(), None)
        .await;
    assert_eq!(still.json["rule"], "overlay-not-answered", "{}", still.text);
    let second = last_query(&reopened.json);
    let yes = answer(
        &app,
        &case,
        &second,
        &reopened.etag(),
        answer_body("2026-09-03", "no_overlay"),
    )
    .await;
    assert_eq!(yes.status, 201, "{}", yes.text);
    let supplied = app.act(&case, "reviewer", "advance", &yes.etag(), None).await;
    assert_eq!(supplied.status, 200, "{}", supplied.text);
    assert_eq!(supplied.json["stage"], "supply");
}

async fn overlay_alerts(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar("select kind from alerts where overlay_query_id is not null order by id")
        .fetch_all(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrations = "../../migrations")]
async fn an_unanswered_query_raises_one_reminder_on_its_due_day_and_one_alert_after(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    app.clock.set(local(2026, 3, 2, 10));
    let (case, _, etag) = mineral_case(&app, &pool).await;
    let settings = TimerSettings::from_args(&common::timer_args(&[])).unwrap();

    sweep_once(&pool, local(2026, 3, 6, 10), &settings).await.unwrap();
    assert!(overlay_alerts(&pool).await.is_empty(), "not due yet");
    for _ in 0..2 {
        sweep_once(&pool, local(2026, 3, 9, 10), &settings).await.unwrap();
    }
    assert_eq!(overlay_alerts(&pool).await, ["overlay_reminder"]);
    // Two replicas sweeping at once raise it once.
    let late = local(2026, 3, 10, 10);
    let (a, b) = tokio::join!(
        sweep_once(&pool, late, &settings),
        sweep_once(&pool, late, &settings)
    );
    a.unwrap();
    b.unwrap();
    sweep_once(&pool, late, &settings).await.unwrap();
    assert_eq!(overlay_alerts(&pool).await, ["overlay_reminder", "overlay_late"]);
    let raised: i64 = sqlx::query_scalar(
        "select count(*) from case_events where case_id = $1::uuid and kind = 'alert_raised'
            and data ->> 'alert' like 'overlay%'",
    )
    .bind(&case)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(raised, 2, "each alert is one event in the case history");
    let feed = app.send("GET", "/api/v1/alerts", "leader", None, &[]).await;
    assert!(feed.text.contains("overlay_late"), "{}", feed.text);

    // Answered late: nothing more is raised.
    app.clock.set(late);
    let query = last_query(&view(&app, &case).await.json);
    let answered = answer(
        &app,
        &case,
        &query,
        &etag,
        answer_body("2026-03-10", "no_overlay"),
    )
    .await;
    assert_eq!(answered.status, 201, "{}", answered.text);
    sweep_once(&pool, local(2026, 3, 11, 10), &settings)
        .await
        .unwrap();
    assert_eq!(overlay_alerts(&pool).await.len(), 2);
}

#[sqlx::test(migrations = "../../migrations")]
async fn bad_answers_are_refused_naming_the_field_and_store_nothing(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    app.clock.set(local(2026, 3, 2, 10));
    let (case, _, etag) = mineral_case(&app, &pool).await;
    let query = last_query(&view(&app, &case).await.json);
    app.clock.set(local(2026, 3, 4, 10));
    let before = stored(&pool).await;
    assert_eq!(before, (1, 0));

    let mut blank = answer_body("2026-03-03", "no_overlay");
    blank["document_number"] = json!("  ");
    let mut unknown = answer_body("2026-03-03", "no_overlay");
    unknown["extra"] = json!(1);
    let cases: [(Value, &str); 5] = [
        (answer_body("2026-03-01", "no_overlay"), "answered_on"),
        (answer_body("2026-03-05", "no_overlay"), "answered_on"),
        (blank, "document_number"),
        (answer_body("2026-03-03", "maybe"), "conclusion"),
        (unknown, "extra"),
    ];
    for (body, field) in cases {
        // A stale ETag too: the body's fault is reported before the precondition.
        for tag in [etag.as_str(), "\"0\""] {
            let refused = answer(&app, &case, &query, tag, body.clone()).await;
            assert_eq!(refused.status, 422, "{field}: {}", refused.text);
            assert!(refused.text.contains(field), "{field}: {}", refused.text);
        }
    }
    let good = answer(
        &app,
        &case,
        &query,
        &etag,
        answer_body("2026-03-03", "no_overlay"),
    )
    .await;
    assert_eq!(good.status, 201, "{}", good.text);
    assert_eq!(stored(&pool).await, (1, 1), "only the good answer is stored");
    let twice = answer(
        &app,
        &case,
        &query,
        &good.etag(),
        answer_body("2026-03-03", "refused"),
    )
    .await;
    assert_eq!(twice.status, 409, "an answer is recorded once: {}", twice.text);
    assert_eq!(stored(&pool).await, (1, 1));
    let by_officer = app
        .send(
            "POST",
            &format!("/api/v1/cases/{case}/overlay-queries"),
            "officer",
            None,
            &[("if-match", &good.etag())],
        )
        .await;
    assert_eq!(by_officer.status, 403, "{}", by_officer.text);
    assert_eq!(stored(&pool).await, (1, 1));
}

#[sqlx::test(migrations = "../../migrations")]
async fn over_the_real_binary_supply_is_refused_until_the_query_is_answered(
    pool_options: PgPoolOptions,
    options: PgConnectOptions,
) {
    let pool = pool_options.connect_with(options.clone()).await.unwrap();
    let app = TestApp::new(pool.clone()).await;
    let (case, _, etag) = mineral_case(&app, &pool).await;
    let etag = ready_for_supply(&app, &case, &etag).await;
    let query = last_query(&view(&app, &case).await.json);
    let today = landuse_domain::calendar::bureau_date(Utc::now()).to_string();

    let server = TestServer::spawn(&url_of(&options), &[]);
    let reviewer = format!("Bearer {}", app.tokens["reviewer"]);
    let advance = |etag: String| {
        server
            .http
            .post(server.url(&format!("/api/v1/cases/{case}/transitions")))
            .header("authorization", &reviewer)
            .header("if-match", etag)
            .json(&json!({ "action": "advance" }))
            .send()
    };
    let refused = advance(etag.clone()).await.unwrap();
    assert_eq!(refused.status(), 409);
    let problem: Value = refused.json().await.unwrap();
    assert_eq!(problem["rule"], "overlay-not-answered", "{problem}");

    let answered = server
        .http
        .post(server.url(&format!("/api/v1/cases/{case}/overlay-queries/{query}/answer")))
        .header("authorization", &reviewer)
        .header("if-match", &etag)
        .json(&answer_body(&today, "no_overlay"))
        .send()
        .await
        .unwrap();
    assert_eq!(answered.status(), 201);
    let etag = answered.headers()["etag"].to_str().unwrap().to_owned();
    let passed = advance(etag).await.unwrap();
    assert_eq!(passed.status(), 200);
    let case_view: Value = passed.json().await.unwrap();
    assert_eq!(case_view["stage"], "supply", "{case_view}");
    server.terminate();
}

#[sqlx::test(migrations = "../../migrations")]
async fn loading_the_next_calendar_year_makes_a_provisional_due_date_final(pool: PgPool) {
    // Sent on Monday 2026-12-28: five working days run into 2027, which the calendar does not
    // cover yet, so the due day is counted on weekends alone (Friday 2027-01-01 counted as a
    // working day) and marked provisional.
    let app = TestApp::new(pool.clone()).await;
    app.clock.set(local(2026, 12, 28, 10));
    let (case, _, _) = mineral_case(&app, &pool).await;
    let shown = view(&app, &case).await.json;
    let query = &shown["overlay"]["queries"][0];
    assert_eq!(query["due_on"], "2027-01-04", "{shown}");
    assert_eq!(query["due_provisional"], true, "{shown}");

    // The 2027 notice makes New Year's Day a holiday: the answer is due a day later, for good.
    let notice = json!({ "holidays": ["2027-01-01"], "adjusted_workdays": [] });
    let loaded = app
        .send(
            "PUT",
            "/api/v1/calendar/2027",
            "admin",
            Some(notice),
            &[("idempotency-key", "load-2027")],
        )
        .await;
    assert_eq!(loaded.status, 200, "{}", loaded.text);
    let recomputed = loaded.json["overlay_due"].as_array().unwrap();
    assert_eq!(recomputed.len(), 1, "{}", loaded.text);
    assert_eq!(recomputed[0]["case_id"], case.as_str());
    assert_eq!(recomputed[0]["due_before"], "2027-01-04");
    assert_eq!(recomputed[0]["due_on"], "2027-01-05");
    assert_eq!(recomputed[0]["provisional"], false);

    let shown = view(&app, &case).await.json;
    let query = &shown["overlay"]["queries"][0];
    assert_eq!(query["due_on"], "2027-01-05", "{shown}");
    assert_eq!(query["due_provisional"], false, "{shown}");
    let events: Vec<(Option<String>, serde_json::Value)> = sqlx::query_as(
        "select reason, data from case_events where case_id = $1::uuid and kind = 'overlay_due_recomputed'",
    )
    .bind(&case)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(events.len(), 1, "one event in the case history");
    assert_eq!(events[0].0.as_deref(), Some("calendar year 2027 loaded"));
    assert_eq!(events[0].1["due_on"], "2027-01-05");
}
