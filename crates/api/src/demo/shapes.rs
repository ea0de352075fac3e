//! Simple, valid shapes from a seeded generator, and a GeoJSON writer whose bytes depend on
//! nothing but the values: keys in sorted order, coordinates with six decimals (about 0.1 m).
//!
//! Every polygon is star-shaped around its centre (vertices at strictly increasing angles),
//! then stretched and turned by an affine map, so it never crosses itself; holes are smaller
//! stars around the same centre, well inside the outer ring. Bands follow a centre line whose
//! heading stays within 60° of where it started, so their two sides never meet.

use std::{collections::BTreeMap, f64::consts::TAU, fmt::Write as _};

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// A point, lon/lat in degrees.
pub type Point = (f64, f64);

/// A ring of points, closed (the last point repeats the first).
pub type Ring = Vec<Point>;

/// A property value.
#[derive(Debug, Clone, PartialEq)]
pub enum Prop {
    /// Text.
    Text(String),
    /// A whole number.
    Int(i64),
}

impl From<&str> for Prop {
    fn from(value: &str) -> Self {
        Prop::Text(value.to_owned())
    }
}

impl From<String> for Prop {
    fn from(value: String) -> Self {
        Prop::Text(value)
    }
}

impl From<i64> for Prop {
    fn from(value: i64) -> Self {
        Prop::Int(value)
    }
}

/// A geometry to write.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// A point.
    Point(Point),
    /// A polygon: the outer ring, then holes.
    Polygon(Vec<Ring>),
}

/// One feature: a shape and its properties (kept sorted by key).
#[derive(Debug, Clone, PartialEq)]
pub struct Feature {
    /// The shape.
    pub shape: Shape,
    /// The properties.
    pub properties: BTreeMap<&'static str, Prop>,
}

impl Feature {
    /// A feature with the given properties.
    pub fn new(shape: Shape, properties: impl IntoIterator<Item = (&'static str, Prop)>) -> Self {
        Self {
            shape,
            properties: properties.into_iter().collect(),
        }
    }
}

/// How a star-shaped polygon is drawn.
#[derive(Debug, Clone, Copy)]
pub struct Star {
    /// Centre.
    pub centre: Point,
    /// Mean radius in degrees of latitude.
    pub radius: f64,
    /// Number of vertices (at least 12, so a hole fits inside).
    pub vertices: usize,
    /// Stretch along the main axis (1 = round).
    pub stretch: f64,
    /// Direction of the main axis, in radians from east.
    pub heading: f64,
}

/// Draws a star-shaped ring around `star.centre`; radii vary between `low` and `high` times
/// the mean radius.
fn star_ring(rng: &mut ChaCha8Rng, star: &Star, low: f64, high: f64) -> Ring {
    let n = star.vertices.max(12);
    let step = TAU / n as f64;
    let (sin_h, cos_h) = star.heading.sin_cos();
    let lon_scale = 1.0 / star.centre.1.to_radians().cos();
    let mut ring = Vec::with_capacity(n + 1);
    for i in 0..n {
        let angle = step * (i as f64 + rng.random_range(-0.3..0.3));
        let r = star.radius * rng.random_range(low..high);
        let (x, y) = (
            r * angle.cos() * star.stretch,
            r * angle.sin() / star.stretch.sqrt(),
        );
        let (dx, dy) = (x * cos_h - y * sin_h, x * sin_h + y * cos_h);
        ring.push((star.centre.0 + dx * lon_scale, star.centre.1 + dy));
    }
    ring.push(ring[0]);
    ring
}

/// An irregular polygon around `star.centre`, with a hole when `hole` is set.
pub fn star_polygon(rng: &mut ChaCha8Rng, star: &Star, hole: bool) -> Vec<Ring> {
    let outer = star_ring(rng, star, 0.65, 1.0);
    if !hole {
        return vec![outer];
    }
    let inner = Star {
        vertices: 12,
        ..*star
    };
    let mut inner = star_ring(rng, &inner, 0.15, 0.3);
    // Holes run clockwise (RFC 7946 §3.1.6).
    inner.reverse();
    vec![outer, inner]
}

/// A band of `half_width` degrees on either side of a wandering centre line of `steps` steps
/// of `step` degrees, starting at `start` heading `heading` (radians from east).
pub fn band(
    rng: &mut ChaCha8Rng,
    start: Point,
    heading: f64,
    steps: usize,
    step: f64,
    half_width: f64,
) -> Vec<Ring> {
    let lon_scale = 1.0 / start.1.to_radians().cos();
    let mut line = vec![start];
    let mut angle = heading;
    for _ in 0..steps.max(2) {
        angle = (angle + rng.random_range(-0.15..0.15)).clamp(heading - 1.0, heading + 1.0);
        let last = line[line.len() - 1];
        line.push((
            last.0 + step * angle.cos() * lon_scale,
            last.1 + step * angle.sin(),
        ));
    }
    let mut left = Vec::with_capacity(line.len());
    let mut right = Vec::with_capacity(line.len());
    for i in 0..line.len() {
        let (a, b) = (line[i.saturating_sub(1)], line[(i + 1).min(line.len() - 1)]);
        let direction = ((b.1 - a.1).atan2((b.0 - a.0) / lon_scale)).rem_euclid(TAU);
        let w = half_width * rng.random_range(0.7..1.0);
        let (nx, ny) = (-direction.sin() * w * lon_scale, direction.cos() * w);
        left.push((line[i].0 + nx, line[i].1 + ny));
        right.push((line[i].0 - nx, line[i].1 - ny));
    }
    right.reverse();
    let mut ring = right;
    ring.extend(left);
    ring.push(ring[0]);
    vec![ring]
}

/// A band between two wavy parallels: from `west` to `east`, between `south(lon)` and
/// `north(lon)` (which must lie above `south` everywhere).
pub fn zone(west: f64, east: f64, south: impl Fn(f64) -> f64, north: impl Fn(f64) -> f64) -> Vec<Ring> {
    let n = 60;
    let lon = |i: usize| west + (east - west) * i as f64 / n as f64;
    let mut ring: Ring = (0..=n).map(|i| (lon(i), south(lon(i)))).collect();
    ring.extend((0..=n).rev().map(|i| (lon(i), north(lon(i)))));
    ring.push(ring[0]);
    vec![ring]
}

fn write_point(out: &mut String, (lon, lat): Point) {
    let _ = write!(out, "[{lon:.6},{lat:.6}]");
}

fn write_string(out: &mut String, text: &str) {
    // serde_json escapes exactly as JSON needs and does not reorder anything in a string.
    out.push_str(&serde_json::Value::String(text.to_owned()).to_string());
}

/// Writes one feature as a line of JSON.
pub fn write_feature(out: &mut String, feature: &Feature) {
    out.push_str("{\"geometry\":{\"coordinates\":");
    let kind = match &feature.shape {
        Shape::Point(p) => {
            write_point(out, *p);
            "Point"
        }
        Shape::Polygon(rings) => {
            out.push('[');
            for (r, ring) in rings.iter().enumerate() {
                if r > 0 {
                    out.push(',');
                }
                out.push('[');
                for (i, p) in ring.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_point(out, *p);
                }
                out.push(']');
            }
            out.push(']');
            "Polygon"
        }
    };
    let _ = write!(out, ",\"type\":\"{kind}\"}},\"properties\":{{");
    for (i, (key, value)) in feature.properties.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(out, key);
        out.push(':');
        match value {
            Prop::Text(text) => write_string(out, text),
            Prop::Int(n) => {
                let _ = write!(out, "{n}");
            }
        }
    }
    out.push_str("},\"type\":\"Feature\"}");
}

