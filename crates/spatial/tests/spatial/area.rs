//! Areas agree with independent computations to 0.01% or 0.01 m², whichever is larger: the
//! GeographicLib polygon area called directly, an equal-area projection through PROJ, and
//! PostGIS's `ST_Area(geography)`, for a polygon straddling the 109.5°E zone line, one with a
//! hole and a multipart one.
#![allow(clippy::unwrap_used)]

use geo_types::{Coord, LineString, MultiPolygon, Polygon};
use geographiclib_rs::{Geodesic, PolygonArea, Winding};
use landuse_spatial::area::{ellipsoidal_area, planar_area};
use landuse_spatial::crs::{GkZone, Srid, Transformer};
use landuse_spatial::wkb_io::multi_polygon_to_wkb;
use proj::Proj;
use sqlx::PgPool;

fn ring(pts: &[(f64, f64)]) -> LineString {
    let mut v: Vec<Coord> = pts.iter().map(|&(x, y)| Coord { x, y }).collect();
    v.push(v[0]);
    LineString(v)
}

/// An irregular 9-gon across 109.5°E, about 8 km wide.
fn straddling() -> MultiPolygon {
    MultiPolygon(vec![Polygon::new(
        ring(&[
            (109.46, 32.60),
            (109.50, 32.595),
            (109.545, 32.605),
            (109.55, 32.63),
            (109.53, 32.655),
            (109.50, 32.66),
            (109.47, 32.65),
            (109.455, 32.63),
            (109.49, 32.62),
        ]),
        vec![],
    )])
}

fn with_hole() -> MultiPolygon {
    MultiPolygon(vec![Polygon::new(
        ring(&[(109.0, 32.6), (109.02, 32.6), (109.02, 32.62), (109.0, 32.62)]),
        vec![ring(&[
            (109.005, 32.605),
            (109.005, 32.615),
            (109.012, 32.615),
            (109.012, 32.605),
        ])],
    )])
}

/// One part in zone 36, one in zone 37, one straddling the line.
fn multipart() -> MultiPolygon {
    MultiPolygon(vec![
        Polygon::new(
            ring(&[(109.2, 32.7), (109.21, 32.7), (109.21, 32.71), (109.2, 32.71)]),
            vec![],
        ),
        Polygon::new(
            ring(&[(109.8, 32.7), (109.803, 32.7), (109.803, 32.702), (109.8, 32.702)]),
            vec![],
        ),
        Polygon::new(ring(&[(109.499, 32.8), (109.501, 32.8), (109.5, 32.801)]), vec![]),
    ])
}

fn cases() -> Vec<(&'static str, MultiPolygon)> {
    vec![
        ("straddling 109.5°E", straddling()),
        ("with a hole", with_hole()),
        ("multipart", multipart()),
    ]
}

fn tolerance(expected: f64) -> f64 {
    (expected.abs() * 1e-4).max(0.01)
}

/// GeographicLib directly, ring by ring.
fn geographiclib(mp: &MultiPolygon) -> f64 {
    let geod = Geodesic::new(6_378_137.0, 1.0 / 298.257_222_101);
    let ring_area = |r: &LineString| {
        let mut pa = PolygonArea::new(&geod, Winding::CounterClockwise);
        for c in &r.0[..r.0.len() - 1] {
            pa.add_point(c.y, c.x);
        }
        pa.compute(true).1.abs()
    };
    mp.0.iter()
        .map(|p| ring_area(p.exterior()) - p.interiors().iter().map(ring_area).sum::<f64>())
        .sum()
}

/// The planar area in a Lambert azimuthal equal-area projection on the same ellipsoid
/// (through PROJ), with each edge densified so that its curvature does not matter.
fn equal_area(mp: &MultiPolygon) -> f64 {
    let laea = Proj::new_known_crs(
        "EPSG:4490",
        "+proj=laea +lat_0=32.65 +lon_0=109.5 +ellps=GRS80 +units=m +type=crs",
        None,
    )
    .unwrap();
    let project = |r: &LineString| {
        let mut out = Vec::new();
        for w in r.0.windows(2) {
            for k in 0..100 {
                let t = f64::from(k) / 100.0;
                let c = (w[0].x + (w[1].x - w[0].x) * t, w[0].y + (w[1].y - w[0].y) * t);
                let (x, y): (f64, f64) = laea.convert(c).unwrap();
                out.push(Coord { x, y });
            }
        }
        out.push(out[0]);
        LineString(out)
    };
    let projected = MultiPolygon(
        mp.0.iter()
            .map(|p| Polygon::new(project(p.exterior()), p.interiors().iter().map(project).collect()))
            .collect(),
    );
    planar_area(&projected)
}

#[test]
fn ellipsoidal_areas_agree_with_geographiclib_called_directly() {
    for (name, mp) in cases() {
        let ours = ellipsoidal_area(&mp);
        let theirs = geographiclib(&mp);
        assert!(
            (ours - theirs).abs() <= tolerance(theirs),
            "{name}: {ours} vs {theirs}"
        );
    }
}

#[test]
fn ellipsoidal_areas_agree_with_an_equal_area_projection() {
    // PROJ's equal-area projection measures rhumb-ish straight lon/lat edges, GeographicLib
    // geodesics: at a few kilometres these differ far below 0.01%.
    for (name, mp) in cases() {
        let ours = ellipsoidal_area(&mp);
        let laea = equal_area(&mp);
        assert!((ours - laea).abs() <= tolerance(laea), "{name}: {ours} vs {laea}");
    }
}

#[test]
fn a_polygon_measures_the_same_whichever_zone_it_is_projected_into() {
    // The planar Gauss–Krüger area depends on the zone (scale grows away from the central
    // meridian), the ellipsoidal one does not; both planar ones lie within the GK scale error.
    let mp = straddling();
    let e = ellipsoidal_area(&mp);
    for zone in [36, 37] {
        let t = Transformer::new(Srid::CGCS2000, GkZone::new(zone).unwrap().srid(true)).unwrap();
        let planar = planar_area(&t.multi_polygon(&mp).unwrap());
        // About 150 km from the central meridian: scale² ≈ 1 + (150/6371)² ≈ 1.0006.
        assert!(planar > e && planar / e < 1.001, "zone {zone}: {planar} vs {e}");
    }
}

#[sqlx::test(migrations = "../../migrations")]
async fn ellipsoidal_areas_agree_with_postgis_st_area_geography(pool: PgPool) {
    for (name, mp) in cases() {
        let postgis: f64 = sqlx::query_scalar("select st_area(st_geomfromwkb($1, 4490)::geography)")
            .bind(multi_polygon_to_wkb(&mp).unwrap())
            .fetch_one(&pool)
            .await
            .unwrap();
        let ours = ellipsoidal_area(&mp);
        assert!(
            (ours - postgis).abs() <= tolerance(postgis),
            "{name}: {ours} vs {postgis}"
        );
        // In practice they agree to the micrometre: the same algorithm on the same ellipsoid.
        assert!((ours - postgis).abs() < 1e-3, "{name}: {ours} vs {postgis}");
    }
}
