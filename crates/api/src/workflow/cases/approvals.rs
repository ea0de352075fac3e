//! `POST /cases/{id}/approvals`: record a decision from outside the bureau that the case's check
//! calls for (the State Council's approval, an authority's or a review opinion, the use that
//! allows land outside the urban boundary, the geohazard assessment); `GET` lists them with
//! what is still missing. The domain decides ([`approval`]): which hit calls for which kind
//! before which transition, whether a record is acceptable, which records a re-check lapses.
//!
//! The body is checked in full before `If-Match`: a schema-violating or otherwise unacceptable
//! record is a 422 naming its field whatever version the caller read, never a 412.

use std::collections::HashMap;

use axum::{
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::Response,
    Json,
};
use chrono::{DateTime, NaiveDate, Utc};
use landuse_domain::{
    approval::{self, ApprovalError, ApprovalKind, ApprovalRecord, CheckHit, FeatureRef, NewApproval},
    calendar::bureau_date,
    check::{LayerKind, LayerResult},
    stage::Stage,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{load_case, write::answer_case, CaseEvent, CaseView};
use crate::{
    app::AppState,
    auth::Caller,
    http::{
        error::ApiError,
        etag::require_if_match,
        write::{Json as Body, Write},
    },
    store::{
        self,
        approvals::{ApprovalRow, CalledHitRow},
    },
};

/// Longest document number or authority accepted, in characters.
const MAX_NAME_CHARS: usize = 200;
/// Longest conclusion accepted, in characters.
const MAX_CONCLUSION_CHARS: usize = 2000;
/// Most hits one record may answer.
const MAX_HITS: usize = 500;

/// The body of `POST /api/v1/cases/{id}/approvals`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApprovalBody {
    /// What kind of decision it is; it must be the kind each named hit calls for.
    pub kind: ApprovalKind,
    /// The document's number (文号): not blank, at most 200 characters.
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub document_number: String,
    /// The authority that decided: not blank, at most 200 characters.
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub authority: String,
    /// The day of the decision, not after today (the bureau's date).
    pub decided_on: NaiveDate,
    /// What it concluded, at most 2000 characters; required for the geohazard assessment.
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub conclusion: Option<String>,
    /// The hits of the case's latest confirmed check the record answers (their ids), 1 to 500.
    #[schema(min_items = 1, max_items = 500)]
    pub hits: Vec<Uuid>,
}

/// A feature a check hit, in a record or a missing one.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FeatureView {
    /// The layer kind's code.
    #[schema(value_type = String)]
    pub layer: LayerKind,
    /// The feature's identity in the layer (its source id when it has one; `parcel N` for the
    /// part of parcel N outside the urban boundary).
    pub feature: String,
}

impl From<&FeatureRef> for FeatureView {
    fn from(f: &FeatureRef) -> Self {
        Self {
            layer: f.layer,
            feature: f.feature.clone(),
        }
    }
}

/// An approval record as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ApprovalView {
    /// The record's id.
    pub id: Uuid,
    /// The case.
    pub case_id: Uuid,
    /// Its kind.
    pub kind: ApprovalKind,
    /// The document's number.
    pub document_number: String,
    /// The authority that decided.
    pub authority: String,
    /// The day of the decision.
    pub decided_on: NaiveDate,
    /// What it concluded.
    pub conclusion: Option<String>,
    /// The features it answers.
    pub answers: Vec<FeatureView>,
    /// The hits it was recorded against.
    pub answered_hits: Vec<Uuid>,
    /// Whether it no longer answers anything: the case's latest current check hits none of its
    /// features with the result that calls for it. Absent while the case has no current check.
    pub lapsed: Option<bool>,
    /// Who recorded it.
    pub recorded_by: Uuid,
    /// Their role.
    pub recorded_role: String,
    /// When.
    pub recorded_at: DateTime<Utc>,
}

/// A record a hit calls for and no record answers.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MissingView {
    /// The kind of record missing.
    pub kind: ApprovalKind,
    /// The hit that calls for it.
    pub hit_id: Uuid,
    /// The layer result that calls for it.
    #[schema(value_type = String)]
    pub result: LayerResult,
    /// The feature hit.
    pub feature: FeatureView,
    /// The stage the transition it blocks leaves.
    pub before_from: Stage,
    /// The stage that transition leads to.
    pub before_to: Stage,
}

