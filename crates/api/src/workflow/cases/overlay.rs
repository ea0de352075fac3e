//! Mineral overlay queries (压覆矿产查询) of a case: opened automatically when a confirmed check
//! counts a `needs_overlay_approval` hit ([`open_if_called`]), or by a reviewer
//! (`POST /cases/{id}/overlay-queries`, after a refusal or a lapse); answered once
//! (`POST /cases/{id}/overlay-queries/{query_id}/answer`); listed with their status
//! (`GET /cases/{id}/overlay-queries`, and in the case view). The domain decides
//! ([`overlay`]): the due day, the status on a day, the validity of an answer, whether an answer
//! is acceptable, and what `conversion → supply` still misses.
//!
//! The answer's body is checked in full before `If-Match`: an unacceptable answer is a 422
//! naming its field whatever version the caller read, never a 412.

use std::collections::HashMap;

use axum::{
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::Response,
    Json,
};
use chrono::{DateTime, NaiveDate, Utc};
use landuse_domain::{
    calendar::{bureau_date, Deadline, WorkCalendar},
    overlay::{
        self, AnswerError, NewAnswer, OverlayAnswer, OverlayConclusion, OverlayGap, OverlayQuery,
        OverlayRules, OverlayStatus,
    },
    role::Role,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{
    approvals::CaseHits,
    load_case, load_rules,
    write::{answer_case, lock_case},
    CaseEvent, CaseView,
};
use crate::{
    app::AppState,
    auth::Caller,
    http::{
        error::ApiError,
        etag::require_if_match,
        write::{Json as Body, NoBody, Write},
    },
    store::{self, overlay::OverlayQueryRow},
};

/// Longest document number accepted, in characters.
const MAX_NUMBER_CHARS: usize = 200;
/// Longest note accepted, in characters.
const MAX_NOTE_CHARS: usize = 2000;

/// The body of `POST /api/v1/cases/{id}/overlay-queries/{query_id}/answer`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerBody {
    /// The answer's document number (文号): not blank, at most 200 characters.
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub document_number: String,
    /// The day of the answer: not before the query was sent, not after today (the bureau's date).
    pub answered_on: NaiveDate,
    /// What the mineral authority concluded.
    #[schema(pattern = "^(no_overlay|overlay_approved|refused)$")]
    pub conclusion: String,
    /// A note, at most 2000 characters.
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub note: Option<String>,
}

/// A query's answer as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OverlayAnswerView {
    /// The answer's document number.
    pub document_number: String,
    /// The day of the answer.
    pub answered_on: NaiveDate,
    /// What it concluded.
    pub conclusion: OverlayConclusion,
    /// The last day a favourable answer is valid (six months, civil-code month rule); absent
    /// for a refusal.
    pub valid_until: Option<NaiveDate>,
    /// The note given with it.
    pub note: Option<String>,
    /// Who recorded it.
    pub recorded_by: Uuid,
    /// When.
    pub recorded_at: DateTime<Utc>,
}

/// An overlay query as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OverlayQueryView {
    /// The query's id.
    pub id: Uuid,
    /// The case.
    pub case_id: Uuid,
    /// The check whose hits called for it, when it was opened on confirming one.
    pub check_id: Option<Uuid>,
    /// Where it stands today.
    pub status: OverlayStatus,
    /// The day it was sent.
    pub sent_on: NaiveDate,
    /// The day its answer is due (five working days after it was sent).
    pub due_on: NaiveDate,
    /// Whether the due day rests on days the calendar does not cover yet.
    pub due_provisional: bool,
    /// Who opened it.
    pub opened_by: Uuid,
    /// Their role.
    pub opened_role: String,
    /// When.
    pub opened_at: DateTime<Utc>,
    /// Its answer, once recorded.
    pub answer: Option<OverlayAnswerView>,
}

/// What `conversion → supply` misses while no favourable answer is valid.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OverlayMissingView {
    /// `overlay-not-answered`, `overlay-refused` or `overlay-lapsed`: the refusal's code.
    pub code: String,
    /// The refusal's message.
    pub message: String,
}

/// A case's overlay queries and whether its check still waits for a valid answer.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct OverlayView {
    /// Whether the latest confirmed, current check counts a `needs_overlay_approval` hit.
    pub needed: bool,
    /// When needed and no favourable answer is valid today: what is missing.
    pub missing: Option<OverlayMissingView>,
    /// The queries, in the order they were opened.
    pub queries: Vec<OverlayQueryView>,
}

