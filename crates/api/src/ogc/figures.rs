//! The two land-supply collections, so that QGIS maps what the reports count:
//!
//! - `approved_unsupplied` (批而未供): per approval batch with land still unsupplied at `as_of`,
//!   what is left of its approved parcels once its supplied parts are taken out, with the
//!   batch's line of the land-supply report (approved, supplied and unsupplied mu, age bucket);
//! - `idle_land` (闲置土地): per supply part whose idle-land status at `as_of` warns (due soon,
//!   idle, partial-start idle, reclaimable) or would warn but for a government-caused delay, its
//!   supplied geometry with its line of the idle-land report.
//!
//! The figures are not computed here: the features are made from the lines of
//! `unsupplied::land_supply` and `idle::idle_land` over the inputs `supply::figures` loads, the
//! very calls behind `/api/v1/reports/land-supply` and `/api/v1/reports/idle-land`, in the
//! caller's county scope. The page statement (`sql/ogc_figures_filtered.sql`) receives them as
//! arrays and only adds what every collection has: row-level security through the case, the
//! county filter, the bounding box, keyset paging and the CRS.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use geo_types::MultiPolygon;
use landuse_domain::{
    ledger::amount::Amount,
    supply::{
        idle::{self, IdleRules, IdleStatus},
        unsupplied::{self, AgeBucket},
    },
};
use landuse_spatial::{supply as measure, wkb_io};
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

use super::error::OgcError;
use crate::{http::error::ApiError, store::ogc::FigureFeatures, supply::figures};

/// The id of the 批而未供 collection.
pub const APPROVED_UNSUPPLIED: &str = "approved_unsupplied";
/// The id of the idle-land collection.
pub const IDLE_LAND: &str = "idle_land";

/// The properties of an `approved_unsupplied` feature: its batch's line of the land-supply
/// report, and the unsupplied area in m² the line's mu come from.
#[derive(Debug, Clone, Serialize)]
struct UnsuppliedProperties<'a> {
    case_id: Uuid,
    document_number: &'a str,
    county_code: &'a str,
    approved_on: NaiveDate,
    age: &'static str,
    approved_mu: Amount,
    supplied_mu: Amount,
    unsupplied_mu: Amount,
    unsupplied_m2: f64,
    supply_percent: Option<f64>,
    as_of: NaiveDate,
}

/// The properties of an `idle_land` feature: its part's line of the idle-land report.
#[derive(Debug, Clone, Serialize)]
struct IdleProperties<'a> {
    supply_id: Uuid,
    case_id: Uuid,
    county_code: &'a str,
    seq: i32,
    document_number: &'a str,
    area_mu: Amount,
    status: &'static str,
    agreed_start_on: NaiveDate,
    idle_since: Option<NaiveDate>,
    idle_from: NaiveDate,
    reclaimable_from: NaiveDate,
    fee_wan_yuan: Option<Amount>,
    fee_note: Option<String>,
    government_caused: bool,
    government_delay_days: Option<i64>,
    as_of: NaiveDate,
}

/// Which features of a land-supply collection a request keeps, besides scope and bbox.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FigureFilter {
    /// One case (approval batch).
    pub case_id: Option<Uuid>,
    /// One supply part (`idle_land`).
    pub supply_id: Option<Uuid>,
    /// One county.
    pub county: Option<String>,
    /// One age bucket code (`approved_unsupplied`).
    pub age: Option<String>,
    /// One idle-land status code (`idle_land`).
    pub status: Option<String>,
    /// Government-caused delays only, or none of them (`idle_land`).
    pub government_caused: Option<bool>,
}

/// The features gathered so far, before they become the statement's arrays.
#[derive(Default)]
struct Gathered {
    features: FigureFeatures,
    bbox: Option<[f64; 4]>,
}

