//! Structured logging with `tracing`.

use tracing_subscriber::{fmt, prelude::*, EnvFilter};

use crate::config::LogFormat;

/// Where log lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogTo {
    /// Standard output: the services (`serve`, `sweep`), whose output is their log.
    Stdout,
    /// Standard error: the commands that print a result on standard output for scripts to read.
    Stderr,
}

/// Installs the global subscriber: `RUST_LOG` filters (default `info`), JSON lines when asked.
pub fn init(format: LogFormat, to: LogTo) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let registry = tracing_subscriber::registry().with(filter);
    // A second init (tests that build several apps in one process) keeps the first subscriber.
    let writer = move || -> Box<dyn std::io::Write> {
        match to {
            LogTo::Stdout => Box::new(std::io::stdout()),
            LogTo::Stderr => Box::new(std::io::stderr()),
        }
    };
    let _ = match format {
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_writer(writer),
            )
            .try_init(),
        LogFormat::Text => registry.with(fmt::layer().with_writer(writer)).try_init(),
    };
}
