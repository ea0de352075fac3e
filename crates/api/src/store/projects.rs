//! Projects and counties: a project's row, its designation, its officer's proposal and its
//! append-only history; the region's counties. The handlers in `crate::workflow::projects`
//! decide, these functions only read and write, in the caller's scoped transaction.

use chrono::{DateTime, NaiveDate, Utc};
use landuse_domain::{designation::FieldChange, role::Role};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{DbError, Doing};

/// The columns of [`ProjectRow`], in one place for every statement that returns one.
macro_rules! project_columns {
    () => {
        "id, name, county_code, level, category, sector, on_key_list, new_start, year, \
         planned_start, responsible_leader, list_document, started_on, proposed_for_list, \
         proposed_level, proposed_sector, proposed_new_start, proposal_note, created_at, version"
    };
}

/// A project row as stored: the designation in force (level, sector, list membership) and the
/// officer's proposal beside it, as codes the handler parses.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProjectRow {
    /// The project's id.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// The county it lies in.
    pub county_code: String,
    /// The level code in force (`county` until a designation).
    pub level: String,
    /// The category code (`infrastructure`, `industry`, `livelihood`).
    pub category: String,
    /// The sector code in force (`other` until a designation).
    pub sector: String,
    /// Whether it is on a key-project list (its cases ride the green channel).
    pub on_key_list: bool,
    /// Whether it is a new start of its list year.
    pub new_start: bool,
    /// The list year.
    pub year: i32,
    /// When it is planned to start.
    pub planned_start: Option<NaiveDate>,
    /// The leader responsible for it.
    pub responsible_leader: Option<String>,
    /// The document that put it on the list or took it off.
    pub list_document: Option<String>,
    /// When it actually started.
    pub started_on: Option<NaiveDate>,
    /// Whether its officer proposed it for the list.
    pub proposed_for_list: bool,
    /// The proposed level code.
    pub proposed_level: Option<String>,
    /// The proposed sector code.
    pub proposed_sector: Option<String>,
    /// Whether it was proposed as a new start.
    pub proposed_new_start: Option<bool>,
    /// The proposer's note.
    pub proposal_note: Option<String>,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
    /// Its version, the ETag.
    pub version: i64,
}

/// A proposal as stored: level and sector codes already checked by the handler.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StoredProposal {
    /// Whether the project is proposed for the list at all.
    pub for_list: bool,
    /// The proposed level code.
    pub level: Option<String>,
    /// The proposed sector code.
    pub sector: Option<String>,
    /// Whether it is proposed as a new start.
    pub new_start: Option<bool>,
    /// The proposer's note.
    pub note: Option<String>,
}

impl StoredProposal {
    /// The proposal a row holds.
    pub fn of(row: &ProjectRow) -> Self {
        Self {
            for_list: row.proposed_for_list,
            level: row.proposed_level.clone(),
            sector: row.proposed_sector.clone(),
            new_start: row.proposed_new_start,
            note: row.proposal_note.clone(),
        }
    }
}

/// A project to register: ordinary fields and a proposal; the designation is the unlisted one
/// (the table's defaults) until a leader decides.
#[derive(Debug)]
pub struct NewProjectRow<'a> {
    /// The new project's id.
    pub id: Uuid,
    /// Its name, trimmed.
    pub name: &'a str,
    /// Its county code, resolved from any alias.
    pub county_code: &'a str,
    /// Its category code.
    pub category: &'a str,
    /// The year it is registered for.
    pub year: i32,
    /// When it is planned to start.
    pub planned_start: Option<NaiveDate>,
    /// The officer's proposal.
    pub proposal: &'a StoredProposal,
    /// Who registers it.
    pub created_by: Uuid,
    /// When.
    pub at: DateTime<Utc>,
}

