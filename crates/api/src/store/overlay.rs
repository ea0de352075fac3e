//! Mineral overlay queries and their answers (`case_overlay_queries`, `case_overlay_answers`,
//! migration 0020).
//!
//! Both are only ever added: a query's answer is one row keyed by the query, and a refused or
//! lapsed answer is followed by a new query. Every read runs under the caller's county scope
//! (row-level security), except the sweep's, which runs unscoped like the other timers.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{DbError, Doing};

/// A stored query with its answer, when there is one.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OverlayQueryRow {
    /// The query's id.
    pub id: Uuid,
    /// The case.
    pub case_id: Uuid,
    /// The check whose hits called for it, when it was opened on confirming one.
    pub check_id: Option<Uuid>,
    /// The day it was sent.
    pub sent_on: NaiveDate,
    /// The day its answer is due.
    pub due_on: NaiveDate,
    /// Whether the due day rests on days the calendar does not cover.
    pub due_provisional: bool,
    /// Who opened it (the planner confirming the check, or a reviewer).
    pub opened_by: Uuid,
    /// Their role's code.
    pub opened_role: String,
    /// When.
    pub opened_at: DateTime<Utc>,
    /// The answer's document number; the answer columns are all absent while unanswered.
    pub document_number: Option<String>,
    /// The day of the answer.
    pub answered_on: Option<NaiveDate>,
    /// The conclusion's code.
    pub conclusion: Option<String>,
    /// The note given with the answer.
    pub note: Option<String>,
    /// Who recorded the answer.
    pub answered_by: Option<Uuid>,
    /// When.
    pub answered_at: Option<DateTime<Utc>>,
}

const SELECT: &str =
    "select q.id, q.case_id, q.check_id, q.sent_on, q.due_on, q.due_provisional, q.opened_by,
       q.opened_role, q.opened_at, a.document_number, a.answered_on, a.conclusion, a.note,
       a.recorded_by as answered_by, a.recorded_at as answered_at
  from case_overlay_queries q
  left join case_overlay_answers a on a.query_id = q.id";

/// A query to store.
#[derive(Debug)]
pub struct NewQuery {
    /// Its id.
    pub id: Uuid,
    /// The case.
    pub case_id: Uuid,
    /// The check that called for it, if opened on confirming one.
    pub check_id: Option<Uuid>,
    /// The day it is sent.
    pub sent_on: NaiveDate,
    /// The day its answer is due.
    pub due_on: NaiveDate,
    /// Whether that day is provisional.
    pub due_provisional: bool,
    /// Who opens it.
    pub opened_by: Uuid,
    /// Their role's code.
    pub opened_role: &'static str,
    /// When.
    pub opened_at: DateTime<Utc>,
}

/// Stores a new query.
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip_all, fields(case = %new.case_id))]
pub async fn insert_query(conn: &mut PgConnection, new: &NewQuery) -> Result<(), DbError> {
    sqlx::query(
        "insert into case_overlay_queries (id, case_id, check_id, sent_on, due_on, due_provisional,
                                           opened_by, opened_role, opened_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(new.id)
    .bind(new.case_id)
    .bind(new.check_id)
    .bind(new.sent_on)
    .bind(new.due_on)
    .bind(new.due_provisional)
    .bind(new.opened_by)
    .bind(new.opened_role)
    .bind(new.opened_at)
    .execute(conn)
    .await
    .doing("storing an overlay query")?;
    Ok(())
}

/// An answer to store.
#[derive(Debug)]
pub struct NewAnswer<'a> {
    /// The query answered.
    pub query_id: Uuid,
    /// The document number.
    pub document_number: &'a str,
    /// The day of the answer.
    pub answered_on: NaiveDate,
    /// The conclusion's code.
    pub conclusion: &'static str,
    /// The note.
    pub note: Option<&'a str>,
    /// Who records it.
    pub recorded_by: Uuid,
    /// Their role's code.
    pub recorded_role: &'static str,
    /// When.
    pub recorded_at: DateTime<Utc>,
}

