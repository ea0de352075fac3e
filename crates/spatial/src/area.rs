//! Areas: ellipsoidal on CGCS2000 for lon/lat geometry (what the bureau reports), planar for
//! Gauss–Krüger geometry (what survey files state).
//!
//! The ellipsoidal area is GeographicLib's geodesic polygon area (Karney 2013), the algorithm
//! behind PostGIS's `ST_Area(geography)` and pyproj's `Geod.polygon_area_perimeter`, on the
//! CGCS2000 ellipsoid (a = 6 378 137 m, f = 1/298.257222101). Edges are geodesics, so the
//! result does not depend on which zone a polygon would be projected into: parcels that straddle
//! the 109.5°E zone line measure the same as any other.

use geo_types::{LineString, MultiPolygon, Polygon};
use geographiclib_rs::{Geodesic, PolygonArea, Winding};
use serde::{Deserialize, Serialize};

/// Semi-major axis of the CGCS2000 ellipsoid in metres.
pub const CGCS2000_A: f64 = 6_378_137.0;
/// Flattening of the CGCS2000 ellipsoid.
pub const CGCS2000_F: f64 = 1.0 / 298.257_222_101;

/// Square metres in one mu (亩): 10000/15.
pub const M2_PER_MU: f64 = 10_000.0 / 15.0;
/// Square metres in one hectare.
pub const M2_PER_HA: f64 = 10_000.0;

/// The CGCS2000 ellipsoid as a GeographicLib geodesic.
pub fn cgcs2000() -> Geodesic {
    Geodesic::new(CGCS2000_A, CGCS2000_F)
}

/// The unsigned ellipsoidal area of one ring of lon/lat coordinates, in m². The closing vertex
/// may be present or not.
pub fn ring_area_ellipsoidal(geod: &Geodesic, ring: &LineString) -> f64 {
    let coords = ring.0.as_slice();
    let open = match coords {
        [first, .., last] if first == last => &coords[..coords.len() - 1],
        _ => coords,
    };
    if open.len() < 3 {
        return 0.0;
    }
    let mut pa = PolygonArea::new(geod, Winding::CounterClockwise);
    for c in open {
        pa.add_point(c.y, c.x);
    }
    // Signed so that either winding works; parcels are far smaller than half the ellipsoid,
    // where the sign would become ambiguous.
    let (_perimeter, area, _n) = pa.compute(true);
    area.abs()
}

/// The ellipsoidal area of a lon/lat polygon in m²: the outer ring less its holes.
pub fn polygon_area_ellipsoidal(geod: &Geodesic, polygon: &Polygon) -> f64 {
    let holes: f64 = polygon
        .interiors()
        .iter()
        .map(|r| ring_area_ellipsoidal(geod, r))
        .sum();
    ring_area_ellipsoidal(geod, polygon.exterior()) - holes
}

/// The ellipsoidal area of a lon/lat multipolygon on CGCS2000, in m². Parts must not overlap
/// (the validator makes sure).
///
/// ```
/// use geo_types::polygon;
/// use landuse_spatial::area::ellipsoidal_area;
/// // A 0.01° square near Ankang: about 1.04 km².
/// let square = polygon![(x: 109.0, y: 32.7), (x: 109.01, y: 32.7), (x: 109.01, y: 32.71), (x: 109.0, y: 32.71)];
/// let a = ellipsoidal_area(&square.into());
/// assert!((a - 1_040_000.0).abs() < 10_000.0);
/// ```
pub fn ellipsoidal_area(mp: &MultiPolygon) -> f64 {
    let geod = cgcs2000();
    mp.0.iter().map(|p| polygon_area_ellipsoidal(&geod, p)).sum()
}

/// The unsigned planar (shoelace) area of one ring, in the square of its coordinates' unit.
pub fn ring_area_planar(ring: &LineString) -> f64 {
    let coords = ring.0.as_slice();
    if coords.len() < 3 {
        return 0.0;
    }
    // Shifted to the first vertex: Gauss–Krüger coordinates are in the millions, and the
    // products of raw values would lose the centimetres.
    let origin = coords[0];
    let n = coords.len();
    let mut twice = 0.0;
    for i in 0..n {
        let a = coords[i] - origin;
        let b = coords[(i + 1) % n] - origin;
        twice += a.x * b.y - b.x * a.y;
    }
    (twice / 2.0).abs()
}

