//! Micro-benchmarks of the pure geometry paths (`make bench` runs them; figures in
//! docs/performance.md): reading a boundary-point coordinate file (decode, parse, rings and
//! holes, validation, Gauss–Krüger to CGCS2000, areas) and measuring ellipsoidal and planar
//! areas; and the Rust side of serving a feature from WKB (decode, rewind, GeoJSON text), to set
//! against PostGIS's `ST_AsGeoJSON` (`make bench` times both ends in the database). Throughput
//! is counted in vertices; files per second is one over the time per file.
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use geo_types::{LineString, MultiPolygon, Polygon};
use landuse_spatial::area::{ellipsoidal_area, planar_area};
use landuse_spatial::coordfile::{self, CoordFile, ParcelAttributes};
use landuse_spatial::crs::GkZone;
use landuse_spatial::{geojson_out, wkb_io};

/// A wobbly, star-shaped (so simple) parcel of `vertices` points near Ankang, about 300 m across.
fn parcel(vertices: usize) -> MultiPolygon {
    let (cx, cy, r) = (109.02, 32.69, 0.0015);
    let mut ring: Vec<(f64, f64)> = (0..vertices)
        .map(|k| {
            let t = k as f64 * std::f64::consts::TAU / vertices as f64;
            let radius = r * (1.0 + 0.1 * (5.0 * t).sin() + 0.05 * (11.0 * t).cos());
            (cx + radius * t.cos(), cy + radius * t.sin())
        })
        .collect();
    ring.push(ring[0]);
    MultiPolygon(vec![Polygon::new(LineString::from(ring), vec![])])
}

/// The GBK, CRLF file a survey office would deliver for that parcel (zone 36, prefixed eastings).
fn coordinate_file(vertices: usize) -> Vec<u8> {
    let attributes = ParcelAttributes {
        number: "1".to_owned(),
        name: "基准地块".to_owned(),
        shape: "面".to_owned(),
        ..ParcelAttributes::default()
    };
    CoordFile::from_lonlat(GkZone::new(36).unwrap(), &[(attributes, parcel(vertices))])
        .unwrap()
        .write_gbk()
        .unwrap()
}

fn coordinate_files(c: &mut Criterion) {
    let mut group = c.benchmark_group("coordfile");
    for vertices in [50, 500, 5000] {
        let bytes = coordinate_file(vertices);
        // The whole upload path of a file: what `PUT /cases/{id}/parcels` does with it.
        assert_eq!(coordfile::read(&bytes).unwrap().parcels.len(), 1);
        group.throughput(Throughput::Elements(vertices as u64));
        group.bench_with_input(BenchmarkId::new("read", vertices), &bytes, |b, bytes| {
            b.iter(|| coordfile::read(black_box(bytes)).unwrap());
        });
        group.bench_with_input(BenchmarkId::new("parse", vertices), &bytes, |b, bytes| {
            b.iter(|| coordfile::parse(black_box(bytes)).unwrap());
        });
    }
    group.finish();
}

fn areas(c: &mut Criterion) {
    let mut group = c.benchmark_group("area");
    for vertices in [50, 500, 5000] {
        let mp = parcel(vertices);
        group.throughput(Throughput::Elements(vertices as u64));
        group.bench_with_input(BenchmarkId::new("ellipsoidal", vertices), &mp, |b, mp| {
            b.iter(|| ellipsoidal_area(black_box(mp)));
        });
        group.bench_with_input(BenchmarkId::new("planar", vertices), &mp, |b, mp| {
            b.iter(|| planar_area(black_box(mp)));
        });
    }
    group.finish();
}

fn geojson_from_wkb(c: &mut Criterion) {
    let mut group = c.benchmark_group("geojson_from_wkb");
    for vertices in [40, 200] {
        let wkb = wkb_io::multi_polygon_to_wkb(&parcel(vertices)).unwrap();
        group.throughput(Throughput::Elements(vertices as u64));
        group.bench_with_input(BenchmarkId::from_parameter(vertices), &wkb, |b, wkb| {
            b.iter(|| {
                let g = wkb_io::from_wkb(black_box(wkb)).unwrap();
                serde_json::to_string(&geojson_out::geometry(&g)).unwrap()
            });
        });
    }
    group.finish();
}

criterion_group!(benches, coordinate_files, areas, geojson_from_wkb);
criterion_main!(benches);
