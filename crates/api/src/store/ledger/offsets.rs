//! The farmland-offset ledger's tables: `offset_indicators` (immutable, what each
//! land-improvement project added), `offset_balances` (what is left of each, versioned) and
//! `offset_movements` (every change, as magnitudes; the kind says which way).

use chrono::{DateTime, Utc};
use landuse_domain::ledger::{Amount, Quantities};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::store::{DbError, Doing};

/// The SQLSTATE of a foreign-key violation: an indicator registered for a county the region
/// does not have.
pub const FOREIGN_KEY_VIOLATION: &str = "23503";

const INDICATOR: &str = concat!(
    "select ",
    include_str!("sql/offset_indicator_columns.sql"),
    " from offset_indicators i join offset_balances b on b.indicator_id = i.id where i.id = $1"
);

const INDICATORS: &str = concat!(
    "select ",
    include_str!("sql/offset_indicator_columns.sql"),
    " from offset_indicators i join offset_balances b on b.indicator_id = i.id
     where ($1::text[] is null or i.county_code = any($1))
       and (not $2 or b.area_m2 > 0 or b.paddy_m2 > 0 or b.capacity_kg > 0)
     order by i.county_code, i.registered_at, i.id"
);

const INDICATOR_MOVEMENTS: &str = concat!(
    "select ",
    include_str!("sql/offset_movement_columns.sql"),
    " from offset_movements where indicator_id = $1 order by id"
);

const CASE_MOVEMENTS: &str = concat!(
    "select ",
    include_str!("sql/offset_movement_columns.sql"),
    " from offset_movements where case_id = $1 order by id"
);

/// Three quantities of the offset ledger, in hundredths: area and paddy area (m²) and grain
/// capacity (kg).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct QuantitiesRow {
    /// Area, in hundredths of a m².
    pub area_hundredths: i64,
    /// Paddy area, in hundredths of a m².
    pub paddy_hundredths: i64,
    /// Grain capacity, in hundredths of a kg.
    pub capacity_hundredths: i64,
}

impl QuantitiesRow {
    /// The same quantities taken away instead of added.
    #[must_use]
    pub fn negated(self) -> Self {
        Self {
            area_hundredths: -self.area_hundredths,
            paddy_hundredths: -self.paddy_hundredths,
            capacity_hundredths: -self.capacity_hundredths,
        }
    }
}

impl From<&Quantities> for QuantitiesRow {
    fn from(q: &Quantities) -> Self {
        Self {
            area_hundredths: q.area_m2.hundredths(),
            paddy_hundredths: q.paddy_m2.hundredths(),
            capacity_hundredths: q.capacity_kg.hundredths(),
        }
    }
}

impl From<QuantitiesRow> for Quantities {
    fn from(row: QuantitiesRow) -> Self {
        Self {
            area_m2: Amount::from_hundredths(row.area_hundredths),
            paddy_m2: Amount::from_hundredths(row.paddy_hundredths),
            capacity_kg: Amount::from_hundredths(row.capacity_hundredths),
        }
    }
}

/// An indicator with what is left of it, as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct IndicatorRow {
    /// The indicator.
    pub id: Uuid,
    /// The county code of its holder.
    pub county_code: String,
    /// The land-improvement project it comes from.
    pub source_project: String,
    /// Its acceptance document or filing number.
    pub source_ref: String,
    /// The indicator a transfer split it off.
    pub transferred_from: Option<Uuid>,
    /// Area when registered, in hundredths of a m².
    pub registered_area_hundredths: i64,
    /// Paddy area when registered, in hundredths of a m².
    pub registered_paddy_hundredths: i64,
    /// Capacity when registered, in hundredths of a kg.
    pub registered_capacity_hundredths: i64,
    /// Area still available, in hundredths of a m².
    pub available_area_hundredths: i64,
    /// Paddy area still available, in hundredths of a m².
    pub available_paddy_hundredths: i64,
    /// Capacity still available, in hundredths of a kg.
    pub available_capacity_hundredths: i64,
    /// When it was registered.
    pub registered_at: DateTime<Utc>,
    /// The version of its balance, for ETags.
    pub version: i64,
}

