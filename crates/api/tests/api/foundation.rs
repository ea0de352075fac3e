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

/// Forwards one connection on `listener` to `target`, holding back what the database sends
/// while `held` is true.
async fn forward_holding(listener: TcpListener, target: String, held: tokio::sync::watch::Receiver<bool>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok((inbound, _)) = listener.accept().await else {
        return;
    };
    let Ok(outbound) = TcpStream::connect(target).await else {
        return;
    };
    let (mut from_client, mut to_client) = inbound.into_split();
    let (mut from_db, mut to_db) = outbound.into_split();
    tokio::spawn(async move {
        let _ = tokio::io::copy(&mut from_client, &mut to_db).await;
    });
    let mut held = held;
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let Ok(n) = from_db.read(&mut buffer).await else {
            return;
        };
        if n == 0 {
            return;
        }
        while *held.borrow() {
            if held.changed().await.is_err() {
                return;
            }
        }
        if to_client.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
}

/// A request dropped while its transaction starts leaves no connection inside a transaction.
/// sqlx-postgres 0.8.6 counts a transaction only once `BEGIN` is answered, so a future dropped
/// while it waited for that answer left the server inside a transaction nothing rolled back; the
/// pool handed the connection out again and the next statements ran inside it, never committed
/// (`make bench` of 2026-12-08: a token's rate-limit row stayed locked, and every request of the
/// token waited out its statement timeout). `db::begin_scoped` now starts the transaction in a
/// task of its own. Here the pool's one connection goes through a proxy that holds the
/// database's answers back while a start is dropped; then the connection is not in a transaction.
#[sqlx::test(migrations = "../../migrations")]
async fn a_transaction_start_dropped_before_begin_is_answered_leaves_no_open_transaction(
    _pool_options: PgPoolOptions,
    options: PgConnectOptions,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let real = format!("{}:{}", options.get_host(), options.get_port());
    let (hold, held) = tokio::sync::watch::channel(false);
    tokio::spawn(forward_holding(listener, real, held));
    // No ping on acquire: the held answer is then the one to `BEGIN`, not to the ping.
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .test_before_acquire(false)
        .connect_with(options.clone().host("127.0.0.1").port(port))
        .await
        .unwrap();
    sqlx::query("select 1").execute(&pool).await.unwrap();
    // The connection goes back to the pool in a task of the pool's (with a ping of its own):
    // it must be back before the answers are held.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(pool.num_idle(), 1);

    hold.send(true).unwrap();
    let scope = landuse_api::db::Scope::from(None);
    let start = landuse_api::db::begin_scoped(&pool, &scope);
    assert!(
        tokio::time::timeout(Duration::from_millis(300), start)
            .await
            .is_err(),
        "the start did not wait for the held answer"
    );
    hold.send(false).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Seen from a connection of its own: the pool's connection is idle, not in a transaction.
    let watcher = PgPool::connect_with(options).await.unwrap();
    let states: Vec<String> = sqlx::query_scalar(
        "select state from pg_stat_activity
          where datname = current_database() and pid <> pg_backend_pid()
            and backend_type = 'client backend'",
    )
    .fetch_all(&watcher)
    .await
    .unwrap();
    assert_eq!(states, ["idle"], "the pool's one connection, idle");
}
