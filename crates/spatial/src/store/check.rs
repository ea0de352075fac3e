//! Checking parcels against the current version of every control layer that covers their
//! county: the overlaps measured in PostGIS, the verdicts decided by the domain.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use geo_types::MultiPolygon;
use landuse_domain::check::{
    evaluate, CaseContext, CheckInput, CheckInputError, CheckVerdict, CultivatedSplit, Dlbm, Hit, HitClass,
    LayerFigures, LayerKind, LayerResult, VerdictRules,
};
use landuse_domain::county::CountyCode;
use landuse_domain::transition::CheckSummary;
use landuse_domain::units::SquareMetres;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use super::{current_versions, db, dlbm_attribute, DbError, LayerVersion, ReadError, NOISE_M2};
use crate::area::AreaFigures;
use crate::validate::{self, GeometryError, Rules};
use crate::wkb_io::{self, WkbError};

const OVERLAP_POLYGONS: &str = include_str!("sql/overlap_polygons.sql");
const OUTSIDE_POLYGONS: &str = include_str!("sql/outside_polygons.sql");
const NEAR_POINTS: &str = include_str!("sql/near_points.sql");
const PARCEL_AREAS: &str = include_str!("sql/parcel_areas.sql");

/// The layer version a check used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionUsed {
    /// The version's id.
    pub id: Uuid,
    /// Its jurisdiction.
    pub jurisdiction: String,
    /// Its number.
    pub version_no: i32,
    /// Its source's name.
    pub source_name: String,
    /// When it was imported.
    pub imported_at: DateTime<Utc>,
}

/// One parcel's area.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParcelArea {
    /// Index of the parcel in the request.
    pub parcel: usize,
    /// Its ellipsoidal area.
    pub area: AreaFigures,
}

/// One touched feature (or, for the urban boundary and the mineral whitelist, the part of a
/// parcel outside the layer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckHit {
    /// The feature's id in `layer_features`; `None` for an "outside" part.
    pub feature_id: Option<i64>,
    /// The version the feature belongs to.
    pub version_id: Option<Uuid>,
    /// The feature's `id` in its source.
    pub source_id: Option<String>,
    /// The feature's source attributes.
    pub attributes: Value,
    /// Index of the parcel.
    pub parcel: usize,
    /// The overlap (or the part outside) on the CGCS2000 ellipsoid.
    pub overlap: AreaFigures,
    /// The overlap's share of the parcel (0 to 1).
    pub share: f64,
    /// For geohazards: the geodesic distance from the site to the parcel, in metres.
    pub distance_m: Option<f64>,
    /// How the hit counts (counted, sliver), from the domain's rules.
    pub class: HitClass,
    /// The overlap geometry (RFC 7946 GeoJSON).
    pub geometry: Option<geojson::Geometry>,
}

/// One layer's figures and result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerReport {
    /// The layer.
    pub kind: LayerKind,
    /// Whether a current version existed.
    pub checked: bool,
    /// The versions used.
    pub versions: Vec<VersionUsed>,
    /// The domain's result for the layer.
    pub result: LayerResult,
    /// The counted overlap (slivers excluded).
    pub counted: AreaFigures,
    /// The counted overlap's share of the case area.
    pub counted_share: f64,
    /// Every hit, slivers included.
    pub hits: Vec<CheckHit>,
    /// For cultivated land: the counted area by DLBM.
    pub cultivated: Option<CultivatedSplit>,
    /// For the mineral whitelist: whether every parcel lies wholly inside it.
    pub wholly_inside: Option<bool>,
}

/// An immutable check report: what was measured, against which versions, and the verdicts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckReport {
    /// The county checked for.
    pub jurisdiction: String,
    /// The parcels' areas.
    pub parcels: Vec<ParcelArea>,
    /// The area of the union of the parcels.
    pub case_area: AreaFigures,
    /// One report per layer kind.
    pub layers: Vec<LayerReport>,
    /// The case's result: the worst of the layers.
    pub result: LayerResult,
    /// The layers that could not be checked.
    pub unchecked: Vec<LayerKind>,
    /// The domain's input, kept so a dismissal can be re-decided without measuring again.
    pub input: CheckInput,
    /// The rules the verdicts used.
    pub rules: VerdictRules,
}

