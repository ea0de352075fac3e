//! Counties and key projects: registration and edits by officers, designation by leaders
//! (DOMAIN.md, "Key projects": the list is the bureau's, not the applicant's), and each
//! project's history.
//!
//! | endpoint | who | what |
//! |---|---|---|
//! | `POST /projects` | officer (own counties), leader, admin | register; level, sector and list membership start unlisted, an officer may add a `proposal` |
//! | `PATCH /projects/{id}` | officer (own counties), leader, admin | name, category, planned start, proposal; `If-Match` |
//! | `PUT /projects/{id}/designation` | leader, admin | put on the list, take off, set level and sector; `If-Match`, with a reason |
//! | `GET /projects/{id}/history` | whoever sees the project | every registration, edit, proposal, designation and start |

use axum::{
    extract::{Path, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use chrono::{DateTime, NaiveDate, Utc};
use landuse_domain::{
    designation::{
        self, check_fields, decide_designation, Designation, DesignationError, DesignationRequest,
        FieldChange, FieldRefusal, ProjectField,
    },
    project::{ProjectLevel, ProjectSector, UnknownCode},
    role::Role,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::project_store::{self as store, NewEvent, ProjectRow, StoredProposal};
use crate::{
    app::AppState,
    auth::Caller,
    http::{
        error::ApiError,
        etag::{etag, etag_header, require_if_match},
        idempotency::{IdempotencyKey, Reply},
        json::JsonBody,
    },
};

/// A county of the region.
#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct County {
    /// Administrative code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Older codes still accepted on input.
    pub aliases: Vec<String>,
}

/// `GET /api/v1/counties`: the region's counties.
#[utoipa::path(get, path = "/counties", tag = "projects", responses((status = 200, description = "The region's counties", body = [County])))]
pub async fn list_counties(
    State(state): State<AppState>,
    _caller: Caller,
) -> Result<Json<Vec<County>>, ApiError> {
    let counties = sqlx::query_as::<_, County>("select code, name, aliases from counties order by code")
        .fetch_all(&state.db)
        .await
        .map_err(|e| ApiError::db("listing counties", e))?;
    Ok(Json(counties))
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
    /// `infrastructure`, `industry` or `livelihood`.
    pub category: String,
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
}

fn stored<T>(doing: &'static str, parsed: Result<T, UnknownCode>) -> Result<T, ApiError> {
    parsed.map_err(|e| ApiError::internal(doing, e))
}

impl Project {
    /// The view of a stored row; a stored level or sector the domain does not know is a 500
    /// (logged), never a default.
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
            id: row.id,
            name: row.name,
            county_code: row.county_code,
            category: row.category,
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

/// The body of `POST /api/v1/projects`.
///
/// `level`, `sector`, `on_key_list`, `new_start`, `responsible_leader` and `list_document` are
/// the bureau's designation: a registration may only leave them out or give the values of an
/// unlisted project (`county`, `other`, `false`); anything else is refused naming the field (403
/// for an officer, who proposes with `proposal` instead; 422 for a leader or admin, who uses
/// `PUT /projects/{id}/designation`).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProject {
    /// The project's name.
    #[schema(pattern = "\\S")]
    pub name: String,
    /// County code (older aliases accepted).
    #[schema(pattern = "^[0-9]{6}$")]
    pub county_code: String,
    /// `infrastructure`, `industry` or `livelihood`.
    #[schema(pattern = "^(infrastructure|industry|livelihood)$")]
    pub category: String,
    /// The year it is registered for (its list year until a designation says otherwise).
    #[schema(minimum = 2000, maximum = 2100)]
    pub year: i32,
    /// When it is planned to start.
    #[serde(default)]
    pub planned_start: Option<NaiveDate>,
    /// A proposal for the key-project list.
    #[serde(default)]
    pub proposal: Option<Proposal>,
    /// Designation only: `county` or absent.
    #[serde(default)]
    #[schema(pattern = "^(national|provincial|municipal|county)$")]
    pub level: Option<String>,
    /// Designation only: `other` or absent.
    #[serde(default)]
    #[schema(pattern = "^(energy|transport|water|military|industry|livelihood|other)$")]
    pub sector: Option<String>,
    /// Designation only: `false` or absent.
    #[serde(default)]
    pub on_key_list: Option<bool>,
    /// Designation only: `false` or absent.
    #[serde(default)]
    pub new_start: Option<bool>,
    /// Designation only: absent.
    #[serde(default)]
    pub responsible_leader: Option<String>,
    /// Designation only: absent.
    #[serde(default)]
    pub list_document: Option<String>,
}

const CATEGORIES: [&str; 3] = ["infrastructure", "industry", "livelihood"];

fn category(value: &str) -> Result<(), ApiError> {
    if CATEGORIES.contains(&value) {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "invalid-field",
            "category",
            format!("category must be one of {}, not {value:?}", CATEGORIES.join(", ")),
        ))
    }
}

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

