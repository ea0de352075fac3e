//! What the ledgers measure a case against: its latest spatial check (with the hits a planner
//! dismissed) and the offset need in force (`offset_needs`, append-only; the latest row of a
//! case is the one in force, so the ledger shows what every lock was measured against).

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::offsets::QuantitiesRow;
use crate::store::{DbError, Doing};

/// A case's latest check, with its stored report (the spatial crate's `CheckReport`).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LatestCheckRow {
    /// The check.
    pub id: Uuid,
    /// Whether the parcels changed after it ran.
    pub stale: bool,
    /// When a reviewer confirmed it, if one did.
    pub confirmed_at: Option<DateTime<Utc>>,
    /// The stored report: its `input` and `rules` decide it again.
    pub report: serde_json::Value,
}

/// The case's latest check (by run time), if it has one.
///
/// # Errors
/// Database failures.
#[tracing::instrument(skip(conn))]
pub async fn latest_check(conn: &mut PgConnection, case_id: Uuid) -> Result<Option<LatestCheckRow>, DbError> {
    sqlx::query_as(
        "select id, stale, confirmed_at, report from checks where case_id = $1
          order by run_at desc, id desc limit 1",
    )
    .bind(case_id)
    .fetch_optional(conn)
    .await
    .doing("reading the latest check")
}

/// A hit of a check that a planner dismissed.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DismissedHitRow {
    /// The layer kind code of the hit.
    pub layer_kind: String,
    /// Its index among that layer's hits in the report.
    pub hit_index: i32,
}

/// The hits of check `check_id` that a planner dismissed.
///
/// # Errors
/// Database failures.
#[tracing::instrument(skip(conn))]
pub async fn dismissed_hits(
    conn: &mut PgConnection,
    check_id: Uuid,
) -> Result<Vec<DismissedHitRow>, DbError> {
    sqlx::query_as(
        "select layer_kind, hit_index from check_hits where check_id = $1 and dismissed_at is not null",
    )
    .bind(check_id)
    .fetch_all(conn)
    .await
    .doing("reading the check's dismissals")
}

/// The offset need in force for a case's lock.
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
pub struct NeedRow {
    /// The confirmed check the areas were measured on.
    pub check_id: Uuid,
    /// The need: areas from the check, capacity as the reviewer stated it.
    #[sqlx(flatten)]
    pub needs: QuantitiesRow,
}

/// The latest need a lock or an adjustment recorded for the case.
///
/// # Errors
/// Database failures.
#[tracing::instrument(skip(conn))]
pub async fn need_in_force(conn: &mut PgConnection, case_id: Uuid) -> Result<Option<NeedRow>, DbError> {
    sqlx::query_as(
        "select check_id, (area_m2 * 100)::bigint as area_hundredths, (paddy_m2 * 100)::bigint as paddy_hundredths,
                (capacity_kg * 100)::bigint as capacity_hundredths
           from offset_needs where case_id = $1 order by id desc limit 1",
    )
    .bind(case_id)
    .fetch_optional(conn)
    .await
    .doing("reading the case's offset need")
}

/// Records the need a lock was brought to, measured on check `need.check_id`.
///
/// # Errors
/// Database failures.
#[tracing::instrument(skip(conn))]
pub async fn record_need(
    conn: &mut PgConnection,
    case_id: Uuid,
    need: &NeedRow,
    by: Option<Uuid>,
    at: DateTime<Utc>,
) -> Result<(), DbError> {
    sqlx::query(
        "insert into offset_needs (case_id, check_id, area_m2, paddy_m2, capacity_kg, stated_by, at)
         values ($1, $2, $3::bigint::numeric / 100, $4::bigint::numeric / 100, $5::bigint::numeric / 100, $6, $7)",
    )
    .bind(case_id)
    .bind(need.check_id)
    .bind(need.needs.area_hundredths)
    .bind(need.needs.paddy_hundredths)
    .bind(need.needs.capacity_hundredths)
    .bind(by)
    .bind(at)
    .execute(conn)
    .await
    .doing("recording the offset need")?;
    Ok(())
}
