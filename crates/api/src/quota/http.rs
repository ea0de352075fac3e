//! The ledgers' HTTP handlers under `/api/v1`: quotas, offsets, project starts and the
//! start-rate report. They follow the API's conventions: the [`Caller`] extractor and county
//! scoping (another county's data answers 404), problem+json errors, `If-Match` on changes to a
//! versioned resource (a quota account's yearly amount, an indicator's transfer, a project's
//! start), and `Idempotency-Key` on every write.
//!
//! Ledger movements (allocations, locks, releases, transfers between accounts) are `POST`s that
//! append to a ledger rather than edits of something the client read; the database's balance
//! constraints, not an ETag, keep them from overdrawing, and a refusal is a 409 whose problem
//! document carries the figures (what is left, what falls short and by how much).

use axum::{
    extract::{Path, Query, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use chrono::NaiveDate;
use landuse_domain::{
    calendar::bureau_date,
    county::CountyCode,
    ledger::{
        quota::{self, RequestRefusal},
        rules::{self, LedgerAction},
        Amount, Quantities, Shortfall,
    },
    role::Role,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

use super::{
    guarantees,
    offsets::{self, OffsetError},
    starts::{self, StartError},
    store::{self, Holder, QuotaError},
};
use crate::{
    app::AppState,
    auth::Caller,
    http::{
        error::ApiError,
        etag::{etag, etag_header, require_if_match},
        idempotency::{IdempotencyKey, Reply},
        json::JsonBody,
    },
    problem::Problem,
    workflow::{cases::load_case, projects::county_for},
};

/// What a ledger handler fails with: the API's own errors, or a ledger's refusal, which
/// becomes a problem document carrying the refusal's figures.
#[derive(Debug, thiserror::Error)]
pub enum LedgerApiError {
    /// An API error (auth, scoping, bodies, ETags, the database).
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The quota ledger refused.
    #[error(transparent)]
    Quota(#[from] QuotaError),
    /// The offset ledger refused.
    #[error(transparent)]
    Offset(#[from] OffsetError),
    /// A start could not be recorded.
    #[error(transparent)]
    Start(#[from] StartError),
}

fn shortfalls_json(shortfalls: &[Shortfall]) -> Value {
    json!(shortfalls)
}

fn refusal(status: StatusCode, code: &str, detail: String) -> Problem {
    let title = match status {
        StatusCode::FORBIDDEN => "Forbidden",
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::UNPROCESSABLE_ENTITY => "Invalid request",
        _ => "Refused by the ledger",
    };
    Problem::new(status, code, title).with_detail(detail)
}

impl IntoResponse for LedgerApiError {
    fn into_response(self) -> Response {
        match self {
            Self::Api(e) => e.into_response(),
            Self::Quota(QuotaError::Db { doing, source })
            | Self::Offset(OffsetError::Db { doing, source })
            | Self::Start(StartError::Db { doing, source }) => ApiError::db(doing, source).into_response(),
            Self::Quota(QuotaError::NoSuchCase) | Self::Offset(OffsetError::NoSuchCase) => {
                ApiError::NotFound("case").into_response()
            }
            Self::Offset(OffsetError::NoSuchIndicator) => {
                ApiError::NotFound("offset indicator").into_response()
            }
            Self::Start(StartError::NoSuchProject) => ApiError::NotFound("project").into_response(),
            Self::Start(StartError::VersionMismatch { current }) => ApiError::PreconditionFailed {
                current: etag(current),
            }
            .into_response(),
            Self::Start(e @ StartError::Goals(_)) => {
                ApiError::internal("reading the start-rate goals", e).into_response()
            }
            Self::Quota(e) => {
                let status = match &e {
                    QuotaError::RoleMayNot { .. } => StatusCode::FORBIDDEN,
                    QuotaError::UnknownCounty(_)
                    | QuotaError::ZeroAmount
                    | QuotaError::TransferNotViaPool => StatusCode::UNPROCESSABLE_ENTITY,
                    _ => StatusCode::CONFLICT,
                };
                let mut p = refusal(status, e.code(), e.to_string());
                match &e {
                    QuotaError::Insufficient {
                        holder,
                        year,
                        needed,
                        available,
                    } => {
                        p = p
                            .with("holder", holder.key())
                            .with("year", *year)
                            .with("needed_mu", needed.value())
                            .with("available_mu", available.value())
                            .with("short_by_mu", (*needed - *available).value());
                    }
                    QuotaError::KeyProjectWaiting {
                        holder,
                        year,
                        waiting,
                    } => {
                        p = p
                            .with("holder", holder.key())
                            .with("year", *year)
                            .with("waiting_cases", json!(waiting));
                    }
                    QuotaError::AlreadyAllocated { holder, year, mu } => {
                        p = p
                            .with("holder", holder.key())
                            .with("year", *year)
                            .with("mu", mu.value());
                    }
                    QuotaError::GrantBelowInUse { in_use, .. } => p = p.with("in_use_mu", in_use.value()),
                    _ => {}
                }
                p.into_response()
            }
            Self::Offset(e) => {
                let status = match &e {
                    OffsetError::RoleMayNot { .. } => StatusCode::FORBIDDEN,
                    OffsetError::UnknownCounty(_)
                    | OffsetError::InvalidIndicator(_)
                    | OffsetError::ZeroAmount
                    | OffsetError::SameCounty(_) => StatusCode::UNPROCESSABLE_ENTITY,
                    _ => StatusCode::CONFLICT,
                };
                let mut p = refusal(status, e.code(), e.to_string());
                match &e {
                    OffsetError::Shortfall { county, shortfalls } => {
                        p = p
                            .with("county_code", county.as_str())
                            .with("shortfalls", shortfalls_json(shortfalls));
                    }
                    OffsetError::TransferExceedsAvailable { shortfalls } => {
                        p = p.with("shortfalls", shortfalls_json(shortfalls));
                    }
                    _ => {}
                }
                p.into_response()
            }
            Self::Start(e) => {
                let status = match &e {
                    StartError::RoleMayNot { .. } => StatusCode::FORBIDDEN,
                    _ => StatusCode::UNPROCESSABLE_ENTITY,
                };
                refusal(status, e.code(), e.to_string()).into_response()
            }
        }
    }
}

type Result<T, E = LedgerApiError> = std::result::Result<T, E>;

fn actor(caller: &Caller) -> (Uuid, Role) {
    (caller.user_id, caller.role)
}

fn amount(field: &str, value: f64) -> Result<Amount> {
    Amount::parse(value)
        .map_err(|e| ApiError::invalid("invalid-field", field, format!("{field}: {e}")).into())
}

fn year(field: &str, value: i32) -> Result<i32> {
    if (2000..=2100).contains(&value) {
        Ok(value)
    } else {
        Err(ApiError::invalid("invalid-field", field, "the year must be between 2000 and 2100").into())
    }
}

fn not_blank(field: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        Err(ApiError::invalid("invalid-field", field, format!("{field} must not be blank")).into())
    } else {
        Ok(())
    }
}

/// Resolves a holder in a path or body for the caller: `pool`, or a county code (aliases
/// accepted) the caller serves (404 otherwise).
async fn holder_for(state: &AppState, caller: &Caller, text: &str, field: &str) -> Result<Holder> {
    if text == "pool" {
        return Ok(Holder::Pool);
    }
    let code = county_for(state, caller, text, field).await?;
    let code = CountyCode::parse(&code).map_err(|e| ApiError::internal("reading a county code", e))?;
    Ok(Holder::County(code))
}

/// Loads the case for the caller (404 outside their counties) and returns its county.
async fn case_county(state: &AppState, caller: &Caller, case_id: Uuid) -> Result<CountyCode> {
    let mut conn = state.begin_for(caller).await?;
    let case = load_case(&mut conn, caller, case_id, false).await?;
    Ok(CountyCode::parse(&case.county_code).map_err(|e| ApiError::internal("reading the case county", e))?)
}

fn json_reply(status: StatusCode, body: &impl serde::Serialize) -> Result<Reply> {
    let value = serde_json::to_value(body).map_err(|e| ApiError::internal("writing the answer", e))?;
    Ok(Reply::new(status, value))
}

// ----- quota accounts -------------------------------------------------------------------

/// Query of `GET /api/v1/quotas` and `/quotas/waiting`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct YearQuery {
    /// The quota year; every year when absent.
    pub year: Option<i32>,
}

/// `GET /api/v1/quotas`: the quota accounts (officers: their counties' only).
#[utoipa::path(get, path = "/quotas", tag = "quotas", params(YearQuery), responses((status = 200, description = "Quota accounts (officers: their counties')", body = [store::Account])))]
pub async fn list_accounts(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<YearQuery>,
) -> Result<Json<Vec<store::Account>>> {
    let mut conn = state.begin_for(&caller).await?;
    let counties = caller.county_filter();
    Ok(Json(
        store::accounts(&mut conn, q.year, counties.as_deref()).await?,
    ))
}

/// `GET /api/v1/quotas/{year}/{holder}`: one account and its ledger, with its ETag.
#[utoipa::path(get, path = "/quotas/{year}/{holder}", tag = "quotas", params(("year" = i32, Path, description = "The quota year"), ("holder" = String, Path, pattern = "^(pool|[0-9]{6})$", description = "A county code, or `pool` for the city's reserve")), responses((status = 200, description = "The account and its movements", body = serde_json::Value, headers(("ETag" = String)))))]
pub async fn get_account(
    State(state): State<AppState>,
    caller: Caller,
    Path((year, holder)): Path<(i32, String)>,
) -> Result<Response> {
    let holder = holder_for(&state, &caller, &holder, "holder").await?;
    if holder == Holder::Pool && caller.role.is_county_scoped() {
        return Err(ApiError::NotFound("quota account").into());
    }
    let mut conn = state.begin_for(&caller).await?;
    let account = store::account(&mut conn, holder, year)
        .await?
        .ok_or(ApiError::NotFound("quota account"))?;
    let movements = store::movements(&mut conn, holder, year).await?;
    Ok((
        [(header::ETAG, etag_header(account.version))],
        Json(json!({ "account": account, "movements": movements })),
    )
        .into_response())
}

/// The body of `PUT /api/v1/quotas/{year}/{holder}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetYearly {
    /// The yearly amount, in mu.
    pub granted_mu: f64,
    /// Why it is set or changed.
    #[serde(default)]
    pub reason: Option<String>,
}

/// `PUT /api/v1/quotas/{year}/{holder}`: an admin sets the yearly amount. Needs `If-Match` when
/// the account exists (it opens one otherwise).
#[utoipa::path(put, path = "/quotas/{year}/{holder}", tag = "quotas", params(("year" = i32, Path, description = "The quota year"), ("holder" = String, Path, pattern = "^(pool|[0-9]{6})$", description = "A county code, or `pool` for the city's reserve"), ("If-Match" = Option<String>, Header, description = "The account's ETag; required once the account exists")), request_body = SetYearly, responses((status = 200, description = "The account", body = store::Account, headers(("ETag" = String)))))]
pub async fn set_yearly(
    State(state): State<AppState>,
    caller: Caller,
    idem: IdempotencyKey,
    Path((year_in_path, holder)): Path<(i32, String)>,
    headers: HeaderMap,
    body: JsonBody<SetYearly>,
) -> Result<Response> {
    caller.require(&[Role::Admin], "set yearly quotas")?;
    if let Some(replay) = idem.replay(&state.db, &caller, &body.digest).await? {
        return Ok(replay);
    }
    let year = year("year", year_in_path)?;
    let granted = amount("granted_mu", body.value.granted_mu)?;
    let holder = holder_for(&state, &caller, &holder, "holder").await?;
    let mut tx = state.begin_for(&caller).await?;
    if let Some(current) = store::account(&mut tx, holder, year).await? {
        require_if_match(&headers, current.version)?;
    }
    let account = store::set_yearly(
        &mut tx,
        holder,
        year,
        granted,
        Some(caller.user_id),
        body.value.reason.as_deref(),
        state.clock.now(),
    )
    .await?;
    let reply = json_reply(StatusCode::OK, &account)?.header(header::ETAG, etag_header(account.version));
    Ok(idem.finish(tx, &state.db, &caller, &body.digest, reply).await?)
}

/// The body of `POST /api/v1/quotas/transfers`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferBody {
    /// The quota year.
    pub year: i32,
    /// `pool` or a county code.
    pub from: String,
    /// `pool` or a county code.
    pub to: String,
    /// The amount, in mu.
    pub mu: f64,
    /// Why.
    pub reason: String,
}

/// `POST /api/v1/quotas/transfers`: a reviewer moves quota between a county and the pool.
#[utoipa::path(post, path = "/quotas/transfers", tag = "quotas", request_body = TransferBody, responses((status = 201, description = "The transfer", body = serde_json::Value)))]
pub async fn transfer_quota(
    State(state): State<AppState>,
    caller: Caller,
    idem: IdempotencyKey,
    body: JsonBody<TransferBody>,
) -> Result<Response> {
    caller.require(&[Role::Reviewer], "transfer quota")?;
    if let Some(replay) = idem.replay(&state.db, &caller, &body.digest).await? {
        return Ok(replay);
    }
    let b = &body.value;
    let year = year("year", b.year)?;
    let mu = amount("mu", b.mu)?;
    not_blank("reason", &b.reason)?;
    let from = holder_for(&state, &caller, &b.from, "from").await?;
    let to = holder_for(&state, &caller, &b.to, "to").await?;
    let mut tx = state.begin_for(&caller).await?;
    let transfer = store::transfer(
        &mut tx,
        year,
        from,
        to,
        mu,
        actor(&caller),
        b.reason.trim(),
        state.clock.now(),
    )
    .await?;
    let reply = json_reply(StatusCode::CREATED, &transfer)?;
    Ok(idem.finish(tx, &state.db, &caller, &body.digest, reply).await?)
}

/// `GET /api/v1/quotas/waiting`: cases waiting for quota, key projects first, each with what a
/// reviewer can do next.
#[utoipa::path(get, path = "/quotas/waiting", tag = "quotas", params(YearQuery), responses((status = 200, description = "Cases waiting for quota, key projects first", body = [store::WaitingCase])))]
pub async fn waiting(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<YearQuery>,
) -> Result<Json<Vec<store::WaitingCase>>> {
    caller.require(
        &[
            Role::Officer,
            Role::Planner,
            Role::Reviewer,
            Role::Leader,
            Role::Admin,
        ],
        "read the quota waiting list",
    )?;
    let mut conn = state.begin_for(&caller).await?;
    let counties = caller.county_filter();
    Ok(Json(
        store::waiting(&mut conn, q.year, counties.as_deref()).await?,
    ))
}

// ----- quota and cases ------------------------------------------------------------------

/// The body of `POST /api/v1/quotas/requests`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestBody {
    /// The case.
    pub case_id: Uuid,
    /// The quota year.
    pub year: i32,
    /// The amount, in mu. Leave it out to record what the case's confirmed check says it
    /// needs (its area less the part on existing construction land); a stated amount may not
    /// be less than that need. Without a confirmed check a stated amount is recorded as it is,
    /// and the conversion approval still asks that the case hold its need.
    #[serde(default)]
    #[schema(minimum = 0.01, multiple_of = 0.01)]
    pub mu: Option<f64>,
}

/// `POST /api/v1/quotas/requests`: the case's officer or a reviewer records what it needs; the
/// case then waits for quota.
#[utoipa::path(post, path = "/quotas/requests", tag = "quotas", request_body = RequestBody, responses((status = 200, description = "The recorded request", body = serde_json::Value)))]
pub async fn request_quota(
    State(state): State<AppState>,
    caller: Caller,
    idem: IdempotencyKey,
    body: JsonBody<RequestBody>,
) -> Result<Response> {
    may(&caller, LedgerAction::RequestQuota)?;
    if let Some(replay) = idem.replay(&state.db, &caller, &body.digest).await? {
        return Ok(replay);
    }
    let b = &body.value;
    let year = year("year", b.year)?;
    case_county(&state, &caller, b.case_id).await?;
    let mut tx = state.begin_for(&caller).await?;
    let mu = requested_amount(&mut tx, b.case_id, b.mu).await?;
    let recorded = store::request(&mut tx, b.case_id, year, mu, actor(&caller), state.clock.now()).await?;
    let reply = json_reply(StatusCode::OK, &recorded)?;
    Ok(idem.finish(tx, &state.db, &caller, &body.digest, reply).await?)
}

/// The body of `POST /api/v1/quotas/allocations`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AllocationBody {
    /// The case.
    pub case_id: Uuid,
    /// Record (or change) the request in the same call, for this quota year.
    #[serde(default)]
    pub year: Option<i32>,
    /// With `year`: the amount, in mu; left out, what the confirmed check says the case needs
    /// (as for `POST /quotas/requests`).
    #[serde(default)]
    #[schema(minimum = 0.01, multiple_of = 0.01)]
    pub mu: Option<f64>,
}

