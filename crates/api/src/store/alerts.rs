//! Alerts: raised once per subject and kind with their case event and queued webhook
//! deliveries, read back for the feed, corrected when a calendar year moves their deadline, and
//! delivered from the outbox.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{DbError, Doing};

/// The columns of an [`AlertRecord`], with the alert's latest correction.
macro_rules! alert_columns {
    () => {
        "id, kind, case_id, ledger_item_id, stage_entered_at, supply_part_id, overlay_query_id, stage, county_code, raised_at,
         due_at, recipients, details,
         (select ac.due_at from alert_corrections ac where ac.alert_id = alerts.id
           order by ac.id desc limit 1) as corrected_due_at,
         coalesce((select ac.withdrawn from alert_corrections ac where ac.alert_id = alerts.id
           order by ac.id desc limit 1), false) as withdrawn"
    };
}

/// An alert as stored, with its latest correction. Codes and JSON are parsed by the feed.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AlertRecord {
    /// The feed position: increasing, never reused.
    pub id: i64,
    /// The alert kind's code.
    pub kind: String,
    /// The case.
    pub case_id: Uuid,
    /// The ledger item, for clearing alerts.
    pub ledger_item_id: Option<Uuid>,
    /// When the case entered the stage, for deadline alerts.
    pub stage_entered_at: Option<DateTime<Utc>>,
    /// The supplied part, for idle-land alerts.
    pub supply_part_id: Option<Uuid>,
    /// The overlay query, for overlay-query alerts.
    pub overlay_query_id: Option<Uuid>,
    /// The code of the stage the alert is about.
    pub stage: String,
    /// The case's county.
    pub county_code: String,
    /// When the sweeper raised it.
    pub raised_at: DateTime<Utc>,
    /// When the limit passes (or passed).
    pub due_at: DateTime<Utc>,
    /// Who is told, as written when raised.
    pub recipients: Value,
    /// Titles, dates and days left, as written when raised.
    pub details: Value,
    /// The deadline as last corrected by a newly loaded calendar year.
    pub corrected_due_at: Option<DateTime<Utc>>,
    /// A calendar year withdrew it.
    pub withdrawn: bool,
}

/// One alert.
///
/// # Errors
/// Database failures.
pub async fn alert(conn: &mut PgConnection, id: i64) -> Result<Option<AlertRecord>, DbError> {
    sqlx::query_as(concat!("select ", alert_columns!(), " from alerts where id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
        .doing("loading an alert")
}

/// Which alerts a page of the feed holds.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AlertFilter<'a> {
    /// The caller's counties; `None` for every county.
    pub counties: Option<&'a [String]>,
    /// Only this county.
    pub county: Option<&'a str>,
    /// Only this kind (a kind code).
    pub kind: Option<&'a str>,
    /// Only alerts after this id.
    pub after_id: Option<i64>,
    /// Only alerts raised after this instant.
    pub raised_after: Option<DateTime<Utc>>,
    /// At most this many.
    pub limit: i64,
}

/// The alerts that pass `filter`, oldest first.
///
/// # Errors
/// Database failures.
pub async fn alerts(conn: &mut PgConnection, filter: &AlertFilter<'_>) -> Result<Vec<AlertRecord>, DbError> {
    sqlx::query_as(concat!(
        "select ",
        alert_columns!(),
        " from alerts
          where ($1::text[] is null or county_code = any($1))
            and ($2::text is null or county_code = $2)
            and ($3::text is null or kind = $3)
            and ($4::bigint is null or id > $4)
            and ($5::timestamptz is null or raised_at > $5)
          order by id
          limit $6"
    ))
    .bind(filter.counties)
    .bind(filter.county)
    .bind(filter.kind)
    .bind(filter.after_id)
    .bind(filter.raised_after)
    .bind(filter.limit)
    .fetch_all(conn)
    .await
    .doing("listing alerts")
}

/// The id of the newest alert the transaction sees, 0 when there is none.
///
/// # Errors
/// Database failures.
pub async fn newest_alert_id(conn: &mut PgConnection) -> Result<i64, DbError> {
    sqlx::query_scalar("select coalesce(max(id), 0) from alerts")
        .fetch_one(conn)
        .await
        .doing("finding the newest alert")
}

/// An alert about to be raised.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAlert<'a> {
    /// The kind's code.
    pub kind: &'a str,
    /// The case.
    pub case_id: Uuid,
    /// The ledger item, for clearing alerts.
    pub ledger_item_id: Option<Uuid>,
    /// When the case entered the stage, for deadline alerts.
    pub stage_entered_at: Option<DateTime<Utc>>,
    /// The supplied part, for idle-land alerts.
    pub supply_part_id: Option<Uuid>,
    /// The overlay query, for overlay-query alerts.
    pub overlay_query_id: Option<Uuid>,
    /// The code of the stage the alert is about.
    pub stage: &'a str,
    /// The case's county.
    pub county_code: &'a str,
    /// When it is raised.
    pub raised_at: DateTime<Utc>,
    /// When the limit passes.
    pub due_at: DateTime<Utc>,
    /// Who is told.
    pub recipients: &'a Value,
    /// Titles, dates and days left.
    pub details: &'a Value,
}

