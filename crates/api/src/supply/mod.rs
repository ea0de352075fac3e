//! Land supply after approval (issue 19; `DOMAIN.md` "Land supply: from approval to use"): the
//! parts an approved case is supplied in, their handover, certificate, start, progress and
//! completion ([`record`], [`follow`]); and the figures the plan judges them by ([`figures`]),
//! reported as JSON, CSV and .xlsx ([`reports`], [`tables`]).
//!
//! The rules are the domain's (`landuse_domain::supply`): a record is checked by
//! `supply::validate` and a new part by `supply::part::check_part` on the areas the spatial crate
//! measured (`landuse_spatial::supply::place_part`). This module parses requests into those
//! types, loads and stores through `crate::store::supply`, and answers typed views.

pub mod figures;
pub mod follow;
pub mod record;
pub mod reports;
pub mod tables;

use chrono::{DateTime, NaiveDate, Utc};
use landuse_domain::{
    ledger::Amount,
    supply::{Certificate, Development, StandardLandIndicators, Supply, SupplyMethod, SupplyRecordError},
};
use landuse_spatial::{geojson_out, wkb_io};
use serde::Serialize;
use serde_json::Value;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::{
    app::AppState,
    http::error::ApiError,
    store::supply::{DevelopmentColumns, IndicatorColumns, SupplyPartRow},
};

/// The land-supply routes under `/api/v1`, each with its OpenAPI description.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(record::list_parts, record::record_part))
        .routes(routes!(record::get_part))
        .routes(routes!(follow::record_handover))
        .routes(routes!(follow::record_certificate))
        .routes(routes!(follow::record_start))
        .routes(routes!(follow::record_completion))
        .routes(routes!(reports::land_supply))
        .routes(routes!(reports::idle_land))
        .routes(routes!(reports::standard_land))
        .routes(routes!(reports::handover_certificate))
}

/// A stored amount of hundredths as the domain's amount; a stored negative amount (which the
/// schema's constraints forbid) is a corrupt row.
fn amount(hundredths: i64) -> Result<Amount, ApiError> {
    if hundredths < 0 {
        return Err(ApiError::internal(
            "reading a supply amount",
            anyhow::anyhow!("negative amount {hundredths} hundredths"),
        ));
    }
    Ok(Amount::from_hundredths(hundredths))
}

fn optional_amount(hundredths: Option<i64>) -> Result<Option<Amount>, ApiError> {
    hundredths.map(amount).transpose()
}

/// Indicator columns as the domain's indicators.
fn indicators_of(columns: Option<IndicatorColumns>) -> Result<Option<StandardLandIndicators>, ApiError> {
    columns
        .map(|c| {
            Ok(StandardLandIndicators {
                investment_intensity: amount(c.investment_intensity)?,
                floor_area_ratio: amount(c.floor_area_ratio)?,
                tax_per_mu: amount(c.tax_per_mu)?,
                energy_per_output: amount(c.energy_per_output)?,
                land_use_standard_met: c.land_use_standard_met,
            })
        })
        .transpose()
}

/// The domain's indicators as their columns.
pub fn columns_of(indicators: &StandardLandIndicators) -> IndicatorColumns {
    IndicatorColumns {
        investment_intensity: indicators.investment_intensity.hundredths(),
        floor_area_ratio: indicators.floor_area_ratio.hundredths(),
        tax_per_mu: indicators.tax_per_mu.hundredths(),
        energy_per_output: indicators.energy_per_output.hundredths(),
        land_use_standard_met: indicators.land_use_standard_met,
    }
}

fn indicator_columns(
    investment_intensity: Option<i64>,
    floor_area_ratio: Option<i64>,
    tax_per_mu: Option<i64>,
    energy_per_output: Option<i64>,
    land_use_standard_met: Option<bool>,
) -> Option<IndicatorColumns> {
    Some(IndicatorColumns {
        investment_intensity: investment_intensity?,
        floor_area_ratio: floor_area_ratio?,
        tax_per_mu: tax_per_mu?,
        energy_per_output: energy_per_output?,
        land_use_standard_met: land_use_standard_met?,
    })
}