/// Inserts a project with the unlisted designation (county level, sector `other`, off the
/// list, not a new start).
///
/// # Errors
/// Database failures (a row-level security refusal among them).
#[tracing::instrument(level = "debug", skip_all, fields(project = %new.id))]
pub async fn insert(conn: &mut PgConnection, new: &NewProjectRow<'_>) -> Result<ProjectRow, DbError> {
    sqlx::query_as(concat!(
        "insert into projects (id, name, county_code, level, category, sector, on_key_list, new_start,
                               year, planned_start, created_by, created_at, proposed_for_list,
                               proposed_level, proposed_sector, proposed_new_start, proposal_note)
         values ($1, $2, $3, 'county', $4, 'other', false, false, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         returning ",
        project_columns!()
    ))
    .bind(new.id)
    .bind(new.name)
    .bind(new.county_code)
    .bind(new.category)
    .bind(new.year)
    .bind(new.planned_start)
    .bind(new.created_by)
    .bind(new.at)
    .bind(new.proposal.for_list)
    .bind(&new.proposal.level)
    .bind(&new.proposal.sector)
    .bind(new.proposal.new_start)
    .bind(&new.proposal.note)
    .fetch_one(conn)
    .await
    .doing("registering the project")
}

/// Loads a project the transaction may see, locked for a change when `lock`.
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip(conn))]
pub async fn load(conn: &mut PgConnection, id: Uuid, lock: bool) -> Result<Option<ProjectRow>, DbError> {
    let sql = if lock {
        concat!(
            "select ",
            project_columns!(),
            " from projects where id = $1 for update"
        )
    } else {
        concat!("select ", project_columns!(), " from projects where id = $1")
    };
    sqlx::query_as(sql)
        .bind(id)
        .fetch_optional(conn)
        .await
        .doing("reading the project")
}

/// The projects of `counties` (all when `None`), newest list year first.
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip(conn))]
pub async fn list(conn: &mut PgConnection, counties: Option<&[String]>) -> Result<Vec<ProjectRow>, DbError> {
    sqlx::query_as(concat!(
        "select ",
        project_columns!(),
        " from projects
          where $1::text[] is null or county_code = any($1)
          order by year desc, name, id"
    ))
    .bind(counties)
    .fetch_all(conn)
    .await
    .doing("listing projects")
}

/// The ordinary fields after an edit.
#[derive(Debug)]
pub struct OrdinaryFields<'a> {
    /// The name.
    pub name: &'a str,
    /// The category code.
    pub category: &'a str,
    /// When it is planned to start.
    pub planned_start: Option<NaiveDate>,
    /// The officer's proposal.
    pub proposal: &'a StoredProposal,
}

/// Writes a project's ordinary fields and proposal, on the version the caller read.
/// `None` when the version moved on meanwhile.
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip(conn, fields))]
pub async fn update_ordinary(
    conn: &mut PgConnection,
    id: Uuid,
    version: i64,
    fields: &OrdinaryFields<'_>,
) -> Result<Option<ProjectRow>, DbError> {
    sqlx::query_as(concat!(
        "update projects
            set name = $3, category = $4, planned_start = $5, proposed_for_list = $6, proposed_level = $7,
                proposed_sector = $8, proposed_new_start = $9, proposal_note = $10, version = version + 1
          where id = $1 and version = $2
          returning ",
        project_columns!()
    ))
    .bind(id)
    .bind(version)
    .bind(fields.name)
    .bind(fields.category)
    .bind(fields.planned_start)
    .bind(fields.proposal.for_list)
    .bind(&fields.proposal.level)
    .bind(&fields.proposal.sector)
    .bind(fields.proposal.new_start)
    .bind(&fields.proposal.note)
    .fetch_optional(conn)
    .await
    .doing("editing the project")
}

/// A designation as stored (codes from the domain's types).
#[derive(Debug)]
pub struct StoredDesignation<'a> {
    /// Whether the project is on the list.
    pub on_key_list: bool,
    /// The level code.
    pub level: &'static str,
    /// The sector code.
    pub sector: &'static str,
    /// Whether it is a new start of its list year.
    pub new_start: bool,
    /// The list year.
    pub year: i32,
    /// The list document.
    pub list_document: Option<&'a str>,
    /// The responsible leader.
    pub responsible_leader: Option<&'a str>,
}

