//! Cases: create, read, list, move through the stages, record documents, the green channel,
//! history and the ledger.

use std::collections::HashMap;

use axum::{
    extract::{Path, Query, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chrono::{DateTime, NaiveDate, Utc};
use landuse_domain::{
    calendar::{bureau_date, WorkCalendar},
    clearing::{self, ClearingRules, ClearingStatus, LedgerItem},
    clock::{Pause, StageClock},
    green::{Grant, GreenBasis, GreenChannel},
    ledger::{Amount, QuotaPosition},
    limits::{self, Channel, TimeLimits},
    role::Role,
    stage::{CaseState, Stage},
    transition::{self, Action, CaseFacts, CheckFacts, CheckSummary, SupplyDecision, TransitionEvent},
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{
    admin,
    app::AppState,
    auth::Caller,
    http::{
        error::ApiError,
        etag::{etag_header, require_if_match},
        idempotency::{IdempotencyKey, Reply},
        json::JsonBody,
    },
};

/// A case row as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CaseRow {
    /// Id.
    pub id: Uuid,
    /// Project.
    pub project_id: Uuid,
    /// Project name.
    pub project_name: String,
    /// Whether the project is on a key-project list.
    pub on_key_list: bool,
    /// County.
    pub county_code: String,
    /// Title.
    pub title: String,
    /// Stage code.
    pub stage: String,
    /// Where a case in correction returns.
    pub returns_to: Option<String>,
    /// When the current stage's clock started.
    pub stage_entered_at: DateTime<Utc>,
    /// Stored deadline of the current stage.
    pub deadline_at: Option<DateTime<Utc>>,
    /// Leader's grant.
    pub green_grant: Option<Value>,
    /// Green channel in force.
    pub green: bool,
    /// Recorded documents.
    pub facts: Value,
    /// Declarations for the verdict rules.
    pub declarations: Value,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Updated.
    pub updated_at: DateTime<Utc>,
    /// Version.
    pub version: i64,
}

const CASE_SELECT: &str =
    "select c.id, c.project_id, p.name as project_name, p.on_key_list, c.county_code, c.title,
        c.stage, c.returns_to, c.stage_entered_at, c.deadline_at, c.green_grant, c.green, c.facts,
        c.declarations, c.created_at, c.updated_at, c.version
   from cases c join projects p on p.id = c.project_id";

impl CaseRow {
    /// The domain state.
    ///
    /// # Errors
    /// A stored stage the domain does not know (a corrupt row).
    pub fn state(&self) -> Result<CaseState, ApiError> {
        let stage = Stage::parse(&self.stage).map_err(|e| ApiError::internal("reading the case stage", e))?;
        let returns_to = self
            .returns_to
            .as_deref()
            .map(Stage::parse)
            .transpose()
            .map_err(|e| ApiError::internal("reading the case stage", e))?;
        CaseState::new(stage, returns_to).map_err(|e| ApiError::internal("reading the case state", e))
    }

    /// The documents recorded on the case. A stored record that does not parse is an error
    /// (500, logged with the trace id): read as empty and written back, it would lose them.
    ///
    /// # Errors
    /// A `facts` column that is not a [`RecordedFacts`].
    pub fn recorded_facts(&self) -> Result<RecordedFacts, ApiError> {
        RecordedFacts::deserialize(&self.facts)
            .map_err(|e| ApiError::internal("reading the case's recorded documents", e))
    }

    /// The green channel as the domain sees it. A stored grant that does not parse is an error:
    /// read as no grant, it would silently take the case off the green channel.
    ///
    /// # Errors
    /// A `green_grant` column that is not a [`Grant`].
    pub fn green_channel(&self) -> Result<GreenChannel, ApiError> {
        let grant = self
            .green_grant
            .as_ref()
            .map(Grant::deserialize)
            .transpose()
            .map_err(|e| ApiError::internal("reading the case's green-channel grant", e))?;
        Ok(GreenChannel {
            key_project: self.on_key_list,
            grant,
        })
    }
}

/// Loads a case the caller may see, optionally locking it for a change.
///
/// # Errors
/// 404 when it does not exist or lies outside the caller's counties.
pub async fn load_case(
    conn: &mut PgConnection,
    caller: &Caller,
    id: Uuid,
    lock: bool,
) -> Result<CaseRow, ApiError> {
    let sql = if lock {
        format!("{CASE_SELECT} where c.id = $1 for update of c")
    } else {
        format!("{CASE_SELECT} where c.id = $1")
    };
    sqlx::query_as::<_, CaseRow>(&sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(|e| ApiError::db("loading the case", e))?
        .filter(|c| caller.sees(&c.county_code))
        .ok_or(ApiError::NotFound("case"))
}

/// The rules a case is judged by, loaded from the settings.
pub struct Rules {
    /// Working days.
    pub calendar: WorkCalendar,
    /// Stage limits.
    pub limits: TimeLimits,
    /// Three-week clearing.
    pub clearing: ClearingRules,
}

/// A database failure while loading the rules is the database's (503 when it is down); a bad
/// calendar or limit in the tables is ours (500).
fn rules_error(doing: &'static str, error: admin::AdminError) -> ApiError {
    match error {
        admin::AdminError::Db { source, .. } => ApiError::db(doing, source),
        other => ApiError::internal(doing, other),
    }
}

/// Loads the calendar and limits.
///
/// # Errors
/// Database failures or a broken settings table.
pub async fn load_rules(conn: &mut PgConnection) -> Result<Rules, ApiError> {
    let calendar = admin::load_calendar(conn)
        .await
        .map_err(|e| rules_error("loading the working-day calendar", e))?;
    let limits = admin::load_time_limits(conn)
        .await
        .map_err(|e| rules_error("loading the time limits", e))?;
    let clearing = admin::load_clearing_rules(conn)
        .await
        .map_err(|e| rules_error("loading the clearing limits", e))?;
    Ok(Rules {
        calendar,
        limits,
        clearing,
    })
}

/// The deadline block of a case at `now`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeadlineView {
    /// The stage whose limit runs.
    pub stage: Stage,
    /// Last working day.
    pub date: NaiveDate,
    /// The instant it passes.
    pub ends_at: DateTime<Utc>,
    /// Computed past the calendar's covered years.
    pub provisional: bool,
    /// Working days left (negative once past).
    pub remaining_working_days: i64,
    /// Past the deadline.
    pub overdue: bool,
    /// The clock is stopped (the case is in correction).
    pub paused: bool,
}

/// The ledger block of a case.
#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct LedgerRow {
    /// Item id.
    pub id: Uuid,
    /// Case.
    pub case_id: Uuid,
    /// County.
    pub county_code: String,
    /// The stage it was opened for.
    pub stage: String,
    /// Opened.
    pub opened_at: DateTime<Utc>,
    /// The last day it may stay open.
    pub due_on: NaiveDate,
    /// Struck off.
    pub cleared_at: Option<DateTime<Utc>>,
    /// Outcome of the strike-off.
    pub outcome: Option<String>,
}

/// A ledger item with its status at `now`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LedgerView {
    /// The item.
    #[serde(flatten)]
    pub item: LedgerRow,
    /// Status at the time of the request.
    pub status: ClearingStatus,
    /// Calendar days left (negative once overdue).
    pub days_left: i64,
}

