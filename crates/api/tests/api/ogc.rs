//! OGC API – Features through the router: the documents, paging, counts, limits, strict
//! parameters, CRSs, county scoping and auth. The run with a real client (GDAL) is in
//! `ogc_gdal.rs`.
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

use crate::common;

use base64::{engine::general_purpose::STANDARD, Engine};
use chrono::{DateTime, TimeZone, Utc};
use common::{case_in, Answer, TestApp};
use geo_types::coord;
use landuse_api::ogc::params::FeatureKey;
use landuse_domain::{check::LayerKind, county::CountyCode};
use landuse_spatial::{
    crs::{Srid, Transformer},
    store::{import_reader, ImportOptions},
};
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

/// A GeoJSON layer of `n` squares of about 75 m, 10 to a row, from 108.9°E 32.6°N (zone 36).
fn squares(n: usize) -> String {
    let features: Vec<Value> = (0..n)
        .map(|i| {
            let (x, y) = (108.9 + (i % 10) as f64 * 0.001, 32.6 + (i / 10) as f64 * 0.001);
            json!({
                "type": "Feature",
                "id": format!("F{i:05}"),
                "properties": { "DLBM": if i % 2 == 0 { "0101" } else { "0103" }, "n": i },
                "geometry": { "type": "Polygon", "coordinates": [[
                    [x, y], [x + 0.0008, y], [x + 0.0008, y + 0.0008], [x, y + 0.0008], [x, y]
                ]] }
            })
        })
        .collect();
    json!({ "type": "FeatureCollection", "features": features }).to_string()
}

/// Imports `n` squares as a new version of `kind` for the city (610900); returns its id.
async fn layer(pool: &PgPool, kind: LayerKind, n: usize) -> Uuid {
    let report = import_reader(
        pool,
        kind,
        CountyCode::parse("610900").unwrap(),
        "squares.geojson",
        std::io::Cursor::new(squares(n).into_bytes()),
        &ImportOptions::default(),
    )
    .await
    .unwrap();
    report.version_id.unwrap()
}

/// Stores a square parcel of `side` degrees at (lon, lat), uploaded at `at`.
pub async fn parcel(pool: &PgPool, case: Uuid, seq: i32, lon: f64, lat: f64, at: DateTime<Utc>) -> Uuid {
    let id = Uuid::now_v7();
    sqlx::query(
        "insert into parcels (id, case_id, seq, name, geom, area_m2, source, created_at)
         select $1, $2, $3, $4, g, st_area(g::geography), 'geojson', $7
           from (select st_multi(st_makeenvelope($5, $6, $5 + 0.002, $6 + 0.002, 4490)) as g) s",
    )
    .bind(id)
    .bind(case)
    .bind(seq)
    .bind(format!("地块{seq}"))
    .bind(lon)
    .bind(lat)
    .bind(at)
    .execute(pool)
    .await
    .unwrap();
    id
}

/// Stores a check report of `case` run at `at`, with one overlap; returns the overlap's id.
async fn overlap(pool: &PgPool, case: Uuid, lon: f64, lat: f64, at: DateTime<Utc>) -> Uuid {
    let check = Uuid::now_v7();
    sqlx::query(
        "insert into checks (id, case_id, run_at, result, report) values ($1, $2, $3, 'prohibited', '{}')",
    )
    .bind(check)
    .bind(case)
    .bind(at)
    .execute(pool)
    .await
    .unwrap();
    let hit = Uuid::now_v7();
    sqlx::query(
        "insert into check_hits (id, check_id, layer_kind, hit_index, overlap_m2, attributes, geom)
         values ($1, $2, 'permanent_farmland', 0, 1234.5, '{\"DLBM\":\"0101\"}',
                 st_multi(st_makeenvelope($3, $4, $3 + 0.001, $4 + 0.001, 4490)))",
    )
    .bind(hit)
    .bind(check)
    .bind(lon)
    .bind(lat)
    .execute(pool)
    .await
    .unwrap();
    hit
}

fn at(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, day, 2, 0, 0).unwrap()
}

async fn get(app: &TestApp, path: &str, who: &str) -> Answer {
    app.send("GET", path, who, None, &[]).await
}

/// A GET whose body is kept as bytes (a GBK coordinate file is not UTF-8).
async fn raw_get(app: &TestApp, path: &str, who: &str) -> (u16, Vec<u8>) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let request = axum::http::Request::get(path)
        .header("authorization", format!("Bearer {}", app.tokens[who]))
        .body(axum::body::Body::empty())
        .unwrap();
    let response = app.router.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, bytes.to_vec())
}

fn link<'a>(doc: &'a Value, rel: &str) -> Option<&'a Value> {
    doc["links"].as_array()?.iter().find(|l| l["rel"] == rel)
}

/// The path and query of an absolute link, to send through the router.
fn local(href: &str) -> String {
    let rest = href.split_once("://").unwrap().1;
    rest[rest.find('/').unwrap()..].to_owned()
}

