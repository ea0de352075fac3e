//! OGC API – Tiles: the documents, real tiles decoded by an independent reader (`PyPI`'s
//! mapbox-vector-tile, in the virtual environment of `scripts/tiles-venv.sh`), the county scope
//! of parcel and overlap tiles, HTTP (204, ETag and 304, gzip, 400/404 problems), the statement
//! timeout, tiles drawn ahead, and QGIS 3.22 and GDAL's MVT driver reading the real binary.
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    io::Read,
    path::PathBuf,
    process::Command,
    sync::{Arc, OnceLock},
};

use chrono::Utc;
use landuse_spatial::tile::{TileId, BUFFER, EXTENT};
use serde_json::{json, Value};
use sqlx::{
    postgres::{PgConnectOptions, PgPoolOptions},
    PgPool,
};
use uuid::Uuid;

use crate::common::{self, case_in, square, url_of, TestApp, TestServer};

const FARMLAND: &str = "permanent_farmland";

/// The z14 tile of the squares: column 13148, row 6621 (column and row differ, so a z/x/y
/// mix-up asks for another tile).
fn squares_tile() -> TileId {
    TileId::new(14, 13148, 6621).unwrap()
}

/// The south-west corners of 16 squares of 0.0015° (about 140 m), 4 by 4, 0.003° apart, all
/// inside [`squares_tile`].
fn square_corners() -> Vec<(f64, f64)> {
    (0..16)
        .map(|i| {
            (
                108.900 + f64::from(i % 4) * 0.003,
                32.586 + f64::from(i / 4) * 0.003,
            )
        })
        .collect()
}

const SIDE: f64 = 0.0015;

/// The centre and radius of a 1,200-vertex circle, which the import cuts into pieces.
const CIRCLE: (f64, f64, f64) = (108.95, 32.62, 0.006);

fn circle() -> Value {
    let (cx, cy, r) = CIRCLE;
    let mut ring: Vec<[f64; 2]> = (0..1200)
        .map(|i| {
            let a = f64::from(i) / 1200.0 * std::f64::consts::TAU;
            [cx + r * a.cos(), cy + r * a.sin()]
        })
        .collect();
    ring.push(ring[0]);
    json!({ "type": "Polygon", "coordinates": [ring] })
}

/// Imports the squares (S00..S15) and the circle (C) as the city's farmland.
async fn import_farmland(pool: &PgPool) {
    let mut features: Vec<(Value, Value)> = square_corners()
        .into_iter()
        .enumerate()
        .map(|(i, (lon, lat))| (square(lon, lat, SIDE), json!({ "BSM": format!("S{i:02}") })))
        .collect();
    features.push((circle(), json!({ "BSM": "C" })));
    let collection = json!({
        "type": "FeatureCollection",
        "features": features.into_iter().map(|(geometry, properties)| json!({
            "type": "Feature", "id": properties["BSM"].clone(), "properties": properties, "geometry": geometry
        })).collect::<Vec<_>>()
    });
    landuse_spatial::store::import_reader(
        pool,
        landuse_domain::check::LayerKind::parse(FARMLAND).unwrap(),
        landuse_domain::county::CountyCode::parse("610900").unwrap(),
        "farmland.geojson",
        std::io::Cursor::new(serde_json::to_vec(&collection).unwrap()),
        &landuse_spatial::store::ImportOptions::default(),
    )
    .await
    .unwrap();
}

/// Stored feature ids by source id.
async fn feature_ids(pool: &PgPool) -> HashMap<String, i64> {
    let rows: Vec<(String, i64)> = sqlx::query_as("select source_id, id from layer_features")
        .fetch_all(pool)
        .await
        .unwrap();
    rows.into_iter().collect()
}

fn tile_path(collection: &str, tile: TileId) -> String {
    format!(
        "/ogc/collections/{collection}/tiles/WebMercatorQuad/{}/{}/{}",
        tile.z(),
        tile.y(),
        tile.x()
    )
}