/// One indicator.
///
/// # Errors
/// Database failures.
#[tracing::instrument(skip(conn))]
pub async fn indicator(conn: &mut PgConnection, id: Uuid) -> Result<Option<IndicatorRow>, DbError> {
    sqlx::query_as(INDICATOR)
        .bind(id)
        .fetch_optional(conn)
        .await
        .doing("reading an indicator")
}

/// The indicators of `counties` (all when `None`), by county then registration order; with
/// `only_available`, those with something left.
///
/// # Errors
/// Database failures.
#[tracing::instrument(skip(conn))]
pub async fn indicators(
    conn: &mut PgConnection,
    counties: Option<&[String]>,
    only_available: bool,
) -> Result<Vec<IndicatorRow>, DbError> {
    sqlx::query_as(INDICATORS)
        .bind(counties)
        .bind(only_available)
        .fetch_all(conn)
        .await
        .doing("listing indicators")
}

/// What a county's indicators have left, in total.
///
/// # Errors
/// Database failures.
#[tracing::instrument(skip(conn))]
pub async fn county_available(conn: &mut PgConnection, county: &str) -> Result<QuantitiesRow, DbError> {
    sqlx::query_as(
        "select coalesce((sum(area_m2) * 100)::bigint, 0) as area_hundredths,
                coalesce((sum(paddy_m2) * 100)::bigint, 0) as paddy_hundredths,
                coalesce((sum(capacity_kg) * 100)::bigint, 0) as capacity_hundredths
           from offset_balances where county_code = $1",
    )
    .bind(county)
    .fetch_one(conn)
    .await
    .doing("adding up the county's indicators")
}

/// An indicator's available amounts, from a row locked with the others of its county.
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
pub struct BalanceRow {
    /// The indicator.
    pub indicator_id: Uuid,
    /// What it has left.
    #[sqlx(flatten)]
    pub available: QuantitiesRow,
}

/// Locks every balance row of `county` (`for update`) in registration order and reads them:
/// concurrent locks in one county take turns, and each sees what the previous one left.
///
/// # Errors
/// Database failures.
#[tracing::instrument(skip(conn))]
pub async fn lock_county_balances(conn: &mut PgConnection, county: &str) -> Result<Vec<BalanceRow>, DbError> {
    sqlx::query_as(include_str!("sql/lock_county_balances.sql"))
        .bind(county)
        .fetch_all(conn)
        .await
        .doing("locking the county's indicators")
}

/// Locks one indicator's balance row (`for update`); `false` when there is no such indicator.
///
/// # Errors
/// Database failures.
#[tracing::instrument(skip(conn))]
pub async fn lock_balance(conn: &mut PgConnection, indicator_id: Uuid) -> Result<bool, DbError> {
    let version: Option<i64> =
        sqlx::query_scalar("select version from offset_balances where indicator_id = $1 for update")
            .bind(indicator_id)
            .fetch_optional(conn)
            .await
            .doing("locking the indicator")?;
    Ok(version.is_some())
}

/// Moves an indicator's available amounts by `delta` (signed hundredths: negative takes); the
/// balance's named check constraints refuse a result below zero.
///
/// # Errors
/// Database failures, those constraints among them.
#[tracing::instrument(skip(conn))]
pub async fn change_balance(
    conn: &mut PgConnection,
    indicator_id: Uuid,
    delta: QuantitiesRow,
) -> Result<(), DbError> {
    sqlx::query(include_str!("sql/change_offset_balance.sql"))
        .bind(indicator_id)
        .bind(delta.area_hundredths)
        .bind(delta.paddy_hundredths)
        .bind(delta.capacity_hundredths)
        .execute(conn)
        .await
        .doing("changing an indicator's balance")?;
    Ok(())
}

/// An indicator to insert, registered or split off by a transfer.
#[derive(Debug, Clone, Copy)]
pub struct NewIndicator<'a> {
    /// Its id.
    pub id: Uuid,
    /// The holding county's code.
    pub county_code: &'a str,
    /// The land-improvement project.
    pub source_project: &'a str,
    /// Its acceptance document or filing number.
    pub source_ref: &'a str,
    /// The indicator it was split off by a transfer.
    pub transferred_from: Option<Uuid>,
    /// What it holds, in hundredths.
    pub amounts: QuantitiesRow,
    /// Who registered it.
    pub by: Option<Uuid>,
    /// When.
    pub at: DateTime<Utc>,
}