fn ledger_view(item: LedgerRow, rules: ClearingRules, now: DateTime<Utc>) -> LedgerView {
    let domain_item = LedgerItem {
        opened_at: item.opened_at,
        cleared_at: item.cleared_at,
        pauses: Vec::new(),
    };
    LedgerView {
        status: clearing::status_at(&domain_item, now, &rules),
        days_left: domain_item.days_left(now, &rules),
        item,
    }
}

/// The latest check of a case, as the transition rules need it.
#[derive(Debug, sqlx::FromRow)]
struct LatestCheck {
    stale: bool,
    confirmed_at: Option<DateTime<Utc>>,
    summary: Value,
}

async fn latest_check(conn: &mut PgConnection, case_id: Uuid) -> Result<Option<LatestCheck>, ApiError> {
    sqlx::query_as::<_, LatestCheck>(
        "select stale, confirmed_at, summary from checks where case_id = $1
          order by run_at desc, id desc limit 1",
    )
    .bind(case_id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(|e| ApiError::db("loading the latest check", e))
}

/// Recorded documents of a case (the `facts` column).
#[derive(Debug, Default, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordedFacts {
    /// Pre-review and site-selection opinion number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_review_opinion: Option<String>,
    /// Conversion and expropriation approval number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversion_approval: Option<String>,
    /// Supply decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supply_decision: Option<SupplyDecision>,
    /// Real-estate certificate number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_number: Option<String>,
}

/// Everything the transition rules need to know about a case.
///
/// # Errors
/// Database failures.
pub async fn case_facts(conn: &mut PgConnection, case: &CaseRow) -> Result<CaseFacts, ApiError> {
    let recorded = case.recorded_facts()?;
    let check = match latest_check(conn, case.id).await? {
        None => CheckFacts::None,
        Some(c) if c.stale => CheckFacts::Stale,
        Some(c) if c.confirmed_at.is_none() => CheckFacts::Unconfirmed,
        Some(c) => {
            let summary: CheckSummary = serde_json::from_value(c.summary)
                .map_err(|e| ApiError::internal("reading the check summary", e))?;
            CheckFacts::Confirmed(summary)
        }
    };
    let positions = super::guarantees::positions(conn, case.id).await?;
    Ok(CaseFacts {
        check,
        pre_review_opinion: recorded.pre_review_opinion,
        quota: positions.quota,
        offset: positions.offset,
        conversion_approval: recorded.conversion_approval,
        supply_decision: recorded.supply_decision,
        certificate_number: recorded.certificate_number,
    })
}

/// A case as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CaseView {
    /// Id.
    pub id: Uuid,
    /// Project.
    pub project_id: Uuid,
    /// Project name.
    pub project_name: String,
    /// County.
    pub county_code: String,
    /// Title.
    pub title: String,
    /// Stage.
    pub stage: Stage,
    /// Where a case in correction returns.
    pub returns_to: Option<Stage>,
    /// Green channel in force.
    pub green: bool,
    /// Why it is green.
    pub green_basis: Option<GreenBasis>,
    /// The leader's grant, with its revocation if revoked.
    pub green_grant: Option<Value>,
    /// The running stage deadline.
    pub deadline: Option<DeadlineView>,
    /// The open ledger item.
    pub ledger: Option<LedgerView>,
    /// The latest check.
    pub latest_check: Option<Value>,
    /// Construction quota: what the latest confirmed check says the case needs, what it holds
    /// and has consumed, and the shortfall its conversion approval would be refused for.
    pub quota: QuotaView,
    /// Recorded documents.
    pub facts: Value,
    /// Declarations for the verdict rules.
    pub declarations: Value,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Updated.
    pub updated_at: DateTime<Utc>,
    /// Version (the ETag).
    pub version: i64,
}