fn ids(doc: &Value) -> Vec<Value> {
    doc["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].clone())
        .collect()
}

fn assert_problem_400(answer: &Answer, parameter: &str) {
    assert_eq!(answer.status, 400, "{}", answer.text);
    assert_eq!(
        answer.headers["content-type"], "application/problem+json",
        "{}",
        answer.text
    );
    assert_eq!(answer.json["parameter"], parameter, "{}", answer.text);
    assert_eq!(answer.json["status"], 400);
}

#[sqlx::test(migrations = "../../migrations")]
async fn the_landing_page_links_self_service_desc_service_doc_conformance_and_data(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let landing = app
        .send("GET", "/ogc", "", None, &[("host", "gis.example.cn")])
        .await;
    assert_eq!(landing.status, 200, "{}", landing.text);
    assert_eq!(landing.headers["content-type"], "application/json");
    let expect = [
        ("self", "http://gis.example.cn/ogc", "application/json"),
        (
            "service-desc",
            "http://gis.example.cn/ogc/api",
            "application/vnd.oai.openapi+json;version=3.0",
        ),
        ("service-doc", "http://gis.example.cn/ogc/api.html", "text/html"),
        (
            "conformance",
            "http://gis.example.cn/ogc/conformance",
            "application/json",
        ),
        (
            "data",
            "http://gis.example.cn/ogc/collections",
            "application/json",
        ),
    ];
    for (rel, href, media) in expect {
        let l = link(&landing.json, rel).unwrap_or_else(|| panic!("no {rel} link: {}", landing.text));
        assert_eq!(
            (l["href"].as_str(), l["type"].as_str()),
            (Some(href), Some(media))
        );
    }
    let proxied = app
        .send(
            "GET",
            "/ogc",
            "",
            None,
            &[
                ("x-forwarded-proto", "https"),
                ("x-forwarded-host", "gis.example.cn"),
                ("x-forwarded-prefix", "/landuse"),
            ],
        )
        .await;
    assert_eq!(
        link(&proxied.json, "data").unwrap()["href"],
        "https://gis.example.cn/landuse/ogc/collections"
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn conformance_declares_core_geojson_openapi_and_crs(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let answer = get(&app, "/ogc/conformance", "").await;
    assert_eq!(answer.status, 200);
    let classes = answer.json["conformsTo"].as_array().unwrap();
    for class in [
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
        "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    ] {
        assert!(classes.contains(&json!(class)), "{class} missing");
    }
}

#[sqlx::test(migrations = "../../migrations")]
async fn the_openapi_document_is_3_0_and_every_path_in_it_answers(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    layer(&pool, LayerKind::PermanentFarmland, 3).await;
    let api = get(&app, "/ogc/api", "").await;
    assert_eq!(api.status, 200, "{}", api.text);
    assert_eq!(
        api.headers["content-type"],
        "application/vnd.oai.openapi+json;version=3.0"
    );
    assert!(api.json["openapi"].as_str().unwrap().starts_with("3.0."));
    let limit = &api.json["components"]["parameters"]["limit"]["schema"];
    assert_eq!(
        (limit["maximum"].as_i64(), limit["default"].as_i64()),
        (Some(10_000), Some(100))
    );
    let paths = api.json["paths"].as_object().unwrap();
    for required in [
        "/",
        "/conformance",
        "/api",
        "/api.html",
        "/collections",
        "/collections/{collectionId}",
        "/collections/{collectionId}/items",
        "/collections/{collectionId}/items/{featureId}",
        "/collections/parcels/items",
        "/collections/permanent_farmland/items",
        "/tileMatrixSets",
        "/tileMatrixSets/{tileMatrixSetId}",
        "/collections/{collectionId}/tiles",
        "/collections/{collectionId}/tiles/{tileMatrixSetId}",
        "/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
    ] {
        assert!(paths.contains_key(required), "{required} is not described");
    }
    // Every $ref resolves.
    let text = api.text.clone();
    for piece in text.split("\"$ref\":\"#/").skip(1) {
        let pointer = format!("/{}", &piece[..piece.find('"').unwrap()]);
        assert!(api.json.pointer(&pointer).is_some(), "dangling $ref {pointer}");
    }
    // The layer's own path lists its attributes as filters.
    let names: Vec<&str> = paths["/collections/permanent_farmland/items"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert!(
        names.contains(&"DLBM") && names.contains(&"source_id"),
        "{names:?}"
    );
    // Every described path answers (with its placeholders filled in).
    for path in paths.keys() {
        let concrete = path
            .replace("{collectionId}", "permanent_farmland")
            .replace("{featureId}", "1")
            .replace("{tileMatrixSetId}", "WebMercatorQuad")
            .replace("{tileMatrix}/{tileRow}/{tileCol}", "0/0/0");
        let answer = get(&app, &format!("/ogc{}", concrete.trim_end_matches('/')), "gis").await;
        assert!(
            answer.status == 200
                || (path.contains("{featureId}") && answer.status == 404)
                // the small features vanish from the world tile: served, and empty
                || (path.ends_with("{tileCol}") && answer.status == 204),
            "{path} answered {}: {}",
            answer.status,
            answer.text
        );
    }
}

#[sqlx::test(migrations = "../../migrations")]
async fn the_service_doc_is_an_html_page_of_the_endpoints(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let answer = get(&app, "/ogc/api.html", "").await;
    assert_eq!(answer.status, 200);
    assert!(answer.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(answer.text.contains("/collections/{collectionId}/items"));
}

#[sqlx::test(migrations = "../../migrations")]
async fn collections_list_each_current_layer_kind_and_parcels_and_check_overlaps(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    layer(&pool, LayerKind::PermanentFarmland, 5).await;
    layer(&pool, LayerKind::PermanentFarmland, 7).await;
    layer(&pool, LayerKind::UrbanBoundary, 2).await;
    let answer = get(&app, "/ogc/collections", "gis").await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let listed: Vec<&str> = answer.json["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        listed,
        [
            "permanent_farmland",
            "urban_boundary",
            "parcels",
            "check_overlaps",
            "approved_unsupplied",
            "idle_land"
        ],
        "one collection per kind (the older version is not listed)"
    );
    let farmland = &answer.json["collections"][0];
    let bbox = farmland["extent"]["spatial"]["bbox"][0].as_array().unwrap();
    assert!((bbox[0].as_f64().unwrap() - 108.9).abs() < 1e-9, "{bbox:?}");
    assert!((bbox[1].as_f64().unwrap() - 32.6).abs() < 1e-9, "{bbox:?}");
    assert_eq!(
        farmland["extent"]["spatial"]["crs"],
        "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
    );
    let items = link(farmland, "items").unwrap();
    assert_eq!(items["type"], "application/geo+json");
    assert!(items["href"]
        .as_str()
        .unwrap()
        .ends_with("/ogc/collections/permanent_farmland/items"));
    let schema = link(farmland, "describedby").unwrap();
    assert_eq!(schema["type"], "application/schema+json");
    assert_eq!(
        farmland["storageCrs"],
        "http://www.opengis.net/def/crs/EPSG/0/4490"
    );
    let crs = farmland["crs"].as_array().unwrap();
    assert_eq!(crs[0], "http://www.opengis.net/def/crs/OGC/1.3/CRS84");
    for code in [4490, 4524, 4525, 4545, 4546, 3857] {
        assert!(crs.contains(&json!(format!("http://www.opengis.net/def/crs/EPSG/0/{code}"))));
    }

    let described = get(&app, &local(schema["href"].as_str().unwrap()), "gis").await;
    assert_eq!(described.status, 200, "{}", described.text);
    assert_eq!(described.headers["content-type"], "application/schema+json");
    let props = &described.json["properties"]["properties"]["properties"];
    assert_eq!(props["DLBM"]["type"], "string");
    assert_eq!(props["n"]["type"], "integer");
    let parcels = get(&app, "/ogc/collections/parcels/schema", "gis").await;
    assert_eq!(
        parcels.json["properties"]["properties"]["properties"]["created_at"]["format"],
        "date-time"
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn an_older_layer_version_is_a_collection_reached_by_its_version_id(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let old = layer(&pool, LayerKind::PermanentFarmland, 4).await;
    layer(&pool, LayerKind::PermanentFarmland, 6).await;

    let current = get(&app, "/ogc/collections/permanent_farmland", "gis").await;
    let versions = current.json["layer"]["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2, "{}", current.text);
    assert_eq!(versions[1]["id"], json!(old));
    assert_eq!(versions[1]["collection"], "permanent_farmland_610900_v1");

    for id in [old.to_string(), "permanent_farmland_610900_v1".to_owned()] {
        let page = get(&app, &format!("/ogc/collections/{id}/items"), "gis").await;
        assert_eq!(page.status, 200, "{}", page.text);
        assert_eq!(page.json["numberMatched"], 4);
        assert!(page.json["features"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["properties"]["layer_version"] == json!(old)));
    }
    let meta = get(&app, &format!("/ogc/collections/{old}"), "gis").await;
    assert_eq!(meta.json["id"], "permanent_farmland_610900_v1");
    assert!(link(&meta.json, "latest-version").is_some());
    assert_eq!(
        get(&app, "/ogc/collections/permanent_farmland/items", "gis")
            .await
            .json["numberMatched"],
        6
    );
    assert_eq!(
        get(&app, "/ogc/collections/permanent_farmland_610900_v9", "gis")
            .await
            .status,
        404
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn items_are_geojson_with_self_alternate_and_next_links_and_paging_visits_every_feature_once(
    pool: PgPool,
) {
    let app = TestApp::new(pool.clone()).await;
    layer(&pool, LayerKind::PermanentFarmland, 25).await;
    let mut path = "/ogc/collections/permanent_farmland/items?limit=10&DLBM=0101".to_owned();
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let page = get(&app, &path, "gis").await;
        assert_eq!(page.status, 200, "{}", page.text);
        assert_eq!(page.headers["content-type"], "application/geo+json");
        assert_eq!(page.json["type"], "FeatureCollection");
        let me = link(&page.json, "self").unwrap();
        assert_eq!(local(me["href"].as_str().unwrap()), path);
        assert_eq!(me["type"], "application/geo+json");
        let alternate = link(&page.json, "alternate").unwrap();
        assert_eq!(alternate["type"], "application/json");
        let plain = get(&app, &local(alternate["href"].as_str().unwrap()), "gis").await;
        assert_eq!(plain.headers["content-type"], "application/json");
        assert_eq!(ids(&plain.json), ids(&page.json));
        assert_eq!(
            page.json["numberReturned"].as_u64().unwrap() as usize,
            page.json["features"].as_array().unwrap().len()
        );
        if pages == 0 {
            assert_eq!(page.json["numberMatched"], 13);
        } else {
            assert!(
                page.json.get("numberMatched").is_none(),
                "counted only on the first page"
            );
        }
        seen.extend(ids(&page.json));
        pages += 1;
        match link(&page.json, "next") {
            Some(next) => {
                assert_eq!(next["type"], "application/geo+json");
                path = local(next["href"].as_str().unwrap());
                assert!(path.contains("DLBM=0101") && path.contains("limit=10"), "{path}");
            }
            None => break,
        }
    }
    assert_eq!(pages, 2);
    assert_eq!(seen.len(), 13);
    let mut unique = seen.clone();
    unique.dedup();
    assert_eq!(unique.len(), 13, "no feature twice");
    let exact = get(&app, "/ogc/collections/permanent_farmland/items?limit=25", "gis").await;
    assert!(
        link(&exact.json, "next").is_none(),
        "a full last page has no next link"
    );
    assert!(exact.json["features"][0]["id"].is_i64());
    assert_eq!(exact.json["features"][0]["geometry"]["type"], "MultiPolygon");
    assert_eq!(exact.json["features"][0]["properties"]["source_id"], "F00000");
    let unknown = get(
        &app,
        "/ogc/collections/permanent_farmland/items?XZQDM=610902",
        "gis",
    )
    .await;
    assert_eq!(
        unknown.status, 400,
        "an attribute no feature has is an unknown parameter"
    );
    let empty = get(&app, "/ogc/collections/permanent_farmland/items?DLBM=9999", "gis").await;
    assert_eq!(empty.json["numberReturned"], 0, "{}", empty.text);
    let none = get(
        &app,
        "/ogc/collections/permanent_farmland/items?source_id=nothing",
        "gis",
    )
    .await;
    assert_eq!(none.status, 200, "{}", none.text);
    assert_eq!(
        (
            none.json["numberMatched"].as_i64(),
            none.json["numberReturned"].as_i64()
        ),
        (Some(0), Some(0))
    );
    assert_eq!(none.json["features"], json!([]));
}

#[sqlx::test(migrations = "../../migrations")]
async fn number_matched_is_exact_with_and_without_filters(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let version = layer(&pool, LayerKind::PermanentFarmland, 40).await;
    let count = |sql: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .bind(version)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    let cases = [
        ("", count("select count(*) from layer_features where version_id = $1").await),
        (
            "&bbox=108.9,32.6,108.9045,32.6025",
            count("select count(*) from layer_features where version_id = $1 and st_intersects(geom, st_makeenvelope(108.9, 32.6, 108.9045, 32.6025, 4490))").await,
        ),
        (
            "&DLBM=0103",
            count("select count(*) from layer_features where version_id = $1 and attributes->>'DLBM' = '0103'").await,
        ),
        (
            "&n=7",
            count("select count(*) from layer_features where version_id = $1 and attributes->>'n' = '7'").await,
        ),
    ];
    for (filter, expected) in cases {
        let page = get(
            &app,
            &format!("/ogc/collections/permanent_farmland/items?limit=3{filter}"),
            "gis",
        )
        .await;
        assert_eq!(page.status, 200, "{}", page.text);
        assert_eq!(page.json["numberMatched"].as_i64(), Some(expected), "{filter}");
        assert!(
            expected > 0 && expected < 40 || filter.is_empty(),
            "{filter} narrows"
        );
    }
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_limit_above_the_maximum_is_clamped_not_refused(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    layer(&pool, LayerKind::PermanentFarmland, 12).await;
    let page = get(
        &app,
        "/ogc/collections/permanent_farmland/items?limit=50000",
        "gis",
    )
    .await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert_eq!(page.json["numberReturned"], 12);

    sqlx::query("insert into settings (key, value) values ('ogc_features', '{\"max_limit\": 5}')")
        .execute(&pool)
        .await
        .unwrap();
    let page = get(
        &app,
        "/ogc/collections/permanent_farmland/items?limit=50000",
        "gis",
    )
    .await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert_eq!(page.json["numberReturned"], 5);
    let next = local(link(&page.json, "next").unwrap()["href"].as_str().unwrap());
    assert!(next.contains("limit=5"), "{next}");
    let unlimited = get(&app, "/ogc/collections/permanent_farmland/items", "gis").await;
    assert_eq!(
        unlimited.json["numberReturned"], 5,
        "the default never exceeds the maximum"
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn an_unknown_query_parameter_gets_400_as_problem_json(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    layer(&pool, LayerKind::PermanentFarmland, 3).await;
    for (path, parameter) in [
        ("/ogc/collections/permanent_farmland/items?offset=10", "offset"),
        ("/ogc/collections/permanent_farmland/items?sortby=n", "sortby"),
        ("/ogc/collections/parcels/items?owner=x", "owner"),
        ("/ogc/collections/check_overlaps/items?filter=x", "filter"),
        ("/ogc/collections?limit=1", "limit"),
        ("/ogc/collections/parcels?bbox=1,2,3,4", "bbox"),
        (
            "/ogc/collections/parcels/items/0190c2c8-0000-7000-8000-000000000000?limit=1",
            "limit",
        ),
        ("/ogc?foo=bar", "foo"),
        ("/ogc/conformance?foo=bar", "foo"),
    ] {
        let answer = get(&app, path, "gis").await;
        assert_problem_400(&answer, parameter);
    }
}

#[sqlx::test(migrations = "../../migrations")]
async fn invalid_values_get_400_as_problem_json(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    layer(&pool, LayerKind::PermanentFarmland, 3).await;
    let layer_items = "/ogc/collections/permanent_farmland/items";
    let parcel_items = "/ogc/collections/parcels/items";
    for (path, parameter) in [
        (format!("{layer_items}?limit=0"), "limit"),
        (format!("{layer_items}?limit=-5"), "limit"),
        (format!("{layer_items}?limit=ten"), "limit"),
        (format!("{layer_items}?limit=1&limit=2"), "limit"),
        (format!("{layer_items}?bbox=1,2,3"), "bbox"),
        (format!("{layer_items}?bbox=108,32,109,95"), "bbox"),
        (format!("{layer_items}?bbox=108,33,109,32"), "bbox"),
        (
            format!("{layer_items}?bbox-crs=EPSG:4524&bbox=3618000,36597000,3619000,36596000"),
            "bbox",
        ),
        (format!("{layer_items}?bbox=a,b,c,d"), "bbox"),
        (
            format!("{layer_items}?bbox-crs=EPSG:9999&bbox=1,2,3,4"),
            "bbox-crs",
        ),
        (format!("{layer_items}?crs=nonsense"), "crs"),
        (format!("{layer_items}?cursor=not-a-cursor"), "cursor"),
        (format!("{layer_items}?f=xml"), "f"),
        (format!("{layer_items}?datetime=2026-01-01"), "datetime"),
        (format!("{layer_items}?layer_version=zzz"), "layer_version"),
        (format!("{parcel_items}?datetime=yesterday"), "datetime"),
        (
            format!("{parcel_items}?datetime=2026-03-02/2026-03-01"),
            "datetime",
        ),
        (format!("{parcel_items}?case_id=12"), "case_id"),
        (format!("{parcel_items}?seq=first"), "seq"),
        (format!("{parcel_items}?cursor={}", "aTo1"), "cursor"),
        (
            "/ogc/collections/check_overlaps/items?dismissed=maybe".to_owned(),
            "dismissed",
        ),
        ("/ogc/collections?f=html".to_owned(), "f"),
    ] {
        let answer = get(&app, &path, "gis").await;
        assert_problem_400(&answer, parameter);
    }
}

#[sqlx::test(migrations = "../../migrations")]
async fn reading_in_epsg_4524_matches_proj_to_the_millimetre_northing_first(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    layer(&pool, LayerKind::PermanentFarmland, 3).await;
    let uri = "http://www.opengis.net/def/crs/EPSG/0/4524";
    let projected = get(
        &app,
        &format!("/ogc/collections/permanent_farmland/items?crs={uri}"),
        "gis",
    )
    .await;
    assert_eq!(projected.status, 200, "{}", projected.text);
    assert_eq!(projected.headers["content-crs"], format!("<{uri}>"));
    let lonlat = get(&app, "/ogc/collections/permanent_farmland/items", "gis").await;
    assert_eq!(
        lonlat.headers["content-crs"],
        "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>"
    );
    let to_gk = Transformer::new(Srid::CGCS2000, Srid::new(4524).unwrap()).unwrap();
    let mut compared = 0;
    for (f_ll, f_gk) in lonlat.json["features"]
        .as_array()
        .unwrap()
        .iter()
        .zip(projected.json["features"].as_array().unwrap())
    {
        assert_eq!(f_ll["id"], f_gk["id"]);
        let ring_ll = f_ll["geometry"]["coordinates"][0][0].as_array().unwrap();
        let ring_gk = f_gk["geometry"]["coordinates"][0][0].as_array().unwrap();
        for (p_ll, p_gk) in ring_ll.iter().zip(ring_gk) {
            let expected = to_gk
                .coord(coord! { x: p_ll[0].as_f64().unwrap(), y: p_ll[1].as_f64().unwrap() })
                .unwrap();
            let (north, east) = (p_gk[0].as_f64().unwrap(), p_gk[1].as_f64().unwrap());
            assert!(
                (north - expected.y).abs() < 0.001,
                "northing {north} vs {}",
                expected.y
            );
            assert!(
                (east - expected.x).abs() < 0.001,
                "easting {east} vs {}",
                expected.x
            );
            assert!(east > 36_000_000.0, "the easting carries the zone prefix");
            compared += 1;
        }
    }
    assert_eq!(compared, 15);
}

#[sqlx::test(migrations = "../../migrations")]
async fn each_crs_writes_coordinates_in_its_own_axis_order(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    layer(&pool, LayerKind::PermanentFarmland, 1).await;
    let first = |answer: &Answer| -> (f64, f64) {
        let p = &answer.json["features"][0]["geometry"]["coordinates"][0][0][0];
        (p[0].as_f64().unwrap(), p[1].as_f64().unwrap())
    };
    let items = "/ogc/collections/permanent_farmland/items";
    let crs84 = get(&app, items, "gis").await;
    assert_eq!(first(&crs84), (108.9, 32.6), "CRS84: longitude first");
    let cgcs = get(&app, &format!("{items}?crs=EPSG:4490"), "gis").await;
    assert_eq!(first(&cgcs), (32.6, 108.9), "EPSG:4490: latitude first");
    assert_eq!(
        cgcs.headers["content-crs"],
        "<http://www.opengis.net/def/crs/EPSG/0/4490>"
    );
    let web = get(&app, &format!("{items}?crs=EPSG:3857"), "gis").await;
    let (x, y) = first(&web);
    assert!(
        (x - 12_122_691.0).abs() < 10.0 && (y - 3_842_100.0).abs() < 1_000.0,
        "EPSG:3857: easting first, {x} {y}"
    );
    let plain = get(&app, &format!("{items}?crs=EPSG:4545"), "gis").await;
    let (north, east) = first(&plain);
    assert!(
        north > 3_000_000.0 && east < 1_000_000.0,
        "EPSG:4545: northing first, no zone prefix"
    );
    let single = get(
        &app,
        &format!("{items}/{}?crs=EPSG:4525", crs84.json["features"][0]["id"]),
        "gis",
    )
    .await;
    assert_eq!(single.status, 200, "{}", single.text);
    assert_eq!(
        single.headers["content-crs"],
        "<http://www.opengis.net/def/crs/EPSG/0/4525>"
    );
    let p = &single.json["geometry"]["coordinates"][0][0][0];
    assert!(
        p[1].as_f64().unwrap() > 37_000_000.0,
        "zone 37 easting second: {p}"
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn an_unsupported_crs_gets_400(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    layer(&pool, LayerKind::PermanentFarmland, 1).await;
    for crs in [
        "EPSG:2383",
        "EPSG:4530",
        "http://www.opengis.net/def/crs/EPSG/0/32649",
    ] {
        let answer = get(
            &app,
            &format!("/ogc/collections/permanent_farmland/items?crs={crs}"),
            "gis",
        )
        .await;
        assert_problem_400(&answer, "crs");
        assert!(
            answer.json["detail"].as_str().unwrap().contains("4524"),
            "{}",
            answer.text
        );
    }
}

#[sqlx::test(migrations = "../../migrations")]
async fn bbox_crs_selects_features_by_a_box_in_gauss_kruger_coordinates(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    layer(&pool, LayerKind::PermanentFarmland, 30).await;
    let to_gk = Transformer::new(Srid::CGCS2000, Srid::new(4524).unwrap()).unwrap();
    // Around the square at row 1, column 2 (108.902, 32.601), well inside it.
    let low = to_gk.coord(coord! { x: 108.9022, y: 32.6012 }).unwrap();
    let high = to_gk.coord(coord! { x: 108.9024, y: 32.6014 }).unwrap();
    let bbox = format!("{},{},{},{}", low.y, low.x, high.y, high.x);
    let page = get(
        &app,
        &format!("/ogc/collections/permanent_farmland/items?bbox-crs=EPSG:4524&bbox={bbox}"),
        "gis",
    )
    .await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert_eq!(page.json["numberMatched"], 1, "{}", page.text);
    assert_eq!(page.json["features"][0]["properties"]["source_id"], "F00012");
    let next_carries = get(
        &app,
        &format!("/ogc/collections/permanent_farmland/items?bbox-crs=EPSG:4524&bbox={bbox}&limit=1"),
        "gis",
    )
    .await;
    assert!(link(&next_carries.json, "next").is_none());
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_county_officer_sees_only_its_counties_parcels_and_overlaps(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let hanbin = case_in(&app, "officer", "610902").await;
    let hanyin = case_in(&app, "officer2", "610921").await;
    let mine = parcel(&pool, hanbin, 1, 109.0, 32.7, at(1)).await;
    parcel(&pool, hanbin, 2, 109.01, 32.7, at(2)).await;
    let theirs = parcel(&pool, hanyin, 1, 108.3, 32.9, at(3)).await;
    overlap(&pool, hanbin, 109.0, 32.7, at(4)).await;
    let their_hit = overlap(&pool, hanyin, 108.3, 32.9, at(5)).await;

    let own = get(&app, "/ogc/collections/parcels/items", "officer").await;
    assert_eq!(own.status, 200, "{}", own.text);
    assert_eq!(own.json["numberMatched"], 2);
    assert!(own.json["features"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["properties"]["county_code"] == "610902"));
    let all = get(&app, "/ogc/collections/parcels/items", "planner").await;
    assert_eq!(all.json["numberMatched"], 3);
    let gis = get(&app, "/ogc/collections/parcels/items", "gis").await;
    assert_eq!(gis.json["numberMatched"], 3);

    let other = get(
        &app,
        &format!("/ogc/collections/parcels/items/{theirs}"),
        "officer",
    )
    .await;
    assert_eq!(
        other.status, 404,
        "another county's parcel does not exist for this officer"
    );
    assert_eq!(
        get(&app, &format!("/ogc/collections/parcels/items/{mine}"), "officer")
            .await
            .status,
        200
    );
    let asked = get(
        &app,
        "/ogc/collections/parcels/items?county_code=610921",
        "officer",
    )
    .await;
    assert_eq!(asked.json["numberMatched"], 0, "a filter cannot widen the scope");
    let hits = get(&app, "/ogc/collections/check_overlaps/items", "officer2").await;
    assert_eq!(hits.json["numberMatched"], 1);
    assert_eq!(hits.json["features"][0]["id"], json!(their_hit));
    let extent = get(&app, "/ogc/collections/parcels", "officer").await;
    let bbox = extent.json["extent"]["spatial"]["bbox"][0]
        .as_array()
        .unwrap()
        .clone();
    assert!(
        bbox[0].as_f64().unwrap() >= 109.0,
        "the extent covers only what the officer sees: {bbox:?}"
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_gis_token_reads_features_over_http_basic_and_may_not_write(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    layer(&pool, LayerKind::PermanentFarmland, 2).await;
    let basic = format!("Basic {}", STANDARD.encode(format!("qgis:{}", app.tokens["gis"])));
    let answer = app
        .send(
            "GET",
            "/ogc/collections/permanent_farmland/items",
            "",
            None,
            &[("authorization", &basic)],
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json["numberReturned"], 2);
    let write = app
        .send(
            "POST",
            "/api/v1/projects",
            "gis",
            Some(json!({ "name": "x", "county_code": "610902", "level": "county", "category": "industry", "year": 2026 })),
            &[],
        )
        .await;
    assert_eq!(write.status, 403, "{}", write.text);
    let post = app
        .send(
            "POST",
            "/ogc/collections/parcels/items",
            "gis",
            Some(json!({})),
            &[],
        )
        .await;
    assert_eq!(post.status, 405);
    assert_eq!(post.headers["content-type"], "application/problem+json");
}

#[sqlx::test(migrations = "../../migrations")]
async fn without_a_token_data_is_401_with_a_basic_challenge_and_the_capabilities_are_open(pool: PgPool) {
    let app = TestApp::new(pool).await;
    for path in [
        "/ogc/collections",
        "/ogc/collections/parcels",
        "/ogc/collections/parcels/items",
        "/ogc/collections/parcels/schema",
    ] {
        let answer = get(&app, path, "").await;
        assert_eq!(answer.status, 401, "{path}");
        assert_eq!(answer.headers["content-type"], "application/problem+json");
        assert!(answer.headers["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("Basic"));
    }
    let wrong = app
        .send(
            "GET",
            "/ogc/collections",
            "",
            None,
            &[("authorization", "Basic cWdpczpsdV9ub3BlCg==")],
        )
        .await;
    assert_eq!(wrong.status, 401);
    for path in ["/ogc", "/ogc/conformance", "/ogc/api", "/ogc/api.html"] {
        assert_eq!(get(&app, path, "").await.status, 200, "{path}");
    }
}

#[sqlx::test(migrations = "../../migrations")]
async fn one_feature_is_geojson_with_links_and_a_missing_one_is_404(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    layer(&pool, LayerKind::PermanentFarmland, 2).await;
    let page = get(&app, "/ogc/collections/permanent_farmland/items", "gis").await;
    let id = page.json["features"][1]["id"].as_i64().unwrap();
    let one = get(
        &app,
        &format!("/ogc/collections/permanent_farmland/items/{id}"),
        "gis",
    )
    .await;
    assert_eq!(one.status, 200, "{}", one.text);
    assert_eq!(one.headers["content-type"], "application/geo+json");
    assert_eq!(one.json["type"], "Feature");
    assert_eq!(one.json["id"], id);
    assert_eq!(one.json["properties"]["source_id"], "F00001");
    assert!(
        local(link(&one.json, "self").unwrap()["href"].as_str().unwrap()).ends_with(&format!("/items/{id}"))
    );
    assert!(link(&one.json, "collection").is_some());
    for missing in ["999999", "abc", "-1"] {
        let answer = get(
            &app,
            &format!("/ogc/collections/permanent_farmland/items/{missing}"),
            "gis",
        )
        .await;
        assert_eq!(answer.status, 404, "{missing}");
        assert_eq!(answer.headers["content-type"], "application/problem+json");
    }
    assert_eq!(
        get(&app, "/ogc/collections/nothing/items", "gis").await.status,
        404
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn datetime_selects_parcels_by_upload_time_and_overlaps_by_run_time(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let case = case_in(&app, "officer", "610902").await;
    for day in 1..=5 {
        parcel(
            &pool,
            case,
            i32::try_from(day).unwrap(),
            109.0 + f64::from(day) * 0.01,
            32.7,
            at(day),
        )
        .await;
    }
    overlap(&pool, case, 109.0, 32.7, at(3)).await;
    overlap(&pool, case, 109.0, 32.7, at(9)).await;
    let matched = |answer: &Answer| answer.json["numberMatched"].as_i64().unwrap();
    for (datetime, expected) in [
        ("2026-03-02", 1),
        ("2026-03-02T02:00:00Z", 1),
        ("2026-03-02T10:00:00%2B08:00", 1),
        ("2026-03-02/2026-03-04", 3),
        ("2026-03-04/..", 2),
        ("../2026-03-01T23:00:00Z", 1),
        ("2026-04-01/..", 0),
    ] {
        let answer = get(
            &app,
            &format!("/ogc/collections/parcels/items?datetime={datetime}"),
            "planner",
        )
        .await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        assert_eq!(matched(&answer), expected, "{datetime}");
    }
    let hits = get(
        &app,
        "/ogc/collections/check_overlaps/items?datetime=2026-03-05/..",
        "planner",
    )
    .await;
    assert_eq!(matched(&hits), 1);
    let meta = get(&app, "/ogc/collections/parcels", "planner").await;
    let interval = &meta.json["extent"]["temporal"]["interval"][0];
    assert_eq!(
        DateTime::parse_from_rfc3339(interval[0].as_str().unwrap()).unwrap(),
        at(1)
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_cases_parcels_download_as_geojson_with_the_coordinate_file_as_alternate(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let case = case_in(&app, "officer", "610902").await;
    let other = case_in(&app, "officer", "610902").await;
    parcel(&pool, case, 1, 109.0, 32.7, at(1)).await;
    parcel(&pool, case, 2, 109.01, 32.7, at(1)).await;
    parcel(&pool, other, 1, 109.02, 32.7, at(1)).await;
    let download = get(
        &app,
        &format!("/ogc/collections/parcels/items?case_id={case}&crs=EPSG:4524"),
        "officer",
    )
    .await;
    assert_eq!(download.status, 200, "{}", download.text);
    assert_eq!(download.json["numberMatched"], 2);
    let features = download.json["features"].as_array().unwrap();
    assert!(features.iter().all(|f| f["properties"]["case_id"] == json!(case)));
    let area = features[0]["properties"]["area_m2"].as_f64().unwrap();
    let mu = features[0]["properties"]["area_mu"].as_f64().unwrap();
    assert!((mu - (area * 15.0 / 10_000.0 * 100.0).round() / 100.0).abs() < 0.006);
    let txt = download.json["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["type"] == "text/plain")
        .unwrap();
    assert_eq!(txt["rel"], "alternate");
    assert!(txt["href"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/api/v1/cases/{case}/parcels?format=txt")));
    let (status, bytes) = raw_get(&app, &local(txt["href"].as_str().unwrap()), "gis").await;
    assert_eq!(status, 200, "the gis role downloads the coordinate file");
    let read = landuse_spatial::coordfile::read(&bytes);
    assert!(read.as_ref().is_ok_and(|r| r.parcels.len() == 2), "{read:?}");
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_10000_feature_page_is_written_as_it_is_read_in_many_chunks(pool: PgPool) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let app = TestApp::new(pool.clone()).await;
    layer(&pool, LayerKind::PermanentFarmland, 10_000).await;
    let request = axum::http::Request::get("/ogc/collections/permanent_farmland/items?limit=10000")
        .header("authorization", format!("Bearer {}", app.tokens["gis"]))
        .body(axum::body::Body::empty())
        .unwrap();
    let response = app.router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    let (mut chunks, mut largest, mut bytes) = (0usize, 0usize, Vec::new());
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.unwrap().into_data() {
            if !data.is_empty() {
                chunks += 1;
                largest = largest.max(data.len());
                bytes.extend_from_slice(&data);
            }
        }
    }
    let doc: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(doc["numberReturned"], 10_000);
    assert_eq!(doc["features"].as_array().unwrap().len(), 10_000);
    assert!(chunks > 50, "{chunks} chunks for {} bytes", bytes.len());
    assert!(largest < 64 * 1024, "no chunk near the page's size: {largest}");
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_deep_page_reads_only_its_own_rows(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    layer(&pool, LayerKind::PermanentFarmland, 5_000).await;
    // What autovacuum does within a minute of a bulk import: without statistics PostgreSQL
    // guesses a version holds a few dozen rows and sorts the whole version for every page.
    sqlx::query("analyze layer_features")
        .execute(&pool)
        .await
        .unwrap();
    let mut conn = pool.acquire().await.unwrap();
    let collection = landuse_api::ogc::catalog::find(&mut conn, "permanent_farmland")
        .await
        .unwrap();
    let ids: Vec<i64> = sqlx::query_scalar("select id from layer_features order by id")
        .fetch_all(&pool)
        .await
        .unwrap();
    for (after, limit) in [(None, 100_i32), (Some(FeatureKey::Int(ids[4_000])), 100)] {
        let plan = landuse_api::ogc::items::explain_page(&mut conn, &collection, after, i64::from(limit))
            .await
            .unwrap();
        let mut read = 0.0;
        let mut nodes = vec![&plan];
        while let Some(node) = nodes.pop() {
            if node["Relation Name"] == "layer_features" {
                read += node["Actual Rows"].as_f64().unwrap()
                    + node["Rows Removed by Filter"].as_f64().unwrap_or(0.0);
            }
            if let Some(children) = node["Plans"].as_array() {
                nodes.extend(children);
            }
        }
        assert!(
            read <= f64::from(limit + 3),
            "after {after:?} the page read {read} rows: {plan}"
        );
    }
    drop(app);
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_bbox_across_the_antimeridian_selects_both_sides(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let square = |lon: f64, lat: f64, id: &str| json!({ "type": "Feature", "properties": { "name": id }, "geometry": common::square(lon, lat, 0.1) });
    let features = json!({ "type": "FeatureCollection", "features": [
        square(179.7, 0.0, "east of the antimeridian"),
        square(-179.9, -0.5, "west of it"),
        square(108.9, 32.6, "安康"),
        square(170.0, 0.0, "too far east"),
    ]});
    import_reader(
        &pool,
        LayerKind::MineralDeposit,
        CountyCode::parse("610900").unwrap(),
        "pacific.geojson",
        std::io::Cursor::new(features.to_string().into_bytes()),
        &ImportOptions::default(),
    )
    .await
    .unwrap();
    let names = |page: &Answer| {
        let mut names: Vec<String> = page.json["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["properties"]["name"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    };
    let items = "/ogc/collections/mineral_deposit/items";
    let across = get(&app, &format!("{items}?bbox=179.5,-1,-179.5,1"), "gis").await;
    assert_eq!(across.status, 200, "{}", across.text);
    assert_eq!(names(&across), ["east of the antimeridian", "west of it"]);
    assert_eq!(across.json["numberMatched"], 2);
    // The same box as EPSG:4490 (latitude first) and one that only reaches the west side.
    let latlon = get(
        &app,
        &format!("{items}?bbox-crs=EPSG:4490&bbox=-1,179.5,1,-179.5"),
        "gis",
    )
    .await;
    assert_eq!(names(&latlon), names(&across));
    let west = get(&app, &format!("{items}?bbox=179.95,-1,-179.85,-0.1"), "gis").await;
    assert_eq!(names(&west), ["west of it"]);
}

/// Every [lon, lat] pair of a GeoJSON geometry's coordinates.
fn positions(geometry: &Value) -> Vec<[f64; 2]> {
    fn walk(v: &Value, out: &mut Vec<[f64; 2]>) {
        match v.as_array() {
            Some(a) if a.len() == 2 && a[0].is_number() => {
                out.push([a[0].as_f64().unwrap(), a[1].as_f64().unwrap()]);
            }
            Some(a) => a.iter().for_each(|x| walk(x, out)),
            None => {}
        }
    }
    let mut out = Vec::new();
    walk(&geometry["coordinates"], &mut out);
    out
}

fn feature(doc: &Value, id: Uuid) -> &Value {
    doc["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == json!(id))
        .unwrap_or_else(|| panic!("{id} is not a feature: {doc}"))
}

#[sqlx::test(migrations = "../../migrations")]
async fn the_land_supply_collections_map_the_reports_figures_and_an_officer_sees_only_their_county(
    pool: PgPool,
) {
    use crate::supply::{approval_width, approved_case, import_part, strip};
    let app = TestApp::new(pool.clone()).await;
    // 汉滨区: 100 mu approved 2023-06-01; 30 mu supplied to start 2024-02-29 (idle from
    // 2025-03-01) and 20 mu handed over late (a government-caused delay). 汉阴县: 100 mu approved
    // 2021-03-01, nothing supplied.
    let hanbin = approved_case(&app, "610902", "2023-06-01", &[strip(0.0, 1.0)]).await;
    let hanyin = approved_case(&app, "610921", "2021-03-01", &[strip(2.0, 3.0)]).await;
    let leap = import_part(&pool, hanbin, &strip(0.0, 0.3), "2024-02-29", None).await;
    let late = import_part(
        &pool,
        hanbin,
        &strip(0.3, 0.5),
        "2024-02-29",
        Some("update supply_parts set handed_over_on = date '2024-04-30' where id = $1"),
    )
    .await;
    let on = "as_of=2025-03-01";

    let unsupplied = get(
        &app,
        &format!("/ogc/collections/approved_unsupplied/items?{on}"),
        "gis",
    )
    .await;
    assert_eq!(unsupplied.status, 200, "{}", unsupplied.text);
    assert_eq!(unsupplied.json["numberMatched"], 2, "{}", unsupplied.text);
    let report = get(&app, &format!("/api/v1/reports/land-supply?{on}"), "reviewer").await;
    assert_eq!(report.status, 200, "{}", report.text);
    for line in report.json["batches"].as_array().unwrap() {
        let id: Uuid = serde_json::from_value(line["batch"].clone()).unwrap();
        let props = &feature(&unsupplied.json, id)["properties"];
        for field in [
            "approved_mu",
            "supplied_mu",
            "unsupplied_mu",
            "age",
            "document_number",
            "approved_on",
        ] {
            assert_eq!(
                props[field], line[field],
                "{field} of {id} differs from the report"
            );
        }
    }
    let own = &feature(&unsupplied.json, hanbin)["properties"];
    assert_eq!(own["unsupplied_mu"], 50.0, "{own}");
    assert_eq!(own["age"], "one_to_two_years");
    let m2 = own["unsupplied_m2"].as_f64().unwrap();
    assert!((m2 - 50.0 * 2000.0 / 3.0).abs() < 1.0, "{m2} m² is 50 mu");
    // The geometry is the approval minus the supplied half: it starts where the parts end.
    let west = positions(&feature(&unsupplied.json, hanbin)["geometry"])
        .iter()
        .map(|p| p[0])
        .fold(f64::INFINITY, f64::min);
    let edge = 109.0 + 0.5 * approval_width();
    assert!(
        (west - edge).abs() < 1e-7,
        "the remainder starts at {west}, not {edge}"
    );
    assert_eq!(
        feature(&unsupplied.json, hanyin)["properties"]["age"],
        "two_to_five_years"
    );

    let idle = get(&app, &format!("/ogc/collections/idle_land/items?{on}"), "gis").await;
    assert_eq!(idle.status, 200, "{}", idle.text);
    assert_eq!(idle.json["numberMatched"], 2, "{}", idle.text);
    let idle_report = get(&app, &format!("/api/v1/reports/idle-land?{on}"), "reviewer").await;
    for line in idle_report.json["lands"].as_array().unwrap() {
        let id: Uuid = serde_json::from_value(line["supply"].clone()).unwrap();
        let props = &feature(&idle.json, id)["properties"];
        for field in [
            "status",
            "area_mu",
            "agreed_start_on",
            "idle_from",
            "fee_wan_yuan",
            "government_delay_days",
        ] {
            assert_eq!(
                props[field], line[field],
                "{field} of {id} differs from the report"
            );
        }
    }
    let leap_props = &feature(&idle.json, leap)["properties"];
    assert_eq!(leap_props["status"], "idle");
    assert_eq!(leap_props["idle_since"], "2025-03-01");
    assert_eq!(leap_props["fee_wan_yuan"], 240.0);
    assert!(
        leap_props["fee_note"].as_str().unwrap().contains("20%"),
        "{leap_props}"
    );
    assert_eq!(leap_props["government_caused"], false);
    let late_props = &feature(&idle.json, late)["properties"];
    assert_eq!(late_props["status"], "government_caused");
    assert_eq!(late_props["government_caused"], true);
    assert_eq!(
        late_props["government_delay_days"], 62,
        "agreed for 2024-02-28, handed over 2024-04-30"
    );
    let only_idle = get(
        &app,
        &format!("/ogc/collections/idle_land/items?{on}&status=idle"),
        "gis",
    )
    .await;
    assert_eq!(ids(&only_idle.json), vec![json!(leap)]);
    // The day before, the leap-day part is only due soon.
    let before = get(&app, "/ogc/collections/idle_land/items?as_of=2025-02-28", "gis").await;
    assert_eq!(feature(&before.json, leap)["properties"]["status"], "due_soon");
    // In EPSG:4490 the latitude comes first.
    let lat_first = get(
        &app,
        &format!("/ogc/collections/idle_land/items?{on}&crs=http://www.opengis.net/def/crs/EPSG/0/4490"),
        "gis",
    )
    .await;
    assert_eq!(
        lat_first.headers["content-crs"],
        "<http://www.opengis.net/def/crs/EPSG/0/4490>"
    );
    let first = positions(&feature(&lat_first.json, leap)["geometry"])[0];
    assert!(
        (32.69..32.71).contains(&first[0]) && first[1] > 108.9,
        "{first:?}"
    );
    // A bbox around 汉阴县's approval only.
    let x0 = 109.0 + 2.0 * approval_width();
    let boxed = get(
        &app,
        &format!(
            "/ogc/collections/approved_unsupplied/items?{on}&bbox={x0},32.69,{},32.71",
            x0 + 0.0001
        ),
        "gis",
    )
    .await;
    assert_eq!(ids(&boxed.json), vec![json!(hanyin)]);

    // The officer of 汉滨区 sees only 汉滨区's land, whatever the filter asks.
    let officer = get(
        &app,
        &format!("/ogc/collections/approved_unsupplied/items?{on}"),
        "officer",
    )
    .await;
    assert_eq!(ids(&officer.json), vec![json!(hanbin)]);
    let widened = get(
        &app,
        &format!("/ogc/collections/approved_unsupplied/items?{on}&county_code=610921"),
        "officer",
    )
    .await;
    assert_eq!(
        widened.json["numberMatched"], 0,
        "a filter cannot widen the scope"
    );
    let officer2 = get(
        &app,
        &format!("/ogc/collections/idle_land/items?{on}"),
        "officer2",
    )
    .await;
    assert_eq!(officer2.json["numberMatched"], 0, "{}", officer2.text);
    assert_eq!(
        get(
            &app,
            &format!("/ogc/collections/approved_unsupplied/items/{hanyin}"),
            "officer"
        )
        .await
        .status,
        404
    );
    let extent = get(&app, "/ogc/collections/approved_unsupplied", "officer").await;
    let bbox = extent.json["extent"]["spatial"]["bbox"][0]
        .as_array()
        .unwrap()
        .clone();
    assert!(
        bbox[2].as_f64().unwrap() < x0,
        "the extent covers only 汉滨区: {bbox:?}"
    );
    assert!(link(
        &extent.json,
        "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector"
    )
    .is_none());

    // The API document describes each collection's own filters and as_of.
    let api = get(&app, "/ogc/api", "").await;
    for (path, own) in [
        ("/collections/approved_unsupplied/items", "age"),
        ("/collections/idle_land/items", "status"),
    ] {
        let names: Vec<&str> = api.json["paths"][path]["get"]["parameters"]
            .as_array()
            .unwrap_or_else(|| panic!("{path} is not described"))
            .iter()
            .filter_map(|p| p["name"].as_str())
            .collect();
        assert!(
            names.contains(&own) && names.contains(&"as_of"),
            "{path}: {names:?}"
        );
    }

    // Before the approvals there is nothing; a misspelt age or date is a 400.
    let early = get(
        &app,
        "/ogc/collections/approved_unsupplied/items?as_of=2021-01-01",
        "gis",
    )
    .await;
    assert_eq!(early.json["numberMatched"], 0);
    assert_problem_400(
        &get(&app, "/ogc/collections/approved_unsupplied/items?age=old", "gis").await,
        "age",
    );
    assert_problem_400(
        &get(&app, "/ogc/collections/idle_land/items?as_of=2025-13-01", "gis").await,
        "as_of",
    );
    assert_problem_400(
        &get(
            &app,
            "/ogc/collections/idle_land/items?age=over_five_years",
            "gis",
        )
        .await,
        "age",
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_parcel_carries_the_approvals_its_case_awaits_until_they_are_recorded(pool: PgPool) {
    use crate::approvals::{approval, case_in_pre_review, checked, hits_of, record, LAT, LON};
    let app = TestApp::new(pool.clone()).await;
    common::import_every_layer_far_away(&pool).await;
    // The Qinling key zone over the parcel calls for a review opinion.
    common::import_layer(
        &pool,
        "qinling_key",
        vec![(
            common::square(LON + 0.0002, LAT + 0.0002, 0.0004),
            json!({ "name": "秦岭重点" }),
        )],
    )
    .await;
    let (case, _) = case_in_pre_review(&app, false, json!({}), LON).await;
    let items = format!("/ogc/collections/parcels/items?case_id={case}");
    let before = get(&app, &items, "gis").await;
    assert_eq!(before.status, 200, "{}", before.text);
    assert_eq!(
        before.json["features"][0]["properties"]["approvals_awaited"], "",
        "no confirmed check, nothing awaited: {}",
        before.text
    );

    let (check, etag) = checked(&app, &case).await;
    let awaiting = get(&app, &items, "gis").await;
    let feature = &awaiting.json["features"][0];
    assert_eq!(
        feature["properties"]["approvals_awaited"], "review_opinion",
        "{}",
        awaiting.text
    );
    assert_eq!(
        feature["properties"]["case_id"],
        case.as_str(),
        "the other properties stay"
    );
    let one = get(
        &app,
        &format!(
            "/ogc/collections/parcels/items/{}",
            feature["id"].as_str().unwrap()
        ),
        "gis",
    )
    .await;
    assert_eq!(
        one.json["properties"]["approvals_awaited"], "review_opinion",
        "{}",
        one.text
    );
    let schema = get(&app, "/ogc/collections/parcels/schema", "gis").await;
    assert_eq!(
        schema.json["properties"]["properties"]["properties"]["approvals_awaited"]["type"], "string",
        "{}",
        schema.text
    );

    let hits = hits_of(&check, "qinling_key");
    let recorded = record(&app, "reviewer", &case, &etag, approval("review_opinion", &hits)).await;
    assert_eq!(recorded.status, 201, "{}", recorded.text);
    let answered = get(&app, &items, "gis").await;
    assert_eq!(
        answered.json["features"][0]["properties"]["approvals_awaited"], "",
        "{}",
        answered.text
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_parcel_awaits_an_overlay_query_until_a_favourable_answer_is_valid(pool: PgPool) {
    use crate::overlay::{answer, answer_body, last_query, mineral_case, view};
    let app = TestApp::new(pool.clone()).await;
    app.clock.set(
        chrono::FixedOffset::east_opt(8 * 3600)
            .unwrap()
            .with_ymd_and_hms(2026, 3, 2, 10, 0, 0)
            .unwrap()
            .with_timezone(&Utc),
    );
    let (case, _, etag) = mineral_case(&app, &pool).await;
    let items = format!("/ogc/collections/parcels/items?case_id={case}");
    let awaiting = get(&app, &items, "gis").await;
    assert_eq!(awaiting.status, 200, "{}", awaiting.text);
    assert_eq!(
        awaiting.json["features"][0]["properties"]["approvals_awaited"], "overlay_query",
        "{}",
        awaiting.text
    );

    let query = last_query(&view(&app, &case).await.json);
    let answered = answer(
        &app,
        &case,
        &query,
        &etag,
        answer_body("2026-03-02", "no_overlay"),
    )
    .await;
    assert_eq!(answered.status, 201, "{}", answered.text);
    let valid = get(&app, &items, "gis").await;
    assert_eq!(
        valid.json["features"][0]["properties"]["approvals_awaited"], "",
        "{}",
        valid.text
    );
    // Six months and a day later the answer has lapsed: the parcel awaits a query again.
    app.clock.set(
        chrono::FixedOffset::east_opt(8 * 3600)
            .unwrap()
            .with_ymd_and_hms(2026, 9, 3, 10, 0, 0)
            .unwrap()
            .with_timezone(&Utc),
    );
    let lapsed = get(&app, &items, "gis").await;
    assert_eq!(
        lapsed.json["features"][0]["properties"]["approvals_awaited"], "overlay_query",
        "{}",
        lapsed.text
    );
}
