//! `landuse layer import` on the real binary: a good file becomes the current version with a
//! report; a file with a bad feature names it, stores nothing and exits non-zero; the new
//! version's tiles of the low matrices are drawn and kept as the import ends.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::process::Command;

use sqlx::{postgres::PgConnectOptions, postgres::PgPoolOptions, PgPool};

fn import(url: &str, kind: &str, file: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_landuse"))
        .args(["layer", "import", "--kind", kind, "--file"])
        .arg(file)
        .env("DATABASE_URL", url)
        .output()
        .unwrap()
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_layer_file_is_imported_as_the_current_version_and_a_bad_one_changes_nothing(
    _pool: PgPoolOptions,
    options: PgConnectOptions,
) {
    let url = common::url_of(&options);
    let pool = PgPool::connect_with(options).await.unwrap();
    let dir = std::env::temp_dir().join(format!("landuse-layer-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("redline.geojson");
    let square = common::square(109.0, 32.7, 0.01);
    std::fs::write(
        &good,
        serde_json::to_vec(&serde_json::json!({ "type": "FeatureCollection", "features": [
            { "type": "Feature", "properties": { "STBHHX": "汉江" }, "geometry": square }
        ]}))
        .unwrap(),
    )
    .unwrap();
    let out = import(&url, "ecological_redline", &good);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Standard output is the report alone (log lines go to standard error), for scripts.
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["features_written"], 1);

    let bad = dir.join("bad.geojson");
    std::fs::write(
        &bad,
        br#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[109,32.7],[109.01,32.7],[109.01,32.71],[109,32.71]]]}}]}"#,
    )
    .unwrap();
    let out = import(&url, "ecological_redline", &bad);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("feature 0") && said.contains("nothing was imported"),
        "{said}"
    );
    let current: Vec<i32> = sqlx::query_scalar("select version_no from layer_versions where is_current")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(current, [1], "the first version stays current");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The tile matrices kept for `version`, each with how many tiles.
async fn kept_matrices(pool: &PgPool, version: uuid::Uuid) -> Vec<(i16, i64)> {
    sqlx::query_as(
        "select z, count(*) from layer_tiles where versions = array[$1]::uuid[] group by z order by z",
    )
    .bind(version)
    .fetch_all(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrations = "../../migrations")]
async fn an_import_keeps_the_new_versions_tiles_of_the_low_matrices_unless_told_not_to(
    _pool: PgPoolOptions,
    options: PgConnectOptions,
) {
    let url = common::url_of(&options);
    let pool = PgPool::connect_with(options).await.unwrap();
    let dir = std::env::temp_dir().join(format!("landuse-layer-tiles-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("layer.geojson");
    let square = common::square(109.0, 32.7, 0.01);
    std::fs::write(
        &file,
        serde_json::to_vec(&serde_json::json!({ "type": "FeatureCollection", "features": [
            { "type": "Feature", "properties": {}, "geometry": square }
        ]}))
        .unwrap(),
    )
    .unwrap();
    let version_of = |out: &std::process::Output| -> uuid::Uuid {
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        report["version_id"].as_str().unwrap().parse().unwrap()
    };

    // By default matrices 0 to 10: a 0.01° square lies in one or two tiles of each.
    let version = version_of(&import(&url, "ecological_redline", &file));
    let kept = kept_matrices(&pool, version).await;
    let matrices: Vec<i16> = kept.iter().map(|(z, _)| *z).collect();
    assert_eq!(matrices, (0..=10).collect::<Vec<i16>>(), "{kept:?}");
    let extent = [109.0, 32.7, 109.01, 32.71];
    for (z, count) in &kept {
        let covering = landuse_spatial::tile::tiles_covering(extent, u8::try_from(*z).unwrap()).count();
        assert_eq!(usize::try_from(*count).unwrap(), covering, "matrix {z}");
    }
    // Under a grid unit wide (0.088° at matrix 0), the square is simplified away at the lowest
    // matrices; from matrix 4 (a unit of 0.0055°) every tile over it holds it.
    let empty: Vec<i16> = sqlx::query_scalar("select z from layer_tiles where tile = '' order by z")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert!(empty.iter().all(|z| *z < 4), "empty tiles at matrices {empty:?}");

    let fewer = Command::new(env!("CARGO_BIN_EXE_landuse"))
        .args([
            "layer",
            "import",
            "--kind",
            "urban_boundary",
            "--tiles-up-to",
            "3",
            "--file",
        ])
        .arg(&file)
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    let version = version_of(&fewer);
    let matrices: Vec<i16> = kept_matrices(&pool, version)
        .await
        .iter()
        .map(|(z, _)| *z)
        .collect();
    assert_eq!(matrices, [0, 1, 2, 3]);

    let none = Command::new(env!("CARGO_BIN_EXE_landuse"))
        .args([
            "layer",
            "import",
            "--kind",
            "qinling_core",
            "--no-tiles",
            "--file",
        ])
        .arg(&file)
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    let version = version_of(&none);
    assert!(kept_matrices(&pool, version).await.is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

/// The placeholders `$1`, `$2`, … a statement uses, in order, each once.
fn placeholders(sql: &str) -> Vec<usize> {
    let mut found: Vec<usize> = sql
        .split('$')
        .skip(1)
        .filter_map(|rest| {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .collect();
    found.sort_unstable();
    found.dedup();
    found
}

/// `landuse layer statements` prints, as JSON alone on standard output, the count and page
/// statements of a control layer's items and a name for each parameter: the SQL floor of
/// `make bench` binds them by that list, so the list must name every parameter the statements
/// take (count: the selection's 8; page: those and 5 more), no more and no fewer.
#[test]
fn layer_statements_name_every_parameter_the_statements_take() {
    let out = Command::new(env!("CARGO_BIN_EXE_landuse"))
        .args(["layer", "statements"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let named = printed["parameters"].as_array().unwrap().len();
    let count = placeholders(printed["count"].as_str().unwrap());
    let page = placeholders(printed["page"].as_str().unwrap());
    assert_eq!(
        page,
        (1..=named).collect::<Vec<_>>(),
        "the page takes $1..${named}"
    );
    assert_eq!(
        count,
        (1..=8).collect::<Vec<_>>(),
        "the count takes the selection's $1..$8"
    );
    assert!(printed["count"].as_str().unwrap().contains("count("));
}
