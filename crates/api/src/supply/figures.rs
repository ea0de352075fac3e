//! The inputs of the land-supply figures, loaded under the caller's county scope and measured by
//! the spatial crate, in the domain's types: the approval batches with their supplied area
//! (a union clipped to the approval, so nothing counts twice), the supplied lands as the idle-land
//! rules read them, the industrial supplies with their part inside development zones, and the
//! handovers of key projects. The reports, the sweeper's idle-land alerts and the OGC collections
//! all start here, so each figure has one source.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use geo_types::MultiPolygon;
use landuse_domain::{
    county::CountyCode,
    project::ProjectLevel,
    supply::{
        certificate::HandoverRecord, idle::SuppliedLand, mu_of, standard::IndustrialSupply,
        unsupplied::ApprovedLand,
    },
    units::SquareMetres,
};
use landuse_spatial::{supply, wkb_io};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{development_of, terms_of};
use crate::{
    http::error::ApiError,
    store::{
        self,
        supply::{FigurePartRow, OwnedGeometry},
    },
};

fn geometry(wkb: &[u8]) -> Result<MultiPolygon, ApiError> {
    wkb_io::from_wkb(wkb)
        .map(wkb_io::polygons_of)
        .map_err(|e| ApiError::internal("decoding a stored geometry", e))
}

fn county(code: &str) -> Result<CountyCode, ApiError> {
    CountyCode::parse(code).map_err(|e| ApiError::internal("reading a county code", e))
}

fn grouped(rows: Vec<OwnedGeometry>) -> Result<BTreeMap<Uuid, Vec<MultiPolygon>>, ApiError> {
    let mut by_owner: BTreeMap<Uuid, Vec<MultiPolygon>> = BTreeMap::new();
    for row in rows {
        by_owner.entry(row.owner).or_default().push(geometry(&row.wkb)?);
    }
    Ok(by_owner)
}

/// Every supply part of `counties` (all the scope admits when `None`), with its case's project.
///
/// # Errors
/// Database failures.
pub async fn parts(
    conn: &mut PgConnection,
    counties: Option<&[String]>,
) -> Result<Vec<FigurePartRow>, ApiError> {
    Ok(store::supply::for_figures(conn, counties).await?)
}

/// One approval batch with its geometry, as the figures and the `approved_unsupplied`
/// collection need it.
#[derive(Debug, Clone)]
pub struct MeasuredBatch {
    /// The domain's input.
    pub land: ApprovedLand,
    /// The approved parcels.
    pub approved: Vec<MultiPolygon>,
    /// The parts supplied by the report's date.
    pub supplied: Vec<MultiPolygon>,
}

/// The approval batches approved by `as_of`, each with its supplied area: the union of its
/// parts decided by `as_of`, clipped to its parcels.
///
/// # Errors
/// Database failures; a corrupt geometry.
pub async fn batches(
    conn: &mut PgConnection,
    counties: Option<&[String]>,
    parts: &[FigurePartRow],
    as_of: NaiveDate,
) -> Result<Vec<MeasuredBatch>, ApiError> {
    let batches = store::supply::batches(conn, counties, as_of).await?;
    let ids: Vec<Uuid> = batches.iter().map(|b| b.case_id).collect();
    let mut parcels = grouped(store::supply::parcels_of(conn, &ids).await?)?;
    let mut supplied: BTreeMap<Uuid, Vec<MultiPolygon>> = BTreeMap::new();
    for p in parts.iter().map(|p| &p.part).filter(|p| p.decided_on <= as_of) {
        supplied.entry(p.case_id).or_default().push(geometry(&p.wkb)?);
    }
    batches
        .into_iter()
        .map(|b| {
            let approved = parcels.remove(&b.case_id).unwrap_or_default();
            let supplied = supplied.remove(&b.case_id).unwrap_or_default();
            let coverage = supply::coverage(&approved, &supplied);
            Ok(MeasuredBatch {
                land: ApprovedLand {
                    batch: b.case_id,
                    document_number: b.document_number,
                    county: county(&b.county_code)?,
                    approved_on: b.approved_on,
                    approved_m2: coverage.approved,
                    supplied_within_approved_m2: coverage.supplied_within,
                },
                approved,
                supplied,
            })
        })
        .collect()
}

/// The parts as the idle-land rules read them.
///
/// # Errors
/// A corrupt row.
pub fn supplied_lands(parts: &[FigurePartRow]) -> Result<Vec<SuppliedLand>, ApiError> {
    parts
        .iter()
        .map(|p| {
            Ok(SuppliedLand {
                supply: p.part.id,
                county: county(&p.part.county_code)?,
                terms: terms_of(&p.part)?,
                development: development_of(&p.part)?,
            })
        })
        .collect()
}

/// The industrial parts with the part of each inside the current development zones.
///
/// # Errors
/// Database failures; a corrupt row or geometry.
pub async fn industrial_supplies(
    conn: &mut PgConnection,
    parts: &[FigurePartRow],
) -> Result<Vec<IndustrialSupply>, ApiError> {
    let zones: Vec<MultiPolygon> = store::supply::development_zones(conn)
        .await?
        .iter()
        .map(|z| geometry(&z.wkb))
        .collect::<Result<_, _>>()?;
    parts
        .iter()
        .filter(|p| p.part.industrial)
        .map(|p| {
            let terms = terms_of(&p.part)?;
            let inside = if zones.is_empty() {
                SquareMetres::ZERO
            } else {
                supply::area_within(&geometry(&p.part.wkb)?, &zones)
            };
            let in_zone_mu = mu_of(inside)
                .map_err(|e| ApiError::internal("measuring a supply in the zones", e))?
                // Rounded separately, the part inside may come out a hundredth over the whole.
                .min(terms.area_mu);
            Ok(IndustrialSupply {
                supply: p.part.id,
                county: county(&p.part.county_code)?,
                decided_on: terms.decided_on,
                area_mu: terms.area_mu,
                in_zone_mu,
                standard: terms.standard_land(),
            })
        })
        .collect()
}

/// The parts' handovers and certificates with their projects, as 交地即交证 reads them.
///
/// # Errors
/// A corrupt row.
pub fn handover_records(parts: &[FigurePartRow]) -> Result<Vec<HandoverRecord>, ApiError> {
    parts
        .iter()
        .map(|p| {
            Ok(HandoverRecord {
                supply: p.part.id,
                project: p.project_id,
                project_name: p.project_name.clone(),
                county: county(&p.part.county_code)?,
                level: ProjectLevel::parse(&p.project_level)
                    .map_err(|e| ApiError::internal("reading a project level", e))?,
                on_key_list: p.on_key_list,
                handed_over_on: p.part.handed_over_on,
                certificate_issued_on: p.part.certificate_issued_on,
            })
        })
        .collect()
}
