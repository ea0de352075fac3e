//! `POST /cases/{id}/transitions`: a case moves through the stages. The domain's transition
//! table decides (`transition::decide`); this handler loads what it needs to know and writes
//! what the decision changes: stage, clock, ledger item, and the guarantees a closing or
//! approved case gives back or consumes.

use axum::{
    extract::Path,
    http::{HeaderMap, StatusCode},
    response::Response,
};
use chrono::{DateTime, Utc};
use landuse_domain::{
    calendar::bureau_date,
    clearing::{self, LedgerItem},
    ledger::rules::approval_consumes,
    stage::Stage,
    transition::{self, Action, CaseFacts, CheckFacts, CheckSummary, TransitionEvent},
};
use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{
    write::{answer_case, lock_case},
    CaseEvent, CaseRow, CaseView,
};
use crate::{
    admin,
    auth::Caller,
    http::{
        error::ApiError,
        write::{Json, Write},
    },
    store::{
        self,
        cases::{NewLedgerItem, StageMove},
    },
    workflow::guarantees,
};

/// The body of `POST /api/v1/cases/{id}/transitions`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionRequest {
    /// What to do; the stage and the caller's role decide whether it is allowed.
    #[schema(value_type = String, pattern = "^(submit|advance|request_correction|answer_correction|reject|withdraw)$")]
    pub action: Action,
    /// Why: required for corrections, rejections and withdrawals, and not blank there; at most
    /// 2000 characters.
    #[serde(default, deserialize_with = "crate::workflow::reason::optional")]
    #[schema(max_length = 2000)]
    pub reason: Option<String>,
}

/// Everything the transition rules need to know about a case: its recorded documents, where
/// its latest check stands, its quota and offset positions, the approval records its
/// confirmed check calls for that are missing, what its overlay queries miss on the bureau's
/// date of `now`, and what its project's live cases leave uncovered of the project's approved
/// advance use.
///
/// # Errors
/// Database failures; a corrupt stored check summary or documents.
pub async fn case_facts(
    conn: &mut PgConnection,
    case: &CaseRow,
    now: DateTime<Utc>,
) -> Result<CaseFacts, ApiError> {
    let recorded = case.recorded_facts()?;
    let check = match store::checks::latest(conn, case.id).await? {
        None => CheckFacts::None,
        Some(c) if c.stale => CheckFacts::Stale,
        Some(c) if c.confirmed_at.is_none() => CheckFacts::Unconfirmed,
        Some(c) => CheckFacts::Confirmed(
            CheckSummary::deserialize(&c.summary)
                .map_err(|e| ApiError::internal("reading the check summary", e))?,
        ),
    };
    let positions = guarantees::positions(conn, case.id).await?;
    let advance_use_uncovered =
        crate::workflow::projects::advance_use::uncovered_of(conn, case.project_id).await?;
    let mut loaded = super::approvals::load_for(conn, &[case.id]).await?;
    let (hits, rows) = loaded.remove(&case.id).unwrap_or_default();
    let approvals_missing = super::approvals::missing_of(&hits, &rows)?;
    let queries = store::overlay::of_cases(conn, &[case.id]).await?;
    let overlay_gap = super::overlay::gap_of(&hits, &queries, bureau_date(now))?;
    Ok(CaseFacts {
        check,
        pre_review_opinion: recorded.pre_review_opinion,
        quota: positions.quota,
        offset: positions.offset,
        conversion_approval: recorded.conversion_approval,
        supply_decision: recorded.supply_decision,
        certificate_number: recorded.certificate_number,
        approvals_missing,
        advance_use_uncovered,
        overlay_gap,
    })
}

/// `POST /api/v1/cases/{id}/transitions`: move a case, under `If-Match`.
#[utoipa::path(post, path = "/cases/{id}/transitions", tag = "cases", params(("id" = Uuid, Path, description = "The case id"), ("If-Match" = String, Header, description = "The ETag of the last read")), request_body = TransitionRequest, responses((status = 200, description = "The case as it now stands", body = CaseView, headers(("ETag" = String, description = "The new version")))))]
#[tracing::instrument(skip_all, fields(case = %id))]
pub async fn transition(
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    mut write: Write<Json<TransitionRequest>>,
) -> Result<Response, ApiError> {
    let TransitionRequest { action, reason } = write.body.0.clone();
    let case = lock_case(&mut write, id, &headers).await?;
    let facts = case_facts(&mut write.tx, &case, write.now).await?;
    let event = transition::decide(
        &case.state()?,
        action,
        &write.caller.actor(),
        &facts,
        write.now,
        reason,
    )?;
    apply_transition(&mut write.tx, &case, &event, &write.caller).await?;
    let change = CaseEvent::new(action.code(), Some(event.from), Some(event.to))
        .because(event.reason.as_ref().map(landuse_domain::reason::Reason::as_str))
        .with(json!({ "returns_to": event.state_after.returns_to() }));
    let reply = answer_case(&mut write, id, &change, StatusCode::OK).await?;
    write.finish(reply).await
}

/// Writes what a decided transition changes: the stage, the clock's pauses, the ledger, and
/// what a closed case held or an approval consumes.
async fn apply_transition(
    tx: &mut PgConnection,
    case: &CaseRow,
    event: &TransitionEvent,
    caller: &Caller,
) -> Result<(), ApiError> {
    let (id, now, action, after) = (case.id, event.at, event.action, event.state_after);
    let to = StageMove {
        stage: after.stage().code(),
        returns_to: after.returns_to().map(Stage::code),
        restart_clock: !matches!(action, Action::AnswerCorrection | Action::RequestCorrection),
        at: now,
    };
    store::cases::move_stage(tx, id, &to).await?;
    match action {
        Action::RequestCorrection => store::cases::stop_clock(tx, id, now).await?,
        Action::AnswerCorrection => store::cases::restart_clock(tx, id, now).await?,
        _ => {}
    }
    let effect = clearing::ledger_effect(event);
    if let Some(outcome) = effect.strike_off {
        let outcome = serde_json::to_value(outcome)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .ok_or_else(|| {
                ApiError::internal("writing the strike-off outcome", anyhow::anyhow!("{outcome:?}"))
            })?;
        store::cases::strike_off(tx, id, now, &outcome).await?;
    }
    if effect.open_new {
        let clearing_rules = admin::load_clearing_rules(tx)
            .await
            .map_err(|e| super::rules_error("loading the clearing limits", e))?;
        let item = NewLedgerItem {
            case_id: id,
            county_code: &case.county_code,
            stage: after.stage().code(),
            opened_at: now,
            due_on: LedgerItem::opened(now).due_date(now, &clearing_rules),
        };
        store::cases::open_ledger_item(tx, &item).await?;
    }
    if matches!(after.stage(), Stage::Rejected | Stage::Withdrawn) {
        guarantees::release_for_closed_case(tx, id, event.from, caller, now).await?;
    }
    if approval_consumes(event.from, event.to) {
        guarantees::consume_at_approval(tx, id, caller, now).await?;
    }
    Ok(())
}