/// A case's approval records and what its latest confirmed check still calls for.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct ApprovalsView {
    /// The records, in the order they were recorded.
    pub records: Vec<ApprovalView>,
    /// For each hit of the latest confirmed, current check that calls for a record, the record
    /// missing; empty without such a check.
    pub missing: Vec<MissingView>,
}

/// A case's counted hits of its latest current check, and whether that check is confirmed.
#[derive(Debug, Clone, Default)]
pub struct CaseHits {
    /// Whether the latest check is confirmed by a planner.
    pub confirmed: bool,
    /// Whether there is a latest, current check at all.
    pub current: bool,
    /// Its counted hits.
    pub hits: Vec<CheckHit>,
}

/// Reads a stored hit as the domain's; `None` for the row of a check without counted hits.
fn hit_of(row: &CalledHitRow) -> Result<Option<CheckHit>, ApiError> {
    let (Some(hit_id), Some(layer), Some(feature), Some(result), Some(dismissed)) = (
        row.hit_id,
        row.layer_kind.as_deref(),
        row.feature.as_ref(),
        row.result.as_deref(),
        row.dismissed,
    ) else {
        return Ok(None);
    };
    Ok(Some(CheckHit {
        hit_id,
        feature: FeatureRef {
            layer: LayerKind::parse(layer).map_err(|e| ApiError::internal("reading a hit's layer", e))?,
            feature: feature.clone(),
        },
        result: LayerResult::parse(result).map_err(|e| ApiError::internal("reading a hit's result", e))?,
        dismissed,
    }))
}

/// Reads a stored record as the domain's.
fn record_of(row: &ApprovalRow) -> Result<ApprovalRecord, ApiError> {
    Ok(ApprovalRecord {
        id: row.id,
        kind: ApprovalKind::parse(&row.kind).map_err(|e| ApiError::internal("reading a record's kind", e))?,
        answers: Vec::<FeatureRef>::deserialize(&row.answers)
            .map_err(|e| ApiError::internal("reading a record's answers", e))?,
    })
}

/// The latest current check's hits and the approval records of each of `case_ids`, in two
/// statements however many cases.
///
/// # Errors
/// Database failures; a corrupt stored hit or record.
pub async fn load_for(
    conn: &mut PgConnection,
    case_ids: &[Uuid],
) -> Result<HashMap<Uuid, (CaseHits, Vec<ApprovalRow>)>, ApiError> {
    let mut out: HashMap<Uuid, (CaseHits, Vec<ApprovalRow>)> = HashMap::new();
    for row in store::approvals::called_hits(conn, case_ids).await? {
        let entry = &mut out.entry(row.case_id).or_default().0;
        entry.current = true;
        entry.confirmed = row.confirmed;
        if let Some(hit) = hit_of(&row)? {
            entry.hits.push(hit);
        }
    }
    for row in store::approvals::of_cases(conn, case_ids).await? {
        out.entry(row.case_id).or_default().1.push(row);
    }
    Ok(out)
}

/// What the transition rules need: the records missing against the latest check when it is
/// confirmed and current (otherwise the check rules refuse first, and nothing is listed).
///
/// # Errors
/// A corrupt stored hit or record.
pub fn missing_of(hits: &CaseHits, rows: &[ApprovalRow]) -> Result<Vec<approval::MissingApproval>, ApiError> {
    if !(hits.current && hits.confirmed) {
        return Ok(Vec::new());
    }
    let records = rows.iter().map(record_of).collect::<Result<Vec<_>, _>>()?;
    Ok(approval::missing(&hits.hits, &records))
}

/// The codes of what each of `case_ids` still waits for, for the OGC parcels collection: the
/// kinds of record ([`approval::kinds_awaited`] of the case view's `missing`, [`missing_of`]),
/// then `overlay_query` while its check calls for an overlay answer and none is valid on
/// `today` (the case view's `overlay.missing`). A case without a confirmed, current check waits
/// for none.
///
/// # Errors
/// Database failures; a corrupt stored hit, record or query.
pub async fn awaited_for(
    conn: &mut PgConnection,
    case_ids: &[Uuid],
    today: NaiveDate,
) -> Result<HashMap<Uuid, Vec<&'static str>>, ApiError> {
    let mut queries = super::overlay::rows_for(conn, case_ids).await?;
    let mut out = HashMap::new();
    for (case_id, (hits, rows)) in load_for(conn, case_ids).await? {
        let mut codes: Vec<&'static str> = approval::kinds_awaited(&missing_of(&hits, &rows)?)
            .into_iter()
            .map(ApprovalKind::code)
            .collect();
        let queries = queries.remove(&case_id).unwrap_or_default();
        if super::overlay::gap_of(&hits, &queries, today)?.is_some() {
            codes.push(AWAITED_OVERLAY_QUERY);
        }
        out.insert(case_id, codes);
    }
    Ok(out)
}

