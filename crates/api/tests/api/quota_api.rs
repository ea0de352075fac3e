//! The ledgers through the HTTP API: refusals as problem documents with their figures, county
//! scoping, If-Match and Idempotency-Key, the start-rate report in its three formats, and the
//! `landuse quota import` command.
#![allow(clippy::unwrap_used, clippy::too_many_lines)]

use crate::common;

use std::io::Cursor;

use calamine::{open_workbook_from_rs, Data, Reader, Xlsx};
use common::TestApp;
use serde_json::{json, Value};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// The test app; `app()` serves the ledgers beside the workflow under `/api/v1`.
async fn ledger_app(pool: PgPool) -> TestApp {
    TestApp::new(pool).await
}

/// A project of `county` (municipal, on the key list, a new start of 2026) and one case of it
/// in `stage`; returns (project, case).
async fn seed_case(conn: &mut PgConnection, county: &str, stage: &str, key: bool) -> (Uuid, Uuid) {
    let project = Uuid::now_v7();
    sqlx::query(
        "insert into projects (id, name, county_code, level, category, on_key_list, new_start, year,
                               planned_start, responsible_leader)
         values ($1, $2, $3, 'municipal', 'infrastructure', $4, true, 2026, '2026-02-01', '李副局长')",
    )
    .bind(project)
    .bind(format!("项目 {project}"))
    .bind(county)
    .bind(key)
    .execute(&mut *conn)
    .await
    .unwrap();
    let case = Uuid::now_v7();
    sqlx::query(
        "insert into cases (id, project_id, county_code, title, stage) values ($1, $2, $3, '一期', $4)",
    )
    .bind(case)
    .bind(project)
    .bind(county)
    .bind(stage)
    .execute(&mut *conn)
    .await
    .unwrap();
    (project, case)
}

async fn set_quota(app: &TestApp, holder: &str, mu: f64, if_match: Option<&str>) -> common::Answer {
    let headers: Vec<(&str, &str)> = if_match.map(|e| ("if-match", e)).into_iter().collect();
    app.send(
        "PUT",
        &format!("/api/v1/quotas/2026/{holder}"),
        "admin",
        Some(json!({ "granted_mu": mu, "reason": "2026 plan" })),
        &headers,
    )
    .await
}

#[sqlx::test(migrations = "../../migrations")]
async fn two_allocations_racing_over_http_give_one_201_and_one_409_with_the_figures(pool: PgPool) {
    let app = ledger_app(pool).await;
    let set = set_quota(&app, "610902", 10.0, None).await;
    assert_eq!(set.status, 200, "{}", set.text);
    let mut conn = app.db.acquire().await.unwrap();
    let (_, a) = seed_case(&mut conn, "610902", "conversion", false).await;
    let (_, b) = seed_case(&mut conn, "610902", "conversion", false).await;
    let ask = |case: Uuid| json!({ "case_id": case, "year": 2026, "mu": 10 });
    let (ra, rb) = tokio::join!(
        app.send(
            "POST",
            "/api/v1/quotas/allocations",
            "reviewer",
            Some(ask(a)),
            &[]
        ),
        app.send(
            "POST",
            "/api/v1/quotas/allocations",
            "reviewer",
            Some(ask(b)),
            &[]
        )
    );
    let mut statuses = [ra.status, rb.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409], "{} / {}", ra.text, rb.text);
    let loser = if ra.status == 409 { ra } else { rb };
    assert_eq!(loser.headers["content-type"], "application/problem+json");
    assert_eq!(
        loser.json["type"],
        "https://landuse.invalid/problems/quota-insufficient"
    );
    assert_eq!(loser.json["available_mu"], 0.0);
    assert_eq!(loser.json["short_by_mu"], 10.0);

    let waiting = app
        .send("GET", "/api/v1/quotas/waiting?year=2026", "reviewer", None, &[])
        .await;
    let list = waiting.json.as_array().unwrap();
    assert_eq!(list.len(), 1, "the loser's request is kept: it waits");
    assert_eq!(list[0]["next_step"], "transfer_from_pool");

    let account = app
        .send("GET", "/api/v1/quotas/2026/610902", "reviewer", None, &[])
        .await;
    assert_eq!(account.json["account"]["balance_mu"], 0.0);
    assert_eq!(account.json["movements"].as_array().unwrap().len(), 2);
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_retried_allocation_with_the_same_idempotency_key_allocates_once(pool: PgPool) {
    let app = ledger_app(pool).await;
    set_quota(&app, "610902", 10.0, None).await;
    let mut conn = app.db.acquire().await.unwrap();
    let (_, case) = seed_case(&mut conn, "610902", "conversion", false).await;
    let body = json!({ "case_id": case, "year": 2026, "mu": 4 });
    let key = [("idempotency-key", "alloc-1")];
    let first = app
        .send(
            "POST",
            "/api/v1/quotas/allocations",
            "reviewer",
            Some(body.clone()),
            &key,
        )
        .await;
    let again = app
        .send("POST", "/api/v1/quotas/allocations", "reviewer", Some(body), &key)
        .await;
    assert_eq!((first.status, again.status), (201, 201), "{}", again.text);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    let quota = app
        .send(
            "GET",
            &format!("/api/v1/cases/{case}/quota"),
            "officer",
            None,
            &[],
        )
        .await;
    assert_eq!(quota.json["held"]["mu"], 4.0);
    assert_eq!(quota.json["movements"].as_array().unwrap().len(), 1);
}