/// Writes a `FeatureCollection`, one feature per line.
pub fn feature_collection(features: &[Feature]) -> String {
    let mut out = String::from("{\"features\":[\n");
    for (i, feature) in features.iter().enumerate() {
        if i > 0 {
            out.push_str(",\n");
        }
        write_feature(&mut out, feature);
    }
    out.push_str("\n],\"type\":\"FeatureCollection\"}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn a_feature_is_written_with_sorted_keys_and_six_decimals() {
        let feature = Feature::new(
            Shape::Point((109.03, 32.69)),
            [("name", Prop::from("安康")), ("BSM", Prop::from(7))],
        );
        let mut out = String::new();
        write_feature(&mut out, &feature);
        assert_eq!(
            out,
            r#"{"geometry":{"coordinates":[109.030000,32.690000],"type":"Point"},"properties":{"BSM":7,"name":"安康"},"type":"Feature"}"#
        );
    }

    #[test]
    fn a_star_polygon_is_closed_and_its_hole_lies_inside() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let star = Star {
            centre: (109.0, 32.7),
            radius: 0.01,
            vertices: 20,
            stretch: 1.0,
            heading: 0.0,
        };
        let rings = star_polygon(&mut rng, &star, true);
        assert_eq!(rings.len(), 2);
        assert_eq!(rings[0].first(), rings[0].last());
        let max_hole = rings[1]
            .iter()
            .map(|p| (p.0 - 109.0).hypot(p.1 - 32.7))
            .fold(0.0, f64::max);
        let min_outer = rings[0]
            .iter()
            .map(|p| (p.0 - 109.0).hypot(p.1 - 32.7))
            .fold(f64::MAX, f64::min);
        assert!(max_hole < min_outer, "{max_hole} < {min_outer}");
    }
}
