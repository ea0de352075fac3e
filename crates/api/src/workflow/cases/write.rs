//! What every write to a case shares, around the handler's own decision:
//!
//! 1. [`lock_case`]: load the case under lock and hold the write to the version the caller read
//!    (`If-Match`);
//! 2. the handler decides (the domain) and persists its effect (the store);
//! 3. [`answer_case`]: append the event to the case's history, give the case a new version and
//!    its stored deadline and green flag, and build the reply with the case's view; or
//!    [`record`] (event and version only) when the answer is not the case.
//!
//! The prelude before 1 (caller, `Idempotency-Key` replay, body, clock, scoped transaction) and
//! the commit after 3 are [`Write`]'s.

use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use landuse_domain::stage::Stage;
use serde_json::{json, Value};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{load_case, load_rules, view, CaseRow, CaseView, Rules};
use crate::{
    auth::Caller,
    http::{error::ApiError, etag::require_if_match, idempotency::Reply, write::Write},
    store::{self, cases::NewCaseEvent},
};

/// What a change records in a case's history.
#[derive(Debug, Clone)]
pub struct CaseEvent {
    /// What happened: `created`, an action code, `documents_recorded`, `check_run`, …
    pub kind: String,
    /// The stage before, when the change concerns one.
    pub from: Option<Stage>,
    /// The stage after.
    pub to: Option<Stage>,
    /// Why, when the change gives a reason.
    pub reason: Option<String>,
    /// The details, a JSON object.
    pub data: Value,
}

impl CaseEvent {
    /// A change from stage `from` to stage `to`, with no reason and no details yet.
    pub fn new(kind: impl Into<String>, from: Option<Stage>, to: Option<Stage>) -> Self {
        Self {
            kind: kind.into(),
            from,
            to,
            reason: None,
            data: json!({}),
        }
    }

    /// A change that leaves the case in `stage`.
    pub fn at(stage: Stage, kind: impl Into<String>) -> Self {
        Self::new(kind, Some(stage), Some(stage))
    }

    /// The same event, giving `reason`.
    #[must_use]
    pub fn because(mut self, reason: Option<&str>) -> Self {
        self.reason = reason.map(str::to_owned);
        self
    }

    /// The same event, with `data` as its details.
    #[must_use]
    pub fn with(mut self, data: Value) -> Self {
        self.data = data;
        self
    }
}

/// Loads case `id` under lock for a write and checks `If-Match` against its version.
///
/// # Errors
/// 404 outside the caller's counties; 428 without `If-Match`; 412 on an old version.
pub async fn lock_case<B>(write: &mut Write<B>, id: Uuid, headers: &HeaderMap) -> Result<CaseRow, ApiError> {
    let case = load_case(&mut write.tx, &write.caller, id, true).await?;
    require_if_match(headers, case.version)?;
    Ok(case)
}

/// Ends a write whose answer is not the case: appends `event` and gives the case a new version,
/// which it returns (the answer's ETag).
///
/// # Errors
/// Database failures.
pub async fn record<B>(write: &mut Write<B>, case_id: Uuid, event: &CaseEvent) -> Result<i64, ApiError> {
    append_event(&mut write.tx, case_id, write.now, &write.caller, event).await?;
    Ok(store::cases::bump_version(&mut write.tx, case_id, write.now).await?)
}

/// Ends a write whose answer is the case: appends `event`, settles the case (see [`settle`])
/// and answers its view with `status`, its ETag and its `Content-Location`.
///
/// # Errors
/// Database failures; a broken settings table.
pub async fn answer_case<B>(
    write: &mut Write<B>,
    case_id: Uuid,
    event: &CaseEvent,
    status: StatusCode,
) -> Result<Reply, ApiError> {
    append_event(&mut write.tx, case_id, write.now, &write.caller, event).await?;
    let rules = load_rules(&mut write.tx).await?;
    let view = settle(&mut write.tx, &rules, &write.caller, case_id, write.now).await?;
    view::case_reply(status, &view)
}

/// Ends every change to a case: gives it a new version, builds its view once, and keeps the
/// stored deadline and green flag (which order the queue and drive the sweeper) in step with
/// that view.
///
/// # Errors
/// Database failures.
pub async fn settle(
    conn: &mut PgConnection,
    rules: &Rules,
    caller: &Caller,
    case_id: Uuid,
    now: DateTime<Utc>,
) -> Result<CaseView, ApiError> {
    store::cases::bump_version(conn, case_id, now).await?;
    let case = load_case(conn, caller, case_id, false).await?;
    let view = view::case_view(conn, rules, case, now).await?;
    let (deadline_at, provisional) = match &view.deadline {
        Some(d) if !d.paused => (Some(d.ends_at), d.provisional),
        _ => (None, false),
    };
    let order = store::cases::QueueOrder {
        deadline_at,
        provisional,
        green: view.green,
    };
    store::cases::store_queue_order(conn, case_id, order).await?;
    Ok(view)
}

/// Appends `event` to the case's history as done by `caller` at `at`.
///
/// # Errors
/// Database failures.
pub async fn append_event(
    conn: &mut PgConnection,
    case_id: Uuid,
    at: DateTime<Utc>,
    caller: &Caller,
    event: &CaseEvent,
) -> Result<(), ApiError> {
    let event = NewCaseEvent {
        case_id,
        at,
        actor_id: Some(caller.user_id),
        actor_role: caller.role.code(),
        kind: &event.kind,
        from_stage: event.from.map(Stage::code),
        to_stage: event.to.map(Stage::code),
        reason: event.reason.as_deref(),
        data: &event.data,
    };
    Ok(store::cases::append_event(conn, &event).await?)
}

/// Appends an event to the case's history as `actor` (a user id, when there is one, and the
/// role recorded): for changes made by the operator's command line, which has no user (the
/// calendar's recomputed deadlines and corrected alerts).
///
/// # Errors
/// Database failures.
#[allow(clippy::too_many_arguments)]
pub async fn append_event_as(
    conn: &mut PgConnection,
    case_id: Uuid,
    at: DateTime<Utc>,
    actor: (Option<Uuid>, &str),
    kind: &str,
    stages: (Option<Stage>, Option<Stage>),
    reason: Option<&str>,
    data: Value,
) -> Result<(), ApiError> {
    let event = NewCaseEvent {
        case_id,
        at,
        actor_id: actor.0,
        actor_role: actor.1,
        kind,
        from_stage: stages.0.map(Stage::code),
        to_stage: stages.1.map(Stage::code),
        reason,
        data: &data,
    };
    Ok(store::cases::append_event(conn, &event).await?)
}