/// `POST /api/v1/quotas/allocations`: a reviewer allocates a case's request in full. With
/// `year` and `mu` the request is recorded first, and stays recorded when the allocation is
/// refused, so the case appears on the waiting list.
#[utoipa::path(post, path = "/quotas/allocations", tag = "quotas", request_body = AllocationBody, responses((status = 201, description = "What the case now holds", body = serde_json::Value)))]
pub async fn allocate(
    State(state): State<AppState>,
    caller: Caller,
    idem: IdempotencyKey,
    body: JsonBody<AllocationBody>,
) -> Result<Response> {
    may(&caller, LedgerAction::AllocateQuota)?;
    if let Some(replay) = idem.replay(&state.db, &caller, &body.digest).await? {
        return Ok(replay);
    }
    let b = &body.value;
    let ask = match (b.year, b.mu) {
        (Some(y), stated) => Some((year("year", y)?, stated)),
        (None, None) => None,
        (None, Some(_)) => {
            return Err(ApiError::invalid("invalid-field", "year", "give the year with mu").into());
        }
    };
    case_county(&state, &caller, b.case_id).await?;
    let now = state.clock.now();
    let mut tx = state.begin_for(&caller).await?;
    if let Some((year, stated)) = ask {
        let mu = requested_amount(&mut tx, b.case_id, stated).await?;
        store::request(&mut tx, b.case_id, year, mu, actor(&caller), now).await?;
    }
    match store::allocate(&mut tx, b.case_id, actor(&caller), now).await {
        Ok(held) => {
            let reply = json_reply(StatusCode::CREATED, &held)?;
            Ok(idem.finish(tx, &state.db, &caller, &body.digest, reply).await?)
        }
        Err(refused @ QuotaError::Db { .. }) => Err(refused.into()),
        Err(refused) => {
            // Keep the request: the case now waits, and the waiting list shows it.
            tx.commit()
                .await
                .map_err(|e| ApiError::db("committing the request", e))?;
            Err(refused.into())
        }
    }
}

