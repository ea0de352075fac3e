//! `GET /cases`: the queue, green first then nearest deadline, with filters and a cursor.

use axum::{
    extract::{Query, State},
    Json,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chrono::{DateTime, Utc};
use landuse_domain::{calendar::bureau_date, stage::Stage};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{load_rules, view::case_views, CaseView};
use crate::{
    app::AppState,
    auth::Caller,
    http::error::ApiError,
    store::{self, cases::CaseFilter},
};

/// Query parameters of `GET /api/v1/cases`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CaseQuery {
    /// Only this county (its code, or an older alias).
    #[param(pattern = "^[0-9]{6}$")]
    pub county: Option<String>,
    /// Only cases in this stage.
    #[param(
        pattern = "^(draft|accepted|pre_review|conversion|supply|registration|completed|correction|rejected|withdrawn)$"
    )]
    pub stage: Option<String>,
    /// Only cases whose open ledger item has this status.
    #[param(pattern = "^(open|due_soon|overdue)$")]
    pub ledger_status: Option<String>,
    /// Only green-channel cases (`true`) or only the others (`false`).
    pub green: Option<bool>,
    /// Only cases past their stage deadline (`true`) or only the others (`false`).
    pub overdue: Option<bool>,
    /// Text in the title or the project's name (matched literally).
    #[param(pattern = "^[^\\u0000]*$")]
    pub q: Option<String>,
    /// Page size (default 50; 0 is taken as 1 and anything over 200 as 200).
    #[param(value_type = Option<i64>, minimum = 0, maximum = 4_294_967_295_i64)]
    pub limit: Option<u32>,
    /// The `next` cursor of the previous page.
    #[param(min_length = 1)]
    pub cursor: Option<String>,
}

/// A page of `GET /api/v1/cases`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CasePage {
    /// The cases of this page.
    pub items: Vec<CaseView>,
    /// The `cursor` of the next page; absent on the last.
    pub next: Option<String>,
}

/// Where a page ended, in the queue's order: green group, deadline, id.
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

    fn encode(&self) -> Option<String> {
        serde_json::to_vec(self).ok().map(|b| URL_SAFE_NO_PAD.encode(b))
    }
}

/// The stage and ledger-status filters, each parsed once into the code the store compares.
fn filter_codes(query: &CaseQuery) -> Result<(Option<&'static str>, Option<&'static str>), ApiError> {
    let stage = query
        .stage
        .as_deref()
        .map(|s| Stage::parse(s).map(Stage::code))
        .transpose()
        .map_err(|e| ApiError::invalid("invalid-parameter", "stage", e.to_string()))?;
    let ledger_status = match query.ledger_status.as_deref() {
        None => None,
        Some("open") => Some("open"),
        Some("due_soon") => Some("due_soon"),
        Some("overdue") => Some("overdue"),
        Some(other) => {
            return Err(ApiError::invalid(
                "invalid-parameter",
                "ledger_status",
                format!("ledger_status must be open, due_soon or overdue, not {other:?}"),
            ))
        }
    };
    if query.q.as_deref().is_some_and(|q| q.contains('\0')) {
        return Err(ApiError::invalid(
            "invalid-parameter",
            "q",
            "the search text may not contain the NUL character",
        ));
    }
    Ok((stage, ledger_status))
}

/// `GET /api/v1/cases`: the queue, green first then nearest deadline, with filters and a cursor.
#[utoipa::path(get, path = "/cases", tag = "cases", params(CaseQuery), responses((status = 200, description = "A page of the queue: green first, then nearest deadline", body = CasePage)))]
#[tracing::instrument(skip_all)]
pub async fn list_cases(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<CaseQuery>,
) -> Result<Json<CasePage>, ApiError> {
    let limit = i64::from(query.limit.unwrap_or(50).clamp(1, 200));
    let county = crate::http::query::county_filter(query.county.as_deref())?;
    let (stage, ledger_status) = filter_codes(&query)?;
    let cursor = query.cursor.as_deref().map(Cursor::parse).transpose()?;
    let now = state.clock.now();
    let today = bureau_date(now);
    let mut conn = state.begin_for(&caller).await?;
    let rules = load_rules(&mut conn).await?;
    let counties = caller.county_filter();
    let filter = CaseFilter {
        counties: counties.as_deref(),
        county,
        stage,
        green: query.green,
        overdue: query.overdue,
        now,
        ledger_status,
        today,
        due_soon_until: today + chrono::Days::new(u64::from(rules.clearing.due_soon_days())),
        text: query.q.as_deref(),
        after: cursor.map(|c| (c.g, c.d, c.id)),
        limit: limit + 1,
    };
    let mut rows = store::cases::list(&mut conn, &filter).await?;
    let more = rows.len() > usize::try_from(limit).unwrap_or(usize::MAX);
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let next = rows.last().filter(|_| more).and_then(|row| {
        Cursor {
            g: i32::from(!row.green),
            d: row.deadline_at,
            id: row.id,
        }
        .encode()
    });
    let items = case_views(&mut conn, &rules, rows, now).await?;
    Ok(Json(CasePage { items, next }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn query(stage: Option<&str>, ledger_status: Option<&str>) -> CaseQuery {
        CaseQuery {
            county: None,
            stage: stage.map(str::to_owned),
            ledger_status: ledger_status.map(str::to_owned),
            green: None,
            overdue: None,
            q: None,
            limit: None,
            cursor: None,
        }
    }

    #[test]
    fn a_cursor_this_service_gave_reads_back_and_any_other_text_is_refused() {
        let given = Cursor {
            g: 1,
            d: None,
            id: Uuid::nil(),
        }
        .encode()
        .unwrap();
        let read = Cursor::parse(&given).unwrap();
        assert_eq!((read.g, read.d, read.id), (1, None, Uuid::nil()));
        assert!(Cursor::parse("not-a-cursor").is_err());
    }

    #[test]
    fn the_filters_are_parsed_once_into_the_codes_the_store_compares() {
        assert_eq!(
            filter_codes(&query(Some("pre_review"), Some("due_soon"))).unwrap(),
            (Some("pre_review"), Some("due_soon"))
        );
        assert!(filter_codes(&query(Some("nowhere"), None)).is_err());
        assert!(filter_codes(&query(None, Some("cleared"))).is_err());
    }
}
