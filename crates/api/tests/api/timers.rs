//! The sweeper, alerts and their feed: each status change alerted exactly once as time moves
//! forward, with several sweepers and across restarts, and a correction pause delaying the
//! alerts by the paused time.
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

use crate::common;

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, TimeDelta, TimeZone, Utc};
use common::TestApp;
use landuse_api::{
    config::TimerArgs,
    timers::{self, sweep::sweep_once, TimerSettings},
};
use landuse_domain::calendar::BUREAU_OFFSET;
use sqlx::{
    postgres::{PgConnectOptions, PgPoolOptions},
    PgPool,
};

/// An instant in the bureau's local time (+08:00).
fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    BUREAU_OFFSET
        .with_ymd_and_hms(y, m, d, h, min, 0)
        .unwrap()
        .with_timezone(&Utc)
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// Settings without webhooks.
fn settings() -> TimerSettings {
    TimerSettings::from_args(&args(&[])).unwrap()
}

fn args(webhooks: &[String]) -> TimerArgs {
    common::timer_args(webhooks)
}

/// Alerts raised so far, as `(case id, kind)` pairs, read from the database.
async fn alerts(db: &PgPool) -> Vec<(String, String)> {
    sqlx::query_as::<_, (uuid::Uuid, String)>("select case_id, kind from alerts order by id")
        .fetch_all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|(case, kind)| (case.to_string(), kind))
        .collect()
}

fn count(all: &[(String, String)], case: &str, kind: &str) -> usize {
    all.iter().filter(|(c, k)| c == case && k == kind).count()
}

/// Opens a case for a new project and submits it, at the app clock's now; returns its id and ETag.
async fn submitted_case(app: &TestApp, key: bool) -> (String, String) {
    let project = app.project(key).await;
    let (case, etag) = app.case(&project).await;
    let submitted = app.act(&case, "officer", "submit", &etag, None).await;
    assert_eq!(submitted.status, 200, "{}", submitted.text);
    (case, submitted.etag())
}

#[sqlx::test(migrations = "../../migrations")]
async fn an_item_crosses_due_soon_and_overdue_as_time_moves_and_each_is_alerted_once(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let settings = settings();
    // Submitted on Monday 2026-07-06 at 10:00: the ledger item is due at the close of 07-27.
    app.clock.set(local(2026, 7, 6, 10, 0));
    let (case, _) = submitted_case(&app, false).await;
    let ledger = |all: &[(String, String)]| {
        (
            count(all, &case, "ledger_due_soon"),
            count(all, &case, "ledger_overdue"),
        )
    };

    // Day 13 (2026-07-19): eight days left, still open.
    app.clock.set(local(2026, 7, 19, 23, 0));
    sweep_once(&app.db, app.clock.now(), &settings).await.unwrap();
    assert_eq!(ledger(&alerts(&app.db).await), (0, 0));

    // Day 14 (2026-07-20): seven days left, due soon; sweeping again changes nothing.
    app.clock.set(local(2026, 7, 20, 0, 30));
    let first = sweep_once(&app.db, app.clock.now(), &settings).await.unwrap();
    assert!(!first.alerts.is_empty());
    sweep_once(&app.db, app.clock.now(), &settings).await.unwrap();
    assert_eq!(ledger(&alerts(&app.db).await), (1, 0));

    // Day 21 (2026-07-27) is the last day; from 07-28 it is overdue.
    app.clock.set(local(2026, 7, 27, 23, 59));
    sweep_once(&app.db, app.clock.now(), &settings).await.unwrap();
    assert_eq!(ledger(&alerts(&app.db).await), (1, 0));
    app.clock.set(local(2026, 7, 28, 0, 1));
    sweep_once(&app.db, app.clock.now(), &settings).await.unwrap();
    app.clock.advance(TimeDelta::days(30));
    sweep_once(&app.db, app.clock.now(), &settings).await.unwrap();
    assert_eq!(ledger(&alerts(&app.db).await), (1, 1));

    // The feed shows both to a leader and to the case's officer, with who is told.
    let feed = app
        .send("GET", "/api/v1/alerts?kind=ledger_due_soon", "leader", None, &[])
        .await;
    assert_eq!(feed.status, 200, "{}", feed.text);
    let item = &feed.json["items"][0];
    assert_eq!(item["case_id"], case.as_str());
    assert_eq!(item["stage"], "accepted");
    assert_eq!(item["details"]["due_on"], "2026-07-27");
    let told: Vec<&str> = item["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(told, ["case_officer", "leading_group_office"]);
    let mine = app.send("GET", "/api/v1/alerts", "officer", None, &[]).await;
    assert_eq!(
        mine.json["items"].as_array().unwrap().len(),
        alerts(&app.db).await.len()
    );
    // Another county's officer sees none of them; a GIS client may not read alerts at all.
    let other = app.send("GET", "/api/v1/alerts", "officer2", None, &[]).await;
    assert_eq!(other.json["items"], serde_json::json!([]));
    let gis = app.send("GET", "/api/v1/alerts", "gis", None, &[]).await;
    assert_eq!(gis.status, 403);

    // Each alert is in the case's history, as the system's event.
    let history = app
        .send(
            "GET",
            &format!("/api/v1/cases/{case}/history"),
            "officer",
            None,
            &[],
        )
        .await;
    let raised: Vec<&serde_json::Value> = history
        .json
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "alert_raised")
        .collect();
    assert_eq!(raised.len(), alerts(&app.db).await.len());
    assert!(raised.iter().all(|e| e["actor_role"] == "system"));
}

