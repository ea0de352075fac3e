//! Supplied land measured against its approval, so that the land-supply figures never count an
//! area twice (`DOMAIN.md`, "Land supply: from approval to use"; issue 19).
//!
//! - [`coverage`]: the approved parcels' area, and the union of the supplied parts clipped to
//!   them: overlapping parts count once, and supply outside the approval not at all. Its
//!   `supplied_within` is what `landuse_domain::supply::unsupplied::ApprovedLand` takes.
//! - [`place_part`]: a new part's area outside the approval and its overlap with each earlier
//!   part, for `landuse_domain::supply::part::check_part` to refuse with the area.
//! - [`area_within`]: the part of a geometry inside a set of zones (a supply inside the
//!   `development_zone` layer, for the standard-land share).
//!
//! Geometry is CGCS2000 lon/lat, already validated. The boolean operations are `geo`'s
//! (`BooleanOps`, `unary_union`) in lon/lat, as PostGIS's are on EPSG:4490 geometry; each result
//! is measured on the ellipsoid with [`ellipsoidal_area`]. Rings are oriented (outer
//! counter-clockwise) before a union, since `unary_union` reads the fill rule from the first
//! ring's winding and would drop parts wound the other way.
//!
//! The worked example of the tests: an approval of 100 mu near Ankang; supplies of 30 and 25 mu
//! overlapping by 5 mu, and 10 mu outside the approval. [`coverage`] gives 50 mu supplied within
//! and 10 mu outside; [`place_part`] finds the second part's 5 mu overlap and the third's 10 mu
//! outside.

use geo::orient::{Direction, Orient};
use geo::{unary_union, BooleanOps};
use geo_types::MultiPolygon;
use landuse_domain::supply::part::{PartMeasure, PartOverlap};
use landuse_domain::units::SquareMetres;

use crate::area::ellipsoidal_area;

/// The area of an approval and of its supply, in m².
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Coverage {
    /// The approved parcels' area (their union).
    pub approved: SquareMetres,
    /// The union of the supplied parts within the approved parcels.
    pub supplied_within: SquareMetres,
    /// The union of the supplied parts outside the approved parcels.
    pub supplied_outside: SquareMetres,
}

/// The union of `geometries`, each oriented first.
fn union_of(geometries: &[MultiPolygon]) -> MultiPolygon {
    let oriented: Vec<MultiPolygon> = geometries.iter().map(|g| g.orient(Direction::Default)).collect();
    unary_union(&oriented)
}

/// An ellipsoidal area as a domain area; boolean operations never give a negative or infinite
/// area from valid input, and a degenerate result counts as none.
fn measured(mp: &MultiPolygon) -> SquareMetres {
    SquareMetres::new(ellipsoidal_area(mp)).unwrap_or(SquareMetres::ZERO)
}

/// The approved parcels' area and the supplied parts' union within and outside them.
///
/// ```
/// use geo_types::{polygon, MultiPolygon};
/// use landuse_spatial::supply::coverage;
/// let rect = |x0: f64, x1: f64| MultiPolygon::from(polygon![
///     (x: x0, y: 32.70), (x: x1, y: 32.70), (x: x1, y: 32.701), (x: x0, y: 32.701)]);
/// let approved = [rect(109.0, 109.002)];
/// // Two halves that overlap by a quarter, and a piece beside the approval.
/// let supplied = [rect(109.0, 109.001), rect(109.0005, 109.0015), rect(109.002, 109.003)];
/// let c = coverage(&approved, &supplied);
/// assert!((c.supplied_within.value() / c.approved.value() - 0.75).abs() < 1e-6);
/// assert!((c.supplied_outside.value() / c.approved.value() - 0.5).abs() < 1e-6);
/// ```
pub fn coverage(approved: &[MultiPolygon], supplied: &[MultiPolygon]) -> Coverage {
    let approval = union_of(approved);
    let supply = union_of(supplied);
    Coverage {
        approved: measured(&approval),
        supplied_within: measured(&supply.intersection(&approval)),
        supplied_outside: measured(&supply.difference(&approval)),
    }
}

