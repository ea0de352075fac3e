//! The outbox: each queued delivery is posted to its webhook as JSON, signed with
//! HMAC-SHA256; a failure is retried after an exponentially growing wait, and after the
//! configured number of failed attempts the delivery is dead-lettered. A failing endpoint
//! waits in its backoff while the rest of the queue flows.
//!
//! # The request
//! `POST` with the alert as in the feed, and these headers:
//! - `X-Landuse-Timestamp`: Unix seconds when the request was signed;
//! - `X-Landuse-Signature`: `sha256=` and the lowercase hex HMAC-SHA256, keyed with the
//!   configured secret, of the timestamp, a `.`, and the body bytes;
//! - `X-Landuse-Alert`: the alert id, the same on every retry, so a receiver can drop repeats;
//! - `X-Landuse-Delivery`: the delivery id.
//!
//! Any 2xx answer counts as delivered. A receiver that answered 2xx but whose answer was lost
//! gets the alert again; the alert id is there for that.

use std::{fmt::Write as _, time::Duration};

use chrono::{DateTime, TimeDelta, Utc};
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;
use sqlx::{PgConnection, PgPool};

use super::{feed, TimerError, WebhookSettings};
use crate::{
    clock::Clock,
    store::{
        alerts::{self, DueDelivery, FailedAttempt},
        Doing,
    },
};

/// The header with the signature.
pub const SIGNATURE_HEADER: &str = "x-landuse-signature";
/// The header with the signing time.
pub const TIMESTAMP_HEADER: &str = "x-landuse-timestamp";
/// The header with the alert id.
pub const ALERT_HEADER: &str = "x-landuse-alert";
/// The header with the delivery id.
pub const DELIVERY_HEADER: &str = "x-landuse-delivery";

/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_hours(6);

/// Most deliveries one pass makes, so a pass always ends.
const MAX_PER_PASS: usize = 1_000;

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> HmacSha256 {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `X-Landuse-Signature` value for `body` signed at `timestamp`.
///
/// ```
/// use landuse_api::timers::deliver::{signature, verify};
/// let header = signature(b"key", 1_772_000_000, br#"{"id":1}"#);
/// assert!(header.starts_with("sha256="));
/// assert!(verify(b"key", 1_772_000_000, br#"{"id":1}"#, &header));
/// assert!(!verify(b"other", 1_772_000_000, br#"{"id":1}"#, &header));
/// ```
pub fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let digest = mac(secret, timestamp, body).finalize().into_bytes();
    let mut header = String::with_capacity(7 + 2 * digest.len());
    header.push_str("sha256=");
    for byte in digest {
        let _ = write!(header, "{byte:02x}");
    }
    header
}

/// Whether `header` is the signature of `body` at `timestamp`, compared in constant time:
/// what a receiver does.
pub fn verify(secret: &[u8], timestamp: i64, body: &[u8], header: &str) -> bool {
    let Some(hex) = header.strip_prefix("sha256=") else {
        return false;
    };
    if hex.len() % 2 != 0 {
        return false;
    }
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| hex.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect();
    bytes.is_some_and(|bytes| mac(secret, timestamp, body).verify_slice(&bytes).is_ok())
}

/// The wait after the `failures`-th failed attempt: `base`, then twice as long after each
/// further failure, at most six hours.
pub fn backoff(base: Duration, failures: u32) -> Duration {
    let factor = 2u32.saturating_pow(failures.saturating_sub(1));
    base.saturating_mul(factor).min(MAX_BACKOFF)
}

/// What one delivery pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DeliveryReport {
    /// Deliveries that succeeded.
    pub delivered: u32,
    /// Failed attempts that will be retried.
    pub retried: u32,
    /// Deliveries dead-lettered by this pass.
    pub dead: u32,
}

