//! The foundation: health and readiness, the problem+json shape, graceful shutdown, and a
//! server that outlives its database.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::time::Duration;

use axum::{body::Body, http::Request};
use common::{state_with, url_of, TestServer};
use http_body_util::BodyExt;
use sqlx::{
    postgres::{PgConnectOptions, PgPoolOptions},
    PgPool,
};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;

async fn get(app: axum::Router, path: &str) -> (u16, String, serde_json::Value) {
    let response = app
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, content_type, serde_json::from_slice(&body).unwrap())
}

#[sqlx::test(migrations = "../../migrations")]
async fn readyz_reports_the_postgis_version_on_a_migrated_database(
    _pool_options: PgPoolOptions,
    options: PgConnectOptions,
) {
    let url = url_of(&options);
    let pool = PgPool::connect_with(options).await.unwrap();
    let app = landuse_api::app::app(state_with(&pool, &url));
    let (status, _, body) = get(app, "/readyz").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ready");
    assert!(body["postgis"].as_str().unwrap().starts_with('3'), "{body}");
}

#[sqlx::test(migrations = false)]
async fn readyz_is_503_naming_pending_migrations(_pool_options: PgPoolOptions, options: PgConnectOptions) {
    let url = url_of(&options);
    let pool = PgPool::connect_with(options).await.unwrap();
    let app = landuse_api::app::app(state_with(&pool, &url));
    let (status, content_type, body) = get(app, "/readyz").await;
    assert_eq!(status, 503);
    assert_eq!(content_type, "application/problem+json");
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains("migrations are applied"), "{detail}");
    assert!(detail.contains("landuse migrate"), "{detail}");
}

#[tokio::test]
async fn healthz_answers_without_a_database_and_readyz_says_why_not() {
    let url = "postgres://postgres@127.0.0.1:9/landuse";
    let pool = landuse_api::db::lazy_pool(&common::test_config(url).database).unwrap();
    let app = landuse_api::app::app(state_with(&pool, url));
    let (status, _, body) = get(app.clone(), "/healthz").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("alive")));
    let (status, _, body) = get(app, "/readyz").await;
    assert_eq!(status, 503);
    assert!(
        body["detail"].as_str().unwrap().contains("cannot be reached"),
        "{body}"
    );
}

#[tokio::test]
async fn unknown_paths_get_a_problem_document() {
    let url = "postgres://postgres@127.0.0.1:9/landuse";
    let pool = landuse_api::db::lazy_pool(&common::test_config(url).database).unwrap();
    let app = landuse_api::app::app(state_with(&pool, url));
    let (status, content_type, body) = get(app, "/no/such/thing").await;
    assert_eq!(status, 404);
    assert_eq!(content_type, "application/problem+json");
    assert_eq!(body["status"], 404);
    assert!(body["type"].as_str().unwrap().ends_with("/not-found"));
}

#[sqlx::test(migrations = "../../migrations")]
async fn the_real_binary_serves_ready_and_stops_cleanly_on_sigterm(
    _pool_options: PgPoolOptions,
    options: PgConnectOptions,
) {
    let server = TestServer::spawn(&url_of(&options), &[]);
    let response = server.http.get(server.url("/readyz")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers().contains_key("x-request-id"),
        "every response carries a request id"
    );
    let status = server.terminate();
    assert!(
        status.success(),
        "landuse serve exits 0 after SIGTERM, got {status}"
    );
}

/// Forwards every connection on `listener` to `target`, like a database that came back.
async fn forward(listener: TcpListener, target: String) {
    loop {
        let Ok((mut inbound, _)) = listener.accept().await else {
            return;
        };
        let target = target.clone();
        tokio::spawn(async move {
            if let Ok(mut outbound) = TcpStream::connect(target).await {
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
            }
        });
    }
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_server_started_without_its_database_recovers_when_the_database_comes_back(
    _pool_options: PgPoolOptions,
    options: PgConnectOptions,
) {
    // Reserve a port, then free it: nothing listens there until the "database comes back".
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let real = format!("{}:{}", options.get_host(), options.get_port());
    let url = format!(
        "postgres://postgres@127.0.0.1:{port}/{}",
        options.get_database().unwrap()
    );
    let server = TestServer::spawn(&url, &[]);

    let down = server.http.get(server.url("/readyz")).send().await.unwrap();
    assert_eq!(down.status(), 503, "not ready while the database is away");
    assert!(server
        .http
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap()
        .status()
        .is_success());

    let proxy = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    tokio::spawn(forward(proxy, real));
    let mut last = 0;
    for _ in 0..100 {
        last = server
            .http
            .get(server.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        if last == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(last, 200, "ready again once the database answers");
}

/// A request runs to its end when its client goes away. Hyper drops a request's future when the
/// connection closes, and a future dropped while sqlx awaited the answer to `BEGIN` left its
/// connection inside a transaction nothing committed (`run_to_completion` in app.rs). Here a new
/// case waits on its project's row, which the test holds locked; the client gives up and drops
/// the request; once the lock is released the case is still opened, and no connection is left
/// inside a transaction.
#[sqlx::test(migrations = "../../migrations")]
async fn a_request_whose_client_went_away_still_runs_to_its_end(pool: PgPool) {
    let app = common::TestApp::new(pool).await;
    let project = app.project(false).await;
    let mut holder = app.db.begin().await.unwrap();
    sqlx::query("select 1 from projects where id = $1::uuid for update")
        .bind(&project)
        .execute(&mut *holder)
        .await
        .unwrap();
    let request = Request::post("/api/v1/cases")
        .header("authorization", format!("Bearer {}", app.tokens["officer"]))
        .header("content-type", "application/json")
        .body(Body::from(
            serde_json::json!({ "project_id": project, "title": "客户端已断开" }).to_string(),
        ))
        .unwrap();
    let mut answer = Box::pin(app.router.clone().oneshot(request));
    assert!(
        tokio::time::timeout(Duration::from_millis(500), &mut answer)
            .await
            .is_err(),
        "the new case did not wait for its locked project"
    );
    drop(answer);
    holder.commit().await.unwrap();

    let opened = || async {
        sqlx::query_scalar::<_, i64>("select count(*) from cases where project_id = $1::uuid")
            .bind(&project)
            .fetch_one(&app.db)
            .await
            .unwrap()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while opened().await == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the request whose client went away never finished"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let in_transaction: i64 = sqlx::query_scalar(
        "select count(*) from pg_stat_activity
          where datname = current_database() and state like 'idle in transaction%'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(in_transaction, 0, "a connection was left inside a transaction");
}