/// Reads a stored query as the domain's.
fn query_of(row: &OverlayQueryRow) -> Result<OverlayQuery, ApiError> {
    let answer = match (&row.document_number, row.answered_on, &row.conclusion) {
        (Some(number), Some(answered_on), Some(conclusion)) => Some(OverlayAnswer {
            document_number: number.clone(),
            answered_on,
            conclusion: OverlayConclusion::parse(conclusion)
                .map_err(|e| ApiError::internal("reading an overlay answer's conclusion", e))?,
        }),
        (None, None, None) => None,
        _ => {
            return Err(ApiError::internal(
                "reading an overlay answer",
                anyhow::anyhow!("query {} has a partial answer", row.id),
            ))
        }
    };
    Ok(OverlayQuery {
        id: row.id,
        sent_on: row.sent_on,
        due: Deadline {
            date: row.due_on,
            provisional: row.due_provisional,
        },
        answer,
    })
}

fn queries_of(rows: &[OverlayQueryRow]) -> Result<Vec<OverlayQuery>, ApiError> {
    rows.iter().map(query_of).collect()
}

/// Whether the hits of a case's latest check call for an overlay answer: the check is current,
/// confirmed, and counts an undismissed `needs_overlay_approval` hit. Without such a check the
/// check rules refuse first, so nothing is said to be missing.
pub fn needed(hits: &CaseHits) -> bool {
    hits.current && hits.confirmed && overlay::called_for(&hits.hits)
}

/// What `conversion → supply` misses on `today`, for a case whose hits are `hits` and whose
/// stored queries are `rows`.
///
/// # Errors
/// A corrupt stored query.
pub fn gap_of(
    hits: &CaseHits,
    rows: &[OverlayQueryRow],
    today: NaiveDate,
) -> Result<Option<OverlayGap>, ApiError> {
    if !needed(hits) {
        return Ok(None);
    }
    Ok(overlay::gap(&queries_of(rows)?, today, &OverlayRules::default()))
}

