//! What a sweep reads and records: its lock, the open ledger items and the running stage
//! deadlines (each with the case's pauses), and the compare-and-set of a ledger item's status.
//! The alerts a sweep raises are stored by [`super::alerts`].

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{DbError, Doing};

/// The select-list part giving the pauses of case `$case` from `$since` on, as two arrays
/// (`pause_from`, `pause_to`, paired by position); both arguments are column names of the
/// statement. A macro so that every statement that needs the pauses stays one static string.
macro_rules! pauses_since {
    ($case:literal, $since:literal) => {
        concat!(
            "array(select cp.paused_at from case_pauses cp where cp.case_id = ",
            $case,
            " and (cp.resumed_at is null or cp.resumed_at > ",
            $since,
            ") order by cp.id) as pause_from, array(select cp.resumed_at from case_pauses cp where cp.case_id = ",
            $case,
            " and (cp.resumed_at is null or cp.resumed_at > ",
            $since,
            ") order by cp.id) as pause_to"
        )
    };
}
pub(crate) use pauses_since;

/// The advisory lock a sweep holds for its transaction: one sweep at a time across every
/// process on the database. The number is "landuse" in ASCII with a 1 for this lock.
const SWEEP_LOCK: i64 = 0x006c_616e_6475_7301;

/// Takes the sweep lock for the transaction, unless another process holds it. Whether it was
/// taken.
///
/// # Errors
/// Database failures.
pub async fn try_sweep_lock(conn: &mut PgConnection) -> Result<bool, DbError> {
    sqlx::query_scalar("select pg_try_advisory_xact_lock($1)")
        .bind(SWEEP_LOCK)
        .fetch_one(conn)
        .await
        .doing("taking the sweep lock")
}

/// An open ledger item with what an alert about it needs.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OpenItem {
    /// The item.
    pub id: Uuid,
    /// Its case.
    pub case_id: Uuid,
    /// The case's county.
    pub county_code: String,
    /// The stage the item was opened in (a stage code).
    pub stage: String,
    /// When it was opened.
    pub opened_at: DateTime<Utc>,
    /// The clearing status last recorded (a status code).
    pub last_status: String,
    /// The case's officer.
    pub officer_id: Option<Uuid>,
    /// The case's title.
    pub title: String,
    /// Whether the case is on the green channel.
    pub green: bool,
    /// The case's project.
    pub project_id: Uuid,
    /// The project's name.
    pub project_name: String,
    /// The leader the key-project list names for the project.
    pub responsible_leader: Option<String>,
    /// When each pause of the case since the item opened began.
    pub pause_from: Vec<DateTime<Utc>>,
    /// When each of those pauses ended; `None` while it lasts.
    pub pause_to: Vec<Option<DateTime<Utc>>>,
}

const OPEN_ITEMS: &str = concat!(
    "select li.id, li.case_id, li.county_code, li.stage, li.opened_at, li.last_status,
            c.officer_id, c.title, c.green, p.id as project_id, p.name as project_name,
            p.responsible_leader, ",
    pauses_since!("li.case_id", "li.opened_at"),
    "
       from ledger_items li
       join cases c on c.id = li.case_id
       join projects p on p.id = c.project_id
      where li.cleared_at is null and li.opened_at <= $1
      order by li.id"
);

/// Every ledger item open at `now`, in id order.
///
/// # Errors
/// Database failures.
pub async fn open_ledger_items(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
) -> Result<Vec<OpenItem>, DbError> {
    sqlx::query_as(OPEN_ITEMS)
        .bind(now)
        .fetch_all(conn)
        .await
        .doing("loading the open ledger items")
}

/// Records a ledger item's new clearing status, only if it still has status `from` and is open
/// (a compare-and-set: a concurrent sweep that got there first leaves nothing to change).
/// Whether it changed.
///
/// # Errors
/// Database failures.
pub async fn record_ledger_status(
    conn: &mut PgConnection,
    item_id: Uuid,
    from: &str,
    to: &str,
) -> Result<bool, DbError> {
    let updated = sqlx::query(
        "update ledger_items set last_status = $3
          where id = $1 and last_status = $2 and cleared_at is null",
    )
    .bind(item_id)
    .bind(from)
    .bind(to)
    .execute(conn)
    .await
    .doing("recording a ledger item's status")?;
    Ok(updated.rows_affected() == 1)
}

/// A case whose stage has a running time limit, with the deadline alerts of its current stay.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RunningCase {
    /// The case.
    pub id: Uuid,
    /// Its county.
    pub county_code: String,
    /// Its stage (a stage code).
    pub stage: String,
    /// The stage a correction returns to (a stage code).
    pub returns_to: Option<String>,
    /// When it entered the stage.
    pub stage_entered_at: DateTime<Utc>,
    /// Whether it is on the green channel.
    pub green: bool,
    /// Its officer.
    pub officer_id: Option<Uuid>,
    /// Its title.
    pub title: String,
    /// Its project.
    pub project_id: Uuid,
    /// The project's name.
    pub project_name: String,
    /// The leader the key-project list names for the project.
    pub responsible_leader: Option<String>,
    /// When each pause since the stage began began.
    pub pause_from: Vec<DateTime<Utc>>,
    /// When each of those pauses ended; `None` while it lasts.
    pub pause_to: Vec<Option<DateTime<Utc>>>,
    /// The kinds of the alerts raised for this stay and not withdrawn.
    pub alerted: Vec<String>,
}

const RUNNING_CASES: &str = concat!(
    "select c.id, c.county_code, c.stage, c.returns_to, c.stage_entered_at, c.green, c.officer_id,
            c.title, p.id as project_id, p.name as project_name, p.responsible_leader, ",
    pauses_since!("c.id", "c.stage_entered_at"),
    ",
            array(select a.kind from alerts a
                   where a.case_id = c.id and a.stage_entered_at = c.stage_entered_at
                     -- an alert a calendar year withdrew no longer counts as raised
                     and not coalesce((select ac.withdrawn from alert_corrections ac
                                        where ac.alert_id = a.id order by ac.id desc limit 1), false)
                  ) as alerted
       from cases c join projects p on p.id = c.project_id
      where c.stage in ('accepted', 'pre_review', 'conversion', 'supply', 'registration', 'correction')
        and c.stage_entered_at <= $1
      order by c.id"
);

/// Every case in a stage with a time limit that it entered by `now`, in id order.
///
/// # Errors
/// Database failures.
pub async fn running_cases(conn: &mut PgConnection, now: DateTime<Utc>) -> Result<Vec<RunningCase>, DbError> {
    sqlx::query_as(RUNNING_CASES)
        .bind(now)
        .fetch_all(conn)
        .await
        .doing("loading the running stage deadlines")
}
