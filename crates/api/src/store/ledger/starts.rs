//! Key-project starts and the start-rate report's tables: `projects.started_on` with its record
//! in `project_start_records`, and the frozen figures in `start_rate_freezes` (append-only, one
//! per year, quarter and county). A project itself, the counties and the `start_rate_goals`
//! setting are read through [`crate::store::projects`] and [`crate::store::admin`].

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::store::{DbError, Doing};

/// The project's county and version after a change.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProjectVersionRow {
    /// The project's county code.
    pub county_code: String,
    /// The project's new version.
    pub version: i64,
}

/// Sets the project's start date, bumps its version and keeps the recording in
/// `project_start_records`; returns the project's county and new version.
///
/// # Errors
/// Database failures.
#[tracing::instrument(skip(conn))]
pub async fn record_start(
    conn: &mut PgConnection,
    project_id: Uuid,
    started_on: NaiveDate,
    by: Uuid,
    at: DateTime<Utc>,
) -> Result<ProjectVersionRow, DbError> {
    let project: ProjectVersionRow = sqlx::query_as(
        "update projects set started_on = $2, version = version + 1 where id = $1 returning county_code, version",
    )
    .bind(project_id)
    .bind(started_on)
    .fetch_one(&mut *conn)
    .await
    .doing("recording the start")?;
    sqlx::query(
        "insert into project_start_records (project_id, started_on, recorded_by, recorded_at) values ($1, $2, $3, $4)",
    )
    .bind(project_id)
    .bind(started_on)
    .bind(by)
    .bind(at)
    .execute(conn)
    .await
    .doing("keeping the start record")?;
    Ok(project)
}

/// A project as the start-rate report reads it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReportProjectRow {
    /// The project.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// Its county code.
    pub county_code: String,
    /// Its level code (`municipal`, `provincial`, …).
    pub level: String,
    /// Whether it is on a key-project list.
    pub on_key_list: bool,
    /// Whether it is a new start (新开工) rather than a continuing project.
    pub new_start: bool,
    /// Its list year.
    pub year: i32,
    /// When it is planned to start.
    pub planned_start: Option<NaiveDate>,
    /// The leader answerable for it.
    pub responsible_leader: Option<String>,
    /// When it actually started, if recorded.
    pub started_on: Option<NaiveDate>,
}

/// The projects of `year` in `counties` (all when `None`), by county, name and id.
///
/// # Errors
/// Database failures.
#[tracing::instrument(skip(conn))]
pub async fn projects_of_year(
    conn: &mut PgConnection,
    year: i32,
    counties: Option<&[String]>,
) -> Result<Vec<ReportProjectRow>, DbError> {
    sqlx::query_as(
        "select id, name, county_code, level, on_key_list, new_start, year, planned_start, responsible_leader,
                started_on
           from projects
          where year = $1 and ($2::text[] is null or county_code = any($2))
          order by county_code, name, id",
    )
    .bind(year)
    .bind(counties)
    .fetch_all(conn)
    .await
    .doing("loading the year's projects")
}

/// A frozen quarter's figure as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FreezeRow {
    /// The quarter's number, 1 to 4.
    pub quarter: i16,
    /// The county code.
    pub county_code: String,
    /// The bureau's date the figure was taken on.
    pub frozen_on: NaiveDate,
    /// The goal in force then, in percent.
    pub goal_percent: i16,
    /// The projects counted, as the domain's `FrozenProject` list.
    pub projects: serde_json::Value,
}

/// The figures of `year` already frozen for `counties`, by quarter and county.
///
/// # Errors
/// Database failures.
#[tracing::instrument(skip(conn))]
pub async fn frozen_figures(
    conn: &mut PgConnection,
    year: i32,
    counties: &[&str],
) -> Result<Vec<FreezeRow>, DbError> {
    sqlx::query_as(
        "select quarter, county_code, frozen_on, goal_percent, projects
           from start_rate_freezes
          where year = $1 and county_code = any($2)
          order by quarter, county_code",
    )
    .bind(year)
    .bind(counties)
    .fetch_all(conn)
    .await
    .doing("loading the frozen start rates")
}

/// A quarter's figure to freeze.
#[derive(Debug, Clone)]
pub struct NewFreeze<'a> {
    /// The list year.
    pub year: i32,
    /// The quarter's number, 1 to 4.
    pub quarter: i16,
    /// The county code.
    pub county_code: &'a str,
    /// The bureau's date the figure is taken on.
    pub frozen_on: NaiveDate,
    /// The goal in force, in percent.
    pub goal_percent: i16,
    /// The projects counted.
    pub projects: serde_json::Value,
}

/// Stores a frozen figure unless one is stored for its year, quarter and county already (the
/// sweeper and a read of the report may race; the first wins, the figure is never rewritten).
/// Returns whether this call stored it.
///
/// # Errors
/// Database failures.
#[tracing::instrument(skip(conn, figure), fields(year = figure.year, quarter = figure.quarter, county = figure.county_code))]
pub async fn freeze(
    conn: &mut PgConnection,
    figure: &NewFreeze<'_>,
    at: DateTime<Utc>,
) -> Result<bool, DbError> {
    let stored = sqlx::query(
        "insert into start_rate_freezes (year, quarter, county_code, frozen_at, frozen_on, goal_percent, projects)
         values ($1, $2, $3, $4, $5, $6, $7)
         on conflict on constraint start_rate_freezes_pkey do nothing",
    )
    .bind(figure.year)
    .bind(figure.quarter)
    .bind(figure.county_code)
    .bind(at)
    .bind(figure.frozen_on)
    .bind(figure.goal_percent)
    .bind(&figure.projects)
    .execute(conn)
    .await
    .doing("freezing a quarter's start rate")?;
    Ok(stored.rows_affected() > 0)
}
