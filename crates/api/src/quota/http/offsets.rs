//! The farmland-offset handlers: indicators (register, read, transfer to another county) and
//! each case's lock, release and consumption.

use axum::{
    extract::{Path, Query, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::Response,
    Json,
};
use landuse_domain::{
    ledger::{rules::LedgerAction, Amount, Quantities, Shortfall},
    reason::Reason,
    role::Role,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    actor, county_of, finish, finish_with, on_case, read_case, released_by, tagged, ReasonBody, Result,
};
use crate::{
    app::AppState,
    auth::Caller,
    http::{
        error::ApiError,
        etag::{etag, etag_header, require_if_match},
        idempotency::Reply,
        write::{Json as Body, Write},
    },
    quota::{
        guarantees,
        offsets::{self, CaseOffset, Indicator, LockLine, NewIndicatorOf, OffsetMovement, OffsetTransfer},
        LedgerError,
    },
};

/// Query of `GET /api/v1/offsets`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OffsetQuery {
    /// Only this county (its code or an older alias).
    #[param(pattern = "^[0-9]{6}$")]
    pub county: Option<String>,
    /// Only indicators with something left.
    #[serde(default)]
    pub available: bool,
}

/// `GET /api/v1/offsets`: indicators with what is left of each (officers: their counties').
#[utoipa::path(get, path = "/offsets", tag = "offsets", params(OffsetQuery), responses((status = 200, description = "Indicators with what is left of each", body = [Indicator])))]
#[tracing::instrument(skip_all, fields(user = %caller.name))]
pub async fn list_indicators(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<OffsetQuery>,
) -> Result<Json<Vec<Indicator>>> {
    let counties = match &q.county {
        Some(code) => Some(vec![county_of(&state, &caller, code, "county")
            .await?
            .as_str()
            .to_owned()]),
        None => caller.county_filter(),
    };
    let mut tx = state.begin_for(&caller).await?;
    Ok(Json(
        offsets::indicators(&mut tx, counties.as_deref(), q.available).await?,
    ))
}

/// The body of `POST /api/v1/offsets`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterBody {
    /// The county holding it (its code or an older alias).
    #[schema(pattern = "^[0-9]{6}$")]
    pub county_code: String,
    /// The land-improvement project it comes from.
    #[schema(min_length = 1, pattern = r"\S")]
    pub source_project: String,
    /// Its acceptance document or filing number.
    #[serde(default)]
    pub source_ref: String,
    /// Area, m², more than zero, with at most two decimals.
    #[schema(value_type = f64, minimum = 0.01, maximum = 999_999_999_999.99, multiple_of = 0.01)]
    pub area_m2: Amount,
    /// Paddy area, m², part of the area (not more than it).
    #[schema(value_type = f64, minimum = 0, maximum = 999_999_999_999.99, multiple_of = 0.01)]
    pub paddy_m2: Amount,
    /// Grain capacity, kg.
    #[schema(value_type = f64, minimum = 0, maximum = 999_999_999_999.99, multiple_of = 0.01)]
    pub capacity_kg: Amount,
}

/// `POST /api/v1/offsets`: register an indicator (officers in their counties, reviewers,
/// admins).
#[utoipa::path(post, path = "/offsets", tag = "offsets", request_body = RegisterBody, responses((status = 201, description = "The indicator", body = Indicator, headers(("ETag" = String), ("Location" = String)))))]
#[tracing::instrument(skip_all, fields(user = %write.caller.name))]
pub async fn register_indicator(
    State(state): State<AppState>,
    mut write: Write<Body<RegisterBody>>,
) -> Result<Response> {
    write.caller.require(
        &[Role::Officer, Role::Reviewer, Role::Admin],
        "register offset indicators",
    )?;
    let b = &write.body.0;
    let new = NewIndicatorOf {
        county: county_of(&state, &write.caller, &b.county_code, "county_code").await?,
        source_project: &b.source_project,
        source_ref: &b.source_ref,
        amounts: Quantities {
            area_m2: b.area_m2,
            paddy_m2: b.paddy_m2,
            capacity_kg: b.capacity_kg,
        },
    };
    let indicator = offsets::register(&mut write.tx, &new, actor(&write.caller), write.now).await?;
    let location = HeaderValue::from_str(&format!("/api/v1/offsets/{}", indicator.id))
        .map_err(|e| ApiError::internal("building the location", e))?;
    let reply = Reply::json(StatusCode::CREATED, &indicator)?
        .header(header::ETAG, etag_header(indicator.version))
        .header(header::LOCATION, location);
    finish_with(write, reply).await
}

