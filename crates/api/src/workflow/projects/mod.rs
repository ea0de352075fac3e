//! Counties and key projects: registration and edits by officers, designation by leaders
//! (DOMAIN.md, "Key projects": the list is the bureau's, not the applicant's), and each
//! project's history.
//!
//! | endpoint | who | what | file |
//! |---|---|---|---|
//! | `POST /projects` | officer (own counties), leader, admin | register; level, sector and list membership start unlisted, an officer may add a `proposal` | [`register`] |
//! | `PATCH /projects/{id}` | officer (own counties), leader, admin | name, category, planned start, proposal; `If-Match` | [`edit`] |
//! | `PUT /projects/{id}/designation` | leader, admin | put on the list, take off, set level and sector; `If-Match`, with a reason | [`designate`] |
//! | `GET /projects/{id}` | whoever sees the project | the project with its cases (phases or segments) and their totals, and its advance-use figures | here, [`phases`], [`advance_use`] |
//! | `GET /projects/{id}/history` | whoever sees the project | every registration, edit, proposal, designation, start and advance-use request and decision | here |
//! | `POST`, `GET /projects/{id}/advance-use`, `POST …/{request_id}/decision` | officer, reviewer; leader decides | advance use (先行用地) | [`advance_use`] |

pub mod advance_use;
pub mod designate;
pub mod edit;
pub mod phases;
pub mod register;

use axum::{
    extract::{Path, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use chrono::{DateTime, NaiveDate, Utc};
use landuse_domain::{
    designation::{Designation, FieldChange, FieldRefusal},
    project::{ProjectLevel, ProjectSector, UnknownCode},
};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

pub use self::register::county_for;
use crate::{
    app::AppState,
    auth::Caller,
    http::{
        error::ApiError,
        etag::{etag_header, require_if_match},
        idempotency::Reply,
        write::Write,
    },
    store::{
        self,
        projects::{NewEvent, ProjectRow, StoredProposal},
    },
};

/// A county of the region.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct County {
    /// The administrative code.
    pub code: String,
    /// The county's name.
    pub name: String,
    /// Older codes still accepted on input.
    pub aliases: Vec<String>,
}

/// `GET /api/v1/counties`: the region's counties.
#[utoipa::path(get, path = "/counties", tag = "projects", responses((status = 200, description = "The region's counties", body = [County])))]
#[tracing::instrument(skip_all)]
pub async fn list_counties(
    State(state): State<AppState>,
    _caller: Caller,
) -> Result<Json<Vec<County>>, ApiError> {
    let mut conn = state
        .db
        .acquire()
        .await
        .map_err(|e| ApiError::db("listing counties", e))?;
    let rows = store::projects::counties(&mut conn).await?;
    let counties = rows
        .into_iter()
        .map(|row| County {
            code: row.code,
            name: row.name,
            aliases: row.aliases,
        })
        .collect();
    Ok(Json(counties))
}

/// What a project is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProjectCategory {
    /// Roads, water, energy and the like.
    Infrastructure,
    /// Industrial projects.
    Industry,
    /// Housing, schools, hospitals and other public services.
    Livelihood,
}

impl ProjectCategory {
    /// The code stored and shown.
    pub fn code(self) -> &'static str {
        match self {
            Self::Infrastructure => "infrastructure",
            Self::Industry => "industry",
            Self::Livelihood => "livelihood",
        }
    }
}

/// What an officer proposes for the list: no effect until a leader or admin designates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Proposal {
    /// The level proposed.
    pub level: ProjectLevel,
    /// The sector proposed.
    #[serde(default)]
    pub sector: Option<ProjectSector>,
    /// Proposed as a new start of its year.
    #[serde(default)]
    pub new_start: Option<bool>,
    /// Why, or the list it should be on.
    #[serde(default)]
    pub note: Option<String>,
}

/// A key project as the API shows it. `level`, `sector`, `on_key_list`, `new_start`, `year`,
/// `list_document` and `responsible_leader` are the bureau's designation, in force; `proposal`
/// is what its officer asked for.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Project {
    /// The project's id.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// Its county.
    pub county_code: String,
    /// The level in force (designated; `county` until then).
    pub level: ProjectLevel,
    /// What it is for.
    pub category: ProjectCategory,
    /// The sector in force (designated; `other` until then).
    pub sector: ProjectSector,
    /// On a provincial or municipal key-project list (rides the green channel, first in the
    /// quota queue); only a designation sets it.
    pub on_key_list: bool,
    /// A new start of its list year (counts in the start-rate report).
    pub new_start: bool,
    /// The list year.
    pub year: i32,
    /// When it is planned to start.
    pub planned_start: Option<NaiveDate>,
    /// The responsible leader (局领导包抓).
    pub responsible_leader: Option<String>,
    /// The document that put it on the list or took it off.
    pub list_document: Option<String>,
    /// When it actually started.
    pub started_on: Option<NaiveDate>,
    /// The officer's proposal for the list, until a designation decides it.
    pub proposal: Option<Proposal>,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
    /// Its version, the ETag.
    pub version: i64,
    /// Its advance-use figures: pre-reviewed, allowed, used and remaining area. Only
    /// `GET /projects/{id}` carries them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advance_use: Option<advance_use::AdvanceUseFigures>,
}