/// What was agreed for a stored part, as the domain's record.
///
/// # Errors
/// A corrupt row (an unknown method, a negative amount).
pub fn terms_of(row: &SupplyPartRow) -> Result<Supply, ApiError> {
    let method =
        SupplyMethod::parse(&row.method).map_err(|e| ApiError::internal("reading a supply method", e))?;
    Ok(Supply {
        method,
        document_number: row.document_number.clone(),
        decided_on: row.decided_on,
        price_wan_yuan: optional_amount(row.price_hundredths)?,
        area_mu: amount(row.area_hundredths)?,
        industrial: row.industrial,
        agreed_handover_on: row.agreed_handover_on,
        agreed_start_on: row.agreed_start_on,
        agreed_completion_on: row.agreed_completion_on,
        agreed_investment_wan_yuan: optional_amount(row.agreed_investment_hundredths)?,
        agreed_indicators: indicators_of(indicator_columns(
            row.agreed_investment_intensity_hundredths,
            row.agreed_floor_area_ratio_hundredths,
            row.agreed_tax_per_mu_hundredths,
            row.agreed_energy_per_output_hundredths,
            row.agreed_land_use_standard_met,
        ))?,
    })
}

/// What followed a stored part's supply, as the domain's record.
///
/// # Errors
/// A corrupt row (a negative amount).
pub fn development_of(row: &SupplyPartRow) -> Result<Development, ApiError> {
    let certificate = match (&row.certificate_number, row.certificate_issued_on) {
        (Some(number), Some(issued_on)) => Some(Certificate {
            number: number.clone(),
            issued_on,
        }),
        _ => None,
    };
    Ok(Development {
        handed_over_on: row.handed_over_on,
        certificate,
        started_on: row.started_on,
        developed_mu: optional_amount(row.developed_hundredths)?,
        invested_wan_yuan: optional_amount(row.invested_hundredths)?,
        halted_since: row.halted_since,
        completed_on: row.completed_on,
        achieved_indicators: indicators_of(indicator_columns(
            row.achieved_investment_intensity_hundredths,
            row.achieved_floor_area_ratio_hundredths,
            row.achieved_tax_per_mu_hundredths,
            row.achieved_energy_per_output_hundredths,
            row.achieved_land_use_standard_met,
        ))?,
    })
}

/// The domain's development as its columns.
pub fn development_columns(development: &Development) -> DevelopmentColumns {
    DevelopmentColumns {
        handed_over_on: development.handed_over_on,
        certificate_number: development.certificate.as_ref().map(|c| c.number.clone()),
        certificate_issued_on: development.certificate.as_ref().map(|c| c.issued_on),
        started_on: development.started_on,
        developed_hundredths: development.developed_mu.map(Amount::hundredths),
        invested_hundredths: development.invested_wan_yuan.map(Amount::hundredths),
        halted_since: development.halted_since,
        completed_on: development.completed_on,
        achieved_indicators: development.achieved_indicators.as_ref().map(columns_of),
    }
}

/// A supply record refused by the domain: 422 naming the field.
pub fn refused_record(error: &SupplyRecordError) -> ApiError {
    ApiError::invalid("invalid-supply-record", error.field(), error.to_string())
}

/// A certificate as the answers show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CertificateView {
    /// The certificate's number (不动产权证书号).
    pub number: String,
    /// The day it was issued.
    pub issued_on: NaiveDate,
}