/// Writes a project's designation and clears its proposal (the designation decided it), on
/// the version the caller read. `None` when the version moved on meanwhile.
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip(conn))]
pub async fn update_designation(
    conn: &mut PgConnection,
    id: Uuid,
    version: i64,
    d: &StoredDesignation<'_>,
) -> Result<Option<ProjectRow>, DbError> {
    sqlx::query_as(concat!(
        "update projects
            set on_key_list = $3, level = $4, sector = $5, new_start = $6, year = $7, list_document = $8,
                responsible_leader = $9, proposed_for_list = false, proposed_level = null,
                proposed_sector = null, proposed_new_start = null, proposal_note = null,
                version = version + 1
          where id = $1 and version = $2
          returning ",
        project_columns!()
    ))
    .bind(id)
    .bind(version)
    .bind(d.on_key_list)
    .bind(d.level)
    .bind(d.sector)
    .bind(d.new_start)
    .bind(d.year)
    .bind(d.list_document)
    .bind(d.responsible_leader)
    .fetch_optional(conn)
    .await
    .doing("designating the project")
}

/// An event to append to a project's history.
#[derive(Debug)]
pub struct NewEvent {
    /// The project.
    pub project_id: Uuid,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Who, and in which role; `None` for the system.
    pub actor: Option<(Uuid, Role)>,
    /// `registered`, `edited`, `proposed`, `designated`, `taken_off`, `classified` or
    /// `start_recorded` (the table's constraint holds the list).
    pub kind: &'static str,
    /// Why (required for designations).
    pub reason: Option<String>,
    /// What changed.
    pub changes: Vec<FieldChange>,
}

/// Appends an event to a project's history.
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip(conn, event), fields(project = %event.project_id, kind = event.kind))]
pub async fn append_event(conn: &mut PgConnection, event: &NewEvent) -> Result<(), DbError> {
    let changes = serde_json::to_value(&event.changes)
        .map_err(|e| sqlx::Error::Encode(e.into()))
        .doing("writing a project event's changes")?;
    sqlx::query(
        "insert into project_events (project_id, at, actor_id, actor_role, kind, reason, changes)
         values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(event.project_id)
    .bind(event.at)
    .bind(event.actor.map(|(id, _)| id))
    .bind(event.actor.map(|(_, role)| role.code()))
    .bind(event.kind)
    .bind(&event.reason)
    .bind(changes)
    .execute(conn)
    .await
    .doing("recording the project's event")?;
    Ok(())
}

/// A project event as stored, with the actor's name.
#[derive(Debug, sqlx::FromRow)]
pub struct EventRow {
    /// Its sequence number.
    pub id: i64,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// The actor's user name, if any.
    pub actor: Option<String>,
    /// The actor's role code.
    pub actor_role: Option<String>,
    /// The kind.
    pub kind: String,
    /// Why.
    pub reason: Option<String>,
    /// The field changes, as stored (a JSON array of `FieldChange`).
    pub changes: serde_json::Value,
}

/// A project's history, oldest first.
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip(conn))]
pub async fn history(conn: &mut PgConnection, project_id: Uuid) -> Result<Vec<EventRow>, DbError> {
    sqlx::query_as(
        "select e.id, e.at, u.name as actor, e.actor_role, e.kind, e.reason, e.changes
           from project_events e left join users u on u.id = e.actor_id
          where e.project_id = $1
          order by e.id",
    )
    .bind(project_id)
    .fetch_all(conn)
    .await
    .doing("reading the project's history")
}

/// A county of the region as stored.
#[derive(Debug, sqlx::FromRow)]
pub struct CountyRow {
    /// The administrative code.
    pub code: String,
    /// The county's name.
    pub name: String,
    /// Older codes still accepted on input.
    pub aliases: Vec<String>,
}

/// The region's counties, by code.
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn counties(conn: &mut PgConnection) -> Result<Vec<CountyRow>, DbError> {
    sqlx::query_as("select code, name, aliases from counties order by code")
        .fetch_all(conn)
        .await
        .doing("listing counties")
}