/// Stores an alert unless one for the same subject and kind exists (the table's unique
/// constraints say which). The new alert's id, or `None` when it had been raised.
///
/// # Errors
/// Database failures.
pub async fn insert_alert(conn: &mut PgConnection, alert: &NewAlert<'_>) -> Result<Option<i64>, DbError> {
    sqlx::query_scalar(
        "insert into alerts (kind, case_id, ledger_item_id, stage_entered_at, stage, county_code,
                             raised_at, due_at, recipients, details, supply_part_id, overlay_query_id)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         on conflict do nothing
         returning id",
    )
    .bind(alert.kind)
    .bind(alert.case_id)
    .bind(alert.ledger_item_id)
    .bind(alert.stage_entered_at)
    .bind(alert.stage)
    .bind(alert.county_code)
    .bind(alert.raised_at)
    .bind(alert.due_at)
    .bind(alert.recipients)
    .bind(alert.details)
    .bind(alert.supply_part_id)
    .bind(alert.overlay_query_id)
    .fetch_optional(conn)
    .await
    .doing("raising an alert")
}

/// Queues one delivery of the alert per webhook endpoint, due at once.
///
/// # Errors
/// Database failures.
pub async fn queue_deliveries(
    conn: &mut PgConnection,
    alert_id: i64,
    now: DateTime<Utc>,
    endpoints: &[String],
) -> Result<(), DbError> {
    sqlx::query(
        "insert into alert_deliveries (alert_id, endpoint, next_attempt_at, created_at)
         select $1, endpoint, $2, $2 from unnest($3::text[]) as endpoint",
    )
    .bind(alert_id)
    .bind(now)
    .bind(endpoints)
    .execute(conn)
    .await
    .doing("queueing the alert's webhook deliveries")?;
    Ok(())
}

/// A deadline alert still standing for a case's stay, with the due instant it last announced
/// (its latest correction's, else its own).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StandingAlert {
    /// The alert.
    pub id: i64,
    /// Its kind's code.
    pub kind: String,
    /// The due instant it last announced.
    pub due_at: DateTime<Utc>,
}

/// The deadline alerts of the case's stay that began at `stage_entered_at` and were not
/// withdrawn, oldest first.
///
/// # Errors
/// Database failures.
pub async fn standing_deadline_alerts(
    conn: &mut PgConnection,
    case_id: Uuid,
    stage_entered_at: DateTime<Utc>,
) -> Result<Vec<StandingAlert>, DbError> {
    sqlx::query_as(
        "select a.id, a.kind, coalesce(last.due_at, a.due_at) as due_at
           from alerts a
           left join lateral (select ac.due_at, ac.withdrawn from alert_corrections ac
                               where ac.alert_id = a.id order by ac.id desc limit 1) last on true
          where a.case_id = $1 and a.stage_entered_at = $2 and a.ledger_item_id is null
            and not coalesce(last.withdrawn, false)
          order by a.id",
    )
    .bind(case_id)
    .bind(stage_entered_at)
    .fetch_all(conn)
    .await
    .doing("loading the case's deadline alerts")
}

