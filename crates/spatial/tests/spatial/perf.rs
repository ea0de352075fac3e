//! Import a 100,000-polygon layer streamed from a generated GeoJSON document, then check parcels
//! against it, and print the figures (see `docs/performance.md`). Ignored by default:
//! run with `cargo test -p landuse-spatial --release --test perf -- --ignored --nocapture`.
#![allow(clippy::unwrap_used)]

use std::fmt::Write;
use std::io::Read;
use std::time::Instant;

use geo_types::{LineString, MultiPolygon, Polygon};
use landuse_domain::check::{CaseContext, LayerKind, VerdictRules};
use landuse_domain::county::CountyCode;
use landuse_spatial::store::{check_footprint, import_reader, ImportOptions};
use sqlx::PgPool;

const COLUMNS: usize = 400;
const ROWS: usize = 250;
const CELL: f64 = 0.004;
const VERTICES: usize = 40;

/// A `FeatureCollection` of COLUMNS × ROWS wobbly 40-gons on a 0.004° grid west of Ankang,
/// written as it is read (about 190 MB in all), so the only copy in memory is the reader's.
struct Generated {
    next: usize,
    buf: Vec<u8>,
    pos: usize,
    done: bool,
    bytes: usize,
}

impl Generated {
    fn new() -> Self {
        Generated {
            next: 0,
            buf: br#"{"type":"FeatureCollection","name":"YJJBNTTB","features":["#.to_vec(),
            pos: 0,
            done: false,
            bytes: 0,
        }
    }

    fn feature(i: usize) -> String {
        let (col, row) = (i % COLUMNS, i / COLUMNS);
        let cx = 108.2 + (col as f64 + 0.5) * CELL;
        let cy = 32.2 + (row as f64 + 0.5) * CELL;
        let mut coords = String::new();
        for k in 0..=VERTICES {
            let t = (k % VERTICES) as f64 * std::f64::consts::TAU / VERTICES as f64;
            let r = CELL * (0.40 + 0.04 * (3.0 * t + i as f64).sin());
            if k > 0 {
                coords.push(',');
            }
            let _ = write!(coords, "[{:.9},{:.9}]", cx + r * t.cos(), cy + r * t.sin());
        }
        let sep = if i == 0 { "" } else { "," };
        format!(
            r#"{sep}{{"type":"Feature","id":{i},"properties":{{"BSM":"{i:08}","DLBM":"0101","TBMJ":1234.5,"ZLDWMC":"某村"}},"geometry":{{"type":"Polygon","coordinates":[[{coords}]]}}}}"#
        )
    }
}

impl Read for Generated {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.pos == self.buf.len() {
            self.pos = 0;
            if self.next < COLUMNS * ROWS {
                self.buf = Self::feature(self.next).into_bytes();
                self.next += 1;
            } else if !self.done {
                self.buf = b"]}".to_vec();
                self.done = true;
            } else {
                return Ok(0);
            }
        }
        let k = out.len().min(self.buf.len() - self.pos);
        out[..k].copy_from_slice(&self.buf[self.pos..self.pos + k]);
        self.pos += k;
        self.bytes += k;
        Ok(k)
    }
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse::<f64>().ok()))
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> MultiPolygon {
    MultiPolygon(vec![Polygon::new(
        LineString::from(vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]),
        vec![],
    )])
}

