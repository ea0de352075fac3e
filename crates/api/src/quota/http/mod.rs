//! The ledgers' HTTP handlers under `/api/v1`: [`quota`] accounts and requests, farmland
//! [`offsets`], and project [`starts`] with the start-rate report. They follow the API's
//! conventions: the [`Caller`] extractor and county scoping (another county's data answers
//! 404), problem+json errors, `If-Match` on changes to a versioned resource (a quota account's
//! yearly amount, an indicator's transfer, a project's start), and every write through
//! [`Write`] (the caller, `Idempotency-Key` replay, the body, the clock and the scoped
//! transaction; [`finish`] stores the answer and commits).
//!
//! Ledger movements (allocations, locks, releases, transfers between accounts) are `POST`s that
//! append to a ledger rather than edits of something the client read; the database's balance
//! constraints, not an ETag, keep them from overdrawing, and a refusal is a 409 whose problem
//! document carries the figures (what is left, what falls short and by how much).
//!
//! A write on a case's side of the ledgers is, in every handler, [`on_case`] (the role may take
//! the action, the caller sees the case), the ledger's function, [`finish`].

pub mod offsets;
pub mod quota;
pub mod starts;

use axum::{
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use landuse_domain::{county::CountyCode, ledger::rules, role::Role};
use serde::{Deserialize, Serialize};
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use super::{error::LedgerError, quotas::Holder, Release};
use crate::{
    app::AppState,
    auth::Caller,
    http::{error::ApiError, etag::etag_header, idempotency::Reply, write::Write},
    store::DbError,
    workflow::{cases::load_case, projects::county_for},
};

/// What a ledger handler fails with: the API's own errors (auth, scoping, bodies, ETags), or a
/// ledger's, answered by [`LedgerError`]'s `IntoResponse` with its figures.
#[derive(Debug, thiserror::Error)]
pub enum LedgerApiError {
    /// An API error.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// A ledger refused or failed.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

impl From<DbError> for LedgerApiError {
    fn from(error: DbError) -> Self {
        Self::Ledger(error.into())
    }
}

impl IntoResponse for LedgerApiError {
    fn into_response(self) -> Response {
        match self {
            Self::Api(error) => error.into_response(),
            Self::Ledger(error) => error.into_response(),
        }
    }
}

/// What the ledger handlers return.
pub type Result<T, E = LedgerApiError> = std::result::Result<T, E>;

/// The body of releases and cancellations.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    /// Why: trimmed, not blank, at most 2000 characters.
    #[schema(value_type = String, min_length = 1, max_length = 2000, pattern = r"\S")]
    pub reason: landuse_domain::reason::Reason,
}

/// A reviewer's release of a case's side of a ledger, as asked with `body`.
fn released_by<'a>(
    caller: &Caller,
    action: rules::LedgerAction,
    body: &'a ReasonBody,
    at: chrono::DateTime<chrono::Utc>,
) -> Release<'a> {
    Release {
        action,
        by: Some(caller.user_id),
        role: caller.role,
        reason: Some(body.reason.as_str()),
        at,
    }
}

/// The caller as the ledgers record an actor.
fn actor(caller: &Caller) -> (Uuid, Role) {
    (caller.user_id, caller.role)
}

/// Refuses (403) a caller whose role may never take `action`, as the domain's ledger table says,
/// before anything is loaded; the stage half is decided with the case.
fn may(caller: &Caller, action: rules::LedgerAction) -> Result<(), ApiError> {
    rules::role_may(action, caller.role).map_err(|refusal| ApiError::Forbidden(refusal.to_string()))
}

/// The prelude of a write on a case's side of the ledgers: the caller's role may take `action`
/// (403 before anything is read), and the case is one the caller sees (404 otherwise), read in
/// the write's own transaction.
async fn on_case<B>(
    write: &mut Write<B>,
    case_id: Uuid,
    action: rules::LedgerAction,
) -> Result<(), ApiError> {
    may(&write.caller, action)?;
    load_case(&mut write.tx, &write.caller, case_id, false).await?;
    Ok(())
}

/// The prelude of a read of a case's side of the ledgers: a transaction scoped to the caller in
/// which the case is one the caller sees (404 otherwise).
async fn read_case(
    state: &AppState,
    caller: &Caller,
    case_id: Uuid,
) -> Result<Transaction<'static, Postgres>> {
    let mut tx = state.begin_for(caller).await?;
    load_case(&mut tx, caller, case_id, false).await?;
    Ok(tx)
}

/// The epilogue of every ledger write: `answer` with `status`, stored under the request's
/// idempotency key with the write's effects, committed.
async fn finish<B>(write: Write<B>, status: StatusCode, answer: &impl Serialize) -> Result<Response> {
    finish_with(write, Reply::json(status, answer)?).await
}

/// [`finish`] for a reply that carries headers (`ETag`, `Location`).
async fn finish_with<B>(write: Write<B>, reply: Reply) -> Result<Response> {
    Ok(write.finish(reply).await?)
}

/// A read's answer with the ETag of the version it shows.
fn tagged(version: i64, answer: impl Serialize) -> Response {
    ([(header::ETAG, etag_header(version))], Json(answer)).into_response()
}

/// A county a path or body names (aliases accepted), which the caller must serve (404
/// otherwise).
async fn county_of(
    state: &AppState,
    caller: &Caller,
    text: &str,
    field: &str,
) -> Result<CountyCode, ApiError> {
    let code = county_for(state, caller, text, field).await?;
    CountyCode::parse(&code).map_err(|e| ApiError::internal("reading a county code", e))
}

/// A holder in a path or body: `pool`, or a county (aliases accepted) the caller serves (404
/// otherwise).
async fn holder_of(state: &AppState, caller: &Caller, text: &str, field: &str) -> Result<Holder, ApiError> {
    if text == "pool" {
        return Ok(Holder::Pool);
    }
    county_of(state, caller, text, field).await.map(Holder::County)
}
