//! What the case workflow asks of the ledgers: whether a case's quota and offset are in place
//! (the `quota_allocated` and `offset_locked` facts of the stage rules), and returning what a
//! rejected or withdrawn case held. Both run inside the workflow's transaction.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{
    offsets::{self, OffsetError},
    store::{self, QuotaError},
};
use crate::{auth::Caller, http::error::ApiError};

fn from_quota(e: QuotaError) -> ApiError {
    match e {
        QuotaError::Db { doing, source } => ApiError::db(doing, source),
        other => ApiError::conflict(other.code(), other.to_string()),
    }
}

fn from_offset(e: OffsetError) -> ApiError {
    match e {
        OffsetError::Db { doing, source } => ApiError::db(doing, source),
        other => ApiError::conflict(other.code(), other.to_string()),
    }
}

/// Whether the case holds its construction quota, and whether its farmland offset is locked
/// (or already consumed). The second is `true` only when indicators are actually held; whether
/// the case needs them at all is the stage rules' business (they ask only when the confirmed
/// check found cultivated land).
///
/// # Errors
/// Database failures.
pub async fn case_guarantees(conn: &mut PgConnection, case_id: Uuid) -> Result<(bool, bool), ApiError> {
    let quota = store::is_allocated(conn, case_id).await.map_err(from_quota)?;
    let offset = offsets::is_locked(conn, case_id).await.map_err(from_offset)?;
    Ok((quota, offset))
}

/// Returns what a rejected or withdrawn case held: its quota to its account and its
/// outstanding offset lock to the indicators, each as ledger movements by `caller`. Does
/// nothing when the case held nothing. Call it in the transaction that moves the case.
///
/// # Errors
/// Database failures.
pub async fn release_for_closed_case(
    conn: &mut PgConnection,
    case_id: Uuid,
    caller: &Caller,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let reason = Some("case closed (rejected or withdrawn)");
    store::release(conn, case_id, Some(caller.user_id), reason, now)
        .await
        .map_err(from_quota)?;
    offsets::release(conn, case_id, Some(caller.user_id), reason, now)
        .await
        .map_err(from_offset)?;
    Ok(())
}
