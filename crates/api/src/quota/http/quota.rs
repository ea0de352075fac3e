//! The construction-quota handlers: accounts and their yearly amounts, transfers with the pool,
//! the waiting list, and each case's request, allocation, release and cancellation.

use axum::{
    extract::{Path, Query, State},
    http::{header, HeaderMap, StatusCode},
    response::Response,
    Json,
};
use landuse_domain::{
    ledger::{
        quota::{self as quota_rules, RequestRefusal},
        rules::LedgerAction,
        Amount, QuotaPosition,
    },
    reason::Reason,
    role::Role,
};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{
    actor, finish, finish_with, holder_of, on_case, read_case, released_by, tagged, ReasonBody, Result,
};
use crate::{
    app::AppState,
    auth::Caller,
    http::{
        error::ApiError,
        etag::{etag_header, require_if_match},
        idempotency::Reply,
        write::{Json as Body, Write},
    },
    quota::{
        guarantees, offsets,
        quotas::{self, Account, CaseQuota, Held, Holder, Movement, QuotaRequest, Transfer, WaitingCase},
        LedgerError, Year,
    },
};

/// Query of `GET /api/v1/quotas` and `/quotas/waiting`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct YearQuery {
    /// The quota year; every year when absent.
    #[param(value_type = Option<i32>, minimum = 2000, maximum = 2100)]
    pub year: Option<crate::quota::Year>,
}

/// `GET /api/v1/quotas`: the quota accounts (officers: their counties' only).
#[utoipa::path(get, path = "/quotas", tag = "quotas", params(YearQuery), responses((status = 200, description = "Quota accounts (officers: their counties')", body = [Account])))]
#[tracing::instrument(skip_all, fields(user = %caller.name))]
pub async fn list_accounts(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<YearQuery>,
) -> Result<Json<Vec<Account>>> {
    let mut tx = state.begin_for(&caller).await?;
    let counties = caller.county_filter();
    Ok(Json(
        quotas::accounts(&mut tx, q.year.map(crate::quota::Year::get), counties.as_deref()).await?,
    ))
}

/// One quota account and its ledger.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AccountLedger {
    /// The account.
    pub account: Account,
    /// Its movements, oldest first.
    pub movements: Vec<Movement>,
}

/// `GET /api/v1/quotas/{year}/{holder}`: one account and its ledger, with its ETag.
#[utoipa::path(get, path = "/quotas/{year}/{holder}", tag = "quotas", params(("year" = i32, Path, description = "The quota year"), ("holder" = String, Path, pattern = "^(pool|[0-9]{6})$", description = "A county code, or `pool` for the city's reserve")), responses((status = 200, description = "The account and its movements", body = AccountLedger, headers(("ETag" = String)))))]
#[tracing::instrument(skip_all, fields(user = %caller.name))]
pub async fn get_account(
    State(state): State<AppState>,
    caller: Caller,
    Path((year, holder)): Path<(i32, String)>,
) -> Result<Response> {
    let holder = holder_of(&state, &caller, &holder, "holder").await?;
    if holder == Holder::Pool && caller.role.is_county_scoped() {
        return Err(ApiError::NotFound("quota account").into());
    }
    let mut tx = state.begin_for(&caller).await?;
    let account = quotas::account(&mut tx, holder, year)
        .await?
        .ok_or(ApiError::NotFound("quota account"))?;
    let movements = quotas::movements(&mut tx, holder, year).await?;
    Ok(tagged(account.version, AccountLedger { account, movements }))
}

/// The body of `PUT /api/v1/quotas/{year}/{holder}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetYearly {
    /// The yearly amount, in mu, with at most two decimals.
    #[schema(value_type = f64, minimum = 0, maximum = 999_999_999_999.99, multiple_of = 0.01)]
    pub granted_mu: Amount,
    /// Why it is set or changed: trimmed, not blank, at most 2000 characters.
    #[serde(default)]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 2000, pattern = r"\S")]
    pub reason: Option<Reason>,
}

