//! The case as every case answer shows it: its row, its running deadline, its open ledger item,
//! its latest check and its construction quota; and `GET /cases/{id}`.

use std::collections::HashMap;

use axum::{
    extract::{Path, State},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use chrono::{DateTime, NaiveDate, Utc};
use landuse_domain::{
    calendar::bureau_date,
    clock::{Pause, StageClock},
    green::{Grant, GreenBasis, Revocation},
    ledger::{Amount, QuotaPosition},
    limits::{self, Channel},
    stage::{CaseState, Stage},
};
use serde::Serialize;
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{
    approvals::{approvals_view, ApprovalsView, CaseHits},
    create::Declarations,
    ledger::{ledger_view, pauses_by_case, LedgerView},
    load_case, load_rules,
    overlay::{overlay_view, rows_for, OverlayView},
    CaseRow, RecordedFacts, Rules,
};
use crate::{
    app::AppState,
    auth::Caller,
    http::{error::ApiError, etag::etag_header, idempotency::Reply},
    reads::ReadHint,
    store::{self, cases::LedgerItemRow, checks::CheckBrief},
    workflow::{checks::CheckLink, projects::phases::CasePhase},
};

/// A case as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CaseView {
    /// The case's id.
    pub id: Uuid,
    /// The project the land is for.
    pub project_id: Uuid,
    /// The project's name.
    pub project_name: String,
    /// The county the case belongs to.
    pub county_code: String,
    /// The case's title.
    pub title: String,
    /// Which phase (分期) or segment (分段) of its project the case is; absent for a case of
    /// the whole project.
    pub phase: Option<CasePhase>,
    /// The stage it is in.
    pub stage: Stage,
    /// For a case in correction, the stage it returns to.
    pub returns_to: Option<Stage>,
    /// Whether the green channel is in force.
    pub green: bool,
    /// Why it is on the green channel.
    pub green_basis: Option<GreenBasis>,
    /// The latest leader's grant, with its revocation if revoked.
    pub green_grant: Option<GrantView>,
    /// The running stage deadline; absent in a stage without a limit.
    pub deadline: Option<DeadlineView>,
    /// The open three-week ledger item; absent outside the municipal stages.
    pub ledger: Option<LedgerView>,
    /// The latest check; absent before the first.
    pub latest_check: Option<CheckLink>,
    /// Construction quota: what the latest confirmed check says the case needs, what it holds
    /// and has consumed, and the shortfall its conversion approval would be refused for.
    pub quota: QuotaView,
    /// The approval records the case's check calls for (the State Council's approval, opinions,
    /// the geohazard assessment), each marked lapsed or not, and what is still missing.
    pub approvals: ApprovalsView,
    /// The mineral overlay queries (压覆矿产查询) with their status today, and what
    /// `conversion → supply` still misses when the check hits a mineral deposit.
    pub overlay: OverlayView,
    /// The approval documents recorded, as stored: a record an older version wrote stays
    /// readable here, while a write that must read it refuses it (500) rather than lose it.
    #[schema(value_type = RecordedFacts)]
    pub facts: Value,
    /// What the case declares for the verdict rules, as stored.
    #[schema(value_type = Declarations)]
    pub declarations: Value,
    /// When it was opened.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Its version, the ETag.
    pub version: i64,
}

/// The deadline block of a case at the time of the request.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeadlineView {
    /// The stage whose limit runs.
    pub stage: Stage,
    /// The last working day.
    pub date: NaiveDate,
    /// The instant it passes (the end of that day in the bureau's time zone).
    pub ends_at: DateTime<Utc>,
    /// Computed past the calendar's covered years, so it may still move.
    pub provisional: bool,
    /// Working days left (negative once past).
    pub remaining_working_days: i64,
    /// Whether the deadline has passed.
    pub overdue: bool,
    /// Whether the clock is stopped (the case is in correction).
    pub paused: bool,
}

/// A case's construction quota in its view (all in mu).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct QuotaView {
    /// What the latest confirmed, current check says the case needs (its area less existing
    /// construction land); absent without one.
    pub needed_mu: Option<Amount>,
    /// Allocated and not yet consumed or released.
    pub held_mu: Amount,
    /// Consumed by the conversion approval.
    pub consumed_mu: Amount,
    /// How much more the case must hold before its conversion can be approved; absent while
    /// the need is unknown.
    pub shortfall_mu: Option<Amount>,
}

