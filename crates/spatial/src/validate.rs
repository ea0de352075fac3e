//! The gate every geometry passes before it reaches PostGIS.
//!
//! PostGIS accepts unclosed rings, three-point rings, NaN and out-of-range coordinates from
//! `ST_GeomFromGeoJSON`, and repairing bad client geometry inside the database has crashed the
//! backend here (GEOS 3.11). So geometry is checked in Rust and refused with the reason and the
//! place, never repaired.
//!
//! Input is the rings as they were given (`parts → rings → coordinates`, the closing vertex
//! included), because `geo_types` closes rings on construction and an unclosed ring could no
//! longer be seen afterwards. All indices in a [`Place`] are 0-based positions in the input, as
//! in the GeoJSON arrays: ring 0 is the outer ring of its polygon, rings 1… are its holes.
//!
//! What is checked, in this order, stopping at the first failure:
//! 1. the vertex cap of the [`Rules`] (before any other work, so a huge input costs nothing),
//! 2. a geometry with no polygon or a polygon with no ring is empty,
//! 3. every coordinate is finite and, for lon/lat input, within ±180° / ±90°,
//! 4. every ring has at least 4 positions, is closed, and has at least 3 distinct points,
//! 5. no ring crosses or touches itself (spikes included), no two rings cross or share an edge
//!    (touching at single points is allowed, as in OGC Simple Features),
//! 6. every hole lies inside its outer ring and not inside another hole,
//! 7. no two polygons of a multipolygon overlap.
//!
//! Segment intersections use `geo`'s sweep ([`geo::algorithm::sweep::Intersections`]), so a
//! 100,000-vertex farmland polygon is checked in milliseconds rather than the quadratic time of
//! `geo::Validation`.

use std::collections::HashMap;
use std::fmt;

use geo::algorithm::sweep::{Cross, Intersections};
use geo::{Kernel, LineIntersection, Orientation};
use geo_types::{Coord, Line, LineString, MultiPolygon, Point, Polygon};
use serde::{Deserialize, Serialize};

/// Where in the input a problem is. Each part is present when it applies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    /// Index of the feature in its collection or file.
    pub feature: Option<usize>,
    /// Index of the polygon in a multipolygon (0 for a plain polygon).
    pub part: Option<usize>,
    /// Index of the ring in its polygon: 0 is the outer ring, 1… are holes.
    pub ring: Option<usize>,
    /// Index of the vertex in its ring.
    pub vertex: Option<usize>,
}

impl Place {
    fn ring(part: usize, ring: usize) -> Self {
        Place {
            feature: None,
            part: Some(part),
            ring: Some(ring),
            vertex: None,
        }
    }

    fn vertex(part: usize, ring: usize, vertex: usize) -> Self {
        Place {
            vertex: Some(vertex),
            ..Place::ring(part, ring)
        }
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut items = Vec::with_capacity(4);
        if let Some(i) = self.feature {
            items.push(format!("feature {i}"));
        }
        if let Some(i) = self.part {
            items.push(format!("polygon {i}"));
        }
        if let Some(i) = self.ring {
            items.push(if i == 0 {
                "ring 0 (outer)".to_owned()
            } else {
                format!("ring {i} (hole)")
            });
        }
        if let Some(i) = self.vertex {
            items.push(format!("vertex {i}"));
        }
        if items.is_empty() {
            f.write_str("the geometry")
        } else {
            f.write_str(&items.join(", "))
        }
    }
}

