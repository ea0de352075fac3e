//! `GET /cases/{id}/history`: every event of a case, oldest first.

use axum::{
    extract::{Path, State},
    Json,
};
use chrono::{DateTime, Utc};
use landuse_domain::stage::Stage;
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use super::load_case;
use crate::{
    app::AppState,
    auth::Caller,
    http::error::ApiError,
    reads::ReadHint,
    store::{self, cases::CaseEventRow},
};

/// One event of a case's history.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CaseEventView {
    /// Its sequence number.
    pub id: i64,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// The user who did it; absent for the operator's command line.
    pub actor_id: Option<Uuid>,
    /// The role it was done in (`system` for the command line).
    pub actor_role: String,
    /// What happened: `created`, an action code (`submit`, `advance`, …), `documents_recorded`,
    /// `green_channel_grant`, `check_run`, `hit_dismissed`, `parcels_replaced`, …
    pub kind: String,
    /// The stage before.
    pub from_stage: Option<Stage>,
    /// The stage after.
    pub to_stage: Option<Stage>,
    /// Why, when a reason was given.
    pub reason: Option<String>,
    /// The details, which depend on the kind.
    #[schema(value_type = Object)]
    pub data: Value,
}

impl CaseEventView {
    fn from_row(row: CaseEventRow) -> Result<Self, ApiError> {
        let stage = |code: Option<String>| {
            code.as_deref()
                .map(Stage::parse)
                .transpose()
                .map_err(|e| ApiError::internal("reading an event's stage", e))
        };
        Ok(Self {
            from_stage: stage(row.from_stage)?,
            to_stage: stage(row.to_stage)?,
            id: row.id,
            at: row.at,
            actor_id: row.actor_id,
            actor_role: row.actor_role,
            kind: row.kind,
            reason: row.reason,
            data: row.data,
        })
    }
}

/// `GET /api/v1/cases/{id}/history`: every event, oldest first.
#[utoipa::path(get, path = "/cases/{id}/history", tag = "cases", params(("id" = Uuid, Path, description = "The case id")), responses((status = 200, description = "Every event, oldest first", body = [CaseEventView])))]
#[tracing::instrument(skip_all, fields(case = %id))]
pub async fn history(
    State(state): State<AppState>,
    caller: Caller,
    hint: ReadHint,
    Path(id): Path<Uuid>,
) -> Result<Json<Vec<CaseEventView>>, ApiError> {
    let mut conn = state.read_for(&caller, &hint).await?;
    load_case(&mut conn, &caller, id, false).await?;
    let rows = store::cases::history(&mut conn, id).await?;
    Ok(Json(
        rows.into_iter()
            .map(CaseEventView::from_row)
            .collect::<Result<_, _>>()?,
    ))
}