/// `PUT /api/v1/quotas/{year}/{holder}`: an admin sets the yearly amount. Needs `If-Match` when
/// the account exists (it opens one otherwise).
#[utoipa::path(put, path = "/quotas/{year}/{holder}", tag = "quotas", params(("year" = i32, Path, minimum = 2000, maximum = 2100, description = "The quota year"), ("holder" = String, Path, pattern = "^(pool|[0-9]{6})$", description = "A county code, or `pool` for the city's reserve"), ("If-Match" = Option<String>, Header, description = "The account's ETag; required once the account exists")), request_body = SetYearly, responses((status = 200, description = "The account", body = Account, headers(("ETag" = String)))))]
#[tracing::instrument(skip_all, fields(user = %write.caller.name))]
pub async fn set_yearly(
    State(state): State<AppState>,
    Path((year, holder)): Path<(i32, String)>,
    headers: HeaderMap,
    mut write: Write<Body<SetYearly>>,
) -> Result<Response> {
    write.caller.require(&[Role::Admin], "set yearly quotas")?;
    let year = Year::parse(year).map_err(|e| ApiError::invalid("invalid-field", "year", e.to_string()))?;
    let holder = holder_of(&state, &write.caller, &holder, "holder").await?;
    if let Some(current) = quotas::account(&mut write.tx, holder, year.get()).await? {
        require_if_match(&headers, current.version)?;
    }
    let body = &write.body.0;
    let reason = body.reason.as_ref().map(Reason::as_str);
    let (by, now) = (Some(write.caller.user_id), write.now);
    let account = quotas::set_yearly(
        &mut write.tx,
        holder,
        year.get(),
        body.granted_mu,
        by,
        reason,
        now,
    )
    .await?;
    let reply = Reply::json(StatusCode::OK, &account)?.header(header::ETAG, etag_header(account.version));
    finish_with(write, reply).await
}

/// The body of `POST /api/v1/quotas/transfers`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferBody {
    /// The quota year.
    #[schema(value_type = i32, minimum = 2000, maximum = 2100)]
    pub year: Year,
    /// Where from: `pool` or a county code (one of them must be the pool).
    #[schema(pattern = "^(pool|[0-9]{6})$")]
    pub from: String,
    /// Where to: `pool` or a county code.
    #[schema(pattern = "^(pool|[0-9]{6})$")]
    pub to: String,
    /// The amount, in mu, more than zero, with at most two decimals.
    #[schema(value_type = f64, minimum = 0.01, maximum = 999_999_999_999.99, multiple_of = 0.01)]
    pub mu: Amount,
    /// Why: trimmed, not blank, at most 2000 characters.
    #[schema(value_type = String, min_length = 1, max_length = 2000, pattern = r"\S")]
    pub reason: Reason,
}

/// `POST /api/v1/quotas/transfers`: a reviewer moves quota between a county and the pool.
#[utoipa::path(post, path = "/quotas/transfers", tag = "quotas", request_body = TransferBody, responses((status = 201, description = "Both entries of the transfer", body = Transfer)))]
#[tracing::instrument(skip_all, fields(user = %write.caller.name))]
pub async fn transfer_quota(
    State(state): State<AppState>,
    mut write: Write<Body<TransferBody>>,
) -> Result<Response> {
    write.caller.require(&[Role::Reviewer], "transfer quota")?;
    let from = holder_of(&state, &write.caller, &write.body.0.from, "from").await?;
    let to = holder_of(&state, &write.caller, &write.body.0.to, "to").await?;
    let (who, now, b) = (actor(&write.caller), write.now, &write.body.0);
    let transfer = quotas::transfer(
        &mut write.tx,
        b.year.get(),
        from,
        to,
        b.mu,
        who,
        b.reason.as_str(),
        now,
    )
    .await?;
    finish(write, StatusCode::CREATED, &transfer).await
}

/// `GET /api/v1/quotas/waiting`: cases waiting for quota, key projects first, each with what a
/// reviewer can do next.
#[utoipa::path(get, path = "/quotas/waiting", tag = "quotas", params(YearQuery), responses((status = 200, description = "Cases waiting for quota, key projects first", body = [WaitingCase])))]
#[tracing::instrument(skip_all, fields(user = %caller.name))]
pub async fn waiting(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<YearQuery>,
) -> Result<Json<Vec<WaitingCase>>> {
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
    let mut tx = state.begin_for(&caller).await?;
    let counties = caller.county_filter();
    Ok(Json(
        quotas::waiting(&mut tx, q.year.map(crate::quota::Year::get), counties.as_deref()).await?,
    ))
}

