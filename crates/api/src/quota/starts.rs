//! Key-project starts: recording a project's actual start, loading what the start-rate
//! report ([`landuse_domain::start_rate`]) computes from, and freezing closed quarters.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use landuse_domain::{
    calendar::bureau_date,
    county::CountyCode,
    designation::{FieldChange, ProjectField},
    project::ProjectLevel,
    role::Role,
    start_rate::{self, FrozenFigure, ProjectStart, Quarter, StartRateGoals},
};
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

/// Why a start could not be recorded, or the report not made.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// No such project.
    #[error("no such project")]
    NoSuchProject,
    /// The project changed since it was read.
    #[error("the project changed since it was read")]
    VersionMismatch {
        /// The current version.
        current: i64,
    },
    /// A start date after today.
    #[error("a start date cannot be after today ({today})")]
    InTheFuture {
        /// The bureau's today.
        today: NaiveDate,
    },
    /// The actor's role may not do this.
    #[error("a {role} may not {doing}")]
    RoleMayNot {
        /// The actor's role.
        role: Role,
        /// What was asked.
        doing: &'static str,
    },
    /// The stored goals are not valid.
    #[error("the start_rate_goals setting is not valid: {0}")]
    Goals(String),
    /// A database failure.
    #[error("database error while {doing}: {source}")]
    Db {
        /// What was being done.
        doing: &'static str,
        /// The cause.
        #[source]
        source: sqlx::Error,
    },
}

impl StartError {
    /// A stable code, for problem types and logs.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoSuchProject => "no-such-project",
            Self::VersionMismatch { .. } => "stale-etag",
            Self::InTheFuture { .. } => "start-in-the-future",
            Self::RoleMayNot { .. } => "role-may-not",
            Self::Goals(_) | Self::Db { .. } => "internal",
        }
    }
}

fn db(doing: &'static str) -> impl FnOnce(sqlx::Error) -> StartError {
    move |source| StartError::Db { doing, source }
}

/// A project's start as recorded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct RecordedStart {
    /// The project.
    pub project_id: Uuid,
    /// Its county.
    pub county_code: String,
    /// The start date now in force.
    pub started_on: NaiveDate,
    /// The project's new version.
    pub version: i64,
}

/// The county and version of a project, for scoping and `If-Match` before a change.
///
/// # Errors
/// Database failures.
pub async fn project_county_and_version(
    conn: &mut PgConnection,
    project_id: Uuid,
) -> Result<Option<(String, i64)>, StartError> {
    sqlx::query_as("select county_code, version from projects where id = $1")
        .bind(project_id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db("reading the project"))
}

