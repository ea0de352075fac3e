//! Cases: their rows, stages and clocks, their history, their three-week ledger items, and what
//! a case's view reads besides its row (pauses, open ledger item, quota held and consumed).
//!
//! Functions that read for a view take many cases at once (`&[Uuid]`), so a page of the queue
//! costs the same few statements as one case.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{DbError, Doing};

/// A case row as stored, with its project's name and list membership.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CaseRow {
    /// The case's id.
    pub id: Uuid,
    /// The project the land is for.
    pub project_id: Uuid,
    /// The project's name.
    pub project_name: String,
    /// Whether the project is on a key-project list (which puts the case on the green channel).
    pub on_key_list: bool,
    /// The county the case belongs to.
    pub county_code: String,
    /// The case's title.
    pub title: String,
    /// The stage code.
    pub stage: String,
    /// For a case in correction, the stage code it returns to.
    pub returns_to: Option<String>,
    /// When the current stage's clock started.
    pub stage_entered_at: DateTime<Utc>,
    /// The current stage's deadline as last stored (it orders the queue).
    pub deadline_at: Option<DateTime<Utc>>,
    /// A leader's green-channel grant, with its revocation (a domain `Grant`).
    pub green_grant: Option<Value>,
    /// Whether the green channel was in force when the case last changed (it orders the queue).
    pub green: bool,
    /// The approval documents recorded (the workflow's `RecordedFacts`).
    pub facts: Value,
    /// What the case declares for the verdict rules (the workflow's `Declarations`).
    pub declarations: Value,
    /// `phase::PhaseKind`'s code, when the case is a phase or segment of its project.
    pub phase_kind: Option<String>,
    /// Its phase number, from 1.
    pub phase_number: Option<i32>,
    /// Its phase name (`K0+000–K12+500`), when given.
    pub phase_name: Option<String>,
    /// When it was opened.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Its version, the ETag.
    pub version: i64,
}

/// Loads case `id`, locked for a change when `lock`. Row security hides cases outside the
/// transaction's counties.
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip(conn))]
pub async fn load(conn: &mut PgConnection, id: Uuid, lock: bool) -> Result<Option<CaseRow>, DbError> {
    let sql = if lock {
        concat!(include_str!("sql/cases_load.sql"), " for update of c")
    } else {
        include_str!("sql/cases_load.sql")
    };
    sqlx::query_as(sql)
        .bind(id)
        .fetch_optional(conn)
        .await
        .doing("loading the case")
}

/// What narrows a page of the queue; see `sql/cases_list.sql`.
#[derive(Debug)]
pub struct CaseFilter<'a> {
    /// The counties the caller serves (`None`: all).
    pub counties: Option<&'a [String]>,
    /// A county code or alias asked for.
    pub county: Option<&'a str>,
    /// A stage code.
    pub stage: Option<&'static str>,
    /// Green-channel cases only (`true`) or only the others (`false`).
    pub green: Option<bool>,
    /// Cases past their deadline at `now` only (`true`) or only the others (`false`).
    pub overdue: Option<bool>,
    /// The instant "overdue" is judged at.
    pub now: DateTime<Utc>,
    /// Only cases whose open ledger item has this status code.
    pub ledger_status: Option<&'static str>,
    /// Today, as the bureau counts days.
    pub today: NaiveDate,
    /// The last due day that still counts as "due soon".
    pub due_soon_until: NaiveDate,
    /// Text in the title or the project's name (matched literally).
    pub text: Option<&'a str>,
    /// Where the previous page ended: green group (0 green, 1 not), deadline, id.
    pub after: Option<(i32, Option<DateTime<Utc>>, Uuid)>,
    /// How many rows to return.
    pub limit: i64,
}

/// A page of the queue: green first, then nearest deadline.
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn list(conn: &mut PgConnection, filter: &CaseFilter<'_>) -> Result<Vec<CaseRow>, DbError> {
    let text = filter
        .text
        .map(|q| q.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
    sqlx::query_as(include_str!("sql/cases_list.sql"))
        .bind(filter.counties)
        .bind(filter.county)
        .bind(filter.stage)
        .bind(filter.green)
        .bind(filter.overdue)
        .bind(filter.now)
        .bind(filter.ledger_status)
        .bind(filter.today)
        .bind(filter.due_soon_until)
        .bind(text)
        .bind(filter.after.map(|a| a.0))
        .bind(filter.after.and_then(|a| a.1))
        .bind(filter.after.map(|a| a.2))
        .bind(filter.limit)
        .fetch_all(conn)
        .await
        .doing("listing cases")
}

/// The ids of a project's cases.
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip(conn))]
pub async fn ids_of_project(conn: &mut PgConnection, project_id: Uuid) -> Result<Vec<Uuid>, DbError> {
    sqlx::query_scalar("select id from cases where project_id = $1 order by id")
        .bind(project_id)
        .fetch_all(conn)
        .await
        .doing("finding the project's cases")
}