/// A leader's green-channel grant.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct GrantView {
    /// The leader who granted it.
    pub by: Uuid,
    /// Why.
    pub reason: String,
    /// When.
    pub at: DateTime<Utc>,
    /// Its revocation, once revoked.
    pub revoked: Option<RevocationView>,
}

/// The revocation of a green-channel grant.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RevocationView {
    /// The leader who revoked it.
    pub by: Uuid,
    /// Why.
    pub reason: String,
    /// When.
    pub at: DateTime<Utc>,
}

impl From<Grant> for GrantView {
    fn from(grant: Grant) -> Self {
        Self {
            by: grant.by,
            reason: grant.reason.into(),
            at: grant.at,
            revoked: grant.revoked.map(|r: Revocation| RevocationView {
                by: r.by,
                reason: r.reason.into(),
                at: r.at,
            }),
        }
    }
}

/// What a case's view needs besides its row: the pauses since its stage began, its open
/// ledger item, its latest check, its quota (held, consumed), its approvals and its overlay
/// queries.
#[derive(Debug, Default)]
struct ViewParts {
    pauses: Vec<Pause>,
    ledger: Option<LedgerItemRow>,
    check: Option<CheckBrief>,
    quota: (Amount, Amount),
    approvals: ApprovalsView,
    overlay: OverlayView,
}

/// The view parts of `cases` on the bureau's date `today`, in seven statements however many
/// cases there are.
async fn view_parts(
    conn: &mut PgConnection,
    cases: &[CaseRow],
    today: NaiveDate,
) -> Result<HashMap<Uuid, ViewParts>, ApiError> {
    let ids: Vec<Uuid> = cases.iter().map(|c| c.id).collect();
    let since: Vec<(Uuid, DateTime<Utc>)> = cases.iter().map(|c| (c.id, c.stage_entered_at)).collect();
    let mut parts: HashMap<Uuid, ViewParts> = ids.iter().map(|id| (*id, ViewParts::default())).collect();
    for (case_id, pauses) in pauses_by_case(conn, &since).await? {
        parts.entry(case_id).or_default().pauses = pauses;
    }
    for item in store::cases::open_ledger_items(conn, &ids).await? {
        let case_id = item.case_id;
        parts.entry(case_id).or_default().ledger = Some(item);
    }
    for check in store::checks::latest_of(conn, &ids).await? {
        let case_id = check.case_id;
        parts.entry(case_id).or_default().check = Some(check);
    }
    for totals in store::cases::quota_totals(conn, &ids).await? {
        parts.entry(totals.case_id).or_default().quota = (
            Amount::from_hundredths(totals.held_hundredths),
            Amount::from_hundredths(totals.consumed_hundredths),
        );
    }
    let mut queries = rows_for(conn, &ids).await?;
    for (case_id, (hits, records)) in super::approvals::load_for(conn, &ids).await? {
        let part = parts.entry(case_id).or_default();
        part.approvals = approvals_view(&hits, &records)?;
        let rows = queries.remove(&case_id).unwrap_or_default();
        part.overlay = overlay_view(&hits, &rows, today)?;
    }
    // Queries of a case without a current check or approval record: none is needed now.
    for (case_id, rows) in queries {
        parts.entry(case_id).or_default().overlay = overlay_view(&CaseHits::default(), &rows, today)?;
    }
    Ok(parts)
}

/// Builds the full view of a case at `now`.
///
/// # Errors
/// Database failures; a corrupt row.
pub async fn case_view(
    conn: &mut PgConnection,
    rules: &Rules,
    case: CaseRow,
    now: DateTime<Utc>,
) -> Result<CaseView, ApiError> {
    let mut views = case_views(conn, rules, vec![case], now).await?;
    views
        .pop()
        .ok_or_else(|| ApiError::internal("building the case view", anyhow::anyhow!("no view was built")))
}

/// Builds the views of `cases` at `now`, in their order, with six statements for them all.
///
/// # Errors
/// Database failures; a corrupt row.
pub async fn case_views(
    conn: &mut PgConnection,
    rules: &Rules,
    cases: Vec<CaseRow>,
    now: DateTime<Utc>,
) -> Result<Vec<CaseView>, ApiError> {
    let mut parts = view_parts(conn, &cases, bureau_date(now)).await?;
    cases
        .into_iter()
        .map(|case| {
            let own = parts.remove(&case.id).unwrap_or_default();
            view_of(rules, case, own, now)
        })
        .collect()
}

