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
        },
        serve: ServeArgs {
            listen: "127.0.0.1:0".parse().unwrap(),
            body_limit: 20 * 1024 * 1024,
            request_timeout_s: 30,
            shutdown_grace_s: 10,
        },
    }
}

/// State over an existing pool, for router tests.
pub fn state_with(pool: PgPool, database_url: &str) -> AppState {
    AppState {
        db: pool,
        config: Arc::new(test_config(database_url)),
    }
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