/// A case to open, in the draft stage.
#[derive(Debug)]
pub struct NewCaseRow<'a> {
    /// The new case's id.
    pub id: Uuid,
    /// The project the land is for.
    pub project_id: Uuid,
    /// The project's county.
    pub county_code: &'a str,
    /// The title, trimmed.
    pub title: &'a str,
    /// Whether it starts on the green channel (its project is on a key-project list).
    pub green: bool,
    /// What it declares for the verdict rules.
    pub declarations: &'a Value,
    /// Which phase or segment of its project it is: kind code, number, name.
    pub phase: Option<(&'a str, i32, Option<&'a str>)>,
    /// The officer who opens it.
    pub officer_id: Uuid,
    /// When.
    pub at: DateTime<Utc>,
}

/// Opens a case in the draft stage, its clock started at `at`.
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip_all, fields(case = %new.id))]
pub async fn insert(conn: &mut PgConnection, new: &NewCaseRow<'_>) -> Result<(), DbError> {
    sqlx::query(
        "insert into cases (id, project_id, county_code, title, stage, stage_entered_at, green,
                            declarations, officer_id, created_at, updated_at, phase_kind, phase_number,
                            phase_name)
         values ($1, $2, $3, $4, 'draft', $5, $6, $7, $8, $5, $5, $9, $10, $11)",
    )
    .bind(new.id)
    .bind(new.project_id)
    .bind(new.county_code)
    .bind(new.title)
    .bind(new.at)
    .bind(new.green)
    .bind(new.declarations)
    .bind(new.officer_id)
    .bind(new.phase.map(|p| p.0))
    .bind(new.phase.map(|p| p.1))
    .bind(new.phase.and_then(|p| p.2))
    .execute(conn)
    .await
    .doing("opening the case")?;
    Ok(())
}

/// Replaces the approval documents recorded on a case.
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip(conn, facts))]
pub async fn set_facts(conn: &mut PgConnection, id: Uuid, facts: &Value) -> Result<(), DbError> {
    sqlx::query("update cases set facts = $2 where id = $1")
        .bind(id)
        .bind(facts)
        .execute(conn)
        .await
        .doing("recording the documents")?;
    Ok(())
}

/// Replaces a case's green-channel grant.
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip(conn, grant))]
pub async fn set_green_grant(conn: &mut PgConnection, id: Uuid, grant: &Value) -> Result<(), DbError> {
    sqlx::query("update cases set green_grant = $2 where id = $1")
        .bind(id)
        .bind(grant)
        .execute(conn)
        .await
        .doing("recording the green channel")?;
    Ok(())
}

/// Where a transition leaves a case.
#[derive(Debug)]
pub struct StageMove {
    /// The stage code after.
    pub stage: &'static str,
    /// For a case in correction, the stage code it returns to.
    pub returns_to: Option<&'static str>,
    /// Whether the stage's clock starts again at `at` (it does not around a correction, which
    /// pauses and resumes it).
    pub restart_clock: bool,
    /// When.
    pub at: DateTime<Utc>,
}

/// Moves a case to another stage.
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip(conn))]
pub async fn move_stage(conn: &mut PgConnection, id: Uuid, to: &StageMove) -> Result<(), DbError> {
    sqlx::query(
        "update cases set stage = $2, returns_to = $3,
                stage_entered_at = case when $4 then $5 else stage_entered_at end
          where id = $1",
    )
    .bind(id)
    .bind(to.stage)
    .bind(to.returns_to)
    .bind(to.restart_clock)
    .bind(to.at)
    .execute(conn)
    .await
    .doing("moving the case")?;
    Ok(())
}

/// Stops a case's clock at `at` (a correction was requested).
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip(conn))]
pub async fn stop_clock(conn: &mut PgConnection, id: Uuid, at: DateTime<Utc>) -> Result<(), DbError> {
    sqlx::query("insert into case_pauses (case_id, paused_at) values ($1, $2)")
        .bind(id)
        .bind(at)
        .execute(conn)
        .await
        .doing("stopping the clock")?;
    Ok(())
}

/// Restarts a case's stopped clock at `at` (the correction was answered).
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip(conn))]
pub async fn restart_clock(conn: &mut PgConnection, id: Uuid, at: DateTime<Utc>) -> Result<(), DbError> {
    sqlx::query("update case_pauses set resumed_at = $2 where case_id = $1 and resumed_at is null")
        .bind(id)
        .bind(at)
        .execute(conn)
        .await
        .doing("restarting the clock")?;
    Ok(())
}

