//! The weekly dispatch: a snapshot over a known set of cases gives the expected counts per
//! county and stage, the same in JSON, CSV and the .xlsx the office circulates.
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

use crate::common;

use std::io::Cursor;

use calamine::{open_workbook_from_rs, Data, Reader, Xlsx};
use chrono::{DateTime, TimeZone, Utc};
use common::TestApp;
use landuse_api::{
    config::TimerArgs,
    timers::{sweep::sweep_once, TimerSettings},
};
use landuse_domain::calendar::BUREAU_OFFSET;
use serde_json::{json, Value};

fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    BUREAU_OFFSET
        .with_ymd_and_hms(y, m, d, h, min, 0)
        .unwrap()
        .with_timezone(&Utc)
}

fn settings() -> TimerSettings {
    TimerSettings::from_args(&TimerArgs {
        webhook_secret: None,
        ..common::timer_args(&[])
    })
    .unwrap()
}

/// Opens and submits a case at `at` as `who` (officer of 610902, officer2 of 610921), on a key
/// project (green channel) or not. Returns the case id and its ETag.
async fn submit_at(app: &TestApp, at: DateTime<Utc>, who: &str, county: &str, key: bool) -> (String, String) {
    app.clock.set(at);
    let project = app
        .send(
            "POST",
            "/api/v1/projects",
            who,
            Some(json!({
                "name": if key { "安康机场连接线" } else { "标准化厂房" },
                "county_code": county,
                "category": if key { "infrastructure" } else { "industry" },
                "year": 2026
            })),
            &[],
        )
        .await;
    assert_eq!(project.status, 201, "{}", project.text);
    if key {
        // The list is the bureau's: the leader designates the key project.
        app.designate(
            project.json["id"].as_str().unwrap(),
            "provincial",
            "transport",
            &project.etag(),
        )
        .await;
    }
    let case = app
        .send(
            "POST",
            "/api/v1/cases",
            who,
            Some(json!({ "project_id": project.json["id"], "title": "一期用地" })),
            &[],
        )
        .await;
    assert_eq!(case.status, 201, "{}", case.text);
    let id = case.json["id"].as_str().unwrap().to_owned();
    let submitted = app.act(&id, who, "submit", &case.etag(), None).await;
    assert_eq!(submitted.status, 200, "{}", submitted.text);
    (id, submitted.etag())
}