/// The code `approvals_awaited` gives a case that waits for a valid overlay query answer.
pub const AWAITED_OVERLAY_QUERY: &str = "overlay_query";

/// The approvals block of a case's view.
///
/// # Errors
/// A corrupt stored hit or record.
pub fn approvals_view(hits: &CaseHits, rows: &[ApprovalRow]) -> Result<ApprovalsView, ApiError> {
    let records = rows.iter().map(record_of).collect::<Result<Vec<_>, _>>()?;
    let lapsed: Option<Vec<Uuid>> = hits
        .current
        .then(|| approval::recheck(&records, &hits.hits).lapsed);
    let views = rows
        .iter()
        .zip(&records)
        .map(|(row, record)| ApprovalView {
            id: row.id,
            case_id: row.case_id,
            kind: record.kind,
            document_number: row.document_number.clone(),
            authority: row.authority.clone(),
            decided_on: row.decided_on,
            conclusion: row.conclusion.clone(),
            answers: record.answers.iter().map(FeatureView::from).collect(),
            answered_hits: row.answered_hits.clone(),
            lapsed: lapsed.as_ref().map(|l| l.contains(&row.id)),
            recorded_by: row.recorded_by,
            recorded_role: row.recorded_role.clone(),
            recorded_at: row.recorded_at,
        })
        .collect();
    let missing = missing_of(hits, rows)?
        .into_iter()
        .map(|m| MissingView {
            kind: m.kind,
            hit_id: m.hit_id,
            result: m.result,
            feature: FeatureView::from(&m.feature),
            before_from: m.before_from,
            before_to: m.before_to,
        })
        .collect();
    Ok(ApprovalsView {
        records: views,
        missing,
    })
}

/// Checks the body's own fields, before anything is loaded: lengths and the date.
fn check_body(body: &ApprovalBody, today: NaiveDate) -> Result<(), ApiError> {
    let slug = "invalid-approval";
    ApiError::check_length(
        slug,
        "document_number",
        Some(&body.document_number),
        MAX_NAME_CHARS,
    )?;
    ApiError::check_length(slug, "authority", Some(&body.authority), MAX_NAME_CHARS)?;
    ApiError::check_length(
        slug,
        "conclusion",
        body.conclusion.as_deref(),
        MAX_CONCLUSION_CHARS,
    )?;
    if body.hits.len() > MAX_HITS {
        return Err(ApiError::invalid(
            "invalid-approval",
            "hits",
            format!("a record answers at most {MAX_HITS} hits"),
        ));
    }
    // Everything the domain checks without the case's hits, refused before the case is read.
    approval::validate(&new_approval(body), &[], today)
        .map(|_| ())
        .or_else(|e| match e {
            ApprovalError::HitNotOfCase { .. } => Ok(()),
            other => Err(refused(&other)),
        })
}

fn new_approval(body: &ApprovalBody) -> NewApproval {
    NewApproval {
        kind: body.kind,
        document_number: body.document_number.clone(),
        authority: body.authority.clone(),
        decided_on: body.decided_on,
        conclusion: body.conclusion.clone(),
        hits: body.hits.clone(),
    }
}

/// A record the domain refused: 422 naming the field.
fn refused(e: &ApprovalError) -> ApiError {
    ApiError::invalid("invalid-approval", e.field(), e.to_string())
}