/// One supplied part of an approved case and what followed it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SupplyPartView {
    /// The part's id.
    pub id: Uuid,
    /// The approved case it supplies.
    pub case_id: Uuid,
    /// The case's county.
    pub county_code: String,
    /// Its place among the case's parts, from 1.
    pub seq: i32,
    /// How it was supplied.
    pub method: SupplyMethod,
    /// The allocation decision's or the contract's number.
    pub document_number: String,
    /// The decision's or contract's date: the day the land counts as supplied.
    pub decided_on: NaiveDate,
    /// The price in 万元; absent for an allocation without one.
    pub price_wan_yuan: Option<Amount>,
    /// The ellipsoidal area (CGCS2000) of the supplied geometry in m².
    pub area_m2: f64,
    /// The same in mu, rounded half up to the hundredth.
    pub area_mu: Amount,
    /// `geojson` or `coordinate_file` (`import` for records from an older system).
    pub source: String,
    /// Whether it is industrial land (the standard-land rules cover it).
    pub industrial: bool,
    /// The agreed handover date.
    pub agreed_handover_on: NaiveDate,
    /// The agreed start date, from which the idle-land periods run.
    pub agreed_start_on: NaiveDate,
    /// The agreed completion date.
    pub agreed_completion_on: NaiveDate,
    /// The agreed total investment in 万元.
    pub agreed_investment_wan_yuan: Option<Amount>,
    /// The standard-land indicators agreed at supply (in 万元/亩, a ratio, 万元/亩·年,
    /// kgce/万元); land supplied with them is standard land.
    pub agreed_indicators: Option<StandardLandIndicators>,
    /// The handover date (交地).
    pub handed_over_on: Option<NaiveDate>,
    /// The real-estate certificate.
    pub certificate: Option<CertificateView>,
    /// The day development started.
    pub started_on: Option<NaiveDate>,
    /// The area developed so far, in mu.
    pub developed_mu: Option<Amount>,
    /// The investment made so far, in 万元.
    pub invested_wan_yuan: Option<Amount>,
    /// The day development stopped, while it stays stopped.
    pub halted_since: Option<NaiveDate>,
    /// The completion date.
    pub completed_on: Option<NaiveDate>,
    /// The indicators achieved, measured at acceptance.
    pub achieved_indicators: Option<StandardLandIndicators>,
    /// The supplied geometry, a GeoJSON `MultiPolygon` wound as RFC 7946 asks.
    #[schema(value_type = Object)]
    pub geometry: Value,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Its version; the `ETag` of a read, the `If-Match` of a change.
    pub version: i64,
}

/// The answer view of a stored part.
///
/// # Errors
/// A corrupt row.
pub fn view(row: &SupplyPartRow) -> Result<SupplyPartView, ApiError> {
    let terms = terms_of(row)?;
    let development = development_of(row)?;
    let geometry = wkb_io::from_wkb(&row.wkb)
        .map(wkb_io::polygons_of)
        .map_err(|e| ApiError::internal("decoding a supplied geometry", e))?;
    let geometry = serde_json::to_value(geojson_out::multi_polygon(&geometry))
        .map_err(|e| ApiError::internal("writing GeoJSON", e))?;
    Ok(SupplyPartView {
        id: row.id,
        case_id: row.case_id,
        county_code: row.county_code.clone(),
        seq: row.seq,
        method: terms.method,
        document_number: terms.document_number,
        decided_on: terms.decided_on,
        price_wan_yuan: terms.price_wan_yuan,
        area_m2: row.area_m2,
        area_mu: terms.area_mu,
        source: row.source.clone(),
        industrial: terms.industrial,
        agreed_handover_on: terms.agreed_handover_on,
        agreed_start_on: terms.agreed_start_on,
        agreed_completion_on: terms.agreed_completion_on,
        agreed_investment_wan_yuan: terms.agreed_investment_wan_yuan,
        agreed_indicators: terms.agreed_indicators,
        handed_over_on: development.handed_over_on,
        certificate: development.certificate.map(|c| CertificateView {
            number: c.number,
            issued_on: c.issued_on,
        }),
        started_on: development.started_on,
        developed_mu: development.developed_mu,
        invested_wan_yuan: development.invested_wan_yuan,
        halted_since: development.halted_since,
        completed_on: development.completed_on,
        achieved_indicators: development.achieved_indicators,
        geometry,
        recorded_at: row.recorded_at,
        updated_at: row.updated_at,
        version: row.version,
    })
}
