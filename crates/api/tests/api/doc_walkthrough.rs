//! docs/api.md's walkthrough, run as written: its `sh` blocks, in order, in one bash session
//! against the real binary, with the CLI for users and tokens. A command that stops working
//! fails this test, so the document stays a true description of the service.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::{path::Path, process::Command};

use common::{import_every_layer_far_away, import_layer, square, url_of, TestServer};
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// The `sh` blocks of the walkthrough section.
fn walkthrough(markdown: &str) -> String {
    let start = markdown
        .find("## Walkthrough")
        .expect("docs/api.md has a walkthrough");
    let end = markdown[start..]
        .find("\n## ")
        .map_or(markdown.len(), |i| start + i);
    let mut script = String::new();
    let mut inside = false;
    for line in markdown[start..end].lines() {
        match (inside, line.trim_start()) {
            (false, "```sh") => inside = true,
            (true, "```") => inside = false,
            (true, _) => {
                script.push_str(line);
                script.push('\n');
            }
            _ => {}
        }
    }
    script
}

#[sqlx::test(migrations = "../../migrations")]
async fn the_walkthrough_in_docs_api_md_runs_from_project_to_certificate(
    pool_options: PgPoolOptions,
    options: PgConnectOptions,
) {
    let pool = pool_options.connect_with(options.clone()).await.unwrap();
    let mut conn = pool.acquire().await.unwrap();
    landuse_api::admin::seed(&mut conn).await.unwrap();
    drop(conn);
    import_every_layer_far_away(&pool).await;
    // Paddy field under the west half of fixtures/coordfiles/zone36_square_gbk_crlf.txt.
    import_layer(
        &pool,
        "cultivated_land",
        vec![(
            square(109.0285, 32.683, 0.0015),
            json!({ "DLBM": "0101", "DLMC": "水田" }),
        )],
    )
    .await;
    // A geohazard site inside the parcel: its assessment must be recorded before conversion.
    import_layer(
        &pool,
        "geohazard",
        vec![(
            json!({ "type": "Point", "coordinates": [109.0295, 32.6845] }),
            json!({ "name": "滑坡隐患点" }),
        )],
    )
    .await;
    let url = url_of(&options);
    let server = TestServer::spawn(&url, &[]);

    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let markdown = std::fs::read_to_string(root.join("docs/api.md")).unwrap();
    let script = walkthrough(&markdown);
    assert!(script.contains("curl"), "no commands found");
    let output = Command::new("bash")
        .arg("-euo")
        .arg("pipefail")
        .arg("-c")
        .arg(&script)
        .current_dir(&root)
        .env("API", server.url("/api/v1"))
        .env("LANDUSE", env!("CARGO_BIN_EXE_landuse"))
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the walkthrough failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    // What a reader is told to expect.
    assert!(stdout.contains("\"needs_offset\""), "{stdout}");
    assert!(stdout.contains("\"completed\""), "{stdout}");
    // Step 4: the geohazard assessment missing, then recorded.
    assert!(
        stdout.contains(
            r#"{"kind":"geohazard_assessment","layer":"geohazard","before":"pre_review → conversion"}"#
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains(r#"{"missing":[],"recorded":[{"kind":"geohazard_assessment","document_number":"安地灾评〔2026〕7号"}]}"#),
        "{stdout}"
    );
    // Step 8: the seeded 2026 read at version 1 and loaded again as version 2.
    assert!(
        stdout.contains(r#"{"year":2026,"version":2,"covered_until":"2026-12-31","deadlines":0,"alerts":0}"#),
        "{stdout}"
    );
    assert!(
        stdout.contains("reviewer stage_changed completed") || stdout.contains(" completed\n"),
        "{stdout}"
    );
    let stage: String = sqlx::query_scalar("select stage from cases")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stage, "completed");
    let certificate: Option<String> = sqlx::query_scalar("select facts->>'certificate_number' from cases")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(certificate.as_deref(), Some("陕(2026)安康市不动产权第0001234号"));
    server.terminate();
}