/// The indicator, when the caller's counties hold it (404 otherwise).
async fn visible_indicator(state: &AppState, caller: &Caller, id: Uuid) -> Result<Indicator> {
    let mut tx = state.begin_for(caller).await?;
    Ok(offsets::indicator(&mut tx, id)
        .await?
        .filter(|i| caller.sees(i.county_code.as_str()))
        .ok_or(ApiError::NotFound("offset indicator"))?)
}

/// One indicator and its ledger.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IndicatorLedger {
    /// The indicator, with what is left of it.
    pub indicator: Indicator,
    /// Its movements, oldest first.
    pub movements: Vec<OffsetMovement>,
}

/// `GET /api/v1/offsets/{id}`: one indicator and its ledger, with its ETag.
#[utoipa::path(get, path = "/offsets/{id}", tag = "offsets", params(("id" = Uuid, Path, description = "The indicator id")), responses((status = 200, description = "The indicator and its movements", body = IndicatorLedger, headers(("ETag" = String)))))]
#[tracing::instrument(skip_all, fields(user = %caller.name, indicator = %id))]
pub async fn get_indicator(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<Response> {
    let indicator = visible_indicator(&state, &caller, id).await?;
    let mut tx = state.begin_for(&caller).await?;
    let movements = offsets::indicator_movements(&mut tx, id).await?;
    Ok(tagged(
        indicator.version,
        IndicatorLedger { indicator, movements },
    ))
}

/// The body of `POST /api/v1/offsets/{id}/transfers`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OffsetTransferBody {
    /// The receiving county (its code or an older alias).
    #[schema(pattern = "^[0-9]{6}$")]
    pub to_county: String,
    /// Area to move, m², more than zero (with the other two; all three absent moves everything
    /// left).
    #[serde(default)]
    #[schema(value_type = Option<f64>, minimum = 0.01, maximum = 999_999_999_999.99, multiple_of = 0.01)]
    pub area_m2: Option<Amount>,
    /// Paddy area to move, m², not more than the area.
    #[serde(default)]
    #[schema(value_type = Option<f64>, minimum = 0, maximum = 999_999_999_999.99, multiple_of = 0.01)]
    pub paddy_m2: Option<Amount>,
    /// Capacity to move, kg.
    #[serde(default)]
    #[schema(value_type = Option<f64>, minimum = 0, maximum = 999_999_999_999.99, multiple_of = 0.01)]
    pub capacity_kg: Option<Amount>,
    /// Why: trimmed, not blank, at most 2000 characters.
    #[schema(value_type = String, min_length = 1, max_length = 2000, pattern = r"\S")]
    pub reason: Reason,
}

impl OffsetTransferBody {
    /// The amounts to move: all three, or none for everything the indicator has left.
    fn amounts(&self) -> Result<Option<Quantities>, ApiError> {
        match (self.area_m2, self.paddy_m2, self.capacity_kg) {
            (None, None, None) => Ok(None),
            (Some(area_m2), Some(paddy_m2), Some(capacity_kg)) => Ok(Some(Quantities {
                area_m2,
                paddy_m2,
                capacity_kg,
            })),
            _ => Err(ApiError::invalid(
                "invalid-field",
                "area_m2",
                "give area_m2, paddy_m2 and capacity_kg together, or none to move everything left",
            )),
        }
    }
}