/// Refuses (403) a caller whose role may never take `action`, as the domain's ledger table says,
/// before anything is loaded; the stage half is decided with the case.
fn may(caller: &Caller, action: LedgerAction) -> std::result::Result<(), ApiError> {
    rules::role_may(action, caller.role).map_err(|refusal| ApiError::Forbidden(refusal.to_string()))
}

/// The amount a quota request records: the need the case's confirmed check computes, or a
/// stated amount that is not less than it (422 naming the need); without a confirmed check, the
/// stated amount, and without either a refusal saying why the need is unknown.
async fn requested_amount(
    conn: &mut sqlx::PgConnection,
    case_id: Uuid,
    stated: Option<f64>,
) -> Result<Amount> {
    let stated = stated.map(|mu| amount("mu", mu)).transpose()?;
    let needs = offsets::confirmed_needs(conn, case_id).await?;
    let needed = needs.as_ref().ok().map(|n| n.quota_mu);
    quota::requested_amount(needed, stated).map_err(|refusal| {
        match refusal {
            RequestRefusal::NeedUnknown => ApiError::conflict(
                "quota-need-unknown",
                format!(
                    "the case's latest check is {}; {refusal}",
                    needs.err().unwrap_or("missing")
                ),
            ),
            RequestRefusal::NotNeeded => ApiError::conflict("quota-not-needed", refusal.to_string()),
            RequestRefusal::BelowNeed { .. } => ApiError::invalid("below-need", "mu", refusal.to_string()),
        }
        .into()
    })
}