impl Gathered {
    fn push(
        &mut self,
        id: Uuid,
        case_id: Uuid,
        geometry: &MultiPolygon,
        properties: &impl Serialize,
    ) -> Result<(), OgcError> {
        let wkb = wkb_io::multi_polygon_to_wkb(geometry)
            .map_err(|e| ApiError::internal("encoding a land-supply geometry", e))?;
        let properties = serde_json::to_string(properties)
            .map_err(|e| ApiError::internal("writing a land-supply feature", e))?;
        for polygon in &geometry.0 {
            for c in polygon.exterior().coords() {
                let b = self.bbox.get_or_insert([c.x, c.y, c.x, c.y]);
                *b = [b[0].min(c.x), b[1].min(c.y), b[2].max(c.x), b[3].max(c.y)];
            }
        }
        self.features.ids.push(id);
        self.features.case_ids.push(case_id);
        self.features.geometries.push(wkb);
        self.features.properties.push(properties);
        Ok(())
    }
}

fn keeps(wanted: Option<&str>, value: &str) -> bool {
    wanted.is_none_or(|w| w == value)
}

/// The `approved_unsupplied` features of `counties` at `as_of`, and their lon/lat box.
///
/// # Errors
/// Database failures; a corrupt stored record.
pub async fn approved_unsupplied(
    conn: &mut PgConnection,
    counties: Option<&[String]>,
    as_of: NaiveDate,
    filter: &FigureFilter,
) -> Result<(FigureFeatures, Option<[f64; 4]>), OgcError> {
    let parts = figures::parts(conn, counties).await?;
    let batches = figures::batches(conn, counties, &parts, as_of).await?;
    let lands: Vec<_> = batches.iter().map(|b| b.land.clone()).collect();
    let report = unsupplied::land_supply(&lands, as_of)
        .map_err(|e| ApiError::internal("computing the land-supply figures", e))?;
    let measured: BTreeMap<Uuid, _> = batches.iter().map(|b| (b.land.batch, b)).collect();
    let mut out = Gathered::default();
    for line in &report.batches {
        let Some(batch) = measured.get(&line.batch) else {
            continue;
        };
        let county = line.county.as_str();
        if line.unsupplied_mu.is_zero()
            || filter.case_id.is_some_and(|id| id != line.batch)
            || !keeps(filter.county.as_deref(), county)
            || !keeps(filter.age.as_deref(), line.age.code())
        {
            continue;
        }
        let left = measure::remainder(&batch.approved, &batch.supplied);
        if left.0.is_empty() {
            continue;
        }
        let unsupplied_m2 = batch.land.approved_m2.value() - batch.land.supplied_within_approved_m2.value();
        let properties = UnsuppliedProperties {
            case_id: line.batch,
            document_number: &line.document_number,
            county_code: county,
            approved_on: line.approved_on,
            age: line.age.code(),
            approved_mu: line.approved_mu,
            supplied_mu: line.supplied_mu,
            unsupplied_mu: line.unsupplied_mu,
            unsupplied_m2: (unsupplied_m2.max(0.0) * 100.0).round() / 100.0,
            supply_percent: line.supply_percent,
            as_of,
        };
        out.push(line.batch, line.batch, &left, &properties)?;
    }
    Ok((out.features, out.bbox))
}

/// Whether the map shows land in `status`: the statuses the bureau is warned of, and land that
/// would be warned of but for a government-caused delay (marked, and excluded from the totals).
fn mapped(status: IdleStatus) -> bool {
    status.warns() || status == IdleStatus::GovernmentCaused
}

