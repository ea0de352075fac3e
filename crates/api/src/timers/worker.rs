//! The sweeper's loop: a sweep, then a delivery pass, every interval, until told to stop.
//! `landuse serve` runs it beside the HTTP server; `landuse sweep` runs it alone, or once
//! (`--once`) for cron.

use serde::Serialize;
use sqlx::PgPool;
use tokio::{sync::watch, task::JoinHandle, time::MissedTickBehavior};

use super::{
    deliver::{deliver_due, DeliveryReport},
    sweep::{sweep_once, SweepReport},
    TimerError, TimerSettings,
};
use crate::clock::Clock;

/// What one round (a sweep and a delivery pass) did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunReport {
    /// The sweep.
    pub sweep: SweepReport,
    /// The deliveries.
    pub delivery: DeliveryReport,
}

impl RunReport {
    /// Whether anything happened worth a log line at info level.
    pub fn is_eventful(&self) -> bool {
        !self.sweep.alerts.is_empty()
            || self.sweep.ledger_changes > 0
            || self.sweep.snapshot.is_some()
            || self.delivery != DeliveryReport::default()
    }
}

/// One round: a sweep at the clock's now, then the deliveries due.
///
/// # Errors
/// Database failures or unreadable rules.
pub async fn run_once(db: &PgPool, clock: &Clock, settings: &TimerSettings) -> Result<RunReport, TimerError> {
    let sweep = sweep_once(db, clock.now(), settings).await?;
    let delivery = deliver_due(db, clock, &settings.webhooks).await?;
    Ok(RunReport { sweep, delivery })
}

/// A sweeper running in the background.
pub struct Sweeper {
    stop: watch::Sender<bool>,
    handle: JoinHandle<()>,
}

impl Sweeper {
    /// Asks the loop to stop after the round in progress, and waits for it.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Err(error) = self.handle.await {
            tracing::error!(%error, "the sweeper ended abnormally");
        }
    }
}

/// Starts the loop, or returns `None` when the settings run no sweeper (interval 0). A failed
/// round is logged and the next one tries again.
pub fn spawn(db: PgPool, clock: Clock, settings: TimerSettings) -> Option<Sweeper> {
    let interval = settings.interval?;
    let (stop, mut stopped) = watch::channel(false);
    let handle = tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        tracing::info!(interval_s = interval.as_secs(), dispatch = %settings.dispatch, webhooks = settings.webhooks.urls.len(), "sweeper started");
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                _ = stopped.changed() => break,
            }
            match run_once(&db, &clock, &settings).await {
                Ok(report) if report.is_eventful() => tracing::info!(?report, "sweep"),
                Ok(report) => tracing::debug!(?report, "sweep"),
                Err(error) => tracing::error!(%error, "sweep failed; retrying at the next interval"),
            }
        }
        tracing::info!("sweeper stopped");
    });
    Some(Sweeper { stop, handle })
}
