//! Reads from a real PostgreSQL streaming standby (issue 23), run by `make replica-test`.
//!
//! These tests stop and start the project-local primary and its standby (scripts/db.sh,
//! scripts/replica.sh), so they are `#[ignore]`d by a plain `cargo test` and run one at a time
//! by `make replica-test` with `--ignored --test-threads=1`. `LANDUSE_TEST_STANDBY_URL`
//! (`postgres://postgres@127.0.0.1:55433`, the standby's server without a database) must be set;
//! a test run without it fails rather than passing without a standby.

use std::{
    process::Command,
    sync::Arc,
    time::{Duration, Instant},
};

use chrono::{TimeZone, Utc};
use landuse_api::{
    app::AppState,
    config::{DatabaseUrl, ReplicaArgs},
    reads::{Lsn, ReadNodes},
};
use serde_json::Value;
use sqlx::{
    postgres::{PgConnectOptions, PgPoolOptions},
    Connection, PgConnection, PgPool,
};

use crate::{
    common::{app_pool, case_in, test_config, url_of, Answer, TestApp, TestServer},
    ogc::parcel,
};

/// How long a read that carries a write's position waits for the standby in these tests.
const WAIT_MS: u64 = 1_000;

/// The standby's server (without a database), from `LANDUSE_TEST_STANDBY_URL`.
fn standby_server() -> String {
    std::env::var("LANDUSE_TEST_STANDBY_URL")
        .expect("LANDUSE_TEST_STANDBY_URL must name the standby (make replica-test sets it)")
        .trim_end_matches('/')
        .to_owned()
}

/// The standby's copy of the database `#[sqlx::test]` made for this test.
fn standby_url(options: &PgConnectOptions) -> String {
    format!("{}/{}", standby_server(), options.get_database().unwrap())
}

fn script(name: &str, action: &str) {
    let path = format!("{}/../../scripts/{name}", env!("CARGO_MANIFEST_DIR"));
    let status = Command::new(&path).arg(action).status().unwrap();
    assert!(status.success(), "{path} {action} failed");
}

/// Starts the primary again even when the test fails half-way, so later tests have it.
struct PrimaryBack;

impl Drop for PrimaryBack {
    fn drop(&mut self) {
        script("db.sh", "start");
    }
}

/// Starts the standby again even when the test fails half-way.
struct StandbyBack;

impl Drop for StandbyBack {
    fn drop(&mut self) {
        script("replica.sh", "start");
    }
}

/// Pauses the standby's replay until dropped: what it serves then is visibly older than the
/// primary, so a test can tell which node answered.
struct ReplayPaused(String);

impl ReplayPaused {
    async fn new(options: &PgConnectOptions) -> Self {
        let url = standby_url(options);
        let mut conn = PgConnection::connect(&url).await.unwrap();
        sqlx::query("select pg_wal_replay_pause()")
            .execute(&mut conn)
            .await
            .unwrap();
        Self(url)
    }
}

impl Drop for ReplayPaused {
    fn drop(&mut self) {
        let status = Command::new("psql")
            .args([self.0.as_str(), "-qtAc", "select pg_wal_replay_resume()"])
            .status()
            .unwrap();
        assert!(status.success(), "the standby's replay could not be resumed");
    }
}

/// The test app with its router reading from the standby: replicas checked every 100 ms, a
/// read-your-writes wait of [`WAIT_MS`], a lag bound of 5 s. Waits until the standby is used.
async fn app_with_standby(pool: PgPool, options: &PgConnectOptions) -> TestApp {
    let mut app = TestApp::new(pool).await;
    let mut config = test_config(&url_of(options));
    config.serve.replicas = ReplicaArgs {
        read_urls: vec![DatabaseUrl::new(standby_url(options))],
        max_lag_ms: 5_000,
        wait_ms: WAIT_MS,
        check_ms: 100,
        replica_pool_size: 4,
    };
    let primary = app_pool(&app.db);
    let reads = ReadNodes::new(primary.clone(), &config.database, &config.serve.replicas).unwrap();
    // The monitor runs until the test's runtime ends.
    let _monitor = reads.spawn_monitor();
    let state = AppState {
        db: primary,
        reads,
        config: Arc::new(config),
        clock: app.clock.clone(),
    };
    app.router = landuse_api::app::app(state);
    wait_for_replica(&app, true).await;
    app
}

