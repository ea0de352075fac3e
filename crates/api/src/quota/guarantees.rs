//! What the case workflow asks of the ledgers: where a case stands on quota and offset (the
//! facts the stage rules decide on), what the conversion approval consumes, and what a case
//! closed before its approval gives back. Everything runs inside the workflow's transaction.

use chrono::{DateTime, Utc};
use landuse_domain::{
    ledger::{rules::LedgerAction, OffsetPosition, Quantities, QuotaPosition},
    role::Role,
    stage::Stage,
};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{error::LedgerError, offsets, quotas, Release};
use crate::{auth::Caller, http::error::ApiError};

/// Where a case stands on both ledgers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Positions {
    /// Quota: needed (from the latest confirmed check), held, consumed.
    pub quota: QuotaPosition,
    /// Offset: needed (the confirmed check's cultivated and paddy area, the capacity stated
    /// with the lock), locked, consumed.
    pub offset: OffsetPosition,
}

/// The case's positions on the quota and offset ledgers, measured against its latest confirmed
/// check (dismissals applied). Without a confirmed, current check the needs are unknown.
///
/// # Errors
/// Database failures; a stored check report that cannot be read (500, never a default).
pub async fn positions(conn: &mut PgConnection, case_id: Uuid) -> Result<Positions, ApiError> {
    let needs = offsets::confirmed_needs(conn, case_id).await?.ok();
    let held = quotas::case_quota_held(conn, case_id).await?;
    let consumed = quotas::consumed(conn, case_id).await?;
    let offset = offsets::case_offset(conn, case_id).await?;
    let stated = offsets::need_in_force(conn, case_id).await?;
    let offset_needed = match (needs, stated) {
        (Some(needs), Some((_, stated))) => Some(Quantities {
            capacity_kg: stated.capacity_kg,
            ..needs.cultivated
        }),
        _ => None,
    };
    Ok(Positions {
        quota: QuotaPosition {
            needed_mu: needs.map(|n| n.quota_mu),
            held_mu: held,
            consumed_mu: consumed,
        },
        offset: OffsetPosition {
            needed: offset_needed,
            locked: offset.locked,
            consumed: offset.consumed,
        },
    })
}

/// The conversion approval (`conversion → supply`) consumes what the case holds and has
/// locked: from then on the land is converted and nothing returns to the county. Call it in the
/// transaction that moves the case, after the stage rules have checked that held and locked
/// cover the need.
///
/// # Errors
/// Database failures.
pub async fn consume_at_approval(
    conn: &mut PgConnection,
    case_id: Uuid,
    caller: &Caller,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    quotas::consume(conn, case_id, Some(caller.user_id), now).await?;
    match offsets::consume(conn, case_id, (caller.user_id, Role::Reviewer), now).await {
        Ok(_) | Err(LedgerError::NothingLocked) => Ok(()),
        Err(other) => Err(other.into()),
    }
}

/// Returns what a case rejected or withdrawn *before* its conversion approval held: its quota
/// to its account and its outstanding offset lock to the indicators, as ledger movements by
/// `caller`. A case closed from `supply` left its approval behind: what it used stays consumed.
/// Call it in the transaction that moves the case.
///
/// # Errors
/// Database failures.
pub async fn release_for_closed_case(
    conn: &mut PgConnection,
    case_id: Uuid,
    left: Stage,
    caller: &Caller,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    if !landuse_domain::ledger::rules::returns_on_close(left) {
        return Ok(());
    }
    let release = Release {
        action: LedgerAction::ReturnOnClose,
        by: Some(caller.user_id),
        role: caller.role,
        reason: Some("case closed (rejected or withdrawn)"),
        at: now,
    };
    quotas::release(conn, case_id, &release).await?;
    offsets::release(conn, case_id, &release).await?;
    Ok(())
}