/// Posts every delivery due at the clock's now to the configured webhooks, one at a time, each
/// under its own row lock (`SKIP LOCKED`, so several processes share the queue).
///
/// # Errors
/// Database failures. A webhook failing is not an error: it is recorded on the delivery.
#[tracing::instrument(skip_all)]
pub async fn deliver_due(
    db: &PgPool,
    clock: &Clock,
    webhooks: &WebhookSettings,
) -> Result<DeliveryReport, TimerError> {
    let mut report = DeliveryReport::default();
    if webhooks.urls.is_empty() {
        return Ok(report);
    }
    let Some(secret) = &webhooks.secret else {
        return Ok(report);
    };
    let endpoints: Vec<String> = webhooks.urls.iter().map(ToString::to_string).collect();
    for _ in 0..MAX_PER_PASS {
        let now = clock.now();
        let mut tx = crate::db::begin_scoped(db, &crate::db::Scope::All)
            .await
            .doing("starting a delivery")?;
        let Some(due) = alerts::claim_due_delivery(&mut tx, now, &endpoints).await? else {
            break;
        };
        let alert = feed::load(&mut tx, due.alert_id)
            .await?
            .ok_or_else(|| TimerError::Corrupt {
                what: "delivery",
                detail: format!("alert {} is missing", due.alert_id),
            })?;
        let body = serde_json::to_vec(&alert).map_err(|e| TimerError::Corrupt {
            what: "alert",
            detail: e.to_string(),
        })?;
        let outcome = post(webhooks, secret.expose().as_bytes(), &due, body, now).await;
        record_attempt(&mut tx, webhooks, &due, outcome, clock.now(), &mut report).await?;
        tx.commit().await.doing("committing a delivery")?;
    }
    Ok(report)
}

/// Records how an attempt went: delivered, to be retried after its backoff, or dead.
async fn record_attempt(
    tx: &mut PgConnection,
    webhooks: &WebhookSettings,
    due: &DueDelivery,
    outcome: Result<(), String>,
    attempted_at: DateTime<Utc>,
    report: &mut DeliveryReport,
) -> Result<(), TimerError> {
    let attempts = due.attempts.saturating_add(1);
    let reason = match outcome {
        Ok(()) => {
            alerts::record_delivered(tx, due.id, attempts, attempted_at).await?;
            report.delivered += 1;
            tracing::info!(delivery = due.id, alert = due.alert_id, endpoint = %due.endpoint, attempts, "alert delivered");
            return Ok(());
        }
        Err(reason) => reason,
    };
    let failures = u32::try_from(attempts).unwrap_or(u32::MAX);
    let dead = failures >= webhooks.max_attempts;
    let wait = TimeDelta::from_std(backoff(webhooks.backoff, failures)).unwrap_or(TimeDelta::MAX);
    let next = attempted_at.checked_add_signed(wait).unwrap_or(attempted_at);
    let failed = FailedAttempt {
        delivery_id: due.id,
        dead,
        attempts,
        attempted_at,
        next_attempt_at: next,
        error: &reason,
    };
    alerts::record_failed_attempt(tx, &failed).await?;
    if dead {
        report.dead += 1;
        tracing::error!(delivery = due.id, alert = due.alert_id, endpoint = %due.endpoint, attempts, %reason, "alert delivery dead-lettered");
    } else {
        report.retried += 1;
        tracing::warn!(delivery = due.id, alert = due.alert_id, endpoint = %due.endpoint, attempts, %reason, retry_at = %next, "alert delivery failed; will retry");
    }
    Ok(())
}

async fn post(
    webhooks: &WebhookSettings,
    secret: &[u8],
    due: &DueDelivery,
    body: Vec<u8>,
    now: DateTime<Utc>,
) -> Result<(), String> {
    let timestamp = now.timestamp();
    let response = webhooks
        .client
        .post(&due.endpoint)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(TIMESTAMP_HEADER, timestamp.to_string())
        .header(SIGNATURE_HEADER, signature(secret, timestamp, &body))
        .header(ALERT_HEADER, due.alert_id.to_string())
        .header(DELIVERY_HEADER, due.id.to_string())
        .body(body)
        .send()
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("answered {status}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_doubles_after_each_failure_up_to_six_hours() {
        let base = Duration::from_secs(30);
        assert_eq!(backoff(base, 1), Duration::from_secs(30));
        assert_eq!(backoff(base, 2), Duration::from_mins(1));
        assert_eq!(backoff(base, 3), Duration::from_mins(2));
        assert_eq!(backoff(base, 40), MAX_BACKOFF);
    }

    #[test]
    fn a_signature_covers_the_timestamp_and_the_body() {
        let header = signature(b"s3cret", 100, b"{}");
        assert!(verify(b"s3cret", 100, b"{}", &header));
        assert!(!verify(b"s3cret", 101, b"{}", &header));
        assert!(!verify(b"s3cret", 100, b"{ }", &header));
        assert!(!verify(b"s3cret", 100, b"{}", "sha256=zz"));
        assert!(!verify(
            b"s3cret",
            100,
            b"{}",
            header.trim_start_matches("sha256=")
        ));
        assert_eq!(header.len(), "sha256=".len() + 64);
    }
}
