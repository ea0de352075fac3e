//! Resource limits: the per-token rate limit held across two replicas of the real binary, a
//! body over the limit refused before it is read as JSON, a request that outlives the timeout,
//! and page sizes capped.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::sync::Arc;

use common::{state_with, url_of, TestApp, TestServer};
use sqlx::{postgres::PgConnectOptions, PgPool};

#[sqlx::test(migrations = "../../migrations")]
async fn the_rate_limit_of_a_token_is_shared_by_every_replica(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let options: PgConnectOptions = (*app.db.connect_options()).clone();
    let env = [("LANDUSE_RATE_LIMIT", "6"), ("LANDUSE_RATE_WINDOW_S", "3600")];
    let a = TestServer::spawn(&url_of(&options), &env);
    let b = TestServer::spawn(&url_of(&options), &env);
    let get = |server: &TestServer, who: &str| {
        server
            .http
            .get(server.url("/api/v1/counties"))
            .bearer_auth(&app.tokens[who])
            .send()
    };
    for i in 0..6 {
        let server = if i % 2 == 0 { &a } else { &b };
        let r = get(server, "officer").await.unwrap();
        assert_eq!(r.status(), 200, "request {i} is within the limit");
    }
    for server in [&a, &b] {
        let r = get(server, "officer").await.unwrap();
        assert_eq!(r.status(), 429, "the seventh request, on either replica, is over");
        let retry: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=3600).contains(&retry), "Retry-After {retry}");
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/problem+json"));
        let body: serde_json::Value = r.json().await.unwrap();
        assert!(
            body["type"].as_str().unwrap().ends_with("/rate-limited"),
            "{body}"
        );
    }
    // The limit is per token: another caller is not held back.
    assert_eq!(get(&a, "officer2").await.unwrap().status(), 200);
    // Once the window has passed, the token is counted afresh.
    sqlx::query("update rate_windows set window_start = window_start - interval '2 hours'")
        .execute(&app.db)
        .await
        .unwrap();
    assert_eq!(get(&b, "officer").await.unwrap().status(), 200);
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_body_over_the_limit_is_refused_with_413_before_it_is_parsed(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let project = app.project(false).await;
    let (case, etag) = app.case(&project).await;
    let mut state = state_with(&pool, "postgres://unused/none");
    let mut config = (*state.config).clone();
    config.serve.body_limit = 1024;
    state.config = Arc::new(config);
    let router = landuse_api::app::app(state);
    // Not JSON at all: were it parsed, the answer would be 422.
    let body = vec![b'{'; 4096];
    let request = axum::http::Request::put(format!("/api/v1/cases/{case}/parcels"))
        .header("authorization", format!("Bearer {}", app.tokens["officer"]))
        .header("content-type", "application/geo+json")
        .header("if-match", &etag)
        .body(axum::body::Body::from(body))
        .unwrap();
    let response = tower::ServiceExt::oneshot(router, request).await.unwrap();
    assert_eq!(response.status(), 413);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/problem+json"));
    let parcels: i64 = sqlx::query_scalar("select count(*) from parcels")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(parcels, 0);
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_request_that_outlives_the_timeout_gets_503_with_retry_after_and_changes_nothing(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let project = app.project(false).await;
    let (case, etag) = app.case(&project).await;
    let mut state = state_with(&pool, "postgres://unused/none");
    let mut config = (*state.config).clone();
    config.serve.request_timeout_s = 1;
    state.config = Arc::new(config);
    let router = landuse_api::app::app(state);
    // Another session holds the case row, so the upload waits on its lock past the timeout.
    let mut holder = app.db.begin().await.unwrap();
    sqlx::query("select 1 from cases where id = $1::uuid for update")
        .bind(&case)
        .execute(&mut *holder)
        .await
        .unwrap();
    let body = serde_json::to_vec(&serde_json::json!({
        "type": "FeatureCollection",
        "features": [{ "type": "Feature", "properties": {}, "geometry": common::square(109.0, 32.7, 0.001) }]
    }))
    .unwrap();
    let request = axum::http::Request::put(format!("/api/v1/cases/{case}/parcels"))
        .header("authorization", format!("Bearer {}", app.tokens["officer"]))
        .header("content-type", "application/geo+json")
        .header("if-match", &etag)
        .body(axum::body::Body::from(body))
        .unwrap();
    let started = std::time::Instant::now();
    let response = tower::ServiceExt::oneshot(router, request).await.unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    holder.rollback().await.unwrap();
    // The abandoned transaction was rolled back: nothing stored, no history written.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let (parcels, events): (i64, i64) = sqlx::query_as(
        "select (select count(*) from parcels), (select count(*) from case_events where kind like 'parcels%')",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!((parcels, events), (0, 0));
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_page_is_never_larger_than_its_cap_whatever_limit_is_asked(pool: PgPool) {
    let app = TestApp::new(pool).await;
    // 205 phases of one key project (a project's further cases are its phases).
    let project = app.project(true).await;
    for number in 1..=205 {
        let body = serde_json::json!({
            "project_id": project, "title": "分期用地", "phase": { "kind": "phase", "number": number }
        });
        let created = app
            .send("POST", "/api/v1/cases", "officer", Some(body), &[])
            .await;
        assert_eq!(created.status, 201, "{}", created.text);
    }
    let page = app
        .send("GET", "/api/v1/cases?limit=100000", "officer", None, &[])
        .await;
    assert_eq!(page.status, 200, "{}", page.text);
    let items = page.json["items"]
        .as_array()
        .or_else(|| page.json.as_array())
        .map_or(0, Vec::len);
    assert_eq!(items, 200, "the case list is capped at 200 a page");
}
