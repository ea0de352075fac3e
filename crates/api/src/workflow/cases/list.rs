//! `GET /cases`: the queue, green first then nearest deadline, with filters and a cursor.

use axum::{
    extract::{Query, State},
    Json,
};
use chrono::{DateTime, Utc};
use landuse_domain::{calendar::bureau_date, stage::Stage};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{load_rules, view::case_views, CaseView};
use crate::{
    app::AppState,
    auth::Caller,
    http::error::ApiError,
    reads::ReadHint,
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
    /// Where to start: the `next` of the previous page. A position in the queue's order
    /// (green group `0` or `1`, deadline in microseconds since 1970 or `-` for none, case id),
    /// so any cursor of this form is a place to go on from.
    #[param(
        pattern = r"^[01]\.(-|[0-9]{1,16})\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
    )]
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

/// Where a page ended, in the queue's order: green group (0 green, 1 not), deadline, id.
/// Written `g.d.id` with the deadline in microseconds since 1970 (`-` for none): keyset
/// pagination goes on from any position, so the cursor need not be one this service signed,
/// only one of exactly this form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cursor {
    g: i32,
    d: Option<DateTime<Utc>>,
    id: Uuid,
}

impl Cursor {
    /// Reads a `cursor` parameter of exactly the documented form.
    fn parse(text: &str) -> Result<Self, ApiError> {
        Self::read(text).ok_or_else(|| {
            ApiError::invalid(
                "invalid-parameter",
                "cursor",
                "the cursor is the next of a page: green group, deadline in microseconds or -, case id",
            )
        })
    }

    fn read(text: &str) -> Option<Self> {
        let mut parts = text.split('.');
        let (g, d, id) = (parts.next()?, parts.next()?, parts.next()?);
        let g = match g {
            "0" => 0,
            "1" => 1,
            _ => return None,
        };
        let d = match d {
            "-" => None,
            micros if (1..=16).contains(&micros.len()) && micros.bytes().all(|b| b.is_ascii_digit()) => {
                Some(DateTime::from_timestamp_micros(micros.parse().ok()?)?)
            }
            _ => return None,
        };
        let uuid = Uuid::try_parse(id).ok()?;
        // Only the lower-case hyphenated form the pattern states, not every form a UUID takes.
        let id = (uuid.hyphenated().to_string() == id).then_some(uuid)?;
        parts.next().is_none().then_some(Self { g, d, id })
    }

    fn encode(self) -> String {
        let d = self
            .d
            .map_or_else(|| "-".to_owned(), |d| d.timestamp_micros().to_string());
        format!("{}.{d}.{}", self.g, self.id.hyphenated())
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
    hint: ReadHint,
    Query(query): Query<CaseQuery>,
) -> Result<Json<CasePage>, ApiError> {
    let limit = i64::from(query.limit.unwrap_or(50).clamp(1, 200));
    let county = crate::http::query::county_filter(query.county.as_deref())?;
    let (stage, ledger_status) = filter_codes(&query)?;
    let cursor = query.cursor.as_deref().map(Cursor::parse).transpose()?;
    let now = state.clock.now();
    let today = bureau_date(now);
    let mut conn = state.read_for(&caller, &hint).await?;
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
    let next = rows.last().filter(|_| more).map(|row| {
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
    fn a_cursor_reads_back_as_written_and_only_the_documented_form_is_read() {
        let id = Uuid::from_u128(0x0192_0000_0000_7000_8000_0000_0000_00ab);
        let d = DateTime::from_timestamp_micros(1_780_000_000_123_456);
        for cursor in [Cursor { g: 1, d: None, id }, Cursor { g: 0, d, id }] {
            assert_eq!(Cursor::parse(&cursor.encode()).unwrap(), cursor);
        }
        let upper = format!("0.-.{}", id.hyphenated()).to_uppercase();
        let simple = format!("0.-.{}", id.simple());
        for refused in [
            "0",
            "not-a-cursor",
            "2.-.x",
            "0.+5.x",
            upper.as_str(),
            simple.as_str(),
        ] {
            assert!(Cursor::parse(refused).is_err(), "{refused}");
        }
        let extra = format!("{}.7", Cursor { g: 0, d: None, id }.encode());
        assert!(Cursor::parse(&extra).is_err());
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