/// Why a geometry was refused, and where.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum GeometryError {
    /// No polygon, or a polygon without rings, or no geometry at all.
    #[error("{at}: the geometry is empty")]
    Empty {
        /// Where.
        at: Place,
    },
    /// A geometry type this layer or parcel does not take.
    #[error("{at}: a {found} is not accepted here; expected {expected}")]
    WrongType {
        /// Where.
        at: Place,
        /// The type found.
        found: String,
        /// What was expected.
        expected: String,
    },
    /// A position with fewer than two numbers.
    #[error("{at}: a position needs at least 2 numbers, found {found}")]
    ShortPosition {
        /// Where.
        at: Place,
        /// How many numbers it had.
        found: usize,
    },
    /// NaN or an infinite coordinate.
    #[error("{at}: the coordinate is not a finite number")]
    NonFinite {
        /// Where.
        at: Place,
    },
    /// A longitude outside ±180° or a latitude outside ±90°.
    #[error("{at}: ({x}, {y}) is outside longitude -180..180 / latitude -90..90{hint}")]
    OutOfRange {
        /// Where.
        at: Place,
        /// Longitude as given.
        x: f64,
        /// Latitude as given.
        y: f64,
        /// A hint when the axes look swapped or the coordinates look projected.
        hint: String,
    },
    /// The last position of a ring differs from the first.
    #[error(
        "{at}: the ring is not closed: it starts at ({first_x}, {first_y}) and ends at ({last_x}, {last_y})"
    )]
    UnclosedRing {
        /// Where (the ring).
        at: Place,
        /// First x.
        first_x: f64,
        /// First y.
        first_y: f64,
        /// Last x.
        last_x: f64,
        /// Last y.
        last_y: f64,
    },
    /// A ring with fewer than 4 positions (3 corners and the closing one).
    #[error("{at}: a ring needs at least 4 positions (3 corners and the closing one), found {count}")]
    TooFewPoints {
        /// Where (the ring).
        at: Place,
        /// How many positions it has.
        count: usize,
    },
    /// A ring whose positions are fewer than 3 distinct points.
    #[error("{at}: the ring has only {distinct} distinct points and encloses no area")]
    TooFewDistinctPoints {
        /// Where (the ring).
        at: Place,
        /// How many distinct points.
        distinct: usize,
    },
    /// A ring that crosses or touches itself; `at.vertex` and `other_vertex` start the two
    /// edges that meet.
    #[error("{at}: the ring intersects itself: the edge from vertex {} meets the edge from vertex {other_vertex}", at.vertex.unwrap_or_default())]
    SelfIntersection {
        /// Where (the first edge).
        at: Place,
        /// Start vertex of the other edge.
        other_vertex: usize,
    },
    /// Two rings (of one polygon or of two polygons) that cross or share an edge.
    #[error("{at}: the edge crosses or overlaps the edge from vertex {other_vertex} of polygon {other_part}, ring {other_ring}")]
    RingsIntersect {
        /// Where (the first edge).
        at: Place,
        /// Polygon of the other ring.
        other_part: usize,
        /// The other ring.
        other_ring: usize,
        /// Start vertex of the other edge.
        other_vertex: usize,
    },
    /// A hole that is not inside its outer ring.
    #[error("{at}: the hole lies outside its outer ring")]
    HoleOutsideShell {
        /// Where (the hole).
        at: Place,
    },
    /// A hole inside another hole of the same polygon.
    #[error("{at}: the hole lies inside hole {other_ring} of the same polygon")]
    NestedHole {
        /// Where (the inner hole).
        at: Place,
        /// The enclosing hole.
        other_ring: usize,
    },
    /// Rings of one polygon that touch one another in a cycle (a hole touching the shell at
    /// two points, or two holes touching each other and the shell), which cuts the polygon's
    /// interior in pieces: OGC Simple Features and `ST_IsValid` call it invalid.
    #[error("{at}: the rings touch one another in a cycle (closed at ({x}, {y})), which cuts the polygon's interior in two")]
    DisconnectedInterior {
        /// Where (the polygon, and the ring whose touch closes the cycle).
        at: Place,
        /// The touch point that closes the cycle.
        x: f64,
        /// Its y.
        y: f64,
    },
    /// Two polygons of a multipolygon that overlap.
    #[error("{at}: the polygon overlaps polygon {other_part}")]
    PartsOverlap {
        /// Where (the first polygon).
        at: Place,
        /// The other polygon.
        other_part: usize,
    },
    /// More vertices than the configured cap.
    #[error("{at}: {count} vertices is more than the {max} allowed")]
    TooManyVertices {
        /// Where (the feature).
        at: Place,
        /// How many vertices.
        count: usize,
        /// The cap.
        max: usize,
    },
    /// A position with more numbers than the geometry takes (an altitude or a measure that
    /// would be dropped without a word).
    #[error("{at}: a position here takes at most {max} numbers ([longitude, latitude]{}), found {found}", if *.max > 2 { ", altitude" } else { "" })]
    ExtraOrdinates {
        /// Where.
        at: Place,
        /// How many numbers it had.
        found: usize,
        /// How many are taken.
        max: usize,
    },
    /// A longitude outside the CGCS2000 3-degree Gauss–Krüger zones 25–45 (73.5°E–136.5°E),
    /// where no parcel of this service can lie and no coordinate file can be written for it.
    /// A polygon drawn across the antimeridian lands here too.
    #[error("{at}: longitude {x} lies outside the CGCS2000 3-degree Gauss-Krüger zones 25-45 (73.5°E to 136.5°E) that parcels are surveyed in")]
    OutsideZones {
        /// Where.
        at: Place,
        /// The longitude.
        x: f64,
    },
    /// A projected coordinate that could not be transformed to CGCS2000.
    #[error("{at}: {message}")]
    Transform {
        /// Where.
        at: Place,
        /// What PROJ said.
        message: String,
    },
}

impl GeometryError {
    /// Where the problem is.
    pub fn place(&self) -> Place {
        match self {
            GeometryError::Empty { at }
            | GeometryError::WrongType { at, .. }
            | GeometryError::ShortPosition { at, .. }
            | GeometryError::NonFinite { at }
            | GeometryError::OutOfRange { at, .. }
            | GeometryError::UnclosedRing { at, .. }
            | GeometryError::TooFewPoints { at, .. }
            | GeometryError::TooFewDistinctPoints { at, .. }
            | GeometryError::SelfIntersection { at, .. }
            | GeometryError::RingsIntersect { at, .. }
            | GeometryError::HoleOutsideShell { at }
            | GeometryError::NestedHole { at, .. }
            | GeometryError::DisconnectedInterior { at, .. }
            | GeometryError::PartsOverlap { at, .. }
            | GeometryError::TooManyVertices { at, .. }
            | GeometryError::ExtraOrdinates { at, .. }
            | GeometryError::OutsideZones { at, .. }
            | GeometryError::Transform { at, .. } => *at,
        }
    }

    fn place_mut(&mut self) -> &mut Place {
        match self {
            GeometryError::Empty { at }
            | GeometryError::WrongType { at, .. }
            | GeometryError::ShortPosition { at, .. }
            | GeometryError::NonFinite { at }
            | GeometryError::OutOfRange { at, .. }
            | GeometryError::UnclosedRing { at, .. }
            | GeometryError::TooFewPoints { at, .. }
            | GeometryError::TooFewDistinctPoints { at, .. }
            | GeometryError::SelfIntersection { at, .. }
            | GeometryError::RingsIntersect { at, .. }
            | GeometryError::HoleOutsideShell { at }
            | GeometryError::NestedHole { at, .. }
            | GeometryError::DisconnectedInterior { at, .. }
            | GeometryError::PartsOverlap { at, .. }
            | GeometryError::TooManyVertices { at, .. }
            | GeometryError::ExtraOrdinates { at, .. }
            | GeometryError::OutsideZones { at, .. }
            | GeometryError::Transform { at, .. } => at,
        }
    }

    /// The same error, placed in a feature.
    #[must_use]
    pub fn in_feature(mut self, feature: usize) -> Self {
        self.place_mut().feature = Some(feature);
        self
    }