/// `POST /api/v1/cases/{id}/approvals`: record an approval the case's latest confirmed check
/// calls for (reviewers; planners too for the geohazard assessment), under `If-Match` with the
/// case's ETag. Answers the case, whose `approvals` block holds the new record.
#[utoipa::path(post, path = "/cases/{id}/approvals", tag = "cases", params(("id" = Uuid, Path, description = "The case id"), ("If-Match" = String, Header, description = "The ETag of the last read")), request_body = ApprovalBody, responses((status = 201, description = "The case with the record", body = CaseView, headers(("ETag" = String, description = "The case's new version")))))]
#[tracing::instrument(skip_all, fields(case = %id))]
pub async fn record_approval(
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    mut write: Write<Body<ApprovalBody>>,
) -> Result<Response, ApiError> {
    let body = write.body.0.clone();
    write
        .caller
        .require(body.kind.recorded_by(), &format!("record a {}", body.kind))?;
    let today = bureau_date(write.now);
    check_body(&body, today)?;

    let case = load_case(&mut write.tx, &write.caller, id, true).await?;
    let mut loaded = load_for(&mut write.tx, &[id]).await?;
    let (hits, _) = loaded.remove(&id).unwrap_or_default();
    let hits = if hits.current && hits.confirmed {
        hits.hits
    } else {
        Vec::new()
    };
    let valid = approval::validate(&new_approval(&body), &hits, today).map_err(|e| refused(&e))?;
    require_if_match(&headers, case.version)?;

    let record_id = Uuid::now_v7();
    let answers = serde_json::to_value(&valid.answers)
        .map_err(|e| ApiError::internal("storing the record's answers", e))?;
    let new = store::approvals::NewApproval {
        id: record_id,
        case_id: id,
        kind: valid.kind.code(),
        document_number: &valid.document_number,
        authority: &valid.authority,
        decided_on: valid.decided_on,
        conclusion: valid.conclusion.as_deref(),
        answers: &answers,
        answered_hits: &body.hits,
        recorded_by: write.caller.user_id,
        recorded_role: write.caller.role.code(),
        recorded_at: write.now,
    };
    store::approvals::insert(&mut write.tx, &new).await?;
    let event = CaseEvent::at(case.state()?.stage(), "approval_recorded").with(json!({
        "approval": record_id,
        "kind": valid.kind,
        "document_number": valid.document_number,
        "authority": valid.authority,
        "decided_on": valid.decided_on,
        "answers": answers,
    }));
    let reply = answer_case(&mut write, id, &event, StatusCode::CREATED).await?;
    write.finish(reply).await
}

/// `GET /api/v1/cases/{id}/approvals`: the case's approval records, each marked lapsed or not,
/// and the records its latest confirmed check still calls for.
#[utoipa::path(get, path = "/cases/{id}/approvals", tag = "cases", params(("id" = Uuid, Path, description = "The case id")), responses((status = 200, description = "The records and what is missing", body = ApprovalsView)))]
#[tracing::instrument(skip_all, fields(case = %id))]
pub async fn list_approvals(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<Json<ApprovalsView>, ApiError> {
    let mut tx = state.begin_for(&caller).await?;
    load_case(&mut tx, &caller, id, false).await?;
    let mut loaded = load_for(&mut tx, &[id]).await?;
    let (hits, rows) = loaded.remove(&id).unwrap_or_default();
    Ok(Json(approvals_view(&hits, &rows)?))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn body() -> ApprovalBody {
        ApprovalBody {
            kind: ApprovalKind::ReviewOpinion,
            document_number: "陕林审〔2026〕12号".to_owned(),
            authority: "陕西省林业局".to_owned(),
            decided_on: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
            conclusion: None,
            hits: vec![Uuid::nil()],
        }
    }

    fn field(e: ApiError) -> Option<String> {
        match e {
            ApiError::Invalid { field, .. } => field,
            _ => None,
        }
    }

    #[test]
    fn the_body_alone_is_refused_naming_its_field_before_the_case_is_read() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        assert!(
            check_body(&body(), today).is_ok(),
            "hits are checked against the case later"
        );
        let mut b = body();
        b.document_number = "a".repeat(201);
        assert_eq!(
            field(check_body(&b, today).unwrap_err()).as_deref(),
            Some("document_number")
        );
        let mut b = body();
        b.authority = " ".to_owned();
        assert_eq!(
            field(check_body(&b, today).unwrap_err()).as_deref(),
            Some("authority")
        );
        let mut b = body();
        b.decided_on = NaiveDate::from_ymd_opt(2026, 12, 8).unwrap();
        assert_eq!(
            field(check_body(&b, today).unwrap_err()).as_deref(),
            Some("decided_on")
        );
        let mut b = body();
        b.hits.clear();
        assert_eq!(field(check_body(&b, today).unwrap_err()).as_deref(), Some("hits"));
    }
}
