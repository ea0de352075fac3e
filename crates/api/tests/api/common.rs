//! Test harness: a fresh database per test (through `#[sqlx::test]`), the router for
//! in-process tests, and the real `landuse` binary on port 0 for end-to-end tests.
#![allow(dead_code, clippy::unwrap_used, clippy::missing_panics_doc)]

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, ExitStatus, Stdio},
    sync::{mpsc, Arc},
    time::Duration,
};

use landuse_api::{
    app::AppState,
    config::{Config, DatabaseArgs, DatabaseUrl, ServeArgs},
};
use sqlx::{postgres::PgConnectOptions, PgPool};

/// The URL of the database `#[sqlx::test]` made for this test.
pub fn url_of(options: &PgConnectOptions) -> String {
    let base = std::env::var("DATABASE_URL").expect("tests need DATABASE_URL (run them through make test)");
    let db = options.get_database().expect("sqlx::test names its database");
    match base.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{db}"),
        None => panic!("DATABASE_URL has no database part: {base}"),
    }
}

/// A configuration for tests: port 0, small pool, the given database.
pub fn test_config(database_url: &str) -> Config {
    Config {
        database: DatabaseArgs {
            database_url: DatabaseUrl::new(database_url),
            pool_size: 4,
            statement_timeout_ms: 30_000,
            // The service's own role, as in production: row-level security applies to every
            // request a test makes, so a handler that forgets its scope fails its tests.
            db_role: Some(APP_ROLE.to_owned()),
        },
        serve: ServeArgs {
            listen: "127.0.0.1:0".parse().unwrap(),
            body_limit: 20 * 1024 * 1024,
            max_parcel_vertices: 200_000,
            request_timeout_s: 30,
            rate_limit: 12_000,
            rate_window_s: 60,
            shutdown_grace_s: 10,
            review: landuse_api::config::ReviewArgs::default(),
            replicas: landuse_api::config::ReplicaArgs::default(),
        },
    }
}

/// The role the service runs as (migration 0007): it owns nothing and may not bypass
/// row-level security.
pub const APP_ROLE: &str = "landuse_app";

/// State for router tests. The router gets its own pool, connected as the test's database
/// owner but switched to [`APP_ROLE`]; `owner` (the pool `#[sqlx::test]` gave the test) stays
/// with the test for set-up and for inspecting what the requests left behind.
pub fn state_with(owner: &PgPool, database_url: &str) -> AppState {
    AppState::new(
        app_pool(owner),
        Arc::new(test_config(database_url)),
        landuse_api::clock::Clock::system(),
    )
}

/// A pool to the same database as `owner`, as [`APP_ROLE`].
pub fn app_pool(owner: &PgPool) -> PgPool {
    landuse_api::db::pool_of((*owner.connect_options()).clone(), 4, Some(APP_ROLE.to_owned()))
}

/// The real binary, serving on a free port.
pub struct TestServer {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// A client for it.
    pub http: reqwest::Client,
    logs: mpsc::Receiver<String>,
}

impl TestServer {
    /// Starts `landuse serve` against `database_url` and waits until it listens.
    pub fn spawn(database_url: &str, env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_landuse"));
        command
            .arg("serve")
            .env("DATABASE_URL", database_url)
            .env("LANDUSE_LISTEN", "127.0.0.1:0")
            .env("LANDUSE_LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            .env("LANDUSE_DB_ROLE", APP_ROLE)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("the landuse binary starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let addr = loop {
            let line = rx
                .recv_timeout(Duration::from_secs(30))
                .expect("the server logs that it listens within 30 s");
            let Ok(event) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            if event["message"] == "listening" {
                break event["addr"].as_str().unwrap().to_owned();
            }
        };
        Self {
            child,
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
            logs: rx,
        }
    }

    /// The full URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The process id, for signals.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits for the process to end.
    pub fn terminate(mut self) -> ExitStatus {
        signal(self.child.id(), "TERM");
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the server did not stop within 30 s of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Log lines written so far (JSON), without waiting.
    pub fn drain_logs(&self) -> Vec<String> {
        self.logs.try_iter().collect()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends a signal with the system's `kill` (the workspace forbids `unsafe`).
pub fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success(), "kill -{name} {pid} failed");
}

/// An app over a fresh, seeded database with a user and token for each role: officers of
/// 汉滨区 (610902) and of 汉阴县 (610921), a planner, a reviewer, a leader, an admin, a gis client.
pub struct TestApp {
    /// The router.
    pub router: axum::Router,
    /// The pool.
    pub db: PgPool,
    /// The clock, for moving time.
    pub clock: landuse_api::clock::Clock,
    /// Tokens by name: officer, officer2, planner, reviewer, leader, admin, gis.
    pub tokens: std::collections::HashMap<&'static str, String>,
}

/// A response, read whole.
#[derive(Debug)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: axum::http::HeaderMap,
    /// Body as JSON (Null when empty or not JSON).
    pub json: serde_json::Value,
    /// Body as text.
    pub text: String,
}

impl Answer {
    /// The ETag header.
    pub fn etag(&self) -> String {
        self.headers
            .get("etag")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    }
}

impl TestApp {
    /// Builds the app over `pool`, seeds and creates the users.
    pub async fn new(pool: PgPool) -> Self {
        let mut conn = pool.acquire().await.unwrap();
        landuse_api::admin::seed(&mut conn).await.unwrap();
        let mut tokens = std::collections::HashMap::new();
        for (name, role, counties) in [
            ("officer", "officer", vec!["610902".to_owned()]),
            ("officer2", "officer", vec!["610921".to_owned()]),
            ("planner", "planner", vec![]),
            ("reviewer", "reviewer", vec![]),
            ("leader", "leader", vec![]),
            ("admin", "admin", vec![]),
            ("gis", "gis", vec![]),
        ] {
            landuse_api::admin::add_user(&mut conn, name, role, &counties)
                .await
                .unwrap();
            tokens.insert(
                name,
                landuse_api::admin::issue_token(&mut conn, name, "test", None)
                    .await
                    .unwrap(),
            );
        }
        drop(conn);
        let clock = landuse_api::clock::Clock::system();
        let state = AppState::new(
            app_pool(&pool),
            Arc::new(test_config("postgres://unused/none")),
            clock.clone(),
        );
        Self {
            router: landuse_api::app::app(state),
            db: pool,
            clock,
            tokens,
        }
    }