/// A submitted level or sector: one parse, a 422 naming the field.
fn submitted<T>(field: &str, parsed: Result<T, UnknownCode>) -> Result<T, ApiError> {
    parsed.map_err(|e| ApiError::invalid("invalid-field", field, e.to_string()))
}

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

fn proposal_of(row: &ProjectRow) -> StoredProposal {
    StoredProposal {
        for_list: row.proposed_for_list,
        level: row.proposed_level.clone(),
        sector: row.proposed_sector.clone(),
        new_start: row.proposed_new_start,
        note: row.proposal_note.clone(),
    }
}

fn actor(caller: &Caller) -> (Uuid, Role) {
    (caller.user_id, caller.role)
}

fn project_reply(status: StatusCode, project: &Project) -> Result<Reply, ApiError> {
    let body = serde_json::to_value(project).map_err(|e| ApiError::internal("writing the project", e))?;
    Ok(Reply::new(status, body).header(header::ETAG, etag_header(project.version)))
}

/// Resolves a county code for the caller: unknown codes are 422; counties the caller does not
/// serve are 404, as if they did not exist.
///
/// # Errors
/// As above.
pub async fn county_for(
    state: &AppState,
    caller: &Caller,
    code: &str,
    field: &str,
) -> Result<String, ApiError> {
    let mut conn = state
        .db
        .acquire()
        .await
        .map_err(|e| ApiError::db("resolving a county", e))?;
    let county = crate::admin::resolve_county(&mut conn, code).await.map_err(|_| {
        ApiError::invalid(
            "unknown-county",
            field,
            format!("{code:?} is not a county of the region"),
        )
    })?;
    if !caller.sees(county.as_str()) {
        return Err(ApiError::NotFound("county"));
    }
    Ok(county.as_str().to_owned())
}

