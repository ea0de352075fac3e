//! Key-project starts: recording a project's actual start, loading what the start-rate
//! report ([`landuse_domain::start_rate`]) computes from, and freezing closed quarters. Its
//! statements are in [`crate::store::ledger::starts`].

use std::collections::BTreeMap;

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

use super::error::LedgerError;
use crate::store::{
    admin,
    ledger::{
        corrupt,
        starts::{self as db, NewFreeze},
    },
    projects::{self, NewEvent},
    DbError, Doing,
};

type Result<T, E = LedgerError> = std::result::Result<T, E>;

/// A project's start as recorded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct RecordedStart {
    /// The project.
    pub project_id: Uuid,
    /// Its county's code.
    pub county_code: String,
    /// The start date now in force.
    pub started_on: NaiveDate,
    /// The project's new version: its ETag.
    pub version: i64,
}

/// Records a key project's actual start (or corrects it), on the version the caller read.
/// County officers (of the project's county: the caller checks), reviewers and leaders may.
/// Every recording is kept in `project_start_records` and is an event in the project's history.
///
/// # Errors
/// [`LedgerError::NoSuchProject`], [`LedgerError::VersionMismatch`],
/// [`LedgerError::InTheFuture`], [`LedgerError::RoleMayNot`], database failures.
#[tracing::instrument(skip(conn))]
pub async fn record_start(
    conn: &mut PgConnection,
    project_id: Uuid,
    started_on: NaiveDate,
    expected_version: Option<i64>,
    actor: (Uuid, Role),
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<RecordedStart> {
    if ![Role::Officer, Role::Reviewer, Role::Leader].contains(&actor.1) {
        return Err(LedgerError::RoleMayNot {
            role: actor.1,
            doing: "record a project's start",
        });
    }
    if started_on > today {
        return Err(LedgerError::InTheFuture { today });
    }
    let mut tx = conn.begin().await.doing("starting a transaction")?;
    let before = projects::load(&mut tx, project_id, true)
        .await?
        .ok_or(LedgerError::NoSuchProject)?;
    if expected_version.is_some_and(|v| v != before.version) {
        return Err(LedgerError::VersionMismatch {
            current: before.version,
        });
    }
    let after = db::record_start(&mut tx, project_id, started_on, actor.0, now).await?;
    let changes = FieldChange::between(
        ProjectField::StartedOn,
        before.started_on.as_ref(),
        Some(&started_on),
    );
    let event = NewEvent {
        project_id,
        at: now,
        actor: Some(actor),
        kind: "start_recorded",
        reason: None,
        changes: changes.into_iter().collect(),
    };
    projects::append_event(&mut tx, &event).await?;
    tx.commit().await.doing("committing the start")?;
    Ok(RecordedStart {
        project_id,
        county_code: after.county_code,
        started_on,
        version: after.version,
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
) -> Result<Vec<ProjectStart>> {
    let rows = db::projects_of_year(conn, year, counties).await?;
    let doing = "reading a project of the year";
    let projects = rows
        .into_iter()
        .map(|row| {
            Ok(ProjectStart {
                county: CountyCode::parse(&row.county_code).map_err(|e| corrupt(doing, &e))?,
                level: ProjectLevel::parse(&row.level).map_err(|e| corrupt(doing, &e))?,
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
        .collect::<Result<_, DbError>>()?;
    Ok(projects)
}

/// The counties a scope covers: the caller's, or every county of the region for `None`.
///
/// # Errors
/// Database failures, a stored county code that does not parse.
pub async fn counties_in_scope(
    conn: &mut PgConnection,
    counties: Option<&[String]>,
) -> Result<Vec<CountyCode>> {
    let codes: Vec<String> = match counties {
        Some(codes) => codes.to_vec(),
        None => projects::counties(conn)
            .await?
            .into_iter()
            .map(|c| c.code)
            .collect(),
    };
    let codes = codes
        .iter()
        .map(|c| CountyCode::parse(c).map_err(|e| corrupt("reading a county code", &e)))
        .collect::<Result<_, DbError>>()?;
    Ok(codes)
}

/// The figures of `year` already frozen for `counties`.
///
/// # Errors
/// Database failures, a stored figure that does not parse (never read as empty).
pub async fn frozen_figures(
    conn: &mut PgConnection,
    year: i32,
    counties: &[CountyCode],
) -> Result<Vec<FrozenFigure>> {
    let codes: Vec<&str> = counties.iter().map(CountyCode::as_str).collect();
    let rows = db::frozen_figures(conn, year, &codes).await?;
    let doing = "reading a frozen start rate";
    let figures = rows
        .into_iter()
        .map(|row| {
            let quarter = u8::try_from(row.quarter)
                .ok()
                .and_then(|n| Quarter::from_number(n).ok())
                .ok_or_else(|| corrupt(doing, &format!("quarter {}", row.quarter)))?;
            Ok(FrozenFigure {
                year,
                quarter,
                county: CountyCode::parse(&row.county_code).map_err(|e| corrupt(doing, &e))?,
                frozen_on: row.frozen_on,
                goal_percent: u8::try_from(row.goal_percent).map_err(|e| corrupt(doing, &e))?,
                projects: serde_json::from_value(row.projects).map_err(|e| corrupt(doing, &e))?,
            })
        })
        .collect::<Result<_, DbError>>()?;
    Ok(figures)
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
) -> Result<usize> {
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
        let freeze = NewFreeze {
            year: figure.year,
            quarter: i16::from(figure.quarter.number()),
            county_code: figure.county.as_str(),
            frozen_on: figure.frozen_on,
            goal_percent: i16::from(figure.goal_percent),
            projects: serde_json::to_value(&figure.projects)
                .map_err(|e| corrupt("writing a frozen start rate", &e))?,
        };
        if db::freeze(conn, &freeze, now).await? {
            stored += 1;
        }
    }
    Ok(stored)
}

/// Why the sweeper's freeze failed, in the shape `timers::sweep` matches on (`Db { doing,
/// source }`, anything else): a database failure or unreadable stored row, the stored goals, or
/// whatever else the ledger reported. It exists only so the sweeper (owned elsewhere) keeps
/// compiling; once the sweeper maps [`LedgerError`] itself, this goes.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A database failure, or a stored row that does not parse.
    #[error("database error while {doing}: {source}")]
    Db {
        /// What was being attempted.
        doing: &'static str,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// The stored start-rate goals do not parse.
    #[error("the start_rate_goals setting is not valid: {0}")]
    Goals(String),
    /// Anything else the ledger reported.
    #[error(transparent)]
    Ledger(LedgerError),
}

impl From<LedgerError> for StartError {
    fn from(error: LedgerError) -> Self {
        match error {
            LedgerError::Db(DbError { doing, source }) => Self::Db { doing, source },
            LedgerError::Goals(reason) => Self::Goals(reason),
            other => Self::Ledger(other),
        }
    }
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
pub async fn goals(conn: &mut PgConnection) -> Result<StartRateGoals> {
    match admin::setting(conn, "start_rate_goals").await? {
        None => Ok(StartRateGoals::default()),
        Some(value) => serde_json::from_value(value).map_err(|e| LedgerError::Goals(e.to_string())),
    }
}

/// County names by code, for the report's readers.
///
/// # Errors
/// Database failures.
pub async fn county_names(conn: &mut PgConnection) -> Result<BTreeMap<String, String>> {
    Ok(projects::counties(conn)
        .await?
        .into_iter()
        .map(|county| (county.code, county.name))
        .collect())
}