#[sqlx::test(migrations = "../../migrations")]
async fn the_yearly_amount_needs_if_match_once_the_account_exists_and_only_an_admin_sets_it(pool: PgPool) {
    let app = ledger_app(pool).await;
    let created = set_quota(&app, "pool", 300.0, None).await;
    assert_eq!(created.status, 200, "{}", created.text);
    let etag = created.etag();
    assert_eq!(set_quota(&app, "pool", 350.0, None).await.status, 428);
    assert_eq!(set_quota(&app, "pool", 350.0, Some("\"v0\"")).await.status, 412);
    let changed = set_quota(&app, "pool", 350.0, Some(&etag)).await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(changed.json["granted_mu"], 350.0);
    assert_ne!(changed.etag(), etag);
    let by_reviewer = app
        .send(
            "PUT",
            "/api/v1/quotas/2026/pool",
            "reviewer",
            Some(json!({ "granted_mu": 1 })),
            &[],
        )
        .await;
    assert_eq!(by_reviewer.status, 403);
    let bad = set_quota(&app, "610902", 1.234, None).await;
    assert_eq!(
        (bad.status, bad.json["field"].as_str()),
        (422, Some("granted_mu"))
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn officers_see_only_their_countys_ledgers_and_only_a_reviewer_transfers(pool: PgPool) {
    let app = ledger_app(pool).await;
    set_quota(&app, "610902", 10.0, None).await;
    set_quota(&app, "610921", 20.0, None).await;
    set_quota(&app, "pool", 100.0, None).await;
    let mine = app
        .send("GET", "/api/v1/quotas?year=2026", "officer", None, &[])
        .await;
    let holders: Vec<&str> = mine
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["holder"].as_str().unwrap())
        .collect();
    assert_eq!(holders, ["610902"]);
    let theirs = app
        .send("GET", "/api/v1/quotas/2026/610921", "officer", None, &[])
        .await;
    assert_eq!(
        theirs.status, 404,
        "another county's account does not exist for an officer"
    );

    let transfer =
        json!({ "year": 2026, "from": "pool", "to": "610921", "mu": 15.5, "reason": "安康机场连接线" });
    let by_officer = app
        .send(
            "POST",
            "/api/v1/quotas/transfers",
            "officer",
            Some(transfer.clone()),
            &[],
        )
        .await;
    assert_eq!(by_officer.status, 403);
    let done = app
        .send(
            "POST",
            "/api/v1/quotas/transfers",
            "reviewer",
            Some(transfer),
            &[],
        )
        .await;
    assert_eq!(done.status, 201, "{}", done.text);
    assert_eq!(done.json["into"]["balance_after_mu"], 35.5);
    let sideways = json!({ "year": 2026, "from": "610902", "to": "610921", "mu": 1, "reason": "x" });
    let refused = app
        .send(
            "POST",
            "/api/v1/quotas/transfers",
            "reviewer",
            Some(sideways),
            &[],
        )
        .await;
    assert_eq!(
        (refused.status, refused.json["type"].as_str()),
        (
            422,
            Some("https://landuse.invalid/problems/quota-transfer-not-via-pool")
        )
    );

    let mut conn = app.db.acquire().await.unwrap();
    let (_, other_case) = seed_case(&mut conn, "610921", "conversion", false).await;
    let hidden = app
        .send(
            "GET",
            &format!("/api/v1/cases/{other_case}/quota"),
            "officer",
            None,
            &[],
        )
        .await;
    assert_eq!(hidden.status, 404);
}

#[sqlx::test(migrations = "../../migrations")]
async fn an_offset_lock_covers_the_check_or_answers_409_naming_what_falls_short(pool: PgPool) {
    let app = ledger_app(pool).await;
    let registered = app
        .send(
            "POST",
            "/api/v1/offsets",
            "officer",
            Some(json!({
                "county_code": "610902",
                "source_project": "汉滨区2025年高标准农田建设项目",
                "source_ref": "安自然资发〔2025〕18号",
                "area_m2": 3000, "paddy_m2": 1000, "capacity_kg": 2000
            })),
            &[],
        )
        .await;
    assert_eq!(registered.status, 201, "{}", registered.text);
    let indicator = registered.json["id"].as_str().unwrap().to_owned();
    let mut conn = app.db.acquire().await.unwrap();
    let (_, case) = seed_case(&mut conn, "610902", "conversion", false).await;
    common::confirmed_check(&mut conn, case, 1500.0, 500.0).await;

    let short = app
        .send(
            "POST",
            &format!("/api/v1/cases/{case}/offset/lock"),
            "reviewer",
            Some(json!({ "capacity_kg": 2500 })),
            &[],
        )
        .await;
    assert_eq!(short.status, 409, "{}", short.text);
    assert_eq!(
        short.json["type"],
        "https://landuse.invalid/problems/offset-shortfall"
    );
    let shortfalls = short.json["shortfalls"].as_array().unwrap();
    let named: Vec<(&str, f64)> = shortfalls
        .iter()
        .map(|s| (s["quantity"].as_str().unwrap(), s["short_by"].as_f64().unwrap()))
        .collect();
    assert_eq!(named, [("paddy", 500.0), ("capacity", 500.0)]);

    let locked = app
        .send(
            "POST",
            &format!("/api/v1/cases/{case}/offset/lock"),
            "reviewer",
            Some(json!({ "capacity_kg": 2000 })),
            &[],
        )
        .await;
    assert_eq!(locked.status, 409, "paddy still falls short: {}", locked.text);
    // Another indicator with paddy arrives, and the lock goes through.
    app.send(
        "POST",
        "/api/v1/offsets",
        "reviewer",
        Some(json!({ "county_code": "610902", "source_project": "旱改水项目", "area_m2": 600, "paddy_m2": 600, "capacity_kg": 0 })),
        &[],
    )
    .await;
    let locked = app
        .send(
            "POST",
            &format!("/api/v1/cases/{case}/offset/lock"),
            "reviewer",
            Some(json!({ "capacity_kg": 2000 })),
            &[],
        )
        .await;
    assert_eq!(locked.status, 201, "{}", locked.text);
    assert_eq!(
        locked.json["locked"],
        json!({ "area_m2": 2000.0, "paddy_m2": 1500.0, "capacity_kg": 2000.0 })
    );
    let view = app
        .send(
            "GET",
            &format!("/api/v1/cases/{case}/offset"),
            "officer",
            None,
            &[],
        )
        .await;
    assert_eq!(view.json["in_place"], true);
    assert_eq!(view.json["needs_from_check"]["area_m2"], 2000.0);

    let released = app
        .send(
            "POST",
            &format!("/api/v1/cases/{case}/offset/release"),
            "reviewer",
            Some(json!({ "reason": "parcel redrawn" })),
            &[],
        )
        .await;
    assert_eq!(released.status, 200, "{}", released.text);
    assert_eq!(
        released.json["released"],
        json!({ "area_m2": 2000.0, "paddy_m2": 1500.0, "capacity_kg": 2000.0 })
    );
    let back = app
        .send(
            "GET",
            &format!("/api/v1/offsets/{indicator}"),
            "reviewer",
            None,
            &[],
        )
        .await;
    assert_eq!(
        back.json["indicator"]["available"],
        back.json["indicator"]["registered"]
    );

    // A transfer needs the indicator's ETag.
    let to_hanyin = json!({ "to_county": "610921", "reason": "统筹调剂" });
    let no_etag = app
        .send(
            "POST",
            &format!("/api/v1/offsets/{indicator}/transfers"),
            "reviewer",
            Some(to_hanyin.clone()),
            &[],
        )
        .await;
    assert_eq!(no_etag.status, 428);
    let nowhere = json!({ "to_county": "610921*", "reason": "汉阴县占补平衡" });
    let unknown_county = app
        .send(
            "POST",
            &format!("/api/v1/offsets/{indicator}/transfers"),
            "reviewer",
            Some(nowhere),
            &[("if-match", "\"v999\"")],
        )
        .await;
    assert_eq!(
        (unknown_county.status, unknown_county.json["type"].as_str()),
        (422, Some("https://landuse.invalid/problems/unknown-county")),
        "a body the contract refuses is refused before the precondition: {}",
        unknown_county.text
    );
    let moved = app
        .send(
            "POST",
            &format!("/api/v1/offsets/{indicator}/transfers"),
            "reviewer",
            Some(to_hanyin),
            &[("if-match", &back.etag())],
        )
        .await;
    assert_eq!(moved.status, 201, "{}", moved.text);
    assert_eq!(moved.json["to"]["county_code"], "610921");
    assert_eq!(moved.json["to"]["available"]["area_m2"], 3000.0);
    let gone = app
        .send(
            "GET",
            &format!("/api/v1/offsets/{indicator}"),
            "officer",
            None,
            &[],
        )
        .await;
    assert_eq!(gone.json["indicator"]["available"]["area_m2"], 0.0);
}

async fn record_start(app: &TestApp, project: Uuid, day: &str, who: &str) -> common::Answer {
    let current = app
        .send("GET", &format!("/api/v1/projects/{project}"), who, None, &[])
        .await;
    app.send(
        "POST",
        &format!("/api/v1/projects/{project}/start"),
        who,
        Some(json!({ "started_on": day })),
        &[("if-match", &current.etag())],
    )
    .await
}

async fn raw_get(app: &TestApp, path: &str, who: &str, accept: &str) -> (u16, String, Vec<u8>) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let request = axum::http::Request::get(path)
        .header("authorization", format!("Bearer {}", app.tokens[who]))
        .header("accept", accept)
        .body(axum::body::Body::empty())
        .unwrap();
    let response = app.router.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    let bytes = response.into_body().collect().await.unwrap().to_bytes().to_vec();
    (status, content_type, bytes)
}