/// Inserts an indicator with its balance, all of it available. A county the region does not
/// have is a [`FOREIGN_KEY_VIOLATION`].
///
/// # Errors
/// Database failures, that violation among them.
#[tracing::instrument(skip(conn))]
pub async fn insert_indicator(conn: &mut PgConnection, new: &NewIndicator<'_>) -> Result<(), DbError> {
    sqlx::query(include_str!("sql/insert_offset_indicator.sql"))
        .bind(new.id)
        .bind(new.county_code)
        .bind(new.source_project)
        .bind(new.source_ref)
        .bind(new.transferred_from)
        .bind(new.amounts.area_hundredths)
        .bind(new.amounts.paddy_hundredths)
        .bind(new.amounts.capacity_hundredths)
        .bind(new.at)
        .bind(new.by)
        .execute(conn)
        .await
        .doing("registering the indicator")?;
    Ok(())
}

/// What an offset movement did: stored as its snake-case code, answered as it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum OffsetMovementKind {
    /// The indicator was registered.
    Register,
    /// Locked by a case.
    Lock,
    /// A case's lock returned.
    Release,
    /// A case's lock used up by the approved conversion.
    Consume,
    /// Moved to another county.
    TransferOut,
    /// Received from another county.
    TransferIn,
}

/// One entry of the offset ledger as stored; the amounts are magnitudes.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OffsetMovementRow {
    /// Sequence number.
    pub id: i64,
    /// The indicator.
    pub indicator_id: Uuid,
    /// What happened.
    pub kind: OffsetMovementKind,
    /// The case, for locks, releases and consumptions.
    pub case_id: Option<Uuid>,
    /// Pairs the two entries of a transfer.
    pub transfer_id: Option<Uuid>,
    /// How much.
    #[sqlx(flatten)]
    pub amounts: QuantitiesRow,
    /// Who.
    pub actor_id: Option<Uuid>,
    /// Why.
    pub reason: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

/// The entries of one indicator, oldest first.
///
/// # Errors
/// Database failures.
#[tracing::instrument(skip(conn))]
pub async fn indicator_movements(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Vec<OffsetMovementRow>, DbError> {
    sqlx::query_as(INDICATOR_MOVEMENTS)
        .bind(id)
        .fetch_all(conn)
        .await
        .doing("reading the offset ledger")
}

/// The entries of one case, oldest first.
///
/// # Errors
/// Database failures.
#[tracing::instrument(skip(conn))]
pub async fn case_movements(
    conn: &mut PgConnection,
    case_id: Uuid,
) -> Result<Vec<OffsetMovementRow>, DbError> {
    sqlx::query_as(CASE_MOVEMENTS)
        .bind(case_id)
        .fetch_all(conn)
        .await
        .doing("reading the case's offset entries")
}

/// An offset ledger entry to append.
#[derive(Debug, Clone, Copy)]
pub struct NewOffsetMovement<'a> {
    /// The indicator.
    pub indicator_id: Uuid,
    /// What happens.
    pub kind: OffsetMovementKind,
    /// The case, for locks, releases and consumptions.
    pub case_id: Option<Uuid>,
    /// Pairs the two entries of a transfer.
    pub transfer_id: Option<Uuid>,
    /// How much, as magnitudes in hundredths.
    pub amounts: QuantitiesRow,
    /// Who.
    pub actor: Option<Uuid>,
    /// Why.
    pub reason: Option<&'a str>,
    /// When.
    pub at: DateTime<Utc>,
}

/// Appends an entry to the offset ledger.
///
/// # Errors
/// Database failures.
#[tracing::instrument(skip(conn))]
pub async fn append_movement(conn: &mut PgConnection, m: &NewOffsetMovement<'_>) -> Result<(), DbError> {
    sqlx::query(include_str!("sql/append_offset_movement.sql"))
        .bind(m.indicator_id)
        .bind(m.kind)
        .bind(m.case_id)
        .bind(m.transfer_id)
        .bind(m.amounts.area_hundredths)
        .bind(m.amounts.paddy_hundredths)
        .bind(m.amounts.capacity_hundredths)
        .bind(m.actor)
        .bind(m.reason)
        .bind(m.at)
        .execute(conn)
        .await
        .doing("appending to the offset ledger")?;
    Ok(())
}
