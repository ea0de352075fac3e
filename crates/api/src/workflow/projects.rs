//! Counties and key projects.

use axum::{
    extract::{Path, State},
    http::{header, HeaderValue, StatusCode},
    response::Response,
    Json,
};
use chrono::{DateTime, NaiveDate, Utc};
use landuse_domain::role::Role;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::{
    app::AppState,
    auth::Caller,
    http::{
        error::ApiError,
        etag::etag_header,
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

/// A key project as the API shows it.
#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Project {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// County.
    pub county_code: String,
    /// `national`, `provincial`, `municipal` or `county`.
    pub level: String,
    /// `infrastructure`, `industry` or `livelihood`.
    pub category: String,
    /// `energy`, `transport`, `water`, `military`, `mining` or `other`.
    pub sector: String,
    /// On a provincial or municipal key-project list (rides the green channel).
    pub on_key_list: bool,
    /// A new start this year (counts in the start-rate report).
    pub new_start: bool,
    /// The list year.
    pub year: i32,
    /// Planned start.
    pub planned_start: Option<NaiveDate>,
    /// The responsible leader (局领导包抓).
    pub responsible_leader: Option<String>,
    /// Actual start.
    pub started_on: Option<NaiveDate>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Version for ETags.
    pub version: i64,
}

/// The body of `POST /api/v1/projects`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProject {
    /// Name.
    #[schema(pattern = "\\S")]
    pub name: String,
    /// County code (older aliases accepted).
    #[schema(pattern = "^[0-9]{6}$")]
    pub county_code: String,
    /// Level.
    #[schema(pattern = "^(national|provincial|municipal|county)$")]
    pub level: String,
    /// Category.
    #[schema(pattern = "^(infrastructure|industry|livelihood)$")]
    pub category: String,
    /// Sector; `other` when absent.
    #[serde(default)]
    #[schema(pattern = "^(energy|transport|water|military|industry|livelihood|other)$")]
    pub sector: Option<String>,
    /// On a key-project list.
    #[serde(default)]
    pub on_key_list: bool,
    /// A new start this year.
    #[serde(default)]
    pub new_start: bool,
    /// The list year.
    #[schema(minimum = 2000, maximum = 2100)]
    pub year: i32,
    /// Planned start.
    #[serde(default)]
    pub planned_start: Option<NaiveDate>,
    /// Responsible leader.
    #[serde(default)]
    pub responsible_leader: Option<String>,
}

const LEVELS: [&str; 4] = ["national", "provincial", "municipal", "county"];
const CATEGORIES: [&str; 3] = ["infrastructure", "industry", "livelihood"];
const SECTORS: [&str; 7] = [
    "energy",
    "transport",
    "water",
    "military",
    "industry",
    "livelihood",
    "other",
];

fn one_of(field: &str, value: &str, allowed: &[&str]) -> Result<(), ApiError> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "invalid-field",
            field,
            format!("{field} must be one of {}, not {value:?}", allowed.join(", ")),
        ))
    }
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

/// `POST /api/v1/projects`: register a key project (officers in their counties; leaders and
/// admins anywhere).
#[utoipa::path(post, path = "/projects", tag = "projects", request_body = NewProject, responses((status = 201, description = "Registered", body = Project, headers(("ETag" = String), ("Location" = String)))))]
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
    if p.name.trim().is_empty() {
        return Err(ApiError::invalid(
            "invalid-field",
            "name",
            "the name must not be empty",
        ));
    }
    one_of("level", &p.level, &LEVELS)?;
    one_of("category", &p.category, &CATEGORIES)?;
    let sector = p.sector.clone().unwrap_or_else(|| "other".to_owned());
    one_of("sector", &sector, &SECTORS)?;
    if !(2000..=2100).contains(&p.year) {
        return Err(ApiError::invalid(
            "invalid-field",
            "year",
            "the year must be between 2000 and 2100",
        ));
    }
    let county = county_for(&state, &caller, &p.county_code, "county_code").await?;
    let mut tx = state.begin_for(&caller).await?;
    let project: Project = sqlx::query_as(
        "insert into projects (id, name, county_code, level, category, sector, on_key_list, new_start, year,
                               planned_start, responsible_leader, created_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         returning id, name, county_code, level, category, sector, on_key_list, new_start, year,
                   planned_start, responsible_leader, started_on, created_at, version",
    )
    .bind(Uuid::now_v7())
    .bind(p.name.trim())
    .bind(&county)
    .bind(&p.level)
    .bind(&p.category)
    .bind(&sector)
    .bind(p.on_key_list)
    .bind(p.new_start)
    .bind(p.year)
    .bind(p.planned_start)
    .bind(&p.responsible_leader)
    .bind(caller.user_id)
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| ApiError::db("registering the project", e))?;
    let location = HeaderValue::from_str(&format!("/api/v1/projects/{}", project.id))
        .map_err(|e| ApiError::internal("building the location", e))?;
    let reply = Reply::new(StatusCode::CREATED, json!(project))
        .header(header::ETAG, etag_header(project.version))
        .header(header::LOCATION, location);
    idem.finish(tx, &state.db, &caller, &body.digest, reply).await
}

const PROJECT_COLUMNS: &str =
    "id, name, county_code, level, category, sector, on_key_list, new_start, year, \
     planned_start, responsible_leader, started_on, created_at, version";

/// `GET /api/v1/projects`: the projects of the counties the caller sees.
#[utoipa::path(get, path = "/projects", tag = "projects", responses((status = 200, description = "The projects of the counties the caller sees", body = [Project])))]
pub async fn list_projects(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<Project>>, ApiError> {
    let mut tx = state.begin_for(&caller).await?;
    let projects = sqlx::query_as::<_, Project>(&format!(
        "select {PROJECT_COLUMNS} from projects
          where $1::text[] is null or county_code = any($1)
          order by year desc, name, id"
    ))
    .bind(caller.county_filter())
    .fetch_all(&mut *tx)
    .await
    .map_err(|e| ApiError::db("listing projects", e))?;
    Ok(Json(projects))
}

/// `GET /api/v1/projects/{id}`.
#[utoipa::path(get, path = "/projects/{id}", tag = "projects", params(("id" = Uuid, Path, description = "The project id")), responses((status = 200, description = "The project", body = Project, headers(("ETag" = String, description = "Its version")))))]
pub async fn get_project(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<Response, ApiError> {
    let mut tx = state.begin_for(&caller).await?;
    let project =
        sqlx::query_as::<_, Project>(&format!("select {PROJECT_COLUMNS} from projects where id = $1"))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| ApiError::db("reading the project", e))?
            .filter(|p| caller.sees(&p.county_code))
            .ok_or(ApiError::NotFound("project"))?;
    let version = project.version;
    Ok(axum::response::IntoResponse::into_response((
        [(header::ETAG, etag_header(version))],
        Json(project),
    )))
}