/// The body of `POST /api/v1/quotas/requests`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestBody {
    /// The case.
    pub case_id: Uuid,
    /// The quota year.
    #[schema(value_type = i32, minimum = 2000, maximum = 2100)]
    pub year: Year,
    /// The amount, in mu. Leave it out to record what the case's confirmed check says it
    /// needs (its area less the part on existing construction land); a stated amount may not
    /// be less than that need. Without a confirmed check a stated amount is recorded as it is,
    /// and the conversion approval still asks that the case hold its need.
    #[serde(default)]
    #[schema(value_type = Option<f64>, minimum = 0.01, maximum = 999_999_999_999.99, multiple_of = 0.01)]
    pub mu: Option<Amount>,
}

/// `POST /api/v1/quotas/requests`: the case's officer or a reviewer records what it needs; the
/// case then waits for quota.
#[utoipa::path(post, path = "/quotas/requests", tag = "quotas", request_body = RequestBody, responses((status = 200, description = "The recorded request", body = QuotaRequest)))]
#[tracing::instrument(skip_all, fields(user = %write.caller.name))]
pub async fn request_quota(mut write: Write<Body<RequestBody>>) -> Result<Response> {
    let RequestBody { case_id, year, mu } = write.body.0;
    on_case(&mut write, case_id, LedgerAction::RequestQuota).await?;
    let mu = requested_amount(&mut write.tx, case_id, mu).await?;
    let recorded = quotas::request(
        &mut write.tx,
        case_id,
        year.get(),
        mu,
        actor(&write.caller),
        write.now,
    )
    .await?;
    finish(write, StatusCode::OK, &recorded).await
}

/// The body of `POST /api/v1/quotas/allocations`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AllocationBody {
    /// The case.
    pub case_id: Uuid,
    /// Record (or change) the request in the same call, for this quota year.
    #[serde(default)]
    #[schema(value_type = Option<i32>, minimum = 2000, maximum = 2100)]
    pub year: Option<Year>,
    /// With `year` only: the amount, in mu; left out, what the confirmed check says the case
    /// needs (as for `POST /quotas/requests`).
    #[serde(default)]
    #[schema(value_type = Option<f64>, minimum = 0.01, maximum = 999_999_999_999.99, multiple_of = 0.01)]
    pub mu: Option<Amount>,
}

/// `POST /api/v1/quotas/allocations`: a reviewer allocates a case's request in full. With
/// `year` (and `mu`) the request is recorded first, and stays recorded when the allocation is
/// refused, so the case appears on the waiting list.
#[utoipa::path(post, path = "/quotas/allocations", tag = "quotas", request_body = AllocationBody, responses((status = 201, description = "What the case now holds", body = Held)))]
#[tracing::instrument(skip_all, fields(user = %write.caller.name))]
pub async fn allocate(mut write: Write<Body<AllocationBody>>) -> Result<Response> {
    let AllocationBody { case_id, year, mu } = write.body.0;
    on_case(&mut write, case_id, LedgerAction::AllocateQuota).await?;
    if year.is_none() && mu.is_some() {
        return Err(ApiError::invalid("invalid-field", "year", "give the year with mu").into());
    }
    let (who, now) = (actor(&write.caller), write.now);
    if let Some(year) = year {
        let mu = requested_amount(&mut write.tx, case_id, mu).await?;
        quotas::request(&mut write.tx, case_id, year.get(), mu, who, now).await?;
    }
    match quotas::allocate(&mut write.tx, case_id, who, now).await {
        Ok(held) => finish(write, StatusCode::CREATED, &held).await,
        Err(failure @ LedgerError::Db(_)) => Err(failure.into()),
        Err(refused) => {
            // Keep the request: the case now waits, and the waiting list shows it.
            write
                .tx
                .commit()
                .await
                .map_err(|e| ApiError::db("committing the request", e))?;
            Err(refused.into())
        }
    }
}