/// The JSON row of `county` and `stage`, as (opened, cleared, still open, due soon, overdue,
/// green open).
fn figures(rows: &Value, county: &str, stage: &str) -> (u64, u64, u64, u64, u64, u64) {
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["county_code"] == county && r["stage"] == stage)
        .unwrap_or_else(|| panic!("no row for {county} {stage}: {rows}"));
    let n = |k: &str| row[k].as_u64().unwrap();
    (
        n("opened"),
        n("cleared"),
        n("still_open"),
        n("due_soon"),
        n("overdue"),
        n("green_open"),
    )
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_dispatch_snapshot_over_known_cases_gives_the_expected_counts_in_json_csv_and_xlsx(
    pool: sqlx::PgPool,
) {
    let app = TestApp::new(pool).await;
    let settings = settings();
    // The week counted is Monday 2026-07-06 09:00 to Monday 2026-07-13 09:00 (+08:00).
    // 汉滨区 (610902), acceptance:
    //   - submitted 06-15, due 07-06: overdue at the snapshot;
    //   - submitted 06-29, due 07-20: seven days left, due soon;
    //   - submitted 07-07 on a key project: opened this week, on the green channel;
    //   - submitted 07-07 and advanced 07-08: opened and cleared this week, and it opens a
    //     pre-review item this week.
    // 汉阴县 (610921): one submitted 07-08. And one submitted after the snapshot, not counted.
    submit_at(&app, local(2026, 6, 15, 10, 0), "officer", "610902", false).await;
    submit_at(&app, local(2026, 6, 29, 10, 0), "officer", "610902", false).await;
    submit_at(&app, local(2026, 7, 7, 10, 0), "officer", "610902", true).await;
    let (moved, etag) = submit_at(&app, local(2026, 7, 7, 11, 0), "officer", "610902", false).await;
    app.clock.set(local(2026, 7, 8, 10, 0));
    assert_eq!(
        app.act(&moved, "reviewer", "advance", &etag, None).await.status,
        200
    );
    submit_at(&app, local(2026, 7, 8, 11, 0), "officer2", "610921", false).await;

    // The sweep after Monday 09:00 takes the snapshot; later sweeps that week take no other.
    let taken = sweep_once(&app.db, local(2026, 7, 13, 9, 5), &settings)
        .await
        .unwrap();
    let snapshot = taken.snapshot.expect("the Monday snapshot is taken");
    submit_at(&app, local(2026, 7, 14, 10, 0), "officer", "610902", false).await;
    let again = sweep_once(&app.db, local(2026, 7, 14, 10, 5), &settings)
        .await
        .unwrap();
    assert_eq!(again.snapshot, None);

    let list = app.send("GET", "/api/v1/dispatch", "leader", None, &[]).await;
    assert_eq!(list.status, 200, "{}", list.text);
    let first = &list.json["items"][0];
    assert_eq!(first["id"], snapshot.to_string());
    assert_eq!(first["period_end"], "2026-07-13T01:00:00Z");
    assert_eq!(
        (
            first["opened"].as_i64(),
            first["cleared"].as_i64(),
            first["still_open"].as_i64()
        ),
        (Some(4), Some(1), Some(5))
    );
    assert_eq!(first["counties_not_cleared"], 1);

    let path = format!("/api/v1/dispatch/{snapshot}");
    let report = app.send("GET", &path, "leader", None, &[]).await;
    assert_eq!(report.status, 200, "{}", report.text);
    let rows = &report.json["rows"];
    assert_eq!(rows.as_array().unwrap().len(), 3, "{rows}");
    assert_eq!(figures(rows, "610902", "accepted"), (2, 1, 3, 1, 1, 1));
    assert_eq!(figures(rows, "610902", "pre_review"), (1, 0, 1, 0, 0, 0));
    assert_eq!(figures(rows, "610921", "accepted"), (1, 0, 1, 0, 0, 0));
    let share = rows[0]["green_share"].as_f64().unwrap();
    assert!((share - 1.0 / 3.0).abs() < 1e-9, "{share}");
    let counties = report.json["counties"].as_array().unwrap();
    let county = |code: &str| counties.iter().find(|c| c["county_code"] == code).unwrap();
    assert_eq!(county("610902")["cleared_to_zero"], false);
    assert_eq!(county("610902")["still_open"], 4);
    assert_eq!(county("610921")["cleared_to_zero"], true);
    assert!(
        counties.len() > 2,
        "every county is listed, cleared to zero when it has nothing"
    );
    assert!(counties
        .iter()
        .filter(|c| c["county_code"] != "610902")
        .all(|c| c["cleared_to_zero"] == true));

    // CSV, by Accept: the same figures, each county's total on its `all` line.
    let csv = app
        .send("GET", &path, "leader", None, &[("accept", "text/csv")])
        .await;
    assert_eq!(csv.status, 200);
    assert!(csv.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert!(csv.headers["content-disposition"]
        .to_str()
        .unwrap()
        .contains("dispatch-2026-07-13.csv"));
    let lines: Vec<&str> = csv.text.trim_start_matches('\u{feff}').lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.contains(",610902,汉滨区,accepted,2,1,3,1,1,1,0.3333,false")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains(",610902,汉滨区,all,3,1,4,1,1,1,0.2500,false")),
        "{lines:?}"
    );
    assert!(lines
        .iter()
        .any(|l| l.contains(",610921,") && l.contains(",all,1,0,1,0,0,0,0.0000,true")));

    // The .xlsx opens with a reader and holds the same figures.
    let xlsx = app
        .send("GET", &format!("{path}?format=xlsx"), "leader", None, &[])
        .await;
    assert_eq!(xlsx.status, 200);
    assert_eq!(
        xlsx.headers["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let bytes = {
        use http_body_util::BodyExt;
        use tower::ServiceExt;
        let request = axum::http::Request::get(format!("{path}?format=xlsx"))
            .header("authorization", format!("Bearer {}", app.tokens["leader"]))
            .body(axum::body::Body::empty())
            .unwrap();
        let response = app.router.clone().oneshot(request).await.unwrap();
        response.into_body().collect().await.unwrap().to_bytes()
    };
    let mut book: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes.to_vec())).unwrap();
    let sheet = book.worksheet_range("调度").unwrap();
    let text = |cell: &Data| match cell {
        Data::String(s) => s.clone(),
        other => other.to_string(),
    };
    let number = |cell: &Data| match cell {
        Data::Float(f) => *f,
        Data::Int(i) => *i as f64,
        other => panic!("not a number: {other:?}"),
    };
    let header = sheet.rows().find(|r| text(&r[0]) == "县（市、区）代码").unwrap();
    assert_eq!(text(&header[3]), "本周新增");
    let find = |county: &str, stage: &str| {
        sheet
            .rows()
            .find(|r| text(&r[0]) == county && text(&r[2]) == stage)
            .unwrap_or_else(|| panic!("no {county} {stage} line"))
            .to_vec()
    };
    let accepted = find("610902", "受理");
    assert_eq!(text(&accepted[1]), "汉滨区");
    let counts: Vec<f64> = accepted[3..9].iter().map(number).collect();
    assert_eq!(counts, [2.0, 1.0, 3.0, 1.0, 1.0, 1.0]);
    assert!((number(&accepted[9]) - 1.0 / 3.0).abs() < 1e-9);
    assert_eq!(text(&accepted[10]), "否");
    let pre_review = find("610902", "用地预审与选址");
    assert_eq!(
        pre_review[3..9].iter().map(number).collect::<Vec<_>>(),
        [1.0, 0.0, 1.0, 0.0, 0.0, 0.0]
    );
    assert_eq!(text(&find("610921", "合计")[10]), "是");
    let summary = book.worksheet_range("清零").unwrap();
    let hanyin = summary.rows().find(|r| text(&r[0]) == "610921").unwrap();
    assert_eq!(text(&hanyin[5]), "是");
    let hanbin = summary.rows().find(|r| text(&r[0]) == "610902").unwrap();
    assert_eq!(
        (number(&hanbin[2]), number(&hanbin[4]), text(&hanbin[5])),
        (4.0, 1.0, "否".to_owned())
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn an_officer_reads_only_their_countys_dispatch_lines_and_a_gis_client_none(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    submit_at(&app, local(2026, 7, 7, 10, 0), "officer", "610902", false).await;
    submit_at(&app, local(2026, 7, 8, 10, 0), "officer2", "610921", false).await;
    let snapshot = sweep_once(&app.db, local(2026, 7, 13, 9, 0), &settings())
        .await
        .unwrap()
        .snapshot
        .unwrap();
    let path = format!("/api/v1/dispatch/{snapshot}");
    let mine = app.send("GET", &path, "officer", None, &[]).await;
    assert_eq!(mine.status, 200);
    let codes = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|r| r["county_code"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(codes(&mine.json["rows"]), ["610902"]);
    assert_eq!(codes(&mine.json["counties"]), ["610902"]);
    let theirs = app.send("GET", &path, "officer2", None, &[]).await;
    assert_eq!(codes(&theirs.json["rows"]), ["610921"]);
    let listed = app.send("GET", "/api/v1/dispatch", "officer2", None, &[]).await;
    assert_eq!(listed.json["items"][0]["opened"], 1);
    assert_eq!(app.send("GET", &path, "gis", None, &[]).await.status, 403);
    let missing = format!("/api/v1/dispatch/{}", uuid::Uuid::nil());
    assert_eq!(app.send("GET", &missing, "leader", None, &[]).await.status, 404);
    let wrong = app
        .send("GET", &format!("{path}?format=pdf"), "leader", None, &[])
        .await;
    assert_eq!(wrong.status, 422);
}
