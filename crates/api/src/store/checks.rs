//! Spatial checks of cases and their hits: the stored report, which check is the latest, a
//! planner's confirmation and dismissals, and the stale mark a parcel change leaves.
//!
//! "The latest check of a case" is [`latest_of`] (and [`latest`] for one case): the newest run,
//! ties broken by the newer id. The stage rules, the case view and the confirmation all read it
//! here, so they cannot disagree about which check counts.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{DbError, Doing};

/// A check without its report: what the stage rules, the case view and the list of a case's
/// checks read.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CheckBrief {
    /// The case checked.
    pub case_id: Uuid,
    /// The check's id.
    pub id: Uuid,
    /// When it ran.
    pub run_at: DateTime<Utc>,
    /// The case's result code (the worst of the layers, dismissals applied).
    pub result: String,
    /// Whether a parcel changed after it ran.
    pub stale: bool,
    /// When a planner confirmed it.
    pub confirmed_at: Option<DateTime<Utc>>,
    /// What the stage rules read of it (a `CheckSummary`).
    pub summary: Value,
    /// The construction quota the case needs by it, in hundredths of a mu.
    pub need_hundredths: Option<i64>,
}

/// The latest check of each of `case_ids` (cases never checked have none).
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip_all, fields(cases = case_ids.len()))]
pub async fn latest_of(conn: &mut PgConnection, case_ids: &[Uuid]) -> Result<Vec<CheckBrief>, DbError> {
    sqlx::query_as(include_str!("sql/checks_latest.sql"))
        .bind(case_ids)
        .fetch_all(conn)
        .await
        .doing("loading the latest checks")
}

/// The latest check of a case, if it was ever checked.
///
/// # Errors
/// Database failures.
pub async fn latest(conn: &mut PgConnection, case_id: Uuid) -> Result<Option<CheckBrief>, DbError> {
    Ok(latest_of(conn, &[case_id]).await?.pop())
}

/// A case's checks, newest first.
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip(conn))]
pub async fn of_case(conn: &mut PgConnection, case_id: Uuid) -> Result<Vec<CheckBrief>, DbError> {
    sqlx::query_as(
        "select case_id, id, run_at, result, stale, confirmed_at, summary,
                (quota_need_mu * 100)::bigint as need_hundredths
           from checks where case_id = $1 order by run_at desc, id desc",
    )
    .bind(case_id)
    .fetch_all(conn)
    .await
    .doing("listing checks")
}

/// A check as stored, with its report.
#[derive(Debug, sqlx::FromRow)]
pub struct CheckRow {
    /// The check's id.
    pub id: Uuid,
    /// When it ran.
    pub run_at: DateTime<Utc>,
    /// The planner who ran it.
    pub run_by: Option<Uuid>,
    /// The case's result code (dismissals applied).
    pub result: String,
    /// The spatial crate's `CheckReport`, as it was measured (dismissals are on the hits).
    pub report: Value,
    /// What the stage rules read of it (a `CheckSummary`).
    pub summary: Value,
    /// Whether a parcel changed after it ran.
    pub stale: bool,
    /// When a planner confirmed it.
    pub confirmed_at: Option<DateTime<Utc>>,
    /// Who confirmed it.
    pub confirmed_by: Option<Uuid>,
}

/// Loads check `check_id` of case `case_id`.
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip(conn))]
pub async fn load(
    conn: &mut PgConnection,
    case_id: Uuid,
    check_id: Uuid,
) -> Result<Option<CheckRow>, DbError> {
    sqlx::query_as(
        "select id, run_at, run_by, result, report, summary, stale, confirmed_at, confirmed_by
           from checks where id = $1 and case_id = $2",
    )
    .bind(check_id)
    .bind(case_id)
    .fetch_optional(conn)
    .await
    .doing("loading the check")
}

/// A check to store.
#[derive(Debug)]
pub struct NewCheck<'a> {
    /// The check's id.
    pub id: Uuid,
    /// The case checked.
    pub case_id: Uuid,
    /// When it ran.
    pub run_at: DateTime<Utc>,
    /// The planner who ran it.
    pub run_by: Uuid,
    /// The case's result code.
    pub result: &'static str,
    /// The report.
    pub report: &'a Value,
    /// What the stage rules read of it.
    pub summary: &'a Value,
    /// The construction quota the case needs by it, in hundredths of a mu.
    pub need_hundredths: i64,
}