/// `GET /api/v1/cases/{id}/quota`: the case's request, what it holds and its ledger entries.
#[utoipa::path(get, path = "/cases/{id}/quota", tag = "quotas", params(("id" = Uuid, Path, description = "The case id")), responses((status = 200, description = "The case's request, holding and ledger entries, with what it needs", body = CaseQuotaView)))]
pub async fn case_quota(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<Json<CaseQuotaView>> {
    case_county(&state, &caller, id).await?;
    let mut conn = state.begin_for(&caller).await?;
    let ledger = store::case_quota(&mut conn, id).await?;
    let position = guarantees::positions(&mut conn, id).await?.quota;
    Ok(Json(CaseQuotaView {
        ledger,
        shortfall_mu: position.shortfall(),
        position,
    }))
}

/// A case's quota as `GET /api/v1/cases/{id}/quota` shows it: the ledger side, and what it
/// needs against what it holds.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CaseQuotaView {
    /// The request, the holding and the ledger entries.
    #[serde(flatten)]
    pub ledger: store::CaseQuota,
    /// Needed (from the latest confirmed check), held and consumed, in mu.
    pub position: landuse_domain::ledger::QuotaPosition,
    /// How much more the case must hold before its conversion can be approved; absent while
    /// the need is unknown (no confirmed check).
    pub shortfall_mu: Option<Amount>,
}