/// The amount a quota request records: the need the case's confirmed check computes, or a
/// stated amount that is not less than it (422 naming the need); without a confirmed check, the
/// stated amount, and without either a refusal saying why the need is unknown.
async fn requested_amount(conn: &mut PgConnection, case_id: Uuid, stated: Option<Amount>) -> Result<Amount> {
    let needs = offsets::confirmed_needs(conn, case_id).await?;
    let needed = needs.as_ref().ok().map(|n| n.quota_mu);
    let refused = |refusal: RequestRefusal| match refusal {
        RequestRefusal::NeedUnknown => ApiError::conflict(
            "quota-need-unknown",
            format!(
                "the case's latest check is {}; {refusal}",
                needs.err().unwrap_or("missing")
            ),
        ),
        RequestRefusal::NotNeeded => ApiError::conflict("quota-not-needed", refusal.to_string()),
        RequestRefusal::BelowNeed { .. } => ApiError::invalid("below-need", "mu", refusal.to_string()),
    };
    Ok(quota_rules::requested_amount(needed, stated).map_err(refused)?)
}

/// A case's quota as `GET /api/v1/cases/{id}/quota` shows it: the ledger side, and what it
/// needs against what it holds.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CaseQuotaView {
    /// The request, the holding and the ledger entries.
    #[serde(flatten)]
    pub ledger: CaseQuota,
    /// Needed (from the latest confirmed check), held and consumed, in mu.
    pub position: QuotaPosition,
    /// How much more the case must hold before its conversion can be approved, in mu; absent
    /// while the need is unknown (no confirmed check).
    pub shortfall_mu: Option<Amount>,
}

/// `GET /api/v1/cases/{id}/quota`: the case's request, what it holds and its ledger entries.
#[utoipa::path(get, path = "/cases/{id}/quota", tag = "quotas", params(("id" = Uuid, Path, description = "The case id")), responses((status = 200, description = "The case's request, holding and ledger entries, with what it needs", body = CaseQuotaView)))]
#[tracing::instrument(skip_all, fields(user = %caller.name, case = %id))]
pub async fn case_quota(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<Json<CaseQuotaView>> {
    let mut tx = read_case(&state, &caller, id).await?;
    let ledger = quotas::case_quota(&mut tx, id).await?;
    let position = guarantees::positions(&mut tx, id).await?.quota;
    Ok(Json(CaseQuotaView {
        ledger,
        shortfall_mu: position.shortfall(),
        position,
    }))
}

/// What a release gave back.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct QuotaReleased {
    /// The `release` entry; absent when the case held nothing (releasing twice is harmless).
    pub released: Option<Movement>,
}

/// `POST /api/v1/cases/{id}/quota/release`: a reviewer returns what the case holds (rejection
/// and withdrawal do this by themselves).
#[utoipa::path(post, path = "/cases/{id}/quota/release", tag = "quotas", params(("id" = Uuid, Path, description = "The case id")), request_body = ReasonBody, responses((status = 200, description = "What was released", body = QuotaReleased)))]
#[tracing::instrument(skip_all, fields(user = %write.caller.name, case = %id))]
pub async fn release_quota(Path(id): Path<Uuid>, mut write: Write<Body<ReasonBody>>) -> Result<Response> {
    on_case(&mut write, id, LedgerAction::ReleaseQuota).await?;
    let release = released_by(
        &write.caller,
        LedgerAction::ReleaseQuota,
        &write.body.0,
        write.now,
    );
    let released = quotas::release(&mut write.tx, id, &release).await?;
    finish(write, StatusCode::OK, &QuotaReleased { released }).await
}

/// `POST /api/v1/cases/{id}/quota/cancel`: the case's officer or a reviewer cancels the request
/// in force, so the case stops waiting.
#[utoipa::path(post, path = "/cases/{id}/quota/cancel", tag = "quotas", params(("id" = Uuid, Path, description = "The case id")), request_body = ReasonBody, responses((status = 200, description = "The cancellation, as the request row it appended", body = QuotaRequest)))]
#[tracing::instrument(skip_all, fields(user = %write.caller.name, case = %id))]
pub async fn cancel_request(Path(id): Path<Uuid>, mut write: Write<Body<ReasonBody>>) -> Result<Response> {
    on_case(&mut write, id, LedgerAction::CancelQuotaRequest).await?;
    let (who, now, reason) = (actor(&write.caller), write.now, &write.body.0.reason);
    let cancelled = quotas::cancel_request(&mut write.tx, id, who, reason.as_str(), now).await?;
    finish(write, StatusCode::OK, &cancelled).await
}