/// Stores a query's answer. `false` when the query already had one (a concurrent answer won).
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip_all, fields(query = %new.query_id))]
pub async fn insert_answer(conn: &mut PgConnection, new: &NewAnswer<'_>) -> Result<bool, DbError> {
    let done = sqlx::query(
        "insert into case_overlay_answers (query_id, document_number, answered_on, conclusion, note,
                                           recorded_by, recorded_role, recorded_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8)
         on conflict (query_id) do nothing",
    )
    .bind(new.query_id)
    .bind(new.document_number)
    .bind(new.answered_on)
    .bind(new.conclusion)
    .bind(new.note)
    .bind(new.recorded_by)
    .bind(new.recorded_role)
    .bind(new.recorded_at)
    .execute(conn)
    .await
    .doing("storing an overlay answer")?;
    Ok(done.rows_affected() == 1)
}

/// The queries of `case_ids` with their answers, each case's in the order they were opened.
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip(conn))]
pub async fn of_cases(conn: &mut PgConnection, case_ids: &[Uuid]) -> Result<Vec<OverlayQueryRow>, DbError> {
    sqlx::query_as(&format!(
        "{SELECT} where q.case_id = any($1) order by q.case_id, q.opened_at, q.id"
    ))
    .bind(case_ids)
    .fetch_all(conn)
    .await
    .doing("loading overlay queries")
}

/// A query unanswered and due by `today`, with what an alert about it needs.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UnansweredRow {
    /// The query.
    #[sqlx(flatten)]
    pub query: OverlayQueryRow,
    /// The case's stage.
    pub stage: String,
    /// The case's county.
    pub county_code: String,
    /// The case's title.
    pub title: String,
    /// The case's officer.
    pub officer_id: Option<Uuid>,
    /// The case's project.
    pub project_id: Uuid,
    /// Its name.
    pub project_name: String,
    /// The project's responsible leader.
    pub responsible_leader: Option<String>,
    /// The alert kinds already raised about the query.
    pub alerted: Vec<String>,
}

/// Every unanswered query whose due day is `today` or earlier, of a case still live, with the
/// alerts already raised about it (for the sweep, unscoped).
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip(conn))]
pub async fn unanswered_due(
    conn: &mut PgConnection,
    today: NaiveDate,
) -> Result<Vec<UnansweredRow>, DbError> {
    sqlx::query_as(include_str!("sql/overlay_unanswered_due.sql"))
        .bind(today)
        .fetch_all(conn)
        .await
        .doing("loading the overlay queries due")
}

/// An unanswered query whose due date is provisional (it reaches past the calendar's years).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProvisionalDueRow {
    /// The query.
    pub id: Uuid,
    /// Its case.
    pub case_id: Uuid,
    /// The day it was sent.
    pub sent_on: NaiveDate,
    /// The due day as stored.
    pub due_on: NaiveDate,
}

/// Every unanswered query with a provisional due date, locked for the calendar load that may
/// make it final.
///
/// # Errors
/// Database failures.
pub async fn lock_provisional_due(conn: &mut PgConnection) -> Result<Vec<ProvisionalDueRow>, DbError> {
    sqlx::query_as(
        "select q.id, q.case_id, q.sent_on, q.due_on
           from case_overlay_queries q
          where q.due_provisional
            and not exists (select 1 from case_overlay_answers a where a.query_id = q.id)
          order by q.id
            for update of q",
    )
    .fetch_all(conn)
    .await
    .doing("locking the overlay queries due on provisional days")
}

/// Stores a query's due date as a calendar load recomputed it.
///
/// # Errors
/// Database failures.
pub async fn store_due(
    conn: &mut PgConnection,
    id: Uuid,
    due_on: NaiveDate,
    provisional: bool,
) -> Result<(), DbError> {
    sqlx::query("update case_overlay_queries set due_on = $2, due_provisional = $3 where id = $1")
        .bind(id)
        .bind(due_on)
        .bind(provisional)
        .execute(conn)
        .await
        .doing("storing an overlay query's due date")?;
    Ok(())
}