/// What a case's view needs besides its row: the pauses since its stage began, its open
/// ledger item, its latest check and its quota movements.
#[derive(Debug, Default)]
struct ViewParts {
    pauses: Vec<Pause>,
    ledger: Option<LedgerRow>,
    check: Option<CheckBrief>,
    quota: (Amount, Amount),
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

/// The latest check of a case, as its view shows it.
#[derive(Debug, sqlx::FromRow)]
struct CheckBrief {
    case_id: Uuid,
    id: Uuid,
    result: String,
    stale: bool,
    confirmed_at: Option<DateTime<Utc>>,
    need_hundredths: Option<i64>,
}

/// The view parts of `cases`, in three statements however many cases there are.
async fn view_parts(
    conn: &mut PgConnection,
    cases: &[CaseRow],
) -> Result<HashMap<Uuid, ViewParts>, ApiError> {
    let ids: Vec<Uuid> = cases.iter().map(|c| c.id).collect();
    let since: Vec<DateTime<Utc>> = cases.iter().map(|c| c.stage_entered_at).collect();
    let mut parts: HashMap<Uuid, ViewParts> = ids.iter().map(|id| (*id, ViewParts::default())).collect();

    let pauses: Vec<(Uuid, DateTime<Utc>, Option<DateTime<Utc>>)> = sqlx::query_as(
        "select p.case_id, p.paused_at, p.resumed_at
           from case_pauses p join unnest($1::uuid[], $2::timestamptz[]) as s (case_id, since)
             on s.case_id = p.case_id
          where p.resumed_at is null or p.resumed_at > s.since
          order by p.case_id, p.paused_at",
    )
    .bind(&ids)
    .bind(&since)
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| ApiError::db("loading the cases' pauses", e))?;
    for (case_id, from, to) in pauses {
        let pause = Pause::new(from, to).map_err(|e| ApiError::internal("reading a pause", e))?;
        parts.entry(case_id).or_default().pauses.push(pause);
    }