#[sqlx::test(migrations = "../../migrations")]
#[ignore = "takes minutes: a 100,000-polygon import"]
async fn a_100000_polygon_layer_imports_and_checks_on_two_cores(pool: PgPool) {
    let document_mb = (0..COLUMNS * ROWS)
        .map(|i| Generated::feature(i).len())
        .sum::<usize>() as f64
        / 1e6;
    let rss_before = peak_rss_mb();
    let started = Instant::now();
    let report = import_reader(
        &pool,
        LayerKind::PermanentFarmland,
        CountyCode::parse("610900").unwrap(),
        "generated-100k.geojson",
        Generated::new(),
        &ImportOptions::default(),
    )
    .await
    .unwrap();
    let import_s = started.elapsed().as_secs_f64();
    assert_eq!(report.features_written, COLUMNS * ROWS);
    println!(
        "import: {} features ({document_mb:.0} MB of GeoJSON), {} pieces, {import_s:.1} s, {:.0} features/s; peak RSS {rss_before:.0} MB before, {:.0} MB after",
        report.features_written,
        report.pieces_written,
        report.features_written as f64 / import_s,
        peak_rss_mb()
    );
    // One more layer: a single 200,000-vertex polygon (a county-wide red line), the case that
    // subdividing is for.
    let n = 200_000;
    let mut ring = String::new();
    for k in 0..=n {
        let t = f64::from(k % n) * std::f64::consts::TAU / f64::from(n);
        let r = 0.3 + 0.01 * (40.0 * t).sin();
        if k > 0 {
            ring.push(',');
        }
        let _ = write!(ring, "[{:.9},{:.9}]", 108.0 + r * t.cos(), 31.5 + r * t.sin());
    }
    let doc = format!(
        r#"{{"type":"FeatureCollection","features":[{{"type":"Feature","properties":{{"MC":"大红线"}},"geometry":{{"type":"Polygon","coordinates":[[{ring}]]}}}}]}}"#
    );
    let started = Instant::now();
    let big = import_reader(
        &pool,
        LayerKind::EcologicalRedline,
        CountyCode::parse("610900").unwrap(),
        "big-redline.geojson",
        std::io::Cursor::new(doc.into_bytes()),
        &ImportOptions::default(),
    )
    .await
    .unwrap();
    println!(
        "import: one 200,000-vertex polygon, {} pieces, {:.1} s",
        big.pieces_written,
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let direct: f64 = sqlx::query_scalar(
        "select st_area(st_intersection(f.geom, st_makeenvelope(108.0, 31.5, 108.01, 31.51, 4490))::geography) \
         from layer_features f join layer_versions v on v.id = f.version_id where v.kind = 'ecological_redline'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    println!(
        "for comparison, ST_Intersection on the whole 200,000-vertex polygon: {:.0} ms ({direct:.0} m²)",
        started.elapsed().as_secs_f64() * 1000.0
    );
    sqlx::query("analyze layer_features")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("analyze layer_pieces").execute(&pool).await.unwrap();

    let county = CountyCode::parse("610902").unwrap();
    let rules = VerdictRules::default();
    let mut conn = pool.acquire().await.unwrap();
    for (name, parcel) in [
        ("1 km² parcel", rect(108.6, 32.4, 108.61, 32.41)),
        ("0.01 km² parcel", rect(108.601, 32.401, 108.602, 32.402)),
        ("10 km² parcel", rect(108.6, 32.4, 108.635, 32.43)),
        ("10 km x 20 m road", rect(108.5, 32.5019, 108.6, 32.5021)),
        (
            "1 km² parcel inside the 200,000-vertex red line",
            rect(108.0, 31.5, 108.01, 31.51),
        ),
    ] {
        let mut times = Vec::new();
        let mut hits = 0;
        for _ in 0..5 {
            let t = Instant::now();
            let r = check_footprint(
                &mut conn,
                county,
                std::slice::from_ref(&parcel),
                &CaseContext::default(),
                &rules,
            )
            .await
            .unwrap();
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            hits = r.layers.iter().map(|l| l.hits.len()).sum::<usize>();
        }
        let first = times[0];
        times.sort_by(f64::total_cmp);
        println!(
            "check, {name}: {hits} hits, first {first:.0} ms, median {:.0} ms",
            times[times.len() / 2]
        );
    }
}

#[test]
#[ignore = "takes seconds to minutes: reads 134 MB of generated GeoJSON"]
fn reading_and_validating_100000_polygons_alone() {
    use landuse_spatial::geojson_in::{read_collection, Accept, Item, ReadOptions};
    let started = Instant::now();
    let mut valid = 0;
    let summary = read_collection(Generated::new(), ReadOptions::layer(Accept::Polygons), |item| {
        if matches!(item, Item::Feature(_)) {
            valid += 1;
        }
        std::ops::ControlFlow::Continue(())
    })
    .unwrap();
    let s = started.elapsed().as_secs_f64();
    assert_eq!(valid, COLUMNS * ROWS);
    println!(
        "read + validate without the database: {} features in {s:.1} s ({:.0} features/s), peak RSS {:.0} MB",
        summary.features,
        summary.features as f64 / s,
        peak_rss_mb()
    );
}