/// `/readyz`'s report of the one replica.
async fn replica_report(app: &TestApp) -> (u16, Value) {
    let ready = app.send("GET", "/readyz", "", None, &[]).await;
    (ready.status, ready.json["replicas"][0].clone())
}

/// Waits (at most 30 s) until `/readyz` says the replica is used, or is not.
async fn wait_for_replica(app: &TestApp, used: bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, report) = replica_report(app).await;
        if report["used"] == used {
            return report;
        }
        assert!(
            Instant::now() < deadline,
            "the replica's use never became {used}: {report}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn lsn_of(answer: &Answer) -> String {
    let value = answer
        .headers
        .get("x-landuse-lsn")
        .unwrap_or_else(|| panic!("a write answers with X-Landuse-LSN: {:?}", answer.headers))
        .to_str()
        .unwrap()
        .to_owned();
    Lsn::parse(&value).unwrap();
    value
}

/// How often the standby has scanned `table` (its own statistics: a primary's reads do not
/// count there).
async fn standby_scans(options: &PgConnectOptions, table: &str) -> i64 {
    let mut conn = PgConnection::connect(&standby_url(options)).await.unwrap();
    sqlx::query_scalar(
        "select coalesce(seq_scan, 0) + coalesce(idx_scan, 0) from pg_stat_user_tables where relname = $1",
    )
    .bind(table)
    .fetch_one(&mut conn)
    .await
    .unwrap()
}

async fn new_case(app: &TestApp) -> Answer {
    let project = app
        .send(
            "POST",
            "/api/v1/projects",
            "officer",
            Some(serde_json::json!({
                "name": "汉滨区 工业园", "county_code": "610902", "category": "industry", "year": 2026
            })),
            &[],
        )
        .await;
    assert_eq!(project.status, 201, "{}", project.text);
    lsn_of(&project);
    let case = app
        .send(
            "POST",
            "/api/v1/cases",
            "officer",
            Some(serde_json::json!({ "project_id": project.json["id"], "title": "一期用地" })),
            &[],
        )
        .await;
    assert_eq!(case.status, 201, "{}", case.text);
    case
}

#[tokio::test]
#[ignore = "needs a streaming standby: run by make replica-test"]
async fn the_replica_tests_know_where_the_standby_is() {
    let mut conn = PgConnection::connect(&format!("{}/postgres", standby_server()))
        .await
        .expect("the standby of LANDUSE_TEST_STANDBY_URL answers");
    let in_recovery: bool = sqlx::query_scalar("select pg_is_in_recovery()")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert!(
        in_recovery,
        "LANDUSE_TEST_STANDBY_URL names a standby, not a primary"
    );
}