/// Records a key project's actual start (or corrects it), on the version the caller read.
/// County officers (of the project's county: the caller checks), reviewers and leaders may.
/// Every recording is kept in `project_start_records` and is an event in the project's history.
///
/// # Errors
/// [`StartError::NoSuchProject`], [`StartError::VersionMismatch`], [`StartError::InTheFuture`],
/// [`StartError::RoleMayNot`], database failures.
#[tracing::instrument(skip(conn))]
pub async fn record_start(
    conn: &mut PgConnection,
    project_id: Uuid,
    started_on: NaiveDate,
    expected_version: Option<i64>,
    actor: (Uuid, Role),
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<RecordedStart, StartError> {
    if ![Role::Officer, Role::Reviewer, Role::Leader].contains(&actor.1) {
        return Err(StartError::RoleMayNot {
            role: actor.1,
            doing: "record a project's start",
        });
    }
    if started_on > today {
        return Err(StartError::InTheFuture { today });
    }
    let mut tx = conn.begin().await.map_err(db("starting a transaction"))?;
    let current: Option<(i64, Option<NaiveDate>)> =
        sqlx::query_as("select version, started_on from projects where id = $1 for update")
            .bind(project_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db("locking the project"))?;
    let (current, was) = current.ok_or(StartError::NoSuchProject)?;
    if expected_version.is_some_and(|v| v != current) {
        return Err(StartError::VersionMismatch { current });
    }
    let (county_code, version): (String, i64) = sqlx::query_as(
        "update projects set started_on = $2, version = version + 1 where id = $1 returning county_code, version",
    )
    .bind(project_id)
    .bind(started_on)
    .fetch_one(&mut *tx)
    .await
    .map_err(db("recording the start"))?;
    sqlx::query(
        "insert into project_start_records (project_id, started_on, recorded_by, recorded_at) values ($1, $2, $3, $4)",
    )
    .bind(project_id)
    .bind(started_on)
    .bind(actor.0)
    .bind(now)
    .execute(&mut *tx)
    .await
    .map_err(db("keeping the start record"))?;
    let changes = FieldChange::between(ProjectField::StartedOn, was.as_ref(), Some(&started_on));
    crate::workflow::project_store::append_event(
        &mut tx,
        &crate::workflow::project_store::NewEvent {
            project_id,
            at: now,
            actor: Some(actor),
            kind: "start_recorded",
            reason: None,
            changes: changes.into_iter().collect(),
        },
    )
    .await
    .map_err(db("adding the start to the project's history"))?;
    tx.commit().await.map_err(db("committing the start"))?;
    Ok(RecordedStart {
        project_id,
        county_code,
        started_on,
        version,
    })
}

/// A project row as the report reads it.
#[derive(Debug, sqlx::FromRow)]
struct ProjectRow {
    id: Uuid,
    name: String,
    county_code: String,
    level: String,
    on_key_list: bool,
    new_start: bool,
    year: i32,
    planned_start: Option<NaiveDate>,
    responsible_leader: Option<String>,
    started_on: Option<NaiveDate>,
}

/// A stored value the domain cannot read: reported as a database decode failure, so the
/// API answers 500 and logs it with the request's trace id, never a default.
fn corrupt(doing: &'static str, what: String) -> StartError {
    StartError::Db {
        doing,
        source: sqlx::Error::Decode(what.into()),
    }
}

/// The projects of `year` in `counties` (all when `None`), as the report needs them.
///
/// # Errors
/// Database failures, a stored row the domain cannot read.
pub async fn projects_of_year(
    conn: &mut PgConnection,
    year: i32,
    counties: Option<&[String]>,
) -> Result<Vec<ProjectStart>, StartError> {
    let rows: Vec<ProjectRow> = sqlx::query_as(
        "select id, name, county_code, level, on_key_list, new_start, year, planned_start, responsible_leader,
                started_on
           from projects
          where year = $1 and ($2::text[] is null or county_code = any($2))
          order by county_code, name, id",
    )
    .bind(year)
    .bind(counties)
    .fetch_all(&mut *conn)
    .await
    .map_err(db("loading the year's projects"))?;
    rows.into_iter()
        .map(|row| {
            Ok(ProjectStart {
                county: CountyCode::parse(&row.county_code)
                    .map_err(|e| corrupt("reading a project's county", e.to_string()))?,
                level: ProjectLevel::parse(&row.level)
                    .map_err(|e| corrupt("reading a project's level", e.to_string()))?,
                id: row.id,
                name: row.name,
                on_key_list: row.on_key_list,
                new_start: row.new_start,
                year: row.year,
                planned_start: row.planned_start,
                responsible_leader: row.responsible_leader,
                started_on: row.started_on,
            })
        })
        .collect()
}

/// The counties a scope covers: the caller's, or every county of the region for `None`.
///
/// # Errors
/// Database failures, a stored county code that does not parse.
pub async fn counties_in_scope(
    conn: &mut PgConnection,
    counties: Option<&[String]>,
) -> Result<Vec<CountyCode>, StartError> {
    let codes: Vec<String> = match counties {
        Some(codes) => codes.to_vec(),
        None => sqlx::query_scalar("select code from counties order by code")
            .fetch_all(&mut *conn)
            .await
            .map_err(db("listing the counties"))?,
    };
    codes
        .iter()
        .map(|c| CountyCode::parse(c).map_err(|e| corrupt("reading a county code", e.to_string())))
        .collect()
}

/// A stored frozen figure.
#[derive(Debug, sqlx::FromRow)]
struct FreezeRow {
    quarter: i16,
    county_code: String,
    frozen_on: NaiveDate,
    goal_percent: i16,
    projects: serde_json::Value,
}

/// The figures of `year` already frozen for `counties`.
///
/// # Errors
/// Database failures, a stored figure that does not parse (never read as empty).
pub async fn frozen_figures(
    conn: &mut PgConnection,
    year: i32,
    counties: &[CountyCode],
) -> Result<Vec<FrozenFigure>, StartError> {
    let codes: Vec<&str> = counties.iter().map(CountyCode::as_str).collect();
    let rows: Vec<FreezeRow> = sqlx::query_as(
        "select quarter, county_code, frozen_on, goal_percent, projects
           from start_rate_freezes
          where year = $1 and county_code = any($2)
          order by quarter, county_code",
    )
    .bind(year)
    .bind(&codes)
    .fetch_all(&mut *conn)
    .await
    .map_err(db("loading the frozen start rates"))?;
    rows.into_iter()
        .map(|row| {
            let quarter = u8::try_from(row.quarter)
                .ok()
                .and_then(|n| Quarter::from_number(n).ok())
                .ok_or_else(|| corrupt("reading a frozen start rate", format!("quarter {}", row.quarter)))?;
            Ok(FrozenFigure {
                year,
                quarter,
                county: CountyCode::parse(&row.county_code)
                    .map_err(|e| corrupt("reading a frozen start rate", e.to_string()))?,
                frozen_on: row.frozen_on,
                goal_percent: u8::try_from(row.goal_percent)
                    .map_err(|e| corrupt("reading a frozen start rate", e.to_string()))?,
                projects: serde_json::from_value(row.projects)
                    .map_err(|e| corrupt("reading a frozen start rate's projects", e.to_string()))?,
            })
        })
        .collect()
}

/// Freezes the start rate of every quarter of `year` closed by the bureau's date `today`, for
/// each of `counties` that has no figure yet ([`start_rate::figures_to_freeze`] decides what).
///
/// Figures are taken by the sweeper ([`freeze_due`], on every sweep, so in practice within
/// minutes of a quarter's close) and, should no sweeper run, by the first read of the report
/// after the close: whichever comes first stores the figure and the other finds it taken
/// (`on conflict do nothing`, then the stored one is read back), so a figure is taken once and
/// never rewritten (the table is append-only). A start recorded between the close and that
/// first freeze is in the figure; one recorded after it is a correction.
///
/// # Errors
/// Database failures, stored rows the domain cannot read.
#[tracing::instrument(skip(conn, counties))]
pub async fn freeze_closed_quarters(
    conn: &mut PgConnection,
    year: i32,
    today: NaiveDate,
    now: DateTime<Utc>,
    counties: &[CountyCode],
) -> Result<usize, StartError> {
    let closed = start_rate::closed_quarters(year, today);
    if closed.is_empty() || counties.is_empty() {
        return Ok(0);
    }
    let taken: Vec<(Quarter, CountyCode)> = frozen_figures(conn, year, counties)
        .await?
        .into_iter()
        .map(|f| (f.quarter, f.county))
        .collect();
    // The usual sweep: everything closed is frozen already, so the year's projects need no
    // reading.
    if closed
        .iter()
        .all(|q| counties.iter().all(|c| taken.contains(&(*q, *c))))
    {
        return Ok(0);
    }
    let codes: Vec<String> = counties.iter().map(|c| c.as_str().to_owned()).collect();
    let projects = projects_of_year(conn, year, Some(&codes)).await?;
    let goals = goals(conn).await?;
    let figures = start_rate::figures_to_freeze(&projects, year, today, &goals, counties, &taken);
    let mut stored = 0;
    for figure in &figures {
        let projects = serde_json::to_value(&figure.projects)
            .map_err(|e| corrupt("writing a frozen start rate", e.to_string()))?;
        stored += sqlx::query(
            "insert into start_rate_freezes (year, quarter, county_code, frozen_at, frozen_on, goal_percent, projects)
             values ($1, $2, $3, $4, $5, $6, $7)
             on conflict on constraint start_rate_freezes_pkey do nothing",
        )
        .bind(figure.year)
        .bind(i16::from(figure.quarter.number()))
        .bind(figure.county.as_str())
        .bind(now)
        .bind(figure.frozen_on)
        .bind(i16::from(figure.goal_percent))
        .bind(projects)
        .execute(&mut *conn)
        .await
        .map_err(db("freezing a quarter's start rate"))?
        .rows_affected();
    }
    Ok(usize::try_from(stored).unwrap_or(usize::MAX))
}

/// The sweeper's part: freezes the closed quarters of this year and last year for every
/// county, at `now`. Older years are frozen by the first read of their report.
///
/// # Errors
/// As [`freeze_closed_quarters`].
pub async fn freeze_due(conn: &mut PgConnection, now: DateTime<Utc>) -> Result<usize, StartError> {
    let today = bureau_date(now);
    let counties = counties_in_scope(conn, None).await?;
    let mut stored = 0;
    for year in [today.year() - 1, today.year()] {
        stored += freeze_closed_quarters(conn, year, today, now, &counties).await?;
    }
    Ok(stored)
}

/// The goals in the `start_rate_goals` setting, or the plan's defaults when it is not set.
///
/// # Errors
/// An invalid stored setting, database failures.
pub async fn goals(conn: &mut PgConnection) -> Result<StartRateGoals, StartError> {
    let value: Option<serde_json::Value> =
        sqlx::query_scalar("select value from settings where key = 'start_rate_goals'")
            .fetch_optional(&mut *conn)
            .await
            .map_err(db("loading the start-rate goals"))?;
    match value {
        None => Ok(StartRateGoals::default()),
        Some(value) => serde_json::from_value(value).map_err(|e| StartError::Goals(e.to_string())),
    }
}

/// County names by code, for the report's readers.
///
/// # Errors
/// Database failures.
pub async fn county_names(
    conn: &mut PgConnection,
) -> Result<std::collections::BTreeMap<String, String>, StartError> {
    let rows: Vec<(String, String)> = sqlx::query_as("select code, name from counties order by code")
        .fetch_all(&mut *conn)
        .await
        .map_err(db("loading county names"))?;
    Ok(rows.into_iter().collect())
}
