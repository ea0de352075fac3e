//! `POST /projects`: register a project (officers in their counties; leaders and admins
//! anywhere). It starts unlisted; an officer may propose it for the list.

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::Response,
};
use chrono::NaiveDate;
use landuse_domain::{
    designation::{check_fields, Designation, FieldChange, ProjectField},
    project::{ProjectLevel, ProjectSector},
    role::Role,
};
use serde::Deserialize;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{
    answer_project, name, proposal_text, refused, stored_proposal, Project, ProjectCategory, ProjectChange,
    Proposal,
};
use crate::{
    app::AppState,
    auth::Caller,
    http::{
        error::ApiError,
        write::{Json, Write},
    },
    store::{self, projects::NewProjectRow},
};

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
    /// The project's name: not blank; surrounding whitespace is dropped.
    #[schema(pattern = "\\S")]
    pub name: String,
    /// County code (older aliases accepted).
    #[schema(pattern = "^[0-9]{6}$")]
    pub county_code: String,
    /// What the project is for.
    pub category: ProjectCategory,
    /// The year it is registered for (its list year until a designation says otherwise).
    #[serde(deserialize_with = "crate::http::integral::whole")]
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
    #[schema(read_only)]
    pub level: Option<ProjectLevel>,
    /// Designation only: `other` or absent.
    #[serde(default)]
    #[schema(read_only)]
    pub sector: Option<ProjectSector>,
    /// Designation only: `false` or absent.
    #[serde(default)]
    #[schema(read_only)]
    pub on_key_list: Option<bool>,
    /// Designation only: `false` or absent.
    #[serde(default)]
    #[schema(read_only)]
    pub new_start: Option<bool>,
    /// Designation only: absent.
    #[serde(default)]
    #[schema(read_only)]
    pub responsible_leader: Option<String>,
    /// Designation only: absent.
    #[serde(default)]
    #[schema(read_only)]
    pub list_document: Option<String>,
}

impl NewProject {
    /// The designation fields it sets to something other than an unlisted project's values.
    fn designation_fields(&self) -> Vec<ProjectField> {
        let unlisted = Designation::unlisted(self.year);
        [
            (
                ProjectField::Level,
                self.level.is_some_and(|l| l != unlisted.level),
            ),
            (
                ProjectField::Sector,
                self.sector.is_some_and(|s| s != unlisted.sector),
            ),
            (ProjectField::OnKeyList, self.on_key_list == Some(true)),
            (ProjectField::NewStart, self.new_start == Some(true)),
            (ProjectField::ResponsibleLeader, self.responsible_leader.is_some()),
            (ProjectField::ListDocument, self.list_document.is_some()),
        ]
        .into_iter()
        .filter_map(|(field, set)| set.then_some(field))
        .collect()
    }
}

/// Resolves a county code (or alias) for the caller on `conn`: unknown codes are 422 naming
/// `field`; counties the caller does not serve are 404, as if they did not exist.
///
/// # Errors
/// As above.
pub async fn resolve_county(
    conn: &mut PgConnection,
    caller: &Caller,
    code: &str,
    field: &str,
) -> Result<String, ApiError> {
    let county = crate::admin::resolve_county(conn, code).await.map_err(|_| {
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

/// [`resolve_county`] on a connection of its own, for handlers that have no transaction yet.
///
/// # Errors
/// As [`resolve_county`]; database failures.
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
    resolve_county(&mut conn, caller, code, field).await
}

/// `POST /api/v1/projects`: register a project (officers in their counties; leaders and
/// admins anywhere). It starts unlisted; an officer may propose it for the list.
#[utoipa::path(post, path = "/projects", tag = "projects", request_body = NewProject, responses((status = 201, description = "Registered", body = Project, headers(("ETag" = String), ("Location" = String))), (status = 403, description = "An officer set a designation-only field (named in the detail)"), (status = 422, description = "An invalid field, or a designation-only field set by a leader or admin")))]
#[tracing::instrument(skip_all)]
pub async fn create_project(mut write: Write<Json<NewProject>>) -> Result<Response, ApiError> {
    write
        .caller
        .require(&[Role::Officer, Role::Leader, Role::Admin], "register projects")?;
    let p = &write.body.0;
    let name = name(&p.name)?;
    check_fields(write.caller.role, &p.designation_fields()).map_err(|e| refused(&e))?;
    if !(2000..=2100).contains(&p.year) {
        return Err(ApiError::invalid(
            "invalid-field",
            "year",
            "the year must be between 2000 and 2100",
        ));
    }
    let proposal = stored_proposal(p.proposal.as_ref());
    let county = resolve_county(&mut write.tx, &write.caller, &p.county_code, "county_code").await?;
    let new = NewProjectRow {
        id: Uuid::now_v7(),
        name,
        county_code: &county,
        category: p.category.code(),
        year: p.year,
        planned_start: p.planned_start,
        proposal: &proposal,
        created_by: write.caller.user_id,
        at: write.now,
    };
    let row = store::projects::insert(&mut write.tx, &new).await?;
    let changes = [
        FieldChange::between(ProjectField::Name, None, Some(&row.name)),
        FieldChange::between(ProjectField::Category, None, Some(&row.category)),
        FieldChange::between(ProjectField::Year, None, Some(&row.year)),
        FieldChange::between(ProjectField::PlannedStart, None, row.planned_start.as_ref()),
        FieldChange::between(ProjectField::Proposal, None, proposal_text(&proposal).as_ref()),
    ];
    let location = HeaderValue::from_str(&format!("/api/v1/projects/{}", row.id))
        .map_err(|e| ApiError::internal("building the location", e))?;
    let change = ProjectChange {
        kind: "registered",
        reason: None,
        changes: changes.into_iter().flatten().collect(),
    };
    let reply = answer_project(&mut write, row, change, StatusCode::CREATED).await?;
    write.finish(reply.header(header::LOCATION, location)).await
}
