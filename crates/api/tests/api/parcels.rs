//! Parcels in and out: GeoJSON and coordinate files, refusals that store nothing, round trips,
//! the vertex cap, and stale checks.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::TestApp;
use serde_json::json;
use sqlx::PgPool;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../../fixtures/coordfiles/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// A square of `side` degrees with its south-west corner at (lon, lat).
fn square(lon: f64, lat: f64, side: f64) -> serde_json::Value {
    json!({
        "type": "FeatureCollection",
        "features": [{
            "type": "Feature",
            "properties": { "name": "一号地块" },
            "geometry": { "type": "Polygon", "coordinates": [[
                [lon, lat], [lon + side, lat], [lon + side, lat + side], [lon, lat + side], [lon, lat]
            ]] }
        }]
    })
}

async fn parcel_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("select count(*) from parcels")
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[sqlx::test(migrations = "../../migrations")]
async fn geojson_parcels_are_stored_with_their_true_area_and_read_back(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let project = app.project(false).await;
    let (case, etag) = app.case(&project).await;
    let body = serde_json::to_vec(&square(109.0, 32.7, 0.001)).unwrap();
    let put = app
        .send_raw(
            "PUT",
            &format!("/api/v1/cases/{case}/parcels"),
            "officer",
            "application/geo+json",
            body,
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.text);
    assert_ne!(put.etag(), etag, "a parcel change is a new version of the case");
    let got = app
        .send(
            "GET",
            &format!("/api/v1/cases/{case}/parcels"),
            "officer",
            None,
            &[],
        )
        .await;
    assert_eq!(got.headers["content-type"], "application/geo+json");
    let feature = &got.json["features"][0];
    let area = feature["properties"]["area_m2"].as_f64().unwrap();
    let postgis: f64 = sqlx::query_scalar("select st_area(geom::geography) from parcels")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(
        (area - postgis).abs() / postgis < 1e-4,
        "{area} vs PostGIS {postgis}"
    );
    assert_eq!(feature["properties"]["name"], "一号地块");
    assert_eq!(feature["properties"]["source"], "geojson");
    assert!(
        app.send(
            "GET",
            &format!("/api/v1/cases/{case}/parcels"),
            "officer2",
            None,
            &[]
        )
        .await
        .status
            == 404
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_gbk_coordinate_file_is_read_and_written_back_as_the_standard_form(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let project = app.project(false).await;
    let (case, etag) = app.case(&project).await;
    let put = app
        .send_raw(
            "PUT",
            &format!("/api/v1/cases/{case}/parcels"),
            "officer",
            "text/plain",
            fixture("zone36_hole_utf8.txt"),
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.text);
    let props = &put.json["parcels"]["features"][0]["properties"];
    assert!(
        (props["planar_area_m2"].as_f64().unwrap() - 37_500.0).abs() < 0.01,
        "{props}"
    );
    assert_eq!(props["zone"], 36);
    let txt = app
        .send(
            "GET",
            &format!("/api/v1/cases/{case}/parcels?format=txt"),
            "officer",
            None,
            &[],
        )
        .await;
    assert_eq!(txt.status, 200);
    assert!(txt.headers["content-type"].to_str().unwrap().contains("GBK"));
    // Read the written file again: the same parcel, the same planar area.
    let bytes = {
        use http_body_util::BodyExt;
        let request = axum::http::Request::get(format!("/api/v1/cases/{case}/parcels?format=txt"))
            .header("authorization", format!("Bearer {}", app.tokens["officer"]))
            .body(axum::body::Body::empty())
            .unwrap();
        let response = tower::ServiceExt::oneshot(app.router.clone(), request)
            .await
            .unwrap();
        response.into_body().collect().await.unwrap().to_bytes().to_vec()
    };
    assert!(bytes.windows(2).any(|w| w == b"\r\n"), "CRLF line ends");
    let reread = landuse_spatial::coordfile::read(&bytes).unwrap();
    assert_eq!(reread.parcels.len(), 1);
    assert!(
        (reread.parcels[0].planar_area_m2 - 37_500.0).abs() < 0.05,
        "{}",
        reread.parcels[0].planar_area_m2
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn bad_uploads_get_a_problem_naming_the_error_and_store_nothing(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let project = app.project(false).await;
    let (case, etag) = app.case(&project).await;
    let path = format!("/api/v1/cases/{case}/parcels");
    let unclosed = json!({ "type": "Polygon", "coordinates": [[[109.0, 32.7], [109.01, 32.7], [109.01, 32.71], [109.0, 32.71]]] });
    let r = app
        .send_raw(
            "PUT",
            &path,
            "officer",
            "application/geo+json",
            serde_json::to_vec(&unclosed).unwrap(),
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.headers["content-type"], "application/problem+json");
    assert!(r.json["detail"].as_str().unwrap().contains("clos"), "{}", r.json);

    let bowtie = json!({ "type": "Polygon", "coordinates": [[[109.0, 32.7], [109.01, 32.71], [109.01, 32.7], [109.0, 32.71], [109.0, 32.7]]] });
    let r = app
        .send_raw(
            "PUT",
            &path,
            "officer",
            "application/geo+json",
            serde_json::to_vec(&bowtie).unwrap(),
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(
        r.json["detail"].as_str().unwrap().contains("intersect"),
        "{}",
        r.json
    );

    let r = app
        .send_raw(
            "PUT",
            &path,
            "officer",
            "text/plain",
            b"[\xca\xf4\xd0\xd4]\nnot a file\n".to_vec(),
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(r.json["detail"].as_str().unwrap().contains("line"), "{}", r.json);

    let r = app
        .send_raw(
            "PUT",
            &path,
            "officer",
            "image/png",
            vec![1, 2, 3],
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);

    assert_eq!(parcel_count(&app).await, 0);
    let case_now = app
        .send("GET", &format!("/api/v1/cases/{case}"), "officer", None, &[])
        .await;
    assert_eq!(case_now.etag(), etag, "nothing changed");
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_parcel_change_marks_the_last_check_stale(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let project = app.project(false).await;
    let (case, etag) = app.case(&project).await;
    let id: uuid::Uuid = case.parse().unwrap();
    sqlx::query(
        "insert into checks (id, case_id, run_at, result, report) values ($1, $2, now(), 'ok', '{}')",
    )
    .bind(uuid::Uuid::now_v7())
    .bind(id)
    .execute(&app.db)
    .await
    .unwrap();
    let body = serde_json::to_vec(&square(109.0, 32.7, 0.001)).unwrap();
    let r = app
        .send_raw(
            "POST",
            &format!("/api/v1/cases/{case}/parcels"),
            "officer",
            "application/geo+json",
            body,
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["check_marked_stale"], true);
    let stale: bool = sqlx::query_scalar("select stale from checks")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(stale);
}

/// A valid ring of `n` vertices (plus the closing one) around (lon, lat).
fn circle(lon: f64, lat: f64, n: u32) -> Vec<[f64; 2]> {
    let mut ring: Vec<[f64; 2]> = (0..n)
        .map(|i| {
            let a = f64::from(i) / f64::from(n) * std::f64::consts::TAU;
            [lon + 0.01 * a.cos(), lat + 0.01 * a.sin()]
        })
        .collect();
    ring.push(ring[0]);
    ring
}

#[sqlx::test(migrations = "../../migrations")]
async fn parcels_over_the_vertex_caps_are_refused_and_nothing_is_stored(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let project = app.project(false).await;
    let (case, etag) = app.case(&project).await;
    let path = format!("/api/v1/cases/{case}/parcels");

    // One polygon over the per-feature cap: refused by the validator, naming the count.
    let one = json!({ "type": "Polygon", "coordinates": [circle(109.0, 32.7, 60_000)] });
    let r = app
        .send_raw(
            "PUT",
            &path,
            "officer",
            "application/geo+json",
            serde_json::to_vec(&one).unwrap(),
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(r.status, 422, "{}", &r.text[..r.text.len().min(300)]);
    assert!(
        r.json["detail"].as_str().unwrap().contains("vertices"),
        "{}",
        r.json
    );

    // Five polygons of 45,000 vertices each: every one valid, together over the case's 200,000.
    let features: Vec<_> = (0..5)
        .map(|i| {
            json!({ "type": "Feature", "properties": {}, "geometry": {
                "type": "Polygon", "coordinates": [circle(109.0 + 0.05 * f64::from(i), 32.7, 45_000)] } })
        })
        .collect();
    let many = json!({ "type": "FeatureCollection", "features": features });
    let r = app
        .send_raw(
            "PUT",
            &path,
            "officer",
            "application/geo+json",
            serde_json::to_vec(&many).unwrap(),
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(r.status, 413, "{}", &r.text[..r.text.len().min(300)]);
    assert!(
        r.json["detail"].as_str().unwrap().contains("200000"),
        "{}",
        r.json
    );
    assert_eq!(parcel_count(&app).await, 0);
}