/// `POST /api/v1/projects`: register a project (officers in their counties; leaders and
/// admins anywhere). It starts unlisted; an officer may propose it for the list.
#[utoipa::path(post, path = "/projects", tag = "projects", request_body = NewProject, responses((status = 201, description = "Registered", body = Project, headers(("ETag" = String), ("Location" = String))), (status = 403, description = "An officer set a designation-only field (named in the detail)"), (status = 422, description = "An invalid field, or a designation-only field set by a leader or admin")))]
pub async fn create_project(
    State(state): State<AppState>,
    caller: Caller,
    idem: IdempotencyKey,
    body: JsonBody<NewProject>,
) -> Result<Response, ApiError> {
    caller.require(&[Role::Officer, Role::Leader, Role::Admin], "register projects")?;
    if let Some(replay) = idem.replay(&state.db, &caller, &body.digest).await? {
        return Ok(replay);
    }
    let p = &body.value;
    let name = name(&p.name)?;
    category(&p.category)?;
    let level = p
        .level
        .as_deref()
        .map(|l| submitted("level", ProjectLevel::parse(l)))
        .transpose()?;
    let sector = p
        .sector
        .as_deref()
        .map(|s| submitted("sector", ProjectSector::parse(s)))
        .transpose()?;
    let unlisted = Designation::unlisted(p.year);
    let set: Vec<ProjectField> = [
        (ProjectField::Level, level.is_some_and(|l| l != unlisted.level)),
        (ProjectField::Sector, sector.is_some_and(|s| s != unlisted.sector)),
        (ProjectField::OnKeyList, p.on_key_list == Some(true)),
        (ProjectField::NewStart, p.new_start == Some(true)),
        (ProjectField::ResponsibleLeader, p.responsible_leader.is_some()),
        (ProjectField::ListDocument, p.list_document.is_some()),
    ]
    .into_iter()
    .filter_map(|(field, set)| set.then_some(field))
    .collect();
    check_fields(caller.role, &set).map_err(|e| refused(&e))?;
    if !(2000..=2100).contains(&p.year) {
        return Err(ApiError::invalid(
            "invalid-field",
            "year",
            "the year must be between 2000 and 2100",
        ));
    }
    let proposal = stored_proposal(p.proposal.as_ref());
    let county = county_for(&state, &caller, &p.county_code, "county_code").await?;
    let now = state.clock.now();
    let mut tx = state.begin_for(&caller).await?;
    let row = store::insert(
        &mut tx,
        &store::NewProjectRow {
            id: Uuid::now_v7(),
            name,
            county_code: &county,
            category: &p.category,
            year: p.year,
            planned_start: p.planned_start,
            proposal: &proposal,
            created_by: caller.user_id,
            at: now,
        },
    )
    .await
    .map_err(|e| ApiError::db("registering the project", e))?;
    let changes = [
        FieldChange::between(ProjectField::Name, None, Some(&row.name)),
        FieldChange::between(ProjectField::Category, None, Some(&row.category)),
        FieldChange::between(ProjectField::Year, None, Some(&row.year)),
        FieldChange::between(ProjectField::PlannedStart, None, row.planned_start.as_ref()),
        FieldChange::between(ProjectField::Proposal, None, proposal_text(&proposal).as_ref()),
    ]
    .into_iter()
    .flatten()
    .collect();
    store::append_event(
        &mut tx,
        &NewEvent {
            project_id: row.id,
            at: now,
            actor: Some(actor(&caller)),
            kind: "registered",
            reason: None,
            changes,
        },
    )
    .await
    .map_err(|e| ApiError::db("recording the registration", e))?;
    let project = Project::from_row(row)?;
    let location = HeaderValue::from_str(&format!("/api/v1/projects/{}", project.id))
        .map_err(|e| ApiError::internal("building the location", e))?;
    let reply = project_reply(StatusCode::CREATED, &project)?.header(header::LOCATION, location);
    idem.finish(tx, &state.db, &caller, &body.digest, reply).await
}