/// A response with its body as bytes.
struct Fetched {
    status: u16,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Fetched {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", |v| v.to_str().unwrap())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

async fn fetch(app: &TestApp, path: &str, who: &str, headers: &[(&str, &str)]) -> Fetched {
    fetch_from(
        &app.router,
        app.tokens.get(who).map(String::as_str),
        path,
        headers,
    )
    .await
}

async fn fetch_from(
    router: &axum::Router,
    token: Option<&str>,
    path: &str,
    headers: &[(&str, &str)],
) -> Fetched {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let mut request = axum::http::Request::get(path);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = router
        .clone()
        .oneshot(request.body(axum::body::Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes().to_vec();
    Fetched {
        status,
        headers,
        body,
    }
}

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The python of the decoder's virtual environment, made once per test run.
fn decoder_python() -> &'static str {
    static PYTHON: OnceLock<String> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let output = Command::new(repository().join("scripts/tiles-venv.sh"))
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "scripts/tiles-venv.sh failed (it installs mapbox-vector-tile from PyPI):\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap().trim().to_owned()
    })
}

/// Decodes a tile (gzip-compressed or not) with mapbox-vector-tile: layers by name, each with
/// `extent` and `features` (`id`, `properties`, `geometry` on the tile grid, y down).
fn decode(tile: &[u8]) -> Value {
    let file = std::env::temp_dir().join(format!("landuse-tile-{}.mvt", Uuid::new_v4()));
    std::fs::write(&file, tile).unwrap();
    let output = Command::new(decoder_python())
        .arg(repository().join("scripts/tiles/decode.py"))
        .arg(&file)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&file);
    assert!(
        output.status.success(),
        "decoding failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Every coordinate pair of a GeoJSON geometry.
fn positions(geometry: &Value) -> Vec<(f64, f64)> {
    fn walk(value: &Value, out: &mut Vec<(f64, f64)>) {
        match value.as_array() {
            Some(items) if items.len() == 2 && items.iter().all(Value::is_number) => {
                out.push((items[0].as_f64().unwrap(), items[1].as_f64().unwrap()));
            }
            Some(items) => items.iter().for_each(|v| walk(v, out)),
            None => {}
        }
    }
    let mut out = Vec::new();
    walk(&geometry["coordinates"], &mut out);
    out
}

fn features<'a>(decoded: &'a Value, layer: &str) -> &'a [Value] {
    decoded[layer]["features"].as_array().map_or(&[], Vec::as_slice)
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).unwrap();
    out
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_layer_tile_has_fills_and_outlines_named_for_the_kind_with_stored_ids_and_coordinates_in_the_buffer(
    pool: PgPool,
) {
    let app = TestApp::new(pool.clone()).await;
    import_farmland(&pool).await;
    let ids = feature_ids(&pool).await;
    let tile = squares_tile();
    let answer = fetch(&app, &tile_path(FARMLAND, tile), "gis", &[]).await;
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    assert_eq!(
        answer.header("content-type"),
        "application/vnd.mapbox-vector-tile"
    );
    assert_eq!(
        answer.header("content-encoding"),
        "",
        "not compressed unless asked"
    );
    let decoded = decode(&answer.body);
    let names: BTreeSet<&str> = decoded.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(names, BTreeSet::from([FARMLAND, "permanent_farmland_outline"]));

    let fills = features(&decoded, FARMLAND);
    assert_eq!(fills.len(), 16, "the 16 squares, not the circle of another tile");
    for fill in fills {
        let source = fill["properties"]["source_id"].as_str().unwrap();
        assert_eq!(
            fill["id"].as_i64(),
            Some(ids[source]),
            "{source}: the stored feature id"
        );
        assert_eq!(fill["properties"]["kind"], FARMLAND);
        assert_eq!(fill["properties"]["name"], "永久基本农田");
        assert_eq!(fill["properties"]["jurisdiction"], "610900");
        assert_eq!(fill["properties"]["version"], 1);
        let i: usize = source[1..].parse().unwrap();
        let (lon, lat) = square_corners()[i];
        for (corner_lon, corner_lat) in [(lon, lat), (lon + SIDE, lat + SIDE)] {
            let (gx, gy) = tile.grid_position(corner_lon, corner_lat);
            let nearest = positions(&fill["geometry"])
                .iter()
                .map(|(x, y)| (x - gx).hypot(y - gy))
                .fold(f64::INFINITY, f64::min);
            assert!(
                nearest <= 1.0,
                "{source}: a vertex within a grid unit of ({gx}, {gy}), {nearest} off"
            );
        }
    }
    let outlines = features(&decoded, "permanent_farmland_outline");
    let outline_ids: BTreeSet<i64> = outlines.iter().map(|f| f["id"].as_i64().unwrap()).collect();
    let fill_ids: BTreeSet<i64> = fills.iter().map(|f| f["id"].as_i64().unwrap()).collect();
    assert_eq!(outline_ids, fill_ids, "one outline per fill");
    assert!(outlines
        .iter()
        .all(|f| f["geometry"]["type"].as_str().unwrap().contains("LineString")));
    assert!(outlines
        .iter()
        .all(|f| f["properties"].as_object().unwrap().is_empty()));
    let (low, high) = (-f64::from(BUFFER), f64::from(EXTENT + BUFFER));
    for feature in fills.iter().chain(outlines) {
        for (x, y) in positions(&feature["geometry"]) {
            assert!(
                (low..=high).contains(&x) && (low..=high).contains(&y),
                "({x}, {y}) beyond the buffer"
            );
        }
    }
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_large_feature_is_filled_from_its_pieces_once_per_id_and_outlined_only_where_its_boundary_is(
    pool: PgPool,
) {
    let app = TestApp::new(pool.clone()).await;
    import_farmland(&pool).await;
    let circle_id = feature_ids(&pool).await["C"];
    let pieces: i64 = sqlx::query_scalar("select count(*) from layer_pieces where feature_id = $1")
        .bind(circle_id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(pieces > 4, "the import cut the circle into {pieces} pieces");
    let (cx, cy, r) = CIRCLE;

    // Deep inside: the fill covers the tile, no boundary is near.
    let inside = TileId::containing(cx, cy, 16);
    let decoded = decode(&fetch(&app, &tile_path(FARMLAND, inside), "gis", &[]).await.body);
    let fills = features(&decoded, FARMLAND);
    assert_eq!(fills.len(), 1, "the pieces drawn as one feature: {fills:?}");
    assert_eq!(fills[0]["id"].as_i64(), Some(circle_id));
    assert_eq!(fills[0]["properties"]["source_id"], "C");
    assert!(
        features(&decoded, "permanent_farmland_outline").is_empty(),
        "no seam is outlined"
    );

    // On the edge: the outline follows the circle, drawn from the whole feature.
    let edge = TileId::containing(cx + r, cy, 16);
    let decoded = decode(&fetch(&app, &tile_path(FARMLAND, edge), "gis", &[]).await.body);
    let outlines = features(&decoded, "permanent_farmland_outline");
    assert_eq!(outlines.len(), 1);
    assert_eq!(outlines[0]["id"].as_i64(), Some(circle_id));
    let (ex, ey) = edge.grid_position(cx + r, cy);
    let nearest = positions(&outlines[0]["geometry"])
        .iter()
        .map(|(x, y)| (x - ex).hypot(y - ey))
        .fold(f64::INFINITY, f64::min);
    assert!(
        nearest < 20.0,
        "the outline passes the circle's east point, {nearest} units off"
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_kind_with_versions_for_two_jurisdictions_is_drawn_into_one_tile_kept_once(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    import_farmland(&pool).await;
    // 汉滨区's own farmland version, one square in the same tile.
    import_hanbin_square(&pool, 108.913, 32.586).await;
    let path = tile_path(FARMLAND, squares_tile());
    let first = fetch(&app, &path, "gis", &[]).await;
    let fills = features(&decode(&first.body), FARMLAND).to_vec();
    assert_eq!(fills.len(), 17);
    let jurisdictions: BTreeSet<&str> = fills
        .iter()
        .map(|f| f["properties"]["jurisdiction"].as_str().unwrap())
        .collect();
    assert_eq!(jurisdictions, BTreeSet::from(["610900", "610902"]));
    let second = fetch(&app, &path, "officer", &[]).await;
    assert_eq!(second.body, first.body);
    let kept: Vec<Vec<Uuid>> = sqlx::query_scalar("select versions from layer_tiles")
        .fetch_all(&pool)
        .await
        .unwrap();
    let mut versions: Vec<Uuid> = sqlx::query_scalar("select id from layer_versions")
        .fetch_all(&pool)
        .await
        .unwrap();
    versions.sort_unstable();
    assert_eq!(
        kept,
        vec![versions],
        "kept once, under both versions in Rust's order"
    );
}

/// Imports one square at (lon, lat) as 汉滨区's (610902) own farmland version; returns its id.
async fn import_hanbin_square(pool: &PgPool, lon: f64, lat: f64) -> Uuid {
    let report = landuse_spatial::store::import_reader(
        pool,
        landuse_domain::check::LayerKind::parse(FARMLAND).unwrap(),
        landuse_domain::county::CountyCode::parse("610902").unwrap(),
        "hanbin.geojson",
        std::io::Cursor::new(
            serde_json::to_vec(&json!({ "type": "FeatureCollection", "features": [{
                "type": "Feature", "id": "H1", "properties": {},
                "geometry": square(lon, lat, SIDE)
            }]}))
            .unwrap(),
        ),
        &landuse_spatial::store::ImportOptions::default(),
    )
    .await
    .unwrap();
    report.version_id.unwrap()
}

async fn kept_sets(pool: &PgPool) -> BTreeSet<Vec<Uuid>> {
    sqlx::query_scalar("select distinct versions from layer_tiles")
        .fetch_all(pool)
        .await
        .unwrap()
        .into_iter()
        .collect()
}

fn sorted(mut versions: Vec<Uuid>) -> Vec<Uuid> {
    versions.sort_unstable();
    versions
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_superseded_set_of_versions_loses_its_kept_tiles_and_a_single_version_keeps_them(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    import_farmland(&pool).await;
    let city: Uuid = sqlx::query_scalar("select id from layer_versions")
        .fetch_one(&pool)
        .await
        .unwrap();
    let first = import_hanbin_square(&pool, 108.913, 32.586).await;
    let path = tile_path(FARMLAND, squares_tile());
    assert_eq!(
        features(&decode(&fetch(&app, &path, "gis", &[]).await.body), FARMLAND).len(),
        17
    );
    let by_version = tile_path(&first.to_string(), squares_tile());
    assert_eq!(fetch(&app, &by_version, "gis", &[]).await.status, 200);
    assert_eq!(
        kept_sets(&pool).await,
        BTreeSet::from([sorted(vec![city, first]), vec![first]])
    );

    // 汉滨区 re-imports: the kind's current set is now {city, second}.
    let second = import_hanbin_square(&pool, 108.9045, 32.5905).await;
    let pool2 = landuse_api::db::pool_of((*pool.connect_options()).clone(), 2, None);
    let report = landuse_api::ogc::tiles::source::seed(&pool2, &[FARMLAND.to_owned()], 0)
        .await
        .unwrap();
    assert_eq!((report.drawn, report.failed), (1, 0));
    assert_eq!(
        kept_sets(&pool).await,
        BTreeSet::from([sorted(vec![city, second]), vec![first]]),
        "the superseded pair is gone; the first 汉滨区 version still serves its own collection"
    );
    let fills = features(&decode(&fetch(&app, &path, "gis", &[]).await.body), FARMLAND).to_vec();
    let sources: BTreeSet<&str> = fills
        .iter()
        .map(|f| f["properties"]["source_id"].as_str().unwrap())
        .collect();
    assert_eq!(fills.len(), 17, "16 squares and the new 汉滨区 square");
    assert!(sources.contains("H1"));
    let old = fetch(&app, &by_version, "gis", &[]).await;
    let old_fills = features(&decode(&old.body), FARMLAND).to_vec();
    assert_eq!(old_fills.len(), 1);
    assert_eq!(old_fills[0]["properties"]["version"], 1);
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_geohazard_site_is_a_point_in_the_fill_layer_without_an_outline(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let (lon, lat) = (108.905, 32.59);
    common::import_layer(
        &pool,
        "geohazard",
        vec![(
            json!({ "type": "Point", "coordinates": [lon, lat] }),
            json!({ "name": "滑坡" }),
        )],
    )
    .await;
    let tile = squares_tile();
    let decoded = decode(&fetch(&app, &tile_path("geohazard", tile), "gis", &[]).await.body);
    let sites = features(&decoded, "geohazard");
    assert_eq!(sites.len(), 1);
    assert_eq!(sites[0]["geometry"]["type"], "Point");
    let (gx, gy) = tile.grid_position(lon, lat);
    let (x, y) = positions(&sites[0]["geometry"])[0];
    assert!(
        (x - gx).abs() <= 1.0 && (y - gy).abs() <= 1.0,
        "({x}, {y}) against ({gx}, {gy})"
    );
    assert!(features(&decoded, "geohazard_outline").is_empty(), "{decoded}");
}

#[sqlx::test(migrations = "../../migrations")]
async fn the_path_is_z_y_x_so_a_swapped_row_and_column_is_another_tile_and_empty_tiles_are_204(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    import_farmland(&pool).await;
    let tile = squares_tile();
    let swapped = format!(
        "/ogc/collections/{FARMLAND}/tiles/WebMercatorQuad/{}/{}/{}",
        tile.z(),
        tile.x(),
        tile.y()
    );
    let answer = fetch(&app, &swapped, "gis", &[]).await;
    assert_eq!(
        answer.status,
        204,
        "row {} column {} is far away and empty",
        tile.x(),
        tile.y()
    );
    assert!(answer.body.is_empty());
    let kept: i64 = sqlx::query_scalar("select count(*) from layer_tiles where tile = ''")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(kept, 1, "the empty tile is kept too");
    assert_eq!(fetch(&app, &swapped, "officer", &[]).await.status, 204);
    assert_eq!(
        fetch(&app, &tile_path("parcels", tile), "planner", &[])
            .await
            .status,
        204
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_layer_tile_is_kept_once_and_served_with_a_strong_etag_304_and_gzip_when_asked(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    import_farmland(&pool).await;
    let path = tile_path(FARMLAND, squares_tile());
    let plain = fetch(&app, &path, "gis", &[]).await;
    let packed = fetch(&app, &path, "officer", &[("accept-encoding", "gzip, br")]).await;
    assert_eq!(packed.status, 200);
    assert_eq!(packed.header("content-encoding"), "gzip");
    assert!(packed.header("vary").contains("Accept-Encoding"));
    assert_eq!(gunzip(&packed.body), plain.body, "the same tile, compressed");
    assert!(packed.body.len() < plain.body.len());
    let (plain_tag, packed_tag) = (plain.header("etag").to_owned(), packed.header("etag").to_owned());
    assert!(
        plain_tag.starts_with('"') && packed_tag.starts_with('"'),
        "strong: {plain_tag} {packed_tag}"
    );
    assert_ne!(plain_tag, packed_tag, "each representation has its own tag");
    let kept: i64 = sqlx::query_scalar("select count(*) from layer_tiles")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(kept, 1, "drawn once, kept, then read");

    let again = fetch(&app, &path, "gis", &[("if-none-match", &plain_tag)]).await;
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    assert_eq!(again.header("etag"), plain_tag);
    let again = fetch(
        &app,
        &path,
        "gis",
        &[("if-none-match", &packed_tag), ("accept-encoding", "gzip")],
    )
    .await;
    assert_eq!(again.status, 304);
    let other = fetch(&app, &path, "gis", &[("if-none-match", "\"something-else\"")]).await;
    assert_eq!(other.status, 200);
    assert_eq!(other.body, plain.body);
    assert_eq!(plain.header("cache-control"), "private, no-cache");

    let version: Uuid = sqlx::query_scalar("select id from layer_versions")
        .fetch_one(&pool)
        .await
        .unwrap();
    let by_version = fetch(&app, &tile_path(&version.to_string(), squares_tile()), "gis", &[]).await;
    assert_eq!(
        by_version.body, plain.body,
        "one version's collection shares the kept tile"
    );
    assert!(by_version.header("cache-control").contains("immutable"));
}

/// Stores a square parcel of 0.001° at (lon, lat) for `case`; returns its id.
async fn parcel(pool: &PgPool, case: Uuid, lon: f64, lat: f64) -> Uuid {
    let id = Uuid::now_v7();
    sqlx::query(
        "insert into parcels (id, case_id, seq, name, geom, area_m2, source)
         select $1, $2, 1, '地块1', g, st_area(g::geography), 'geojson'
           from (select st_multi(st_makeenvelope($3, $4, $3 + 0.001, $4 + 0.001, 4490)) as g) s",
    )
    .bind(id)
    .bind(case)
    .bind(lon)
    .bind(lat)
    .execute(pool)
    .await
    .unwrap();
    id
}

/// Stores a check of `case` with one overlap square of 0.0005° at (lon, lat); returns the
/// overlap's id.
async fn overlap(pool: &PgPool, case: Uuid, lon: f64, lat: f64) -> Uuid {
    let check = Uuid::now_v7();
    sqlx::query(
        "insert into checks (id, case_id, run_at, result, report) values ($1, $2, $3, 'prohibited', '{}')",
    )
    .bind(check)
    .bind(case)
    .bind(Utc::now())
    .execute(pool)
    .await
    .unwrap();
    let hit = Uuid::now_v7();
    sqlx::query(
        "insert into check_hits (id, check_id, layer_kind, hit_index, overlap_m2, geom)
         values ($1, $2, 'permanent_farmland', 0, 2000, st_multi(st_makeenvelope($3, $4, $3 + 0.0005, $4 + 0.0005, 4490)))",
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

/// The UUIDs a decoded layer names in `property`.
fn named(decoded: &Value, layer: &str, property: &str) -> BTreeSet<String> {
    features(decoded, layer)
        .iter()
        .map(|f| f["properties"][property].as_str().unwrap().to_owned())
        .collect()
}

#[sqlx::test(migrations = "../../migrations")]
async fn an_officer_reading_a_tile_a_city_wide_user_read_first_gets_no_other_countys_parcel_or_overlap(
    pool: PgPool,
) {
    let app = TestApp::new(pool.clone()).await;
    let hanbin = case_in(&app, "officer", "610902").await;
    let hanyin = case_in(&app, "officer2", "610921").await;
    let ours = parcel(&pool, hanbin, 108.901, 32.587).await;
    let theirs = parcel(&pool, hanyin, 108.905, 32.590).await;
    let our_hit = overlap(&pool, hanbin, 108.9012, 32.5872).await;
    let their_hit = overlap(&pool, hanyin, 108.9052, 32.5902).await;
    let tile = squares_tile();

    // The city-wide planner reads (and would warm any cache) first.
    let city = fetch(
        &app,
        &tile_path("parcels", tile),
        "planner",
        &[("accept-encoding", "gzip")],
    )
    .await;
    assert_eq!(city.status, 200);
    let decoded = decode(&city.body);
    assert_eq!(
        named(&decoded, "parcels", "parcel_id"),
        BTreeSet::from([ours.to_string(), theirs.to_string()])
    );
    let city_hits = fetch(&app, &tile_path("check_overlaps", tile), "planner", &[]).await;
    assert_eq!(
        named(&decode(&city_hits.body), "check_overlaps", "hit_id"),
        BTreeSet::from([our_hit.to_string(), their_hit.to_string()])
    );

    for _ in 0..2 {
        let officer = fetch(
            &app,
            &tile_path("parcels", tile),
            "officer",
            &[("accept-encoding", "gzip")],
        )
        .await;
        assert_eq!(officer.status, 200);
        assert_ne!(
            officer.header("etag"),
            city.header("etag"),
            "another tile, another tag"
        );
        let decoded = decode(&officer.body);
        assert_eq!(
            named(&decoded, "parcels", "parcel_id"),
            BTreeSet::from([ours.to_string()])
        );
        let parcel = &features(&decoded, "parcels")[0];
        assert_eq!(parcel["properties"]["county_code"], "610902");
        assert_eq!(parcel["properties"]["case_id"], hanbin.to_string());
        let last_bits = i64::from_str_radix(&ours.simple().to_string()[19..], 16).unwrap();
        assert_eq!(
            parcel["id"].as_i64(),
            Some(last_bits),
            "the id is the UUID's last 52 bits"
        );
        let hits = fetch(&app, &tile_path("check_overlaps", tile), "officer", &[]).await;
        assert_eq!(
            named(&decode(&hits.body), "check_overlaps", "hit_id"),
            BTreeSet::from([our_hit.to_string()])
        );
    }
    let other = fetch(&app, &tile_path("parcels", tile), "officer2", &[]).await;
    assert_eq!(
        named(&decode(&other.body), "parcels", "parcel_id"),
        BTreeSet::from([theirs.to_string()])
    );
    let kept: i64 = sqlx::query_scalar("select count(*) from layer_tiles")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(kept, 0, "parcel and overlap tiles are never kept");
}

#[sqlx::test(migrations = "../../migrations")]
async fn every_property_in_a_tile_is_one_its_tilejson_declares(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    import_farmland(&pool).await;
    let case = case_in(&app, "officer", "610902").await;
    parcel(&pool, case, 108.901, 32.587).await;
    overlap(&pool, case, 108.9012, 32.5872).await;
    for collection in [FARMLAND, "parcels", "check_overlaps"] {
        let tilejson = fetch(
            &app,
            &format!("/ogc/collections/{collection}/tiles/WebMercatorQuad?f=tilejson"),
            "planner",
            &[],
        )
        .await;
        assert_eq!(tilejson.status, 200);
        let declared: BTreeMap<String, BTreeSet<String>> = tilejson.json()["vector_layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                let fields = l["fields"].as_object().unwrap().keys().cloned().collect();
                (l["id"].as_str().unwrap().to_owned(), fields)
            })
            .collect();
        let decoded = decode(
            &fetch(&app, &tile_path(collection, squares_tile()), "planner", &[])
                .await
                .body,
        );
        let found: BTreeMap<String, BTreeSet<String>> = decoded
            .as_object()
            .unwrap()
            .iter()
            .map(|(name, layer)| {
                let keys = layer["features"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .flat_map(|f| f["properties"].as_object().unwrap().keys().cloned())
                    .collect();
                (name.clone(), keys)
            })
            .collect();
        assert_eq!(found, declared, "{collection}");
    }
}

#[sqlx::test(migrations = "../../migrations")]
async fn the_tile_documents_describe_webmercatorquad_the_tilesets_and_tilejson(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    import_farmland(&pool).await;
    let conformance = fetch(&app, "/ogc/conformance", "", &[]).await.json();
    for class in ["core", "tileset", "tilesets-list", "geodata-tilesets", "mvt"] {
        let uri = format!("http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/{class}");
        assert!(
            conformance["conformsTo"]
                .as_array()
                .unwrap()
                .contains(&json!(uri)),
            "{uri}"
        );
    }
    let rel = |doc: &Value, rel: &str| -> String {
        doc["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["rel"] == rel)
            .unwrap_or_else(|| panic!("no {rel} link in {doc}"))["href"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let landing = fetch(&app, "/ogc", "", &[]).await.json();
    assert_eq!(
        rel(&landing, "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes"),
        "http://localhost/ogc/tileMatrixSets"
    );
    // Each collection links its tilesets (how GDAL and the OGC test suite find them), except the
    // land-supply ones, computed per request, which have none.
    let collections = fetch(&app, "/ogc/collections", "gis", &[]).await.json();
    for collection in collections["collections"].as_array().unwrap() {
        let id = collection["id"].as_str().unwrap();
        if id == "approved_unsupplied" || id == "idle_land" {
            let links = collection["links"].as_array().unwrap();
            assert!(
                links
                    .iter()
                    .all(|l| !l["rel"].as_str().unwrap().contains("tilesets")),
                "{collection}"
            );
            let tiles = fetch(&app, &format!("/ogc/collections/{id}/tiles"), "gis", &[]).await;
            assert_eq!(tiles.status, 404, "{id} has no tiles");
            continue;
        }
        let href = rel(
            collection,
            "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector",
        );
        assert_eq!(href, format!("http://localhost/ogc/collections/{id}/tiles"));
        let path = href.strip_prefix("http://localhost").unwrap();
        let listed = fetch(&app, path, "gis", &[]).await;
        assert_eq!(listed.status, 200, "{path}");
        assert_eq!(listed.json()["tilesets"][0]["dataType"], "vector", "{path}");
    }

    let sets = fetch(&app, "/ogc/tileMatrixSets", "", &[]).await;
    assert_eq!(sets.status, 200, "open, like the landing page");
    assert_eq!(sets.json()["tileMatrixSets"][0]["id"], "WebMercatorQuad");
    let quad = fetch(&app, "/ogc/tileMatrixSets/WebMercatorQuad", "", &[])
        .await
        .json();
    assert_eq!(quad["crs"], "http://www.opengis.net/def/crs/EPSG/0/3857");
    let matrices = quad["tileMatrices"].as_array().unwrap();
    assert_eq!(matrices.len(), 25);
    assert_eq!(matrices[14]["matrixWidth"], 16384);
    assert!((matrices[0]["scaleDenominator"].as_f64().unwrap() - 559_082_264.028_717).abs() < 1e-3);
    assert_eq!(matrices[0]["cornerOfOrigin"], "topLeft");

    let base = "http://localhost/ogc/collections/permanent_farmland/tiles";
    let list = fetch(&app, "/ogc/collections/permanent_farmland/tiles", "gis", &[])
        .await
        .json();
    let tileset = &list["tilesets"][0];
    assert_eq!(tileset["dataType"], "vector");
    assert_eq!(
        tileset["tileMatrixSetURI"],
        "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
    );
    let metadata = fetch(
        &app,
        "/ogc/collections/permanent_farmland/tiles/WebMercatorQuad",
        "gis",
        &[],
    )
    .await
    .json();
    let item = metadata["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "item")
        .unwrap();
    assert_eq!(
        item["href"],
        format!("{base}/WebMercatorQuad/{{tileMatrix}}/{{tileRow}}/{{tileCol}}")
    );
    assert_eq!(item["templated"], true);
    assert_eq!(item["type"], "application/vnd.mapbox-vector-tile");
    let layers: Vec<&str> = metadata["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    assert_eq!(layers, [FARMLAND, "permanent_farmland_outline"]);
    assert_eq!(
        metadata["layers"][0]["propertiesSchema"]["properties"]["version"]["type"],
        "number"
    );
    let bbox = &metadata["boundingBox"];
    assert!(
        bbox["lowerLeft"][0].as_f64().unwrap() < 108.9001 && bbox["upperRight"][1].as_f64().unwrap() > 32.62
    );

    let tilejson = fetch(
        &app,
        "/ogc/collections/permanent_farmland/tiles/WebMercatorQuad?f=tilejson",
        "gis",
        &[],
    )
    .await
    .json();
    assert_eq!(tilejson["tilejson"], "3.0.0");
    assert_eq!(
        tilejson["tiles"][0],
        format!("{base}/WebMercatorQuad/{{z}}/{{y}}/{{x}}")
    );
    assert_eq!(tilejson["vector_layers"][0]["fields"]["source_id"], "String");
    assert_eq!(tilejson["bounds"].as_array().unwrap().len(), 4);

    assert_eq!(
        fetch(&app, "/ogc/collections/permanent_farmland/tiles", "", &[])
            .await
            .status,
        401
    );
    assert_eq!(
        fetch(&app, &tile_path(FARMLAND, squares_tile()), "", &[])
            .await
            .status,
        401
    );
}

fn assert_problem(answer: &Fetched, status: u16, parameter: Option<&str>) {
    assert_eq!(answer.status, status, "{}", String::from_utf8_lossy(&answer.body));
    assert_eq!(answer.header("content-type"), "application/problem+json");
    if let Some(parameter) = parameter {
        assert_eq!(
            answer.json()["parameter"],
            parameter,
            "{}",
            String::from_utf8_lossy(&answer.body)
        );
    }
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_tile_address_outside_the_matrix_set_is_400_and_an_unknown_set_or_collection_404(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    import_farmland(&pool).await;
    let base = "/ogc/collections/permanent_farmland/tiles";
    for (path, parameter) in [
        (format!("{base}/WebMercatorQuad/25/0/0"), "tileMatrix"),
        (format!("{base}/WebMercatorQuad/x/0/0"), "tileMatrix"),
        (format!("{base}/WebMercatorQuad/07/0/0"), "tileMatrix"),
        (format!("{base}/WebMercatorQuad/3/8/0"), "tileRow"),
        (format!("{base}/WebMercatorQuad/3/0/8"), "tileCol"),
        (format!("{base}/WebMercatorQuad/3/-1/0"), "tileRow"),
        (format!("{base}/WebMercatorQuad/3/0/1.5"), "tileCol"),
        (format!("{base}/WebMercatorQuad/3/0/0?bbox=1,2,3,4"), "bbox"),
        (format!("{base}/WebMercatorQuad/3/0/0?f=png"), "f"),
        (format!("{base}/WebMercatorQuad?f=xml"), "f"),
    ] {
        assert_problem(&fetch(&app, &path, "gis", &[]).await, 400, Some(parameter));
    }
    for path in [
        format!("{base}/WorldCRS84Quad/3/0/0"),
        format!("{base}/WorldCRS84Quad"),
        "/ogc/tileMatrixSets/WorldCRS84Quad".to_owned(),
        "/ogc/collections/no_such_layer/tiles/WebMercatorQuad/3/0/0".to_owned(),
        "/ogc/collections/no_such_layer/tiles".to_owned(),
    ] {
        assert_problem(&fetch(&app, &path, "gis", &[]).await, 404, None);
    }
}

#[sqlx::test(migrations = "../../migrations")]
async fn drawing_a_tile_is_bounded_by_the_statement_timeout(
    _pool_options: PgPoolOptions,
    options: PgConnectOptions,
) {
    let url = url_of(&options);
    let pool = PgPool::connect_with(options).await.unwrap();
    let mut conn = pool.acquire().await.unwrap();
    landuse_api::admin::seed(&mut conn).await.unwrap();
    landuse_api::admin::add_user(&mut conn, "qgis-desktop", "gis", &[])
        .await
        .unwrap();
    let token = landuse_api::admin::issue_token(&mut conn, "qgis-desktop", "test", None)
        .await
        .unwrap();
    // A million vertices in one matrix-10 tile: 5,000 polygons of 201 vertices.
    let version = Uuid::now_v7();
    sqlx::query(
        "insert into layer_versions (id, kind, jurisdiction, version_no, is_current, source_name, feature_count)
         values ($1, 'permanent_farmland', '610900', 1, true, 'heavy.geojson', 5000)",
    )
    .bind(version)
    .execute(&mut *conn)
    .await
    .unwrap();
    sqlx::query(
        "insert into layer_features (version_id, ordinal, source_id, geom)
         select $1, g, 'H' || g,
                st_multi(st_buffer(st_setsrid(st_point(108.8 + (g % 100) * 0.002, 32.5 + (g / 100) * 0.002), 4490), 0.0009, 50))
           from generate_series(0, 4999) g",
    )
    .bind(version)
    .execute(&mut *conn)
    .await
    .unwrap();
    sqlx::query("analyze layer_features")
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);

    let mut config = common::test_config(&url);
    config.database.statement_timeout_ms = 100;
    let state = landuse_api::app::AppState::new(
        landuse_api::db::lazy_pool(&config.database).unwrap(),
        Arc::new(config),
        landuse_api::clock::Clock::system(),
    );
    let router = landuse_api::app::app(state);
    let tile = TileId::containing(108.9, 32.55, 10);
    let answer = fetch_from(&router, Some(&token), &tile_path(FARMLAND, tile), &[]).await;
    assert_problem(&answer, 503, None);
    assert_eq!(
        answer.json()["type"].as_str().unwrap().rsplit('/').next(),
        Some("unavailable")
    );
    let kept: i64 = sqlx::query_scalar("select count(*) from layer_tiles")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(kept, 0, "nothing half-drawn is kept");
}

#[sqlx::test(migrations = "../../migrations")]
async fn tiles_drawn_ahead_are_those_a_map_then_reads(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    import_farmland(&pool).await;
    let version: Uuid = sqlx::query_scalar("select id from layer_versions")
        .fetch_one(&pool)
        .await
        .unwrap();
    let owner = landuse_api::db::pool_of((*pool.connect_options()).clone(), 2, None);
    let ids = [FARMLAND.to_owned(), version.to_string()];
    let report = landuse_api::ogc::tiles::source::seed(&owner, &ids, 14)
        .await
        .unwrap();
    let extent: Vec<f64> = sqlx::query_scalar("select extent from layer_versions")
        .fetch_one(&pool)
        .await
        .unwrap();
    let expected: usize = (0..=14)
        .map(|z| landuse_spatial::tile::tiles_covering(extent.clone().try_into().unwrap(), z).count())
        .sum();
    assert_eq!(report.tiles, 2 * expected, "both collections' tiles looked at");
    assert_eq!(
        report.drawn, expected,
        "the version's own collection shares the kind's tiles"
    );
    assert_eq!(report.failed, 0);
    let kept: i64 = sqlx::query_scalar("select count(*) from layer_tiles")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(usize::try_from(kept).unwrap(), expected);
    let answer = fetch(&app, &tile_path(FARMLAND, squares_tile()), "gis", &[]).await;
    assert_eq!(features(&decode(&answer.body), FARMLAND).len(), 16);
    let after: i64 = sqlx::query_scalar("select count(*) from layer_tiles")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(after, kept, "served from what was drawn ahead");
}

/// The layer statement of `crate::store::tiles`, as the binary holds it.
fn layer_statement() -> String {
    std::fs::read_to_string(repository().join("crates/api/src/store/sql/tiles_layer.sql")).unwrap()
}

#[sqlx::test(migrations = "../../migrations")]
async fn the_tile_box_is_transformed_to_the_layers_crs_so_the_spatial_index_chooses_the_rows(pool: PgPool) {
    // 5,000 squares of 0.001° on a 100 × 50 grid, one version: a matrix-14 tile covers about
    // 120 of them, so a plan that reads every row (a transformed geometry column) loses to the
    // GiST index by far.
    let version = Uuid::now_v7();
    sqlx::query(
        "insert into layer_versions (id, kind, jurisdiction, version_no, is_current, source_name, feature_count)
         values ($1, 'permanent_farmland', '610900', 1, true, 'grid.geojson', 5000)",
    )
    .bind(version)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "insert into layer_features (version_id, ordinal, source_id, geom)
         select $1, g, 'G' || g,
                st_multi(st_makeenvelope(108.8 + (g % 100) * 0.002, 32.5 + (g / 100) * 0.002,
                                         108.801 + (g % 100) * 0.002, 32.501 + (g / 100) * 0.002, 4490))
           from generate_series(0, 4999) g",
    )
    .bind(version)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("analyze layer_features")
        .execute(&pool)
        .await
        .unwrap();
    let tile = TileId::containing(108.9, 32.55, 14);
    let plan: Vec<String> = sqlx::query_scalar(&format!("explain {}", layer_statement()))
        .bind(i32::from(tile.z()))
        .bind(i32::try_from(tile.x()).unwrap())
        .bind(i32::try_from(tile.y()).unwrap())
        .bind(f64::from(BUFFER) / f64::from(EXTENT))
        .bind(vec![version])
        .bind(tile.half_unit_degrees())
        .bind(FARMLAND)
        .bind("permanent_farmland_outline")
        .bind(256_i32)
        .bind(i32::try_from(EXTENT).unwrap())
        .bind(i32::try_from(BUFFER).unwrap())
        .fetch_all(&pool)
        .await
        .unwrap();
    let plan = plan.join("\n");
    assert!(
        plan.contains("using layer_features_geom on layer_features"),
        "the features are not chosen by their spatial index:\n{plan}"
    );
    assert!(
        !plan.contains("Seq Scan on layer_features"),
        "every feature is read:\n{plan}"
    );
}

fn qgis_available() -> bool {
    Command::new("/usr/bin/python3")
        .args(["-c", "import qgis.core"])
        .env("QT_QPA_PLATFORM", "offscreen")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[sqlx::test(migrations = "../../migrations")]
async fn qgis_and_gdal_read_the_tiles_of_the_real_binary(
    _pool_options: PgPoolOptions,
    options: PgConnectOptions,
) {
    if !qgis_available() {
        eprintln!(
            "skipped: PyQGIS is missing (make test installs python3-qgis through scripts/install-deps.sh)"
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
    let token = landuse_api::admin::issue_token(&mut conn, "qgis-desktop", "qgis test", None)
        .await
        .unwrap();
    drop(conn);
    import_farmland(&pool).await;
    let ids = feature_ids(&pool).await;
    let server = TestServer::spawn(&url, &[]);
    let template = format!(
        "{}/ogc/collections/{FARMLAND}/tiles/WebMercatorQuad/{{z}}/{{y}}/{{x}}",
        server.base
    );
    let (lon, lat) = square_corners()[5];
    let inside = format!("{},{}", lon + SIDE / 2.0, lat + SIDE / 2.0);
    let gap = format!("{},{}", lon + SIDE + 0.00075, lat + SIDE / 2.0);
    let tile = squares_tile();
    // GDAL's MVT driver takes a URL ending in a number for a z/x/y folder of tiles: `?f=mvt`
    // makes it one tile, placed by the X, Y and Z open options.
    let tile_url = format!("{}{}?f=mvt", server.base, tile_path(FARMLAND, tile));
    let repo = repository();
    let (qgis, gdal) = tokio::task::spawn_blocking(move || {
        let qgis = Command::new("/usr/bin/python3")
            .arg(repo.join("scripts/tiles/qgis_render.py"))
            .args([&template, &token, FARMLAND, "permanent_farmland_outline"])
            .arg("108.899,32.585,108.912,32.597")
            .args([&inside, &gap])
            .output()
            .unwrap();
        let gdal = Command::new("ogr2ogr")
            .args(["--config", "GDAL_HTTP_USERPWD", &format!("gdal:{token}")])
            .args([
                "-f",
                "GeoJSON",
                "/vsistdout/",
                &format!("MVT:/vsicurl/{tile_url}"),
            ])
            .args([
                "-oo",
                &format!("Z={}", tile.z()),
                "-oo",
                &format!("X={}", tile.x()),
            ])
            .args(["-oo", &format!("Y={}", tile.y()), "-t_srs", "EPSG:4326", FARMLAND])
            .output()
            .unwrap();
        (qgis, gdal)
    })
    .await
    .unwrap();
    server.terminate();

    let stdout = String::from_utf8_lossy(&qgis.stdout);
    assert!(
        qgis.status.success(),
        "QGIS failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&qgis.stderr)
    );
    let drawn: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(drawn["valid"], true, "{drawn}");
    assert_eq!(drawn["errors"], json!([]), "{drawn}");
    assert_eq!(
        drawn["probes"][0]["rgba"],
        json!([255, 0, 0, 255]),
        "QGIS filled the square: {drawn}"
    );
    assert_eq!(
        drawn["probes"][1]["rgba"][3], 0,
        "and nothing between squares: {drawn}"
    );

    let text = String::from_utf8_lossy(&gdal.stdout);
    assert!(
        gdal.status.success(),
        "ogr2ogr failed:\n{text}\n{}",
        String::from_utf8_lossy(&gdal.stderr)
    );
    let read: Value = serde_json::from_str(&text).unwrap();
    let features = read["features"].as_array().unwrap();
    assert_eq!(features.len(), 16, "{text:.500}");
    for feature in features {
        let source = feature["properties"]["source_id"].as_str().unwrap();
        assert_eq!(
            feature["properties"]["mvt_id"]
                .as_i64()
                .or(feature["id"].as_i64()),
            Some(ids[source])
        );
        let i: usize = source[1..].parse().unwrap();
        let (lon, lat) = square_corners()[i];
        let near = positions(&feature["geometry"])
            .iter()
            .any(|(x, y)| (x - lon).abs() < 1e-5 && (y - lat).abs() < 1e-5);
        assert!(
            near,
            "{source}: GDAL places a vertex at its south-west corner ({lon}, {lat})"
        );
    }
}
