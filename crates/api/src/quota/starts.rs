//! Key-project starts: recording a project's actual start, and loading what the start-rate
//! report ([`landuse_domain::start_rate`]) computes from.

use chrono::{DateTime, NaiveDate, Utc};
use landuse_domain::{
    county::CountyCode,
    project::ProjectLevel,
    role::Role,
    start_rate::{ProjectStart, StartRateGoals},
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
/// Every recording is kept in `project_start_records`.
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
    let current: Option<i64> = sqlx::query_scalar("select version from projects where id = $1 for update")
        .bind(project_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db("locking the project"))?;
    let current = current.ok_or(StartError::NoSuchProject)?;
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
    tx.commit().await.map_err(db("committing the start"))?;
    Ok(RecordedStart {
        project_id,
        county_code,
        started_on,
        version,
    })
}

type ProjectRow = (
    Uuid,
    String,
    String,
    String,
    bool,
    bool,
    i32,
    Option<NaiveDate>,
    Option<String>,
    Option<NaiveDate>,
);

fn level(code: &str) -> Option<ProjectLevel> {
    Some(match code {
        "national" => ProjectLevel::National,
        "provincial" => ProjectLevel::Provincial,
        "municipal" => ProjectLevel::Municipal,
        "county" => ProjectLevel::County,
        _ => return None,
    })
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
        .map(
            |(
                id,
                name,
                county,
                lvl,
                on_key_list,
                new_start,
                year,
                planned_start,
                responsible_leader,
                started_on,
            )| {
                let corrupt = |what: String| StartError::Db {
                    doing: "reading a project",
                    source: sqlx::Error::Decode(what.into()),
                };
                Ok(ProjectStart {
                    id,
                    name,
                    county: CountyCode::parse(&county).map_err(|e| corrupt(e.to_string()))?,
                    level: level(&lvl).ok_or_else(|| corrupt(format!("unknown level {lvl}")))?,
                    on_key_list,
                    new_start,
                    year,
                    planned_start,
                    responsible_leader,
                    started_on,
                })
            },
        )
        .collect()
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