#[sqlx::test(migrations = "../../migrations")]
async fn the_start_rate_report_on_a_known_project_set_gives_the_expected_percentages(pool: PgPool) {
    let app = ledger_app(pool).await;
    let mut conn = app.db.acquire().await.unwrap();
    // 汉滨区 5 projects: 4 start in Q1, 1 in Q2. 汉阴县 4 projects: 2 in Q1, 1 in Q2, 1 never.
    let mut hanbin = Vec::new();
    for _ in 0..5 {
        hanbin.push(seed_case(&mut conn, "610902", "draft", true).await.0);
    }
    let mut hanyin = Vec::new();
    for _ in 0..4 {
        hanyin.push(seed_case(&mut conn, "610921", "draft", true).await.0);
    }
    // Neither counts: a continuing project and a county-level one.
    let (continuing, _) = seed_case(&mut conn, "610902", "draft", true).await;
    sqlx::query("update projects set new_start = false where id = $1")
        .bind(continuing)
        .execute(&mut *conn)
        .await
        .unwrap();
    let (county_level, _) = seed_case(&mut conn, "610902", "draft", true).await;
    sqlx::query("update projects set level = 'county' where id = $1")
        .bind(county_level)
        .execute(&mut *conn)
        .await
        .unwrap();

    for (project, day) in hanbin.iter().zip([
        "2026-01-15",
        "2026-02-20",
        "2026-03-10",
        "2026-03-31",
        "2026-04-01",
    ]) {
        let r = record_start(&app, *project, day, "officer").await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    for (project, day) in hanyin.iter().zip(["2026-03-01", "2026-03-30", "2026-06-30"]) {
        assert_eq!(record_start(&app, *project, day, "reviewer").await.status, 200);
    }
    // Scoping, If-Match and dates in the future.
    assert_eq!(
        record_start(&app, hanyin[3], "2026-03-01", "officer")
            .await
            .status,
        404
    );
    let stale = app
        .send(
            "POST",
            &format!("/api/v1/projects/{}/start", hanbin[0]),
            "officer",
            Some(json!({ "started_on": "2026-01-16" })),
            &[("if-match", "\"v1\"")],
        )
        .await;
    assert_eq!(stale.status, 412);
    let future = record_start(&app, hanyin[3], "2999-01-01", "reviewer").await;
    assert_eq!(
        (future.status, future.json["type"].as_str()),
        (422, Some("https://landuse.invalid/problems/start-in-the-future"))
    );

    let path = "/api/v1/reports/start-rates?year=2026&as_of=2026-07-15";
    let report = app.send("GET", path, "leader", None, &[]).await;
    assert_eq!(report.status, 200, "{}", report.text);
    let q1 = &report.json["quarters"][0];
    assert_eq!(
        (q1["quarter"].as_str(), q1["goal_percent"].as_u64()),
        (Some("q1"), Some(80))
    );
    let rate = |line: &Value| {
        (
            line["county"].clone(),
            line["started"].as_u64().unwrap(),
            line["projects"].as_u64().unwrap(),
            line["percent"].as_f64().unwrap(),
            line["goal_met"].as_bool().unwrap(),
        )
    };
    assert_eq!(rate(&q1["counties"][0]), (json!("610902"), 4, 5, 80.0, true));
    assert_eq!(rate(&q1["counties"][1]), (json!("610921"), 2, 4, 50.0, false));
    assert_eq!(rate(&q1["total"]), (Value::Null, 6, 9, 66.7, false));
    let q2 = &report.json["quarters"][1];
    assert_eq!(rate(&q2["counties"][0]), (json!("610902"), 5, 5, 100.0, true));
    assert_eq!(rate(&q2["counties"][1]), (json!("610921"), 3, 4, 75.0, false));
    assert_eq!(rate(&q2["total"]), (Value::Null, 8, 9, 88.9, false));
    let not_started = &q2["counties"][1]["not_started"];
    assert_eq!(not_started.as_array().unwrap().len(), 1);
    assert_eq!(not_started[0]["responsible_leader"], "李副局长");

    let officer = app.send("GET", path, "officer", None, &[]).await;
    assert_eq!(
        officer.json["quarters"][0]["counties"].as_array().unwrap().len(),
        1,
        "an officer sees their county only"
    );

    let (status, content_type, bytes) = raw_get(&app, path, "leader", "text/csv").await;
    assert_eq!((status, content_type.as_str()), (200, "text/csv; charset=utf-8"));
    let csv = String::from_utf8(bytes).unwrap();
    let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').lines().collect();
    assert!(lines[0].starts_with("year,as_of,quarter,"));
    assert!(
        lines[1].starts_with("2026,2026-07-15,Q1,2026-03-31,true,80,610902,汉滨区,5,4,80,true,"),
        "{}",
        lines[1]
    );
    assert!(lines[3].contains(",全市,9,6,66.7,false,"), "{}", lines[3]);

    let (status, content_type, bytes) = raw_get(&app, &format!("{path}&format=xlsx"), "leader", "*/*").await;
    assert_eq!(status, 200);
    assert_eq!(
        content_type,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let mut book: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes)).unwrap();
    let rates = book.worksheet_range("start rates").unwrap();
    let row: Vec<String> = rates
        .rows()
        .nth(2)
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(&row[6..11], ["610921", "汉阴县", "4", "2", "50"]);
    let missing = book.worksheet_range("not started").unwrap();
    let q2_rows: Vec<&[Data]> = missing
        .rows()
        .filter(|r| r[0] == Data::String("Q2".into()))
        .collect();
    assert_eq!(q2_rows.len(), 1);
    assert_eq!(q2_rows[0][5], Data::String("李副局长".into()));

    let bad = app
        .send("GET", &format!("{path}&format=pdf"), "leader", None, &[])
        .await;
    assert_eq!(bad.status, 422);
}

