//! `landuse layer import` on the real binary: a good file becomes the current version with a
//! report; a file with a bad feature names it, stores nothing and exits non-zero.
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
