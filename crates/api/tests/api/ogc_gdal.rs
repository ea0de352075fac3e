//! A real OGC API – Features client against the real binary: GDAL's OAPIF driver (`ogrinfo`,
//! `ogr2ogr` from Debian's gdal-bin, which `make test` installs) lists the collections, takes
//! the feature count from `numberMatched`, and copies a 10,000-feature layer into a GeoPackage
//! page by page; the copy's count and areas are compared with the database. It also reads the
//! land-supply collections, as a city-wide client and as a county officer.
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

use crate::common;

use std::{collections::HashMap, process::Command};

use common::{url_of, TestServer};
use landuse_domain::{check::LayerKind, county::CountyCode};
use landuse_spatial::store::{import_reader, ImportOptions};
use serde_json::{json, Value};
use sqlx::{
    postgres::{PgConnectOptions, PgPoolOptions},
    PgPool,
};

const FEATURES: usize = 10_000;

/// A GeoJSON layer of `n` squares of about 75 m, 100 to a row, from 108.9°E 32.6°N.
fn squares(n: usize) -> String {
    let features: Vec<Value> = (0..n)
        .map(|i| {
            let (x, y) = (108.9 + (i % 100) as f64 * 0.001, 32.6 + (i / 100) as f64 * 0.001);
            // Some squares a little smaller, so areas differ and a mix-up would show.
            let side = if i % 3 == 0 { 0.0008 } else { 0.0006 };
            json!({
                "type": "Feature",
                "id": format!("F{i:05}"),
                "properties": { "DLBM": if i % 2 == 0 { "0101" } else { "0103" } },
                "geometry": { "type": "Polygon", "coordinates": [[
                    [x, y], [x + side, y], [x + side, y + side], [x, y + side], [x, y]
                ]] }
            })
        })
        .collect();
    json!({ "type": "FeatureCollection", "features": features }).to_string()
}

fn gdal_available() -> bool {
    Command::new("ogrinfo")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs a GDAL tool with the token as the HTTP Basic password and its debug log on; returns
/// stdout and stderr (where the log goes).
fn gdal(tool: &str, token: &str, args: &[&str]) -> (String, String) {
    let output = Command::new(tool)
        .args(["--config", "GDAL_HTTP_USERPWD", &format!("qgis:{token}")])
        .args(["--config", "CPL_DEBUG", "ON"])
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "{tool} {args:?} failed:\n{stdout}\n{stderr}"
    );
    (stdout, stderr)
}

/// Reads the CSV `ogr2ogr -f CSV -lco GEOMETRY=AS_WKT` writes: a header, then rows of a
/// quoted WKT followed by the source id.
fn csv_rows(text: &str) -> Vec<(String, String)> {
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("WKT,source_id"), "{text:.200}");
    lines
        .filter(|l| !l.is_empty())
        .map(|line| {
            let (wkt, id) = line
                .strip_prefix('"')
                .and_then(|l| l.split_once("\","))
                .unwrap_or_else(|| panic!("not a WKT row: {line}"));
            (id.trim_matches('"').to_owned(), wkt.to_owned())
        })
        .collect()
}