    let ledger: Vec<LedgerRow> = sqlx::query_as(
        "select id, case_id, county_code, stage, opened_at, due_on, cleared_at, outcome
           from ledger_items where case_id = any($1) and cleared_at is null",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| ApiError::db("loading the ledger items", e))?;
    for item in ledger {
        let case_id = item.case_id;
        parts.entry(case_id).or_default().ledger = Some(item);
    }

    let checks: Vec<CheckBrief> = sqlx::query_as(
        "select distinct on (case_id) case_id, id, result, stale, confirmed_at,
                (quota_need_mu * 100)::bigint as need_hundredths
           from checks where case_id = any($1)
          order by case_id, run_at desc, id desc",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| ApiError::db("loading the latest checks", e))?;
    for check in checks {
        let case_id = check.case_id;
        parts.entry(case_id).or_default().check = Some(check);
    }

    // Held is allocated less released and consumed; consumed is what the approval used.
    let quota: Vec<(Uuid, i64, i64)> = sqlx::query_as(
        "select case_id, ((-sum(delta_mu) - coalesce(sum(consumed_mu), 0)) * 100)::bigint,
                (coalesce(sum(consumed_mu), 0) * 100)::bigint
           from quota_movements
          where case_id = any($1) and kind in ('allocate', 'release', 'consume')
          group by case_id",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| ApiError::db("loading the cases' quota", e))?;
    for (case_id, held, consumed) in quota {
        parts.entry(case_id).or_default().quota =
            (Amount::from_hundredths(held), Amount::from_hundredths(consumed));
    }
    Ok(parts)
}

/// Builds the full view of a case at `now`.
///
/// # Errors
/// Database failures.
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

/// Builds the views of `cases` at `now`, in their order, with three statements for them all.
///
/// # Errors
/// Database failures.
pub async fn case_views(
    conn: &mut PgConnection,
    rules: &Rules,
    cases: Vec<CaseRow>,
    now: DateTime<Utc>,
) -> Result<Vec<CaseView>, ApiError> {
    let mut parts = view_parts(conn, &cases).await?;
    cases
        .into_iter()
        .map(|case| {
            let own = parts.remove(&case.id).unwrap_or_default();
            view_of(rules, case, own, now)
        })
        .collect()
}

fn view_of(rules: &Rules, case: CaseRow, parts: ViewParts, now: DateTime<Utc>) -> Result<CaseView, ApiError> {
    let state = case.state()?;
    let green = case.green_channel()?;
    let clock = StageClock {
        started_at: case.stage_entered_at,
        pauses: parts.pauses,
    };
    let deadline = limits::remaining_working_days(
        &rules.limits,
        &rules.calendar,
        &state,
        Channel::from_green(green.is_active()),
        &clock,
        now,
    )
    .map(|r| DeadlineView {
        stage: state.clock_stage(),
        date: r.deadline.date,
        ends_at: r.deadline.ends_at(),
        provisional: r.deadline.provisional,
        remaining_working_days: r.working_days,
        overdue: r.overdue,
        paused: clock.is_stopped(now),
    });
    let ledger = parts.ledger.map(|item| ledger_view(item, rules.clearing, now));
    let position = QuotaPosition {
        needed_mu: parts
            .check
            .as_ref()
            .filter(|c| c.confirmed_at.is_some() && !c.stale)
            .and_then(|c| c.need_hundredths)
            .map(Amount::from_hundredths),
        held_mu: parts.quota.0,
        consumed_mu: parts.quota.1,
    };
    let quota = QuotaView {
        needed_mu: position.needed_mu,
        held_mu: position.held_mu,
        consumed_mu: position.consumed_mu,
        shortfall_mu: position.shortfall(),
    };
    let latest_check = parts.check.map(|c| {
        json!({
            "id": c.id,
            "result": c.result,
            "stale": c.stale,
            "confirmed": c.confirmed_at.is_some(),
            "href": format!("/api/v1/cases/{}/checks/{}", case.id, c.id),
        })
    });
    Ok(CaseView {
        id: case.id,
        project_id: case.project_id,
        project_name: case.project_name,
        county_code: case.county_code,
        title: case.title,
        stage: state.stage(),
        returns_to: state.returns_to(),
        green: green.is_active(),
        green_basis: green.basis(),
        green_grant: case.green_grant,
        deadline,
        ledger,
        latest_check,
        quota,
        facts: case.facts,
        declarations: case.declarations,
        created_at: case.created_at,
        updated_at: case.updated_at,
        version: case.version,
    })
}

fn case_reply(status: StatusCode, view: &CaseView) -> Result<Reply, ApiError> {
    let location = HeaderValue::from_str(&format!("/api/v1/cases/{}", view.id))
        .map_err(|e| ApiError::internal("building the location", e))?;
    Ok(Reply::new(status, json!(view))
        .header(header::ETAG, etag_header(view.version))
        .header(header::CONTENT_LOCATION, location))
}

/// Appends an event to the case's history.
///
/// # Errors
/// Database failures.
#[allow(clippy::too_many_arguments)]
pub async fn append_event(
    conn: &mut PgConnection,
    case_id: Uuid,
    at: DateTime<Utc>,
    caller: &Caller,
    kind: &str,
    stages: (Option<Stage>, Option<Stage>),
    reason: Option<&str>,
    data: Value,
) -> Result<(), ApiError> {
    append_event_as(
        conn,
        case_id,
        at,
        (Some(caller.user_id), caller.role.code()),
        kind,
        stages,
        reason,
        data,
    )
    .await
}

/// Appends an event to the case's history as `actor` (a user id, when there is one, and the
/// role recorded): for changes made by the operator's command line, which has no user.
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
    sqlx::query(
        "insert into case_events (case_id, at, actor_id, actor_role, kind, from_stage, to_stage, reason, data)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(case_id)
    .bind(at)
    .bind(actor.0)
    .bind(actor.1)
    .bind(kind)
    .bind(stages.0.map(Stage::code))
    .bind(stages.1.map(Stage::code))
    .bind(reason)
    .bind(data)
    .execute(&mut *conn)
    .await
    .map_err(|e| ApiError::db("recording the event", e))?;
    Ok(())
}

/// Ends every change to a case: bumps its version, builds its view once, and keeps the stored
/// deadline and green flag (which order the queue) in step with that view.
pub(crate) async fn settle(
    conn: &mut PgConnection,
    rules: &Rules,
    caller: &Caller,
    case_id: Uuid,
    now: DateTime<Utc>,
) -> Result<CaseView, ApiError> {
    sqlx::query("update cases set version = version + 1, updated_at = $2 where id = $1")
        .bind(case_id)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(|e| ApiError::db("updating the case", e))?;
    let case = load_case(conn, caller, case_id, false).await?;
    let view = case_view(conn, rules, case, now).await?;
    let (at, provisional) = match &view.deadline {
        Some(d) if !d.paused => (Some(d.ends_at), d.provisional),
        _ => (None, false),
    };
    sqlx::query("update cases set deadline_at = $2, deadline_provisional = $3, green = $4 where id = $1")
        .bind(case_id)
        .bind(at)
        .bind(provisional)
        .bind(view.green)
        .execute(&mut *conn)
        .await
        .map_err(|e| ApiError::db("storing the deadline", e))?;
    Ok(view)
}

/// The body of `POST /api/v1/cases`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCase {
    /// The project the land is for.
    pub project_id: Uuid,
    /// A title.
    #[schema(pattern = "\\S")]
    pub title: String,
    /// Declarations the verdict rules use (allowed red-line activity, linear infrastructure…).
    #[serde(default)]
    pub declarations: Option<Value>,
}

/// `POST /api/v1/cases`: an officer opens a draft case for a project of their county.
#[utoipa::path(post, path = "/cases", tag = "cases", request_body = NewCase, responses((status = 201, description = "A draft case", body = CaseView, headers(("ETag" = String), ("Content-Location" = String)))))]
pub async fn create_case(
    State(state): State<AppState>,
    caller: Caller,
    idem: IdempotencyKey,
    body: JsonBody<NewCase>,
) -> Result<Response, ApiError> {
    caller.require(&[Role::Officer], "open cases")?;
    if let Some(replay) = idem.replay(&state.db, &caller, &body.digest).await? {
        return Ok(replay);
    }
    let new = &body.value;
    if new.title.trim().is_empty() {
        return Err(ApiError::invalid(
            "invalid-field",
            "title",
            "the title must not be empty",
        ));
    }
    let declarations = new.declarations.clone().unwrap_or_else(|| json!({}));
    if !declarations.is_object() {
        return Err(ApiError::invalid(
            "invalid-field",
            "declarations",
            "declarations must be an object",
        ));
    }
    let now = state.clock.now();
    let mut tx = state.begin_for(&caller).await?;
    let project: Option<(String, bool)> =
        sqlx::query_as("select county_code, on_key_list from projects where id = $1")
            .bind(new.project_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| ApiError::db("loading the project", e))?;
    let Some((county, key)) = project.filter(|(county, _)| caller.sees(county)) else {
        return Err(ApiError::invalid(
            "unknown-project",
            "project_id",
            "no such project in your counties",
        ));
    };
    let id = Uuid::now_v7();
    sqlx::query(
        "insert into cases (id, project_id, county_code, title, stage, stage_entered_at, green, declarations,
                            officer_id, created_at, updated_at)
         values ($1, $2, $3, $4, 'draft', $5, $6, $7, $8, $5, $5)",
    )
    .bind(id)
    .bind(new.project_id)
    .bind(&county)
    .bind(new.title.trim())
    .bind(now)
    .bind(key)
    .bind(&declarations)
    .bind(caller.user_id)
    .execute(&mut *tx)
    .await
    .map_err(|e| ApiError::db("opening the case", e))?;
    append_event(
        &mut tx,
        id,
        now,
        &caller,
        "created",
        (None, Some(Stage::Draft)),
        None,
        json!({}),
    )
    .await?;
    let rules = load_rules(&mut tx).await?;
    let case = load_case(&mut tx, &caller, id, false).await?;
    let view = case_view(&mut tx, &rules, case, now).await?;
    let reply = case_reply(StatusCode::CREATED, &view)?;
    let reply = reply.header(
        header::LOCATION,
        HeaderValue::from_str(&format!("/api/v1/cases/{id}"))
            .map_err(|e| ApiError::internal("location", e))?,
    );
    idem.finish(tx, &state.db, &caller, &body.digest, reply).await
}

/// `GET /api/v1/cases/{id}`.
#[utoipa::path(get, path = "/cases/{id}", tag = "cases", params(("id" = Uuid, Path, description = "The case id")), responses((status = 200, description = "The case with its deadline and ledger item", body = CaseView, headers(("ETag" = String)))))]
pub async fn get_case(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<Response, ApiError> {
    let mut conn = state.begin_for(&caller).await?;
    let case = load_case(&mut conn, &caller, id, false).await?;
    let rules = load_rules(&mut conn).await?;
    let view = case_view(&mut conn, &rules, case, state.clock.now()).await?;
    Ok(([(header::ETAG, etag_header(view.version))], Json(view)).into_response())
}

/// The body of `POST /api/v1/cases/{id}/transitions`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionRequest {
    /// `submit`, `advance`, `request_correction`, `answer_correction`, `reject`, `withdraw`.
    #[schema(pattern = "^(submit|advance|request_correction|answer_correction|reject|withdraw)$")]
    pub action: String,
    /// Why (required for corrections, rejections and withdrawals).
    #[serde(default)]
    pub reason: Option<String>,
}

/// `POST /api/v1/cases/{id}/transitions`: move a case, under `If-Match`.
#[utoipa::path(post, path = "/cases/{id}/transitions", tag = "cases", params(("id" = Uuid, Path, description = "The case id"), ("If-Match" = String, Header, description = "The ETag of the last read")), request_body = TransitionRequest, responses((status = 200, description = "The case as it now stands", body = CaseView, headers(("ETag" = String, description = "The new version")))))]
pub async fn transition(
    State(state): State<AppState>,
    caller: Caller,
    idem: IdempotencyKey,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    body: JsonBody<TransitionRequest>,
) -> Result<Response, ApiError> {
    if let Some(replay) = idem.replay(&state.db, &caller, &body.digest).await? {
        return Ok(replay);
    }
    let action = Action::parse(&body.value.action).map_err(|e| {
        let codes: Vec<_> = Action::ALL.iter().map(|a| a.code()).collect();
        ApiError::invalid(
            "invalid-field",
            "action",
            format!("{e}; actions are {}", codes.join(", ")),
        )
    })?;
    let now = state.clock.now();
    let mut tx = state.begin_for(&caller).await?;
    let case = load_case(&mut tx, &caller, id, true).await?;
    require_if_match(&headers, case.version)?;
    let rules = load_rules(&mut tx).await?;
    let facts = case_facts(&mut tx, &case).await?;
    let current = case.state()?;
    let event = transition::decide(
        &current,
        action,
        &caller.actor(),
        &facts,
        now,
        body.value.reason.clone(),
    )?;

    apply_transition(&mut tx, &case, &event, &rules, &caller).await?;
    append_event(
        &mut tx,
        id,
        now,
        &caller,
        action.code(),
        (Some(event.from), Some(event.to)),
        event.reason.as_ref().map(landuse_domain::reason::Reason::as_str),
        json!({ "returns_to": event.state_after.returns_to() }),
    )
    .await?;
    let view = settle(&mut tx, &rules, &caller, id, now).await?;
    let reply = case_reply(StatusCode::OK, &view)?;
    idem.finish(tx, &state.db, &caller, &body.digest, reply).await
}

/// Writes what a decided transition changes: the stage, the clock's pauses, the ledger, and
/// what a closed case held.
async fn apply_transition(
    tx: &mut PgConnection,
    case: &CaseRow,
    event: &TransitionEvent,
    rules: &Rules,
    caller: &Caller,
) -> Result<(), ApiError> {
    let (id, now, action) = (case.id, event.at, event.action);
    let after = event.state_after;
    let entering_new_stage = !matches!(action, Action::AnswerCorrection | Action::RequestCorrection);
    sqlx::query(
        "update cases set stage = $2, returns_to = $3,
                stage_entered_at = case when $4 then $5 else stage_entered_at end
          where id = $1",
    )
    .bind(id)
    .bind(after.stage().code())
    .bind(after.returns_to().map(Stage::code))
    .bind(entering_new_stage)
    .bind(now)
    .execute(&mut *tx)
    .await
    .map_err(|e| ApiError::db("moving the case", e))?;
    match action {
        Action::RequestCorrection => {
            sqlx::query("insert into case_pauses (case_id, paused_at) values ($1, $2)")
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(|e| ApiError::db("stopping the clock", e))?;
        }
        Action::AnswerCorrection => {
            sqlx::query("update case_pauses set resumed_at = $2 where case_id = $1 and resumed_at is null")
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(|e| ApiError::db("restarting the clock", e))?;
        }
        _ => {}
    }
    let effect = clearing::ledger_effect(event);
    if let Some(outcome) = effect.strike_off {
        sqlx::query("update ledger_items set cleared_at = $2, outcome = $3, last_status = 'cleared' where case_id = $1 and cleared_at is null")
            .bind(id)
            .bind(now)
            .bind(serde_json::to_value(outcome).ok().and_then(|v| v.as_str().map(str::to_owned)))
            .execute(&mut *tx)
            .await
            .map_err(|e| ApiError::db("striking off the ledger item", e))?;
    }
    if effect.open_new {
        let due_on = LedgerItem::opened(now).due_date(now, &rules.clearing);
        sqlx::query(
            "insert into ledger_items (id, case_id, county_code, stage, opened_at, due_on) values ($1, $2, $3, $4, $5, $6)",
        )
        .bind(Uuid::now_v7())
        .bind(id)
        .bind(&case.county_code)
        .bind(after.stage().code())
        .bind(now)
        .bind(due_on)
        .execute(&mut *tx)
        .await
        .map_err(|e| ApiError::db("opening a ledger item", e))?;
    }
    if matches!(after.stage(), Stage::Rejected | Stage::Withdrawn) {
        super::guarantees::release_for_closed_case(tx, id, event.from, caller, now).await?;
    }
    if landuse_domain::ledger::rules::approval_consumes(event.from, event.to) {
        super::guarantees::consume_at_approval(tx, id, caller, now).await?;
    }
    Ok(())
}

/// `POST /api/v1/cases/{id}/facts`: a reviewer records documents (opinion, approval, supply
/// decision, certificate), under `If-Match`.
#[utoipa::path(post, path = "/cases/{id}/facts", tag = "cases", params(("id" = Uuid, Path, description = "The case id"), ("If-Match" = String, Header, description = "The ETag of the last read")), request_body = RecordedFacts, responses((status = 200, description = "The case as it now stands", body = CaseView, headers(("ETag" = String, description = "The new version")))))]
pub async fn record_facts(
    State(state): State<AppState>,
    caller: Caller,
    idem: IdempotencyKey,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    body: JsonBody<RecordedFacts>,
) -> Result<Response, ApiError> {
    caller.require(&[Role::Reviewer], "record approval documents")?;
    if let Some(replay) = idem.replay(&state.db, &caller, &body.digest).await? {
        return Ok(replay);
    }
    let now = state.clock.now();
    let mut tx = state.begin_for(&caller).await?;
    let case = load_case(&mut tx, &caller, id, true).await?;
    require_if_match(&headers, case.version)?;
    let mut facts = case.recorded_facts()?;
    let new = &body.value;
    for (field, value) in [
        ("pre_review_opinion", &new.pre_review_opinion),
        ("conversion_approval", &new.conversion_approval),
        ("certificate_number", &new.certificate_number),
    ] {
        if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
            return Err(ApiError::invalid(
                "invalid-field",
                field,
                format!("{field} must not be blank"),
            ));
        }
    }
    if new.pre_review_opinion.is_some() {
        facts.pre_review_opinion.clone_from(&new.pre_review_opinion);
    }
    if new.conversion_approval.is_some() {
        facts.conversion_approval.clone_from(&new.conversion_approval);
    }
    if new.supply_decision.is_some() {
        facts.supply_decision = new.supply_decision;
    }
    if new.certificate_number.is_some() {
        facts.certificate_number.clone_from(&new.certificate_number);
    }
    let facts = serde_json::to_value(&facts).map_err(|e| ApiError::internal("storing the facts", e))?;
    sqlx::query("update cases set facts = $2 where id = $1")
        .bind(id)
        .bind(&facts)
        .execute(&mut *tx)
        .await
        .map_err(|e| ApiError::db("recording the documents", e))?;
    let at_stage = case.state()?.stage();
    append_event(
        &mut tx,
        id,
        now,
        &caller,
        "documents_recorded",
        (Some(at_stage), Some(at_stage)),
        None,
        json!(new),
    )
    .await?;
    let rules = load_rules(&mut tx).await?;
    let view = settle(&mut tx, &rules, &caller, id, now).await?;
    let reply = case_reply(StatusCode::OK, &view)?;
    idem.finish(tx, &state.db, &caller, &body.digest, reply).await
}