    /// Sends a request as `who` (a key of `tokens`, or "" for none).
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        who: &str,
        body: Option<serde_json::Value>,
        headers: &[(&str, &str)],
    ) -> Answer {
        use http_body_util::BodyExt;
        use tower::ServiceExt;
        let mut request = axum::http::Request::builder().method(method).uri(path);
        if let Some(token) = self.tokens.get(who) {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let body = match body {
            Some(json) => {
                request = request.header("content-type", "application/json");
                axum::body::Body::from(serde_json::to_vec(&json).unwrap())
            }
            None => axum::body::Body::empty(),
        };
        let response = self
            .router
            .clone()
            .oneshot(request.body(body).unwrap())
            .await
            .unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        Answer {
            status,
            headers,
            json: serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
            text,
        }
    }

    /// Sends a raw body with a content type as `who`.
    pub async fn send_raw(
        &self,
        method: &str,
        path: &str,
        who: &str,
        content_type: &str,
        body: Vec<u8>,
        headers: &[(&str, &str)],
    ) -> Answer {
        use http_body_util::BodyExt;
        use tower::ServiceExt;
        let mut request = axum::http::Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", content_type);
        if let Some(token) = self.tokens.get(who) {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = self
            .router
            .clone()
            .oneshot(request.body(axum::body::Body::from(body)).unwrap())
            .await
            .unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Answer {
            status,
            headers,
            json: serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
            text: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// Registers a project in 汉滨区 as its officer and returns its id. A key project is
    /// proposed by the officer and then designated by the leader (a provincial transport
    /// project on the list), as the bureau's rules have it.
    pub async fn project(&self, key: bool) -> String {
        let mut body = serde_json::json!({
            "name": if key { "安康机场连接线" } else { "汉滨区标准化厂房" },
            "county_code": "610902",
            "category": if key { "infrastructure" } else { "industry" },
            "year": 2026
        });
        if key {
            body["proposal"] = serde_json::json!({ "level": "provincial", "sector": "transport" });
        }
        let answer = self
            .send("POST", "/api/v1/projects", "officer", Some(body), &[])
            .await;
        assert_eq!(answer.status, 201, "{}", answer.text);
        let id = answer.json["id"].as_str().unwrap().to_owned();
        if key {
            self.designate(&id, "provincial", "transport", &answer.etag())
                .await;
        }
        id
    }

    /// Puts `project` on the key-project list as the leader, at `level` and in `sector`;
    /// returns the answer.
    pub async fn designate(&self, project: &str, level: &str, sector: &str, etag: &str) -> Answer {
        let answer = self
            .send(
                "PUT",
                &format!("/api/v1/projects/{project}/designation"),
                "leader",
                Some(key_designation(level, sector)),
                &[("if-match", etag)],
            )
            .await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        answer
    }

    /// The body of a GET as `who`, as bytes (a workbook, a PDF); panics unless it is 200.
    pub async fn get_bytes(&self, path: &str, who: &str) -> Vec<u8> {
        use http_body_util::BodyExt;
        use tower::ServiceExt;
        let mut request = axum::http::Request::builder().method("GET").uri(path);
        if let Some(token) = self.tokens.get(who) {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let response = self
            .router
            .clone()
            .oneshot(request.body(axum::body::Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "GET {path} as {who}");
        response.into_body().collect().await.unwrap().to_bytes().to_vec()
    }

    /// Opens a draft case for `project` and returns (id, etag).
    pub async fn case(&self, project: &str) -> (String, String) {
        let answer = self
            .send(
                "POST",
                "/api/v1/cases",
                "officer",
                Some(serde_json::json!({ "project_id": project, "title": "一期用地" })),
                &[],
            )
            .await;
        assert_eq!(answer.status, 201, "{}", answer.text);
        (answer.json["id"].as_str().unwrap().to_owned(), answer.etag())
    }

    /// Takes `action` on case `id` as `who` with If-Match `etag`.
    pub async fn act(&self, id: &str, who: &str, action: &str, etag: &str, reason: Option<&str>) -> Answer {
        self.send(
            "POST",
            &format!("/api/v1/cases/{id}/transitions"),
            who,
            Some(serde_json::json!({ "action": action, "reason": reason })),
            &[("if-match", etag)],
        )
        .await
    }
}

/// A GeoJSON square of `side` degrees with its south-west corner at (lon, lat).
pub fn square(lon: f64, lat: f64, side: f64) -> serde_json::Value {
    serde_json::json!({
        "type": "Polygon",
        "coordinates": [[[lon, lat], [lon + side, lat], [lon + side, lat + side], [lon, lat + side], [lon, lat]]]
    })
}

/// Imports a layer of `kind` for the whole city (610900) with the given geometries and
/// properties.
pub async fn import_layer(pool: &PgPool, kind: &str, features: Vec<(serde_json::Value, serde_json::Value)>) {
    let collection = serde_json::json!({
        "type": "FeatureCollection",
        "features": features.into_iter().map(|(geometry, properties)| serde_json::json!({
            "type": "Feature", "properties": properties, "geometry": geometry
        })).collect::<Vec<_>>()
    });
    let bytes = serde_json::to_vec(&collection).unwrap();
    landuse_spatial::store::import_reader(
        pool,
        landuse_domain::check::LayerKind::parse(kind).unwrap(),
        landuse_domain::county::CountyCode::parse("610900").unwrap(),
        &format!("{kind}.geojson"),
        std::io::Cursor::new(bytes),
        &landuse_spatial::store::ImportOptions::default(),
    )
    .await
    .unwrap();
}

/// Gives every control layer a current version with one feature far from (109.0, 32.7) — but an
/// urban boundary around it — so a check of a small parcel there finds nothing and nothing is
/// `not_checked`.
pub async fn import_every_layer_far_away(pool: &PgPool) {
    for kind in landuse_domain::check::LayerKind::all() {
        let geometry = if kind.code() == "geohazard" {
            serde_json::json!({ "type": "Point", "coordinates": [108.2, 33.6] })
        } else if kind.code() == "urban_boundary" {
            square(108.9, 32.6, 0.3)
        } else {
            square(108.2, 33.6, 0.01)
        };
        import_layer(
            pool,
            kind.code(),
            // Each survey layer keeps only its own classes: cultivated land 0103, existing
            // construction land a village plot.
            vec![(
                geometry,
                serde_json::json!({ "name": "far", "DLBM": if kind.code() == "construction_land" { "0702" } else { "0103" } }),
            )],
        )
        .await;
    }
}

/// What a synthetic check of a case measured, each in m²: the case area, its cultivated land by
/// class and its part on existing construction land.
#[derive(Debug, Clone, Copy, Default)]
pub struct Measured {
    /// The area of the case's parcels.
    pub case: f64,
    /// Cultivated land of class 0101.
    pub paddy: f64,
    /// Cultivated land of class 0103.
    pub dry: f64,
    /// Existing construction land.
    pub construction: f64,
}

/// Stores a check of `case` as the service would after measuring `measured` against every
/// layer (each required layer checked, the construction-land layer too), its report carrying
/// the domain input and rules so the service decides it again like a real one; confirmed by a
/// planner when `confirmed`. Returns its id. For tests of what follows a check (ledgers,
/// approvals) that need no geometry.
pub async fn stored_check(
    conn: &mut sqlx::PgConnection,
    case: uuid::Uuid,
    measured: Measured,
    confirmed: bool,
) -> uuid::Uuid {
    use landuse_domain::{
        check::{self, CaseContext, CheckInput, Dlbm, Hit, LayerFigures, LayerKind, VerdictRules},
        transition::CheckSummary,
        units::SquareMetres,
    };
    let m2 = |v: f64| SquareMetres::new(v).unwrap();
    let hit = |id: &str, overlap: f64, dlbm: Option<Dlbm>| Hit {
        feature_id: id.into(),
        parcel_area: m2(measured.case),
        overlap: m2(overlap),
        dismissed: false,
        dlbm,
    };
    let hits_of = |kind: LayerKind| match kind {
        LayerKind::CultivatedLand => [
            ("paddy", measured.paddy, Dlbm::Paddy),
            ("dry", measured.dry, Dlbm::Dry),
        ]
        .into_iter()
        .filter(|(_, m2, _)| *m2 > 0.0)
        .map(|(id, m2, dlbm)| hit(id, m2, Some(dlbm)))
        .collect(),
        LayerKind::ConstructionLand if measured.construction > 0.0 => {
            vec![hit("village", measured.construction, None)]
        }
        _ => Vec::new(),
    };
    let input = CheckInput {
        case_area: m2(measured.case),
        layers: LayerKind::ALL
            .iter()
            .copied()
            .map(|kind| LayerFigures {
                kind,
                checked: true,
                hits: hits_of(kind),
            })
            .collect(),
        context: CaseContext::default(),
    };
    let verdict = check::evaluate(&input, &VerdictRules::default()).unwrap();
    let summary = serde_json::to_value(CheckSummary::from(&verdict)).unwrap();
    let report = serde_json::json!({ "input": input, "rules": VerdictRules::default(), "layers": [] });
    let id = uuid::Uuid::now_v7();
    sqlx::query(
        "insert into checks (id, case_id, run_at, result, report, summary, confirmed_at, quota_need_mu)
         values ($1, $2, clock_timestamp(), $3, $4, $5, case when $6 then clock_timestamp() end,
                 $7::bigint::numeric / 100)",
    )
    .bind(id)
    .bind(case)
    .bind(verdict.result.code())
    .bind(report)
    .bind(summary)
    .bind(confirmed)
    .bind(verdict.quota_need_mu(m2(measured.case)).hundredths())
    .execute(&mut *conn)
    .await
    .unwrap();
    id
}

/// A confirmed check of `case` (parcels of 10,000 m², none on existing construction land: it
/// needs 15 mu) that found `paddy` and `dry` m² of cultivated land; its id.
pub async fn confirmed_check(
    conn: &mut sqlx::PgConnection,
    case: uuid::Uuid,
    paddy: f64,
    dry: f64,
) -> uuid::Uuid {
    let measured = Measured {
        case: 10_000.0,
        paddy,
        dry,
        construction: 0.0,
    };
    stored_check(conn, case, measured, true).await
}

/// The sweeper's options as the tests use them: a sweep a minute, webhooks to `urls` signed
/// with "test-secret" (3 attempts, 30 s backoff), the dispatch snapshot on Mondays at 09:00.
pub fn timer_args(urls: &[String]) -> landuse_api::config::TimerArgs {
    landuse_api::config::TimerArgs {
        sweep_interval_s: 60,
        webhook_urls: urls.iter().map(|u| u.parse().unwrap()).collect(),
        webhook_secret: Some(landuse_api::config::Secret::new("test-secret")),
        webhook_max_attempts: 3,
        webhook_backoff_s: 30,
        webhook_timeout_s: 5,
        dispatch_day: "mon".to_owned(),
        dispatch_time: "09:00".to_owned(),
        clock_start: None,
    }
}

/// The body of a leader's designation putting a project on the 2026 list at `level` in
/// `sector`.
pub fn key_designation(level: &str, sector: &str) -> serde_json::Value {
    serde_json::json!({
        "on_key_list": true,
        "level": level,
        "sector": sector,
        "new_start": true,
        "list_document": "陕发改重点〔2026〕1号",
        "responsible_leader": "李副局长",
        "reason": "列入2026年省级重点项目名单"
    })
}

/// Opens a case in `county` as `officer` (a key of the app's tokens); returns its id.
pub async fn case_in(app: &TestApp, officer: &str, county: &str) -> uuid::Uuid {
    let project = app
        .send(
            "POST",
            "/api/v1/projects",
            officer,
            Some(serde_json::json!({
                "name": format!("{county} 工业园"), "county_code": county, "level": "county",
                "category": "industry", "sector": "other", "on_key_list": false, "year": 2026
            })),
            &[],
        )
        .await;
    assert_eq!(project.status, 201, "{}", project.text);
    let case = app
        .send(
            "POST",
            "/api/v1/cases",
            officer,
            Some(serde_json::json!({ "project_id": project.json["id"], "title": "一期用地" })),
            &[],
        )
        .await;
    assert_eq!(case.status, 201, "{}", case.text);
    uuid::Uuid::parse_str(case.json["id"].as_str().unwrap()).unwrap()
}
