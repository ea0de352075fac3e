//! Key projects through the HTTP API: the list is the bureau's, not the applicant's. An
//! officer's registration or edit cannot make a project key or change its level or sector
//! (compared in the data, not only in the status); a leader's designation takes effect on the
//! project's cases and is in its history with who, when and why; edits need the current ETag;
//! a closed quarter's start rate is frozen and a later start is a correction beside it.
#![allow(clippy::unwrap_used, clippy::too_many_lines)]

use crate::common;

use chrono::{DateTime, TimeZone, Utc};
use common::{key_designation, TestApp};
use landuse_domain::calendar::BUREAU_OFFSET;
use serde_json::{json, Value};
use sqlx::PgPool;

fn local(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    BUREAU_OFFSET
        .with_ymd_and_hms(y, m, d, h, 0, 0)
        .unwrap()
        .with_timezone(&Utc)
}

/// Every row of the project tables, as text: what a refused request must leave as it was.
async fn projects_digest(db: &PgPool) -> String {
    sqlx::query_scalar(
        "select md5(coalesce((select string_agg(t::text, '|' order by t::text) from projects t), '')
                 || coalesce((select string_agg(e::text, '|' order by e::text) from project_events e), ''))",
    )
    .fetch_one(db)
    .await
    .unwrap()
}

async fn get(app: &TestApp, path: &str, who: &str) -> common::Answer {
    let answer = app.send("GET", path, who, None, &[]).await;
    assert_eq!(answer.status, 200, "GET {path}: {}", answer.text);
    answer
}