fn stored<T>(doing: &'static str, parsed: Result<T, UnknownCode>) -> Result<T, ApiError> {
    parsed.map_err(|e| ApiError::internal(doing, e))
}

impl Project {
    /// The view of a stored row; a stored level, sector or category the service does not know
    /// is a 500 (logged), never a default.
    ///
    /// # Errors
    /// As above.
    pub fn from_row(row: ProjectRow) -> Result<Self, ApiError> {
        let proposal = match (row.proposed_for_list, &row.proposed_level) {
            (true, Some(level)) => Some(Proposal {
                level: stored("reading a project's proposed level", ProjectLevel::parse(level))?,
                sector: row
                    .proposed_sector
                    .as_deref()
                    .map(|s| stored("reading a project's proposed sector", ProjectSector::parse(s)))
                    .transpose()?,
                new_start: row.proposed_new_start,
                note: row.proposal_note.clone(),
            }),
            _ => None,
        };
        Ok(Self {
            level: stored("reading a project's level", ProjectLevel::parse(&row.level))?,
            sector: stored("reading a project's sector", ProjectSector::parse(&row.sector))?,
            category: ProjectCategory::deserialize(serde_json::Value::String(row.category))
                .map_err(|e| ApiError::internal("reading a project's category", e))?,
            id: row.id,
            name: row.name,
            county_code: row.county_code,
            on_key_list: row.on_key_list,
            new_start: row.new_start,
            year: row.year,
            planned_start: row.planned_start,
            responsible_leader: row.responsible_leader,
            list_document: row.list_document,
            started_on: row.started_on,
            proposal,
            created_at: row.created_at,
            version: row.version,
            advance_use: None,
        })
    }

    fn designation(&self) -> Designation {
        Designation {
            on_key_list: self.on_key_list,
            level: self.level,
            sector: self.sector,
            new_start: self.new_start,
            year: self.year,
            list_document: self.list_document.clone(),
            responsible_leader: self.responsible_leader.clone(),
        }
    }
}

/// A name as stored: trimmed, not blank.
fn name(value: &str) -> Result<&str, ApiError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        Err(ApiError::invalid(
            "invalid-field",
            "name",
            "the name must not be empty",
        ))
    } else {
        Ok(trimmed)
    }
}

/// A designation-only field set where it may not be: 403 for an officer, 422 for a leader or
/// admin (who use the designation endpoint).
fn refused(e: &FieldRefusal) -> ApiError {
    match e {
        FieldRefusal::RoleMayNot { .. } => ApiError::Forbidden(e.to_string()),
        FieldRefusal::DesignationOnly { field } => ApiError::invalid(
            "designation-only",
            field.code(),
            format!("{e}: use PUT /api/v1/projects/{{id}}/designation"),
        ),
    }
}

/// A proposal as its history shows it: `level provincial, sector energy: note`.
fn proposal_text(p: &StoredProposal) -> Option<String> {
    p.for_list.then(|| {
        let mut parts = vec![format!("level {}", p.level.as_deref().unwrap_or("?"))];
        parts.extend(p.sector.as_ref().map(|sector| format!("sector {sector}")));
        parts.extend(p.new_start.map(|new_start| format!("new start {new_start}")));
        let text = parts.join(", ");
        match &p.note {
            Some(note) => format!("{text}: {note}"),
            None => text,
        }
    })
}

/// A submitted proposal as stored (a blank note is no note).
fn stored_proposal(p: Option<&Proposal>) -> StoredProposal {
    p.map_or_else(StoredProposal::default, |p| StoredProposal {
        for_list: true,
        level: Some(p.level.code().to_owned()),
        sector: p.sector.map(|s| s.code().to_owned()),
        new_start: p.new_start,
        note: p
            .note
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_owned),
    })
}

/// Loads a project the caller sees (404 otherwise, as if it did not exist).
async fn visible(
    conn: &mut PgConnection,
    caller: &Caller,
    id: Uuid,
    lock: bool,
) -> Result<ProjectRow, ApiError> {
    store::projects::load(conn, id, lock)
        .await?
        .filter(|p| caller.sees(&p.county_code))
        .ok_or(ApiError::NotFound("project"))
}

/// Loads project `id` under lock for a write and checks `If-Match` against its version.
async fn lock_project<B>(
    write: &mut Write<B>,
    id: Uuid,
    headers: &HeaderMap,
) -> Result<ProjectRow, ApiError> {
    let row = visible(&mut write.tx, &write.caller, id, true).await?;
    require_if_match(headers, row.version)?;
    Ok(row)
}

