//! Land supply after approval: the supplied parts of each approved case with what followed them
//! (`supply_parts`), the approval batches they are counted by (the `approval_batches` view), and
//! the development zones (the current `development_zone` layer versions).
//!
//! Geometry goes in and out as WKB in EPSG:4490; areas and money are `numeric(14, 2)` read and
//! bound as whole hundredths (`*_hundredths`), as in the ledgers, so no figure passes through a
//! float. Every read runs under the caller's county scope (row-level security on `cases` and
//! `supply_parts`), so a report of a county officer holds only their counties' rows.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{DbError, Doing};

const SELECT_PART: &str = concat!(
    "select ",
    include_str!("sql/supply_part_columns.sql"),
    "  from supply_parts p\n  join cases c on c.id = p.case_id\n"
);
const INSERT_PART: &str = include_str!("sql/supply_part_insert.sql");
const UPDATE_PART: &str = include_str!("sql/supply_part_update.sql");
const FIGURE_PARTS: &str = concat!(
    "select ",
    include_str!("sql/supply_part_columns.sql"),
    include_str!("sql/supply_figure_parts.sql")
);

/// A stored supply part with what followed it. Amounts are hundredths of their unit.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SupplyPartRow {
    /// The part's id.
    pub id: Uuid,
    /// The approved case it supplies.
    pub case_id: Uuid,
    /// The case's county.
    pub county_code: String,
    /// Its place among the case's parts, from 1.
    pub seq: i32,
    /// `supply::SupplyMethod`'s code.
    pub method: String,
    /// The decision's or contract's number.
    pub document_number: String,
    /// The decision's or contract's date.
    pub decided_on: NaiveDate,
    /// The price, 万元.
    pub price_hundredths: Option<i64>,
    /// The supplied geometry, a WKB `MultiPolygon` in longitude and latitude.
    pub wkb: Vec<u8>,
    /// Its ellipsoidal area in m².
    pub area_m2: f64,
    /// The same in mu.
    pub area_hundredths: i64,
    /// `geojson`, `coordinate_file` or `import`.
    pub source: String,
    /// Whether it is industrial land.
    pub industrial: bool,
    /// The agreed handover date.
    pub agreed_handover_on: NaiveDate,
    /// The agreed start date.
    pub agreed_start_on: NaiveDate,
    /// The agreed completion date.
    pub agreed_completion_on: NaiveDate,
    /// The agreed total investment, 万元.
    pub agreed_investment_hundredths: Option<i64>,
    /// Agreed fixed-asset investment intensity, 万元/亩.
    pub agreed_investment_intensity_hundredths: Option<i64>,
    /// Agreed floor-area ratio.
    pub agreed_floor_area_ratio_hundredths: Option<i64>,
    /// Agreed tax per mu, 万元/亩·年.
    pub agreed_tax_per_mu_hundredths: Option<i64>,
    /// Agreed energy use per output, kgce/万元.
    pub agreed_energy_per_output_hundredths: Option<i64>,
    /// Whether the land-use standard is to be met.
    pub agreed_land_use_standard_met: Option<bool>,
    /// The handover date.
    pub handed_over_on: Option<NaiveDate>,
    /// The certificate's number.
    pub certificate_number: Option<String>,
    /// The certificate's date.
    pub certificate_issued_on: Option<NaiveDate>,
    /// The start date.
    pub started_on: Option<NaiveDate>,
    /// The area developed, mu.
    pub developed_hundredths: Option<i64>,
    /// The investment made, 万元.
    pub invested_hundredths: Option<i64>,
    /// The day development stopped, while it stays stopped.
    pub halted_since: Option<NaiveDate>,
    /// The completion date.
    pub completed_on: Option<NaiveDate>,
    /// Achieved fixed-asset investment intensity, 万元/亩.
    pub achieved_investment_intensity_hundredths: Option<i64>,
    /// Achieved floor-area ratio.
    pub achieved_floor_area_ratio_hundredths: Option<i64>,
    /// Achieved tax per mu, 万元/亩·年.
    pub achieved_tax_per_mu_hundredths: Option<i64>,
    /// Achieved energy use per output, kgce/万元.
    pub achieved_energy_per_output_hundredths: Option<i64>,
    /// Whether the land-use standard was met.
    pub achieved_land_use_standard_met: Option<bool>,
    /// The idle-land status the sweeper last saw.
    pub idle_status: Option<String>,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Its version (the ETag).
    pub version: i64,
}

/// One part, optionally locked for a write; `None` when it does not exist or is outside the
/// transaction's county scope.
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip(conn))]
pub async fn load(conn: &mut PgConnection, id: Uuid, lock: bool) -> Result<Option<SupplyPartRow>, DbError> {
    let sql = format!(
        "{SELECT_PART} where p.id = $1{}",
        if lock { " for update of p" } else { "" }
    );
    sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(conn)
        .await
        .doing("loading a supply part")
}

