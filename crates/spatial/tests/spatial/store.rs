//! The layer store on a real PostGIS: imports (versions, all or nothing, refusals), and checks
//! against hand-built layers whose right answer is known in closed form: the overlap polygon is
//! known vertex by vertex, and its area is computed here independently with GeographicLib.
#![allow(
    clippy::unwrap_used,
    clippy::too_many_lines,
    clippy::float_cmp,
    clippy::needless_pass_by_value
)]

use std::io::Cursor;

use geo_types::{LineString, MultiPolygon, Polygon};
use geographiclib_rs::{Geodesic, PolygonArea, Winding};
use landuse_domain::check::{CaseContext, HitClass, LayerKind, LayerResult, VerdictRules};
use landuse_domain::county::CountyCode;
use landuse_domain::project::OutsideBoundaryUse;
use landuse_spatial::store::{
    check_footprint, current_versions, features_page, import_reader, list_versions, CheckReport, ImportError,
    ImportOptions, LayerReport,
};
use serde_json::{json, Value};
use sqlx::PgPool;

const COUNTY: &str = "610902";

fn county(code: &str) -> CountyCode {
    CountyCode::parse(code).unwrap()
}

/// A lon/lat rectangle.
fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> LineString {
    LineString::from(vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)])
}

fn mp(polys: Vec<Polygon>) -> MultiPolygon {
    MultiPolygon(polys)
}

/// The geodesic area of a lon/lat ring on CGCS2000, straight from GeographicLib.
fn geodesic_ring_area(ring: &LineString) -> f64 {
    let geod = Geodesic::new(6_378_137.0, 1.0 / 298.257_222_101);
    let mut pa = PolygonArea::new(&geod, Winding::CounterClockwise);
    for c in &ring.0[..ring.0.len() - 1] {
        pa.add_point(c.y, c.x);
    }
    pa.compute(true).1.abs()
}

/// Agreement to 0.01% or 0.01 m², whichever is larger.
fn assert_area(actual: f64, expected: f64) {
    let tolerance = (expected.abs() * 1e-4).max(0.01);
    assert!(
        (actual - expected).abs() <= tolerance,
        "{actual} m² is not within {tolerance} m² of {expected} m²"
    );
}

fn feature(props: &Value, geometry: &Value) -> Value {
    json!({"type": "Feature", "properties": props, "geometry": geometry})
}

fn polygon_json(rings: &[LineString]) -> Value {
    json!({"type": "Polygon", "coordinates": rings.iter().map(|r| r.0.iter().map(|c| vec![c.x, c.y]).collect::<Vec<_>>()).collect::<Vec<_>>()})
}

fn collection(features: Vec<Value>) -> Vec<u8> {
    serde_json::to_vec(&json!({"type": "FeatureCollection", "features": features})).unwrap()
}

async fn import(pool: &PgPool, kind: LayerKind, jurisdiction: &str, features: Vec<Value>) {
    import_reader(
        pool,
        kind,
        county(jurisdiction),
        &format!("{kind}.geojson"),
        Cursor::new(collection(features)),
        &ImportOptions::default(),
    )
    .await
    .unwrap();
}

async fn check(pool: &PgPool, parcels: &[MultiPolygon], context: &CaseContext) -> CheckReport {
    let mut conn = pool.acquire().await.unwrap();
    check_footprint(
        &mut conn,
        county(COUNTY),
        parcels,
        context,
        &VerdictRules::default(),
    )
    .await
    .unwrap()
}

fn layer(report: &CheckReport, kind: LayerKind) -> &LayerReport {
    report.layers.iter().find(|l| l.kind == kind).unwrap()
}

async fn count(pool: &PgPool, table: &str) -> i64 {
    sqlx::query_scalar(&format!("select count(*) from {table}"))
        .fetch_one(pool)
        .await
        .unwrap()
}