/// The queries of each of `case_ids`, in one statement.
///
/// # Errors
/// Database failures.
pub async fn rows_for(
    conn: &mut PgConnection,
    case_ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<OverlayQueryRow>>, ApiError> {
    let mut out: HashMap<Uuid, Vec<OverlayQueryRow>> = HashMap::new();
    for row in store::overlay::of_cases(conn, case_ids).await? {
        out.entry(row.case_id).or_default().push(row);
    }
    Ok(out)
}

/// The overlay block of a case's view on `today`.
///
/// # Errors
/// A corrupt stored query.
pub fn overlay_view(
    hits: &CaseHits,
    rows: &[OverlayQueryRow],
    today: NaiveDate,
) -> Result<OverlayView, ApiError> {
    let rules = OverlayRules::default();
    let queries = rows
        .iter()
        .map(|row| {
            let query = query_of(row)?;
            let answer = match (&query.answer, row.answered_by, row.answered_at) {
                (None, _, _) => None,
                (Some(a), Some(recorded_by), Some(recorded_at)) => Some(OverlayAnswerView {
                    document_number: a.document_number.clone(),
                    answered_on: a.answered_on,
                    conclusion: a.conclusion,
                    valid_until: a
                        .conclusion
                        .favourable()
                        .then(|| overlay::valid_until(a.answered_on, &rules))
                        .flatten(),
                    note: row.note.clone(),
                    recorded_by,
                    recorded_at,
                }),
                (Some(_), _, _) => {
                    return Err(ApiError::internal(
                        "reading an overlay answer",
                        anyhow::anyhow!("the answer to query {} has no recorder", row.id),
                    ))
                }
            };
            Ok(OverlayQueryView {
                id: row.id,
                case_id: row.case_id,
                check_id: row.check_id,
                status: overlay::status(&query, today, &rules),
                sent_on: row.sent_on,
                due_on: row.due_on,
                due_provisional: row.due_provisional,
                opened_by: row.opened_by,
                opened_role: row.opened_role.clone(),
                opened_at: row.opened_at,
                answer,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let missing = gap_of(hits, rows, today)?.map(|g| OverlayMissingView {
        code: g.code().to_owned(),
        message: g.to_string(),
    });
    Ok(OverlayView {
        needed: needed(hits),
        missing,
        queries,
    })
}

/// Opens a query for case `case_id` at `now` when the domain allows one, sent on the bureau's
/// date and due [`OverlayRules::answer_working_days`] working days later on `calendar`; the
/// case event is the caller's. Returns the new query's id and due day.
///
/// # Errors
/// [`overlay::OpenError`] as a 409 when a query is open or a favourable answer still valid;
/// database failures.
pub async fn open_query(
    conn: &mut PgConnection,
    case_id: Uuid,
    check_id: Option<Uuid>,
    calendar: &WorkCalendar,
    opener: (&Caller, DateTime<Utc>),
) -> Result<(Uuid, Deadline), ApiError> {
    let (caller, now) = opener;
    let rules = OverlayRules::default();
    let today = bureau_date(now);
    let rows = store::overlay::of_cases(conn, &[case_id]).await?;
    overlay::may_open(&queries_of(&rows)?, today, &rules)
        .map_err(|e| ApiError::conflict(e.code(), e.to_string()))?;
    let due = overlay::due_on(calendar, today, &rules);
    let id = Uuid::now_v7();
    let new = store::overlay::NewQuery {
        id,
        case_id,
        check_id,
        sent_on: today,
        due_on: due.date,
        due_provisional: due.provisional,
        opened_by: caller.user_id,
        opened_role: caller.role.code(),
        opened_at: now,
    };
    store::overlay::insert_query(conn, &new).await?;
    Ok((id, due))
}

/// On confirming check `check_id` of case `case_id`: opens a query when the check calls for one
/// and the case has neither an open query nor a valid favourable answer. Returns the details of
/// the query opened, for the confirmation's event.
///
/// # Errors
/// Database failures; a corrupt stored hit or query.
pub async fn open_if_called(
    conn: &mut PgConnection,
    case_id: Uuid,
    check_id: Uuid,
    opener: (&Caller, DateTime<Utc>),
) -> Result<Option<serde_json::Value>, ApiError> {
    let mut loaded = super::approvals::load_for(conn, &[case_id]).await?;
    let (hits, _) = loaded.remove(&case_id).unwrap_or_default();
    if !needed(&hits) {
        return Ok(None);
    }
    let rules = load_rules(conn).await?;
    match open_query(conn, case_id, Some(check_id), &rules.calendar, opener).await {
        Ok((id, due)) => Ok(Some(json!({
            "overlay_query": id, "sent_on": bureau_date(opener.1), "due_on": due.date,
            "due_provisional": due.provisional,
        }))),
        Err(ApiError::Conflict { .. }) => Ok(None),
        Err(other) => Err(other),
    }
}

/// `POST /api/v1/cases/{id}/overlay-queries`: a reviewer opens a new overlay query (after a
/// refusal or a lapse), under `If-Match` with the case's ETag; 409 while one is open or a
/// favourable answer is still valid. Answers the case, whose `overlay` block holds the query.
#[utoipa::path(post, path = "/cases/{id}/overlay-queries", tag = "cases", params(("id" = Uuid, Path, description = "The case id"), ("If-Match" = String, Header, description = "The ETag of the last read")), responses((status = 201, description = "The case with the new query", body = CaseView, headers(("ETag" = String, description = "The case's new version")))))]
#[tracing::instrument(skip_all, fields(case = %id))]
pub async fn open_overlay_query(
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    mut write: Write<NoBody>,
) -> Result<Response, ApiError> {
    write.caller.require(&[Role::Reviewer], "open overlay queries")?;
    let case = lock_case(&mut write, id, &headers).await?;
    let rules = load_rules(&mut write.tx).await?;
    let (query, due) = open_query(
        &mut write.tx,
        id,
        None,
        &rules.calendar,
        (&write.caller, write.now),
    )
    .await?;
    let event = CaseEvent::at(case.state()?.stage(), "overlay_query_opened").with(json!({
        "overlay_query": query, "sent_on": bureau_date(write.now), "due_on": due.date,
        "due_provisional": due.provisional,
    }));
    let reply = answer_case(&mut write, id, &event, StatusCode::CREATED).await?;
    write.finish(reply).await
}

/// Checks the body's own fields before anything is loaded: lengths, then what the domain checks
/// without the query (number, date not in the future, conclusion).
fn check_answer_body(body: &AnswerBody, today: NaiveDate) -> Result<NewAnswer, ApiError> {
    let slug = "invalid-overlay-answer";
    ApiError::check_length(
        slug,
        "document_number",
        Some(&body.document_number),
        MAX_NUMBER_CHARS,
    )?;
    ApiError::check_length(slug, "note", body.note.as_deref(), MAX_NOTE_CHARS)?;
    let new = NewAnswer {
        document_number: body.document_number.clone(),
        answered_on: body.answered_on,
        conclusion: body.conclusion.clone(),
    };
    overlay::validate_fields(&new, today).map_err(|e| answer_refused(&e))?;
    Ok(new)
}

/// An answer the domain refused: 409 when the query is answered already, else 422 naming the
/// field.
fn answer_refused(e: &AnswerError) -> ApiError {
    match e {
        AnswerError::AlreadyAnswered => ApiError::conflict("overlay-query-answered", e.to_string()),
        _ => ApiError::invalid("invalid-overlay-answer", e.field(), e.to_string()),
    }
}

/// `POST /api/v1/cases/{id}/overlay-queries/{query_id}/answer`: a reviewer records the mineral
/// authority's answer, once, under `If-Match` with the case's ETag. Answers the case.
#[utoipa::path(post, path = "/cases/{id}/overlay-queries/{query_id}/answer", tag = "cases", params(("id" = Uuid, Path, description = "The case id"), ("query_id" = Uuid, Path, description = "The query id"), ("If-Match" = String, Header, description = "The ETag of the last read")), request_body = AnswerBody, responses((status = 201, description = "The case with the answer", body = CaseView, headers(("ETag" = String, description = "The case's new version")))))]
#[tracing::instrument(skip_all, fields(case = %id, query = %query_id))]
pub async fn answer_overlay_query(
    Path((id, query_id)): Path<(Uuid, Uuid)>,
    headers: HeaderMap,
    mut write: Write<Body<AnswerBody>>,
) -> Result<Response, ApiError> {
    let body = write.body.0.clone();
    write
        .caller
        .require(&[Role::Reviewer], "answer overlay queries")?;
    let today = bureau_date(write.now);
    let new = check_answer_body(&body, today)?;
    let case = load_case(&mut write.tx, &write.caller, id, true).await?;
    let rows = store::overlay::of_cases(&mut write.tx, &[id]).await?;
    let row = rows
        .iter()
        .find(|r| r.id == query_id)
        .ok_or(ApiError::NotFound("overlay query"))?;
    let answer = overlay::validate_answer(&new, &query_of(row)?, today).map_err(|e| answer_refused(&e))?;
    require_if_match(&headers, case.version)?;
    let note = body.note.as_deref().map(str::trim).filter(|n| !n.is_empty());
    let stored = store::overlay::NewAnswer {
        query_id,
        document_number: &answer.document_number,
        answered_on: answer.answered_on,
        conclusion: answer.conclusion.code(),
        note,
        recorded_by: write.caller.user_id,
        recorded_role: write.caller.role.code(),
        recorded_at: write.now,
    };
    if !store::overlay::insert_answer(&mut write.tx, &stored).await? {
        return Err(answer_refused(&AnswerError::AlreadyAnswered));
    }
    let event = CaseEvent::at(case.state()?.stage(), "overlay_query_answered").with(json!({
        "overlay_query": query_id, "document_number": answer.document_number,
        "answered_on": answer.answered_on, "conclusion": answer.conclusion,
        "valid_until": answer.conclusion.favourable()
            .then(|| overlay::valid_until(answer.answered_on, &OverlayRules::default())).flatten(),
    }));
    let reply = answer_case(&mut write, id, &event, StatusCode::CREATED).await?;
    write.finish(reply).await
}

/// `GET /api/v1/cases/{id}/overlay-queries`: the case's overlay queries with their status today,
/// and what `conversion → supply` still misses.
#[utoipa::path(get, path = "/cases/{id}/overlay-queries", tag = "cases", params(("id" = Uuid, Path, description = "The case id")), responses((status = 200, description = "The queries and what is missing", body = OverlayView)))]
#[tracing::instrument(skip_all, fields(case = %id))]
pub async fn list_overlay_queries(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<Json<OverlayView>, ApiError> {
    let now = state.clock.now();
    let mut tx = state.begin_for(&caller).await?;
    load_case(&mut tx, &caller, id, false).await?;
    let mut loaded = super::approvals::load_for(&mut tx, &[id]).await?;
    let (hits, _) = loaded.remove(&id).unwrap_or_default();
    let rows = store::overlay::of_cases(&mut tx, &[id]).await?;
    Ok(Json(overlay_view(&hits, &rows, bureau_date(now))?))
}
