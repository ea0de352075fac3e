//! The three-week ledger: one item per stay of a case in a municipal stage, with its clearing
//! status as the domain computes it (pauses included), and `GET /ledger`.

use std::collections::HashMap;

use axum::{
    extract::{Query, State},
    Json,
};
use chrono::{DateTime, NaiveDate, Utc};
use landuse_domain::{
    clearing::{self, ClearingRules, ClearingStatus, LedgerItem},
    clock::Pause,
    stage::Stage,
};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use super::load_rules;
use crate::{
    app::AppState,
    auth::Caller,
    http::error::ApiError,
    reads::ReadHint,
    store::{self, cases::LedgerItemRow},
};

/// A ledger item with its status at the time of the request.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LedgerView {
    /// The item's id.
    pub id: Uuid,
    /// The case.
    pub case_id: Uuid,
    /// The case's county.
    pub county_code: String,
    /// The stage it was opened for.
    pub stage: Stage,
    /// When it was opened.
    pub opened_at: DateTime<Utc>,
    /// The last day it may stay open, fixed at opening.
    pub due_on: NaiveDate,
    /// When it was struck off.
    pub cleared_at: Option<DateTime<Utc>>,
    /// How it was struck off: `advanced`, `returned_for_correction`, `rejected`, `withdrawn`.
    pub outcome: Option<String>,
    /// Its status at the time of the request.
    pub status: ClearingStatus,
    /// Calendar days left (negative once overdue).
    pub days_left: i64,
}

/// The view of ledger item `row` at `now`, its case's clock stopped during `pauses`: the one
/// place the API computes a clearing status.
///
/// # Errors
/// A stored stage the domain does not know (a corrupt row).
pub fn ledger_view(
    row: LedgerItemRow,
    pauses: &[Pause],
    rules: ClearingRules,
    now: DateTime<Utc>,
) -> Result<LedgerView, ApiError> {
    let item = LedgerItem {
        opened_at: row.opened_at,
        cleared_at: row.cleared_at,
        pauses: pauses.to_vec(),
    };
    Ok(LedgerView {
        stage: Stage::parse(&row.stage)
            .map_err(|e| ApiError::internal("reading a ledger item's stage", e))?,
        status: clearing::status_at(&item, now, &rules),
        days_left: item.days_left(now, &rules),
        id: row.id,
        case_id: row.case_id,
        county_code: row.county_code,
        opened_at: row.opened_at,
        due_on: row.due_on,
        cleared_at: row.cleared_at,
        outcome: row.outcome,
    })
}

/// The clock's pauses of each case `since[i].0` that reach past `since[i].1`, by case.
///
/// # Errors
/// Database failures; a stored pause that ends before it begins (a corrupt row).
pub async fn pauses_by_case(
    conn: &mut PgConnection,
    since: &[(Uuid, DateTime<Utc>)],
) -> Result<HashMap<Uuid, Vec<Pause>>, ApiError> {
    let mut pauses: HashMap<Uuid, Vec<Pause>> = HashMap::new();
    for row in store::cases::pauses_since(conn, since).await? {
        let pause = Pause::new(row.paused_at, row.resumed_at)
            .map_err(|e| ApiError::internal("reading a pause", e))?;
        pauses.entry(row.case_id).or_default().push(pause);
    }
    Ok(pauses)
}

/// Query parameters of `GET /api/v1/ledger`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LedgerQuery {
    /// Only this county (its code, or an older alias).
    #[param(pattern = "^[0-9]{6}$")]
    pub county: Option<String>,
    /// Include struck-off items too.
    pub include_cleared: Option<bool>,
}

/// `GET /api/v1/ledger`: the items across the counties the caller may see, with their status.
#[utoipa::path(get, path = "/ledger", tag = "ledger", params(LedgerQuery), responses((status = 200, description = "Ledger items with their clearing status", body = [LedgerView])))]
#[tracing::instrument(skip_all)]
pub async fn ledger(
    State(state): State<AppState>,
    caller: Caller,
    hint: ReadHint,
    Query(query): Query<LedgerQuery>,
) -> Result<Json<Vec<LedgerView>>, ApiError> {
    let county = crate::http::query::county_filter(query.county.as_deref())?;
    let now = state.clock.now();
    let mut conn = state.read_for(&caller, &hint).await?;
    let rules = load_rules(&mut conn).await?;
    let counties = caller.county_filter();
    let include_cleared = query.include_cleared.unwrap_or(false);
    let rows = store::cases::ledger(&mut conn, counties.as_deref(), county, include_cleared).await?;
    let mut since: HashMap<Uuid, DateTime<Utc>> = HashMap::new();
    for row in &rows {
        let earliest = since.entry(row.case_id).or_insert(row.opened_at);
        *earliest = (*earliest).min(row.opened_at);
    }
    let since: Vec<(Uuid, DateTime<Utc>)> = since.into_iter().collect();
    let pauses = pauses_by_case(&mut conn, &since).await?;
    let views = rows
        .into_iter()
        .map(|row| {
            let own = pauses.get(&row.case_id).map_or(&[][..], Vec::as_slice);
            ledger_view(row, own, rules.clearing, now)
        })
        .collect::<Result<_, _>>()?;
    Ok(Json(views))
}