    /// A stable snake-case code for the kind of problem (`self_intersection`, …).
    pub fn code(&self) -> &'static str {
        match self {
            GeometryError::Empty { .. } => "empty",
            GeometryError::WrongType { .. } => "wrong_type",
            GeometryError::ShortPosition { .. } => "short_position",
            GeometryError::NonFinite { .. } => "non_finite",
            GeometryError::OutOfRange { .. } => "out_of_range",
            GeometryError::UnclosedRing { .. } => "unclosed_ring",
            GeometryError::TooFewPoints { .. } => "too_few_points",
            GeometryError::TooFewDistinctPoints { .. } => "too_few_distinct_points",
            GeometryError::SelfIntersection { .. } => "self_intersection",
            GeometryError::RingsIntersect { .. } => "rings_intersect",
            GeometryError::HoleOutsideShell { .. } => "hole_outside_shell",
            GeometryError::NestedHole { .. } => "nested_hole",
            GeometryError::DisconnectedInterior { .. } => "disconnected_interior",
            GeometryError::PartsOverlap { .. } => "parts_overlap",
            GeometryError::TooManyVertices { .. } => "too_many_vertices",
            GeometryError::ExtraOrdinates { .. } => "extra_ordinates",
            GeometryError::OutsideZones { .. } => "outside_zones",
            GeometryError::Transform { .. } => "transform",
        }
    }
}

/// Which coordinates are in range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Bounds {
    /// Longitude −180…180, latitude −90…90.
    #[default]
    LonLat,
    /// Any finite value (projected coordinates, checked by their transform instead).
    Finite,
}

/// What a validation accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// At most this many positions in one geometry; `None` for no cap (authoritative layers,
    /// whose farmland polygons run to hundreds of thousands of vertices).
    pub max_vertices: Option<usize>,
    /// The coordinate range.
    pub bounds: Bounds,
}

impl Rules {
    /// Lon/lat with no vertex cap: for control layers.
    pub const LAYER: Rules = Rules {
        max_vertices: None,
        bounds: Bounds::LonLat,
    };

    /// Lon/lat with a cap of 50,000 positions: for parcels a user uploads.
    pub const PARCEL: Rules = Rules {
        max_vertices: Some(50_000),
        bounds: Bounds::LonLat,
    };

    /// Projected coordinates (Gauss–Krüger metres), no cap on the range.
    pub const PROJECTED: Rules = Rules {
        max_vertices: Some(50_000),
        bounds: Bounds::Finite,
    };
}

impl Default for Rules {
    fn default() -> Self {
        Rules::PARCEL
    }
}

/// Rings as given: `parts[p][r][v]`.
pub type RawPolygons = [Vec<Vec<Coord>>];

/// Validates one point.
pub fn point(c: Coord, rules: &Rules) -> Result<Point, GeometryError> {
    check_coord(c, Place::default(), rules.bounds)?;
    Ok(Point(c))
}

/// Validates rings as given and builds the multipolygon.
///
/// ```
/// use geo_types::coord;
/// use landuse_spatial::validate::{multi_polygon, GeometryError, Rules};
/// let open = vec![vec![vec![
///     coord! { x: 109.0, y: 32.0 }, coord! { x: 109.1, y: 32.0 }, coord! { x: 109.1, y: 32.1 },
///     coord! { x: 109.0, y: 32.1 },
/// ]]];
/// let err = multi_polygon(&open, &Rules::PARCEL).unwrap_err();
/// assert!(matches!(err, GeometryError::UnclosedRing { .. }));
/// assert_eq!(err.to_string(), "polygon 0, ring 0 (outer): the ring is not closed: it starts at (109, 32) and ends at (109, 32.1)");
/// ```
pub fn multi_polygon(parts: &RawPolygons, rules: &Rules) -> Result<MultiPolygon, GeometryError> {
    check_rings(parts, rules)?;
    check_topology(parts)?;
    Ok(MultiPolygon(
        parts
            .iter()
            .map(|rings| {
                let mut it = rings.iter().map(|r| LineString(r.clone()));
                let shell = it.next().unwrap_or_else(|| LineString(Vec::new()));
                Polygon::new(shell, it.collect())
            })
            .collect(),
    ))
}

/// Validates a multipolygon already built (read back from WKB, or made by a transform). Its
/// rings are closed by construction, so an unclosed ring cannot be seen here; use
/// [`multi_polygon`] on input.
pub fn check_multi_polygon(mp: &MultiPolygon, rules: &Rules) -> Result<(), GeometryError> {
    let parts: Vec<Vec<Vec<Coord>>> =
        mp.0.iter()
            .map(|p| {
                std::iter::once(p.exterior())
                    .chain(p.interiors())
                    .map(|r| r.0.clone())
                    .collect()
            })
            .collect();
    check_rings(&parts, rules)?;
    check_topology(&parts)
}

/// Westmost and eastmost longitude of the CGCS2000 3-degree Gauss–Krüger zones 25–45.
const ZONES_WEST: f64 = 73.5;
const ZONES_EAST: f64 = 136.5;

