//! `POST /cases/{id}/supply-parts`: record one supplied part of an approved case; its list and
//! each part read back.
//!
//! The part's geometry comes as GeoJSON (`geometry`) or as the boundary-point coordinate file
//! (`coordinate_file`, its text), as parcels do, and must be one polygon or multipolygon. The
//! spatial crate measures it against the case's parcels and its earlier parts
//! ([`supply::place_part`]); the domain refuses it when it lies outside the approval (422) or
//! overlaps an earlier part (409) by more than a sliver ([`check_part`]), naming the area in m²
//! and mu. The case row is locked first, so two parts recorded at once are measured one after
//! the other and cannot overlap unseen.

use axum::{
    extract::{Path, State},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use geo_types::MultiPolygon;
use landuse_domain::{
    calendar::bureau_date,
    check::SliverRule,
    ledger::Amount,
    role::Role,
    supply::{
        self as rules, mu_of,
        part::{check_part, PartRefusal},
        Development, IndicatorKind, StandardLandIndicators, Supply, SupplyMethod,
    },
    units::SquareMetres,
};
use landuse_spatial::{
    area, coordfile,
    geojson_in::{self, LayerGeometry},
    supply, wkb_io,
};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::{columns_of, refused_record, view, SupplyPartView};
use crate::{
    app::AppState,
    auth::Caller,
    http::{error::ApiError, etag::etag_header, idempotency::Reply, write::Json as Body, write::Write},
    store::{self, supply::NewSupplyPart},
    workflow::{
        cases::{
            load_case,
            write::{record, CaseEvent},
        },
        parcels::parcel_geometry,
    },
};

/// An indicator's value type and its unit's: the document lists each indicator's accepted
/// units, so a client (and the fuzzer) cannot send one the domain refuses.
macro_rules! indicator_value {
    // Every argument is a token tree, not a fragment: utoipa's attribute parser does not see
    // through the invisible group a `literal` fragment is wrapped in, and silently drops a
    // rename or takes the wrong number.
    ($name:ident, $name_doc:tt, $unit:ident, $unit_doc:tt, $max:tt, [$($variant:ident = $text:tt),+]) => {
        #[doc = $unit_doc]
        #[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
        pub enum $unit {
            $(
                #[doc = $text]
                #[serde(rename = $text)]
                $variant,
            )+
        }

        impl $unit {
            fn text(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }
        }

        #[doc = $name_doc]
        #[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            /// The value, not negative; rounded half up to two decimals of the held unit.
            #[schema(minimum = 0, maximum = $max)]
            pub value: f64,
            /// Its unit.
            pub unit: $unit,
        }
    };
}

indicator_value!(
    InvestmentIntensityValue,
    "Investment intensity with its unit.",
    InvestmentIntensityUnit,
    "The unit investment intensity is given in.",
    999_999_999_999.99,
    [WanYuanPerMu = "万元/亩"]
);
indicator_value!(
    FloorAreaRatioValue,
    "The floor-area ratio with its unit.",
    FloorAreaRatioUnit,
    "The unit the floor-area ratio is given in: `1`, a ratio.",
    999_999_999_999.99,
    [One = "1"]
);
indicator_value!(
    TaxPerMuValue,
    "Tax per mu with its unit.",
    TaxPerMuUnit,
    "The unit tax per mu is given in.",
    999_999_999_999.99,
    [PerMuYear = "万元/亩·年", PerMuYearBracketed = "万元/(亩·年)"]
);
// tce/万元 is held as kgce/万元, a thousand times the value: the bound keeps it a ledger amount.
indicator_value!(
    EnergyPerOutputValue,
    "Energy use per output with its unit (tce/万元 is held as kgce/万元, a thousand times the value).",
    EnergyPerOutputUnit,
    "The unit energy use per output is given in.",
    999_999_999.99,
    [KgcePerWanYuan = "kgce/万元", TcePerWanYuan = "tce/万元"]
);

/// The standard-land indicators as sent, each value with its unit.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IndicatorsBody {
    /// 固定资产投资强度, 万元/亩.
    pub investment_intensity: InvestmentIntensityValue,
    /// 容积率, a ratio (unit `1`).
    pub floor_area_ratio: FloorAreaRatioValue,
    /// 亩均税收, 万元/亩·年.
    pub tax_per_mu: TaxPerMuValue,
    /// 单位产出能耗, kgce/万元 (or tce/万元, converted).
    pub energy_per_output: EnergyPerOutputValue,
    /// Whether the land-use standard (用地标准) is met.
    pub land_use_standard_met: bool,
}