/// The body of releases and cancellations.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    /// Why.
    pub reason: String,
}

/// `POST /api/v1/cases/{id}/quota/release`: a reviewer returns what the case holds (rejection
/// and withdrawal do this by themselves).
#[utoipa::path(post, path = "/cases/{id}/quota/release", tag = "quotas", params(("id" = Uuid, Path, description = "The case id")), request_body = ReasonBody, responses((status = 200, description = "What was released", body = serde_json::Value)))]
pub async fn release_quota(
    State(state): State<AppState>,
    caller: Caller,
    idem: IdempotencyKey,
    Path(id): Path<Uuid>,
    body: JsonBody<ReasonBody>,
) -> Result<Response> {
    may(&caller, LedgerAction::ReleaseQuota)?;
    if let Some(replay) = idem.replay(&state.db, &caller, &body.digest).await? {
        return Ok(replay);
    }
    not_blank("reason", &body.value.reason)?;
    case_county(&state, &caller, id).await?;
    let mut tx = state.begin_for(&caller).await?;
    let released = store::release(
        &mut tx,
        id,
        LedgerAction::ReleaseQuota,
        (Some(caller.user_id), caller.role),
        Some(body.value.reason.trim()),
        state.clock.now(),
    )
    .await?;
    let reply = json_reply(StatusCode::OK, &json!({ "released": released }))?;
    Ok(idem.finish(tx, &state.db, &caller, &body.digest, reply).await?)
}

/// `POST /api/v1/cases/{id}/quota/cancel`: the case's officer or a reviewer cancels the request
/// in force, so the case stops waiting.
#[utoipa::path(post, path = "/cases/{id}/quota/cancel", tag = "quotas", params(("id" = Uuid, Path, description = "The case id")), request_body = ReasonBody, responses((status = 200, description = "The cancelled request", body = serde_json::Value)))]
pub async fn cancel_request(
    State(state): State<AppState>,
    caller: Caller,
    idem: IdempotencyKey,
    Path(id): Path<Uuid>,
    body: JsonBody<ReasonBody>,
) -> Result<Response> {
    may(&caller, LedgerAction::CancelQuotaRequest)?;
    if let Some(replay) = idem.replay(&state.db, &caller, &body.digest).await? {
        return Ok(replay);
    }
    not_blank("reason", &body.value.reason)?;
    case_county(&state, &caller, id).await?;
    let mut tx = state.begin_for(&caller).await?;
    let cancelled = store::cancel_request(
        &mut tx,
        id,
        actor(&caller),
        body.value.reason.trim(),
        state.clock.now(),
    )
    .await?;
    let reply = json_reply(StatusCode::OK, &cancelled)?;
    Ok(idem.finish(tx, &state.db, &caller, &body.digest, reply).await?)
}