/// Stores a check.
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip_all, fields(check = %check.id, case = %check.case_id))]
pub async fn insert(conn: &mut PgConnection, check: &NewCheck<'_>) -> Result<(), DbError> {
    sqlx::query(
        "insert into checks (id, case_id, run_at, run_by, result, report, summary, quota_need_mu)
         values ($1, $2, $3, $4, $5, $6, $7, $8::bigint::numeric / 100)",
    )
    .bind(check.id)
    .bind(check.case_id)
    .bind(check.run_at)
    .bind(check.run_by)
    .bind(check.result)
    .bind(check.report)
    .bind(check.summary)
    .bind(check.need_hundredths)
    .execute(conn)
    .await
    .doing("storing the check")?;
    Ok(())
}

/// A hit to store: one overlap of the report, found again by its layer and its place among the
/// layer's hits.
#[derive(Debug)]
pub struct NewHit {
    /// The hit's id.
    pub id: Uuid,
    /// The layer kind's code.
    pub layer_kind: &'static str,
    /// Its place among its layer's hits in the report.
    pub hit_index: i32,
    /// The layer version of the feature hit.
    pub layer_version_id: Option<Uuid>,
    /// The feature hit, in `layer_features`.
    pub feature_id: Option<i64>,
    /// The overlap in square metres.
    pub overlap_m2: f64,
    /// The feature's source attributes.
    pub attributes: Value,
    /// The overlap's geometry as WKB in EPSG:4490, when the report has one.
    pub wkb: Option<Vec<u8>>,
}

/// Stores every hit of check `check_id` with one statement.
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip(conn, hits), fields(count = hits.len()))]
pub async fn insert_hits(conn: &mut PgConnection, check_id: Uuid, hits: &[NewHit]) -> Result<(), DbError> {
    if hits.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = hits.iter().map(|h| h.id).collect();
    let kinds: Vec<&str> = hits.iter().map(|h| h.layer_kind).collect();
    let indexes: Vec<i32> = hits.iter().map(|h| h.hit_index).collect();
    let versions: Vec<Option<Uuid>> = hits.iter().map(|h| h.layer_version_id).collect();
    let features: Vec<Option<i64>> = hits.iter().map(|h| h.feature_id).collect();
    let overlaps: Vec<f64> = hits.iter().map(|h| h.overlap_m2).collect();
    let attributes: Vec<Value> = hits.iter().map(|h| h.attributes.clone()).collect();
    let shapes: Vec<Option<Vec<u8>>> = hits.iter().map(|h| h.wkb.clone()).collect();
    sqlx::query(include_str!("sql/checks_insert_hits.sql"))
        .bind(&ids)
        .bind(check_id)
        .bind(&kinds)
        .bind(&indexes)
        .bind(&versions)
        .bind(&features)
        .bind(&overlaps)
        .bind(&attributes)
        .bind(&shapes)
        .execute(conn)
        .await
        .doing("storing the hits")?;
    Ok(())
}

/// A stored hit with its dismissal, if any.
#[derive(Debug, sqlx::FromRow)]
pub struct HitRow {
    /// The hit's id.
    pub id: Uuid,
    /// The layer kind's code.
    pub layer_kind: String,
    /// Its place among its layer's hits in the report.
    pub hit_index: i32,
    /// When a planner dismissed it.
    pub dismissed_at: Option<DateTime<Utc>>,
    /// Who dismissed it.
    pub dismissed_by: Option<Uuid>,
    /// Why.
    pub dismiss_reason: Option<String>,
}

/// Every hit of a check.
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip(conn))]
pub async fn hits(conn: &mut PgConnection, check_id: Uuid) -> Result<Vec<HitRow>, DbError> {
    sqlx::query_as(
        "select id, layer_kind, hit_index, dismissed_at, dismissed_by, dismiss_reason
           from check_hits where check_id = $1",
    )
    .bind(check_id)
    .fetch_all(conn)
    .await
    .doing("loading the hits")
}

