//! The working-day calendar as loaded by an admin: one row per year with its version, the lock
//! a load holds, and the stored stage deadlines a load computes again.

use chrono::{DateTime, NaiveDate, Utc};
use landuse_domain::recompute::StoredDeadline;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{timers::pauses_since, DbError, Doing};
use crate::calendar::CalendarYearView;

/// The advisory lock a calendar load holds for its transaction, so two loads never recompute
/// the deadlines at once. "landuse" in ASCII with a 2 for this lock.
const CALENDAR_LOCK: i64 = 0x006c_616e_6475_7302;

/// Waits for the calendar lock and holds it until the transaction ends.
///
/// # Errors
/// Database failures.
pub async fn lock_calendar(conn: &mut PgConnection) -> Result<(), DbError> {
    sqlx::query("select pg_advisory_xact_lock($1)")
        .bind(CALENDAR_LOCK)
        .execute(conn)
        .await
        .doing("taking the calendar lock")?;
    Ok(())
}

/// The stored year, if it is loaded.
///
/// # Errors
/// Database failures.
pub async fn year(conn: &mut PgConnection, year: i32) -> Result<Option<CalendarYearView>, DbError> {
    sqlx::query_as(
        "select year, holidays, adjusted_workdays, version, updated_at from calendar_years where year = $1",
    )
    .bind(year)
    .fetch_optional(conn)
    .await
    .doing("loading the calendar year")
}

/// The stored year, locked until the transaction ends, if it is loaded.
///
/// # Errors
/// Database failures.
pub async fn lock_year(conn: &mut PgConnection, year: i32) -> Result<Option<CalendarYearView>, DbError> {
    sqlx::query_as(
        "select year, holidays, adjusted_workdays, version, updated_at from calendar_years
          where year = $1 for update",
    )
    .bind(year)
    .fetch_optional(conn)
    .await
    .doing("locking the calendar year")
}

/// Stores a year as loaded at `now`: a new year at version 1, a loaded one replaced with its
/// version bumped. The year as stored.
///
/// # Errors
/// Database failures.
pub async fn store_year(
    conn: &mut PgConnection,
    year: i32,
    holidays: &[NaiveDate],
    adjusted_workdays: &[NaiveDate],
    now: DateTime<Utc>,
) -> Result<CalendarYearView, DbError> {
    sqlx::query_as(
        "insert into calendar_years as y (year, holidays, adjusted_workdays, updated_at)
         values ($1, $2, $3, $4)
         on conflict (year) do update
            set holidays = excluded.holidays, adjusted_workdays = excluded.adjusted_workdays,
                updated_at = excluded.updated_at, version = y.version + 1
         returning year, holidays, adjusted_workdays, version, updated_at",
    )
    .bind(year)
    .bind(holidays)
    .bind(adjusted_workdays)
    .bind(now)
    .fetch_one(conn)
    .await
    .doing("storing the calendar year")
}

/// A case with a stored running deadline, and what computing it again needs.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredDeadlineRow {
    /// The case.
    pub id: Uuid,
    /// Its stage (a stage code).
    pub stage: String,
    /// The stage a correction returns to (a stage code).
    pub returns_to: Option<String>,
    /// When it entered the stage.
    pub stage_entered_at: DateTime<Utc>,
    /// The stored deadline.
    pub deadline_at: DateTime<Utc>,
    /// Whether the stored deadline ran past the calendar's last year.
    pub deadline_provisional: bool,
    /// Whether the case is on the green channel.
    pub green: bool,
    /// When each pause since the stage began began.
    pub pause_from: Vec<DateTime<Utc>>,
    /// When each of those pauses ended; `None` while it lasts.
    pub pause_to: Vec<Option<DateTime<Utc>>>,
}

const STORED_DEADLINES: &str = concat!(
    "select c.id, c.stage, c.returns_to, c.stage_entered_at, c.deadline_at, c.deadline_provisional,
            c.green, ",
    pauses_since!("c.id", "c.stage_entered_at"),
    "
       from cases c where c.deadline_at is not null order by c.id for update of c"
);

/// Every case with a stored deadline, locked until the transaction ends, in id order.
///
/// # Errors
/// Database failures.
pub async fn lock_stored_deadlines(conn: &mut PgConnection) -> Result<Vec<StoredDeadlineRow>, DbError> {
    sqlx::query_as(STORED_DEADLINES)
        .fetch_all(conn)
        .await
        .doing("loading the stored deadlines")
}

/// Stores a case's recomputed deadline (`None` when none runs) and bumps its version.
///
/// # Errors
/// Database failures.
pub async fn store_deadline(
    conn: &mut PgConnection,
    case_id: Uuid,
    deadline: Option<StoredDeadline>,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    sqlx::query(
        "update cases set deadline_at = $2, deadline_provisional = $3, version = version + 1, updated_at = $4
          where id = $1",
    )
    .bind(case_id)
    .bind(deadline.map(|d| d.ends_at))
    .bind(deadline.is_some_and(|d| d.provisional))
    .bind(now)
    .execute(conn)
    .await
    .doing("storing the recomputed deadline")?;
    Ok(())
}