impl IndicatorsBody {
    /// The indicators in their held units; a wrong unit or a negative value is refused naming
    /// `{prefix}.{indicator}`.
    ///
    /// # Errors
    /// 422 naming the indicator.
    pub fn parse(&self, prefix: &str) -> Result<StandardLandIndicators, ApiError> {
        let value = |kind: IndicatorKind, value: f64, unit: &str| {
            kind.parse_value(value, unit).map_err(|e| {
                ApiError::invalid(
                    "invalid-indicator",
                    format!("{prefix}.{}", e.field()),
                    e.to_string(),
                )
            })
        };
        Ok(StandardLandIndicators {
            investment_intensity: value(
                IndicatorKind::InvestmentIntensity,
                self.investment_intensity.value,
                self.investment_intensity.unit.text(),
            )?,
            floor_area_ratio: value(
                IndicatorKind::FloorAreaRatio,
                self.floor_area_ratio.value,
                self.floor_area_ratio.unit.text(),
            )?,
            tax_per_mu: value(
                IndicatorKind::TaxPerMu,
                self.tax_per_mu.value,
                self.tax_per_mu.unit.text(),
            )?,
            energy_per_output: value(
                IndicatorKind::EnergyPerOutput,
                self.energy_per_output.value,
                self.energy_per_output.unit.text(),
            )?,
            land_use_standard_met: self.land_use_standard_met,
        })
    }
}

/// The body of `POST /api/v1/cases/{id}/supply-parts`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SupplyPartBody {
    /// How the land is supplied.
    pub method: SupplyMethod,
    /// The allocation decision's or the contract's number: not blank.
    #[schema(pattern = "\\S")]
    pub document_number: String,
    /// Its date, not after today.
    pub decided_on: chrono::NaiveDate,
    /// The price in 万元 (two decimals at most); absent for an allocation without one.
    #[schema(value_type = Option<f64>, minimum = 0, maximum = 999_999_999_999.99, multiple_of = 0.01)]
    pub price_wan_yuan: Option<f64>,
    /// Whether the land is supplied for industry.
    pub industrial: bool,
    /// The agreed handover date, not before `decided_on`.
    pub agreed_handover_on: chrono::NaiveDate,
    /// The agreed start date, not before the agreed handover.
    pub agreed_start_on: chrono::NaiveDate,
    /// The agreed completion date, not before the agreed start.
    pub agreed_completion_on: chrono::NaiveDate,
    /// The agreed total investment in 万元.
    #[schema(value_type = Option<f64>, minimum = 0, maximum = 999_999_999_999.99, multiple_of = 0.01)]
    pub agreed_investment_wan_yuan: Option<f64>,
    /// The standard-land indicators agreed (industrial land only).
    pub agreed_indicators: Option<IndicatorsBody>,
    /// The supplied geometry: a GeoJSON `Polygon`, `MultiPolygon`, `Feature` or a
    /// `FeatureCollection` of one feature, in CGCS2000 longitude and latitude. Give this or `coordinate_file`.
    #[schema(value_type = Option<Object>)]
    pub geometry: Option<Value>,
    /// The supplied geometry as the national boundary-point coordinate file's text, one
    /// parcel. Give this or `geometry`.
    pub coordinate_file: Option<String>,
}

/// An amount sent as a JSON number.
fn amount_field(field: &str, value: Option<f64>) -> Result<Option<Amount>, ApiError> {
    value
        .map(|v| Amount::parse(v).map_err(|e| ApiError::invalid("invalid-field", field, e.to_string())))
        .transpose()
}

fn one_geometry(mut geometries: Vec<MultiPolygon>, what: &str) -> Result<MultiPolygon, ApiError> {
    match geometries.len() {
        1 => Ok(geometries.remove(0)),
        n => Err(ApiError::invalid(
            "invalid-geometry",
            what,
            format!("a supply part is one polygon or multipolygon; the {what} holds {n} parcels: send each part by itself"),
        )),
    }
}

