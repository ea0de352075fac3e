//! Approval records a check calls for (`case_approvals`, migration 0019) and the hits of the
//! latest confirmed check they answer.
//!
//! Records are only ever added: a new decision is a new record, and one whose features the
//! latest check no longer hits lapses without being changed. Every read runs under the
//! caller's county scope (row-level security on `cases` and `case_approvals`).

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{DbError, Doing};

const COLUMNS: &str = "id, case_id, kind, document_number, authority, decided_on, conclusion, answers,
       answered_hits, recorded_by, recorded_role, recorded_at";

/// A stored approval record.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApprovalRow {
    /// The record's id.
    pub id: Uuid,
    /// The case it belongs to.
    pub case_id: Uuid,
    /// `approval::ApprovalKind`'s code.
    pub kind: String,
    /// The document's number (文号).
    pub document_number: String,
    /// The authority that decided.
    pub authority: String,
    /// The day of the decision.
    pub decided_on: NaiveDate,
    /// What it concluded, when stated.
    pub conclusion: Option<String>,
    /// The features it answers, a JSON array of `approval::FeatureRef`.
    pub answers: Value,
    /// The hits of the check it was recorded against.
    pub answered_hits: Vec<Uuid>,
    /// Who recorded it.
    pub recorded_by: Uuid,
    /// Their role's code.
    pub recorded_role: String,
    /// When.
    pub recorded_at: DateTime<Utc>,
}

/// A record to store.
#[derive(Debug)]
pub struct NewApproval<'a> {
    /// Its id.
    pub id: Uuid,
    /// The case.
    pub case_id: Uuid,
    /// The kind's code.
    pub kind: &'static str,
    /// The document's number.
    pub document_number: &'a str,
    /// The authority.
    pub authority: &'a str,
    /// The day of the decision.
    pub decided_on: NaiveDate,
    /// The conclusion.
    pub conclusion: Option<&'a str>,
    /// The features answered, a JSON array.
    pub answers: &'a Value,
    /// The hits named.
    pub answered_hits: &'a [Uuid],
    /// Who records it.
    pub recorded_by: Uuid,
    /// Their role's code.
    pub recorded_role: &'static str,
    /// When.
    pub recorded_at: DateTime<Utc>,
}

/// Stores a new record.
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip_all, fields(case = %new.case_id))]
pub async fn insert(conn: &mut PgConnection, new: &NewApproval<'_>) -> Result<(), DbError> {
    sqlx::query(
        "insert into case_approvals (id, case_id, kind, document_number, authority, decided_on, conclusion,
                                     answers, answered_hits, recorded_by, recorded_role, recorded_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(new.id)
    .bind(new.case_id)
    .bind(new.kind)
    .bind(new.document_number)
    .bind(new.authority)
    .bind(new.decided_on)
    .bind(new.conclusion)
    .bind(new.answers)
    .bind(new.answered_hits)
    .bind(new.recorded_by)
    .bind(new.recorded_role)
    .bind(new.recorded_at)
    .execute(conn)
    .await
    .doing("storing an approval record")?;
    Ok(())
}

/// The records of `case_ids`, each case's in the order they were recorded.
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip(conn))]
pub async fn of_cases(conn: &mut PgConnection, case_ids: &[Uuid]) -> Result<Vec<ApprovalRow>, DbError> {
    sqlx::query_as(&format!(
        "select {COLUMNS} from case_approvals where case_id = any($1) order by case_id, recorded_at, id"
    ))
    .bind(case_ids)
    .fetch_all(conn)
    .await
    .doing("loading approval records")
}

/// One record by id.
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip(conn))]
pub async fn load(conn: &mut PgConnection, id: Uuid) -> Result<Option<ApprovalRow>, DbError> {
    sqlx::query_as(&format!("select {COLUMNS} from case_approvals where id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
        .doing("loading an approval record")
}

/// A case's latest current check and one of its counted hits (none when it has no counted hit),
/// as the approval rules read it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CalledHitRow {
    /// The case.
    pub case_id: Uuid,
    /// Whether a planner confirmed the check.
    pub confirmed: bool,
    /// The hit's id; the hit columns are all absent for a check without counted hits.
    pub hit_id: Option<Uuid>,
    /// Its layer kind's code.
    pub layer_kind: Option<String>,
    /// The feature it touched (source id, feature row or parcel).
    pub feature: Option<String>,
    /// Its layer's result code.
    pub result: Option<String>,
    /// Whether a planner dismissed it.
    pub dismissed: Option<bool>,
}

/// The latest check of each of `case_ids` when it is current, with its counted hits; no row for
/// a case without a current check.
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip(conn))]
pub async fn called_hits(conn: &mut PgConnection, case_ids: &[Uuid]) -> Result<Vec<CalledHitRow>, DbError> {
    sqlx::query_as(include_str!("sql/approvals_called_hits.sql"))
        .bind(case_ids)
        .fetch_all(conn)
        .await
        .doing("loading the hits approvals answer")
}
