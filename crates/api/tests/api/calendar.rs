//! The calendar as data: loading the next year's notice makes the deadlines that reached into
//! it final, moves them past its holidays, records each change in the case's history and
//! corrects the alerts raised for the old deadline; refusals change nothing; the command line
//! names the line and the reason of a bad file.
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

use crate::common;

use std::process::Command;

use chrono::{DateTime, TimeZone, Utc};
use common::TestApp;
use landuse_api::timers::{sweep::sweep_once, TimerSettings};
use landuse_domain::calendar::BUREAU_OFFSET;
use serde_json::{json, Value};
use sqlx::{
    postgres::{PgConnectOptions, PgPoolOptions},
    PgPool,
};

fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    BUREAU_OFFSET
        .with_ymd_and_hms(y, m, d, h, min, 0)
        .unwrap()
        .with_timezone(&Utc)
}

/// Everything a calendar load may write, as one digest per table.
async fn digest(db: &PgPool) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for table in [
        "calendar_years",
        "cases",
        "case_events",
        "alerts",
        "alert_corrections",
        "settings",
        "idempotency_keys",
    ] {
        let sum: String = sqlx::query_scalar(&format!(
            "select md5(coalesce(string_agg(t::text, '|' order by t::text), '')) from {table} t"
        ))
        .fetch_one(db)
        .await
        .unwrap();
        out.push((table.to_owned(), sum));
    }
    out
}

async fn deadline_passed_alerts(db: &PgPool, case: &str) -> i64 {
    sqlx::query_scalar("select count(*) from alerts where case_id = $1::uuid and kind = 'deadline_passed'")
        .bind(case)
        .fetch_one(db)
        .await
        .unwrap()
}

#[sqlx::test(migrations = "../../migrations")]
async fn loading_2027_makes_a_provisional_deadline_final_moves_it_past_new_year_and_corrects_its_alert(
    pool: PgPool,
) {
    let app = TestApp::new(pool).await;
    let settings = TimerSettings::from_args(&common::timer_args(&[])).unwrap();
    // Submitted on Wednesday 2026-12-30: two working days in `accepted` end on Friday
    // 2027-01-01, a year the seeded calendar does not cover.
    app.clock.set(local(2026, 12, 30, 10, 0));
    let project = app.project(false).await;
    let (case, etag) = app.case(&project).await;
    let submitted = app.act(&case, "officer", "submit", &etag, None).await;
    assert_eq!(submitted.status, 200, "{}", submitted.text);
    assert_eq!(submitted.json["deadline"]["date"], "2027-01-01");
    assert_eq!(submitted.json["deadline"]["provisional"], true);
    let missing = app
        .send("GET", "/api/v1/calendar/2027", "officer", None, &[])
        .await;
    assert_eq!(missing.status, 404, "{}", missing.text);

    // Saturday 2027-01-02: the provisional deadline has passed and the sweeper says so.
    app.clock.set(local(2027, 1, 2, 10, 0));
    sweep_once(&app.db, app.clock.now(), &settings).await.unwrap();
    assert_eq!(deadline_passed_alerts(&app.db, &case).await, 1);

    // The notice: New Year's Day (a Friday) off, Sunday 2027-02-07 worked.
    let notice = json!({ "holidays": ["2027-01-01"], "adjusted_workdays": ["2027-02-07"] });
    let key = [("idempotency-key", "load-2027")];
    let loaded = app
        .send(
            "PUT",
            "/api/v1/calendar/2027",
            "admin",
            Some(notice.clone()),
            &key,
        )
        .await;
    assert_eq!(loaded.status, 200, "{}", loaded.text);
    assert_eq!(loaded.etag(), "\"v1\"");
    assert_eq!(loaded.json["covered_until"], "2027-12-31");
    let changed = loaded.json["deadlines"].as_array().unwrap();
    assert_eq!(changed.len(), 1, "{}", loaded.text);
    assert_eq!(changed[0]["case_id"], case.as_str());
    assert_eq!(changed[0]["moved"], true);
    assert_eq!(changed[0]["finalised"], true);
    let corrected = loaded.json["alerts"].as_array().unwrap();
    assert_eq!(corrected.len(), 1, "{}", loaded.text);
    assert_eq!(corrected[0]["kind"], "deadline_passed");
    assert_eq!(corrected[0]["withdrawn"], true);

    // The same key and body replay the answer and load nothing again.
    let again = app
        .send("PUT", "/api/v1/calendar/2027", "admin", Some(notice), &key)
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.etag(), "\"v1\"");

    // The case: final, one working day later, stored so for the queue.
    let view = app
        .send("GET", &format!("/api/v1/cases/{case}"), "officer", None, &[])
        .await;
    assert_eq!(view.json["deadline"]["date"], "2027-01-04");
    assert_eq!(view.json["deadline"]["provisional"], false);
    assert_eq!(view.json["deadline"]["overdue"], false);
    let (stored_at, provisional): (DateTime<Utc>, bool) =
        sqlx::query_as("select deadline_at, deadline_provisional from cases where id = $1::uuid")
            .bind(&case)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!((stored_at, provisional), (local(2027, 1, 5, 0, 0), false));

    // Both changes are events of the case's history, by the admin.
    let history = app
        .send(
            "GET",
            &format!("/api/v1/cases/{case}/history"),
            "officer",
            None,
            &[],
        )
        .await;
    let events: Vec<&Value> = history.json.as_array().unwrap().iter().collect();
    let recomputed = events
        .iter()
        .find(|e| e["kind"] == "deadline_recomputed")
        .unwrap();
    assert_eq!(recomputed["actor_role"], "admin");
    assert_eq!(recomputed["data"]["from"]["provisional"], true);
    assert_eq!(recomputed["data"]["to"]["provisional"], false);
    let fixed = events.iter().find(|e| e["kind"] == "alert_corrected").unwrap();
    assert_eq!(fixed["data"]["withdrawn"], true);

    // The alert no longer stands as if the deadline had passed.
    let feed = app
        .send("GET", "/api/v1/alerts?kind=deadline_passed", "leader", None, &[])
        .await;
    assert_eq!(feed.status, 200, "{}", feed.text);
    let alert = &feed.json["items"][0];
    assert_eq!(alert["withdrawn"], true);
    assert_eq!(
        alert["corrected_due_at"]
            .as_str()
            .unwrap()
            .parse::<DateTime<Utc>>()
            .unwrap(),
        local(2027, 1, 5, 0, 0)
    );

    // The year reads back with its ETag.
    let year = app
        .send("GET", "/api/v1/calendar/2027", "officer", None, &[])
        .await;
    assert_eq!(year.status, 200);
    assert_eq!(year.etag(), "\"v1\"");
    assert_eq!(year.json["holidays"], json!(["2027-01-01"]));
    assert_eq!(year.json["adjusted_workdays"], json!(["2027-02-07"]));

    // Until Monday nothing is due again; once the moved deadline passes, it is alerted anew.
    sweep_once(&app.db, app.clock.now(), &settings).await.unwrap();
    assert_eq!(deadline_passed_alerts(&app.db, &case).await, 1);
    app.clock.set(local(2027, 1, 5, 9, 0));
    sweep_once(&app.db, app.clock.now(), &settings).await.unwrap();
    assert_eq!(deadline_passed_alerts(&app.db, &case).await, 2);
}