/// Gives a case a new version, changed at `at`; returns the version.
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip(conn))]
pub async fn bump_version(conn: &mut PgConnection, id: Uuid, at: DateTime<Utc>) -> Result<i64, DbError> {
    sqlx::query_scalar(
        "update cases set version = version + 1, updated_at = $2 where id = $1 returning version",
    )
    .bind(id)
    .bind(at)
    .fetch_one(conn)
    .await
    .doing("updating the case")
}

/// What orders the queue and drives the sweeper, as the case's view computed it.
#[derive(Debug, Clone, Copy)]
pub struct QueueOrder {
    /// The running deadline (`None` while the clock is stopped or the stage has none).
    pub deadline_at: Option<DateTime<Utc>>,
    /// Whether that deadline was computed past the calendar's covered years.
    pub provisional: bool,
    /// Whether the green channel is in force.
    pub green: bool,
}

/// Stores the deadline and green flag of a case.
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip(conn))]
pub async fn store_queue_order(conn: &mut PgConnection, id: Uuid, order: QueueOrder) -> Result<(), DbError> {
    sqlx::query("update cases set deadline_at = $2, deadline_provisional = $3, green = $4 where id = $1")
        .bind(id)
        .bind(order.deadline_at)
        .bind(order.provisional)
        .bind(order.green)
        .execute(conn)
        .await
        .doing("storing the deadline")?;
    Ok(())
}

/// An event to append to a case's history.
#[derive(Debug)]
pub struct NewCaseEvent<'a> {
    /// The case.
    pub case_id: Uuid,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// The user who did it; `None` for the operator's command line.
    pub actor_id: Option<Uuid>,
    /// The role code it was done in.
    pub actor_role: &'a str,
    /// What happened (`created`, an action code, `documents_recorded`, …).
    pub kind: &'a str,
    /// The stage code before.
    pub from_stage: Option<&'static str>,
    /// The stage code after.
    pub to_stage: Option<&'static str>,
    /// Why.
    pub reason: Option<&'a str>,
    /// The details, a JSON object.
    pub data: &'a Value,
}

/// Appends an event to a case's history.
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip_all, fields(case = %event.case_id, kind = event.kind))]
pub async fn append_event(conn: &mut PgConnection, event: &NewCaseEvent<'_>) -> Result<(), DbError> {
    sqlx::query(
        "insert into case_events (case_id, at, actor_id, actor_role, kind, from_stage, to_stage, reason, data)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(event.case_id)
    .bind(event.at)
    .bind(event.actor_id)
    .bind(event.actor_role)
    .bind(event.kind)
    .bind(event.from_stage)
    .bind(event.to_stage)
    .bind(event.reason)
    .bind(event.data)
    .execute(conn)
    .await
    .doing("recording the event")?;
    Ok(())
}

/// An event of a case's history as stored.
#[derive(Debug, sqlx::FromRow)]
pub struct CaseEventRow {
    /// Its sequence number.
    pub id: i64,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// The user who did it.
    pub actor_id: Option<Uuid>,
    /// The role code it was done in.
    pub actor_role: String,
    /// What happened.
    pub kind: String,
    /// The stage code before.
    pub from_stage: Option<String>,
    /// The stage code after.
    pub to_stage: Option<String>,
    /// Why.
    pub reason: Option<String>,
    /// The details.
    pub data: Value,
}

/// A case's history, oldest first.
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip(conn))]
pub async fn history(conn: &mut PgConnection, case_id: Uuid) -> Result<Vec<CaseEventRow>, DbError> {
    sqlx::query_as(
        "select id, at, actor_id, actor_role, kind, from_stage, to_stage, reason, data
           from case_events where case_id = $1 order by id",
    )
    .bind(case_id)
    .fetch_all(conn)
    .await
    .doing("loading the history")
}

/// One stop of a case's clock.
#[derive(Debug, sqlx::FromRow)]
pub struct PauseRow {
    /// The case.
    pub case_id: Uuid,
    /// When the clock stopped.
    pub paused_at: DateTime<Utc>,
    /// When it started again; `None` while stopped.
    pub resumed_at: Option<DateTime<Utc>>,
}

/// The pauses of each case `cases[i].0` that reach past `cases[i].1`, in the order they began.
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip_all, fields(cases = cases.len()))]
pub async fn pauses_since(
    conn: &mut PgConnection,
    cases: &[(Uuid, DateTime<Utc>)],
) -> Result<Vec<PauseRow>, DbError> {
    let (ids, since): (Vec<Uuid>, Vec<DateTime<Utc>>) = cases.iter().copied().unzip();
    sqlx::query_as(include_str!("sql/cases_pauses_since.sql"))
        .bind(&ids)
        .bind(&since)
        .fetch_all(conn)
        .await
        .doing("loading the cases' pauses")
}