/// Hit `hit_id` of check `check_id`.
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip(conn))]
pub async fn hit(conn: &mut PgConnection, check_id: Uuid, hit_id: Uuid) -> Result<Option<HitRow>, DbError> {
    sqlx::query_as(
        "select id, layer_kind, hit_index, dismissed_at, dismissed_by, dismiss_reason
           from check_hits where id = $1 and check_id = $2",
    )
    .bind(hit_id)
    .bind(check_id)
    .fetch_optional(conn)
    .await
    .doing("loading the hit")
}

/// A dismissed hit, named as the report names it: its layer and its place among the layer's
/// hits (what `CheckInput::with_dismissed` takes).
#[derive(Debug, sqlx::FromRow)]
pub struct DismissedHit {
    /// The layer kind's code.
    pub layer_kind: String,
    /// Its place among its layer's hits in the report.
    pub hit_index: i32,
}

/// The dismissed hits of a check: what deciding it again leaves out.
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip(conn))]
pub async fn dismissed_hits(conn: &mut PgConnection, check_id: Uuid) -> Result<Vec<DismissedHit>, DbError> {
    sqlx::query_as(
        "select layer_kind, hit_index from check_hits
          where check_id = $1 and dismissed_at is not null
          order by layer_kind, hit_index",
    )
    .bind(check_id)
    .fetch_all(conn)
    .await
    .doing("reading the check's dismissals")
}

/// Records a planner's confirmation of a check.
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip(conn))]
pub async fn confirm(
    conn: &mut PgConnection,
    check_id: Uuid,
    at: DateTime<Utc>,
    by: Uuid,
) -> Result<(), DbError> {
    sqlx::query("update checks set confirmed_at = $2, confirmed_by = $3 where id = $1")
        .bind(check_id)
        .bind(at)
        .bind(by)
        .execute(conn)
        .await
        .doing("confirming the check")?;
    Ok(())
}

/// A planner's dismissal of one hit.
#[derive(Debug)]
pub struct HitDismissal<'a> {
    /// When.
    pub at: DateTime<Utc>,
    /// The planner.
    pub by: Uuid,
    /// Why the hit does not hold.
    pub reason: &'a str,
}

/// Records a dismissal on hit `hit_id`.
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip(conn, dismissal))]
pub async fn dismiss_hit(
    conn: &mut PgConnection,
    hit_id: Uuid,
    dismissal: &HitDismissal<'_>,
) -> Result<(), DbError> {
    sqlx::query(
        "update check_hits set dismissed_at = $2, dismissed_by = $3, dismiss_reason = $4 where id = $1",
    )
    .bind(hit_id)
    .bind(dismissal.at)
    .bind(dismissal.by)
    .bind(dismissal.reason)
    .execute(conn)
    .await
    .doing("recording the dismissal")?;
    Ok(())
}

/// A check's result decided again.
#[derive(Debug)]
pub struct Redecided<'a> {
    /// The case's result code.
    pub result: &'static str,
    /// What the stage rules read of it.
    pub summary: &'a Value,
    /// The construction quota the case needs by it, in hundredths of a mu.
    pub need_hundredths: i64,
}

/// Stores a check's result decided again (after a dismissal).
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip(conn, decided))]
pub async fn store_result(
    conn: &mut PgConnection,
    check_id: Uuid,
    decided: &Redecided<'_>,
) -> Result<(), DbError> {
    sqlx::query(
        "update checks set result = $2, summary = $3, quota_need_mu = $4::bigint::numeric / 100 where id = $1",
    )
    .bind(check_id)
    .bind(decided.result)
    .bind(decided.summary)
    .bind(decided.need_hundredths)
    .execute(conn)
    .await
    .doing("storing the new result")?;
    Ok(())
}

/// Marks a case's checks stale (its parcels changed); returns how many were current.
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip(conn))]
pub async fn mark_stale(conn: &mut PgConnection, case_id: Uuid) -> Result<u64, DbError> {
    let done = sqlx::query("update checks set stale = true where case_id = $1 and not stale")
        .bind(case_id)
        .execute(conn)
        .await
        .doing("marking the check stale")?;
    Ok(done.rows_affected())
}