#[sqlx::test(migrations = "../../migrations")]
async fn sweepers_of_two_processes_at_once_and_after_a_restart_raise_no_duplicate(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let settings = settings();
    app.clock.set(local(2026, 7, 6, 10, 0));
    let mut cases = Vec::new();
    for _ in 0..5 {
        cases.push(submitted_case(&app, false).await.0);
    }
    // Two "processes": each with a pool of its own, sweeping at the same instant, many times.
    let options = pool.connect_options();
    let other = PgPoolOptions::new()
        .max_connections(2)
        .connect_with((*options).clone())
        .await
        .unwrap();
    for now in [local(2026, 7, 20, 9, 0), local(2026, 7, 28, 9, 0)] {
        for _ in 0..4 {
            let (a, b) = tokio::join!(
                sweep_once(&pool, now, &settings),
                sweep_once(&other, now, &settings)
            );
            a.unwrap();
            b.unwrap();
        }
    }
    let all = alerts(&pool).await;
    for case in &cases {
        for kind in ["ledger_due_soon", "ledger_overdue", "deadline_passed"] {
            assert_eq!(count(&all, case, kind), 1, "{kind} of {case}: {all:?}");
        }
    }
    // A restart: a fresh pool, nothing in memory, the same instant and a later one.
    drop(other);
    let restarted = PgPoolOptions::new()
        .max_connections(2)
        .connect_with((*options).clone())
        .await
        .unwrap();
    for now in [local(2026, 7, 28, 9, 0), local(2026, 9, 1, 9, 0)] {
        let report = sweep_once(&restarted, now, &settings).await.unwrap();
        assert!(report.alerts.is_empty(), "{report:?}");
    }
    assert_eq!(alerts(&pool).await, all);

    // And the database itself refuses a second alert for the same item and kind.
    let refused = sqlx::query(
        "insert into alerts (kind, case_id, ledger_item_id, stage, county_code, raised_at, due_at, recipients)
         select kind, case_id, ledger_item_id, stage, county_code, raised_at, due_at, recipients
           from alerts where kind = 'ledger_due_soon' limit 1",
    )
    .execute(&pool)
    .await
    .unwrap_err();
    let constraint = refused
        .as_database_error()
        .and_then(|e| e.constraint())
        .map(str::to_owned);
    assert_eq!(constraint.as_deref(), Some("alerts_once_per_item"));
}