/// `GET /api/v1/projects`: the projects of the counties the caller sees.
#[utoipa::path(get, path = "/projects", tag = "projects", responses((status = 200, description = "The projects of the counties the caller sees", body = [Project])))]
pub async fn list_projects(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<Project>>, ApiError> {
    let mut tx = state.begin_for(&caller).await?;
    let rows = store::list(&mut tx, caller.county_filter().as_deref())
        .await
        .map_err(|e| ApiError::db("listing projects", e))?;
    Ok(Json(
        rows.into_iter()
            .map(Project::from_row)
            .collect::<Result<_, _>>()?,
    ))
}

/// Loads a project the caller sees (404 otherwise, as if it did not exist).
async fn visible(
    tx: &mut sqlx::PgConnection,
    caller: &Caller,
    id: Uuid,
    lock: bool,
) -> Result<ProjectRow, ApiError> {
    store::load(tx, id, lock)
        .await
        .map_err(|e| ApiError::db("reading the project", e))?
        .filter(|p| caller.sees(&p.county_code))
        .ok_or(ApiError::NotFound("project"))
}

/// `GET /api/v1/projects/{id}`.
#[utoipa::path(get, path = "/projects/{id}", tag = "projects", params(("id" = Uuid, Path, description = "The project id")), responses((status = 200, description = "The project", body = Project, headers(("ETag" = String, description = "Its version")))))]
pub async fn get_project(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<Response, ApiError> {
    let mut tx = state.begin_for(&caller).await?;
    let project = Project::from_row(visible(&mut tx, &caller, id, false).await?)?;
    Ok(([(header::ETAG, etag_header(project.version))], Json(project)).into_response())
}

/// The body of `PATCH /api/v1/projects/{id}`: the fields to change. The designation's fields
/// (`level`, `sector`, `on_key_list`, `new_start`, `year`, `list_document`,
/// `responsible_leader`) are refused here, naming the field: 403 for an officer, 422 for a
/// leader or admin (who use `PUT /projects/{id}/designation`).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectEdit {
    /// A new name.
    #[serde(default)]
    pub name: Option<String>,
    /// A new category.
    #[serde(default)]
    #[schema(pattern = "^(infrastructure|industry|livelihood)$")]
    pub category: Option<String>,
    /// A new planned start.
    #[serde(default)]
    pub planned_start: Option<NaiveDate>,
    /// A new proposal for the list (replaces the one there is).
    #[serde(default)]
    pub proposal: Option<Proposal>,
    /// Refused: designation only.
    #[serde(default)]
    pub level: Option<String>,
    /// Refused: designation only.
    #[serde(default)]
    pub sector: Option<String>,
    /// Refused: designation only.
    #[serde(default)]
    pub on_key_list: Option<bool>,
    /// Refused: designation only.
    #[serde(default)]
    pub new_start: Option<bool>,
    /// Refused: designation only.
    #[serde(default)]
    pub year: Option<i32>,
    /// Refused: designation only.
    #[serde(default)]
    pub list_document: Option<String>,
    /// Refused: designation only.
    #[serde(default)]
    pub responsible_leader: Option<String>,
}

/// `PATCH /api/v1/projects/{id}`: edit a project's ordinary fields and its proposal, under
/// `If-Match` with its ETag (officers of its county, leaders, admins). Each edit is an event in
/// its history; an edit that changes nothing answers the project as it is.
#[utoipa::path(patch, path = "/projects/{id}", tag = "projects", params(("id" = Uuid, Path, description = "The project id"), ("If-Match" = String, Header, description = "The project's ETag")), request_body = ProjectEdit, responses((status = 200, description = "The project as edited", body = Project, headers(("ETag" = String))), (status = 403, description = "An officer tried a designation-only field (named)"), (status = 412, description = "The project changed since it was read"), (status = 422, description = "An invalid field, or a designation-only field from a leader or admin")))]
pub async fn edit_project(
    State(state): State<AppState>,
    caller: Caller,
    idem: IdempotencyKey,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    body: JsonBody<ProjectEdit>,
) -> Result<Response, ApiError> {
    caller.require(&[Role::Officer, Role::Leader, Role::Admin], "edit projects")?;
    let edit = &body.value;
    let set: Vec<ProjectField> = [
        (ProjectField::Level, edit.level.is_some()),
        (ProjectField::Sector, edit.sector.is_some()),
        (ProjectField::OnKeyList, edit.on_key_list.is_some()),
        (ProjectField::NewStart, edit.new_start.is_some()),
        (ProjectField::Year, edit.year.is_some()),
        (ProjectField::ListDocument, edit.list_document.is_some()),
        (ProjectField::ResponsibleLeader, edit.responsible_leader.is_some()),
    ]
    .into_iter()
    .filter_map(|(field, set)| set.then_some(field))
    .collect();
    check_fields(caller.role, &set).map_err(|e| refused(&e))?;
    if let Some(replay) = idem.replay(&state.db, &caller, &body.digest).await? {
        return Ok(replay);
    }
    let new_name = edit.name.as_deref().map(name).transpose()?;
    if let Some(c) = &edit.category {
        category(c)?;
    }
    let mut tx = state.begin_for(&caller).await?;
    let row = visible(&mut tx, &caller, id, true).await?;
    require_if_match(&headers, row.version)?;
    let was = proposal_of(&row);
    let proposal = match &edit.proposal {
        Some(p) => stored_proposal(Some(p)),
        None => was.clone(),
    };
    let fields = store::OrdinaryFields {
        name: new_name.unwrap_or(&row.name),
        category: edit.category.as_deref().unwrap_or(&row.category),
        planned_start: edit.planned_start.or(row.planned_start),
        proposal: &proposal,
    };
    let changes: Vec<FieldChange> = [
        FieldChange::between(ProjectField::Name, Some(&row.name.as_str()), Some(&fields.name)),
        FieldChange::between(
            ProjectField::Category,
            Some(&row.category.as_str()),
            Some(&fields.category),
        ),
        FieldChange::between(
            ProjectField::PlannedStart,
            row.planned_start.as_ref(),
            fields.planned_start.as_ref(),
        ),
        FieldChange::between(
            ProjectField::Proposal,
            proposal_text(&was).as_ref(),
            proposal_text(&proposal).as_ref(),
        ),
    ]
    .into_iter()
    .flatten()
    .collect();
    if changes.is_empty() {
        let project = Project::from_row(row)?;
        let reply = project_reply(StatusCode::OK, &project)?;
        return idem.finish(tx, &state.db, &caller, &body.digest, reply).await;
    }
    let kind = if changes.iter().all(|c| c.field == ProjectField::Proposal) {
        "proposed"
    } else {
        "edited"
    };
    let updated = store::update_ordinary(&mut tx, id, row.version, &fields)
        .await
        .map_err(|e| ApiError::db("editing the project", e))?
        .ok_or_else(|| ApiError::PreconditionFailed {
            current: etag(row.version + 1),
        })?;
    store::append_event(
        &mut tx,
        &NewEvent {
            project_id: id,
            at: state.clock.now(),
            actor: Some(actor(&caller)),
            kind,
            reason: None,
            changes,
        },
    )
    .await
    .map_err(|e| ApiError::db("recording the edit", e))?;
    let project = Project::from_row(updated)?;
    let reply = project_reply(StatusCode::OK, &project)?;
    idem.finish(tx, &state.db, &caller, &body.digest, reply).await
}

/// The body of `PUT /api/v1/projects/{id}/designation`: the bureau's decision. Fields left
/// out keep their values; putting a project on the list needs a level above `county`, the
/// list document and the responsible leader.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DesignationBody {
    /// `true` puts the project on the key-project list (or keeps it there with the values
    /// given); `false` takes it off (or keeps it off).
    pub on_key_list: bool,
    /// The level.
    #[serde(default)]
    #[schema(pattern = "^(national|provincial|municipal|county)$")]
    pub level: Option<String>,
    /// The sector.
    #[serde(default)]
    #[schema(pattern = "^(energy|transport|water|military|industry|livelihood|other)$")]
    pub sector: Option<String>,
    /// A new start of its list year.
    #[serde(default)]
    pub new_start: Option<bool>,
    /// The list year.
    #[serde(default)]
    #[schema(minimum = 2000, maximum = 2100)]
    pub year: Option<i32>,
    /// The list document (文号) that lists it or takes it off.
    #[serde(default)]
    pub list_document: Option<String>,
    /// The responsible leader (包抓领导).
    #[serde(default)]
    pub responsible_leader: Option<String>,
    /// Why: kept in the project's history.
    pub reason: String,
}