/// The body of `POST /api/v1/cases/{id}/green-channel`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GreenRequest {
    /// `grant` or `revoke`.
    #[schema(pattern = "^(grant|revoke)$")]
    pub action: String,
    /// Why (required).
    #[schema(pattern = "\\S")]
    pub reason: String,
}

/// `POST /api/v1/cases/{id}/green-channel`: a leader grants or revokes the green channel.
#[utoipa::path(post, path = "/cases/{id}/green-channel", tag = "cases", params(("id" = Uuid, Path, description = "The case id"), ("If-Match" = String, Header, description = "The ETag of the last read")), request_body = GreenRequest, responses((status = 200, description = "The case as it now stands", body = CaseView, headers(("ETag" = String, description = "The new version")))))]
pub async fn green_channel(
    State(state): State<AppState>,
    caller: Caller,
    idem: IdempotencyKey,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    body: JsonBody<GreenRequest>,
) -> Result<Response, ApiError> {
    caller.require(&[Role::Leader], "grant or revoke the green channel")?;
    if let Some(replay) = idem.replay(&state.db, &caller, &body.digest).await? {
        return Ok(replay);
    }
    let now = state.clock.now();
    let mut tx = state.begin_for(&caller).await?;
    let case = load_case(&mut tx, &caller, id, true).await?;
    require_if_match(&headers, case.version)?;
    let channel = case.green_channel()?;
    let grant = match body.value.action.as_str() {
        "grant" => channel.grant(&caller.actor(), &body.value.reason, now),
        "revoke" => channel
            .revoke(&caller.actor(), &body.value.reason, now)
            .and_then(|revocation| {
                let mut grant = channel
                    .grant
                    .clone()
                    .ok_or(landuse_domain::green::GreenError::NotGranted)?;
                grant.revoked = Some(revocation);
                Ok(grant)
            }),
        other => {
            return Err(ApiError::invalid(
                "invalid-field",
                "action",
                format!("action must be grant or revoke, not {other:?}"),
            ))
        }
    }
    .map_err(|e| ApiError::conflict(e.code(), e.to_string()))?;
    let grant_json = serde_json::to_value(&grant).map_err(|e| ApiError::internal("storing the grant", e))?;
    sqlx::query("update cases set green_grant = $2 where id = $1")
        .bind(id)
        .bind(&grant_json)
        .execute(&mut *tx)
        .await
        .map_err(|e| ApiError::db("recording the green channel", e))?;
    let at_stage = case.state()?.stage();
    append_event(
        &mut tx,
        id,
        now,
        &caller,
        &format!("green_channel_{}", body.value.action),
        (Some(at_stage), Some(at_stage)),
        Some(&body.value.reason),
        json!({}),
    )
    .await?;
    let rules = load_rules(&mut tx).await?;
    let view = settle(&mut tx, &rules, &caller, id, now).await?;
    let reply = case_reply(StatusCode::OK, &view)?;
    idem.finish(tx, &state.db, &caller, &body.digest, reply).await
}