/// The first local date at 12:00 from `from` to `until` on which each (case, kind) alert exists.
async fn first_days(
    app: &TestApp,
    settings: &TimerSettings,
    from: NaiveDate,
    until: NaiveDate,
) -> BTreeMap<(String, String), NaiveDate> {
    let mut seen = BTreeMap::new();
    let mut date = from;
    while date <= until {
        let noon = BUREAU_OFFSET
            .from_local_datetime(&date.and_hms_opt(12, 0, 0).unwrap())
            .unwrap()
            .with_timezone(&Utc);
        app.clock.set(noon);
        sweep_once(&app.db, noon, settings).await.unwrap();
        for pair in alerts(&app.db).await {
            seen.entry(pair).or_insert(date);
        }
        date = date.succ_opt().unwrap();
    }
    seen
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_correction_pause_delays_the_stage_deadline_alerts_and_the_new_ledger_items_alerts_by_the_paused_week(
    pool: PgPool,
) {
    let app = TestApp::new(pool).await;
    let settings = settings();
    // Two cases enter pre-review (20 working days) together on Monday 2026-07-06 at 10:30.
    app.clock.set(local(2026, 7, 6, 10, 0));
    let (steady, etag) = submitted_case(&app, false).await;
    let (paused, etag2) = submitted_case(&app, false).await;
    app.clock.set(local(2026, 7, 6, 10, 30));
    assert_eq!(
        app.act(&steady, "reviewer", "advance", &etag, None).await.status,
        200
    );
    let advanced = app.act(&paused, "reviewer", "advance", &etag2, None).await;
    assert_eq!(advanced.status, 200);
    // One of them is returned for correction at 11:00 and answered exactly a week later:
    // the clock stops for Tue 07-07 … Mon 07-13, five working days, seven calendar days.
    app.clock.set(local(2026, 7, 6, 11, 0));
    let returned = app
        .act(
            &paused,
            "reviewer",
            "request_correction",
            &advanced.etag(),
            Some("缺少勘测定界报告"),
        )
        .await;
    assert_eq!(returned.status, 200, "{}", returned.text);
    let first_item = advanced.json["ledger"]["id"].clone();
    app.clock.set(local(2026, 7, 13, 11, 0));
    let answered = app
        .act(&paused, "officer", "answer_correction", &returned.etag(), None)
        .await;
    assert_eq!(answered.status, 200, "{}", answered.text);
    assert_eq!(answered.json["stage"], "pre_review");
    assert_ne!(
        answered.json["ledger"]["id"], first_item,
        "the answer opens a new item"
    );

    let seen = first_days(&app, &settings, day(2026, 7, 6), day(2026, 8, 12)).await;
    let first = |case: &str, kind: &str| seen.get(&(case.to_owned(), kind.to_owned())).copied();

    // Without a pause: the deadline is the 20th working day after 07-06, Mon 08-03; it is near
    // with 3 working days left (Wed 07-29) and passed from 08-04. The ledger item opened 07-06
    // is due soon on day 14 (07-20) and overdue after day 21 (07-28).
    assert_eq!(first(&steady, "deadline_near"), Some(day(2026, 7, 29)));
    assert_eq!(first(&steady, "deadline_passed"), Some(day(2026, 8, 4)));
    assert_eq!(first(&steady, "ledger_due_soon"), Some(day(2026, 7, 20)));
    assert_eq!(first(&steady, "ledger_overdue"), Some(day(2026, 7, 28)));

    // With the pause: the stage clock excludes the five paused working days, so both deadline
    // alerts come one week later. The item open when the case was returned was struck off
    // (returned for correction) and never alerted; the new item opened on the answer runs its
    // 21 days from 07-13, so its alerts come one week later too.
    let week = TimeDelta::days(7);
    assert_eq!(first(&paused, "deadline_near"), Some(day(2026, 7, 29) + week));
    assert_eq!(first(&paused, "deadline_passed"), Some(day(2026, 8, 4) + week));
    assert_eq!(first(&paused, "ledger_due_soon"), Some(day(2026, 7, 20) + week));
    assert_eq!(first(&paused, "ledger_overdue"), Some(day(2026, 7, 28) + week));
    let struck: (Option<String>, Option<String>) = sqlx::query_as(
        "select outcome, (select kind from alerts a where a.ledger_item_id = li.id limit 1)
           from ledger_items li where li.id = $1::uuid",
    )
    .bind(first_item.as_str().unwrap())
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(struck, (Some("returned_for_correction".to_owned()), None));

    // The deadline alerts carry the moved deadline.
    let feed = app
        .send("GET", "/api/v1/alerts?kind=deadline_passed", "leader", None, &[])
        .await;
    let deadline_of = |case: &str| {
        feed.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["case_id"] == case)
            .map(|a| a["details"]["deadline"].clone())
            .unwrap()
    };
    assert_eq!(deadline_of(&steady), "2026-08-03");
    assert_eq!(deadline_of(&paused), "2026-08-10");
}