// ----- offsets --------------------------------------------------------------------------

/// Query of `GET /api/v1/offsets`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OffsetQuery {
    /// Only this county.
    #[param(pattern = "^[0-9]{6}$")]
    pub county: Option<String>,
    /// Only indicators with something left.
    #[serde(default)]
    pub available: bool,
}

/// `GET /api/v1/offsets`: indicators with what is left of each (officers: their counties').
#[utoipa::path(get, path = "/offsets", tag = "offsets", params(OffsetQuery), responses((status = 200, description = "Indicators with what is left of each", body = [offsets::Indicator])))]
pub async fn list_indicators(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<OffsetQuery>,
) -> Result<Json<Vec<offsets::Indicator>>> {
    let counties = match &q.county {
        Some(code) => Some(vec![county_for(&state, &caller, code, "county").await?]),
        None => caller.county_filter(),
    };
    let mut conn = state.begin_for(&caller).await?;
    Ok(Json(
        offsets::indicators(&mut conn, counties.as_deref(), q.available).await?,
    ))
}

/// The body of `POST /api/v1/offsets`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterBody {
    /// The county holding it.
    pub county_code: String,
    /// The land-improvement project.
    pub source_project: String,
    /// Its acceptance document or filing number.
    #[serde(default)]
    pub source_ref: String,
    /// Area, m².
    pub area_m2: f64,
    /// Paddy area, m².
    pub paddy_m2: f64,
    /// Grain capacity, kg.
    pub capacity_kg: f64,
}

/// `POST /api/v1/offsets`: register an indicator (officers in their counties, reviewers,
/// admins).
#[utoipa::path(post, path = "/offsets", tag = "offsets", request_body = RegisterBody, responses((status = 201, description = "The indicator", body = offsets::Indicator, headers(("ETag" = String), ("Location" = String)))))]
pub async fn register_indicator(
    State(state): State<AppState>,
    caller: Caller,
    idem: IdempotencyKey,
    body: JsonBody<RegisterBody>,
) -> Result<Response> {
    caller.require(
        &[Role::Officer, Role::Reviewer, Role::Admin],
        "register offset indicators",
    )?;
    if let Some(replay) = idem.replay(&state.db, &caller, &body.digest).await? {
        return Ok(replay);
    }
    let b = &body.value;
    let amounts = Quantities {
        area_m2: amount("area_m2", b.area_m2)?,
        paddy_m2: amount("paddy_m2", b.paddy_m2)?,
        capacity_kg: amount("capacity_kg", b.capacity_kg)?,
    };
    let county = county_for(&state, &caller, &b.county_code, "county_code").await?;
    let county = CountyCode::parse(&county).map_err(|e| ApiError::internal("reading a county code", e))?;
    let mut tx = state.begin_for(&caller).await?;
    let indicator = offsets::register(
        &mut tx,
        county,
        &b.source_project,
        &b.source_ref,
        amounts,
        actor(&caller),
        state.clock.now(),
    )
    .await?;
    let location = HeaderValue::from_str(&format!("/api/v1/offsets/{}", indicator.id))
        .map_err(|e| ApiError::internal("building the location", e))?;
    let reply = json_reply(StatusCode::CREATED, &indicator)?
        .header(header::ETAG, etag_header(indicator.version))
        .header(header::LOCATION, location);
    Ok(idem.finish(tx, &state.db, &caller, &body.digest, reply).await?)
}

async fn visible_indicator(state: &AppState, caller: &Caller, id: Uuid) -> Result<offsets::Indicator> {
    let mut conn = state.begin_for(caller).await?;
    offsets::indicator(&mut conn, id)
        .await?
        .filter(|i| caller.sees(i.county_code.as_str()))
        .ok_or_else(|| ApiError::NotFound("offset indicator").into())
}

/// `GET /api/v1/offsets/{id}`: one indicator and its ledger, with its ETag.
#[utoipa::path(get, path = "/offsets/{id}", tag = "offsets", params(("id" = Uuid, Path, description = "The indicator id")), responses((status = 200, description = "The indicator and its movements", body = serde_json::Value, headers(("ETag" = String)))))]
pub async fn get_indicator(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<Response> {
    let indicator = visible_indicator(&state, &caller, id).await?;
    let mut conn = state.begin_for(&caller).await?;
    let movements = offsets::indicator_movements(&mut conn, id).await?;
    Ok((
        [(header::ETAG, etag_header(indicator.version))],
        Json(json!({ "indicator": indicator, "movements": movements })),
    )
        .into_response())
}

/// The body of `POST /api/v1/offsets/{id}/transfers`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OffsetTransferBody {
    /// The receiving county.
    pub to_county: String,
    /// Area to move, m² (with the other two; all three absent moves everything left).
    #[serde(default)]
    pub area_m2: Option<f64>,
    /// Paddy area to move, m².
    #[serde(default)]
    pub paddy_m2: Option<f64>,
    /// Capacity to move, kg.
    #[serde(default)]
    pub capacity_kg: Option<f64>,
    /// Why.
    pub reason: String,
}

