//! What the demo loader asks of the database beyond the API it drives: fresh planner
//! statistics after its layer imports, and the counts it reports.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::{DbError, Doing};

/// Refreshes the planner's statistics of the check pieces, so checks right after a bulk import
/// use the spatial index.
///
/// # Errors
/// Database failures.
pub async fn analyze_layers(conn: &mut PgConnection) -> Result<(), DbError> {
    sqlx::query("analyze layer_pieces")
        .execute(conn)
        .await
        .doing("analysing the layers")?;
    Ok(())
}

/// A count by some code (a layer kind, a stage).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CountBy {
    /// The code.
    pub code: String,
    /// How many.
    pub count: i64,
}

/// The features of the current layer versions, by layer kind.
///
/// # Errors
/// Database failures.
pub async fn features_by_kind(conn: &mut PgConnection) -> Result<Vec<CountBy>, DbError> {
    sqlx::query_as(
        "select v.kind as code, sum(v.feature_count)::int8 as count
           from layer_versions v where v.is_current group by v.kind",
    )
    .fetch_all(conn)
    .await
    .doing("counting the layers")
}

/// The cases, by stage.
///
/// # Errors
/// Database failures.
pub async fn cases_by_stage(conn: &mut PgConnection) -> Result<Vec<CountBy>, DbError> {
    sqlx::query_as("select stage as code, count(*) as count from cases group by stage")
        .fetch_all(conn)
        .await
        .doing("counting the cases")
}

/// What the database holds, counted at one instant.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Totals {
    /// Projects.
    pub projects: i64,
    /// Cases.
    pub cases: i64,
    /// Parcels.
    pub parcels: i64,
    /// Cases on the green channel.
    pub green: i64,
    /// Cases whose stored deadline is past.
    pub overdue: i64,
    /// Open ledger items past their due day.
    pub ledger_overdue: i64,
    /// Spatial checks.
    pub checks: i64,
    /// Case events.
    pub events: i64,
}

/// The totals at `now` (deadlines and due days are judged against it).
///
/// # Errors
/// Database failures.
pub async fn totals(conn: &mut PgConnection, now: DateTime<Utc>) -> Result<Totals, DbError> {
    sqlx::query_as(
        "select (select count(*) from projects) as projects,
                (select count(*) from cases) as cases,
                (select count(*) from parcels) as parcels,
                (select count(*) from cases where green) as green,
                (select count(*) from cases where deadline_at is not null and deadline_at <= $1) as overdue,
                (select count(*) from ledger_items
                  where cleared_at is null and due_on < ($1 at time zone 'Asia/Shanghai')::date) as ledger_overdue,
                (select count(*) from checks) as checks,
                (select count(*) from case_events) as events",
    )
    .bind(now)
    .fetch_one(conn)
    .await
    .doing("counting the demo")
}

/// A place on a feature of the current `kind` layer (a point on its surface, the feature of
/// lowest id first) with no feature of the `avoid` kinds within about 200 m, and, when
/// `outside_towns`, no urban boundary within that distance either; `None` when there is none.
///
/// # Errors
/// Database failures.
pub async fn spot_on(
    conn: &mut PgConnection,
    kind: &str,
    avoid: &[&str],
    outside_towns: bool,
) -> Result<Option<(f64, f64)>, DbError> {
    sqlx::query_as(include_str!("sql/demo_spot_on.sql"))
        .bind(kind)
        .bind(avoid)
        .bind(outside_towns)
        .fetch_optional(conn)
        .await
        .doing("finding a place on a layer")
}