/// A new part measured against the approval and the earlier parts: its area, its area outside
/// the approved parcels, and its overlap with each earlier part that shares an area with it (in
/// the order of `earlier`, by index).
pub fn place_part(approved: &[MultiPolygon], earlier: &[MultiPolygon], part: &MultiPolygon) -> PartMeasure {
    let part = part.orient(Direction::Default);
    let approval = union_of(approved);
    let overlaps = earlier
        .iter()
        .enumerate()
        .filter_map(|(index, other)| {
            let area = measured(&part.intersection(&other.orient(Direction::Default)));
            (area.value() > 0.0).then_some(PartOverlap { index, area })
        })
        .collect();
    PartMeasure {
        area: measured(&part),
        outside_approval: measured(&part.difference(&approval)),
        overlaps,
    }
}

/// What is left of the approved parcels once the supplied parts are taken out (批而未供 on the
/// map): the union of `approved` minus the union of `supplied`. Its area is what [`coverage`]
/// finds approved but not supplied within.
///
/// ```
/// use geo_types::{polygon, MultiPolygon};
/// use landuse_spatial::{area::ellipsoidal_area, supply::{coverage, remainder}};
/// let rect = |x0: f64, x1: f64| MultiPolygon::from(polygon![
///     (x: x0, y: 32.70), (x: x1, y: 32.70), (x: x1, y: 32.701), (x: x0, y: 32.701)]);
/// let approved = [rect(109.0, 109.002)];
/// let supplied = [rect(109.0, 109.001), rect(109.0015, 109.003)];
/// let left = remainder(&approved, &supplied);
/// let c = coverage(&approved, &supplied);
/// let unsupplied = c.approved.value() - c.supplied_within.value();
/// assert!((ellipsoidal_area(&left) - unsupplied).abs() < 1e-6 * unsupplied);
/// ```
pub fn remainder(approved: &[MultiPolygon], supplied: &[MultiPolygon]) -> MultiPolygon {
    union_of(approved).difference(&union_of(supplied))
}

/// The area of `geometry` inside the union of `zones`.
pub fn area_within(geometry: &MultiPolygon, zones: &[MultiPolygon]) -> SquareMetres {
    measured(&geometry.orient(Direction::Default).intersection(&union_of(zones)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use geo_types::{polygon, Polygon};

    fn rect(x0: f64, x1: f64) -> Polygon {
        polygon![(x: x0, y: 32.70), (x: x1, y: 32.70), (x: x1, y: 32.701), (x: x0, y: 32.701)]
    }

    #[test]
    fn a_part_wound_clockwise_still_counts_in_the_union() {
        let approved = [MultiPolygon::from(rect(109.0, 109.002))];
        let mut clockwise = rect(109.001, 109.002);
        clockwise.exterior_mut(|ring| ring.0.reverse());
        let supplied = [
            MultiPolygon::from(rect(109.0, 109.001)),
            MultiPolygon::from(clockwise),
        ];
        let c = coverage(&approved, &supplied);
        assert!((c.supplied_within.value() - c.approved.value()).abs() < 1e-6 * c.approved.value());
        assert_eq!(c.supplied_outside, SquareMetres::ZERO);
    }

    #[test]
    fn parts_sharing_only_an_edge_do_not_overlap() {
        let approved = [MultiPolygon::from(rect(109.0, 109.002))];
        let earlier = [MultiPolygon::from(rect(109.0, 109.001))];
        let m = place_part(&approved, &earlier, &MultiPolygon::from(rect(109.001, 109.002)));
        assert!(m.overlaps.iter().all(|o| o.area.value() < 1e-3), "{m:?}");
        assert!(m.outside_approval.value() < 1e-3);
    }

    #[test]
    fn nothing_supplied_covers_nothing() {
        let approved = [MultiPolygon::from(rect(109.0, 109.002))];
        let c = coverage(&approved, &[]);
        assert_eq!(c.supplied_within, SquareMetres::ZERO);
        assert!(c.approved.value() > 0.0);
    }

    #[test]
    fn the_part_of_a_supply_inside_zones_is_measured_once_where_zones_overlap() {
        let supply = MultiPolygon::from(rect(109.0, 109.002));
        let zones = [
            MultiPolygon::from(rect(108.9, 109.001)),
            MultiPolygon::from(rect(109.0005, 109.001)),
        ];
        let inside = area_within(&supply, &zones);
        let half = ellipsoidal_area(&MultiPolygon::from(rect(109.0, 109.001)));
        assert!((inside.value() - half).abs() < 1e-6 * half);
    }
}