#[sqlx::test(migrations = "../../migrations")]
async fn an_officer_cannot_make_a_project_key_or_change_its_level_or_sector(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let base = json!({
        "name": "汉滨区物流园", "county_code": "610902", "category": "industry", "year": 2026
    });

    // Registering with the designation's fields: refused naming the field, nothing written.
    for (field, value) in [
        ("on_key_list", json!(true)),
        ("level", json!("provincial")),
        ("sector", json!("transport")),
        ("new_start", json!(true)),
        ("responsible_leader", json!("李副局长")),
        ("list_document", json!("陕发改重点〔2026〕1号")),
    ] {
        let mut body = base.clone();
        body[field] = value;
        let before = projects_digest(&app.db).await;
        let refused = app
            .send("POST", "/api/v1/projects", "officer", Some(body), &[])
            .await;
        assert_eq!(refused.status, 403, "{field}: {}", refused.text);
        assert!(
            refused.json["detail"].as_str().unwrap().contains(field),
            "{}",
            refused.text
        );
        assert_eq!(
            projects_digest(&app.db).await,
            before,
            "{field}: nothing registered"
        );
    }
    // The values of an unlisted project are no privilege and are accepted.
    let mut plain = base.clone();
    plain["level"] = json!("county");
    plain["sector"] = json!("other");
    plain["on_key_list"] = json!(false);
    assert_eq!(
        app.send("POST", "/api/v1/projects", "officer", Some(plain), &[])
            .await
            .status,
        201
    );

    // A proposal is kept beside the designation and takes no effect.
    let mut proposed = base.clone();
    proposed["name"] = json!("安康机场连接线");
    proposed["proposal"] = json!({ "level": "national", "sector": "transport", "new_start": true });
    let created = app
        .send("POST", "/api/v1/projects", "officer", Some(proposed), &[])
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let project = created.json["id"].as_str().unwrap().to_owned();
    assert_eq!(
        (
            &created.json["on_key_list"],
            &created.json["level"],
            &created.json["sector"],
            &created.json["new_start"]
        ),
        (&json!(false), &json!("county"), &json!("other"), &json!(false))
    );
    assert_eq!(created.json["proposal"]["level"], "national");
    let (case, _) = app.case(&project).await;
    let view = get(&app, &format!("/api/v1/cases/{case}"), "officer").await;
    assert_eq!(view.json["green"], false, "a proposal gives no green channel");

    // Editing the designation's fields: 403 for the officer, 422 for a leader (who designates
    // instead), and the data are what they were.
    let path = format!("/api/v1/projects/{project}");
    for (field, value) in [
        ("on_key_list", json!(true)),
        ("level", json!("national")),
        ("sector", json!("energy")),
        ("year", json!(2025)),
        ("responsible_leader", json!("王局长")),
    ] {
        let etag = get(&app, &path, "officer").await.etag();
        for (who, status) in [("officer", 403), ("leader", 422)] {
            let before = projects_digest(&app.db).await;
            let refused = app
                .send(
                    "PATCH",
                    &path,
                    who,
                    Some(json!({ "name": "改名", field: value })),
                    &[("if-match", &etag)],
                )
                .await;
            assert_eq!(refused.status, status, "{who} {field}: {}", refused.text);
            assert!(refused.text.contains(field), "{}", refused.text);
            assert_eq!(
                projects_digest(&app.db).await,
                before,
                "{who} {field}: nothing changed"
            );
        }
    }
    // Nor may an officer designate.
    let etag = get(&app, &path, "officer").await.etag();
    let before = projects_digest(&app.db).await;
    let refused = app
        .send(
            "PUT",
            &format!("{path}/designation"),
            "officer",
            Some(key_designation("national", "transport")),
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert_eq!(projects_digest(&app.db).await, before);
    let row: (bool, String, String) =
        sqlx::query_as("select on_key_list, level, sector from projects where id = $1::uuid")
            .bind(&project)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(row, (false, "county".to_owned(), "other".to_owned()));
    let view = get(&app, &format!("/api/v1/cases/{case}"), "officer").await;
    assert_eq!(view.json["green"], false);
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_leaders_designation_takes_effect_on_the_cases_and_is_in_the_history_with_who_when_and_why(
    pool: PgPool,
) {
    let app = TestApp::new(pool).await;
    app.clock.set(local(2026, 3, 2, 9));
    let created = app
        .send(
            "POST",
            "/api/v1/projects",
            "officer",
            Some(json!({
                "name": "安康机场连接线", "county_code": "610902", "category": "infrastructure", "year": 2026,
                "proposal": { "level": "provincial", "sector": "transport", "note": "拟列入省级名单" }
            })),
            &[],
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let project = created.json["id"].as_str().unwrap().to_owned();
    let (case, case_etag) = app.case(&project).await;
    let path = format!("/api/v1/projects/{project}/designation");

    // Refusals name what is missing and change nothing.
    let mut incomplete = key_designation("provincial", "transport");
    incomplete["list_document"] = Value::Null;
    let refused = app
        .send(
            "PUT",
            &path,
            "leader",
            Some(incomplete),
            &[("if-match", &created.etag())],
        )
        .await;
    assert_eq!(
        (refused.status, refused.json["field"].as_str()),
        (422, Some("list_document")),
        "{}",
        refused.text
    );
    let stale = app
        .send(
            "PUT",
            &path,
            "leader",
            Some(key_designation("provincial", "transport")),
            &[("if-match", "\"v9\"")],
        )
        .await;
    assert_eq!(stale.status, 412, "{}", stale.text);
    // A year out of range can never be right: 422 naming it, even with a stale ETag.
    let mut out_of_range = key_designation("provincial", "transport");
    out_of_range["year"] = json!(1999);
    let refused = app
        .send(
            "PUT",
            &path,
            "leader",
            Some(out_of_range),
            &[("if-match", "\"v9\"")],
        )
        .await;
    assert_eq!(
        (refused.status, refused.json["field"].as_str()),
        (422, Some("year")),
        "{}",
        refused.text
    );

    app.clock.set(local(2026, 3, 3, 10));
    let designated = app
        .send(
            "PUT",
            &path,
            "leader",
            Some(key_designation("provincial", "transport")),
            &[("if-match", &created.etag())],
        )
        .await;
    assert_eq!(designated.status, 200, "{}", designated.text);
    assert_eq!(designated.json["on_key_list"], true);
    assert_eq!(designated.json["level"], "provincial");
    assert_eq!(designated.json["list_document"], "陕发改重点〔2026〕1号");
    assert_eq!(
        designated.json["proposal"],
        Value::Null,
        "the designation decided the proposal"
    );

    // In force at once: the case view, the stored queue flag, and the case's own history.
    let view = get(&app, &format!("/api/v1/cases/{case}"), "officer").await;
    assert_eq!(view.json["green"], true, "{}", view.text);
    assert_ne!(view.etag(), case_etag, "the case changed with its project");
    let stored: bool = sqlx::query_scalar("select green from cases where id = $1::uuid")
        .bind(&case)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(stored, "the queue orders it green");
    let case_history = get(&app, &format!("/api/v1/cases/{case}/history"), "officer").await;
    assert!(
        case_history.text.contains("project_designated"),
        "{}",
        case_history.text
    );

    let history = get(&app, &format!("/api/v1/projects/{project}/history"), "officer").await;
    let events = history.json.as_array().unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["registered", "designated"]);
    let event = &events[1];
    assert_eq!(event["actor"], "leader");
    assert_eq!(event["actor_role"], "leader");
    assert_eq!(event["reason"], "列入2026年省级重点项目名单");
    assert_eq!(
        event["at"]
            .as_str()
            .unwrap()
            .parse::<DateTime<Utc>>()
            .unwrap()
            .timestamp()
            / 60,
        local(2026, 3, 3, 10).timestamp() / 60
    );
    let changes: Vec<(&str, Value, Value)> = event["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["field"].as_str().unwrap(), c["from"].clone(), c["to"].clone()))
        .collect();
    assert!(
        changes.contains(&("on_key_list", json!("false"), json!("true"))),
        "{changes:?}"
    );
    assert!(
        changes.contains(&("level", json!("county"), json!("provincial"))),
        "{changes:?}"
    );
    assert!(
        changes.contains(&("responsible_leader", Value::Null, json!("李副局长"))),
        "{changes:?}"
    );

    // The same decision again changes nothing: refused, not recorded twice.
    let again = app
        .send(
            "PUT",
            &path,
            "admin",
            Some(key_designation("provincial", "transport")),
            &[("if-match", &designated.etag())],
        )
        .await;
    assert_eq!(again.status, 409, "{}", again.text);

    // Taken off the list: the green channel goes with it, and that too is in the history.
    let off = app
        .send(
            "PUT",
            &path,
            "admin",
            Some(json!({ "on_key_list": false, "reason": "调出2026年重点项目名单" })),
            &[("if-match", &designated.etag())],
        )
        .await;
    assert_eq!(off.status, 200, "{}", off.text);
    assert_eq!(off.json["level"], "provincial", "the level stays the bureau's");
    let view = get(&app, &format!("/api/v1/cases/{case}"), "officer").await;
    assert_eq!(view.json["green"], false);
    let history = get(&app, &format!("/api/v1/projects/{project}/history"), "leader").await;
    let last = history.json.as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["kind"].as_str(), last["actor"].as_str()),
        (Some("taken_off"), Some("admin"))
    );

    // The history is append-only, even for the table's owner.
    let changed = sqlx::query("update project_events set reason = 'rewritten'")
        .execute(&app.db)
        .await;
    assert!(changed.is_err(), "project history is append-only");
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_project_edit_needs_the_current_etag_and_each_edit_is_in_the_history(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let project = app.project(false).await;
    let path = format!("/api/v1/projects/{project}");
    let first = get(&app, &path, "officer").await;

    let missing = app
        .send("PATCH", &path, "officer", Some(json!({ "name": "新名称" })), &[])
        .await;
    assert_eq!(missing.status, 428, "{}", missing.text);
    let edited = app
        .send(
            "PATCH",
            &path,
            "officer",
            Some(json!({ "name": "汉滨区标准化厂房二期", "planned_start": "2026-05-01" })),
            &[("if-match", &first.etag())],
        )
        .await;
    assert_eq!(edited.status, 200, "{}", edited.text);
    assert_eq!(edited.json["name"], "汉滨区标准化厂房二期");
    assert_ne!(edited.etag(), first.etag());

    let before = projects_digest(&app.db).await;
    let stale = app
        .send(
            "PATCH",
            &path,
            "officer",
            Some(json!({ "name": "过时的修改" })),
            &[("if-match", &first.etag())],
        )
        .await;
    assert_eq!(stale.status, 412, "{}", stale.text);
    assert_eq!(stale.json["current_etag"], edited.etag());
    assert_eq!(
        projects_digest(&app.db).await,
        before,
        "a stale edit changes nothing"
    );

    // Another county's officer finds no such project.
    let other = app
        .send(
            "PATCH",
            &path,
            "officer2",
            Some(json!({ "name": "越权" })),
            &[("if-match", &edited.etag())],
        )
        .await;
    assert_eq!(other.status, 404);

    let history = get(&app, &format!("{path}/history"), "officer").await;
    let last = history.json.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["kind"], "edited");
    assert_eq!(last["actor"], "officer");
    let fields: Vec<&str> = last["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["name", "planned_start"]);
    assert_eq!(last["changes"][0]["from"], "汉滨区标准化厂房");
}

async fn record_start(app: &TestApp, project: &str, day: &str) {
    let current = get(app, &format!("/api/v1/projects/{project}"), "officer").await;
    let recorded = app
        .send(
            "POST",
            &format!("/api/v1/projects/{project}/start"),
            "officer",
            Some(json!({ "started_on": day })),
            &[("if-match", &current.etag())],
        )
        .await;
    assert_eq!(recorded.status, 200, "{}", recorded.text);
}

/// A municipal new-start key project of 汉滨区, designated by the leader; returns its id.
async fn municipal_key_project(app: &TestApp, name: &str) -> String {
    let created = app
        .send(
            "POST",
            "/api/v1/projects",
            "officer",
            Some(json!({ "name": name, "county_code": "610902", "category": "industry", "year": 2026 })),
            &[],
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.json["id"].as_str().unwrap().to_owned();
    app.designate(&id, "municipal", "industry", &created.etag()).await;
    id
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_closed_quarters_start_rate_is_frozen_and_a_later_start_shows_as_a_correction_beside_it(
    pool: PgPool,
) {
    let app = TestApp::new(pool).await;
    app.clock.set(local(2026, 3, 10, 9));
    let early = municipal_key_project(&app, "A 早开工项目").await;
    let late = municipal_key_project(&app, "B 晚登记项目").await;
    record_start(&app, &early, "2026-03-05").await;

    // 2 April: Q1 has closed. The first read freezes it: 1 of 2 started.
    app.clock.set(local(2026, 4, 2, 9));
    let report = get(&app, "/api/v1/reports/start-rates?year=2026", "leader").await;
    let q1 = &report.json["quarters"][0];
    assert_eq!(q1["frozen"], true, "{}", report.text);
    let hanbin = &q1["counties"][0];
    assert_eq!(
        (hanbin["started"].as_u64(), hanbin["projects"].as_u64()),
        (Some(1), Some(2))
    );
    assert_eq!(hanbin["frozen_on"], "2026-04-02");
    assert_eq!(hanbin["correction"], Value::Null);
    assert_eq!(report.json["quarters"][1]["frozen"], false, "Q2 is open");
    let frozen_rows: i64 = sqlx::query_scalar("select count(*) from start_rate_freezes where year = 2026")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(frozen_rows, 10, "Q1 of each of the ten counties");

    // 10 April: B's start, dated 28 March, is recorded late. Q1 keeps its figure; the late
    // start is a correction beside it.
    app.clock.set(local(2026, 4, 10, 9));
    record_start(&app, &late, "2026-03-28").await;
    for who in ["leader", "officer"] {
        let report = get(&app, "/api/v1/reports/start-rates?year=2026", who).await;
        let q1 = &report.json["quarters"][0];
        let hanbin = &q1["counties"][0];
        assert_eq!(
            (hanbin["started"].as_u64(), hanbin["percent"].as_f64()),
            (Some(1), Some(50.0)),
            "{who}: the frozen figure stays: {}",
            report.text
        );
        assert_eq!(hanbin["frozen_on"], "2026-04-02");
        let correction = &hanbin["correction"];
        assert_eq!(
            (correction["started"].as_u64(), correction["percent"].as_f64()),
            (Some(2), Some(100.0)),
            "{who}: {}",
            report.text
        );
        assert_eq!(correction["changes"].as_array().unwrap().len(), 1);
        assert_eq!(correction["changes"][0]["id"], json!(late));
        assert_eq!(correction["changes"][0]["kind"], "start_recorded_later");
        assert_eq!(correction["changes"][0]["frozen_started_on"], Value::Null);
        assert_eq!(correction["changes"][0]["started_on"], "2026-03-28");
        assert_eq!(q1["total"]["started"].as_u64(), Some(1));
        assert_eq!(q1["total"]["correction"]["started"].as_u64(), Some(2));
    }
    // The spreadsheet forms carry the correction beside the frozen figure too.
    let csv = get(&app, "/api/v1/reports/start-rates?year=2026&format=csv", "leader").await;
    let header: Vec<&str> = csv
        .text
        .trim_start_matches('\u{feff}')
        .lines()
        .next()
        .unwrap()
        .split(',')
        .collect();
    let row: Vec<&str> = csv
        .text
        .lines()
        .find(|l| l.contains(",Q1,") && l.contains(",610902,"))
        .unwrap_or_else(|| panic!("no Q1 line of 610902: {}", csv.text))
        .split(',')
        .collect();
    let cell = |name: &str| row[header.iter().position(|h| *h == name).unwrap()];
    assert_eq!(
        (cell("started"), cell("percent")),
        ("1", "50"),
        "the frozen figure: {}",
        csv.text
    );
    assert_eq!(
        (
            cell("corrected_started"),
            cell("corrected_percent"),
            cell("corrected_goal_met")
        ),
        ("2", "100", "true")
    );
    assert!(
        cell("corrections").ends_with("(start_recorded_later)"),
        "{}",
        csv.text
    );
    assert!(!cell("frozen_on").is_empty());
    let xlsx = app
        .get_bytes("/api/v1/reports/start-rates?year=2026&format=xlsx", "leader")
        .await;
    let mut book: calamine::Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx)).unwrap();
    let sheet = calamine::Reader::worksheet_range(&mut book, "start rates").unwrap();
    let titles: Vec<String> = sheet
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect();
    let at = |name: &str| titles.iter().position(|t| t == name).unwrap();
    let line = sheet.rows().find(|r| r[2] == "Q1" && r[6] == "610902").unwrap();
    assert_eq!(line[at("corrected_started")].to_string(), "2");
    assert!(line[at("corrections")]
        .to_string()
        .ends_with("(start_recorded_later)"));

    // Q2 is open: B counts as started there.
    let report = get(&app, "/api/v1/reports/start-rates?year=2026", "leader").await;
    assert_eq!(report.json["quarters"][1]["total"]["started"].as_u64(), Some(2));

    // Nothing rewrote the frozen figure, and nothing can.
    let again: i64 = sqlx::query_scalar("select count(*) from start_rate_freezes where year = 2026")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(again, 10);
    let rewrite = sqlx::query("update start_rate_freezes set goal_percent = 0")
        .execute(&app.db)
        .await;
    assert!(rewrite.is_err(), "frozen figures are append-only");
}

#[sqlx::test(migrations = "../../migrations")]
async fn the_sweeper_freezes_a_quarter_once_just_after_it_closes(pool: PgPool) {
    let app = TestApp::new(pool).await;
    app.clock.set(local(2026, 3, 10, 9));
    let project = municipal_key_project(&app, "C 一季度项目").await;
    let sweeper = common::app_pool(&app.db);

    // On Q1's last day only last year's quarters are closed: a start dated that day may still
    // come.
    let last_day = sweep_once(&sweeper, local(2026, 3, 31, 23)).await;
    assert_eq!(
        last_day.start_rates_frozen, 40,
        "2025's four quarters of ten counties"
    );
    // Half an hour into 1 April: Q1 of each of the ten counties.
    let first = sweep_once(&sweeper, local(2026, 4, 1, 0) + chrono::TimeDelta::minutes(30)).await;
    assert_eq!(first.start_rates_frozen, 10);
    let again = sweep_once(&sweeper, local(2026, 4, 1, 1)).await;
    assert_eq!(again.start_rates_frozen, 0, "a figure is taken once");

    // A read later shows that figure, with the start recorded afterwards beside it.
    app.clock.set(local(2026, 4, 3, 9));
    record_start(&app, &project, "2026-03-30").await;
    let report = get(&app, "/api/v1/reports/start-rates?year=2026", "leader").await;
    let hanbin = &report.json["quarters"][0]["counties"][0];
    assert_eq!(hanbin["frozen_on"], "2026-04-01");
    assert_eq!(hanbin["started"].as_u64(), Some(0), "{}", report.text);
    assert_eq!(hanbin["correction"]["started"].as_u64(), Some(1));
}

async fn sweep_once(pool: &PgPool, at: DateTime<Utc>) -> landuse_api::timers::sweep::SweepReport {
    let settings = landuse_api::timers::TimerSettings::from_args(&common::timer_args(&[])).unwrap();
    landuse_api::timers::sweep::sweep_once(pool, at, &settings)
        .await
        .unwrap()
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_stored_level_the_domain_does_not_know_is_a_500_never_a_default(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let project = app.project(true).await;
    sqlx::query("alter table projects drop constraint projects_level_known")
        .execute(&app.db)
        .await
        .unwrap();
    sqlx::query("update projects set level = 'galactic' where id = $1::uuid")
        .bind(&project)
        .execute(&app.db)
        .await
        .unwrap();
    let read = app
        .send(
            "GET",
            &format!("/api/v1/projects/{project}"),
            "officer",
            None,
            &[],
        )
        .await;
    assert_eq!(read.status, 500, "{}", read.text);
    assert!(!read.text.contains("galactic"), "the cause is logged, not sent");
    let report = app
        .send(
            "GET",
            "/api/v1/reports/start-rates?year=2026",
            "leader",
            None,
            &[],
        )
        .await;
    assert_eq!(report.status, 500, "{}", report.text);
}