/// One event of a case's history.
#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct EventRow {
    /// Sequence number.
    pub id: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// Who.
    pub actor_id: Option<Uuid>,
    /// In which role.
    pub actor_role: String,
    /// What happened.
    pub kind: String,
    /// Stage before.
    pub from_stage: Option<String>,
    /// Stage after.
    pub to_stage: Option<String>,
    /// Why.
    pub reason: Option<String>,
    /// Details.
    pub data: Value,
}

/// `GET /api/v1/cases/{id}/history`: every event, oldest first.
#[utoipa::path(get, path = "/cases/{id}/history", tag = "cases", params(("id" = Uuid, Path, description = "The case id")), responses((status = 200, description = "Every event, oldest first", body = [EventRow])))]
pub async fn history(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<Json<Vec<EventRow>>, ApiError> {
    let mut conn = state.begin_for(&caller).await?;
    load_case(&mut conn, &caller, id, false).await?;
    let events = sqlx::query_as::<_, EventRow>(
        "select id, at, actor_id, actor_role, kind, from_stage, to_stage, reason, data
           from case_events where case_id = $1 order by id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| ApiError::db("loading the history", e))?;
    Ok(Json(events))
}

/// Query parameters of `GET /api/v1/cases`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CaseQuery {
    /// County code.
    #[param(pattern = "^[0-9]{6}$")]
    pub county: Option<String>,
    /// Stage code.
    #[param(
        pattern = "^(draft|accepted|pre_review|conversion|supply|registration|completed|correction|rejected|withdrawn)$"
    )]
    pub stage: Option<String>,
    /// Status of the open ledger item: `open`, `due_soon`, `overdue`.
    #[param(pattern = "^(open|due_soon|overdue)$")]
    pub ledger_status: Option<String>,
    /// Only green-channel cases (or only others).
    pub green: Option<bool>,
    /// Only cases past their stage deadline.
    pub overdue: Option<bool>,
    /// Text in the title or project name.
    #[param(pattern = "^[^\\u0000]*$")]
    pub q: Option<String>,
    /// Page size (default 50; 0 is taken as 1 and anything over 200 as 200).
    #[param(value_type = Option<i64>, minimum = 0, maximum = 4_294_967_295_i64)]
    pub limit: Option<u32>,
    /// The `next` cursor of the previous page.
    #[param(min_length = 1)]
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Cursor {
    g: i32,
    d: Option<DateTime<Utc>>,
    id: Uuid,
}