impl CheckReport {
    /// The construction-land quota the checked case needs: its area less the counted part on
    /// existing construction land (see `landuse_domain::ledger::quota`).
    pub fn quota_need_mu(&self) -> landuse_domain::ledger::Amount {
        let on_construction_land = self
            .layers
            .iter()
            .find(|l| l.kind == LayerKind::ConstructionLand)
            .map_or(0.0, |l| l.counted.m2);
        landuse_domain::ledger::quota::need_mu(
            self.input.case_area,
            SquareMetres::new(on_construction_land.max(0.0)).unwrap_or(SquareMetres::ZERO),
        )
    }

    /// What the stage rules read of the report: the case's result, whether cultivated land
    /// counted, and the layers not checked. Read from the verdicts the report already holds,
    /// never decided again.
    pub fn summary(&self) -> CheckSummary {
        CheckSummary {
            worst: self.result,
            cultivated_land_found: self
                .layers
                .iter()
                .any(|l| l.kind == LayerKind::CultivatedLand && l.result == LayerResult::NeedsOffset),
            unchecked_layers: self.unchecked.clone(),
        }
    }
}

/// Why a check could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// No parcels were given.
    #[error("a check needs at least one parcel")]
    NoParcels,
    /// A parcel's geometry is invalid.
    #[error("parcel {parcel}: {source}")]
    Geometry {
        /// Index of the parcel.
        parcel: usize,
        /// What is wrong.
        source: Box<GeometryError>,
    },
    /// The database refused.
    #[error(transparent)]
    Database(#[from] DbError),
    /// Stored data could not be read.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// A parcel could not be encoded, or an overlap decoded.
    #[error(transparent)]
    Wkb(#[from] WkbError),
    /// The domain refused the figures.
    #[error(transparent)]
    Verdict(#[from] CheckInputError),
}

struct MeasuredHit {
    parcel: usize,
    feature_id: Option<i64>,
    version_id: Option<Uuid>,
    source_id: Option<String>,
    attributes: Value,
    overlap_m2: f64,
    distance_m: Option<f64>,
    geometry: Option<MultiPolygon>,
}

fn hit_from_row(row: &sqlx::postgres::PgRow) -> Result<MeasuredHit, CheckError> {
    let get = |e| DbError {
        doing: "reading an overlap row",
        source: e,
    };
    let parcel: i32 = row.try_get("parcel").map_err(get)?;
    let wkb: Option<Vec<u8>> = row.try_get("overlap_wkb").map_err(get)?;
    Ok(MeasuredHit {
        parcel: usize::try_from(parcel).unwrap_or_default(),
        feature_id: Some(row.try_get("feature_id").map_err(get)?),
        version_id: Some(row.try_get("version_id").map_err(get)?),
        source_id: row.try_get("source_id").map_err(get)?,
        attributes: row.try_get("attributes").map_err(get)?,
        overlap_m2: row.try_get("overlap_m2").map_err(get)?,
        distance_m: row.try_get("distance_m").map_err(get)?,
        geometry: wkb
            .map(|w| wkb_io::from_wkb(&w).map(wkb_io::polygons_of))
            .transpose()?,
    })
}

async fn measure_outside(
    conn: &mut PgConnection,
    parcels_wkb: &[Vec<u8>],
    versions: &[Uuid],
) -> Result<Vec<MeasuredHit>, CheckError> {
    let rows = sqlx::query(OUTSIDE_POLYGONS)
        .bind(parcels_wkb)
        .bind(versions)
        .fetch_all(&mut *conn)
        .await
        .map_err(db("measuring the parts of the parcels outside a layer"))?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let get = |e| DbError {
            doing: "reading an outside row",
            source: e,
        };
        let parcel: i32 = row.try_get("parcel").map_err(get)?;
        let area: f64 = row.try_get("outside_m2").map_err(get)?;
        let wkb: Option<Vec<u8>> = row.try_get("outside_wkb").map_err(get)?;
        out.push(MeasuredHit {
            parcel: usize::try_from(parcel).unwrap_or_default(),
            feature_id: None,
            version_id: None,
            source_id: None,
            attributes: Value::Object(Map::new()),
            overlap_m2: area,
            distance_m: None,
            geometry: wkb
                .map(|w| wkb_io::from_wkb(&w).map(wkb_io::polygons_of))
                .transpose()?,
        });
    }
    Ok(out)
}

/// Checks parcels (EPSG:4490) for a county against the current version of every control layer
/// that covers it, and decides with the domain's verdicts.
///
/// Per layer: polygon layers give each touched feature's overlap per parcel (measured on the
/// subdivided pieces, areas on the CGCS2000 ellipsoid); geohazard sites within the configured
/// radius give the part of the parcel inside the buffered site; the urban boundary gives the
/// part of each parcel outside it; the mineral whitelist tells whether every parcel lies wholly
/// inside it. A layer with no current version is `not_checked`.
#[tracing::instrument(skip_all, fields(jurisdiction = jurisdiction.as_str(), parcels = parcels.len()))]
pub async fn check_footprint(
    conn: &mut PgConnection,
    jurisdiction: CountyCode,
    parcels: &[MultiPolygon],
    context: &CaseContext,
    rules: &VerdictRules,
) -> Result<CheckReport, CheckError> {
    if parcels.is_empty() {
        return Err(CheckError::NoParcels);
    }
    let mut parcels_wkb = Vec::with_capacity(parcels.len());
    for (i, p) in parcels.iter().enumerate() {
        validate::check_multi_polygon(p, &Rules::PARCEL).map_err(|e| CheckError::Geometry {
            parcel: i,
            source: Box::new(e),
        })?;
        parcels_wkb.push(wkb_io::multi_polygon_to_wkb(p)?);
    }

    let areas = sqlx::query(PARCEL_AREAS)
        .bind(&parcels_wkb)
        .fetch_one(&mut *conn)
        .await
        .map_err(db("measuring the parcels"))?;
    let parcel_m2: Vec<f64> = areas
        .try_get("parcel_m2")
        .map_err(db("reading the parcel areas"))?;
    let case_m2: f64 = areas.try_get("case_m2").map_err(db("reading the case area"))?;

    let versions = current_versions(conn, jurisdiction).await?;
    let mut by_kind: BTreeMap<LayerKind, Vec<&LayerVersion>> = BTreeMap::new();
    for v in &versions {
        by_kind.entry(v.kind).or_default().push(v);
    }

    let (measured, whitelist_inside) = measure_layers(conn, &parcels_wkb, &by_kind, rules).await?;

    let mut context = *context;
    context.wholly_in_mineral_whitelist = whitelist_inside.unwrap_or(false);
    let input = check_input(case_m2, &parcel_m2, &by_kind, &measured, context);
    let verdict = evaluate(&input, rules)?;
    Ok(assemble(
        jurisdiction,
        &parcel_m2,
        case_m2,
        &by_kind,
        measured,
        whitelist_inside,
        input,
        &verdict,
        rules,
    ))
}

/// Measures every layer kind that has current versions.
async fn measure_layers(
    conn: &mut PgConnection,
    parcels_wkb: &[Vec<u8>],
    by_kind: &BTreeMap<LayerKind, Vec<&LayerVersion>>,
    rules: &VerdictRules,
) -> Result<(BTreeMap<LayerKind, Vec<MeasuredHit>>, Option<bool>), CheckError> {
    let mut measured: BTreeMap<LayerKind, Vec<MeasuredHit>> = BTreeMap::new();
    let mut whitelist_inside: Option<bool> = None;
    for (&kind, kind_versions) in by_kind {
        let ids: Vec<Uuid> = kind_versions.iter().map(|v| v.id).collect();
        let hits = match kind {
            LayerKind::UrbanBoundary => measure_outside(conn, parcels_wkb, &ids)
                .await?
                .into_iter()
                .filter(|h| h.overlap_m2 > NOISE_M2)
                .collect(),
            LayerKind::MineralWhitelist => {
                let outside = measure_outside(conn, parcels_wkb, &ids).await?;
                whitelist_inside = Some(outside.iter().all(|h| h.overlap_m2 <= NOISE_M2));
                Vec::new()
            }
            LayerKind::Geohazard => sqlx::query(NEAR_POINTS)
                .bind(parcels_wkb)
                .bind(&ids)
                .bind(rules.geohazard_buffer_m())
                .fetch_all(&mut *conn)
                .await
                .map_err(db("finding geohazard sites near the parcels"))?
                .iter()
                .map(hit_from_row)
                .collect::<Result<_, _>>()?,
            _ => sqlx::query(OVERLAP_POLYGONS)
                .bind(parcels_wkb)
                .bind(&ids)
                .bind(NOISE_M2)
                .fetch_all(&mut *conn)
                .await
                .map_err(db("measuring overlaps with a layer"))?
                .iter()
                .map(hit_from_row)
                .collect::<Result<_, _>>()?,
        };
        measured.insert(kind, hits);
    }

    Ok((measured, whitelist_inside))
}

/// The domain's input from the measurements.
fn check_input(
    case_m2: f64,
    parcel_m2: &[f64],
    by_kind: &BTreeMap<LayerKind, Vec<&LayerVersion>>,
    measured: &BTreeMap<LayerKind, Vec<MeasuredHit>>,
    context: CaseContext,
) -> CheckInput {
    let area = |m2: f64| SquareMetres::new(m2.max(0.0)).unwrap_or(SquareMetres::ZERO);
    let parcel_area = |i: usize| area(parcel_m2.get(i).copied().unwrap_or_default());
    CheckInput {
        case_area: area(case_m2),
        layers: by_kind
            .keys()
            .map(|&kind| LayerFigures {
                kind,
                checked: true,
                hits: measured
                    .get(&kind)
                    .map(|hits| {
                        hits.iter()
                            .map(|h| Hit {
                                feature_id: h.feature_id.map_or_else(
                                    || format!("parcel-{}-outside", h.parcel),
                                    |id| id.to_string(),
                                ),
                                parcel_area: parcel_area(h.parcel),
                                overlap: area(h.overlap_m2),
                                dismissed: false,
                                dlbm: (kind == LayerKind::CultivatedLand)
                                    .then(|| h.attributes.as_object().and_then(dlbm_attribute))
                                    .flatten()
                                    .and_then(|c| Dlbm::parse(&c).ok()),
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            })
            .collect(),
        context,
    }
}

#[allow(clippy::too_many_arguments)]
fn assemble(
    jurisdiction: CountyCode,
    parcel_m2: &[f64],
    case_m2: f64,
    by_kind: &BTreeMap<LayerKind, Vec<&LayerVersion>>,
    mut measured: BTreeMap<LayerKind, Vec<MeasuredHit>>,
    whitelist_inside: Option<bool>,
    input: CheckInput,
    verdict: &CheckVerdict,
    rules: &VerdictRules,
) -> CheckReport {
    let layers = verdict
        .layers
        .iter()
        .map(|lv| {
            let hits = measured.remove(&lv.kind).unwrap_or_default();
            let hits = hits
                .into_iter()
                .zip(lv.hits.iter().map(|(_, class)| *class))
                .map(|(h, class)| {
                    let p_area = parcel_m2.get(h.parcel).copied().unwrap_or_default();
                    CheckHit {
                        feature_id: h.feature_id,
                        version_id: h.version_id,
                        source_id: h.source_id,
                        attributes: h.attributes,
                        parcel: h.parcel,
                        overlap: AreaFigures::from_m2(h.overlap_m2),
                        share: if p_area > 0.0 { h.overlap_m2 / p_area } else { 0.0 },
                        distance_m: h.distance_m,
                        class,
                        geometry: h.geometry.as_ref().map(crate::geojson_out::multi_polygon),
                    }
                })
                .collect();
            LayerReport {
                kind: lv.kind,
                checked: lv.result != LayerResult::NotChecked,
                versions: by_kind
                    .get(&lv.kind)
                    .map(|vs| {
                        vs.iter()
                            .map(|v| VersionUsed {
                                id: v.id,
                                jurisdiction: v.jurisdiction.clone(),
                                version_no: v.version_no,
                                source_name: v.source_name.clone(),
                                imported_at: v.imported_at,
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                result: lv.result,
                counted: AreaFigures::from_m2(lv.counted_area.value()),
                counted_share: lv.counted_share,
                hits,
                cultivated: lv.cultivated,
                wholly_inside: (lv.kind == LayerKind::MineralWhitelist)
                    .then_some(whitelist_inside)
                    .flatten(),
            }
        })
        .collect();
    CheckReport {
        jurisdiction: jurisdiction.as_str().to_owned(),
        parcels: parcel_m2
            .iter()
            .enumerate()
            .map(|(parcel, m2)| ParcelArea {
                parcel,
                area: AreaFigures::from_m2(*m2),
            })
            .collect(),
        case_area: AreaFigures::from_m2(case_m2),
        layers,
        result: verdict.result,
        unchecked: verdict.unchecked.clone(),
        input,
        rules: rules.clone(),
    }
}