/// The red line: lon 109.0–109.1, lat 32.6–32.7, imported for the whole city.
async fn redline(pool: &PgPool) {
    import(
        pool,
        LayerKind::EcologicalRedline,
        "610900",
        vec![feature(
            &json!({"BSM": "STBHHX-1", "MC": "汉江生态红线"}),
            &polygon_json(&[rect(109.0, 32.6, 109.1, 32.7)]),
        )],
    )
    .await;
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_square_half_inside_the_red_line_overlaps_by_exactly_its_inner_half(pool: PgPool) {
    redline(&pool).await;
    let parcel = mp(vec![Polygon::new(rect(109.095, 32.65, 109.105, 32.66), vec![])]);
    let report = check(&pool, std::slice::from_ref(&parcel), &CaseContext::default()).await;

    let inner_half = geodesic_ring_area(&rect(109.095, 32.65, 109.1, 32.66));
    let whole = geodesic_ring_area(&rect(109.095, 32.65, 109.105, 32.66));
    let red = layer(&report, LayerKind::EcologicalRedline);
    assert!(red.checked);
    assert_eq!(red.result, LayerResult::Prohibited);
    assert_eq!(red.hits.len(), 1);
    let hit = &red.hits[0];
    assert_area(hit.overlap.m2, inner_half);
    assert_area(report.case_area.m2, whole);
    assert!((hit.share - inner_half / whole).abs() < 1e-6, "{}", hit.share);
    assert!((hit.share - 0.5).abs() < 1e-3);
    assert_eq!(hit.class, HitClass::Counted);
    assert_eq!(hit.attributes["MC"], "汉江生态红线");
    assert_eq!(
        hit.overlap.mu,
        (hit.overlap.m2 / (10_000.0 / 15.0) * 100.0).round() / 100.0
    );
    let g = serde_json::to_value(hit.geometry.as_ref().unwrap()).unwrap();
    assert_eq!(g["type"], "MultiPolygon");
    // The report names the version it used, and the case result is the worst layer.
    assert_eq!(red.versions.len(), 1);
    assert_eq!(red.versions[0].jurisdiction, "610900");
    assert_eq!(report.result, LayerResult::Prohibited);
    // With an allowed activity declared, the red line needs approval instead.
    let allowed = CaseContext {
        declared_allowed_activity: true,
        ..CaseContext::default()
    };
    let report = check(&pool, &[parcel], &allowed).await;
    assert_eq!(
        layer(&report, LayerKind::EcologicalRedline).result,
        LayerResult::NeedsApproval
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_parcel_with_a_hole_over_the_red_line_does_not_count_the_hole(pool: PgPool) {
    redline(&pool).await;
    let hole = rect(109.097, 32.652, 109.099, 32.654);
    let parcel = mp(vec![Polygon::new(
        rect(109.095, 32.65, 109.105, 32.66),
        vec![hole.clone()],
    )]);
    let report = check(&pool, &[parcel], &CaseContext::default()).await;
    let expected = geodesic_ring_area(&rect(109.095, 32.65, 109.1, 32.66)) - geodesic_ring_area(&hole);
    let red = layer(&report, LayerKind::EcologicalRedline);
    assert_area(red.hits[0].overlap.m2, expected);
    assert_area(red.counted.m2, expected);
    assert_area(
        report.case_area.m2,
        geodesic_ring_area(&rect(109.095, 32.65, 109.105, 32.66)) - geodesic_ring_area(&hole),
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_sliver_under_the_tolerance_is_listed_but_does_not_count(pool: PgPool) {
    redline(&pool).await;
    // 4e-9° of longitude (0.37 mm) by 0.01° of latitude (1.1 km): about 0.42 m².
    let parcel = mp(vec![Polygon::new(
        rect(109.1 - 4e-9, 32.65, 109.11, 32.66),
        vec![],
    )]);
    let report = check(&pool, &[parcel], &CaseContext::default()).await;
    let red = layer(&report, LayerKind::EcologicalRedline);
    assert_eq!(red.hits.len(), 1, "{:?}", red.hits);
    let expected = geodesic_ring_area(&rect(109.1 - 4e-9, 32.65, 109.1, 32.66));
    assert!((0.3..1.0).contains(&expected), "{expected}");
    assert!(
        (red.hits[0].overlap.m2 - expected).abs() < 0.01,
        "{} vs {expected}",
        red.hits[0].overlap.m2
    );
    assert_eq!(red.hits[0].class, HitClass::Sliver);
    assert_eq!(red.result, LayerResult::Ok);
    assert_eq!(red.counted.m2, 0.0);
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_hazard_point_within_the_radius_warns_and_one_beyond_does_not(pool: PgPool) {
    // Parcel lon 109.2–109.21, lat 32.5–32.51. At 32.505°N one metre of longitude is
    // 1/93_960 degrees or so; the sites sit ~100 m and ~300 m east of the east edge.
    let m_per_deg_lon = 93_960.0;
    let near = 109.21 + 100.0 / m_per_deg_lon;
    let far = 109.21 + 300.0 / m_per_deg_lon;
    import(
        &pool,
        LayerKind::Geohazard,
        "610902",
        vec![
            feature(
                &json!({"名称": "滑坡A"}),
                &json!({"type": "Point", "coordinates": [near, 32.505]}),
            ),
            feature(
                &json!({"名称": "崩塌B"}),
                &json!({"type": "Point", "coordinates": [far, 32.505]}),
            ),
        ],
    )
    .await;
    let parcel = mp(vec![Polygon::new(rect(109.2, 32.5, 109.21, 32.51), vec![])]);
    let report = check(&pool, &[parcel], &CaseContext::default()).await;
    let hazard = layer(&report, LayerKind::Geohazard);
    assert_eq!(hazard.hits.len(), 1, "{:?}", hazard.hits);
    let hit = &hazard.hits[0];
    assert_eq!(hit.attributes["名称"], "滑坡A");
    let d = hit.distance_m.unwrap();
    assert!((d - 100.0).abs() < 1.0, "{d}");
    // The part of the parcel within 200 m of the site: a circular segment of height 100 m
    // (the edge is straight at this scale): r²·acos(h/r) − h·√(r²−h²), a little less for the
    // 128-gon the buffer is.
    let (r, h) = (200.0_f64, d);
    let segment = r * r * (h / r).acos() - h * (r * r - h * h).sqrt();
    assert!(
        (hit.overlap.m2 - segment).abs() / segment < 0.01,
        "{} vs {segment}",
        hit.overlap.m2
    );
    assert_eq!(hazard.result, LayerResult::Warning);
    // A radius of 50 m leaves the site out.
    let rules = VerdictRules::default().with_geohazard_buffer(50.0).unwrap();
    let mut conn = pool.acquire().await.unwrap();
    let parcel = mp(vec![Polygon::new(rect(109.2, 32.5, 109.21, 32.51), vec![])]);
    let report = check_footprint(
        &mut conn,
        county(COUNTY),
        &[parcel],
        &CaseContext::default(),
        &rules,
    )
    .await
    .unwrap();
    assert!(layer(&report, LayerKind::Geohazard).hits.is_empty());
    assert_eq!(layer(&report, LayerKind::Geohazard).result, LayerResult::Ok);
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_layer_without_a_current_version_is_not_checked(pool: PgPool) {
    redline(&pool).await;
    let parcel = mp(vec![Polygon::new(rect(109.3, 32.65, 109.31, 32.66), vec![])]);
    let report = check(&pool, &[parcel], &CaseContext::default()).await;
    let red = layer(&report, LayerKind::EcologicalRedline);
    assert!(red.checked);
    assert_eq!(red.result, LayerResult::Ok);
    assert!(red.hits.is_empty());
    let farmland = layer(&report, LayerKind::PermanentFarmland);
    assert!(!farmland.checked);
    assert_eq!(farmland.result, LayerResult::NotChecked);
    assert!(farmland.versions.is_empty());
    assert!(report.unchecked.contains(&LayerKind::PermanentFarmland));
    assert!(!report.unchecked.contains(&LayerKind::EcologicalRedline));
    assert_eq!(report.result, LayerResult::NotChecked);
}

#[sqlx::test(migrations = "../../migrations")]
async fn the_part_outside_the_urban_boundary_is_measured(pool: PgPool) {
    import(
        &pool,
        LayerKind::UrbanBoundary,
        "610902",
        vec![feature(
            &json!({"名称": "中心城区"}),
            &polygon_json(&[rect(109.0, 32.6, 109.1, 32.7)]),
        )],
    )
    .await;
    let inside = mp(vec![Polygon::new(rect(109.05, 32.65, 109.06, 32.66), vec![])]);
    let report = check(&pool, &[inside], &CaseContext::default()).await;
    let urban = layer(&report, LayerKind::UrbanBoundary);
    assert!(urban.hits.is_empty());
    assert_eq!(urban.result, LayerResult::Ok);

    let straddling = mp(vec![Polygon::new(rect(109.095, 32.65, 109.105, 32.66), vec![])]);
    let road = CaseContext {
        outside_boundary_use: Some(OutsideBoundaryUse::LinearInfrastructure),
        ..CaseContext::default()
    };
    let report = check(&pool, &[straddling], &road).await;
    let urban = layer(&report, LayerKind::UrbanBoundary);
    assert_eq!(urban.hits.len(), 1);
    assert_area(
        urban.hits[0].overlap.m2,
        geodesic_ring_area(&rect(109.1, 32.65, 109.105, 32.66)),
    );
    assert_eq!(urban.hits[0].feature_id, None);
    assert_eq!(urban.result, LayerResult::OutsideBoundary);
}

#[sqlx::test(migrations = "../../migrations")]
async fn cultivated_land_is_split_by_land_class_and_other_classes_are_left_out(pool: PgPool) {
    let import_report = import_reader(
        &pool,
        LayerKind::CultivatedLand,
        county("610902"),
        "DLTB.geojson",
        Cursor::new(collection(vec![
            feature(
                &json!({"DLBM": "0101"}),
                &polygon_json(&[rect(109.0, 32.6, 109.005, 32.61)]),
            ),
            feature(
                &json!({"dlbm": "0103"}),
                &polygon_json(&[rect(109.005, 32.6, 109.01, 32.61)]),
            ),
            feature(
                &json!({"DLBM": "0201"}),
                &polygon_json(&[rect(109.01, 32.6, 109.02, 32.61)]),
            ),
        ])),
        &ImportOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        (import_report.features_written, import_report.features_skipped),
        (2, 1)
    );
    let parcel = mp(vec![Polygon::new(rect(109.0, 32.6, 109.02, 32.61), vec![])]);
    let report = check(&pool, &[parcel], &CaseContext::default()).await;
    let land = layer(&report, LayerKind::CultivatedLand);
    assert_eq!(land.result, LayerResult::NeedsOffset);
    let split = land.cultivated.unwrap();
    assert_area(
        split.paddy.value(),
        geodesic_ring_area(&rect(109.0, 32.6, 109.005, 32.61)),
    );
    assert_area(
        split.dry.value(),
        geodesic_ring_area(&rect(109.005, 32.6, 109.01, 32.61)),
    );
    assert_eq!(split.irrigated.value(), 0.0);

    // A cultivated-land feature without a land class is refused.
    let err = import_reader(
        &pool,
        LayerKind::CultivatedLand,
        county("610902"),
        "DLTB2.geojson",
        Cursor::new(collection(vec![feature(
            &json!({}),
            &polygon_json(&[rect(109.0, 32.6, 109.005, 32.61)]),
        )])),
        &ImportOptions::default(),
    )
    .await
    .unwrap_err();
    match err {
        ImportError::FeaturesRefused(r) => assert_eq!(r.refused[0].code, "dlbm_missing"),
        other => panic!("{other}"),
    }
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_parcel_wholly_in_the_mineral_whitelist_needs_no_overlay_query(pool: PgPool) {
    import(
        &pool,
        LayerKind::MineralDeposit,
        "610900",
        vec![feature(
            &json!({"矿种": "金"}),
            &polygon_json(&[rect(109.0, 32.6, 109.1, 32.7)]),
        )],
    )
    .await;
    import(
        &pool,
        LayerKind::MineralWhitelist,
        "610900",
        vec![feature(
            &json!({}),
            &polygon_json(&[rect(109.04, 32.64, 109.08, 32.68)]),
        )],
    )
    .await;
    let inside = mp(vec![Polygon::new(rect(109.05, 32.65, 109.06, 32.66), vec![])]);
    let report = check(&pool, &[inside], &CaseContext::default()).await;
    assert_eq!(
        layer(&report, LayerKind::MineralWhitelist).wholly_inside,
        Some(true)
    );
    assert_eq!(layer(&report, LayerKind::MineralDeposit).result, LayerResult::Ok);
    let partly = mp(vec![Polygon::new(rect(109.075, 32.65, 109.085, 32.66), vec![])]);
    let report = check(&pool, &[partly], &CaseContext::default()).await;
    assert_eq!(
        layer(&report, LayerKind::MineralWhitelist).wholly_inside,
        Some(false)
    );
    assert_eq!(
        layer(&report, LayerKind::MineralDeposit).result,
        LayerResult::NeedsOverlayApproval
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn versions_of_the_county_city_and_province_apply_and_others_do_not(pool: PgPool) {
    let square = polygon_json(&[rect(109.0, 32.6, 109.1, 32.7)]);
    import(
        &pool,
        LayerKind::PermanentFarmland,
        "610921",
        vec![feature(&json!({}), &square)],
    )
    .await;
    import(
        &pool,
        LayerKind::QinlingGeneral,
        "610000",
        vec![feature(&json!({}), &square)],
    )
    .await;
    import(
        &pool,
        LayerKind::QinlingKey,
        "610902",
        vec![feature(&json!({}), &square)],
    )
    .await;
    let mut conn = pool.acquire().await.unwrap();
    let current = current_versions(&mut conn, county("610902")).await.unwrap();
    let kinds: Vec<LayerKind> = current.iter().map(|v| v.kind).collect();
    assert!(kinds.contains(&LayerKind::QinlingGeneral));
    assert!(kinds.contains(&LayerKind::QinlingKey));
    assert!(!kinds.contains(&LayerKind::PermanentFarmland));
    let parcel = mp(vec![Polygon::new(rect(109.05, 32.65, 109.06, 32.66), vec![])]);
    let report = check(&pool, &[parcel], &CaseContext::default()).await;
    assert_eq!(
        layer(&report, LayerKind::QinlingGeneral).result,
        LayerResult::NeedsReview
    );
    assert_eq!(
        layer(&report, LayerKind::PermanentFarmland).result,
        LayerResult::NotChecked
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn several_parcels_are_measured_each_against_its_own_area(pool: PgPool) {
    redline(&pool).await;
    let a = mp(vec![Polygon::new(rect(109.095, 32.65, 109.105, 32.66), vec![])]);
    let b = mp(vec![Polygon::new(rect(109.05, 32.65, 109.06, 32.66), vec![])]);
    let report = check(&pool, &[a, b], &CaseContext::default()).await;
    let red = layer(&report, LayerKind::EcologicalRedline);
    assert_eq!(red.hits.len(), 2);
    assert_eq!((red.hits[0].parcel, red.hits[1].parcel), (0, 1));
    assert!((red.hits[0].share - 0.5).abs() < 1e-3);
    assert!((red.hits[1].share - 1.0).abs() < 1e-9);
    assert_area(
        report.case_area.m2,
        report.parcels[0].area.m2 + report.parcels[1].area.m2,
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_huge_polygon_is_cut_into_pieces_and_measured_the_same(pool: PgPool) {
    // A 20,000-vertex near-circle of radius 0.1° around (109.5, 32.5).
    let n = 20_000;
    let mut ring: Vec<(f64, f64)> = (0..n)
        .map(|i| {
            let t = f64::from(i) * std::f64::consts::TAU / f64::from(n);
            (109.5 + 0.1 * t.cos(), 32.5 + 0.1 * t.sin())
        })
        .collect();
    ring.push(ring[0]);
    let big = LineString::from(ring);
    import(
        &pool,
        LayerKind::PermanentFarmland,
        "610902",
        vec![feature(&json!({"BSM": "big"}), &polygon_json(&[big]))],
    )
    .await;
    let (pieces, max_points): (i64, i32) =
        sqlx::query_as("select count(*), max(st_npoints(geom)) from layer_pieces")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(pieces > 50, "{pieces}");
    assert!(max_points <= 256, "{max_points}");
    // The authoritative geometry is kept whole.
    let points: i32 = sqlx::query_scalar("select st_npoints(geom) from layer_features")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(points, n + 1);
    // A parcel well inside straddles 109.5°E and many pieces: wholly in the farmland.
    let parcel_ring = rect(109.45, 32.45, 109.55, 32.55);
    let report = check(
        &pool,
        &[mp(vec![Polygon::new(parcel_ring.clone(), vec![])])],
        &CaseContext::default(),
    )
    .await;
    let farm = layer(&report, LayerKind::PermanentFarmland);
    assert_eq!(farm.hits.len(), 1);
    assert_area(farm.hits[0].overlap.m2, geodesic_ring_area(&parcel_ring));
    assert_eq!(farm.result, LayerResult::Prohibited);
}

#[sqlx::test(migrations = "../../migrations")]
async fn every_import_is_a_new_version_and_old_versions_stay_readable(pool: PgPool) {
    redline(&pool).await;
    import(
        &pool,
        LayerKind::EcologicalRedline,
        "610900",
        vec![feature(
            &json!({"BSM": "v2"}),
            &polygon_json(&[rect(109.2, 32.6, 109.3, 32.7)]),
        )],
    )
    .await;
    let mut conn = pool.acquire().await.unwrap();
    let versions = list_versions(&mut conn, Some(LayerKind::EcologicalRedline), None)
        .await
        .unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!((versions[0].version_no, versions[0].is_current), (2, true));
    assert_eq!((versions[1].version_no, versions[1].is_current), (1, false));
    assert!(versions[1].superseded_at.is_some());
    let old = features_page(&mut conn, versions[1].id, None, 100, None)
        .await
        .unwrap();
    assert_eq!(old.len(), 1);
    assert_eq!(old[0].attributes["BSM"], "STBHHX-1");
    // Checks now use version 2 only.
    let parcel = mp(vec![Polygon::new(rect(109.05, 32.65, 109.06, 32.66), vec![])]);
    let report = check(&pool, &[parcel], &CaseContext::default()).await;
    let red = layer(&report, LayerKind::EcologicalRedline);
    assert!(red.hits.is_empty());
    assert_eq!(red.versions[0].version_no, 2);
    // Keyset paging and the bounding box.
    let none = features_page(
        &mut conn,
        versions[0].id,
        None,
        10,
        Some([100.0, 20.0, 101.0, 21.0]),
    )
    .await
    .unwrap();
    assert!(none.is_empty());
}

#[sqlx::test(migrations = "../../migrations")]
async fn each_validation_failure_gives_its_message_and_stores_nothing(pool: PgPool) {
    let cases = [
        (
            json!({"type": "Polygon", "coordinates": [[[109.0, 32.0], [109.1, 32.0], [109.1, 32.1], [109.0, 32.1]]]}),
            "unclosed_ring",
        ),
        (
            json!({"type": "Polygon", "coordinates": [[[109.0, 32.0], [109.1, 32.0], [109.0, 32.0]]]}),
            "too_few_points",
        ),
        (
            json!({"type": "Polygon", "coordinates": [[[109.0, 32.0], [189.1, 32.0], [109.1, 32.1], [109.0, 32.0]]]}),
            "out_of_range",
        ),
        (
            json!({"type": "Polygon", "coordinates": [[[109.0, 32.0], [109.1, 32.1], [109.1, 32.0], [109.0, 32.1], [109.0, 32.0]]]}),
            "self_intersection",
        ),
        (json!({"type": "Polygon", "coordinates": []}), "empty"),
        (
            json!({"type": "LineString", "coordinates": [[109.0, 32.0], [109.1, 32.0]]}),
            "wrong_type",
        ),
    ];
    let good = feature(&json!({}), &polygon_json(&[rect(109.0, 32.6, 109.1, 32.7)]));
    for (geometry, code) in cases {
        let err = import_reader(
            &pool,
            LayerKind::EcologicalRedline,
            county("610902"),
            "bad.geojson",
            Cursor::new(collection(vec![good.clone(), feature(&json!({}), &geometry)])),
            &ImportOptions::default(),
        )
        .await
        .unwrap_err();
        match &err {
            ImportError::FeaturesRefused(report) => {
                assert_eq!(report.features_read, 2);
                assert_eq!(report.refused_count, 1);
                assert_eq!(report.features_written, 0);
                assert_eq!(report.refused[0].code, code);
                assert_eq!(report.refused[0].index, 1);
                assert!(
                    report.refused[0].reason.starts_with("feature 1"),
                    "{}",
                    report.refused[0].reason
                );
            }
            other => panic!("{code}: {other}"),
        }
        assert!(err.to_string().contains("1 of 2 features refused"), "{err}");
        for table in ["layer_versions", "layer_features", "layer_pieces"] {
            assert_eq!(count(&pool, table).await, 0, "{code}: {table}");
        }
    }
}

#[sqlx::test(migrations = "../../migrations")]
async fn an_import_that_fails_half_way_leaves_the_current_version_untouched(pool: PgPool) {
    redline(&pool).await;
    let mut conn = pool.acquire().await.unwrap();
    let before = list_versions(&mut conn, None, None).await.unwrap();
    // 300 good features, then the document breaks off.
    let features: Vec<Value> = (0..300)
        .map(|i| {
            let x = 109.0 + f64::from(i) * 0.001;
            feature(
                &json!({"n": i}),
                &polygon_json(&[rect(x, 32.6, x + 0.0005, 32.6005)]),
            )
        })
        .collect();
    let mut bytes = collection(features);
    bytes.truncate(bytes.len() - 100);
    let options = ImportOptions {
        batch_size: 50,
        ..ImportOptions::default()
    };
    let err = import_reader(
        &pool,
        LayerKind::EcologicalRedline,
        county("610900"),
        "broken.geojson",
        Cursor::new(bytes),
        &options,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, ImportError::Document { features_read, .. } if features_read >= 299),
        "{err}"
    );
    let after = list_versions(&mut conn, None, None).await.unwrap();
    assert_eq!(before, after);
    assert_eq!(count(&pool, "layer_features").await, 1);
    let current = current_versions(&mut conn, county("610902")).await.unwrap();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0].id, before[0].id);
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_lenient_import_writes_the_valid_features_and_lists_the_refused(pool: PgPool) {
    let options = ImportOptions {
        all_or_nothing: false,
        ..ImportOptions::default()
    };
    let report = import_reader(
        &pool,
        LayerKind::EcologicalRedline,
        county("610900"),
        "mixed.geojson",
        Cursor::new(collection(vec![
            feature(&json!({}), &polygon_json(&[rect(109.0, 32.6, 109.1, 32.7)])),
            feature(&json!({}), &json!(null)),
        ])),
        &options,
    )
    .await
    .unwrap();
    assert_eq!(
        (
            report.features_read,
            report.features_written,
            report.refused_count
        ),
        (2, 1, 1)
    );
    assert_eq!(report.refused[0].code, "no_geometry");
    assert_eq!(report.version_no, Some(1));
    let stored: Value = sqlx::query_scalar("select import_report from layer_versions")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored["refused_count"], 1);
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_projected_geojson_layer_lands_in_4490(pool: PgPool) {
    // The check value's square in EPSG:4524, [easting, northing].
    let doc = json!({
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4524"}},
        "features": [{"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [[
            [36_596_505.793, 3_618_282.030], [36_596_605.793, 3_618_282.030],
            [36_596_605.793, 3_618_382.030], [36_596_505.793, 3_618_382.030], [36_596_505.793, 3_618_282.030]]]}}]
    });
    import_reader(
        &pool,
        LayerKind::UrbanBoundary,
        county("610902"),
        "czkfbj.geojson",
        Cursor::new(serde_json::to_vec(&doc).unwrap()),
        &ImportOptions::default(),
    )
    .await
    .unwrap();
    let (srid, x, y): (i32, f64, f64) = sqlx::query_as(
        "select st_srid(geom), st_x(st_pointn(st_exteriorring(st_geometryn(geom, 1)), 1)), \
                st_y(st_pointn(st_exteriorring(st_geometryn(geom, 1)), 1)) from layer_features",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(srid, 4490);
    assert!((x - 109.029).abs() < 1e-8 && (y - 32.685).abs() < 1e-8, "{x} {y}");
}
