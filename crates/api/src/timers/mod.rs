//! Durable timers: the sweeper that turns the three-week clearing and the stage time limits
//! into alerts, the outbox that delivers them to webhooks, the alert feed (JSON and
//! Server-Sent Events), and the weekly dispatch report.
//!
//! | module | what it does |
//! |---|---|
//! | [`sweep`] | one sweep: evaluate every open ledger item and stage deadline with the domain rules, raise each alert once, take the weekly snapshot when due |
//! | [`deliver`] | the outbox: signed webhook posts, retries with exponential backoff, dead letters |
//! | [`feed`] | `GET /api/v1/alerts` and `GET /api/v1/alerts/stream` |
//! | [`dispatch`] | the weekly snapshot: taken, listed, and rendered as JSON, CSV and .xlsx |
//! | [`worker`] | the loop `landuse serve` runs in the background and `landuse sweep` runs alone |
//!
//! # Once, with several processes
//! Every `serve` process may run the sweeper. A sweep takes a transaction-scoped advisory lock
//! and skips when another process holds it; each ledger item's recorded status is changed with
//! a compare-and-set; and the `alerts` table's unique constraints refuse a second alert for the
//! same subject and kind. Restarts change nothing: the state is in the database.

pub mod deliver;
pub mod dispatch;
pub mod feed;
pub mod sweep;
pub mod worker;

use std::time::Duration;

use landuse_domain::{
    alerts::DeadlineRules,
    calendar::WorkCalendar,
    clearing::ClearingRules,
    dispatch::{DispatchSchedule, ScheduleError},
    limits::TimeLimits,
};
use sqlx::PgConnection;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    admin::{self, AdminError},
    app::AppState,
    config::{Secret, TimerArgs},
    store::DbError,
};

pub use worker::{run_once, spawn, RunReport, Sweeper};

/// What went wrong in a sweep or a delivery pass.
#[derive(Debug, thiserror::Error)]
pub enum TimerError {
    /// A query failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The stored rules (calendar, time limits, thresholds) could not be read.
    #[error("the rules could not be loaded while {doing}: {source}")]
    Rules {
        /// What was being attempted.
        doing: &'static str,
        /// The cause.
        #[source]
        source: AdminError,
    },
    /// A stored row the domain cannot read (a stage code it does not know, say).
    #[error("a stored {what} could not be read: {detail}")]
    Corrupt {
        /// What kind of row.
        what: &'static str,
        /// Why.
        detail: String,
    },
    /// The dispatch file could not be written.
    #[error("the spreadsheet could not be written: {0}")]
    Spreadsheet(#[from] rust_xlsxwriter::XlsxError),
}

/// Why the sweeper's configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// Webhooks are configured but no secret to sign them.
    #[error(
        "LANDUSE_WEBHOOK_URLS is set but LANDUSE_WEBHOOK_SECRET is not: webhook requests must be signed"
    )]
    UnsignedWebhooks,
    /// A webhook URL is not http or https.
    #[error("webhook URL {0} is not http:// or https://")]
    WebhookScheme(String),
    /// Zero attempts would dead-letter every alert unsent.
    #[error("LANDUSE_WEBHOOK_MAX_ATTEMPTS must be at least 1")]
    NoAttempts,
    /// The dispatch day or time did not parse.
    #[error("the dispatch schedule is wrong: {0}")]
    Schedule(#[from] ScheduleError),
    /// The HTTP client could not be built (TLS roots, say).
    #[error("the webhook client could not be built: {0}")]
    Client(#[from] reqwest::Error),
}

/// Where alerts are posted and how failures are retried.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// The endpoints; each alert goes to each.
    pub urls: Vec<reqwest::Url>,
    /// The HMAC key.
    pub secret: Option<Secret>,
    /// Failed attempts after which a delivery is dead.
    pub max_attempts: u32,
    /// The wait before the first retry; doubled after each further failure.
    pub backoff: Duration,
    /// The client, with its timeout.
    pub client: reqwest::Client,
}

/// Everything the sweeper runs with, checked once at start.
#[derive(Debug, Clone)]
pub struct TimerSettings {
    /// Time between sweeps; `None` runs no background sweeper.
    pub interval: Option<Duration>,
    /// Webhook delivery.
    pub webhooks: WebhookSettings,
    /// When the weekly snapshot is taken.
    pub dispatch: DispatchSchedule,
}

impl TimerSettings {
    /// Checks the command-line options.
    ///
    /// # Errors
    /// [`SettingsError`] naming the option that is wrong.
    pub fn from_args(args: &TimerArgs) -> Result<Self, SettingsError> {
        if !args.webhook_urls.is_empty() && args.webhook_secret.is_none() {
            return Err(SettingsError::UnsignedWebhooks);
        }
        if let Some(url) = args
            .webhook_urls
            .iter()
            .find(|u| !matches!(u.scheme(), "http" | "https"))
        {
            return Err(SettingsError::WebhookScheme(url.to_string()));
        }
        if args.webhook_max_attempts == 0 {
            return Err(SettingsError::NoAttempts);
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(args.webhook_timeout_s.max(1)))
            .user_agent(concat!("landuse/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            interval: (args.sweep_interval_s > 0).then(|| Duration::from_secs(args.sweep_interval_s)),
            webhooks: WebhookSettings {
                urls: args.webhook_urls.clone(),
                secret: args.webhook_secret.clone(),
                max_attempts: args.webhook_max_attempts,
                backoff: Duration::from_secs(args.webhook_backoff_s),
                client,
            },
            dispatch: DispatchSchedule::parse(&args.dispatch_day, &args.dispatch_time)?,
        })
    }
}

/// The rules a sweep judges by, loaded from the database each time so an admin's change takes
/// effect at the next sweep.
#[derive(Debug, Clone)]
pub struct SweepRules {
    /// Working days.
    pub calendar: WorkCalendar,
    /// Stage limits.
    pub limits: TimeLimits,
    /// Three-week clearing.
    pub clearing: ClearingRules,
    /// When a stage deadline is near.
    pub deadlines: DeadlineRules,
}

/// Loads the calendar, the limits, the clearing limits (the `clearing` setting) and the
/// stage-deadline threshold (the `deadline_alerts` setting when present, else the domain
/// default).
///
/// # Errors
/// Database failures, or a stored setting the domain refuses.
pub async fn load_rules(conn: &mut PgConnection) -> Result<SweepRules, TimerError> {
    let rules = |source| TimerError::Rules {
        doing: "loading the rules",
        source,
    };
    Ok(SweepRules {
        calendar: admin::load_calendar(conn).await.map_err(rules)?,
        limits: admin::load_time_limits(conn).await.map_err(rules)?,
        clearing: admin::load_clearing_rules(conn).await.map_err(rules)?,
        deadlines: admin::load_deadline_rules(conn).await.map_err(rules)?,
    })
}

/// The alert and dispatch routes, with their full paths (merged beside `/api/v1`).
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(feed::list))
        .routes(routes!(feed::stream))
        .routes(routes!(dispatch::list))
        .routes(routes!(dispatch::get_one))
}
