//! What follows a supply, one request each: the handover (交地), the certificate (不动产权证),
//! the start with the progress since (area developed, investment made, a halt), and the
//! completion with the indicators achieved.
//!
//! Each is a change to the part under `If-Match` with its `ETag`: the part is loaded under lock,
//! the change applied to the domain's record, the whole record checked by
//! `landuse_domain::supply::validate` at today's date (dates out of order, a certificate without
//! a handover, a start before the handover, an event dated after today: 422 naming the field,
//! nothing stored), stored with a new version, and noted in the case's history. Sending a step
//! again corrects it.

use axum::{
    extract::Path,
    http::{header, HeaderMap, StatusCode},
    response::Response,
};
use chrono::NaiveDate;
use landuse_domain::{
    calendar::bureau_date,
    ledger::Amount,
    role::Role,
    supply::{self as rules, Certificate, Development, SupplyRecordError},
};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::{
    development_columns, development_of, record::IndicatorsBody, refused_record, terms_of, view,
    SupplyPartView,
};
use crate::{
    http::{
        error::ApiError,
        etag::{etag_header, require_if_match},
        idempotency::Reply,
        write::{Json as Body, Write},
    },
    store,
    workflow::cases::{
        load_case,
        write::{record, CaseEvent},
    },
};

/// The body of `POST /api/v1/supply-parts/{id}/handover`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HandoverBody {
    /// The day the land was handed over, not before the supply decision nor after today.
    pub handed_over_on: NaiveDate,
}

/// The body of `POST /api/v1/supply-parts/{id}/certificate`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CertificateBody {
    /// The real-estate certificate's number: not blank.
    #[schema(pattern = "\\S")]
    pub number: String,
    /// The day it was issued, not after today; the land must have been handed over.
    pub issued_on: NaiveDate,
}

/// The body of `POST /api/v1/supply-parts/{id}/start`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SupplyStartBody {
    /// The day development started, not before the handover nor after today.
    pub started_on: NaiveDate,
    /// The area developed so far, in mu, not more than the part's area.
    #[schema(value_type = Option<f64>, minimum = 0, maximum = 999_999_999_999.99, multiple_of = 0.01)]
    pub developed_mu: Option<f64>,
    /// The investment made so far, in 万元.
    #[schema(value_type = Option<f64>, minimum = 0, maximum = 999_999_999_999.99, multiple_of = 0.01)]
    pub invested_wan_yuan: Option<f64>,
    /// The day development stopped, while it stays stopped; absent when it goes on.
    pub halted_since: Option<NaiveDate>,
}

/// The body of `POST /api/v1/supply-parts/{id}/completion`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompletionBody {
    /// The day the works were completed, not before the start nor after today.
    pub completed_on: NaiveDate,
    /// The standard-land indicators achieved, measured at acceptance.
    pub achieved_indicators: Option<IndicatorsBody>,
}

fn amount_field(field: &str, value: Option<f64>) -> Result<Option<Amount>, ApiError> {
    value
        .map(|v| Amount::parse(v).map_err(|e| ApiError::invalid("invalid-field", field, e.to_string())))
        .transpose()
}

/// Applies `change` to part `id` under `If-Match`, checks the whole record, stores it, notes
/// `kind` in the case's history and answers the part with its new `ETag`.
async fn follow<B>(
    id: Uuid,
    headers: &HeaderMap,
    mut write: Write<B>,
    kind: &'static str,
    change: impl FnOnce(&mut Development) -> Result<Value, ApiError>,
) -> Result<Response, ApiError> {
    write
        .caller
        .require(&[Role::Reviewer], "record what followed a land supply")?;
    let row = store::supply::load(&mut write.tx, id, true)
        .await?
        .filter(|r| write.caller.sees(&r.county_code))
        .ok_or(ApiError::NotFound("supply part"))?;
    require_if_match(headers, row.version)?;
    let terms = terms_of(&row)?;
    let mut development = development_of(&row)?;
    let details = change(&mut development)?;
    rules::validate(&terms, &development, bureau_date(write.now)).map_err(|e| refused_record(&e))?;
    store::supply::update_development(&mut write.tx, id, &development_columns(&development), write.now)
        .await?;
    let stage = load_case(&mut write.tx, &write.caller, row.case_id, false)
        .await?
        .state()?
        .stage();
    let mut data = json!({ "supply_part": id });
    if let (Some(target), Value::Object(more)) = (data.as_object_mut(), details) {
        target.extend(more);
    }
    record(&mut write, row.case_id, &CaseEvent::at(stage, kind).with(data)).await?;
    let row = store::supply::load(&mut write.tx, id, false)
        .await?
        .ok_or(ApiError::NotFound("supply part"))?;
    let reply = Reply::json(StatusCode::OK, &view(&row)?)?.header(header::ETAG, etag_header(row.version));
    write.finish(reply).await
}