/// `POST /api/v1/offsets/{id}/transfers`: a reviewer moves (part of) an indicator to another
/// county, under `If-Match` with the indicator's ETag.
#[utoipa::path(post, path = "/offsets/{id}/transfers", tag = "offsets", params(("id" = Uuid, Path, description = "The indicator id"), ("If-Match" = String, Header, description = "The indicator's ETag")), request_body = OffsetTransferBody, responses((status = 201, description = "The transfer", body = serde_json::Value, headers(("ETag" = String)))))]
pub async fn transfer_indicator(
    State(state): State<AppState>,
    caller: Caller,
    idem: IdempotencyKey,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    body: JsonBody<OffsetTransferBody>,
) -> Result<Response> {
    caller.require(&[Role::Reviewer], "transfer offset indicators")?;
    if let Some(replay) = idem.replay(&state.db, &caller, &body.digest).await? {
        return Ok(replay);
    }
    let b = &body.value;
    not_blank("reason", &b.reason)?;
    let amounts = match (b.area_m2, b.paddy_m2, b.capacity_kg) {
        (None, None, None) => None,
        (Some(a), Some(p), Some(c)) => Some(Quantities {
            area_m2: amount("area_m2", a)?,
            paddy_m2: amount("paddy_m2", p)?,
            capacity_kg: amount("capacity_kg", c)?,
        }),
        _ => {
            return Err(ApiError::invalid(
                "invalid-field",
                "area_m2",
                "give area_m2, paddy_m2 and capacity_kg together, or none to move everything left",
            )
            .into())
        }
    };
    let current = visible_indicator(&state, &caller, id).await?;
    require_if_match(&headers, current.version)?;
    let to = county_for(&state, &caller, &b.to_county, "to_county").await?;
    let to = CountyCode::parse(&to).map_err(|e| ApiError::internal("reading a county code", e))?;
    let mut tx = state.begin_for(&caller).await?;
    let moved = offsets::transfer(
        &mut tx,
        id,
        to,
        amounts,
        actor(&caller),
        b.reason.trim(),
        state.clock.now(),
    )
    .await?;
    if moved.from.version != current.version + 1 {
        // Changed between the If-Match check and the row lock: refuse rather than act on a
        // version the client did not see.
        return Err(ApiError::PreconditionFailed {
            current: etag(moved.from.version - 1),
        }
        .into());
    }
    let reply =
        json_reply(StatusCode::CREATED, &moved)?.header(header::ETAG, etag_header(moved.from.version));
    Ok(idem.finish(tx, &state.db, &caller, &body.digest, reply).await?)
}

/// `GET /api/v1/cases/{id}/offset`: what the case locked and consumed, and what its check says
/// it needs (areas only; capacity is stated when locking).
#[utoipa::path(get, path = "/cases/{id}/offset", tag = "offsets", params(("id" = Uuid, Path, description = "The case id")), responses((status = 200, description = "What the case locked and consumed, and what its check says it needs", body = serde_json::Value)))]
pub async fn case_offset(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<Json<Value>> {
    case_county(&state, &caller, id).await?;
    let mut conn = state.begin_for(&caller).await?;
    let held = offsets::case_offset(&mut conn, id).await?;
    let needs = match offsets::needs_from_check(&mut conn, id, Amount::ZERO).await {
        Ok((_, q)) => json!({ "area_m2": q.area_m2, "paddy_m2": q.paddy_m2 }),
        Err(OffsetError::Db { doing, source }) => return Err(ApiError::db(doing, source).into()),
        Err(other) => json!({ "unavailable": other.to_string() }),
    };
    let position = guarantees::positions(&mut conn, id).await?.offset;
    Ok(Json(json!({
        "needed": position.needed,
        "shortfalls": position.shortfalls(),
        "locked": held.locked,
        "consumed": held.consumed,
        "in_place": held.in_place(),
        "lines": held.lines,
        "movements": held.movements,
        "needs_from_check": needs,
    })))
}

/// The body of `POST /api/v1/cases/{id}/offset/lock`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LockBody {
    /// The grain capacity the cultivated land produces, kg (from the land-quality grading).
    pub capacity_kg: f64,
}

/// `POST /api/v1/cases/{id}/offset/lock`: a reviewer locks indicators covering the case's
/// cultivated and paddy areas (from its confirmed check) and the stated capacity.
#[utoipa::path(post, path = "/cases/{id}/offset/lock", tag = "offsets", params(("id" = Uuid, Path, description = "The case id")), request_body = LockBody, responses((status = 201, description = "The lock", body = serde_json::Value)))]
pub async fn lock_offset(
    State(state): State<AppState>,
    caller: Caller,
    idem: IdempotencyKey,
    Path(id): Path<Uuid>,
    body: JsonBody<LockBody>,
) -> Result<Response> {
    may(&caller, LedgerAction::LockOffset)?;
    if let Some(replay) = idem.replay(&state.db, &caller, &body.digest).await? {
        return Ok(replay);
    }
    let capacity = amount("capacity_kg", body.value.capacity_kg)?;
    case_county(&state, &caller, id).await?;
    let mut tx = state.begin_for(&caller).await?;
    let (check_id, needs) = offsets::needs_from_check(&mut tx, id, capacity).await?;
    let locked = offsets::lock(&mut tx, id, check_id, needs, actor(&caller), state.clock.now()).await?;
    let reply = json_reply(StatusCode::CREATED, &locked)?;
    Ok(idem.finish(tx, &state.db, &caller, &body.digest, reply).await?)
}