/// Checks that every vertex of a parcel lies within the CGCS2000 3-degree Gauss–Krüger zones
/// 25–45 (73.5°E–136.5°E): where this service's parcels are surveyed, and where a coordinate
/// file can be written for them. Also refuses a polygon drawn across the antimeridian (its
/// vertices lie near ±180°), which would otherwise be read as a band around the whole globe.
///
/// ```
/// use geo_types::polygon;
/// use landuse_spatial::validate::{within_zones, GeometryError};
/// let ankang = polygon![(x: 109.0, y: 32.7), (x: 109.1, y: 32.7), (x: 109.1, y: 32.8)];
/// assert!(within_zones(&ankang.into()).is_ok());
/// let fiji = polygon![(x: 179.9, y: -16.8), (x: -179.9, y: -16.8), (x: -179.9, y: -16.7)];
/// assert!(matches!(within_zones(&fiji.into()), Err(GeometryError::OutsideZones { .. })));
/// ```
pub fn within_zones(mp: &MultiPolygon) -> Result<(), GeometryError> {
    for (p, polygon) in mp.0.iter().enumerate() {
        for (r, ring) in std::iter::once(polygon.exterior())
            .chain(polygon.interiors())
            .enumerate()
        {
            for (v, c) in ring.0.iter().enumerate() {
                if !(ZONES_WEST..=ZONES_EAST).contains(&c.x) {
                    return Err(GeometryError::OutsideZones {
                        at: Place::vertex(p, r, v),
                        x: c.x,
                    });
                }
            }
        }
    }
    Ok(())
}

fn check_coord(c: Coord, at: Place, bounds: Bounds) -> Result<(), GeometryError> {
    if !(c.x.is_finite() && c.y.is_finite()) {
        return Err(GeometryError::NonFinite { at });
    }
    if bounds == Bounds::LonLat && !((-180.0..=180.0).contains(&c.x) && (-90.0..=90.0).contains(&c.y)) {
        let hint = if c.x.abs() > 1000.0 || c.y.abs() > 1000.0 {
            " (these look like projected metres: declare the CRS)".to_owned()
        } else if (-90.0..=90.0).contains(&c.x) && (-180.0..=180.0).contains(&c.y) {
            " (latitude and longitude may be swapped: GeoJSON is [longitude, latitude])".to_owned()
        } else {
            String::new()
        };
        return Err(GeometryError::OutOfRange {
            at,
            x: c.x,
            y: c.y,
            hint,
        });
    }
    Ok(())
}

fn check_rings(parts: &RawPolygons, rules: &Rules) -> Result<(), GeometryError> {
    if let Some(max) = rules.max_vertices {
        let count: usize = parts.iter().flatten().map(Vec::len).sum();
        if count > max {
            return Err(GeometryError::TooManyVertices {
                at: Place::default(),
                count,
                max,
            });
        }
    }
    if parts.is_empty() {
        return Err(GeometryError::Empty { at: Place::default() });
    }
    for (p, rings) in parts.iter().enumerate() {
        if rings.is_empty() {
            return Err(GeometryError::Empty {
                at: Place {
                    part: Some(p),
                    ..Place::default()
                },
            });
        }
        for (r, ring) in rings.iter().enumerate() {
            for (v, c) in ring.iter().enumerate() {
                check_coord(*c, Place::vertex(p, r, v), rules.bounds)?;
            }
            if ring.len() < 4 {
                return Err(GeometryError::TooFewPoints {
                    at: Place::ring(p, r),
                    count: ring.len(),
                });
            }
            let (first, last) = (ring[0], ring[ring.len() - 1]);
            if first != last {
                return Err(GeometryError::UnclosedRing {
                    at: Place::ring(p, r),
                    first_x: first.x,
                    first_y: first.y,
                    last_x: last.x,
                    last_y: last.y,
                });
            }
            let mut distinct: Vec<Coord> = ring[..ring.len() - 1].to_vec();
            distinct.sort_by(|a, b| a.x.total_cmp(&b.x).then(a.y.total_cmp(&b.y)));
            distinct.dedup();
            if distinct.len() < 3 {
                return Err(GeometryError::TooFewDistinctPoints {
                    at: Place::ring(p, r),
                    distinct: distinct.len(),
                });
            }
        }
    }
    Ok(())
}

/// One edge of the input, with where it came from.
#[derive(Debug, Clone, Copy)]
struct Edge {
    part: usize,
    ring: usize,
    /// Index of the start vertex.
    start: usize,
    /// Index of the next edge of the same ring that is not of zero length (cyclic).
    next: usize,
    line: Line,
}

impl Cross for Edge {
    type Scalar = f64;
    fn line(&self) -> Line {
        self.line
    }
}

fn edges(parts: &RawPolygons) -> Vec<Edge> {
    let mut out = Vec::new();
    for (p, rings) in parts.iter().enumerate() {
        for (r, ring) in rings.iter().enumerate() {
            let first = out.len();
            for (i, w) in ring.windows(2).enumerate() {
                // Repeated vertices are valid (PostGIS agrees); their zero-length edges cannot
                // cross anything the neighbouring edges do not.
                if w[0] != w[1] {
                    out.push(Edge {
                        part: p,
                        ring: r,
                        start: i,
                        next: 0,
                        line: Line::new(w[0], w[1]),
                    });
                }
            }
            let last = out.len();
            for k in first..last {
                out[k].next = if k + 1 < last {
                    out[k + 1].start
                } else {
                    out[first].start
                };
            }
        }
    }
    out
}

fn adjacent(a: &Edge, b: &Edge) -> bool {
    a.part == b.part && a.ring == b.ring && (a.next == b.start || b.next == a.start)
}

