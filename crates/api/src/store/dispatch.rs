//! The weekly dispatch snapshots: taken once per scheduled instant from the ledger, stored with
//! one row per county and stage, and read back whole or as totals.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{timers::pauses_since, DbError, Doing};

/// Stores the head of the snapshot for the week `[period_start, period_end)`, unless that week
/// has one. Whether it was stored.
///
/// # Errors
/// Database failures.
pub async fn insert_snapshot(
    conn: &mut PgConnection,
    id: Uuid,
    period_start: DateTime<Utc>,
    period_end: DateTime<Utc>,
    taken_at: DateTime<Utc>,
) -> Result<bool, DbError> {
    let inserted = sqlx::query(
        "insert into dispatch_snapshots (id, period_start, period_end, taken_at) values ($1, $2, $3, $4)
         on conflict (period_end) do nothing",
    )
    .bind(id)
    .bind(period_start)
    .bind(period_end)
    .bind(taken_at)
    .execute(conn)
    .await
    .doing("storing the dispatch snapshot")?;
    Ok(inserted.rows_affected() == 1)
}

/// A ledger item open at some time in a week, with what the dispatch counts it by.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct WeekItem {
    /// The case's county.
    pub county_code: String,
    /// The stage the item was opened in (a stage code).
    pub stage: String,
    /// Whether the case is on the green channel.
    pub green: bool,
    /// When it was opened.
    pub opened_at: DateTime<Utc>,
    /// When it was struck off, if it was.
    pub cleared_at: Option<DateTime<Utc>>,
    /// When each pause of the case since the item opened began.
    pub pause_from: Vec<DateTime<Utc>>,
    /// When each of those pauses ended; `None` while it lasts.
    pub pause_to: Vec<Option<DateTime<Utc>>>,
}

const WEEK_ITEMS: &str = concat!(
    "select li.county_code, li.stage, c.green, li.opened_at, li.cleared_at, ",
    pauses_since!("li.case_id", "li.opened_at"),
    "
       from ledger_items li join cases c on c.id = li.case_id
      where li.opened_at < $2 and (li.cleared_at is null or li.cleared_at >= $1)"
);

/// The ledger items opened before `period_end` and not struck off before `period_start`.
///
/// # Errors
/// Database failures.
pub async fn week_items(
    conn: &mut PgConnection,
    period_start: DateTime<Utc>,
    period_end: DateTime<Utc>,
) -> Result<Vec<WeekItem>, DbError> {
    sqlx::query_as(WEEK_ITEMS)
        .bind(period_start)
        .bind(period_end)
        .fetch_all(conn)
        .await
        .doing("loading the ledger for the dispatch")
}

/// One county and stage of a snapshot, as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SnapshotRow {
    /// The county.
    pub county_code: String,
    /// The stage code.
    pub stage: String,
    /// Items opened in the week.
    pub opened: i32,
    /// Items struck off in the week.
    pub cleared: i32,
    /// Items open at the snapshot.
    pub still_open: i32,
    /// Of those, due soon.
    pub due_soon: i32,
    /// Of those, overdue.
    pub overdue: i32,
    /// Of those, on the green channel.
    pub green_open: i32,
}

/// Stores one county and stage of a snapshot.
///
/// # Errors
/// Database failures.
pub async fn insert_snapshot_row(
    conn: &mut PgConnection,
    snapshot_id: Uuid,
    row: &SnapshotRow,
) -> Result<(), DbError> {
    sqlx::query(
        "insert into dispatch_rows (snapshot_id, county_code, stage, opened, cleared, still_open,
                                    due_soon, overdue, green_open)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(snapshot_id)
    .bind(&row.county_code)
    .bind(&row.stage)
    .bind(row.opened)
    .bind(row.cleared)
    .bind(row.still_open)
    .bind(row.due_soon)
    .bind(row.overdue)
    .bind(row.green_open)
    .execute(conn)
    .await
    .doing("storing a dispatch row")?;
    Ok(())
}

