//! `POST /cases`: an officer opens a draft case for a project of their county.

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::Response,
};
use landuse_domain::{project::OutsideBoundaryUse, role::Role, stage::Stage};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{append_event, load_case, load_rules, view, CaseEvent, CaseView};
use crate::{
    auth::Caller,
    http::{
        error::ApiError,
        write::{Json, Write},
    },
    store::{self, cases::NewCaseRow, projects::ProjectRow},
    workflow::projects::phases::{self, CasePhase},
};

/// What a case declares for the verdict rules (its `declarations`).
#[derive(Debug, Default, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Declarations {
    /// The case is an activity on the allowed list of the red-line and core zones.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allowed_activity: bool,
    /// The use that lets the project lie outside the urban development boundary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outside_boundary_use: Option<OutsideBoundaryUse>,
}

/// The body of `POST /api/v1/cases`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCase {
    /// The project the land is for (one of the caller's counties).
    pub project_id: Uuid,
    /// A title: not blank; surrounding whitespace is dropped.
    #[schema(pattern = "\\S")]
    pub title: String,
    /// What the case declares for the verdict rules; none when absent.
    #[serde(default)]
    pub declarations: Option<Declarations>,
    /// Which phase or segment of its project the case is: required when the project already
    /// has a live case, allowed only on the green channel (see docs/api.md, "Phased and
    /// segmented cases").
    #[serde(default)]
    pub phase: Option<CasePhase>,
}

/// The project a new case is for, locked: its other cases are weighed for the phase rules one
/// write at a time. A project the caller does not see is a 422 naming `project_id`.
async fn locked_project(conn: &mut PgConnection, caller: &Caller, id: Uuid) -> Result<ProjectRow, ApiError> {
    store::projects::load(conn, id, true)
        .await?
        .filter(|p| caller.sees(&p.county_code))
        .ok_or_else(|| {
            ApiError::invalid(
                "unknown-project",
                "project_id",
                "no such project in your counties",
            )
        })
}

/// `POST /api/v1/cases`: an officer opens a draft case for a project of their county.
#[utoipa::path(post, path = "/cases", tag = "cases", request_body = NewCase, responses((status = 201, description = "A draft case", body = CaseView, headers(("ETag" = String), ("Content-Location" = String), ("Location" = String)))))]
#[tracing::instrument(skip_all)]
pub async fn create_case(mut write: Write<Json<NewCase>>) -> Result<Response, ApiError> {
    write.caller.require(&[Role::Officer], "open cases")?;
    let new = &write.body.0;
    let title = new.title.trim();
    if title.is_empty() {
        return Err(ApiError::invalid(
            "invalid-field",
            "title",
            "the title must not be empty",
        ));
    }
    let phase = new.phase.as_ref().map(CasePhase::parse).transpose()?;
    let declarations = serde_json::to_value(new.declarations.clone().unwrap_or_default())
        .map_err(|e| ApiError::internal("storing the declarations", e))?;
    let project = locked_project(&mut write.tx, &write.caller, new.project_id).await?;
    phases::admit(&mut write.tx, &project, phase.as_ref()).await?;
    let id = Uuid::now_v7();
    let row = NewCaseRow {
        id,
        project_id: project.id,
        county_code: &project.county_code,
        title,
        green: project.on_key_list,
        declarations: &declarations,
        phase: phase.as_ref().map(|p| {
            (
                p.kind().code(),
                i32::try_from(p.number()).unwrap_or(i32::MAX),
                p.name(),
            )
        }),
        officer_id: write.caller.user_id,
        at: write.now,
    };
    store::cases::insert(&mut write.tx, &row).await?;
    let created = CaseEvent::new("created", None, Some(Stage::Draft));
    append_event(&mut write.tx, id, write.now, &write.caller, &created).await?;
    // A new case is version 1: nothing to settle, only its view to build.
    let rules = load_rules(&mut write.tx).await?;
    let case = load_case(&mut write.tx, &write.caller, id, false).await?;
    let view = view::case_view(&mut write.tx, &rules, case, write.now).await?;
    let location = HeaderValue::from_str(&format!("/api/v1/cases/{id}"))
        .map_err(|e| ApiError::internal("building the location", e))?;
    let reply = view::case_reply(StatusCode::CREATED, &view)?.header(header::LOCATION, location);
    write.finish(reply).await
}