/// What a case holds and has consumed of the construction quota, in hundredths of a mu.
#[derive(Debug, sqlx::FromRow)]
pub struct QuotaTotals {
    /// The case.
    pub case_id: Uuid,
    /// Allocated less released and consumed.
    pub held_hundredths: i64,
    /// Consumed by its conversion approval.
    pub consumed_hundredths: i64,
}

/// The quota totals of the cases in `case_ids` that ever moved quota.
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip_all, fields(cases = case_ids.len()))]
pub async fn quota_totals(conn: &mut PgConnection, case_ids: &[Uuid]) -> Result<Vec<QuotaTotals>, DbError> {
    sqlx::query_as(include_str!("sql/cases_quota_totals.sql"))
        .bind(case_ids)
        .fetch_all(conn)
        .await
        .doing("loading the cases' quota")
}

/// A three-week ledger item as stored: one stay of a case in a municipal stage.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LedgerItemRow {
    /// The item's id.
    pub id: Uuid,
    /// The case.
    pub case_id: Uuid,
    /// The case's county.
    pub county_code: String,
    /// The stage code it was opened for.
    pub stage: String,
    /// When it was opened.
    pub opened_at: DateTime<Utc>,
    /// The last day it may stay open, fixed at opening.
    pub due_on: NaiveDate,
    /// When it was struck off.
    pub cleared_at: Option<DateTime<Utc>>,
    /// How it was struck off (a `StrikeOffOutcome` code).
    pub outcome: Option<String>,
}

/// The open ledger items of the cases in `case_ids` (a case has at most one).
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip_all, fields(cases = case_ids.len()))]
pub async fn open_ledger_items(
    conn: &mut PgConnection,
    case_ids: &[Uuid],
) -> Result<Vec<LedgerItemRow>, DbError> {
    sqlx::query_as(
        "select id, case_id, county_code, stage, opened_at, due_on, cleared_at, outcome
           from ledger_items where case_id = any($1) and cleared_at is null",
    )
    .bind(case_ids)
    .fetch_all(conn)
    .await
    .doing("loading the ledger items")
}

/// The ledger: the items of `counties` (`None`: all), or of the county `county` names (code or
/// alias); struck-off items too when `include_cleared`. Green cases first, then nearest due day.
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip(conn))]
pub async fn ledger(
    conn: &mut PgConnection,
    counties: Option<&[String]>,
    county: Option<&str>,
    include_cleared: bool,
) -> Result<Vec<LedgerItemRow>, DbError> {
    sqlx::query_as(include_str!("sql/cases_ledger.sql"))
        .bind(counties)
        .bind(county)
        .bind(include_cleared)
        .fetch_all(conn)
        .await
        .doing("listing the ledger")
}

/// Opens a ledger item for a case entering a municipal stage.
#[derive(Debug)]
pub struct NewLedgerItem<'a> {
    /// The case.
    pub case_id: Uuid,
    /// The case's county.
    pub county_code: &'a str,
    /// The stage code entered.
    pub stage: &'static str,
    /// When.
    pub opened_at: DateTime<Utc>,
    /// The last day it may stay open.
    pub due_on: NaiveDate,
}

/// Opens a ledger item.
///
/// # Errors
/// Database failures (a second open item for the case among them).
#[tracing::instrument(level = "debug", skip(conn))]
pub async fn open_ledger_item(conn: &mut PgConnection, item: &NewLedgerItem<'_>) -> Result<(), DbError> {
    sqlx::query(
        "insert into ledger_items (id, case_id, county_code, stage, opened_at, due_on)
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(Uuid::now_v7())
    .bind(item.case_id)
    .bind(item.county_code)
    .bind(item.stage)
    .bind(item.opened_at)
    .bind(item.due_on)
    .execute(conn)
    .await
    .doing("opening a ledger item")?;
    Ok(())
}

/// Strikes off a case's open ledger item at `at` with `outcome` (a `StrikeOffOutcome` code).
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip(conn))]
pub async fn strike_off(
    conn: &mut PgConnection,
    case_id: Uuid,
    at: DateTime<Utc>,
    outcome: &str,
) -> Result<(), DbError> {
    sqlx::query(
        "update ledger_items set cleared_at = $2, outcome = $3, last_status = 'cleared'
          where case_id = $1 and cleared_at is null",
    )
    .bind(case_id)
    .bind(at)
    .bind(outcome)
    .execute(conn)
    .await
    .doing("striking off the ledger item")?;
    Ok(())
}