/// A snapshot with its totals over some counties.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SnapshotTotals {
    /// The snapshot.
    pub id: Uuid,
    /// The week counted starts here.
    pub period_start: DateTime<Utc>,
    /// The scheduled instant the snapshot describes.
    pub period_end: DateTime<Utc>,
    /// When the sweeper took it.
    pub taken_at: DateTime<Utc>,
    /// Items opened in the week.
    pub opened: i64,
    /// Items struck off in the week.
    pub cleared: i64,
    /// Items open at the snapshot.
    pub still_open: i64,
    /// Of those, due soon.
    pub due_soon: i64,
    /// Of those, overdue.
    pub overdue: i64,
    /// Counties with an overdue item.
    pub counties_not_cleared: i64,
}

/// The 200 newest snapshots, newest first, each with its totals over `counties` (`None`: all).
///
/// # Errors
/// Database failures.
pub async fn snapshot_totals(
    conn: &mut PgConnection,
    counties: Option<&[String]>,
) -> Result<Vec<SnapshotTotals>, DbError> {
    sqlx::query_as(
        "select s.id, s.period_start, s.period_end, s.taken_at,
                coalesce(sum(r.opened), 0)::bigint as opened,
                coalesce(sum(r.cleared), 0)::bigint as cleared,
                coalesce(sum(r.still_open), 0)::bigint as still_open,
                coalesce(sum(r.due_soon), 0)::bigint as due_soon,
                coalesce(sum(r.overdue), 0)::bigint as overdue,
                count(distinct r.county_code) filter (where r.overdue > 0) as counties_not_cleared
           from dispatch_snapshots s
           left join dispatch_rows r on r.snapshot_id = s.id and ($1::text[] is null or r.county_code = any($1))
          group by s.id
          order by s.period_end desc
          limit 200",
    )
    .bind(counties)
    .fetch_all(conn)
    .await
    .doing("listing dispatch snapshots")
}

/// When a snapshot's week was and when it was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct SnapshotHead {
    /// The week counted starts here.
    pub period_start: DateTime<Utc>,
    /// The scheduled instant the snapshot describes.
    pub period_end: DateTime<Utc>,
    /// When the sweeper took it.
    pub taken_at: DateTime<Utc>,
}

/// The head of one snapshot.
///
/// # Errors
/// Database failures.
pub async fn snapshot_head(conn: &mut PgConnection, id: Uuid) -> Result<Option<SnapshotHead>, DbError> {
    sqlx::query_as("select period_start, period_end, taken_at from dispatch_snapshots where id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await
        .doing("loading the dispatch snapshot")
}

/// The rows of one snapshot for `counties` (`None`: all).
///
/// # Errors
/// Database failures.
pub async fn snapshot_rows(
    conn: &mut PgConnection,
    id: Uuid,
    counties: Option<&[String]>,
) -> Result<Vec<SnapshotRow>, DbError> {
    sqlx::query_as(
        "select county_code, stage, opened, cleared, still_open, due_soon, overdue, green_open
           from dispatch_rows where snapshot_id = $1 and ($2::text[] is null or county_code = any($2))",
    )
    .bind(id)
    .bind(counties)
    .fetch_all(conn)
    .await
    .doing("loading the dispatch rows")
}

/// A county's code and name.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CountyName {
    /// The 6-digit code.
    pub code: String,
    /// The name.
    pub name: String,
}

/// The counties among `counties` (`None`: all), in code order.
///
/// # Errors
/// Database failures.
pub async fn county_names(
    conn: &mut PgConnection,
    counties: Option<&[String]>,
) -> Result<Vec<CountyName>, DbError> {
    sqlx::query_as(
        "select code, name from counties where ($1::text[] is null or code = any($1)) order by code",
    )
    .bind(counties)
    .fetch_all(conn)
    .await
    .doing("loading the counties")
}