#[sqlx::test(migrations = "../../migrations")]
async fn the_quota_import_command_reports_bad_lines_and_stores_nothing_until_all_are_good(pool: PgPool) {
    let mut conn = pool.acquire().await.unwrap();
    landuse_api::admin::seed(&mut conn).await.unwrap();
    let url = common::url_of(&pool.connect_options());
    let dir = std::env::temp_dir().join(format!("quota-import-{}", Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("quotas.csv");
    let run = |file: &std::path::Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_landuse"))
            .args(["quota", "import", "--year", "2026", "--file"])
            .arg(file)
            .env("DATABASE_URL", &url)
            .output()
            .unwrap()
    };

    std::fs::write(&file, "county_code,mu\n610902,1200\n610921,12.345\n999999,5\n").unwrap();
    let out = run(&file);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("line 3"), "{stderr}");
    let stored: i64 = sqlx::query_scalar("select count(*) from quota_accounts")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(stored, 0, "nothing is stored when any line is wrong");

    std::fs::write(&file, "county_code,mu\n610902,1200\n610921,12.34\npool,500\n").unwrap();
    let out = run(&file);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("imported 3 quota lines for 2026"));
    let granted: Vec<(String, f64)> =
        sqlx::query_as("select holder, granted_mu::float8 from quota_accounts order by holder")
            .fetch_all(&mut *conn)
            .await
            .unwrap();
    assert_eq!(
        granted,
        [
            ("610902".into(), 1200.0),
            ("610921".into(), 12.34),
            ("pool".into(), 500.0)
        ]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Needs the workflow wired to the ledgers: `workflow::guarantees` calling
/// `quota::guarantees::{case_guarantees, release_for_closed_case}`. Until then the workflow's
/// stub answers "nothing allocated, nothing locked" and the case stays in conversion.
#[sqlx::test(migrations = "../../migrations")]
async fn a_case_moves_from_pre_review_to_completed_only_once_quota_and_offset_are_in_place(pool: PgPool) {
    let app = ledger_app(pool).await;
    set_quota(&app, "610902", 100.0, None).await;
    app.send(
        "POST",
        "/api/v1/offsets",
        "reviewer",
        Some(json!({ "county_code": "610902", "source_project": "土地整治项目", "area_m2": 5000, "paddy_m2": 2000, "capacity_kg": 4000 })),
        &[],
    )
    .await;
    let project = app.project(true).await;
    let (case, etag) = app.case(&project).await;
    let a = app.act(&case, "officer", "submit", &etag, None).await;
    let b = app.act(&case, "reviewer", "advance", &a.etag(), None).await;
    assert_eq!(b.json["stage"], "pre_review", "{}", b.text);
    let case_id: Uuid = case.parse().unwrap();
    let mut conn = app.db.acquire().await.unwrap();
    common::confirmed_check(&mut conn, case_id, 1200.0, 800.0).await;
    let facts = |etag: String, body: Value| {
        let app = &app;
        let case = case.clone();
        async move {
            app.send(
                "POST",
                &format!("/api/v1/cases/{case}/facts"),
                "reviewer",
                Some(body),
                &[("if-match", &etag)],
            )
            .await
        }
    };
    let f = facts(
        b.etag(),
        json!({ "pre_review_opinion": "用字第610902202600001号" }),
    )
    .await;
    let c = app.act(&case, "reviewer", "advance", &f.etag(), None).await;
    assert_eq!(c.json["stage"], "conversion", "{}", c.text);
    let f = facts(c.etag(), json!({ "conversion_approval": "陕政土批〔2026〕12号" })).await;

    let refused = app.act(&case, "reviewer", "advance", &f.etag(), None).await;
    assert_eq!(
        (refused.status, refused.json["rule"].as_str()),
        (409, Some("quota-short"))
    );
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
    let refused = app.act(&case, "reviewer", "advance", &f.etag(), None).await;
    assert_eq!(
        (refused.status, refused.json["rule"].as_str()),
        (409, Some("offset-not-locked"))
    );
    let locked = app
        .send(
            "POST",
            &format!("/api/v1/cases/{case}/offset/lock"),
            "reviewer",
            Some(json!({ "capacity_kg": 1500 })),
            &[],
        )
        .await;
    assert_eq!(locked.status, 201, "{}", locked.text);
    let d = app.act(&case, "reviewer", "advance", &f.etag(), None).await;
    assert_eq!(d.json["stage"], "supply", "{}", d.text);
    let f = facts(
        d.etag(),
        json!({ "supply_decision": { "method": "allocation", "industrial": false, "standard_land_indicators_present": false } }),
    )
    .await;
    let e = app.act(&case, "reviewer", "advance", &f.etag(), None).await;
    assert_eq!(e.json["stage"], "registration", "{}", e.text);
    let f = facts(
        e.etag(),
        json!({ "certificate_number": "陕(2026)安康市不动产权第0000001号" }),
    )
    .await;
    let done = app.act(&case, "reviewer", "advance", &f.etag(), None).await;
    assert_eq!(done.json["stage"], "completed", "{}", done.text);

    // A second case (of a project of its own: a project's second live case must be one of its
    // phases), rejected in conversion, gives its quota back.
    let second = app.project(true).await;
    let (other, etag) = app.case(&second).await;
    let a = app.act(&other, "officer", "submit", &etag, None).await;
    let b = app.act(&other, "reviewer", "advance", &a.etag(), None).await;
    app.send(
        "POST",
        "/api/v1/quotas/allocations",
        "reviewer",
        Some(json!({ "case_id": other, "year": 2026, "mu": 7 })),
        &[],
    )
    .await;
    let before = app
        .send("GET", "/api/v1/quotas/2026/610902", "reviewer", None, &[])
        .await;
    assert_eq!(
        before.json["account"]["balance_mu"], 78.0,
        "15 mu consumed, 7 held"
    );
    let rejected = app
        .act(&other, "reviewer", "reject", &b.etag(), Some("不符合供地政策"))
        .await;
    assert_eq!(rejected.json["stage"], "rejected", "{}", rejected.text);
    let after = app
        .send("GET", "/api/v1/quotas/2026/610902", "reviewer", None, &[])
        .await;
    assert_eq!(
        after.json["account"]["balance_mu"], 85.0,
        "the rejected case's 7 mu are back"
    );
}

/// Registers an offset indicator of 汉滨区 as a reviewer.
async fn register_indicator(app: &TestApp, source: &str, area: f64, paddy: f64, capacity: f64) {
    let registered = app
        .send(
            "POST",
            "/api/v1/offsets",
            "reviewer",
            Some(json!({ "county_code": "610902", "source_project": source, "area_m2": area, "paddy_m2": paddy, "capacity_kg": capacity })),
            &[],
        )
        .await;
    assert_eq!(registered.status, 201, "{}", registered.text);
}

/// The case's current ETag.
async fn etag_of(app: &TestApp, case: &str) -> String {
    app.send("GET", &format!("/api/v1/cases/{case}"), "reviewer", None, &[])
        .await
        .etag()
}

/// What the county's indicators have left, summed: (area, paddy, capacity).
async fn indicators_left(app: &TestApp) -> (f64, f64, f64) {
    let list = app
        .send("GET", "/api/v1/offsets?county=610902", "reviewer", None, &[])
        .await;
    list.json
        .as_array()
        .unwrap()
        .iter()
        .fold((0.0, 0.0, 0.0), |(a, p, c), i| {
            let left = &i["available"];
            (
                a + left["area_m2"].as_f64().unwrap(),
                p + left["paddy_m2"].as_f64().unwrap(),
                c + left["capacity_kg"].as_f64().unwrap(),
            )
        })
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_lock_made_before_the_parcels_changed_follows_the_new_check_and_the_approval_names_each_shortfall(
    pool: PgPool,
) {
    let app = ledger_app(pool).await;
    set_quota(&app, "610902", 1000.0, None).await;
    register_indicator(&app, "土地整治项目", 5000.0, 2000.0, 4000.0).await;
    let project = app.project(false).await;
    let (case, etag) = app.case(&project).await;
    let a = app.act(&case, "officer", "submit", &etag, None).await;
    let b = app.act(&case, "reviewer", "advance", &a.etag(), None).await;
    assert_eq!(b.json["stage"], "pre_review", "{}", b.text);
    let case_id: Uuid = case.parse().unwrap();
    let mut conn = app.db.acquire().await.unwrap();
    common::confirmed_check(&mut conn, case_id, 1200.0, 800.0).await;
    let facts = |body: Value| {
        let app = &app;
        let case = case.clone();
        async move {
            let etag = etag_of(app, &case).await;
            let answer = app
                .send(
                    "POST",
                    &format!("/api/v1/cases/{case}/facts"),
                    "reviewer",
                    Some(body),
                    &[("if-match", &etag)],
                )
                .await;
            assert_eq!(answer.status, 200, "{}", answer.text);
            answer
        }
    };
    let f = facts(json!({ "pre_review_opinion": "用字第610902202600002号" })).await;
    let c = app.act(&case, "reviewer", "advance", &f.etag(), None).await;
    assert_eq!(c.json["stage"], "conversion", "{}", c.text);
    facts(json!({ "conversion_approval": "陕政土批〔2026〕21号" })).await;
    let allocate = || {
        app.send(
            "POST",
            "/api/v1/quotas/allocations",
            "reviewer",
            Some(json!({ "case_id": case, "year": 2026 })),
            &[],
        )
    };
    assert_eq!(allocate().await.status, 201);
    let lock_path = format!("/api/v1/cases/{case}/offset/lock");
    let lock = || {
        app.send(
            "POST",
            &lock_path,
            "reviewer",
            Some(json!({ "capacity_kg": 1500 })),
            &[],
        )
    };
    let locked = lock().await;
    assert_eq!(locked.status, 201, "{}", locked.text);

    // The parcels change and a new check finds fifty times the cultivated land; a planner
    // confirms it. The lock follows as far as the county's indicators reach: here not at all.
    let measured = common::Measured {
        case: 200_000.0,
        paddy: 60_000.0,
        dry: 40_000.0,
        construction: 0.0,
    };
    let bigger = common::stored_check(&mut conn, case_id, measured, false).await;
    let confirmed = app
        .send(
            "POST",
            &format!("/api/v1/cases/{case}/checks/{bigger}/confirm"),
            "planner",
            None,
            &[("if-match", &etag_of(&app, &case).await)],
        )
        .await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.text);
    let offset = app
        .send(
            "GET",
            &format!("/api/v1/cases/{case}/offset"),
            "reviewer",
            None,
            &[],
        )
        .await;
    assert_eq!(
        offset.json["needed"],
        json!({ "area_m2": 100_000.0, "paddy_m2": 60_000.0, "capacity_kg": 1500.0 })
    );
    assert_eq!(offset.json["locked"]["area_m2"], 2000.0, "{}", offset.text);

    let refused = app
        .act(&case, "reviewer", "advance", &etag_of(&app, &case).await, None)
        .await;
    assert_eq!(
        (refused.status, refused.json["rule"].as_str()),
        (409, Some("quota-short")),
        "{}",
        refused.text
    );
    assert_eq!(
        refused.json["detail"],
        "the case holds 15.00 mu of construction-land quota and needs 300.00 mu: 285.00 mu short"
    );
    let released = app
        .send(
            "POST",
            &format!("/api/v1/cases/{case}/quota/release"),
            "reviewer",
            Some(json!({ "reason": "the parcels were redrawn" })),
            &[],
        )
        .await;
    assert_eq!(released.status, 200, "{}", released.text);
    assert_eq!(allocate().await.status, 201);
    let refused = app
        .act(&case, "reviewer", "advance", &etag_of(&app, &case).await, None)
        .await;
    assert_eq!(
        (refused.status, refused.json["rule"].as_str()),
        (409, Some("offset-short")),
        "{}",
        refused.text
    );
    let detail = refused.json["detail"].as_str().unwrap();
    assert!(
        detail.contains("cultivated area short by 98000.00 m²"),
        "{detail}"
    );
    assert!(detail.contains("paddy area short by 58800.00 m²"), "{detail}");
    assert!(
        !detail.contains("grain capacity"),
        "the capacity is covered: {detail}"
    );

    // More indicators arrive; locking again tops the lock up, and the approval consumes it all.
    register_indicator(&app, "高标准农田建设项目", 100_000.0, 60_000.0, 0.0).await;
    assert_eq!(lock().await.status, 201);
    let supply = app
        .act(&case, "reviewer", "advance", &etag_of(&app, &case).await, None)
        .await;
    assert_eq!(supply.json["stage"], "supply", "{}", supply.text);
    let quota = app
        .send(
            "GET",
            &format!("/api/v1/cases/{case}/quota"),
            "reviewer",
            None,
            &[],
        )
        .await;
    assert_eq!(
        quota.json["position"],
        json!({ "needed_mu": 300.0, "held_mu": 0.0, "consumed_mu": 300.0 })
    );
    let offset = app
        .send(
            "GET",
            &format!("/api/v1/cases/{case}/offset"),
            "reviewer",
            None,
            &[],
        )
        .await;
    assert_eq!(
        (
            offset.json["locked"]["area_m2"].as_f64(),
            offset.json["consumed"]["area_m2"].as_f64()
        ),
        (Some(0.0), Some(100_000.0))
    );

    // Rejected after its approval, the case gives back neither quota nor offset.
    let balance = |json: &Value| json["account"]["balance_mu"].as_f64();
    let before = app
        .send("GET", "/api/v1/quotas/2026/610902", "reviewer", None, &[])
        .await;
    assert_eq!(balance(&before.json), Some(700.0));
    let left_before = indicators_left(&app).await;
    assert_eq!(
        left_before,
        (5000.0, 2000.0, 2500.0),
        "105,000 m² registered, 100,000 consumed"
    );
    let rejected = app
        .act(
            &case,
            "reviewer",
            "reject",
            &supply.etag(),
            Some("供地条件未落实"),
        )
        .await;
    assert_eq!(rejected.json["stage"], "rejected", "{}", rejected.text);
    let after = app
        .send("GET", "/api/v1/quotas/2026/610902", "reviewer", None, &[])
        .await;
    assert_eq!(balance(&after.json), Some(700.0), "consumed quota never returns");
    assert_eq!(
        indicators_left(&app).await,
        left_before,
        "consumed offsets never return"
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn what_a_case_needs_is_its_area_less_existing_construction_land_and_a_typed_amount_cannot_be_less(
    pool: PgPool,
) {
    let app = ledger_app(pool).await;
    set_quota(&app, "610902", 100.0, None).await;
    let mut conn = app.db.acquire().await.unwrap();
    let (_, case) = seed_case(&mut conn, "610902", "pre_review", false).await;
    let unknown = app
        .send(
            "POST",
            "/api/v1/quotas/requests",
            "officer",
            Some(json!({ "case_id": case, "year": 2026 })),
            &[],
        )
        .await;
    assert_eq!(unknown.status, 409, "{}", unknown.text);
    assert_eq!(
        unknown.json["type"],
        "https://landuse.invalid/problems/quota-need-unknown"
    );
    // 10,000 m² of parcels, a quarter of them on a village plot: 7,500 m² are new, 11.25 mu.
    let measured = common::Measured {
        case: 10_000.0,
        construction: 2_500.0,
        ..common::Measured::default()
    };
    common::stored_check(&mut conn, case, measured, true).await;
    let typed = app
        .send(
            "POST",
            "/api/v1/quotas/requests",
            "officer",
            Some(json!({ "case_id": case, "year": 2026, "mu": 11.24 })),
            &[],
        )
        .await;
    assert_eq!(typed.status, 422, "{}", typed.text);
    assert!(
        typed.json["detail"].as_str().unwrap().contains("11.25 mu"),
        "{}",
        typed.text
    );
    let requested = app
        .send(
            "POST",
            "/api/v1/quotas/requests",
            "officer",
            Some(json!({ "case_id": case, "year": 2026 })),
            &[],
        )
        .await;
    assert_eq!(requested.status, 200, "{}", requested.text);
    assert_eq!(requested.json["mu"], 11.25);
    let waiting = app
        .send("GET", "/api/v1/quotas/waiting", "reviewer", None, &[])
        .await;
    let row = waiting
        .json
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["case_id"] == json!(case))
        .unwrap()
        .clone();
    assert_eq!(
        (
            row["mu"].as_f64(),
            row["needed_mu"].as_f64(),
            row["below_need_mu"].as_f64()
        ),
        (Some(11.25), Some(11.25), Some(0.0))
    );
    let view = app
        .send(
            "GET",
            &format!("/api/v1/cases/{case}/quota"),
            "officer",
            None,
            &[],
        )
        .await;
    assert_eq!(
        view.json["position"],
        json!({ "needed_mu": 11.25, "held_mu": 0.0, "consumed_mu": 0.0 })
    );
    assert_eq!(view.json["shortfall_mu"], 11.25);
    let allocated = app
        .send(
            "POST",
            "/api/v1/quotas/allocations",
            "reviewer",
            Some(json!({ "case_id": case })),
            &[],
        )
        .await;
    assert_eq!(allocated.status, 201, "{}", allocated.text);
    let view = app
        .send(
            "GET",
            &format!("/api/v1/cases/{case}/quota"),
            "officer",
            None,
            &[],
        )
        .await;
    assert_eq!(view.json["shortfall_mu"], 0.0);
    let case_view = app
        .send("GET", &format!("/api/v1/cases/{case}"), "officer", None, &[])
        .await;
    assert_eq!(
        case_view.json["quota"],
        json!({ "needed_mu": 11.25, "held_mu": 11.25, "consumed_mu": 0.0, "shortfall_mu": 0.0 })
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn stored_documents_or_check_reports_that_do_not_parse_are_errors_and_nothing_is_written_back(
    pool: PgPool,
) {
    let app = ledger_app(pool).await;
    register_indicator(&app, "土地整治项目", 5000.0, 2000.0, 4000.0).await;
    let mut conn = app.db.acquire().await.unwrap();
    let (_, case) = seed_case(&mut conn, "610902", "conversion", false).await;
    // Documents written by an older version (a number where text belongs).
    let corrupt = json!({ "pre_review_opinion": 12, "conversion_approval": "陕政土批〔2026〕3号" });
    sqlx::query("update cases set facts = $2 where id = $1")
        .bind(case)
        .bind(&corrupt)
        .execute(&mut *conn)
        .await
        .unwrap();
    let etag = etag_of(&app, &case.to_string()).await;
    let recorded = app
        .send(
            "POST",
            &format!("/api/v1/cases/{case}/facts"),
            "reviewer",
            Some(json!({ "certificate_number": "x" })),
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(recorded.status, 500, "{}", recorded.text);
    assert!(recorded.json["trace_id"].is_string());
    let stored: Value = sqlx::query_scalar("select facts from cases where id = $1")
        .bind(case)
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(stored, corrupt, "the old documents are not lost");

    // A check report without its measurements is not "nothing to lock".
    let check = common::confirmed_check(&mut conn, case, 1000.0, 0.0).await;
    sqlx::query("update checks set report = '{\"layers\": []}' where id = $1")
        .bind(check)
        .execute(&mut *conn)
        .await
        .unwrap();
    let lock = app
        .send(
            "POST",
            &format!("/api/v1/cases/{case}/offset/lock"),
            "reviewer",
            Some(json!({ "capacity_kg": 100 })),
            &[],
        )
        .await;
    assert_eq!(lock.status, 500, "{}", lock.text);
    let movements: i64 = sqlx::query_scalar("select count(*) from offset_movements where case_id = $1")
        .bind(case)
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(movements, 0);

    // A green-channel grant that does not parse does not quietly take the case off the channel.
    sqlx::query("update cases set green_grant = '{\"by\": 5}' where id = $1")
        .bind(case)
        .execute(&mut *conn)
        .await
        .unwrap();
    let view = app
        .send("GET", &format!("/api/v1/cases/{case}"), "reviewer", None, &[])
        .await;
    assert_eq!(view.status, 500, "{}", view.text);
    assert!(view.json["trace_id"].is_string());
}

/// The ledger figures the invariants are stated over, read as the owner (no scope).
#[derive(Debug, Clone, PartialEq)]
struct Books {
    balance: f64,
    granted: f64,
    held_and_consumed: f64,
    registered: (f64, f64, f64),
    available: (f64, f64, f64),
    locked_and_consumed: (f64, f64, f64),
}

async fn books(conn: &mut PgConnection) -> Books {
    let (balance, granted): (f64, f64) = sqlx::query_as(
        "select balance_mu::float8, granted_mu::float8 from quota_accounts where holder = '610902' and year = 2026",
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    let held_and_consumed: f64 = sqlx::query_scalar(
        "select coalesce(-sum(delta_mu), 0)::float8 from quota_movements
          where holder = '610902' and year = 2026 and kind in ('allocate', 'release', 'consume')",
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    let triple = |sql: &'static str| sqlx::query_as::<_, (f64, f64, f64)>(sql);
    let registered = triple(
        "select sum(area_m2)::float8, sum(paddy_m2)::float8, sum(capacity_kg)::float8 from offset_indicators",
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    let available = triple(
        "select sum(area_m2)::float8, sum(paddy_m2)::float8, sum(capacity_kg)::float8 from offset_balances",
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    let locked_and_consumed = triple(
        "select coalesce(sum(case kind when 'lock' then area_m2 when 'release' then -area_m2 else 0 end), 0)::float8,
                coalesce(sum(case kind when 'lock' then paddy_m2 when 'release' then -paddy_m2 else 0 end), 0)::float8,
                coalesce(sum(case kind when 'lock' then capacity_kg when 'release' then -capacity_kg else 0 end), 0)::float8
           from offset_movements",
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    Books {
        balance,
        granted,
        held_and_consumed,
        registered,
        available,
        locked_and_consumed,
    }
}

/// A check's measurements as random as a county's cases: 2,000 to 12,000 m², up to 4,000 m²
/// of it cultivated (part paddy), up to 1,500 m² on existing construction land.
fn random_measure(rng: &mut rand_chacha::ChaCha8Rng) -> common::Measured {
    use rand::Rng;
    let cultivated = rng.random_range(0.0..4000.0_f64).round();
    let paddy = (cultivated * rng.random_range(0.0..1.0_f64)).round();
    common::Measured {
        case: rng.random_range(2000.0..12000.0_f64).round(),
        paddy,
        dry: cultivated - paddy,
        construction: rng.random_range(0.0..1500.0_f64).round(),
    }
}

/// What one case has consumed of quota (mu) and offset (area m²).
async fn consumed_by(app: &TestApp, case: &str) -> (f64, f64, Value, Value) {
    let quota = app
        .send(
            "GET",
            &format!("/api/v1/cases/{case}/quota"),
            "reviewer",
            None,
            &[],
        )
        .await;
    let offset = app
        .send(
            "GET",
            &format!("/api/v1/cases/{case}/offset"),
            "reviewer",
            None,
            &[],
        )
        .await;
    (
        quota.json["position"]["consumed_mu"].as_f64().unwrap(),
        offset.json["consumed"]["area_m2"].as_f64().unwrap(),
        quota.json["position"].clone(),
        offset.json.clone(),
    )
}

#[sqlx::test(migrations = "../../migrations")]
async fn random_sequences_of_ledger_actions_never_overdraw_never_return_what_was_consumed_and_never_approve_short(
    pool: PgPool,
) {
    use rand::{Rng, SeedableRng};
    let app = ledger_app(pool).await;
    set_quota(&app, "610902", 60.0, None).await;
    register_indicator(&app, "土地整治项目甲", 6000.0, 3000.0, 3000.0).await;
    register_indicator(&app, "土地整治项目乙", 4000.0, 500.0, 2000.0).await;
    let mut conn = app.db.acquire().await.unwrap();
    let mut stats = std::collections::BTreeMap::<&str, (u32, u32)>::new();
    let mut approvals = 0;
    for seed in 0..6_u64 {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut cases = Vec::new();
        for _ in 0..3 {
            // Each case of a project of its own: a project's second live case is a phase.
            let project = app.project(false).await;
            let (case, etag) = app.case(&project).await;
            let a = app.act(&case, "officer", "submit", &etag, None).await;
            app.act(&case, "reviewer", "advance", &a.etag(), None).await;
            let etag = etag_of(&app, &case).await;
            app.send(
                "POST",
                &format!("/api/v1/cases/{case}/facts"),
                "reviewer",
                Some(json!({ "pre_review_opinion": "用字第1号", "conversion_approval": "陕政土批〔2026〕1号" })),
                &[("if-match", &etag)],
            )
            .await;
            common::stored_check(&mut conn, case.parse().unwrap(), random_measure(&mut rng), true).await;
            cases.push(case);
        }
        let mut consumed_seen: std::collections::HashMap<String, (f64, f64)> =
            std::collections::HashMap::new();
        for step in 0..30 {
            let case = cases[rng.random_range(0..cases.len())].clone();
            let id: Uuid = case.parse().unwrap();
            // Weighted so that cases often get as far as their approval: closing is rare.
            let action = match rng.random_range(0..16) {
                0 => 0,
                1 => 1,
                2 | 3 => 2,
                4 => 3,
                5 | 6 | 15 => 4,
                7 => 5,
                14 => 8,
                _ => 6,
            };
            let (name, answer) = match action {
                0 => {
                    // The parcels change: a new check, confirmed by a planner.
                    let check = common::stored_check(&mut conn, id, random_measure(&mut rng), false).await;
                    let etag = etag_of(&app, &case).await;
                    (
                        "recheck",
                        app.send(
                            "POST",
                            &format!("/api/v1/cases/{case}/checks/{check}/confirm"),
                            "planner",
                            None,
                            &[("if-match", &etag)],
                        )
                        .await,
                    )
                }
                1 => (
                    "request",
                    app.send(
                        "POST",
                        "/api/v1/quotas/requests",
                        "officer",
                        Some(json!({ "case_id": case, "year": 2026 })),
                        &[],
                    )
                    .await,
                ),
                2 => (
                    "allocate",
                    app.send(
                        "POST",
                        "/api/v1/quotas/allocations",
                        "reviewer",
                        Some(json!({ "case_id": case, "year": 2026 })),
                        &[],
                    )
                    .await,
                ),
                3 => (
                    "release quota",
                    app.send(
                        "POST",
                        &format!("/api/v1/cases/{case}/quota/release"),
                        "reviewer",
                        Some(json!({ "reason": "redo" })),
                        &[],
                    )
                    .await,
                ),
                4 => {
                    let capacity = rng.random_range(0.0..1500.0_f64).round();
                    (
                        "lock",
                        app.send(
                            "POST",
                            &format!("/api/v1/cases/{case}/offset/lock"),
                            "reviewer",
                            Some(json!({ "capacity_kg": capacity })),
                            &[],
                        )
                        .await,
                    )
                }
                5 => (
                    "release offset",
                    app.send(
                        "POST",
                        &format!("/api/v1/cases/{case}/offset/release"),
                        "reviewer",
                        Some(json!({ "reason": "redo" })),
                        &[],
                    )
                    .await,
                ),
                6 | 7 => {
                    let etag = etag_of(&app, &case).await;
                    (
                        "advance",
                        app.act(&case, "reviewer", "advance", &etag, None).await,
                    )
                }
                _ => {
                    let etag = etag_of(&app, &case).await;
                    if rng.random_bool(0.5) {
                        (
                            "reject",
                            app.act(&case, "reviewer", "reject", &etag, Some("不予批准"))
                                .await,
                        )
                    } else {
                        (
                            "withdraw",
                            app.act(&case, "officer", "withdraw", &etag, Some("撤回")).await,
                        )
                    }
                }
            };
            assert!(
                answer.status < 500,
                "seed {seed} step {step} {name}: {}",
                answer.text
            );
            if std::env::var("LEDGER_SEQ_DEBUG").is_ok() && answer.status >= 300 {
                eprintln!("{name}: {}", answer.text);
            }
            let entry = stats.entry(name).or_default();
            if answer.status < 300 {
                entry.0 += 1;
            } else {
                entry.1 += 1;
            }

            // Balances never negative, and the ledger explains them.
            let b = books(&mut conn).await;
            assert!(b.balance >= 0.0, "seed {seed} step {step}: {b:?}");
            assert!(
                (b.granted - b.held_and_consumed - b.balance).abs() < 0.005,
                "seed {seed} step {step} {name}: {b:?}"
            );
            for (registered, (available, out)) in [
                (b.registered.0, (b.available.0, b.locked_and_consumed.0)),
                (b.registered.1, (b.available.1, b.locked_and_consumed.1)),
                (b.registered.2, (b.available.2, b.locked_and_consumed.2)),
            ] {
                assert!(
                    available >= 0.0 && (registered - available - out).abs() < 0.005,
                    "seed {seed} step {step} {name}: {b:?}"
                );
            }
            // Consumed never returns; an approval never with less held or locked than needed.
            for case in &cases {
                let (quota, area, position, offset) = consumed_by(&app, case).await;
                let seen = consumed_seen.entry(case.clone()).or_insert((0.0, 0.0));
                assert!(
                    quota >= seen.0 && area >= seen.1,
                    "seed {seed} step {step} {name}: consumed went down for {case}"
                );
                *seen = (quota, area);
                if name == "advance"
                    && answer.status == 200
                    && answer.json["stage"] == "supply"
                    && &answer.json["id"] == case
                {
                    approvals += 1;
                    let needed = position["needed_mu"].as_f64().unwrap();
                    assert!(
                        quota >= needed,
                        "seed {seed} step {step}: approved with {quota} of {needed} mu"
                    );
                    for (q, need) in ["area_m2", "paddy_m2", "capacity_kg"]
                        .iter()
                        .map(|q| (q, offset["needed"][q].as_f64().unwrap_or(0.0)))
                    {
                        assert!(
                            offset["consumed"][q].as_f64().unwrap() >= need,
                            "seed {seed} step {step}: approved short on {q}: {offset}"
                        );
                    }
                }
            }
        }
    }
    // The sequences reached every action, and each both ways where it can be refused.
    for name in [
        "recheck",
        "request",
        "allocate",
        "release quota",
        "lock",
        "release offset",
        "advance",
    ] {
        assert!(
            stats.get(name).is_some_and(|(ok, _)| *ok > 0),
            "{name} never succeeded: {stats:?}"
        );
    }
    assert!(stats["advance"].1 > 0, "no approval was ever refused: {stats:?}");
    assert!(approvals > 0, "no conversion was ever approved: {stats:?}");
    eprintln!("{approvals} approvals; actions (done, refused): {stats:?}");
}
