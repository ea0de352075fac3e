//! `PATCH /projects/{id}`: edit a project's ordinary fields and its proposal, under `If-Match`.

use axum::{
    extract::Path,
    http::{HeaderMap, StatusCode},
    response::Response,
};
use chrono::NaiveDate;
use landuse_domain::{
    designation::{check_fields, FieldChange, ProjectField},
    role::Role,
};
use serde::Deserialize;
use uuid::Uuid;

use super::{
    answer_project, lock_project, name, project_reply, proposal_text, refused, stored_proposal, Project,
    ProjectCategory, ProjectChange, Proposal,
};
use crate::{
    http::{
        error::ApiError,
        etag::etag,
        write::{Json, Write},
    },
    store::{
        self,
        projects::{OrdinaryFields, ProjectRow, StoredProposal},
    },
};

/// The body of `PATCH /api/v1/projects/{id}`: the fields to change. The designation's fields
/// (`level`, `sector`, `on_key_list`, `new_start`, `year`, `list_document`,
/// `responsible_leader`) are refused here, naming the field: 403 for an officer, 422 for a
/// leader or admin (who use `PUT /projects/{id}/designation`).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectEdit {
    /// A new name: not blank.
    #[serde(default)]
    #[schema(pattern = "\\S")]
    pub name: Option<String>,
    /// A new category.
    #[serde(default)]
    pub category: Option<ProjectCategory>,
    /// A new planned start.
    #[serde(default)]
    pub planned_start: Option<NaiveDate>,
    /// A new proposal for the list (replaces the one there is).
    #[serde(default)]
    pub proposal: Option<Proposal>,
    /// Refused: designation only.
    #[serde(default)]
    #[schema(read_only)]
    pub level: Option<String>,
    /// Refused: designation only.
    #[serde(default)]
    #[schema(read_only)]
    pub sector: Option<String>,
    /// Refused: designation only.
    #[serde(default)]
    #[schema(read_only)]
    pub on_key_list: Option<bool>,
    /// Refused: designation only.
    #[serde(default)]
    #[schema(read_only)]
    pub new_start: Option<bool>,
    /// Refused: designation only.
    #[serde(default, deserialize_with = "crate::http::integral::whole_opt")]
    #[schema(read_only)]
    pub year: Option<i32>,
    /// Refused: designation only.
    #[serde(default)]
    #[schema(read_only)]
    pub list_document: Option<String>,
    /// Refused: designation only.
    #[serde(default)]
    #[schema(read_only)]
    pub responsible_leader: Option<String>,
}

impl ProjectEdit {
    /// The designation fields it tries to set.
    fn designation_fields(&self) -> Vec<ProjectField> {
        [
            (ProjectField::Level, self.level.is_some()),
            (ProjectField::Sector, self.sector.is_some()),
            (ProjectField::OnKeyList, self.on_key_list.is_some()),
            (ProjectField::NewStart, self.new_start.is_some()),
            (ProjectField::Year, self.year.is_some()),
            (ProjectField::ListDocument, self.list_document.is_some()),
            (ProjectField::ResponsibleLeader, self.responsible_leader.is_some()),
        ]
        .into_iter()
        .filter_map(|(field, set)| set.then_some(field))
        .collect()
    }
}

/// What changes between `row` and `fields` (with the proposal `was` before), field by field.
fn changes(row: &ProjectRow, was: &StoredProposal, fields: &OrdinaryFields<'_>) -> Vec<FieldChange> {
    [
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
            proposal_text(was).as_ref(),
            proposal_text(fields.proposal).as_ref(),
        ),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// `PATCH /api/v1/projects/{id}`: edit a project's ordinary fields and its proposal, under
/// `If-Match` with its ETag (officers of its county, leaders, admins). Each edit is an event in
/// its history; an edit that changes nothing answers the project as it is.
#[utoipa::path(patch, path = "/projects/{id}", tag = "projects", params(("id" = Uuid, Path, description = "The project id"), ("If-Match" = String, Header, description = "The project's ETag")), request_body = ProjectEdit, responses((status = 200, description = "The project as edited", body = Project, headers(("ETag" = String))), (status = 403, description = "An officer tried a designation-only field (named)"), (status = 412, description = "The project changed since it was read"), (status = 422, description = "An invalid field, or a designation-only field from a leader or admin")))]
#[tracing::instrument(skip_all, fields(project = %id))]
pub async fn edit_project(
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    mut write: Write<Json<ProjectEdit>>,
) -> Result<Response, ApiError> {
    write
        .caller
        .require(&[Role::Officer, Role::Leader, Role::Admin], "edit projects")?;
    check_fields(write.caller.role, &write.body.0.designation_fields()).map_err(|e| refused(&e))?;
    let new_name = write
        .body
        .0
        .name
        .as_deref()
        .map(name)
        .transpose()?
        .map(str::to_owned);
    let row = lock_project(&mut write, id, &headers).await?;
    let edit = &write.body.0;
    let was = StoredProposal::of(&row);
    let proposal = edit
        .proposal
        .as_ref()
        .map_or_else(|| was.clone(), |p| stored_proposal(Some(p)));
    let fields = OrdinaryFields {
        name: new_name.as_deref().unwrap_or(&row.name),
        category: match edit.category {
            Some(category) => category.code(),
            None => &row.category,
        },
        planned_start: edit.planned_start.or(row.planned_start),
        proposal: &proposal,
    };
    let changes = changes(&row, &was, &fields);
    if changes.is_empty() {
        let reply = project_reply(StatusCode::OK, &Project::from_row(row)?)?;
        return write.finish(reply).await;
    }
    let kind = if changes.iter().all(|c| c.field == ProjectField::Proposal) {
        "proposed"
    } else {
        "edited"
    };
    let updated = store::projects::update_ordinary(&mut write.tx, id, row.version, &fields)
        .await?
        .ok_or_else(|| ApiError::PreconditionFailed {
            current: etag(row.version + 1),
        })?;
    let change = ProjectChange {
        kind,
        reason: None,
        changes,
    };
    let reply = answer_project(&mut write, updated, change, StatusCode::OK).await?;
    write.finish(reply).await
}
