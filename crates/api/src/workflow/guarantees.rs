//! What the element guarantees (quota and farmland offset) tell the workflow.
//! INTEGRATION PENDING: wired to the quota ledgers once they land.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{auth::Caller, http::error::ApiError};

/// Whether the case has its construction quota allocated and, where needed, its farmland
/// offset locked.
///
/// # Errors
/// Database failures.
#[allow(clippy::unused_async)] // becomes a query when the quota ledgers land
pub async fn case_guarantees(_conn: &mut PgConnection, _case_id: Uuid) -> Result<(bool, bool), ApiError> {
    Ok((false, false))
}

/// Returns what a rejected or withdrawn case held.
///
/// # Errors
/// Database failures.
#[allow(clippy::unused_async)] // becomes a query when the quota ledgers land
pub async fn release_for_closed_case(
    _conn: &mut PgConnection,
    _case_id: Uuid,
    _caller: &Caller,
    _now: DateTime<Utc>,
) -> Result<(), ApiError> {
    Ok(())
}