#[sqlx::test(migrations = "../../migrations")]
#[ignore = "needs a streaming standby: run by make replica-test"]
async fn the_real_binary_reads_database_read_url_and_reports_the_standby_in_readyz(
    _pool_options: PgPoolOptions,
    options: PgConnectOptions,
) {
    let standby = standby_url(&options);
    let server = TestServer::spawn(
        &url_of(&options),
        &[
            ("DATABASE_READ_URL", &format!("{standby},{standby}")),
            ("LANDUSE_REPLICA_CHECK_MS", "100"),
        ],
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ready: Value = server
            .http
            .get(server.url("/readyz"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let replicas = ready["replicas"].as_array().unwrap();
        assert_eq!(replicas.len(), 2, "both URLs of the list are replicas: {ready}");
        if replicas.iter().all(|r| r["used"] == true && r["lag_ms"].is_u64()) {
            break;
        }
        assert!(Instant::now() < deadline, "the standby was never used: {ready}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(server.terminate().success());
}

#[sqlx::test(migrations = "../../migrations")]
#[ignore = "needs a streaming standby: run by make replica-test"]
async fn ogc_reads_are_served_by_the_standby_and_a_read_after_a_write_sees_the_write(
    pool_options: PgPoolOptions,
    options: PgConnectOptions,
) {
    let pool = pool_options.connect_with(options.clone()).await.unwrap();
    let app = app_with_standby(pool.clone(), &options).await;
    let case = case_in(&app, "officer", "610902").await;
    let at = Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap();
    parcel(&pool, case, 1, 109.0, 32.7, at).await;

    // OGC items as the officer: served, and counted by the standby's own statistics.
    let before = standby_scans(&options, "parcels").await;
    for _ in 0..3 {
        let items = app
            .send("GET", "/ogc/collections/parcels/items", "officer", None, &[])
            .await;
        assert_eq!(items.status, 200, "{}", items.text);
        assert_eq!(items.json["numberMatched"], 1, "{}", items.text);
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while standby_scans(&options, "parcels").await <= before {
        assert!(
            Instant::now() < deadline,
            "the standby's statistics never counted a scan of parcels: the OGC reads went elsewhere"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // With the standby's replay paused, a new case is on the primary only. A read without the
    // write's position is served by the standby, which has not seen it; the same read carrying
    // X-Landuse-LSN waits for the standby, then is served by the primary.
    let paused = ReplayPaused::new(&options).await;
    let created = new_case(&app).await;
    let lsn = lsn_of(&created);
    let path = format!("/api/v1/cases/{}", created.json["id"].as_str().unwrap());
    let stale = app.send("GET", &path, "officer", None, &[]).await;
    assert_eq!(
        stale.status, 404,
        "a read without X-Landuse-LSN goes to the standby, whose replay is paused: {}",
        stale.text
    );
    let started = Instant::now();
    let fresh = app
        .send("GET", &path, "officer", None, &[("x-landuse-lsn", &lsn)])
        .await;
    assert_eq!(fresh.status, 200, "a read after a write sees it: {}", fresh.text);
    assert!(
        started.elapsed() >= Duration::from_millis(WAIT_MS),
        "the read waited for the standby before going to the primary"
    );
    drop(paused);

    // Replay resumed: the same read at once, served by the standby once it has caught up.
    let fresh = app
        .send("GET", &path, "officer", None, &[("x-landuse-lsn", &lsn)])
        .await;
    assert_eq!(fresh.status, 200, "{}", fresh.text);
    let (status, report) = replica_report(&app).await;
    assert_eq!(status, 200, "{report}");
    let replayed = Lsn::parse(report["replayed"].as_str().unwrap()).unwrap();
    assert!(replayed >= Lsn::parse(&lsn).unwrap(), "{report}");
    let malformed = app
        .send("GET", &path, "officer", None, &[("x-landuse-lsn", "yesterday")])
        .await;
    assert_eq!(malformed.status, 422, "{}", malformed.text);
}

#[sqlx::test(migrations = "../../migrations")]
#[ignore = "needs a streaming standby: run by make replica-test"]
async fn an_officers_reads_on_the_standby_see_only_their_counties(
    pool_options: PgPoolOptions,
    options: PgConnectOptions,
) {
    let pool = pool_options.connect_with(options.clone()).await.unwrap();
    let app = app_with_standby(pool.clone(), &options).await;
    let mine = case_in(&app, "officer", "610902").await;
    let theirs = case_in(&app, "officer2", "610921").await;
    let at = Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap();
    parcel(&pool, mine, 1, 109.0, 32.7, at).await;
    parcel(&pool, theirs, 1, 108.3, 32.9, at).await;
    // Everything so far replayed, then replay paused: a later case of the officer's county is
    // missing from what the standby serves, which shows the standby served it.
    let mut primary = pool.acquire().await.unwrap();
    let position: String = sqlx::query_scalar("select pg_current_wal_lsn()::text")
        .fetch_one(&mut *primary)
        .await
        .unwrap();
    let probe = app
        .send(
            "GET",
            "/api/v1/cases",
            "officer",
            None,
            &[("x-landuse-lsn", &position)],
        )
        .await;
    assert_eq!(probe.status, 200, "{}", probe.text);
    let _paused = ReplayPaused::new(&options).await;
    let later = case_in(&app, "officer", "610902").await;

    let list = app.send("GET", "/api/v1/cases", "officer", None, &[]).await;
    assert_eq!(list.status, 200, "{}", list.text);
    let ids: Vec<&str> = list.json["items"]
        .as_array()
        .unwrap_or_else(|| panic!("a page of cases: {}", list.text))
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![mine.to_string().as_str()],
        "the standby's cases of the officer's county only"
    );
    assert!(!ids.contains(&later.to_string().as_str()));
    let other = app
        .send("GET", &format!("/api/v1/cases/{theirs}"), "officer", None, &[])
        .await;
    assert_eq!(other.status, 404, "{}", other.text);
    let items = app
        .send("GET", "/ogc/collections/parcels/items", "officer", None, &[])
        .await;
    assert_eq!(items.status, 200, "{}", items.text);
    assert_eq!(items.json["numberMatched"], 1, "{}", items.text);
    assert_eq!(items.json["features"][0]["properties"]["county_code"], "610902");

    // Row-level security itself on the standby: the transaction-local setting is allowed in a
    // read-only transaction there, and without it no county's row is seen.
    let mut standby = PgConnection::connect(&standby_url(&options)).await.unwrap();
    sqlx::query("set role landuse_app")
        .execute(&mut standby)
        .await
        .unwrap();
    let mut tx = standby.begin().await.unwrap();
    let none: i64 = sqlx::query_scalar("select count(*) from cases")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(none, 0, "a transaction that sets no county sees none");
    sqlx::query("select set_config('landuse.counties', '610921', true)")
        .execute(&mut *tx)
        .await
        .unwrap();
    let counties: Vec<String> = sqlx::query_scalar("select distinct county_code from cases")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    assert_eq!(counties, vec!["610921".to_owned()]);
    tx.rollback().await.unwrap();
}

#[sqlx::test(migrations = "../../migrations")]
#[ignore = "needs a streaming standby: run by make replica-test"]
async fn with_the_primary_stopped_reads_answer_from_the_standby_and_writes_503_until_it_returns(
    pool_options: PgPoolOptions,
    options: PgConnectOptions,
) {
    let pool = pool_options.connect_with(options.clone()).await.unwrap();
    let app = app_with_standby(pool.clone(), &options).await;
    let case = case_in(&app, "officer", "610902").await;
    let at = Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap();
    parcel(&pool, case, 1, 109.0, 32.7, at).await;
    let mut primary = pool.acquire().await.unwrap();
    let position: String = sqlx::query_scalar("select pg_current_wal_lsn()::text")
        .fetch_one(&mut *primary)
        .await
        .unwrap();
    drop(primary);
    let path = format!("/api/v1/cases/{case}");
    let seen = app
        .send("GET", &path, "officer", None, &[("x-landuse-lsn", &position)])
        .await;
    assert_eq!(seen.status, 200, "{}", seen.text);

    let back = PrimaryBack;
    script("db.sh", "stop");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, report) = replica_report(&app).await;
        if status == 503
            && report["note"]
                .as_str()
                .is_some_and(|n| n.contains("primary does not answer"))
        {
            assert_eq!(report["used"], true, "{report}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the monitor never noticed the primary stopped: {report}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let read = app.send("GET", &path, "officer", None, &[]).await;
    assert_eq!(
        read.status, 200,
        "a case read answers from the standby: {}",
        read.text
    );
    assert_eq!(read.json["id"], case.to_string());
    let items = app
        .send("GET", "/ogc/collections/parcels/items", "officer", None, &[])
        .await;
    assert_eq!(
        items.status, 200,
        "OGC items answer from the standby: {}",
        items.text
    );
    assert_eq!(items.json["numberMatched"], 1, "{}", items.text);

    let body = serde_json::json!({
        "name": "汉滨区 物流园", "county_code": "610902", "category": "industry", "year": 2026
    });
    let refused = app
        .send("POST", "/api/v1/projects", "officer", Some(body.clone()), &[])
        .await;
    assert_eq!(refused.status, 503, "{}", refused.text);
    assert_eq!(
        refused.headers["content-type"], "application/problem+json",
        "{:?}",
        refused.headers
    );
    assert!(
        refused.headers.contains_key("retry-after"),
        "{:?}",
        refused.headers
    );

    drop(back);
    let deadline = Instant::now() + Duration::from_secs(30);
    let written = loop {
        let answer = app
            .send("POST", "/api/v1/projects", "officer", Some(body.clone()), &[])
            .await;
        if answer.status == 201 {
            break answer;
        }
        assert_eq!(answer.status, 503, "{}", answer.text);
        assert!(
            Instant::now() < deadline,
            "writes never recovered after the primary came back"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let lsn = lsn_of(&written);
    // Nothing lost: the case written before the stop is there, read after the new write.
    let again = app
        .send("GET", &path, "officer", None, &[("x-landuse-lsn", &lsn)])
        .await;
    assert_eq!(again.status, 200, "{}", again.text);
    let (status, _) = replica_report(&app).await;
    assert_eq!(status, 200);
}

#[sqlx::test(migrations = "../../migrations")]
#[ignore = "needs a streaming standby: run by make replica-test"]
async fn with_the_standby_stopped_reads_fall_back_to_the_primary_and_readyz_says_so(
    pool_options: PgPoolOptions,
    options: PgConnectOptions,
) {
    let pool = pool_options.connect_with(options.clone()).await.unwrap();
    let app = app_with_standby(pool.clone(), &options).await;
    let case = case_in(&app, "officer", "610902").await;
    let path = format!("/api/v1/cases/{case}");

    let back = StandbyBack;
    script("replica.sh", "stop");
    // At once, before the monitor has noticed: the read still answers (from the primary).
    for _ in 0..3 {
        let read = app.send("GET", &path, "officer", None, &[]).await;
        assert_eq!(read.status, 200, "{}", read.text);
        let items = app
            .send("GET", "/ogc/collections/parcels/items", "officer", None, &[])
            .await;
        assert_eq!(items.status, 200, "{}", items.text);
    }
    let report = wait_for_replica(&app, false).await;
    assert_eq!(report["reachable"], false, "{report}");
    let (status, _) = replica_report(&app).await;
    assert_eq!(status, 200, "a replica left out is not a reason to be unready");
    let created = new_case(&app).await;
    let read = app
        .send(
            "GET",
            &format!("/api/v1/cases/{}", created.json["id"].as_str().unwrap()),
            "officer",
            None,
            &[("x-landuse-lsn", &lsn_of(&created))],
        )
        .await;
    assert_eq!(read.status, 200, "{}", read.text);

    drop(back);
    let report = wait_for_replica(&app, true).await;
    assert!(report["lag_ms"].as_u64().is_some(), "{report}");
}

/// Sets `max_standby_streaming_delay` on the standby until dropped, so a recovery conflict
/// cancels a read at once instead of after the default 30 s.
struct StandbyDelay(String);

impl StandbyDelay {
    async fn new(options: &PgConnectOptions, delay: &str) -> Self {
        let url = standby_url(options);
        let mut conn = PgConnection::connect(&url).await.unwrap();
        sqlx::query(&format!(
            "alter system set max_standby_streaming_delay = '{delay}'"
        ))
        .execute(&mut conn)
        .await
        .unwrap();
        sqlx::query("select pg_reload_conf()")
            .execute(&mut conn)
            .await
            .unwrap();
        Self(url)
    }
}

impl Drop for StandbyDelay {
    fn drop(&mut self) {
        for statement in [
            "alter system reset max_standby_streaming_delay",
            "select pg_reload_conf()",
        ] {
            let status = Command::new("psql")
                .args([self.0.as_str(), "-qtAc", statement])
                .status()
                .unwrap();
            assert!(status.success(), "the standby's setting could not be reset");
        }
    }
}

/// Polls `sql` (a boolean) on `url` until it is true, at most 20 s, or until `gave_up` says the
/// request under test has already ended.
async fn until(url: &str, sql: &str, gave_up: impl Fn() -> bool) -> bool {
    let mut conn = PgConnection::connect(url).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let done: bool = sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap();
        if done {
            return true;
        }
        if gave_up() || Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[sqlx::test(migrations = "../../migrations")]
#[ignore = "needs a streaming standby: run by make replica-test"]
async fn a_read_the_standby_cancels_for_a_recovery_conflict_is_answered_by_the_primary(
    pool_options: PgPoolOptions,
    options: PgConnectOptions,
) {
    let pool = pool_options.connect_with(options.clone()).await.unwrap();
    let app = Arc::new(app_with_standby(pool.clone(), &options).await);
    let case = case_in(&app, "officer", "610902").await;
    let path = format!("/api/v1/cases/{case}");
    let mut primary = pool.acquire().await.unwrap();
    let position: String = sqlx::query_scalar("select pg_current_wal_lsn()::text")
        .fetch_one(&mut *primary)
        .await
        .unwrap();
    let seen = app
        .send("GET", &path, "officer", None, &[("x-landuse-lsn", &position)])
        .await;
    assert_eq!(seen.status, 200, "{}", seen.text);
    let _delay = StandbyDelay::new(&options, "100ms").await;
    let standby = standby_url(&options);
    let primary_url = url_of(&options);

    // The primary locks checks; once the standby replays the lock, the case read there takes
    // cases and then waits for checks.
    let mut holds_checks = pool.begin().await.unwrap();
    sqlx::query("lock table checks in access exclusive mode")
        .execute(&mut *holds_checks)
        .await
        .unwrap();
    sqlx::query("select pg_switch_wal() is null")
        .execute(&mut *primary)
        .await
        .ok();
    assert!(
        until(
            &standby,
            "select exists (select 1 from pg_locks where relation = 'checks'::regclass and mode = 'AccessExclusiveLock')",
            || false
        )
        .await,
        "the standby never replayed the lock"
    );
    let reader = Arc::clone(&app);
    let read_path = path.clone();
    let read = tokio::spawn(async move { reader.send("GET", &read_path, "officer", None, &[]).await });
    assert!(
        until(
            &standby,
            "select exists (select 1 from pg_locks where relation = 'checks'::regclass and not granted)",
            || read.is_finished()
        )
        .await,
        "the read never waited on the standby"
    );

    // The primary locks cases too: replaying that lock conflicts with the waiting read, which
    // the standby cancels after max_standby_streaming_delay. The retry reaches the primary,
    // where it waits for these locks to end.
    let mut holds_cases = pool.begin().await.unwrap();
    sqlx::query("lock table cases in access exclusive mode")
        .execute(&mut *holds_cases)
        .await
        .unwrap();
    sqlx::query("select pg_switch_wal() is null")
        .execute(&mut *primary)
        .await
        .ok();
    let retried = until(
        &primary_url,
        "select exists (select 1 from pg_locks where relation = 'cases'::regclass and not granted)",
        || read.is_finished(),
    )
    .await;
    holds_cases.commit().await.unwrap();
    holds_checks.commit().await.unwrap();
    let answer = read.await.unwrap();
    assert!(
        retried,
        "the read never reached the primary: {} {}",
        answer.status, answer.text
    );
    assert_eq!(
        answer.status, 200,
        "the retry on the primary answered: {}",
        answer.text
    );
    assert_eq!(answer.json["id"], case.to_string());
}

#[sqlx::test(migrations = "../../migrations")]
#[ignore = "needs a streaming standby: run by make replica-test"]
async fn a_standby_lagging_beyond_the_bound_is_left_out_until_it_catches_up(
    pool_options: PgPoolOptions,
    options: PgConnectOptions,
) {
    let pool = pool_options.connect_with(options.clone()).await.unwrap();
    let app = app_with_standby(pool.clone(), &options).await;
    let paused = ReplayPaused::new(&options).await;
    // A write the standby does not replay: its lag grows from now on.
    let created = new_case(&app).await;
    let path = format!("/api/v1/cases/{}", created.json["id"].as_str().unwrap());
    let report = wait_for_replica(&app, false).await;
    assert_eq!(report["reachable"], true, "{report}");
    assert!(report["lag_ms"].as_u64().unwrap() >= 5_000, "{report}");
    assert!(report["note"].as_str().unwrap().contains("lags"), "{report}");
    let (status, _) = replica_report(&app).await;
    assert_eq!(status, 200, "a lagging replica is not a reason to be unready");
    // Left out: the read goes to the primary, which has the case the standby has not replayed.
    let read = app.send("GET", &path, "officer", None, &[]).await;
    assert_eq!(read.status, 200, "{}", read.text);

    drop(paused);
    let report = wait_for_replica(&app, true).await;
    assert!(report["lag_ms"].as_u64().unwrap() <= 5_000, "{report}");
}