impl Cursor {
    /// Reads a `cursor` parameter: only one this service gave is accepted.
    fn parse(text: &str) -> Result<Self, ApiError> {
        URL_SAFE_NO_PAD
            .decode(text)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or_else(|| {
                ApiError::invalid(
                    "invalid-parameter",
                    "cursor",
                    "the cursor is not one this service gave",
                )
            })
    }
}

/// `GET /api/v1/cases`: the queue, green first then nearest deadline, with filters and a cursor.
#[utoipa::path(get, path = "/cases", tag = "cases", params(CaseQuery), responses((status = 200, description = "A page of the queue: green first, then nearest deadline", body = CasePage)))]
pub async fn list_cases(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<CaseQuery>,
) -> Result<Json<CasePage>, ApiError> {
    let limit = i64::from(query.limit.unwrap_or(50).clamp(1, 200));
    crate::http::query::county_filter(query.county.as_deref())?;
    if query.q.as_deref().is_some_and(|q| q.contains('\0')) {
        return Err(ApiError::invalid(
            "invalid-parameter",
            "q",
            "the search text may not contain the NUL character",
        ));
    }
    if let Some(stage) = &query.stage {
        Stage::parse(stage).map_err(|e| ApiError::invalid("invalid-parameter", "stage", e.to_string()))?;
    }
    let ledger_status = match query.ledger_status.as_deref() {
        None => None,
        Some(s @ ("open" | "due_soon" | "overdue")) => Some(s.to_owned()),
        Some(other) => {
            return Err(ApiError::invalid(
                "invalid-parameter",
                "ledger_status",
                format!("ledger_status must be open, due_soon or overdue, not {other:?}"),
            ))
        }
    };
    let cursor = query.cursor.as_deref().map(Cursor::parse).transpose()?;
    let now = state.clock.now();
    let today = bureau_date(now);
    let mut conn = state.begin_for(&caller).await?;
    let rules = load_rules(&mut conn).await?;
    let due_soon_until = today + chrono::Days::new(u64::from(rules.clearing.due_soon_days()));
    let rows = sqlx::query_as::<_, CaseRow>(&format!(
        "{CASE_SELECT}
          left join ledger_items li on li.case_id = c.id and li.cleared_at is null
          where ($1::text[] is null or c.county_code = any($1))
            and ($2::text is null or exists (select 1 from counties k
                   where k.code = c.county_code and ($2 = k.code or $2 = any(k.aliases))))
            and ($3::text is null or c.stage = $3)
            and ($4::bool is null or c.green = $4)
            and ($5::bool is null or (c.deadline_at is not null and c.deadline_at <= $6) = $5)
            and ($7::text is null
                 or ($7 = 'overdue' and li.due_on < $8)
                 or ($7 = 'due_soon' and li.due_on >= $8 and li.due_on <= $9)
                 or ($7 = 'open' and li.due_on > $9))
            and ($10::text is null or c.title ilike '%' || $10 || '%' or p.name ilike '%' || $10 || '%')
            and ($11::int is null
                 or (case when c.green then 0 else 1 end, coalesce(c.deadline_at, 'infinity'::timestamptz), c.id)
                    > ($11, coalesce($12, 'infinity'::timestamptz), $13))
          order by case when c.green then 0 else 1 end, c.deadline_at asc nulls last, c.id
          limit $14"
    ))
    .bind(caller.county_filter())
    .bind(&query.county)
    .bind(&query.stage)
    .bind(query.green)
    .bind(query.overdue)
    .bind(now)
    .bind(&ledger_status)
    .bind(today)
    .bind(due_soon_until)
    .bind(query.q.as_deref().map(|q| q.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")))
    .bind(cursor.as_ref().map(|c| c.g))
    .bind(cursor.as_ref().and_then(|c| c.d))
    .bind(cursor.as_ref().map(|c| c.id))
    .bind(limit + 1)
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| ApiError::db("listing cases", e))?;
    let page = usize::try_from(limit).unwrap_or(usize::MAX);
    let more = rows.len() > page;
    let rows: Vec<CaseRow> = rows.into_iter().take(page).collect();
    let last = rows.last().map(|row| Cursor {
        g: i32::from(!row.green),
        d: row.deadline_at,
        id: row.id,
    });
    let items = case_views(&mut conn, &rules, rows, now).await?;
    let next = if more {
        last.and_then(|c| serde_json::to_vec(&c).ok())
            .map(|b| URL_SAFE_NO_PAD.encode(b))
    } else {
        None
    };
    Ok(Json(CasePage { items, next }))
}

/// A page of `GET /api/v1/cases`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CasePage {
    /// The cases of this page.
    pub items: Vec<CaseView>,
    /// The `cursor` of the next page; absent on the last.
    pub next: Option<String>,
}

