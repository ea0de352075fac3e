//! The ledgers' SQL: construction-quota accounts and requests ([`quota`]), farmland-offset
//! indicators ([`offsets`]), the offset need each lock answers to ([`needs`]) and key-project
//! starts with their frozen start rates ([`starts`]). What the ledgers read of cases' checks,
//! projects, counties and settings they read through those records' own store modules.
//!
//! Amounts are `numeric(14, 2)` columns read and bound as whole hundredths (`bigint`), so a
//! balance never passes through a float; the row structs name those fields `*_hundredths` and
//! the ledgers turn them into [`landuse_domain::ledger::Amount`]s. A refusal the schema enforces
//! (a balance that would go below zero, a county that does not exist) comes back as the
//! [`DbError`] of the statement, and the ledger decides what it means by the constraint's name
//! ([`DbError::constraint`]).

pub mod needs;
pub mod offsets;
pub mod quota;
pub mod starts;

use sqlx::PgConnection;
use uuid::Uuid;

use super::{DbError, Doing};

/// A stored value the domain cannot read (a stage code it does not know, a county code that does
/// not parse): a decode failure of the statement that read it, so it is a 500 with the cause
/// logged, never a default.
pub fn corrupt(doing: &'static str, what: &impl ToString) -> DbError {
    DbError {
        doing,
        source: sqlx::Error::Decode(what.to_string().into()),
    }
}

/// What the ledgers need to know of a case to decide on it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CaseRow {
    /// The case's county code.
    pub county_code: String,
    /// The case's stage code.
    pub stage: String,
    /// Whether its project is on a key-project list (key projects are allocated first).
    pub on_key_list: bool,
}

/// Loads and locks a case (`for update`), so that an allocation or a lock and a concurrent stage
/// transition of the same case take turns. `None` when there is no such case (or the caller's
/// scope hides it).
///
/// # Errors
/// Database failures.
#[tracing::instrument(skip(conn))]
pub async fn lock_case(conn: &mut PgConnection, case_id: Uuid) -> Result<Option<CaseRow>, DbError> {
    sqlx::query_as(
        "select c.county_code, c.stage, p.on_key_list
           from cases c join projects p on p.id = c.project_id
          where c.id = $1 for update of c",
    )
    .bind(case_id)
    .fetch_optional(conn)
    .await
    .doing("locking the case")
}