/// The planar area of a projected multipolygon (outer rings less holes), in m² for
/// Gauss–Krüger coordinates.
pub fn planar_area(mp: &MultiPolygon) -> f64 {
    mp.0.iter()
        .map(|p| ring_area_planar(p.exterior()) - p.interiors().iter().map(ring_area_planar).sum::<f64>())
        .sum()
}

/// One area in the three units the bureau reports: m², mu (2 decimals) and ha (4 decimals).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AreaFigures {
    /// Square metres, unrounded.
    pub m2: f64,
    /// Mu (亩), rounded to 2 decimals.
    pub mu: f64,
    /// Hectares, rounded to 4 decimals.
    pub ha: f64,
}

impl AreaFigures {
    /// The figures for an area in m².
    ///
    /// ```
    /// use landuse_spatial::area::AreaFigures;
    /// let f = AreaFigures::from_m2(10_000.0);
    /// assert_eq!((f.mu, f.ha), (15.0, 1.0));
    /// ```
    pub fn from_m2(m2: f64) -> Self {
        AreaFigures {
            m2,
            mu: round_to(m2 / M2_PER_MU, 2),
            ha: round_to(m2 / M2_PER_HA, 4),
        }
    }
}

/// Rounds half away from zero to `decimals` places.
pub(crate) fn round_to(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::float_cmp)]
    use super::*;
    use geo_types::{coord, polygon};

    #[test]
    fn a_gk_square_of_100_m_has_one_hectare() {
        let sq = polygon![
            (x: 36_596_500.0, y: 3_618_200.0),
            (x: 36_596_600.0, y: 3_618_200.0),
            (x: 36_596_600.0, y: 3_618_300.0),
            (x: 36_596_500.0, y: 3_618_300.0),
        ];
        assert!((planar_area(&sq.into()) - 10_000.0).abs() < 1e-6);
    }

    #[test]
    fn holes_are_subtracted_in_both_measures() {
        let outer = LineString::from(vec![(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)]);
        let hole = LineString::from(vec![(2.0, 2.0), (2.0, 4.0), (4.0, 4.0), (4.0, 2.0)]);
        let p = Polygon::new(outer, vec![hole]);
        assert!((planar_area(&p.clone().into()) - 96.0).abs() < 1e-12);

        let ll = Polygon::new(
            LineString::from(vec![
                (109.0, 32.6),
                (109.01, 32.6),
                (109.01, 32.61),
                (109.0, 32.61),
            ]),
            vec![LineString::from(vec![
                (109.002, 32.602),
                (109.002, 32.604),
                (109.004, 32.604),
                (109.004, 32.602),
            ])],
        );
        let whole = ellipsoidal_area(&Polygon::new(ll.exterior().clone(), vec![]).into());
        let hole_only = ellipsoidal_area(&Polygon::new(ll.interiors()[0].clone(), vec![]).into());
        let with_hole = ellipsoidal_area(&ll.into());
        assert!((whole - hole_only - with_hole).abs() < 1e-6);
        assert!(hole_only > 0.0);
    }

    #[test]
    fn winding_and_closing_vertex_do_not_change_the_area() {
        let geod = cgcs2000();
        let ccw = LineString::from(vec![
            coord! { x: 109.0, y: 32.6 },
            coord! { x: 109.01, y: 32.6 },
            coord! { x: 109.01, y: 32.61 },
        ]);
        let mut cw = ccw.clone();
        cw.0.reverse();
        let mut closed = ccw.clone();
        closed.0.push(ccw.0[0]);
        let a = ring_area_ellipsoidal(&geod, &ccw);
        assert!((a - ring_area_ellipsoidal(&geod, &cw)).abs() < 1e-9);
        assert!((a - ring_area_ellipsoidal(&geod, &closed)).abs() < 1e-9);
    }

    #[test]
    fn figures_round_as_the_bureau_reports() {
        let f = AreaFigures::from_m2(26_708.0);
        assert_eq!(f.ha, 2.6708);
        assert_eq!(f.mu, 40.06);
    }
}