/// `POST /api/v1/offsets/{id}/transfers`: a reviewer moves (part of) an indicator to another
/// county, under `If-Match` with the indicator's ETag.
#[utoipa::path(post, path = "/offsets/{id}/transfers", tag = "offsets", params(("id" = Uuid, Path, description = "The indicator id"), ("If-Match" = String, Header, description = "The indicator's ETag")), request_body = OffsetTransferBody, responses((status = 201, description = "The indicator given from and the new one", body = OffsetTransfer, headers(("ETag" = String)))))]
#[tracing::instrument(skip_all, fields(user = %write.caller.name, indicator = %id))]
pub async fn transfer_indicator(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    mut write: Write<Body<OffsetTransferBody>>,
) -> Result<Response> {
    write
        .caller
        .require(&[Role::Reviewer], "transfer offset indicators")?;
    // The whole body is checked before the precondition: a body the contract refuses is a 422
    // whatever the ETag, and a stale ETag is only reported for a request that could have run.
    let amounts = write.body.0.amounts()?;
    let to = county_of(&state, &write.caller, &write.body.0.to_county, "to_county").await?;
    let current = visible_indicator(&state, &write.caller, id).await?;
    require_if_match(&headers, current.version)?;
    let (who, now, reason) = (actor(&write.caller), write.now, &write.body.0.reason);
    let moved = offsets::transfer(&mut write.tx, id, to, amounts, who, reason.as_str(), now).await?;
    if moved.from.version != current.version + 1 {
        // Changed between the If-Match check and the row lock: refuse rather than act on a
        // version the client did not see.
        return Err(ApiError::PreconditionFailed {
            current: etag(moved.from.version - 1),
        }
        .into());
    }
    let reply =
        Reply::json(StatusCode::CREATED, &moved)?.header(header::ETAG, etag_header(moved.from.version));
    finish_with(write, reply).await
}

/// What a case's confirmed check measures for its offset, or why nothing is measured.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum NeedsFromCheck {
    /// The cultivated and paddy area of the latest confirmed check (dismissals applied).
    Measured {
        /// Cultivated area, m².
        #[schema(value_type = f64)]
        area_m2: Amount,
        /// Paddy area, m².
        #[schema(value_type = f64)]
        paddy_m2: Amount,
    },
    /// Why there is no measure: no confirmed, current check, or no cultivated land in it.
    Unavailable {
        /// The reason, for a person.
        unavailable: String,
    },
}

/// A case's offset as `GET /api/v1/cases/{id}/offset` shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CaseOffsetView {
    /// What the lock must cover: the confirmed check's areas with the capacity stated at the
    /// lock; `null` until both are known.
    pub needed: Option<Quantities>,
    /// What the lock (with what is consumed) leaves short of that need; `null` while it is
    /// unknown.
    pub shortfalls: Option<Vec<Shortfall>>,
    /// Locked and not yet released or consumed, in total.
    pub locked: Quantities,
    /// Consumed by the approved conversion, in total.
    pub consumed: Quantities,
    /// Whether the offset is in place (locked or consumed): the stage rules' fact.
    pub in_place: bool,
    /// Per indicator.
    pub lines: Vec<LockLine>,
    /// The case's ledger entries, oldest first.
    pub movements: Vec<OffsetMovement>,
    /// What the latest confirmed check measures (areas only: capacity is stated when locking).
    pub needs_from_check: NeedsFromCheck,
}