/// `POST /api/v1/cases/{id}/offset/release`: a reviewer returns the case's outstanding lock.
#[utoipa::path(post, path = "/cases/{id}/offset/release", tag = "offsets", params(("id" = Uuid, Path, description = "The case id")), request_body = ReasonBody, responses((status = 200, description = "What was released", body = serde_json::Value)))]
pub async fn release_offset(
    State(state): State<AppState>,
    caller: Caller,
    idem: IdempotencyKey,
    Path(id): Path<Uuid>,
    body: JsonBody<ReasonBody>,
) -> Result<Response> {
    may(&caller, LedgerAction::ReleaseOffset)?;
    if let Some(replay) = idem.replay(&state.db, &caller, &body.digest).await? {
        return Ok(replay);
    }
    not_blank("reason", &body.value.reason)?;
    case_county(&state, &caller, id).await?;
    let mut tx = state.begin_for(&caller).await?;
    let released = offsets::release(
        &mut tx,
        id,
        LedgerAction::ReleaseOffset,
        (Some(caller.user_id), caller.role),
        Some(body.value.reason.trim()),
        state.clock.now(),
    )
    .await?;
    let reply = json_reply(StatusCode::OK, &json!({ "released": released }))?;
    Ok(idem.finish(tx, &state.db, &caller, &body.digest, reply).await?)
}

/// `POST /api/v1/cases/{id}/offset/consume`: a reviewer uses up the lock once the conversion is
/// approved.
#[utoipa::path(post, path = "/cases/{id}/offset/consume", tag = "offsets", params(("id" = Uuid, Path, description = "The case id")), responses((status = 200, description = "What was used up", body = serde_json::Value)))]
pub async fn consume_offset(
    State(state): State<AppState>,
    caller: Caller,
    idem: IdempotencyKey,
    Path(id): Path<Uuid>,
) -> Result<Response> {
    may(&caller, LedgerAction::ConsumeOffset)?;
    let digest = crate::http::idempotency::NO_BODY;
    if let Some(replay) = idem.replay(&state.db, &caller, &digest).await? {
        return Ok(replay);
    }
    case_county(&state, &caller, id).await?;
    let mut tx = state.begin_for(&caller).await?;
    let consumed = offsets::consume(&mut tx, id, actor(&caller), state.clock.now()).await?;
    let reply = json_reply(StatusCode::OK, &consumed)?;
    Ok(idem.finish(tx, &state.db, &caller, &digest, reply).await?)
}

// ----- starts and the report ------------------------------------------------------------

/// The body of `POST /api/v1/projects/{id}/start`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartBody {
    /// The day works started (the bureau's date), not after today.
    pub started_on: NaiveDate,
}

/// `POST /api/v1/projects/{id}/start`: record a key project's actual start, under `If-Match`
/// with the project's ETag (officers of its county, reviewers, leaders).
#[utoipa::path(post, path = "/projects/{id}/start", tag = "projects", params(("id" = Uuid, Path, description = "The project id"), ("If-Match" = String, Header, description = "The project's ETag")), request_body = StartBody, responses((status = 200, description = "The project with its start", body = serde_json::Value, headers(("ETag" = String)))))]
pub async fn record_start(
    State(state): State<AppState>,
    caller: Caller,
    idem: IdempotencyKey,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    body: JsonBody<StartBody>,
) -> Result<Response> {
    caller.require(
        &[Role::Officer, Role::Reviewer, Role::Leader],
        "record a project's start",
    )?;
    if let Some(replay) = idem.replay(&state.db, &caller, &body.digest).await? {
        return Ok(replay);
    }
    let mut tx = state.begin_for(&caller).await?;
    let version = starts::project_county_and_version(&mut tx, id)
        .await?
        .filter(|(county, _)| caller.sees(county))
        .map(|(_, version)| version)
        .ok_or(ApiError::NotFound("project"))?;
    require_if_match(&headers, version)?;
    let now = state.clock.now();
    let recorded = starts::record_start(
        &mut tx,
        id,
        body.value.started_on,
        Some(version),
        actor(&caller),
        bureau_date(now),
        now,
    )
    .await?;
    let reply = json_reply(StatusCode::OK, &recorded)?.header(header::ETAG, etag_header(recorded.version));
    Ok(idem.finish(tx, &state.db, &caller, &body.digest, reply).await?)
}