/// What a project write records in the project's history.
struct ProjectChange {
    kind: &'static str,
    reason: Option<String>,
    changes: Vec<FieldChange>,
}

/// Ends a project write: appends `change` to the project's history (done by the writer, now)
/// and answers the project as `row` holds it, with its ETag.
async fn answer_project<B>(
    write: &mut Write<B>,
    row: ProjectRow,
    change: ProjectChange,
    status: StatusCode,
) -> Result<Reply, ApiError> {
    let event = NewEvent {
        project_id: row.id,
        at: write.now,
        actor: Some((write.caller.user_id, write.caller.role)),
        kind: change.kind,
        reason: change.reason,
        changes: change.changes,
    };
    store::projects::append_event(&mut write.tx, &event).await?;
    project_reply(status, &Project::from_row(row)?)
}

fn project_reply(status: StatusCode, project: &Project) -> Result<Reply, ApiError> {
    Ok(Reply::json(status, project)?.header(header::ETAG, etag_header(project.version)))
}

/// `GET /api/v1/projects`: the projects of the counties the caller sees.
#[utoipa::path(get, path = "/projects", tag = "projects", responses((status = 200, description = "The projects of the counties the caller sees", body = [Project])))]
#[tracing::instrument(skip_all)]
pub async fn list_projects(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<Project>>, ApiError> {
    let mut tx = state.begin_for(&caller).await?;
    let rows = store::projects::list(&mut tx, caller.county_filter().as_deref()).await?;
    Ok(Json(
        rows.into_iter()
            .map(Project::from_row)
            .collect::<Result<_, _>>()?,
    ))
}

/// A project with its cases: each phase or segment with its stage, area, quota and offset, and
/// their totals.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProjectView {
    /// The project.
    #[serde(flatten)]
    pub project: Project,
    /// Its cases and their totals.
    pub cases: phases::ProjectCases,
}

/// `GET /api/v1/projects/{id}`: the project with its cases and their totals. The ETag is the
/// project's version (for `If-Match` on project writes); the cases change without it.
#[utoipa::path(get, path = "/projects/{id}", tag = "projects", params(("id" = Uuid, Path, description = "The project id")), responses((status = 200, description = "The project with its cases", body = ProjectView, headers(("ETag" = String, description = "Its version")))))]
#[tracing::instrument(skip_all, fields(project = %id))]
pub async fn get_project(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<Response, ApiError> {
    let mut tx = state.begin_for(&caller).await?;
    let row = visible(&mut tx, &caller, id, false).await?;
    let figures = advance_use::figures(&mut tx, &row).await?;
    let project = Project {
        advance_use: Some(figures),
        ..Project::from_row(row)?
    };
    let cases = phases::project_cases(&mut tx, id).await?;
    let etag = etag_header(project.version);
    Ok(([(header::ETAG, etag)], Json(ProjectView { project, cases })).into_response())
}

/// One event of a project's history.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProjectEvent {
    /// Its sequence number.
    pub id: i64,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Who (user name); `null` for what the system recorded itself.
    pub actor: Option<String>,
    /// In which role.
    pub actor_role: Option<String>,
    /// `registered`, `edited`, `proposed`, `designated`, `taken_off`, `classified`,
    /// `start_recorded`, `advance_use_requested`, `advance_use_approved` or
    /// `advance_use_refused`.
    pub kind: String,
    /// Why (every designation gives one).
    pub reason: Option<String>,
    /// Each field that changed, before and after.
    pub changes: Vec<FieldChange>,
}

/// `GET /api/v1/projects/{id}/history`: every registration, edit, proposal, designation and
/// recorded start of the project, oldest first.
#[utoipa::path(get, path = "/projects/{id}/history", operation_id = "project_history", tag = "projects", params(("id" = Uuid, Path, description = "The project id")), responses((status = 200, description = "The project's history, oldest first", body = [ProjectEvent])))]
#[tracing::instrument(skip_all, fields(project = %id))]
pub async fn history(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<Json<Vec<ProjectEvent>>, ApiError> {
    let mut tx = state.begin_for(&caller).await?;
    visible(&mut tx, &caller, id, false).await?;
    let events = store::projects::history(&mut tx, id)
        .await?
        .into_iter()
        .map(|row| {
            Ok(ProjectEvent {
                changes: serde_json::from_value(row.changes)
                    .map_err(|e| ApiError::internal("reading a project event's changes", e))?,
                id: row.id,
                at: row.at,
                actor: row.actor,
                actor_role: row.actor_role,
                kind: row.kind,
                reason: row.reason,
            })
        })
        .collect::<Result<_, ApiError>>()?;
    Ok(Json(events))
}