#[sqlx::test(migrations = "../../migrations")]
async fn refused_calendar_loads_change_nothing(pool: PgPool) {
    let app = TestApp::new(pool).await;
    app.clock.set(local(2026, 12, 30, 10, 0));
    let project = app.project(false).await;
    let (case, etag) = app.case(&project).await;
    assert_eq!(app.act(&case, "officer", "submit", &etag, None).await.status, 200);
    let seeded = app.send("GET", "/api/v1/calendar/2026", "admin", None, &[]).await;
    assert_eq!(seeded.status, 200, "{}", seeded.text);
    assert_eq!(seeded.etag(), "\"v1\"");
    let before = digest(&app.db).await;

    let put = |who: &'static str, year: i32, body: Value, if_match: Option<&'static str>| {
        let app = &app;
        async move {
            let headers: Vec<(&str, &str)> = if_match.map(|m| ("if-match", m)).into_iter().collect();
            app.send(
                "PUT",
                &format!("/api/v1/calendar/{year}"),
                who,
                Some(body),
                &headers,
            )
            .await
        }
    };
    let body =
        |holidays: &[&str], adjusted: &[&str]| json!({ "holidays": holidays, "adjusted_workdays": adjusted });
    let refusals = [
        // 2027-01-02 is a Saturday.
        (
            put("admin", 2027, body(&["2027-01-01", "2027-01-02"], &[]), None).await,
            422,
            Some("holidays[1]"),
        ),
        (
            put("admin", 2027, body(&["2027-01-01", "2027-01-01"], &[]), None).await,
            422,
            Some("holidays[1]"),
        ),
        (
            put("admin", 2027, body(&["2026-10-01"], &[]), None).await,
            422,
            Some("holidays[0]"),
        ),
        // Monday 2027-01-04 is no weekend.
        (
            put("admin", 2027, body(&[], &["2027-01-04"]), None).await,
            422,
            Some("adjusted_workdays[0]"),
        ),
        // 2028 would leave 2027 uncovered.
        (put("admin", 2028, body(&[], &[]), None).await, 422, Some("year")),
        (
            put("admin", 2026, seeded.json.clone(), Some("\"v1\"")).await,
            422,
            None,
        ),
        (
            put("admin", 2026, body(&["2026-10-01"], &[]), Some("\"v7\"")).await,
            412,
            None,
        ),
        (
            put("admin", 2026, body(&["2026-10-01"], &[]), None).await,
            428,
            None,
        ),
        (
            put("reviewer", 2027, body(&["2027-01-01"], &[]), None).await,
            403,
            None,
        ),
        (
            put("officer", 2027, body(&["2027-01-01"], &[]), None).await,
            403,
            None,
        ),
        (put("", 2027, body(&["2027-01-01"], &[]), None).await, 401, None),
    ];
    for (answer, status, field) in refusals {
        assert_eq!(answer.status, status, "{}", answer.text);
        let content_type = answer.headers["content-type"].to_str().unwrap();
        assert!(
            content_type.starts_with("application/problem+json"),
            "{content_type}"
        );
        if let Some(field) = field {
            assert_eq!(answer.json["field"], field, "{}", answer.text);
            assert!(!answer.json["detail"].as_str().unwrap().is_empty());
        }
    }
    assert_eq!(digest(&app.db).await, before, "a refused load wrote something");
}