fn designation_refused(e: &DesignationError) -> ApiError {
    match e {
        DesignationError::RoleMayNot(_) => ApiError::Forbidden(e.to_string()),
        DesignationError::Unchanged => ApiError::conflict("designation-unchanged", e.to_string()),
        DesignationError::Reason(_) => ApiError::invalid("invalid-field", "reason", e.to_string()),
        _ => ApiError::invalid(
            "invalid-designation",
            e.field().map_or("designation", ProjectField::code),
            e.to_string(),
        ),
    }
}

/// `PUT /api/v1/projects/{id}/designation`: a leader or admin puts a project on the key-project
/// list or takes it off, with its level, sector, list document, responsible leader and reason,
/// under `If-Match` with the project's ETag. The decision is an event in the project's
/// history (who, when, why, each field before and after) and clears the officer's proposal.
#[utoipa::path(put, path = "/projects/{id}/designation", tag = "projects", params(("id" = Uuid, Path, description = "The project id"), ("If-Match" = String, Header, description = "The project's ETag")), request_body = DesignationBody, responses((status = 200, description = "The project as designated", body = Project, headers(("ETag" = String))), (status = 403, description = "Not a leader or admin"), (status = 409, description = "The designation changes nothing"), (status = 412, description = "The project changed since it was read"), (status = 422, description = "A missing list document, responsible leader, level or reason")))]
pub async fn designate(
    State(state): State<AppState>,
    caller: Caller,
    idem: IdempotencyKey,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    body: JsonBody<DesignationBody>,
) -> Result<Response, ApiError> {
    designation::may_designate(caller.role).map_err(|e| designation_refused(&e))?;
    if let Some(replay) = idem.replay(&state.db, &caller, &body.digest).await? {
        return Ok(replay);
    }
    let b = &body.value;
    let request = DesignationRequest {
        on_key_list: b.on_key_list,
        level: b
            .level
            .as_deref()
            .map(|l| submitted("level", ProjectLevel::parse(l)))
            .transpose()?,
        sector: b
            .sector
            .as_deref()
            .map(|s| submitted("sector", ProjectSector::parse(s)))
            .transpose()?,
        new_start: b.new_start,
        year: b.year,
        list_document: b.list_document.clone(),
        responsible_leader: b.responsible_leader.clone(),
        reason: b.reason.clone(),
    };
    let mut tx = state.begin_for(&caller).await?;
    let row = visible(&mut tx, &caller, id, true).await?;
    require_if_match(&headers, row.version)?;
    let version = row.version;
    let was = proposal_of(&row);
    let current = Project::from_row(row)?;
    let decided = decide_designation(caller.role, &current.designation(), request)
        .map_err(|e| designation_refused(&e))?;
    let d = &decided.designation;
    let updated = store::update_designation(
        &mut tx,
        id,
        version,
        &store::StoredDesignation {
            on_key_list: d.on_key_list,
            level: d.level.code(),
            sector: d.sector.code(),
            new_start: d.new_start,
            year: d.year,
            list_document: d.list_document.as_deref(),
            responsible_leader: d.responsible_leader.as_deref(),
        },
    )
    .await
    .map_err(|e| ApiError::db("designating the project", e))?
    .ok_or_else(|| ApiError::PreconditionFailed {
        current: etag(version + 1),
    })?;
    let now = state.clock.now();
    let mut changes = decided.changes;
    changes.extend(FieldChange::between(
        ProjectField::Proposal,
        proposal_text(&was).as_ref(),
        None,
    ));
    store::append_event(
        &mut tx,
        &NewEvent {
            project_id: id,
            at: now,
            actor: Some(actor(&caller)),
            kind: decided.kind.code(),
            reason: Some(decided.reason.as_str().to_owned()),
            changes,
        },
    )
    .await
    .map_err(|e| ApiError::db("recording the designation", e))?;
    resettle_cases(
        &mut tx,
        &caller,
        id,
        decided.kind.code(),
        decided.reason.as_str(),
        now,
    )
    .await?;
    let project = Project::from_row(updated)?;
    let reply = project_reply(StatusCode::OK, &project)?;
    idem.finish(tx, &state.db, &caller, &body.digest, reply).await
}