/// `GET /api/v1/cases/{id}/offset`: what the case locked and consumed, and what its check says
/// it needs (areas only; capacity is stated when locking).
#[utoipa::path(get, path = "/cases/{id}/offset", tag = "offsets", params(("id" = Uuid, Path, description = "The case id")), responses((status = 200, description = "What the case locked and consumed, and what its check says it needs", body = CaseOffsetView)))]
#[tracing::instrument(skip_all, fields(user = %caller.name, case = %id))]
pub async fn case_offset(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<Json<CaseOffsetView>> {
    let mut tx = read_case(&state, &caller, id).await?;
    let held: CaseOffset = offsets::case_offset(&mut tx, id).await?;
    let needs_from_check = match offsets::needs_from_check(&mut tx, id, Amount::ZERO).await {
        Ok((_, q)) => NeedsFromCheck::Measured {
            area_m2: q.area_m2,
            paddy_m2: q.paddy_m2,
        },
        Err(failure @ LedgerError::Db(_)) => return Err(failure.into()),
        Err(other) => NeedsFromCheck::Unavailable {
            unavailable: other.to_string(),
        },
    };
    let position = guarantees::positions(&mut tx, id).await?.offset;
    Ok(Json(CaseOffsetView {
        needed: position.needed,
        shortfalls: position.shortfalls(),
        in_place: held.in_place(),
        locked: held.locked,
        consumed: held.consumed,
        lines: held.lines,
        movements: held.movements,
        needs_from_check,
    }))
}

/// The body of `POST /api/v1/cases/{id}/offset/lock`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LockBody {
    /// The grain capacity the cultivated land produces, kg (from the land-quality grading).
    #[schema(value_type = f64, minimum = 0, maximum = 999_999_999_999.99, multiple_of = 0.01)]
    pub capacity_kg: Amount,
}

/// `POST /api/v1/cases/{id}/offset/lock`: a reviewer locks indicators covering the case's
/// cultivated and paddy areas (from its confirmed check) and the stated capacity.
#[utoipa::path(post, path = "/cases/{id}/offset/lock", tag = "offsets", params(("id" = Uuid, Path, description = "The case id")), request_body = LockBody, responses((status = 201, description = "The case's offset after the lock", body = CaseOffset)))]
#[tracing::instrument(skip_all, fields(user = %write.caller.name, case = %id))]
pub async fn lock_offset(Path(id): Path<Uuid>, mut write: Write<Body<LockBody>>) -> Result<Response> {
    on_case(&mut write, id, LedgerAction::LockOffset).await?;
    let (check_id, needs) = offsets::needs_from_check(&mut write.tx, id, write.body.0.capacity_kg).await?;
    let locked = offsets::lock(
        &mut write.tx,
        id,
        check_id,
        needs,
        actor(&write.caller),
        write.now,
    )
    .await?;
    finish(write, StatusCode::CREATED, &locked).await
}

/// What an offset release gave back.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OffsetReleased {
    /// The quantities returned to the indicators; absent when nothing was locked.
    pub released: Option<Quantities>,
}

/// `POST /api/v1/cases/{id}/offset/release`: a reviewer returns the case's outstanding lock.
#[utoipa::path(post, path = "/cases/{id}/offset/release", tag = "offsets", params(("id" = Uuid, Path, description = "The case id")), request_body = ReasonBody, responses((status = 200, description = "What was released", body = OffsetReleased)))]
#[tracing::instrument(skip_all, fields(user = %write.caller.name, case = %id))]
pub async fn release_offset(Path(id): Path<Uuid>, mut write: Write<Body<ReasonBody>>) -> Result<Response> {
    on_case(&mut write, id, LedgerAction::ReleaseOffset).await?;
    let release = released_by(
        &write.caller,
        LedgerAction::ReleaseOffset,
        &write.body.0,
        write.now,
    );
    let released = offsets::release(&mut write.tx, id, &release).await?;
    finish(write, StatusCode::OK, &OffsetReleased { released }).await
}

/// `POST /api/v1/cases/{id}/offset/consume`: a reviewer uses up the lock once the conversion is
/// approved.
#[utoipa::path(post, path = "/cases/{id}/offset/consume", tag = "offsets", params(("id" = Uuid, Path, description = "The case id")), responses((status = 200, description = "The case's offset after the consumption", body = CaseOffset)))]
#[tracing::instrument(skip_all, fields(user = %write.caller.name, case = %id))]
pub async fn consume_offset(
    Path(id): Path<Uuid>,
    mut write: Write<crate::http::write::NoBody>,
) -> Result<Response> {
    on_case(&mut write, id, LedgerAction::ConsumeOffset).await?;
    let consumed = offsets::consume(&mut write.tx, id, actor(&write.caller), write.now).await?;
    finish(write, StatusCode::OK, &consumed).await
}