/// Query parameters of `GET /api/v1/ledger`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LedgerQuery {
    /// County code.
    #[param(pattern = "^[0-9]{6}$")]
    pub county: Option<String>,
    /// Include struck-off items too.
    pub include_cleared: Option<bool>,
}

/// `GET /api/v1/ledger`: the items across the counties the caller may see, with their status.
#[utoipa::path(get, path = "/ledger", tag = "ledger", params(LedgerQuery), responses((status = 200, description = "Ledger items with their clearing status", body = [LedgerView])))]
pub async fn ledger(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<LedgerQuery>,
) -> Result<Json<Vec<LedgerView>>, ApiError> {
    crate::http::query::county_filter(query.county.as_deref())?;
    let now = state.clock.now();
    let mut conn = state.begin_for(&caller).await?;
    let rules = load_rules(&mut conn).await?;
    let rows = sqlx::query_as::<_, LedgerRow>(
        "select li.id, li.case_id, li.county_code, li.stage, li.opened_at, li.due_on, li.cleared_at, li.outcome
           from ledger_items li join cases c on c.id = li.case_id
          where ($1::text[] is null or li.county_code = any($1))
            and ($2::text is null or exists (select 1 from counties k
                   where k.code = li.county_code and ($2 = k.code or $2 = any(k.aliases))))
            and ($3 or li.cleared_at is null)
          order by c.green desc, li.due_on, li.id",
    )
    .bind(caller.county_filter())
    .bind(&query.county)
    .bind(query.include_cleared.unwrap_or(false))
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| ApiError::db("listing the ledger", e))?;
    Ok(Json(
        rows.into_iter()
            .map(|r| ledger_view(r, rules.clearing, now))
            .collect(),
    ))
}