/// The parts of a case, in order.
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip(conn))]
pub async fn of_case(conn: &mut PgConnection, case_id: Uuid) -> Result<Vec<SupplyPartRow>, DbError> {
    sqlx::query_as(&format!("{SELECT_PART} where p.case_id = $1 order by p.seq"))
        .bind(case_id)
        .fetch_all(conn)
        .await
        .doing("loading a case's supply parts")
}

/// Every part the figures count, of `counties` (every county the scope admits when `None`), by
/// county, case and place.
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip(conn))]
pub async fn for_figures(
    conn: &mut PgConnection,
    counties: Option<&[String]>,
) -> Result<Vec<FigurePartRow>, DbError> {
    sqlx::query_as(FIGURE_PARTS)
        .bind(counties)
        .fetch_all(conn)
        .await
        .doing("loading the supply parts for the figures")
}

/// A part as the figures read it: the part with its case's project.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FigurePartRow {
    /// The part.
    #[sqlx(flatten)]
    pub part: SupplyPartRow,
    /// The case's project.
    pub project_id: Uuid,
    /// The project's name.
    pub project_name: String,
    /// The project's level (`national`, `provincial`, `municipal`, `county`).
    pub project_level: String,
    /// Whether the project is on a key-project list.
    pub on_key_list: bool,
    /// The leader responsible for the project, as the key-project list names them.
    pub responsible_leader: Option<String>,
    /// The case's stage now.
    pub case_stage: String,
    /// The case's title.
    pub case_title: String,
    /// The county officer who opened the case.
    pub officer_id: Option<Uuid>,
}

/// A part to store.
#[derive(Debug)]
pub struct NewSupplyPart<'a> {
    /// Its id.
    pub id: Uuid,
    /// The approved case.
    pub case_id: Uuid,
    /// `supply::SupplyMethod`'s code.
    pub method: &'static str,
    /// The decision's or contract's number.
    pub document_number: &'a str,
    /// Its date.
    pub decided_on: NaiveDate,
    /// The price, 万元, in hundredths.
    pub price_hundredths: Option<i64>,
    /// The supplied geometry as WKB (EPSG:4490).
    pub wkb: &'a [u8],
    /// Its ellipsoidal area.
    pub area_m2: f64,
    /// The same in mu, in hundredths.
    pub area_hundredths: i64,
    /// `geojson` or `coordinate_file`.
    pub source: &'static str,
    /// Whether it is industrial land.
    pub industrial: bool,
    /// The agreed handover date.
    pub agreed_handover_on: NaiveDate,
    /// The agreed start date.
    pub agreed_start_on: NaiveDate,
    /// The agreed completion date.
    pub agreed_completion_on: NaiveDate,
    /// The agreed total investment, 万元, in hundredths.
    pub agreed_investment_hundredths: Option<i64>,
    /// The agreed indicators, in hundredths of their units, and the land-use standard.
    pub agreed_indicators: Option<IndicatorColumns>,
}

/// The four valued standard-land indicators in hundredths of their units, and the land-use
/// standard, as their columns hold them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndicatorColumns {
    /// 万元/亩.
    pub investment_intensity: i64,
    /// A ratio.
    pub floor_area_ratio: i64,
    /// 万元/亩·年.
    pub tax_per_mu: i64,
    /// kgce/万元.
    pub energy_per_output: i64,
    /// Whether the land-use standard is met.
    pub land_use_standard_met: bool,
}

/// Stores a new part, numbered after the case's last one.
///
/// # Errors
/// Database failures, among them a broken named constraint.
#[tracing::instrument(level = "debug", skip(conn, part), fields(case = %part.case_id))]
pub async fn insert(
    conn: &mut PgConnection,
    part: &NewSupplyPart<'_>,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    let ind = part.agreed_indicators;
    sqlx::query(INSERT_PART)
        .bind(part.id)
        .bind(part.case_id)
        .bind(part.method)
        .bind(part.document_number)
        .bind(part.decided_on)
        .bind(part.price_hundredths)
        .bind(part.wkb)
        .bind(part.area_m2)
        .bind(part.area_hundredths)
        .bind(part.source)
        .bind(part.industrial)
        .bind(part.agreed_handover_on)
        .bind(part.agreed_start_on)
        .bind(part.agreed_completion_on)
        .bind(part.agreed_investment_hundredths)
        .bind(ind.map(|i| i.investment_intensity))
        .bind(ind.map(|i| i.floor_area_ratio))
        .bind(ind.map(|i| i.tax_per_mu))
        .bind(ind.map(|i| i.energy_per_output))
        .bind(ind.map(|i| i.land_use_standard_met))
        .bind(now)
        .execute(conn)
        .await
        .doing("storing a supply part")?;
    Ok(())
}

