//! Webhook delivery through the outbox: signed posts, retries with backoff as the clock moves,
//! dead letters, and a queue that keeps flowing past a failing endpoint.
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

use crate::common;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    routing::post,
    Router,
};
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use common::TestApp;
use landuse_api::{
    config::{Secret, TimerArgs},
    timers::{
        deliver::{deliver_due, verify, DeliveryReport, ALERT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER},
        sweep::sweep_once,
        TimerSettings,
    },
};
use landuse_domain::calendar::BUREAU_OFFSET;
use sqlx::PgPool;

const SECRET: &str = "webhook-test-secret";

fn local(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    BUREAU_OFFSET
        .with_ymd_and_hms(y, m, d, h, 0, 0)
        .unwrap()
        .with_timezone(&Utc)
}

/// One request a receiver saw.
#[derive(Debug, Clone)]
struct Received {
    answered: u16,
    headers: HeaderMap,
    body: Bytes,
}

/// A local webhook receiver: `/hook/{name}` fails the first `failures[name]` requests with 500
/// (`u32::MAX`: always), then answers 204.
#[derive(Clone, Default)]
struct Receiver {
    failures: Arc<HashMap<String, u32>>,
    seen: Arc<Mutex<HashMap<String, Vec<Received>>>>,
}

impl Receiver {
    async fn start(failures: &[(&str, u32)]) -> (Self, String) {
        let receiver = Self {
            failures: Arc::new(failures.iter().map(|(n, f)| ((*n).to_owned(), *f)).collect()),
            seen: Arc::default(),
        };
        let app = Router::new()
            .route("/hook/{name}", post(hook))
            .with_state(receiver.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (receiver, base)
    }

    fn seen(&self, name: &str) -> Vec<Received> {
        self.seen.lock().unwrap().get(name).cloned().unwrap_or_default()
    }

    /// The alert ids `name` accepted (answered 2xx), in order.
    fn accepted(&self, name: &str) -> Vec<i64> {
        self.seen(name)
            .iter()
            .filter(|r| r.answered < 300)
            .map(|r| {
                serde_json::from_slice::<serde_json::Value>(&r.body).unwrap()["id"]
                    .as_i64()
                    .unwrap()
            })
            .collect()
    }
}

async fn hook(
    State(receiver): State<Receiver>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let mut seen = receiver.seen.lock().unwrap();
    let requests = seen.entry(name.clone()).or_default();
    let failures = receiver.failures.get(&name).copied().unwrap_or(0);
    let status = if (requests.len() as u64) < u64::from(failures) {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::NO_CONTENT
    };
    requests.push(Received {
        answered: status.as_u16(),
        headers,
        body,
    });
    status
}

fn settings(urls: &[String]) -> TimerSettings {
    TimerSettings::from_args(&TimerArgs {
        webhook_secret: Some(Secret::new(SECRET)),
        ..common::timer_args(urls)
    })
    .unwrap()
}

/// Submits a new case now, moves time a day on, when its two-day acceptance limit has one
/// working day left, and sweeps. Returns the id of the new case's `deadline_near` alert.
async fn raise_one_alert(app: &TestApp, settings: &TimerSettings) -> i64 {
    let project = app.project(false).await;
    let (case, etag) = app.case(&project).await;
    assert_eq!(app.act(&case, "officer", "submit", &etag, None).await.status, 200);
    app.clock.advance(TimeDelta::days(1));
    sweep_once(&app.db, app.clock.now(), settings).await.unwrap();
    sqlx::query_scalar("select id from alerts where case_id = $1::uuid and kind = 'deadline_near'")
        .bind(&case)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

async fn all_alerts(db: &PgPool) -> Vec<i64> {
    sqlx::query_scalar("select id from alerts order by id")
        .fetch_all(db)
        .await
        .unwrap()
}

async fn delivery_states(db: &PgPool, endpoint: &str) -> Vec<(i64, String, i32)> {
    sqlx::query_as(
        "select alert_id, state, attempts from alert_deliveries where endpoint = $1 order by alert_id",
    )
    .bind(endpoint)
    .fetch_all(db)
    .await
    .unwrap()
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_webhook_that_fails_twice_then_succeeds_gets_the_alert_once_with_a_valid_signature(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (receiver, base) = Receiver::start(&[("flaky", 2)]).await;
    let url = format!("{base}/hook/flaky");
    let settings = settings(std::slice::from_ref(&url));
    // Monday 2026-07-06 10:00; the alert is raised on Tuesday.
    app.clock.set(local(2026, 7, 6, 10));
    let alert = raise_one_alert(&app, &settings).await;

    // First attempt: 500. Retried no sooner than 30 s later.
    let first = deliver_due(&app.db, &app.clock, &settings.webhooks)
        .await
        .unwrap();
    assert_eq!((first.delivered, first.retried), (0, 1));
    let early = deliver_due(&app.db, &app.clock, &settings.webhooks)
        .await
        .unwrap();
    assert_eq!(
        early,
        DeliveryReport::default(),
        "nothing is due before the backoff ends"
    );
    // Second attempt after 30 s: 500 again; the next wait doubles to 60 s.
    app.clock.advance(TimeDelta::seconds(31));
    let second = deliver_due(&app.db, &app.clock, &settings.webhooks)
        .await
        .unwrap();
    assert_eq!(second.retried, 1);
    app.clock.advance(TimeDelta::seconds(31));
    assert_eq!(
        deliver_due(&app.db, &app.clock, &settings.webhooks)
            .await
            .unwrap(),
        DeliveryReport::default()
    );
    // Third attempt after the 60 s: delivered.
    app.clock.advance(TimeDelta::seconds(30));
    let third = deliver_due(&app.db, &app.clock, &settings.webhooks)
        .await
        .unwrap();
    assert_eq!(third.delivered, 1);
    // Days later nothing more is sent.
    app.clock.advance(TimeDelta::days(2));
    deliver_due(&app.db, &app.clock, &settings.webhooks)
        .await
        .unwrap();

    let seen = receiver.seen("flaky");
    assert_eq!(
        seen.iter().map(|r| r.answered).collect::<Vec<_>>(),
        [500, 500, 204]
    );
    assert_eq!(receiver.accepted("flaky"), [alert], "accepted exactly once");
    for request in &seen {
        assert_eq!(request.headers[ALERT_HEADER], alert.to_string().as_str());
        assert_eq!(request.headers["content-type"], "application/json");
    }
    let accepted = &seen[2];
    let timestamp: i64 = accepted.headers[TIMESTAMP_HEADER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let signature = accepted.headers[SIGNATURE_HEADER].to_str().unwrap();
    assert!(verify(SECRET.as_bytes(), timestamp, &accepted.body, signature));
    assert!(!verify(b"another secret", timestamp, &accepted.body, signature));
    let signed_ago = app.clock.now().timestamp() - timestamp - 2 * 86_400;
    assert!(
        (0..=2).contains(&signed_ago),
        "signed at the time of the attempt, on the service clock"
    );
    let body: serde_json::Value = serde_json::from_slice(&accepted.body).unwrap();
    assert_eq!(body["kind"], "deadline_near");
    assert_eq!(
        delivery_states(&app.db, &url).await,
        [(alert, "delivered".to_owned(), 3)]
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_webhook_that_always_fails_is_dead_lettered_while_the_rest_of_the_queue_flows(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (receiver, base) = Receiver::start(&[("down", u32::MAX)]).await;
    let (down, ok) = (format!("{base}/hook/down"), format!("{base}/hook/ok"));
    let settings = settings(&[down.clone(), ok.clone()]);
    app.clock.set(local(2026, 7, 6, 10));

    // The first alert goes to both; the healthy endpoint has it at once.
    let first = raise_one_alert(&app, &settings).await;
    let pass = deliver_due(&app.db, &app.clock, &settings.webhooks)
        .await
        .unwrap();
    assert_eq!((pass.delivered, pass.retried), (1, 1));
    assert_eq!(receiver.accepted("ok"), [first]);

    // A second alert while the first waits in backoff for the failing endpoint: the healthy
    // endpoint gets it at once too.
    let second = raise_one_alert(&app, &settings).await;
    deliver_due(&app.db, &app.clock, &settings.webhooks)
        .await
        .unwrap();
    assert_eq!(receiver.accepted("ok"), [first, second]);

    // Hours pass: every retry to the failing endpoint fails; after 3 attempts each is dead.
    let mut dead = 0;
    for _ in 0..6 {
        app.clock.advance(TimeDelta::minutes(10));
        dead += deliver_due(&app.db, &app.clock, &settings.webhooks)
            .await
            .unwrap()
            .dead;
    }
    assert_eq!(dead, 2);
    assert_eq!(
        delivery_states(&app.db, &down).await,
        [(first, "dead".to_owned(), 3), (second, "dead".to_owned(), 3)]
    );
    assert_eq!(
        delivery_states(&app.db, &ok).await,
        [
            (first, "delivered".to_owned(), 1),
            (second, "delivered".to_owned(), 1)
        ]
    );
    assert_eq!(
        receiver.seen("down").len(),
        6,
        "three attempts for each of the two alerts"
    );

    // A dead letter stays dead, and later alerts (the third case's, and the first case's
    // passed deadline) still reach the healthy endpoint, each once.
    let third = raise_one_alert(&app, &settings).await;
    app.clock.advance(TimeDelta::days(1));
    deliver_due(&app.db, &app.clock, &settings.webhooks)
        .await
        .unwrap();
    let mut accepted = receiver.accepted("ok");
    assert!(accepted.contains(&third));
    accepted.sort_unstable();
    assert_eq!(accepted, all_alerts(&app.db).await);
    assert_eq!(
        delivery_states(&app.db, &down).await[0],
        (first, "dead".to_owned(), 3)
    );
    let last_error: Option<String> =
        sqlx::query_scalar("select last_error from alert_deliveries where endpoint = $1 and alert_id = $2")
            .bind(&down)
            .bind(first)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(last_error.unwrap().contains("500"));
}