/// The first intersection that makes the input invalid, if any.
fn bad_intersection(a: &Edge, b: &Edge, hit: &LineIntersection<f64>) -> Option<GeometryError> {
    let (a, b) = if (a.part, a.ring, a.start) <= (b.part, b.ring, b.start) {
        (a, b)
    } else {
        (b, a)
    };
    let at = Place::vertex(a.part, a.ring, a.start);
    if a.part == b.part && a.ring == b.ring {
        let bad = match hit {
            // Consecutive edges meet at their shared vertex; anything more is a spike.
            LineIntersection::SinglePoint { .. } => !adjacent(a, b),
            LineIntersection::Collinear { .. } => true,
        };
        bad.then_some(GeometryError::SelfIntersection {
            at,
            other_vertex: b.start,
        })
    } else {
        let bad = match hit {
            LineIntersection::SinglePoint { is_proper, .. } => *is_proper,
            LineIntersection::Collinear { intersection } => intersection.start != intersection.end,
        };
        bad.then_some(GeometryError::RingsIntersect {
            at,
            other_part: b.part,
            other_ring: b.ring,
            other_vertex: b.start,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Location {
    Inside,
    Outside,
    Boundary,
}

/// Where a point lies relative to a closed ring (winding number with exact orientation tests).
fn locate(pt: Coord, ring: &[Coord]) -> Location {
    let mut winding = 0i32;
    for w in ring.windows(2) {
        let (a, b) = (w[0], w[1]);
        let orient = geo::kernels::RobustKernel::orient2d(a, b, pt);
        if orient == Orientation::Collinear
            && pt.x >= a.x.min(b.x)
            && pt.x <= a.x.max(b.x)
            && pt.y >= a.y.min(b.y)
            && pt.y <= a.y.max(b.y)
        {
            return Location::Boundary;
        }
        if a.y <= pt.y {
            if b.y > pt.y && orient == Orientation::CounterClockwise {
                winding += 1;
            }
        } else if b.y <= pt.y && orient == Orientation::Clockwise {
            winding -= 1;
        }
    }
    if winding == 0 {
        Location::Outside
    } else {
        Location::Inside
    }
}

/// Where ring `inner` lies relative to ring `outer`, given that their edges do not cross: the
/// first vertex or edge midpoint of `inner` that is not on `outer` decides.
fn ring_in_ring(inner: &[Coord], outer: &[Coord]) -> Location {
    let midpoints = inner.windows(2).map(|w| Coord {
        x: f64::midpoint(w[0].x, w[1].x),
        y: f64::midpoint(w[0].y, w[1].y),
    });
    for c in inner.iter().copied().chain(midpoints) {
        match locate(c, outer) {
            Location::Boundary => {}
            other => return other,
        }
    }
    Location::Boundary
}

/// Whether a ring that does not cross `outer` lies inside it (both given closed).
pub(crate) fn ring_inside(inner: &[Coord], outer: &[Coord]) -> bool {
    outer.len() >= 4 && ring_in_ring(inner, outer) == Location::Inside
}

#[derive(Debug, Clone, Copy)]
struct Bbox {
    min: Coord,
    max: Coord,
}

impl Bbox {
    fn of(ring: &[Coord]) -> Self {
        let mut b = Bbox {
            min: ring[0],
            max: ring[0],
        };
        for c in ring {
            b.min.x = b.min.x.min(c.x);
            b.min.y = b.min.y.min(c.y);
            b.max.x = b.max.x.max(c.x);
            b.max.y = b.max.y.max(c.y);
        }
        b
    }

    fn intersects(&self, o: &Bbox) -> bool {
        self.min.x <= o.max.x && o.min.x <= self.max.x && self.min.y <= o.max.y && o.min.y <= self.max.y
    }
}

/// Refuses a polygon whose rings touch one another in a cycle. Rings and touch points form a
/// graph (a ring is joined to each point where it touches another ring of its polygon); the
/// interior is in one piece exactly when that graph has no cycle, as in GEOS's check. Three
/// rings meeting at one point make a star, not a cycle, and are fine.
fn check_connected_interiors(
    parts: &RawPolygons,
    touches: &mut [(usize, usize, usize, Coord)],
) -> Result<(), GeometryError> {
    fn find(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let key = |c: Coord| (c.x.to_bits(), c.y.to_bits());
    touches.sort_by_key(|t| (t.0, key(t.3)));
    for (part, group) in touches.chunk_by(|a, b| a.0 == b.0).map(|g| (g[0].0, g)) {
        let rings = parts[part].len();
        // Nodes: the rings, then each distinct touch point.
        let mut points: Vec<Coord> = group.iter().map(|t| t.3).collect();
        points.dedup_by_key(|c| key(*c));
        let mut parent: Vec<usize> = (0..rings + points.len()).collect();
        let mut links: Vec<(usize, usize)> = Vec::with_capacity(group.len() * 2);
        for &(_, ra, rb, at) in group {
            let node = rings + points.partition_point(|c| key(*c) < key(at));
            links.push((ra, node));
            links.push((rb, node));
        }
        links.sort_unstable();
        links.dedup();
        for (ring, node) in links {
            let (x, y) = (find(&mut parent, ring), find(&mut parent, node));
            if x == y {
                let at = points[node - rings];
                return Err(GeometryError::DisconnectedInterior {
                    at: Place::ring(part, ring),
                    x: at.x,
                    y: at.y,
                });
            }
            parent[x] = y;
        }
    }
    Ok(())
}

fn check_topology(parts: &RawPolygons) -> Result<(), GeometryError> {
    let all = edges(parts);
    let mut touches = Vec::new();
    // Points where a polygon's outer ring meets a ring of another polygon, by the edge they lie
    // on: (polygon of the outer ring, other polygon) -> [(edge start vertex, point)].
    let mut part_touches: HashMap<(usize, usize), Vec<(usize, Coord)>> = HashMap::new();
    for (a, b, hit) in Intersections::from_iter(all) {
        if let Some(err) = bad_intersection(&a, &b, &hit) {
            return Err(err);
        }
        let at = match hit {
            LineIntersection::SinglePoint { intersection, .. } => intersection,
            LineIntersection::Collinear { intersection } => intersection.start,
        };
        if a.part == b.part {
            if a.ring != b.ring {
                touches.push((a.part, a.ring, b.ring, at));
            }
        } else {
            for (shell_edge, other) in [(&a, &b), (&b, &a)] {
                if shell_edge.ring == 0 {
                    part_touches
                        .entry((shell_edge.part, other.part))
                        .or_default()
                        .push((shell_edge.start, at));
                }
            }
        }
    }
    // Run before the containment tests below: once no rings of a polygon touch in a cycle,
    // two of its rings share at most one point, so they cannot cross there (a closed ring
    // that enters another must leave it again) and one vertex tells on which side one lies.
    check_connected_interiors(parts, &mut touches)?;

    // With no crossings left, one vertex tells on which side of another ring a ring lies.
    let boxes: Vec<Vec<Bbox>> = parts
        .iter()
        .map(|rings| rings.iter().map(|r| Bbox::of(r)).collect())
        .collect();
    for (p, rings) in parts.iter().enumerate() {
        let shell = &rings[0];
        for (h, hole) in rings.iter().enumerate().skip(1) {
            if !boxes[p][0].intersects(&boxes[p][h]) || ring_in_ring(hole, shell) == Location::Outside {
                return Err(GeometryError::HoleOutsideShell {
                    at: Place::ring(p, h),
                });
            }
            for (o, other) in rings.iter().enumerate().skip(1) {
                if o != h
                    && boxes[p][o].intersects(&boxes[p][h])
                    && ring_in_ring(hole, other) == Location::Inside
                {
                    return Err(GeometryError::NestedHole {
                        at: Place::ring(p, h),
                        other_ring: o,
                    });
                }
            }
        }
    }

    // Polygons overlap when one's outer ring lies inside the other's area (inside its outer
    // ring and not in one of its holes). Sorted by west edge so that only neighbours are tried.
    let mut order: Vec<usize> = (0..parts.len()).collect();
    order.sort_by(|&a, &b| boxes[a][0].min.x.total_cmp(&boxes[b][0].min.x));
    for (k, &i) in order.iter().enumerate() {
        for &j in &order[k + 1..] {
            if boxes[j][0].min.x > boxes[i][0].max.x {
                break;
            }
            if !boxes[i][0].intersects(&boxes[j][0]) {
                continue;
            }
            let no_touch = Vec::new();
            let j_in_i = part_touches.get(&(j, i)).unwrap_or(&no_touch);
            let i_in_j = part_touches.get(&(i, j)).unwrap_or(&no_touch);
            if part_covers_ring(&parts[i], &parts[j][0])
                || part_covers_ring(&parts[j], &parts[i][0])
                || enters_part(&parts[i], &parts[j][0], j_in_i)
                || enters_part(&parts[j], &parts[i][0], i_in_j)
            {
                let (a, b) = (i.min(j), i.max(j));
                return Err(GeometryError::PartsOverlap {
                    at: Place {
                        part: Some(a),
                        ..Place::default()
                    },
                    other_part: b,
                });
            }
        }
    }
    Ok(())
}

/// Whether a polygon's outer ring `ring`, which meets the rings of `part` only at the points
/// `touches` (no proper crossing, no shared edge), passes through the inside of `part`. Two
/// polygons can overlap while their rings only meet at vertices (one ring enters the other
/// through a shared vertex and leaves through another); between two touch points the ring
/// keeps to one side, so the midpoint of each piece of an edge between touch points decides.
fn enters_part(part: &[Vec<Coord>], ring: &[Coord], touches: &[(usize, Coord)]) -> bool {
    let mut touches = touches.to_vec();
    touches.sort_by_key(|t| t.0);
    touches.chunk_by(|a, b| a.0 == b.0).any(|on_edge| {
        let start = on_edge[0].0;
        let (a, b) = (ring[start], ring[start + 1]);
        let along = |c: &Coord| (c.x - a.x) * (b.x - a.x) + (c.y - a.y) * (b.y - a.y);
        let mut stops: Vec<Coord> = on_edge.iter().map(|t| t.1).chain([a, b]).collect();
        stops.sort_by(|p, q| along(p).total_cmp(&along(q)));
        stops.windows(2).any(|w| {
            let mid = Coord {
                x: f64::midpoint(w[0].x, w[1].x),
                y: f64::midpoint(w[0].y, w[1].y),
            };
            w[0] != w[1]
                && locate(mid, &part[0]) == Location::Inside
                && part[1..]
                    .iter()
                    .all(|hole| locate(mid, hole) == Location::Outside)
        })
    })
}

fn part_covers_ring(part: &[Vec<Coord>], ring: &[Coord]) -> bool {
    ring_in_ring(ring, &part[0]) == Location::Inside
        && !part[1..]
            .iter()
            .any(|hole| ring_in_ring(ring, hole) != Location::Outside)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::needless_pass_by_value)]
    use super::*;

    fn ring(pts: &[(f64, f64)]) -> Vec<Coord> {
        pts.iter().map(|&(x, y)| Coord { x, y }).collect()
    }

    fn square(x0: f64, y0: f64, s: f64) -> Vec<Coord> {
        ring(&[(x0, y0), (x0 + s, y0), (x0 + s, y0 + s), (x0, y0 + s), (x0, y0)])
    }

    fn check(parts: Vec<Vec<Vec<Coord>>>) -> Result<MultiPolygon, GeometryError> {
        multi_polygon(&parts, &Rules::PARCEL)
    }

    #[test]
    fn a_hole_touching_the_shell_at_two_points_cuts_the_interior_and_is_refused() {
        // Found by the ST_IsValid oracle: PostGIS says "Interior is disconnected".
        let err = check(vec![vec![
            ring(&[(4.0, 3.0), (0.0, 7.0), (7.0, 7.0), (7.0, 0.0), (4.0, 3.0)]),
            ring(&[(7.0, 1.0), (6.0, 1.0), (5.0, 3.0), (7.0, 1.0)]),
        ]])
        .unwrap_err();
        assert_eq!(err.code(), "disconnected_interior", "{err}");
        // Touching at one point only is valid.
        let hole = ring(&[(0.0, 0.5), (0.5, 0.3), (0.5, 0.7), (0.0, 0.5)]);
        assert!(check(vec![vec![square(0.0, 0.0, 1.0), hole]]).is_ok());
    }

    #[test]
    fn polygons_that_overlap_through_shared_vertices_are_refused() {
        // Found by the ST_IsValid oracle: the second triangle's edge joins two vertices of the
        // first polygon, whose vertex (1, 5) lies inside the triangle.
        let err = check(vec![
            vec![ring(&[
                (0.0, 0.0),
                (4.0, 1.0),
                (1.0, 5.0),
                (0.0, 6.0),
                (0.0, 0.0),
            ])],
            vec![ring(&[(4.0, 1.0), (0.0, 6.0), (5.0, 2.0), (4.0, 1.0)])],
        ])
        .unwrap_err();
        assert_eq!(err.code(), "parts_overlap", "{err}");
    }

    #[test]
    fn a_square_with_a_hole_and_a_second_part_is_valid() {
        let mut hole = square(0.2, 0.2, 0.2);
        hole.reverse();
        let mp = check(vec![
            vec![square(0.0, 0.0, 1.0), hole],
            vec![square(2.0, 0.0, 1.0)],
        ])
        .unwrap();
        assert_eq!(mp.0.len(), 2);
        assert_eq!(mp.0[0].interiors().len(), 1);
    }

    #[test]
    fn an_unclosed_ring_is_refused_with_its_place() {
        let mut r = square(0.0, 0.0, 1.0);
        r.pop();
        let err = check(vec![vec![r]]).unwrap_err().in_feature(7);
        assert_eq!(err.code(), "unclosed_ring");
        assert_eq!(
            err.place(),
            Place {
                feature: Some(7),
                part: Some(0),
                ring: Some(0),
                vertex: None
            }
        );
    }

    #[test]
    fn a_three_point_ring_is_refused() {
        let err = check(vec![vec![ring(&[(0.0, 0.0), (1.0, 0.0), (0.0, 0.0)])]]).unwrap_err();
        assert!(
            matches!(err, GeometryError::TooFewPoints { count: 3, .. }),
            "{err}"
        );
    }

    #[test]
    fn a_ring_of_repeated_points_is_refused() {
        let err = check(vec![vec![ring(&[
            (0.0, 0.0),
            (1.0, 0.0),
            (1.0, 0.0),
            (0.0, 0.0),
        ])]])
        .unwrap_err();
        assert!(
            matches!(err, GeometryError::TooFewDistinctPoints { distinct: 2, .. }),
            "{err}"
        );
    }

    #[test]
    fn nan_and_infinity_are_refused_at_their_vertex() {
        let mut r = square(0.0, 0.0, 1.0);
        r[2].y = f64::NAN;
        let err = check(vec![vec![r]]).unwrap_err();
        assert_eq!(
            err,
            GeometryError::NonFinite {
                at: Place::vertex(0, 0, 2)
            }
        );
        let mut r = square(0.0, 0.0, 1.0);
        r[1].x = f64::INFINITY;
        assert_eq!(check(vec![vec![r]]).unwrap_err().code(), "non_finite");
    }

    #[test]
    fn out_of_range_coordinates_are_refused_with_a_hint() {
        let r = ring(&[(32.0, 109.0), (32.1, 109.0), (32.1, 109.1), (32.0, 109.0)]);
        let err = check(vec![vec![r]]).unwrap_err();
        assert_eq!(err.code(), "out_of_range");
        assert!(err.to_string().contains("swapped"), "{err}");
        let r = ring(&[
            (36_596_505.0, 3_618_282.0),
            (36_596_605.0, 3_618_282.0),
            (36_596_605.0, 3_618_382.0),
            (36_596_505.0, 3_618_282.0),
        ]);
        assert!(check(vec![vec![r]])
            .unwrap_err()
            .to_string()
            .contains("projected"));
        let r = ring(&[
            (36_596_505.0, 3_618_282.0),
            (36_596_605.0, 3_618_282.0),
            (36_596_605.0, 3_618_382.0),
            (36_596_505.0, 3_618_282.0),
        ]);
        assert!(multi_polygon(&[vec![r]], &Rules::PROJECTED).is_ok());
    }

    #[test]
    fn a_bow_tie_is_a_self_intersection_between_edges_0_and_2() {
        let r = ring(&[(0.0, 0.0), (1.0, 1.0), (1.0, 0.0), (0.0, 1.0), (0.0, 0.0)]);
        let err = check(vec![vec![r]]).unwrap_err();
        assert_eq!(
            err,
            GeometryError::SelfIntersection {
                at: Place::vertex(0, 0, 0),
                other_vertex: 2
            }
        );
        assert_eq!(
            err.to_string(),
            "polygon 0, ring 0 (outer), vertex 0: the ring intersects itself: the edge from vertex 0 meets the edge from vertex 2"
        );
    }

    #[test]
    fn a_ring_touching_itself_at_a_vertex_is_refused() {
        // A figure of eight through (1, 1).
        let r = ring(&[
            (0.0, 0.0),
            (1.0, 1.0),
            (2.0, 0.0),
            (2.0, 2.0),
            (1.0, 1.0),
            (0.0, 2.0),
            (0.0, 0.0),
        ]);
        assert_eq!(check(vec![vec![r]]).unwrap_err().code(), "self_intersection");
    }

    #[test]
    fn a_spike_is_refused() {
        let r = ring(&[
            (0.0, 0.0),
            (2.0, 0.0),
            (2.0, 1.0),
            (3.0, 1.0),
            (2.0, 1.0),
            (0.0, 1.0),
            (0.0, 0.0),
        ]);
        assert_eq!(check(vec![vec![r]]).unwrap_err().code(), "self_intersection");
    }

    #[test]
    fn repeated_vertices_are_accepted() {
        let r = ring(&[
            (0.0, 0.0),
            (1.0, 0.0),
            (1.0, 0.0),
            (1.0, 1.0),
            (0.0, 1.0),
            (0.0, 0.0),
        ]);
        assert!(check(vec![vec![r]]).is_ok());
    }

    #[test]
    fn a_hole_crossing_its_shell_is_refused() {
        let err = check(vec![vec![square(0.0, 0.0, 1.0), square(0.5, 0.5, 1.0)]]).unwrap_err();
        assert_eq!(err.code(), "rings_intersect");
    }

    #[test]
    fn a_hole_outside_its_shell_is_refused() {
        let err = check(vec![vec![square(0.0, 0.0, 1.0), square(2.0, 2.0, 0.5)]]).unwrap_err();
        assert_eq!(
            err,
            GeometryError::HoleOutsideShell {
                at: Place::ring(0, 1)
            }
        );
    }

    #[test]
    fn a_hole_touching_its_shell_at_one_point_is_accepted() {
        let hole = ring(&[(0.0, 0.5), (0.5, 0.25), (0.5, 0.75), (0.0, 0.5)]);
        assert!(check(vec![vec![square(0.0, 0.0, 1.0), hole]]).is_ok());
    }

    #[test]
    fn a_hole_inside_a_hole_is_refused() {
        let err = check(vec![vec![
            square(0.0, 0.0, 10.0),
            square(1.0, 1.0, 5.0),
            square(2.0, 2.0, 1.0),
        ]])
        .unwrap_err();
        assert_eq!(
            err,
            GeometryError::NestedHole {
                at: Place::ring(0, 2),
                other_ring: 1
            }
        );
    }

    #[test]
    fn overlapping_parts_are_refused_and_an_island_in_a_hole_is_accepted() {
        let err = check(vec![vec![square(0.0, 0.0, 10.0)], vec![square(1.0, 1.0, 2.0)]]).unwrap_err();
        assert_eq!(err.code(), "parts_overlap");
        let err = check(vec![vec![square(0.0, 0.0, 2.0)], vec![square(1.0, 1.0, 2.0)]]).unwrap_err();
        assert_eq!(err.code(), "rings_intersect");
        let island = check(vec![
            vec![square(0.0, 0.0, 10.0), square(1.0, 1.0, 5.0)],
            vec![square(2.0, 2.0, 1.0)],
        ]);
        assert!(island.is_ok(), "{island:?}");
    }

    #[test]
    fn parts_sharing_an_edge_are_refused_and_parts_sharing_a_corner_are_accepted() {
        assert_eq!(
            check(vec![vec![square(0.0, 0.0, 1.0)], vec![square(1.0, 0.0, 1.0)]])
                .unwrap_err()
                .code(),
            "rings_intersect"
        );
        assert!(check(vec![vec![square(0.0, 0.0, 1.0)], vec![square(1.0, 1.0, 1.0)]]).is_ok());
    }

    #[test]
    fn empty_geometry_is_refused() {
        assert_eq!(check(vec![]).unwrap_err().code(), "empty");
        assert_eq!(check(vec![vec![]]).unwrap_err().code(), "empty");
        assert_eq!(check(vec![vec![vec![]]]).unwrap_err().code(), "too_few_points");
    }

    #[test]
    fn the_vertex_cap_is_enforced() {
        let rules = Rules {
            max_vertices: Some(4),
            bounds: Bounds::LonLat,
        };
        let err = multi_polygon(&[vec![square(0.0, 0.0, 1.0)]], &rules).unwrap_err();
        assert!(matches!(
            err,
            GeometryError::TooManyVertices { count: 5, max: 4, .. }
        ));
    }

    #[test]
    fn a_2000_vertex_self_intersecting_ring_is_found_quickly() {
        // A star polygon {2000/999}: every edge crosses others.
        let n = 2000;
        let mut r: Vec<Coord> = (0..n)
            .map(|i| {
                let t = f64::from(i) * 999.0 * std::f64::consts::TAU / f64::from(n);
                Coord {
                    x: 109.0 + 0.01 * t.cos(),
                    y: 32.0 + 0.01 * t.sin(),
                }
            })
            .collect();
        r.push(r[0]);
        assert_eq!(check(vec![vec![r]]).unwrap_err().code(), "self_intersection");
    }

    #[test]
    fn a_100000_vertex_ring_is_checked_in_linear_time() {
        let n = 100_000;
        let mut r: Vec<Coord> = (0..n)
            .map(|i| {
                let t = f64::from(i) * std::f64::consts::TAU / f64::from(n);
                Coord {
                    x: 109.0 + 0.1 * t.cos(),
                    y: 32.0 + 0.1 * t.sin(),
                }
            })
            .collect();
        r.push(r[0]);
        let started = std::time::Instant::now();
        let rules = Rules {
            max_vertices: None,
            bounds: Bounds::LonLat,
        };
        assert!(multi_polygon(&[vec![r]], &rules).is_ok());
        assert!(started.elapsed().as_secs() < 5, "{:?}", started.elapsed());
    }

    #[test]
    fn locate_answers_inside_outside_and_boundary() {
        let s = square(0.0, 0.0, 1.0);
        assert_eq!(locate(Coord { x: 0.5, y: 0.5 }, &s), Location::Inside);
        assert_eq!(locate(Coord { x: 1.5, y: 0.5 }, &s), Location::Outside);
        assert_eq!(locate(Coord { x: 1.0, y: 0.5 }, &s), Location::Boundary);
        let mut cw = s.clone();
        cw.reverse();
        assert_eq!(locate(Coord { x: 0.5, y: 0.5 }, &cw), Location::Inside);
    }
}