/// A correction of an alert: its deadline as now computed, and whether it still stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCorrection<'a> {
    /// The alert.
    pub alert_id: i64,
    /// When.
    pub corrected_at: DateTime<Utc>,
    /// The deadline as now computed.
    pub due_at: DateTime<Utc>,
    /// Its status no longer holds.
    pub withdrawn: bool,
    /// Why (which calendar year was loaded).
    pub reason: &'a str,
}

/// Records a correction of an alert.
///
/// # Errors
/// Database failures.
pub async fn insert_correction(
    conn: &mut PgConnection,
    correction: &NewCorrection<'_>,
) -> Result<(), DbError> {
    sqlx::query(
        "insert into alert_corrections (alert_id, corrected_at, due_at, withdrawn, reason)
         values ($1, $2, $3, $4, $5)",
    )
    .bind(correction.alert_id)
    .bind(correction.corrected_at)
    .bind(correction.due_at)
    .bind(correction.withdrawn)
    .bind(correction.reason)
    .execute(conn)
    .await
    .doing("correcting the alert")?;
    Ok(())
}

/// A queued webhook delivery that is due.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DueDelivery {
    /// The delivery.
    pub id: i64,
    /// The alert to post.
    pub alert_id: i64,
    /// Where to post it.
    pub endpoint: String,
    /// Attempts made so far.
    pub attempts: i32,
}

/// Claims the delivery due first at `now` to one of `endpoints`, under a row lock that other
/// processes skip (`SKIP LOCKED`, so several share the queue) until the transaction ends.
///
/// # Errors
/// Database failures.
pub async fn claim_due_delivery(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    endpoints: &[String],
) -> Result<Option<DueDelivery>, DbError> {
    sqlx::query_as(
        "select id, alert_id, endpoint, attempts from alert_deliveries
          where state = 'pending' and next_attempt_at <= $1 and endpoint = any($2)
          order by next_attempt_at, id
          limit 1
          for update skip locked",
    )
    .bind(now)
    .bind(endpoints)
    .fetch_optional(conn)
    .await
    .doing("claiming a due delivery")
}

/// Records a delivery as delivered after `attempts` attempts, the last at `at`.
///
/// # Errors
/// Database failures.
pub async fn record_delivered(
    conn: &mut PgConnection,
    delivery_id: i64,
    attempts: i32,
    at: DateTime<Utc>,
) -> Result<(), DbError> {
    sqlx::query(
        "update alert_deliveries set state = 'delivered', attempts = $2, last_attempt_at = $3,
                delivered_at = $3, last_error = null
          where id = $1",
    )
    .bind(delivery_id)
    .bind(attempts)
    .bind(at)
    .execute(conn)
    .await
    .doing("recording a delivery")?;
    Ok(())
}

/// A failed delivery attempt: retried at `next_attempt_at`, or dead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedAttempt<'a> {
    /// The delivery.
    pub delivery_id: i64,
    /// No more attempts will be made.
    pub dead: bool,
    /// Attempts made, this one included.
    pub attempts: i32,
    /// When this one was made.
    pub attempted_at: DateTime<Utc>,
    /// When to try again.
    pub next_attempt_at: DateTime<Utc>,
    /// Why it failed.
    pub error: &'a str,
}

/// Records a failed attempt.
///
/// # Errors
/// Database failures.
pub async fn record_failed_attempt(
    conn: &mut PgConnection,
    failed: &FailedAttempt<'_>,
) -> Result<(), DbError> {
    sqlx::query(
        "update alert_deliveries set state = $2, attempts = $3, last_attempt_at = $4,
                next_attempt_at = $5, last_error = $6
          where id = $1",
    )
    .bind(failed.delivery_id)
    .bind(if failed.dead { "dead" } else { "pending" })
    .bind(failed.attempts)
    .bind(failed.attempted_at)
    .bind(failed.next_attempt_at)
    .bind(failed.error)
    .execute(conn)
    .await
    .doing("recording a failed delivery")?;
    Ok(())
}