/// What followed a supply, as its columns hold it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DevelopmentColumns {
    /// The handover date.
    pub handed_over_on: Option<NaiveDate>,
    /// The certificate's number.
    pub certificate_number: Option<String>,
    /// The certificate's date.
    pub certificate_issued_on: Option<NaiveDate>,
    /// The start date.
    pub started_on: Option<NaiveDate>,
    /// The area developed, mu, in hundredths.
    pub developed_hundredths: Option<i64>,
    /// The investment made, 万元, in hundredths.
    pub invested_hundredths: Option<i64>,
    /// The day development stopped.
    pub halted_since: Option<NaiveDate>,
    /// The completion date.
    pub completed_on: Option<NaiveDate>,
    /// The indicators achieved.
    pub achieved_indicators: Option<IndicatorColumns>,
}

/// Replaces what followed a part's supply and gives it a new version, which it returns.
///
/// # Errors
/// Database failures, among them a broken named constraint.
#[tracing::instrument(level = "debug", skip(conn, development))]
pub async fn update_development(
    conn: &mut PgConnection,
    id: Uuid,
    development: &DevelopmentColumns,
    now: DateTime<Utc>,
) -> Result<i64, DbError> {
    let d = development;
    let ind = d.achieved_indicators;
    sqlx::query_scalar(UPDATE_PART)
        .bind(id)
        .bind(d.handed_over_on)
        .bind(d.certificate_number.as_deref())
        .bind(d.certificate_issued_on)
        .bind(d.started_on)
        .bind(d.developed_hundredths)
        .bind(d.invested_hundredths)
        .bind(d.halted_since)
        .bind(d.completed_on)
        .bind(ind.map(|i| i.investment_intensity))
        .bind(ind.map(|i| i.floor_area_ratio))
        .bind(ind.map(|i| i.tax_per_mu))
        .bind(ind.map(|i| i.energy_per_output))
        .bind(ind.map(|i| i.land_use_standard_met))
        .bind(now)
        .fetch_one(conn)
        .await
        .doing("updating a supply part")
}

/// Stores the idle-land status the sweeper saw (no new version: the record did not change).
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip(conn))]
pub async fn set_idle_status(conn: &mut PgConnection, id: Uuid, status: &str) -> Result<(), DbError> {
    sqlx::query("update supply_parts set idle_status = $2 where id = $1")
        .bind(id)
        .bind(status)
        .execute(conn)
        .await
        .doing("keeping a supply part's idle status")?;
    Ok(())
}

/// An approval batch: a case whose conversion was approved.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BatchRow {
    /// The case.
    pub case_id: Uuid,
    /// Its county.
    pub county_code: String,
    /// The approval's number (the case's title when none was recorded).
    pub document_number: String,
    /// The approval's date, the bureau's.
    pub approved_on: NaiveDate,
}

/// The approval batches approved by `as_of` of `counties` (all the scope admits when `None`).
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip(conn))]
pub async fn batches(
    conn: &mut PgConnection,
    counties: Option<&[String]>,
    as_of: NaiveDate,
) -> Result<Vec<BatchRow>, DbError> {
    sqlx::query_as(
        "select case_id, county_code, document_number, approved_on from approval_batches
          where approved_on <= $2 and ($1::text[] is null or county_code = any ($1))
          order by county_code, approved_on, case_id",
    )
    .bind(counties)
    .bind(as_of)
    .fetch_all(conn)
    .await
    .doing("loading the approval batches")
}

/// The batch of one case, when its conversion was approved.
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip(conn))]
pub async fn batch_of(conn: &mut PgConnection, case_id: Uuid) -> Result<Option<BatchRow>, DbError> {
    sqlx::query_as(
        "select case_id, county_code, document_number, approved_on from approval_batches where case_id = $1",
    )
    .bind(case_id)
    .fetch_optional(conn)
    .await
    .doing("loading the case's approval")
}

/// A geometry with the record it belongs to.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OwnedGeometry {
    /// The case (for parcels) or the layer feature's version (for zones).
    pub owner: Uuid,
    /// A WKB `MultiPolygon` in longitude and latitude.
    pub wkb: Vec<u8>,
}

/// The parcels of every case in `case_ids`.
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip(conn, case_ids), fields(cases = case_ids.len()))]
pub async fn parcels_of(conn: &mut PgConnection, case_ids: &[Uuid]) -> Result<Vec<OwnedGeometry>, DbError> {
    sqlx::query_as(
        "select case_id as owner, st_asbinary(geom) as wkb from parcels
          where case_id = any ($1) order by case_id, seq",
    )
    .bind(case_ids)
    .fetch_all(conn)
    .await
    .doing("loading the approved parcels")
}

/// The polygons of the current `development_zone` layer versions.
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip(conn))]
pub async fn development_zones(conn: &mut PgConnection) -> Result<Vec<OwnedGeometry>, DbError> {
    sqlx::query_as(
        "select v.id as owner, st_asbinary(f.geom) as wkb
           from layer_features f join layer_versions v on v.id = f.version_id
          where v.kind = 'development_zone' and v.is_current
            and geometrytype(f.geom) = 'MULTIPOLYGON'
          order by v.id, f.ordinal",
    )
    .fetch_all(conn)
    .await
    .doing("loading the development zones")
}