/// The running deadline of a case in `state` whose stage clock is `clock`, at `now`.
fn deadline_view(
    rules: &Rules,
    state: CaseState,
    green: bool,
    clock: &StageClock,
    now: DateTime<Utc>,
) -> Option<DeadlineView> {
    let channel = Channel::from_green(green);
    let remaining =
        limits::remaining_working_days(&rules.limits, &rules.calendar, &state, channel, clock, now)?;
    Some(DeadlineView {
        stage: state.clock_stage(),
        date: remaining.deadline.date,
        ends_at: remaining.deadline.ends_at(),
        provisional: remaining.deadline.provisional,
        remaining_working_days: remaining.working_days,
        overdue: remaining.overdue,
        paused: clock.is_stopped(now),
    })
}

/// The case's quota: the need by its latest check when that is confirmed and current.
fn quota_view(check: Option<&CheckBrief>, (held_mu, consumed_mu): (Amount, Amount)) -> QuotaView {
    let position = QuotaPosition {
        needed_mu: check
            .filter(|c| c.confirmed_at.is_some() && !c.stale)
            .and_then(|c| c.need_hundredths)
            .map(Amount::from_hundredths),
        held_mu,
        consumed_mu,
    };
    QuotaView {
        needed_mu: position.needed_mu,
        held_mu: position.held_mu,
        consumed_mu: position.consumed_mu,
        shortfall_mu: position.shortfall(),
    }
}

fn view_of(rules: &Rules, case: CaseRow, parts: ViewParts, now: DateTime<Utc>) -> Result<CaseView, ApiError> {
    let state = case.state()?;
    let green = case.green_channel()?;
    let clock = StageClock {
        started_at: case.stage_entered_at,
        pauses: parts.pauses,
    };
    let ledger = parts
        .ledger
        .map(|item| ledger_view(item, &clock.pauses, rules.clearing, now))
        .transpose()?;
    Ok(CaseView {
        phase: CasePhase::stored(
            case.phase_kind.as_deref(),
            case.phase_number,
            case.phase_name.as_deref(),
        )?,
        deadline: deadline_view(rules, state, green.is_active(), &clock, now),
        quota: quota_view(parts.check.as_ref(), parts.quota),
        approvals: parts.approvals,
        overlay: parts.overlay,
        latest_check: parts.check.as_ref().map(CheckLink::of),
        green_grant: green.grant.clone().map(GrantView::from),
        green: green.is_active(),
        green_basis: green.basis(),
        stage: state.stage(),
        returns_to: state.returns_to(),
        ledger,
        id: case.id,
        project_id: case.project_id,
        project_name: case.project_name,
        county_code: case.county_code,
        title: case.title,
        facts: case.facts,
        declarations: case.declarations,
        created_at: case.created_at,
        updated_at: case.updated_at,
        version: case.version,
    })
}

/// A reply carrying a case's view, its ETag and where it lives.
///
/// # Errors
/// A view that cannot be written (a bug), as 500.
pub fn case_reply(status: StatusCode, view: &CaseView) -> Result<Reply, ApiError> {
    let location = HeaderValue::from_str(&format!("/api/v1/cases/{}", view.id))
        .map_err(|e| ApiError::internal("building the location", e))?;
    Ok(Reply::json(status, view)?
        .header(header::ETAG, etag_header(view.version))
        .header(header::CONTENT_LOCATION, location))
}

/// `GET /api/v1/cases/{id}`: the case with its deadline, ledger item, latest check and quota.
#[utoipa::path(get, path = "/cases/{id}", tag = "cases", params(("id" = Uuid, Path, description = "The case id")), responses((status = 200, description = "The case with its deadline and ledger item", body = CaseView, headers(("ETag" = String)))))]
#[tracing::instrument(skip_all, fields(case = %id))]
pub async fn get_case(
    State(state): State<AppState>,
    caller: Caller,
    hint: ReadHint,
    Path(id): Path<Uuid>,
) -> Result<Response, ApiError> {
    let mut conn = state.read_for(&caller, &hint).await?;
    let case = load_case(&mut conn, &caller, id, false).await?;
    let rules = load_rules(&mut conn).await?;
    let view = case_view(&mut conn, &rules, case, state.clock.now()).await?;
    Ok(([(header::ETAG, etag_header(view.version))], Json(view)).into_response())
}