#[sqlx::test(migrations = "../../migrations")]
async fn the_alert_stream_sends_new_alerts_as_server_sent_events_and_resumes_after_the_last_id(pool: PgPool) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    let app = TestApp::new(pool).await;
    let settings = settings();
    app.clock.set(local(2026, 7, 6, 10, 0));
    let (case, _) = submitted_case(&app, false).await;
    let request = |last: Option<&str>| {
        let mut builder = axum::http::Request::get("/api/v1/alerts/stream")
            .header("authorization", format!("Bearer {}", app.tokens["officer"]));
        if let Some(last) = last {
            builder = builder.header("last-event-id", last);
        }
        builder.body(axum::body::Body::empty()).unwrap()
    };
    let response = app.router.clone().oneshot(request(None)).await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let mut body = response.into_body();

    // The stream started empty; an alert raised now arrives as an event.
    sweep_once(&app.db, local(2026, 7, 20, 9, 0), &settings)
        .await
        .unwrap();
    let mut text = String::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !text.contains("\n\n") {
        assert!(
            std::time::Instant::now() < deadline,
            "no event within 10 s: {text:?}"
        );
        let frame = tokio::time::timeout(std::time::Duration::from_secs(10), body.frame())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if let Ok(data) = frame.into_data() {
            text.push_str(&String::from_utf8_lossy(&data));
        }
    }
    assert!(text.contains("event: alert"), "{text}");
    let id_line = text.lines().find(|l| l.starts_with("id:")).unwrap();
    let first_id = id_line.trim_start_matches("id:").trim().to_owned();
    let data_line = text.lines().find(|l| l.starts_with("data:")).unwrap();
    let data: serde_json::Value = serde_json::from_str(data_line.trim_start_matches("data:").trim()).unwrap();
    assert_eq!(data["case_id"], case.as_str());
    assert_eq!(data["id"].to_string(), first_id);
    // The document describes one event as an EventSource parser reads it (OpenAPI 3.1: a
    // stream's `schema` is one event), and this event is one: `event` alert, a numeric `id`,
    // the alert as JSON in `data`.
    let doc = app.send("GET", "/openapi.json", "leader", None, &[]).await;
    let content = &doc.json["paths"]["/api/v1/alerts/stream"]["get"]["responses"]["200"]["content"];
    assert_eq!(
        content["text/event-stream"]["schema"]["$ref"],
        "#/components/schemas/AlertEvent"
    );
    let event = &doc.json["components"]["schemas"]["AlertEvent"];
    assert_eq!(event["required"], serde_json::json!(["event", "id", "data"]));
    assert_eq!(event["properties"]["event"]["pattern"], "^alert$");
    assert!(first_id.chars().all(|c| c.is_ascii_digit()), "{first_id}");
    assert_eq!(
        event["properties"]["data"]["contentMediaType"],
        "application/json"
    );

    // Reconnecting with Last-Event-ID resumes after that alert: the next one comes first.
    let next: i64 = sqlx::query_scalar("select min(id) from alerts where id > $1")
        .bind(first_id.parse::<i64>().unwrap())
        .fetch_one(&app.db)
        .await
        .unwrap();
    let resumed = app
        .router
        .clone()
        .oneshot(request(Some(&first_id)))
        .await
        .unwrap();
    let mut body = resumed.into_body();
    let frame = tokio::time::timeout(std::time::Duration::from_secs(10), body.frame())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(frame.data_ref().unwrap()).into_owned();
    let id = text.lines().find(|l| l.starts_with("id:")).unwrap();
    assert_eq!(id.trim_start_matches("id:").trim(), next.to_string(), "{text}");
}

#[sqlx::test(migrations = "../../migrations")]
async fn the_feed_pages_with_since_and_refuses_a_since_it_cannot_read(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let settings = settings();
    app.clock.set(local(2026, 7, 6, 10, 0));
    for _ in 0..3 {
        submitted_case(&app, false).await;
    }
    sweep_once(&app.db, local(2026, 7, 28, 9, 0), &settings)
        .await
        .unwrap();
    let total = alerts(&app.db).await.len();
    let first = app
        .send("GET", "/api/v1/alerts?limit=2", "reviewer", None, &[])
        .await;
    assert_eq!(first.json["items"].as_array().unwrap().len(), 2);
    let since = first.json["next_since"].as_i64().unwrap();
    let rest = app
        .send(
            "GET",
            &format!("/api/v1/alerts?since={since}&limit=500"),
            "reviewer",
            None,
            &[],
        )
        .await;
    assert_eq!(rest.json["items"].as_array().unwrap().len(), total - 2);
    let empty = app
        .send(
            "GET",
            &format!("/api/v1/alerts?since={}", rest.json["next_since"]),
            "reviewer",
            None,
            &[],
        )
        .await;
    assert_eq!(empty.json["items"], serde_json::json!([]));
    assert_eq!(empty.json["next_since"], rest.json["next_since"]);
    let by_time = app
        .send(
            "GET",
            "/api/v1/alerts?since=2026-07-01T00:00:00%2B08:00",
            "reviewer",
            None,
            &[],
        )
        .await;
    assert_eq!(by_time.json["items"].as_array().unwrap().len(), total);
    let bad = app
        .send("GET", "/api/v1/alerts?since=yesterday", "reviewer", None, &[])
        .await;
    assert_eq!(bad.status, 422);
    assert_eq!(bad.json["field"], "since");
}