/// The `idle_land` features of `counties` at `as_of`, and their lon/lat box.
///
/// # Errors
/// Database failures; a corrupt stored record.
pub async fn idle_land(
    conn: &mut PgConnection,
    counties: Option<&[String]>,
    as_of: NaiveDate,
    filter: &FigureFilter,
) -> Result<(FigureFeatures, Option<[f64; 4]>), OgcError> {
    let parts = figures::parts(conn, counties).await?;
    let lands = figures::supplied_lands(&parts)?;
    let rules = IdleRules::default();
    let report = idle::idle_land(&lands, as_of, &rules)
        .map_err(|e| ApiError::internal("computing the idle-land figures", e))?;
    let rows: BTreeMap<Uuid, _> = parts.iter().map(|p| (p.part.id, &p.part)).collect();
    let mut out = Gathered::default();
    for line in report.lands.iter().filter(|l| mapped(l.status)) {
        let Some(part) = rows.get(&line.supply) else {
            continue;
        };
        let county = line.county.as_str();
        let government_caused = line.status == IdleStatus::GovernmentCaused;
        if filter.case_id.is_some_and(|id| id != part.case_id)
            || filter.supply_id.is_some_and(|id| id != line.supply)
            || !keeps(filter.county.as_deref(), county)
            || !keeps(filter.status.as_deref(), line.status.code())
            || filter.government_caused.is_some_and(|g| g != government_caused)
        {
            continue;
        }
        let geometry = wkb_io::from_wkb(&part.wkb)
            .map(wkb_io::polygons_of)
            .map_err(|e| ApiError::internal("decoding a supply part's geometry", e))?;
        let idle_since = match line.status {
            IdleStatus::Idle | IdleStatus::Reclaimable => Some(line.idle_from),
            IdleStatus::PartialIdle => line.partial_idle_from,
            _ => None,
        };
        let fee_note = match (line.status, line.fee_wan_yuan) {
            (_, Some(fee)) => Some(format!(
                "土地闲置费 idle-land fee: {}% of the price, {fee} 万元",
                rules.fee_percent()
            )),
            (IdleStatus::Reclaimable, _) => {
                Some("满两年未动工，可无偿收回 idle two years: may be taken back".to_owned())
            }
            (IdleStatus::GovernmentCaused, _) => {
                Some("政府原因延迟交地，不计闲置 handover late: not counted as idle".to_owned())
            }
            _ => None,
        };
        let properties = IdleProperties {
            supply_id: line.supply,
            case_id: part.case_id,
            county_code: county,
            seq: part.seq,
            document_number: &part.document_number,
            area_mu: line.area_mu,
            status: line.status.code(),
            agreed_start_on: line.agreed_start_on,
            idle_since,
            idle_from: line.idle_from,
            reclaimable_from: line.reclaimable_from,
            fee_wan_yuan: line.fee_wan_yuan,
            fee_note,
            government_caused,
            government_delay_days: line.government_delay_days,
            as_of,
        };
        out.push(line.supply, part.case_id, &geometry, &properties)?;
    }
    Ok((out.features, out.bbox))
}

/// Reads an age bucket code, so a misspelt filter is a 400 rather than an empty page.
///
/// # Errors
/// A code that names no bucket.
pub fn age_code(value: &str) -> Result<String, OgcError> {
    AgeBucket::ALL
        .iter()
        .find(|a| a.code() == value)
        .map(|a| a.code().to_owned())
        .ok_or_else(|| {
            let codes: Vec<&str> = AgeBucket::ALL.iter().map(|a| a.code()).collect();
            OgcError::parameter("age", format!("{value:?} is not one of {}", codes.join(", ")))
        })
}

/// Reads an idle-land status code of a mapped status.
///
/// # Errors
/// A code that names no status the collection holds.
pub fn status_code(value: &str) -> Result<String, OgcError> {
    IdleStatus::ALL
        .iter()
        .filter(|s| mapped(**s))
        .find(|s| s.code() == value)
        .map(|s| s.code().to_owned())
        .ok_or_else(|| {
            let codes: Vec<&str> = IdleStatus::ALL
                .iter()
                .filter(|s| mapped(**s))
                .map(|s| s.code())
                .collect();
            OgcError::parameter("status", format!("{value:?} is not one of {}", codes.join(", ")))
        })
}

/// Reads `as_of`, a date (`YYYY-MM-DD`).
///
/// # Errors
/// Anything else.
pub fn as_of(value: &str) -> Result<NaiveDate, OgcError> {
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .map_err(|_| OgcError::parameter("as_of", format!("{value:?} is not a date (YYYY-MM-DD)")))
}