#[sqlx::test(migrations = "../../migrations")]
async fn gdal_lists_the_collections_counts_from_number_matched_and_copies_10000_features_through_paging(
    _pool_options: PgPoolOptions,
    options: PgConnectOptions,
) {
    if !gdal_available() {
        eprintln!(
            "skipped: ogrinfo is not on PATH (make test installs gdal-bin through scripts/install-deps.sh)"
        );
        return;
    }
    let url = url_of(&options);
    let pool = PgPool::connect_with(options).await.unwrap();
    let mut conn = pool.acquire().await.unwrap();
    landuse_api::admin::seed(&mut conn).await.unwrap();
    landuse_api::admin::add_user(&mut conn, "qgis-desktop", "gis", &[])
        .await
        .unwrap();
    let token = landuse_api::admin::issue_token(&mut conn, "qgis-desktop", "gdal test", None)
        .await
        .unwrap();
    drop(conn);
    let report = import_reader(
        &pool,
        LayerKind::PermanentFarmland,
        CountyCode::parse("610900").unwrap(),
        "farmland.geojson",
        std::io::Cursor::new(squares(FEATURES).into_bytes()),
        &ImportOptions::default(),
    )
    .await
    .unwrap();
    let version = report.version_id.unwrap();

    let server = TestServer::spawn(&url, &[]);
    let source = format!("OAPIF:{}/ogc", server.base);
    let token_for_blocking = token.clone();
    let source_for_blocking = source.clone();
    let dir = std::env::temp_dir().join(format!("landuse-ogc-gdal-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let gpkg = dir.join("farmland.gpkg");
    let gpkg_text = gpkg.to_string_lossy().into_owned();

    // GDAL blocks; run it off the runtime that serves nothing here but keeps the pool alive.
    let (listing, summary, copied) = tokio::task::spawn_blocking(move || {
        let token = token_for_blocking;
        let source = source_for_blocking;
        let (listing, _) = gdal(
            "ogrinfo",
            &token,
            &["-ro", "-q", &source, "-oo", "PAGE_SIZE=1000"],
        );
        let (summary, _) = gdal(
            "ogrinfo",
            &token,
            &[
                "-ro",
                "-so",
                &source,
                "permanent_farmland",
                "-oo",
                "PAGE_SIZE=1000",
            ],
        );
        let (_, log) = gdal(
            "ogr2ogr",
            &token,
            &[
                "-f",
                "GPKG",
                &gpkg_text,
                &source,
                "permanent_farmland",
                "-oo",
                "PAGE_SIZE=1000",
            ],
        );
        let followed = log
            .lines()
            .filter(|l| l.starts_with("HTTP: Fetch(") && l.contains("/items?") && l.contains("cursor="))
            .count();
        assert_eq!(
            followed,
            FEATURES / 1000 - 1,
            "GDAL follows a next link per page:\n{log}"
        );
        let (copied, _) = gdal(
            "ogr2ogr",
            &token,
            &[
                "-f",
                "CSV",
                "/vsistdout/",
                &gpkg_text,
                "permanent_farmland",
                "-select",
                "source_id",
                "-lco",
                "GEOMETRY=AS_WKT",
            ],
        );
        (listing, summary, copied)
    })
    .await
    .unwrap();

    for name in ["permanent_farmland", "parcels", "check_overlaps"] {
        assert!(listing.contains(name), "{name} is not listed:\n{listing}");
    }
    assert!(
        summary.contains(&format!("Feature Count: {FEATURES}")),
        "the count comes from numberMatched:\n{summary}"
    );

    let rows = csv_rows(&copied);
    assert_eq!(rows.len(), FEATURES, "every feature is copied once");
    let ids: Vec<String> = rows.iter().map(|(id, _)| id.clone()).collect();
    let wkts: Vec<String> = rows.iter().map(|(_, wkt)| wkt.clone()).collect();
    let unique: std::collections::HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), FEATURES, "no feature twice");
    // Each copied feature's area against its stored original, on the CGCS2000 ellipsoid.
    let compared: Vec<(String, f64, f64)> = sqlx::query_as(
        "select u.id, st_area(st_geomfromtext(u.wkt, 4490)::geography), st_area(f.geom::geography)
           from unnest($1::text[], $2::text[]) as u (id, wkt)
           join layer_features f on f.source_id = u.id and f.version_id = $3",
    )
    .bind(&ids)
    .bind(&wkts)
    .bind(version)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(compared.len(), FEATURES, "every copied id is a stored feature");
    let by_id: HashMap<&str, (f64, f64)> = compared
        .iter()
        .map(|(id, copy, stored)| (id.as_str(), (*copy, *stored)))
        .collect();
    for (id, (copy, stored)) in &by_id {
        assert!(
            (copy - stored).abs() <= stored * 1e-6,
            "{id}: the copy's area {copy} differs from the stored {stored}"
        );
    }
    let total_copy: f64 = compared.iter().map(|c| c.1).sum();
    let total_db: f64 =
        sqlx::query_scalar("select sum(st_area(geom::geography)) from layer_features where version_id = $1")
            .bind(version)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(
        (total_copy - total_db).abs() <= total_db * 1e-6,
        "{total_copy} m² copied, {total_db} m² stored"
    );
    let _ = std::fs::remove_dir_all(&dir);
    server.terminate();
}

