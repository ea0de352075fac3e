//! `PUT /projects/{id}/designation`: a leader or admin puts a project on the key-project list
//! or takes it off; the domain decides (`decide_designation`), and the project's cases follow
//! its list membership onto or off the green channel.

use axum::{
    extract::Path,
    http::{HeaderMap, StatusCode},
    response::Response,
};
use landuse_domain::{
    designation::{
        self, decide_designation, DesignationError, DesignationRequest, FieldChange, ProjectField,
    },
    project::{ProjectLevel, ProjectSector},
    reason::Reason,
};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::{answer_project, lock_project, proposal_text, Project, ProjectChange};
use crate::{
    http::{
        error::ApiError,
        etag::etag,
        write::{Json, Write},
    },
    store::{
        self,
        projects::{StoredDesignation, StoredProposal},
    },
    workflow::cases::{append_event, load_rules, settle, CaseEvent},
};

/// The body of `PUT /api/v1/projects/{id}/designation`: the bureau's decision. Fields left
/// out keep their values; putting a project on the list needs a level above `county`, the
/// list document and the responsible leader.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DesignationBody {
    /// `true` puts the project on the key-project list (or keeps it there with the values
    /// given); `false` takes it off (or keeps it off).
    pub on_key_list: bool,
    /// The level.
    #[serde(default)]
    pub level: Option<ProjectLevel>,
    /// The sector.
    #[serde(default)]
    pub sector: Option<ProjectSector>,
    /// A new start of its list year.
    #[serde(default)]
    pub new_start: Option<bool>,
    /// The list year.
    #[serde(default, deserialize_with = "crate::http::integral::whole_opt")]
    #[schema(minimum = 2000, maximum = 2100)]
    pub year: Option<i32>,
    /// The list document (文号) that lists it or takes it off.
    #[serde(default)]
    pub list_document: Option<String>,
    /// The responsible leader (包抓领导).
    #[serde(default)]
    pub responsible_leader: Option<String>,
    /// Why: kept in the project's history; not blank, at most 2000 characters.
    #[serde(deserialize_with = "crate::workflow::reason::required")]
    #[schema(value_type = String, pattern = "\\S", max_length = 2000)]
    pub reason: Reason,
}

impl From<DesignationBody> for DesignationRequest {
    fn from(b: DesignationBody) -> Self {
        Self {
            on_key_list: b.on_key_list,
            level: b.level,
            sector: b.sector,
            new_start: b.new_start,
            year: b.year,
            list_document: b.list_document,
            responsible_leader: b.responsible_leader,
            reason: b.reason.into(),
        }
    }
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
#[tracing::instrument(skip_all, fields(project = %id))]
pub async fn designate(
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    mut write: Write<Json<DesignationBody>>,
) -> Result<Response, ApiError> {
    designation::may_designate(write.caller.role).map_err(|e| designation_refused(&e))?;
    let request = DesignationRequest::from(write.body.0.clone());
    designation::check_request(&request).map_err(|e| designation_refused(&e))?;
    let row = lock_project(&mut write, id, &headers).await?;
    let (version, was) = (row.version, StoredProposal::of(&row));
    let current = Project::from_row(row)?.designation();
    let decided =
        decide_designation(write.caller.role, &current, request).map_err(|e| designation_refused(&e))?;
    let d = &decided.designation;
    let stored = StoredDesignation {
        on_key_list: d.on_key_list,
        level: d.level.code(),
        sector: d.sector.code(),
        new_start: d.new_start,
        year: d.year,
        list_document: d.list_document.as_deref(),
        responsible_leader: d.responsible_leader.as_deref(),
    };
    let updated = store::projects::update_designation(&mut write.tx, id, version, &stored)
        .await?
        .ok_or_else(|| ApiError::PreconditionFailed {
            current: etag(version + 1),
        })?;
    let (kind, reason) = (decided.kind.code(), decided.reason.as_str().to_owned());
    resettle_cases(&mut write, id, kind, &reason).await?;
    let mut changes = decided.changes;
    changes.extend(FieldChange::between(
        ProjectField::Proposal,
        proposal_text(&was).as_ref(),
        None,
    ));
    let change = ProjectChange {
        kind,
        reason: Some(reason),
        changes,
    };
    let reply = answer_project(&mut write, updated, change, StatusCode::OK).await?;
    write.finish(reply).await
}

/// Brings the project's cases in step with its new designation, in the designation's
/// transaction: a case's green channel (and so its time limits and deadline) follows its
/// project's list membership, so each case gets a new version, its stored green flag and
/// deadline (which order the queue and drive the sweeper) from its view, and an event naming
/// the designation in its own history.
async fn resettle_cases<B>(
    write: &mut Write<B>,
    project_id: Uuid,
    kind: &str,
    reason: &str,
) -> Result<(), ApiError> {
    let ids = store::cases::ids_of_project(&mut write.tx, project_id).await?;
    if ids.is_empty() {
        return Ok(());
    }
    let rules = load_rules(&mut write.tx).await?;
    for id in ids {
        // A new version, the green channel and the deadline as the project now makes them.
        let view = settle(&mut write.tx, &rules, &write.caller, id, write.now).await?;
        let event = CaseEvent::new(format!("project_{kind}"), None, None)
            .because(Some(reason))
            .with(json!({ "project_id": project_id, "green": view.green }));
        append_event(&mut write.tx, id, write.now, &write.caller, &event).await?;
    }
    Ok(())
}
