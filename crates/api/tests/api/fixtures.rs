//! The hand-made layer fixtures in `fixtures/layers` give the answers written in their README:
//! what the import reads, writes, skips and refuses, and what a check of the fixture parcel
//! finds per layer.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::path::{Path, PathBuf};

use common::{import_every_layer_far_away, TestApp};
use landuse_domain::{check::LayerKind, county::CountyCode};
use landuse_spatial::store::{self, ImportError, ImportOptions, ImportReport};
use serde_json::Value;
use sqlx::PgPool;

/// The parcel's area on the ellipsoid, from the closed form in the README.
const PARCEL_M2: f64 = 20_797.51;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/layers")
        .join(name)
}

async fn import(pool: &PgPool, kind: &str, name: &str) -> Result<ImportReport, ImportError> {
    store::import_geojson_file(
        pool,
        LayerKind::parse(kind).unwrap(),
        CountyCode::parse("610900").unwrap(),
        &fixture(name),
        &ImportOptions::default(),
    )
    .await
}

fn counts(report: &ImportReport) -> Counts {
    (
        report.features_read,
        report.features_written,
        report.features_skipped,
        report.refused_count,
    )
}

/// Features read, written, skipped and refused by an import.
type Counts = (usize, usize, usize, usize);

const LAYERS: [(&str, &str, Counts); 7] = [
    (
        "ecological_redline",
        "ecological_redline_east_half.geojson",
        (1, 1, 0, 0),
    ),
    (
        "permanent_farmland",
        "permanent_farmland_multipart.geojson",
        (1, 1, 0, 0),
    ),
    ("cultivated_land", "cultivated_land_mixed.geojson", (4, 3, 1, 0)),
    ("urban_boundary", "urban_boundary_with_hole.geojson", (1, 1, 0, 0)),
    ("geohazard", "geohazard_points.geojson", (2, 2, 0, 0)),
    (
        "mineral_deposit",
        "mineral_deposit_covering.geojson",
        (1, 1, 0, 0),
    ),
    (
        "mineral_whitelist",
        "mineral_whitelist_covering.geojson",
        (1, 1, 0, 0),
    ),
];

#[sqlx::test(migrations = "../../migrations")]
async fn each_layer_fixture_imports_with_the_counts_its_readme_states(pool: PgPool) {
    for (kind, file, expected) in LAYERS {
        let report = import(&pool, kind, file).await.unwrap();
        assert_eq!(counts(&report), expected, "{file}");
    }
}

#[sqlx::test(migrations = "../../migrations")]
async fn the_bowtie_fixture_is_refused_whole_naming_the_self_intersection(pool: PgPool) {
    let refused = import(&pool, "ecological_redline", "invalid_bowtie.geojson").await;
    let Err(ImportError::FeaturesRefused(report)) = refused else {
        panic!("a self-intersecting ring is refused: {refused:?}");
    };
    assert_eq!(
        (
            report.features_read,
            report.features_written,
            report.refused_count
        ),
        (2, 0, 1)
    );
    assert_eq!(report.refused[0].index, 1);
    assert!(
        report.refused[0].reason.contains("intersect"),
        "{}",
        report.refused[0].reason
    );
    let versions: i64 = sqlx::query_scalar("select count(*) from layer_versions")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(versions, 0, "no version is made");
}

fn layer<'a>(check: &'a Value, kind: &str) -> &'a Value {
    check["report"]["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["kind"] == kind)
        .unwrap()
}

fn near(actual: f64, expected: f64, what: &str) {
    assert!(
        (actual - expected).abs() <= 0.5,
        "{what}: {actual} m², the README says {expected} m²"
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_check_of_the_fixture_parcel_gives_the_readme_answers(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    import_every_layer_far_away(&pool).await;
    for (kind, file, _) in LAYERS {
        import(&pool, kind, file).await.unwrap();
    }
    let project = app.project(false).await;
    let (case, etag) = app.case(&project).await;
    let put = app
        .send_raw(
            "PUT",
            &format!("/api/v1/cases/{case}/parcels"),
            "officer",
            "application/geo+json",
            std::fs::read(fixture("parcel_strip.geojson")).unwrap(),
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.text);
    let check = app
        .send(
            "POST",
            &format!("/api/v1/cases/{case}/checks"),
            "planner",
            None,
            &[],
        )
        .await;
    assert_eq!(check.status, 201, "{}", check.text);
    let check = check.json;
    near(
        check["report"]["case_area"]["m2"].as_f64().unwrap(),
        PARCEL_M2,
        "the parcel",
    );
    assert_eq!(check["report"]["case_area"]["mu"], 31.2);

    let expect = |kind: &str, result: &str, share: f64| {
        let l = layer(&check, kind);
        assert_eq!(l["result"], result, "{kind}: {l}");
        near(l["counted"]["m2"].as_f64().unwrap(), PARCEL_M2 * share, kind);
    };
    expect("ecological_redline", "prohibited", 0.5);
    expect("permanent_farmland", "prohibited", 0.5);
    assert_eq!(
        layer(&check, "permanent_farmland")["hits"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    expect("cultivated_land", "needs_offset", 0.65);
    let split = &layer(&check, "cultivated_land")["cultivated"];
    near(split["paddy"].as_f64().unwrap(), PARCEL_M2 * 0.25, "paddy 0101");
    near(split["dry"].as_f64().unwrap(), PARCEL_M2 * 0.4, "dry 0103");
    near(split["irrigated"].as_f64().unwrap(), 0.0, "irrigated 0102");
    expect("urban_boundary", "prohibited", 0.25);
    let hazard = layer(&check, "geohazard");
    assert_eq!(hazard["result"], "warning", "{hazard}");
    assert_eq!(hazard["hits"].as_array().unwrap().len(), 1, "only the near point");
    expect("mineral_deposit", "ok", 1.0);
    let whitelist = layer(&check, "mineral_whitelist");
    assert_eq!(
        (&whitelist["result"], &whitelist["wholly_inside"]),
        (&Value::from("ok"), &Value::from(true))
    );
    for kind in [
        "qinling_core",
        "qinling_key",
        "qinling_general",
        "nature_reserve_core",
        "nature_reserve_general",
    ] {
        expect(kind, "ok", 0.0);
    }
    assert_eq!(check["result"], "prohibited");
}