/// The features `ogrinfo -al` prints, each as its `name (Type) = value` lines.
fn ogr_features(text: &str) -> Vec<String> {
    text.split("\nOGRFeature(").skip(1).map(str::to_owned).collect()
}

#[sqlx::test(migrations = "../../migrations")]
async fn gdal_reads_the_land_supply_collections_and_an_officer_gets_only_their_county(
    _pool_options: PgPoolOptions,
    options: PgConnectOptions,
) {
    use crate::supply::{approved_case, import_part, strip};
    if !gdal_available() {
        eprintln!(
            "skipped: ogrinfo is not on PATH (make test installs gdal-bin through scripts/install-deps.sh)"
        );
        return;
    }
    let url = url_of(&options);
    let pool = PgPool::connect_with(options).await.unwrap();
    let app = common::TestApp::new(pool.clone()).await;
    // Approved long ago and supplied with a start agreed for 2024-02-29: by any date this test
    // runs on (after 2026-03-01) the part may be taken back, and the other is a government-
    // caused delay. 汉阴县's approval has nothing supplied.
    let hanbin = approved_case(&app, "610902", "2023-06-01", &[strip(0.0, 1.0)]).await;
    let hanyin = approved_case(&app, "610921", "2021-03-01", &[strip(2.0, 3.0)]).await;
    import_part(&pool, hanbin, &strip(0.0, 0.3), "2024-02-29", None).await;
    import_part(
        &pool,
        hanbin,
        &strip(0.3, 0.5),
        "2024-02-29",
        Some("update supply_parts set handed_over_on = date '2024-04-30' where id = $1"),
    )
    .await;
    let gis = app.tokens["gis"].clone();
    let officer = app.tokens["officer"].clone();
    let officer2 = app.tokens["officer2"].clone();

    let server = TestServer::spawn(&url, &[]);
    let source = format!("OAPIF:{}/ogc", server.base);
    let read = move |token: &str, layer: &str| gdal("ogrinfo", token, &["-ro", "-al", &source, layer]).0;
    let (listing, city, own, idle_city, idle_other) = tokio::task::spawn_blocking(move || {
        let listing = read(&gis, "-so");
        (
            listing,
            read(&gis, "approved_unsupplied"),
            read(&officer, "approved_unsupplied"),
            read(&gis, "idle_land"),
            read(&officer2, "idle_land"),
        )
    })
    .await
    .unwrap();
    for name in ["approved_unsupplied", "idle_land"] {
        assert!(listing.contains(name), "{name} is not listed:\n{listing}");
    }

    let city_features = ogr_features(&city);
    assert_eq!(city_features.len(), 2, "{city}");
    assert!(city.contains("unsupplied_mu (Real) = 50"), "{city}");
    assert!(
        city.contains(&hanyin.to_string()) && city.contains("MULTIPOLYGON"),
        "{city}"
    );
    let own_features = ogr_features(&own);
    assert_eq!(own_features.len(), 1, "{own}");
    assert!(own_features[0].contains("county_code (String) = 610902"), "{own}");
    assert!(!own.contains(&hanyin.to_string()), "{own}");

    let idle = ogr_features(&idle_city);
    assert_eq!(idle.len(), 2, "{idle_city}");
    assert!(
        idle.iter().any(|f| f.contains("status (String) = reclaimable")),
        "{idle_city}"
    );
    assert!(
        idle.iter()
            .any(|f| f.contains("status (String) = government_caused")
                && f.contains("government_caused (Integer(Boolean)) = 1")),
        "{idle_city}"
    );
    assert!(ogr_features(&idle_other).is_empty(), "{idle_other}");
    server.terminate();
}
