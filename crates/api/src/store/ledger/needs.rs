//! The offset need a case's lock answers to (`offset_needs`, append-only; the latest row of a
//! case is the one in force, so the ledger shows what every lock was measured against). The
//! check it was measured on is read through [`crate::store::checks`].

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::offsets::QuantitiesRow;
use crate::store::{DbError, Doing};

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