/// `POST /api/v1/supply-parts/{id}/handover`: record the day the land was handed over
/// (reviewers), under `If-Match` with the part's `ETag`.
#[utoipa::path(post, path = "/supply-parts/{id}/handover", operation_id = "record_supply_handover", tag = "supply", params(("id" = Uuid, Path, description = "The supply part id"), ("If-Match" = String, Header, description = "The part's ETag")), request_body = HandoverBody, responses((status = 200, description = "The part with its handover", body = SupplyPartView, headers(("ETag" = String, description = "The part's new version")))))]
#[tracing::instrument(skip_all, fields(user = %write.caller.name, part = %id))]
pub async fn record_handover(
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    write: Write<Body<HandoverBody>>,
) -> Result<Response, ApiError> {
    let on = write.body.0.handed_over_on;
    follow(id, &headers, write, "supply_handed_over", |d| {
        d.handed_over_on = Some(on);
        Ok(json!({ "handed_over_on": on }))
    })
    .await
}

/// `POST /api/v1/supply-parts/{id}/certificate`: record the real-estate certificate
/// (reviewers), under `If-Match`; the land must have been handed over.
#[utoipa::path(post, path = "/supply-parts/{id}/certificate", operation_id = "record_supply_certificate", tag = "supply", params(("id" = Uuid, Path, description = "The supply part id"), ("If-Match" = String, Header, description = "The part's ETag")), request_body = CertificateBody, responses((status = 200, description = "The part with its certificate", body = SupplyPartView, headers(("ETag" = String, description = "The part's new version")))))]
#[tracing::instrument(skip_all, fields(user = %write.caller.name, part = %id))]
pub async fn record_certificate(
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    write: Write<Body<CertificateBody>>,
) -> Result<Response, ApiError> {
    let number = write.body.0.number.trim().to_owned();
    // A blank number is refused as the schema states it, whatever the part's ETag: the body is
    // checked before the precondition.
    if number.is_empty() {
        return Err(refused_record(&SupplyRecordError::Blank {
            field: "certificate.number",
        }));
    }
    let issued_on = write.body.0.issued_on;
    follow(id, &headers, write, "supply_certificate_issued", |d| {
        let details = json!({ "certificate": number, "issued_on": issued_on });
        d.certificate = Some(Certificate { number, issued_on });
        Ok(details)
    })
    .await
}

/// `POST /api/v1/supply-parts/{id}/start`: record the start of development and the progress
/// since (area developed, investment made, a halt), under `If-Match`; sent again, it updates
/// the progress.
#[utoipa::path(post, path = "/supply-parts/{id}/start", operation_id = "record_supply_start", tag = "supply", params(("id" = Uuid, Path, description = "The supply part id"), ("If-Match" = String, Header, description = "The part's ETag")), request_body = SupplyStartBody, responses((status = 200, description = "The part with its start", body = SupplyPartView, headers(("ETag" = String, description = "The part's new version")))))]
#[tracing::instrument(skip_all, fields(user = %write.caller.name, part = %id))]
pub async fn record_start(
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    write: Write<Body<SupplyStartBody>>,
) -> Result<Response, ApiError> {
    let body = &write.body.0;
    let started_on = body.started_on;
    let halted_since = body.halted_since;
    let developed = amount_field("developed_mu", body.developed_mu)?;
    let invested = amount_field("invested_wan_yuan", body.invested_wan_yuan)?;
    follow(id, &headers, write, "supply_started", |d| {
        d.started_on = Some(started_on);
        d.developed_mu = developed;
        d.invested_wan_yuan = invested;
        d.halted_since = halted_since;
        Ok(json!({ "started_on": started_on, "developed_mu": developed, "invested_wan_yuan": invested, "halted_since": halted_since }))
    })
    .await
}

/// `POST /api/v1/supply-parts/{id}/completion`: record the completion and the standard-land
/// indicators achieved at acceptance, under `If-Match`; development must have started.
#[utoipa::path(post, path = "/supply-parts/{id}/completion", operation_id = "record_supply_completion", tag = "supply", params(("id" = Uuid, Path, description = "The supply part id"), ("If-Match" = String, Header, description = "The part's ETag")), request_body = CompletionBody, responses((status = 200, description = "The part with its completion", body = SupplyPartView, headers(("ETag" = String, description = "The part's new version")))))]
#[tracing::instrument(skip_all, fields(user = %write.caller.name, part = %id))]
pub async fn record_completion(
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    write: Write<Body<CompletionBody>>,
) -> Result<Response, ApiError> {
    let completed_on = write.body.0.completed_on;
    let achieved = write
        .body
        .0
        .achieved_indicators
        .as_ref()
        .map(|i| i.parse("achieved_indicators"))
        .transpose()?;
    follow(id, &headers, write, "supply_completed", |d| {
        d.completed_on = Some(completed_on);
        d.achieved_indicators = achieved;
        Ok(json!({ "completed_on": completed_on, "achieved_indicators": achieved.is_some() }))
    })
    .await
}