/// The supplied geometry of the body, read and validated by the spatial crate.
fn parse_geometry(body: &SupplyPartBody) -> Result<(MultiPolygon, &'static str), ApiError> {
    match (&body.geometry, &body.coordinate_file) {
        (Some(geometry), None) => {
            let features = geojson_in::read_parcels(&geometry.to_string())
                .map_err(|e| ApiError::invalid("invalid-geojson", "geometry", e.to_string()))?;
            let polygons = features
                .into_iter()
                .map(|f| match f.geometry {
                    LayerGeometry::Polygons(mp) => Ok(mp),
                    LayerGeometry::Point(_) => Err(ApiError::invalid(
                        "invalid-geojson",
                        "geometry",
                        "a supplied part must be a Polygon or MultiPolygon",
                    )),
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok((one_geometry(polygons, "geometry")?, "geojson"))
        }
        (None, Some(text)) => {
            let import = coordfile::read(text.as_bytes()).map_err(|e| {
                ApiError::invalid("invalid-coordinate-file", "coordinate_file", e.to_string())
            })?;
            let polygons = import.parcels.into_iter().map(|p| p.lonlat).collect();
            Ok((one_geometry(polygons, "coordinate_file")?, "coordinate_file"))
        }
        _ => Err(ApiError::invalid(
            "invalid-geometry",
            "geometry",
            "give the supplied geometry as either geometry (GeoJSON) or coordinate_file, exactly one",
        )),
    }
}

/// The domain's record of the body, its area measured from `area`.
fn terms(body: &SupplyPartBody, area: SquareMetres) -> Result<Supply, ApiError> {
    let agreed_indicators = body
        .agreed_indicators
        .as_ref()
        .map(|i| i.parse("agreed_indicators"))
        .transpose()?;
    if agreed_indicators.is_some() && !body.industrial {
        return Err(ApiError::invalid(
            "invalid-supply-record",
            "agreed_indicators",
            "standard-land indicators are agreed for industrial land only",
        ));
    }
    Ok(Supply {
        method: body.method,
        document_number: body.document_number.trim().to_owned(),
        decided_on: body.decided_on,
        price_wan_yuan: amount_field("price_wan_yuan", body.price_wan_yuan)?,
        area_mu: mu_of(area).map_err(|e| ApiError::invalid("invalid-geometry", "geometry", e.to_string()))?,
        industrial: body.industrial,
        agreed_handover_on: body.agreed_handover_on,
        agreed_start_on: body.agreed_start_on,
        agreed_completion_on: body.agreed_completion_on,
        agreed_investment_wan_yuan: amount_field(
            "agreed_investment_wan_yuan",
            body.agreed_investment_wan_yuan,
        )?,
        agreed_indicators,
    })
}

/// A part the domain refused, as the API answers it: outside the approval 422, overlapping an
/// earlier part 409, each naming the area in m² and mu.
fn refused_part(refusal: &PartRefusal, earlier: &[(Uuid, i32)]) -> ApiError {
    match refusal {
        PartRefusal::OutsideApproval { .. } | PartRefusal::Empty => {
            ApiError::invalid("supply-outside-approval", "geometry", refusal.to_string())
        }
        PartRefusal::OverlapsEarlierPart { index, area } => {
            let (id, seq) = earlier.get(*index).copied().unwrap_or_default();
            ApiError::conflict(
                "supply-overlaps-part",
                format!(
                    "the supplied geometry overlaps part {seq} ({id}) of this case by {area} ({:.2} mu)",
                    area.mu().value()
                ),
            )
        }
    }
}

/// Checks that `geometry` lies within the approved parcels of case `id` and clear of its
/// earlier parts (the sliver rule forgiving float noise), naming the area when it does not.
async fn check_placement(
    conn: &mut sqlx::PgConnection,
    id: Uuid,
    geometry: &MultiPolygon,
) -> Result<(), ApiError> {
    let approved = store::parcels::of_case(conn, id)
        .await?
        .iter()
        .map(parcel_geometry)
        .collect::<Result<Vec<_>, _>>()?;
    let earlier_rows = store::supply::of_case(conn, id).await?;
    let earlier = earlier_rows
        .iter()
        .map(|r| {
            wkb_io::from_wkb(&r.wkb)
                .map(wkb_io::polygons_of)
                .map_err(|e| ApiError::internal("decoding a supplied part", e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let measure = supply::place_part(&approved, &earlier, geometry);
    let named: Vec<(Uuid, i32)> = earlier_rows.iter().map(|r| (r.id, r.seq)).collect();
    check_part(&measure, &SliverRule::DEFAULT).map_err(|e| refused_part(&e, &named))
}

/// The row of a new part `part_id` of case `case_id` with the checked `supply` terms.
fn new_part<'a>(
    part_id: Uuid,
    case_id: Uuid,
    supply: &'a Supply,
    wkb: &'a [u8],
    area: SquareMetres,
    source: &'static str,
) -> NewSupplyPart<'a> {
    NewSupplyPart {
        id: part_id,
        case_id,
        method: supply.method.code(),
        document_number: &supply.document_number,
        decided_on: supply.decided_on,
        price_hundredths: supply.price_wan_yuan.map(Amount::hundredths),
        wkb,
        area_m2: area.value(),
        area_hundredths: supply.area_mu.hundredths(),
        source,
        industrial: supply.industrial,
        agreed_handover_on: supply.agreed_handover_on,
        agreed_start_on: supply.agreed_start_on,
        agreed_completion_on: supply.agreed_completion_on,
        agreed_investment_hundredths: supply.agreed_investment_wan_yuan.map(Amount::hundredths),
        agreed_indicators: supply.agreed_indicators.as_ref().map(columns_of),
    }
}

/// `POST /api/v1/cases/{id}/supply-parts`: record one supplied part of an approved case
/// (reviewers). Refused when the case's conversion is not approved (409), when the record is
/// out of order or dated before the approval (422 naming the field), when the geometry lies
/// outside the approved parcels (422) or overlaps an earlier part (409), the last two naming
/// the area in m² and mu.
#[utoipa::path(post, path = "/cases/{id}/supply-parts", tag = "supply", params(("id" = Uuid, Path, description = "The case id")), request_body = SupplyPartBody, responses((status = 201, description = "The part as recorded", body = SupplyPartView, headers(("ETag" = String, description = "The part's version"), ("Location" = String, description = "The part")))))]
#[tracing::instrument(skip_all, fields(user = %write.caller.name, case = %id))]
pub async fn record_part(
    Path(id): Path<Uuid>,
    mut write: Write<Body<SupplyPartBody>>,
) -> Result<Response, ApiError> {
    write.caller.require(&[Role::Reviewer], "record a land supply")?;
    let body = &write.body.0;
    let (geometry, source) = parse_geometry(body)?;
    let area = SquareMetres::new(area::ellipsoidal_area(&geometry))
        .map_err(|e| ApiError::invalid("invalid-geometry", "geometry", e.to_string()))?;
    let supply = terms(body, area)?;
    let today = bureau_date(write.now);
    rules::validate(&supply, &Development::default(), today).map_err(|e| refused_record(&e))?;

    let case = load_case(&mut write.tx, &write.caller, id, true).await?;
    let stage = case.state()?.stage();
    let Some(batch) = store::supply::batch_of(&mut write.tx, id).await? else {
        return Err(ApiError::conflict(
            "case-not-approved",
            format!("the conversion of this case is not approved (it is in {stage}): only approved land is supplied"),
        ));
    };
    rules::supplied_after_approval(supply.decided_on, batch.approved_on).map_err(|e| refused_record(&e))?;
    check_placement(&mut write.tx, id, &geometry).await?;

    let wkb = wkb_io::multi_polygon_to_wkb(&geometry)
        .map_err(|e| ApiError::internal("encoding a supplied part", e))?;
    let part_id = Uuid::now_v7();
    let new = new_part(part_id, id, &supply, &wkb, area, source);
    store::supply::insert(&mut write.tx, &new, write.now).await?;
    let details = json!({ "supply_part": part_id, "document_number": supply.document_number, "area_mu": supply.area_mu });
    record(
        &mut write,
        id,
        &CaseEvent::at(stage, "supply_part_recorded").with(details),
    )
    .await?;
    let row = store::supply::load(&mut write.tx, part_id, false)
        .await?
        .ok_or(ApiError::NotFound("supply part"))?;
    let location = HeaderValue::from_str(&format!("/api/v1/supply-parts/{part_id}"))
        .map_err(|e| ApiError::internal("naming the part", e))?;
    let reply = Reply::json(StatusCode::CREATED, &view(&row)?)?
        .header(header::ETAG, etag_header(row.version))
        .header(header::LOCATION, location);
    write.finish(reply).await
}

/// `GET /api/v1/cases/{id}/supply-parts`: the supplied parts of a case, in order.
#[utoipa::path(get, path = "/cases/{id}/supply-parts", tag = "supply", params(("id" = Uuid, Path, description = "The case id")), responses((status = 200, description = "The case's supplied parts", body = Vec<SupplyPartView>)))]
#[tracing::instrument(skip_all, fields(case = %id))]
pub async fn list_parts(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<Json<Vec<SupplyPartView>>, ApiError> {
    let mut tx = state.begin_for(&caller).await?;
    load_case(&mut tx, &caller, id, false).await?;
    let rows = store::supply::of_case(&mut tx, id).await?;
    Ok(Json(rows.iter().map(view).collect::<Result<_, _>>()?))
}

/// `GET /api/v1/supply-parts/{id}`: one supplied part, with its `ETag`.
#[utoipa::path(get, path = "/supply-parts/{id}", tag = "supply", params(("id" = Uuid, Path, description = "The supply part id")), responses((status = 200, description = "The part", body = SupplyPartView, headers(("ETag" = String, description = "The part's version")))))]
#[tracing::instrument(skip_all, fields(part = %id))]
pub async fn get_part(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<Response, ApiError> {
    let mut tx = state.begin_for(&caller).await?;
    let row = store::supply::load(&mut tx, id, false)
        .await?
        .filter(|r| caller.sees(&r.county_code))
        .ok_or(ApiError::NotFound("supply part"))?;
    Ok(([(header::ETAG, etag_header(row.version))], Json(view(&row)?)).into_response())
}