#[sqlx::test(migrations = "../../migrations")]
async fn two_serve_processes_and_their_restarts_raise_each_alert_once(
    _pool_options: PgPoolOptions,
    options: PgConnectOptions,
) {
    let url = common::url_of(&options);
    let pool = PgPoolOptions::new().connect_with(options.clone()).await.unwrap();
    let app = TestApp::new(pool.clone()).await;
    let clock_at = |t: DateTime<Utc>| t.to_rfc3339();
    let spawn_both = |start: DateTime<Utc>| {
        let start = clock_at(start);
        let env = [
            ("LANDUSE_CLOCK_START", start.as_str()),
            ("LANDUSE_SWEEP_INTERVAL_S", "1"),
        ];
        (
            common::TestServer::spawn(&url, &env),
            common::TestServer::spawn(&url, &env),
        )
    };
    let leader = format!("Bearer {}", app.tokens["leader"]);

    // Day 0: both servers run at Monday 2026-07-06 10:00; a case is submitted through one.
    let (a, b) = spawn_both(local(2026, 7, 6, 10, 0));
    let project = a
        .http
        .post(a.url("/api/v1/projects"))
        .header("authorization", format!("Bearer {}", app.tokens["officer"]))
        .json(&serde_json::json!({
            "name": "汉滨区标准化厂房", "county_code": "610902", "level": "county",
            "category": "industry", "year": 2026
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(project.status(), 201);
    let project: serde_json::Value = project.json().await.unwrap();
    let case = a
        .http
        .post(b.url("/api/v1/cases"))
        .header("authorization", format!("Bearer {}", app.tokens["officer"]))
        .json(&serde_json::json!({ "project_id": project["id"], "title": "一期用地" }))
        .send()
        .await
        .unwrap();
    assert_eq!(case.status(), 201);
    let etag = case.headers()["etag"].to_str().unwrap().to_owned();
    let case: serde_json::Value = case.json().await.unwrap();
    let case_id = case["id"].as_str().unwrap().to_owned();
    let submitted = a
        .http
        .post(a.url(&format!("/api/v1/cases/{case_id}/transitions")))
        .header("authorization", format!("Bearer {}", app.tokens["officer"]))
        .header("if-match", etag)
        .json(&serde_json::json!({ "action": "submit" }))
        .send()
        .await
        .unwrap();
    assert_eq!(submitted.status(), 200);
    a.terminate();
    b.terminate();

    // Waits until the feed holds `kind` for the case, then lets both sweepers run a few more
    // rounds, and counts.
    let settle = |server: &common::TestServer, kind: &'static str| {
        let http = server.http.clone();
        let url = server.url(&format!("/api/v1/alerts?kind={kind}"));
        let leader = leader.clone();
        async move {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
            loop {
                let page: serde_json::Value = http
                    .get(&url)
                    .header("authorization", &leader)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                if !page["items"].as_array().unwrap().is_empty() {
                    break;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "no {kind} alert within 30 s"
                );
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
        }
    };

    // Day 14 on both servers at once: due soon, once.
    let (a, b) = spawn_both(local(2026, 7, 20, 9, 0));
    settle(&a, "ledger_due_soon").await;
    assert_eq!(count(&alerts(&pool).await, &case_id, "ledger_due_soon"), 1);
    a.terminate();
    b.terminate();

    // Restarted on the same day: nothing new.
    let before = alerts(&pool).await;
    let (a, b) = spawn_both(local(2026, 7, 20, 9, 0));
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(alerts(&pool).await, before);
    a.terminate();
    b.terminate();

    // Restarted after day 21: overdue, once; the due-soon alert is not raised again.
    let (a, b) = spawn_both(local(2026, 7, 28, 9, 0));
    settle(&b, "ledger_overdue").await;
    let all = alerts(&pool).await;
    assert_eq!(count(&all, &case_id, "ledger_due_soon"), 1);
    assert_eq!(count(&all, &case_id, "ledger_overdue"), 1);
    assert_eq!(count(&all, &case_id, "deadline_passed"), 1);
    a.terminate();
    b.terminate();
}

#[test]
fn settings_with_webhooks_but_no_secret_are_refused() {
    let mut unsigned = args(&["http://127.0.0.1:9/hook".to_owned()]);
    unsigned.webhook_secret = None;
    assert!(matches!(
        TimerSettings::from_args(&unsigned),
        Err(timers::SettingsError::UnsignedWebhooks)
    ));
    let mut bad_day = args(&[]);
    bad_day.dispatch_day = "someday".to_owned();
    assert!(TimerSettings::from_args(&bad_day).is_err());
}