/// Brings the project's cases in step with its new designation, in the designation's
/// transaction: a case's green channel (and so its time limits and deadline) follows its
/// project's list membership, so each case gets a new version, its stored green flag and
/// deadline (which order the queue and drive the sweeper) from its view, and an event naming
/// the designation in its own history.
async fn resettle_cases(
    tx: &mut sqlx::PgConnection,
    caller: &Caller,
    project_id: Uuid,
    kind: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    use super::cases::{append_event, load_rules, settle};
    let ids: Vec<Uuid> = sqlx::query_scalar("select id from cases where project_id = $1 order by id")
        .bind(project_id)
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| ApiError::db("finding the project's cases", e))?;
    if ids.is_empty() {
        return Ok(());
    }
    let rules = load_rules(tx).await?;
    for id in ids {
        // A new version, the green channel and the deadline as the project now makes them.
        let view = settle(tx, &rules, caller, id, now).await?;
        append_event(
            tx,
            id,
            now,
            caller,
            &format!("project_{kind}"),
            (None, None),
            Some(reason),
            serde_json::json!({ "project_id": project_id, "green": view.green }),
        )
        .await?;
    }
    Ok(())
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
    /// `registered`, `edited`, `proposed`, `designated`, `taken_off`, `classified` or
    /// `start_recorded`.
    pub kind: String,
    /// Why (every designation gives one).
    pub reason: Option<String>,
    /// Each field that changed, before and after.
    pub changes: Vec<FieldChange>,
}

/// `GET /api/v1/projects/{id}/history`: every registration, edit, proposal, designation and
/// recorded start of the project, oldest first.
#[utoipa::path(get, path = "/projects/{id}/history", operation_id = "project_history", tag = "projects", params(("id" = Uuid, Path, description = "The project id")), responses((status = 200, description = "The project's history, oldest first", body = [ProjectEvent])))]
pub async fn history(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<Json<Vec<ProjectEvent>>, ApiError> {
    let mut tx = state.begin_for(&caller).await?;
    visible(&mut tx, &caller, id, false).await?;
    let rows = store::history(&mut tx, id)
        .await
        .map_err(|e| ApiError::db("reading the project's history", e))?;
    let events = rows
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