fn import(url: &str, year: &str, file: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_landuse"))
        .args(["calendar", "import", "--year", year, "--file"])
        .arg(file)
        .env("DATABASE_URL", url)
        .output()
        .unwrap()
}

#[sqlx::test(migrations = "../../migrations")]
async fn the_command_line_names_the_line_and_reason_of_a_bad_notice_and_loads_a_good_one(
    pool_options: PgPoolOptions,
    options: PgConnectOptions,
) {
    let pool = pool_options.connect_with(options.clone()).await.unwrap();
    let mut conn = pool.acquire().await.unwrap();
    landuse_api::admin::seed(&mut conn).await.unwrap();
    drop(conn);
    let url = common::url_of(&options);
    let dir = std::env::temp_dir().join(format!("landuse-calendar-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good_text = "{\n \"2027\": {\n  \"holidays\": [\n   \"2027-01-01\",\n   \"2027-02-08\"\n  ],\n  \"adjusted_workdays\": [\n   \"2027-02-07\"\n  ]\n }\n}\n";
    let years = || async {
        sqlx::query_scalar::<_, i32>("select year from calendar_years order by year")
            .fetch_all(&pool)
            .await
            .unwrap()
    };

    for (name, text, year, said) in [
        // Line 5 lists Saturday 2027-01-02 as a holiday.
        (
            "weekend.json",
            good_text.replace("2027-02-08", "2027-01-02"),
            "2027",
            "line 5: holidays[1]: 2027-01-02 is a Saturday",
        ),
        (
            "twice.json",
            good_text.replace("2027-02-08", "2027-01-01"),
            "2027",
            "line 5: holidays[1]: 2027-01-01 is listed twice",
        ),
        (
            "other-year.json",
            good_text.replace("2027-02-08", "2026-10-01"),
            "2027",
            "line 5: holidays[1]: 2026-10-01 is not in 2027",
        ),
        (
            "good.json",
            good_text.to_owned(),
            "2028",
            "year: the file is for 2027, not for 2028",
        ),
    ] {
        let file = dir.join(name);
        std::fs::write(&file, text).unwrap();
        let out = import(&url, year, &file);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{name} was accepted");
        assert!(stderr.contains(said), "{name}: {stderr}");
        assert!(stderr.contains("nothing was loaded"), "{name}: {stderr}");
        assert_eq!(years().await, [2023, 2024, 2025, 2026], "{name} loaded something");
    }

    let file = dir.join("good.json");
    let out = import(&url, "2027", &file);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        stdout.contains("loaded 2027: 2 holidays, 1 adjusted working days"),
        "{stdout}"
    );
    assert_eq!(years().await, [2023, 2024, 2025, 2026, 2027]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[sqlx::test(migrations = "../../migrations")]
async fn the_clearing_limits_are_read_from_the_settings(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let defaults: Vec<(String, Value)> = sqlx::query_as(
        "select key, value from settings where key in ('clearing', 'advance_use') order by key",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(
        defaults,
        [
            ("advance_use".to_owned(), json!({ "max_share_percent": 30 })),
            (
                "clearing".to_owned(),
                json!({ "limit_days": 21, "due_soon_days": 7 })
            ),
        ]
    );
    sqlx::query(
        "update settings set value = '{\"limit_days\": 14, \"due_soon_days\": 3}' where key = 'clearing'",
    )
    .execute(&app.db)
    .await
    .unwrap();
    app.clock.set(local(2026, 7, 6, 10, 0));
    let project = app.project(false).await;
    let (case, etag) = app.case(&project).await;
    let submitted = app.act(&case, "officer", "submit", &etag, None).await;
    assert_eq!(submitted.status, 200, "{}", submitted.text);
    assert_eq!(submitted.json["ledger"]["due_on"], "2026-07-20");
    assert_eq!(submitted.json["ledger"]["days_left"], 14);
    app.clock.set(local(2026, 7, 17, 10, 0));
    let view = app
        .send("GET", &format!("/api/v1/cases/{case}"), "officer", None, &[])
        .await;
    assert_eq!(view.json["ledger"]["status"], "due_soon", "{}", view.text);
}
