//! The report's map: parcels and overlaps over the control features, drawn as SVG from the
//! geometries in planar metres.
//!
//! The caller projects everything to the parcels' Gauss–Krüger zone first (the spatial crate
//! holds the CRS code), so one millimetre on paper is the same number of metres everywhere on
//! the map and the scale bar is true. The map sits at a fixed place on the first page
//! ([`MAP_LEFT_MM`], [`MAP_TOP_MM`]), so a point's place on the printed page follows from
//! [`Frame::page_mm`]: the tests render the PDF and look there.
//!
//! ```
//! use geo_types::{polygon, MultiPolygon};
//! use landuse_report::map::{Frame, MapInput};
//! let square = polygon![(x: 0.0, y: 0.0), (x: 100.0, y: 0.0), (x: 100.0, y: 100.0), (x: 0.0, y: 100.0)];
//! let map = MapInput { parcels: vec![MultiPolygon(vec![square])], ..MapInput::default() };
//! let frame = Frame::of(&map).unwrap();
//! let (x, y) = frame.page_mm(50.0, 50.0);
//! // The parcel's centre is the map's centre.
//! assert!((x - (landuse_report::map::MAP_LEFT_MM + 87.0)).abs() < 1e-9);
//! assert!((y - (landuse_report::map::MAP_TOP_MM + 59.0)).abs() < 1e-9);
//! ```

use std::fmt::Write as _;

use geo_types::{Coord, Geometry, LineString, MultiPolygon, Polygon};

/// Width of the map on the page.
pub const MAP_WIDTH_MM: f64 = 174.0;
/// Height of the map on the page.
pub const MAP_HEIGHT_MM: f64 = 118.0;
/// Left edge of the map on the page (the page's left margin).
pub const MAP_LEFT_MM: f64 = 18.0;
/// Top edge of the map on the page: the top margin and the header block above it.
pub const MAP_TOP_MM: f64 = 18.0 + HEADER_MM;
/// Height of the first page's header block, above the map.
pub const HEADER_MM: f64 = 74.0;

/// The smallest ground margin around the parcels, in metres, so a small parcel still shows
/// its neighbourhood.
const MIN_MARGIN_M: f64 = 60.0;
/// The margin around the parcels as a share of their extent.
const MARGIN_SHARE: f64 = 0.25;

/// What the map draws, in planar metres (x east, y north) of one Gauss–Krüger zone.
#[derive(Debug, Clone, Default)]
pub struct MapInput {
    /// The projection, as the caption names it.
    pub crs: String,
    /// The case's parcels.
    pub parcels: Vec<MultiPolygon<f64>>,
    /// The overlaps of the check's hits.
    pub overlaps: Vec<Shape>,
    /// The control features around the parcels.
    pub features: Vec<Shape>,
}

/// One drawn geometry of a layer.
#[derive(Debug, Clone)]
pub struct Shape {
    /// The layer's code: its colour.
    pub kind: String,
    /// A dismissed hit: drawn dashed, not filled.
    pub dismissed: bool,
    /// The geometry, in the map's planar metres.
    pub geometry: Geometry<f64>,
}

/// The colour of a layer kind, the same on the review page and in the report: strong, distinct
/// hues for what blocks a case, softer ones for what only needs a document.
pub fn colour(kind: &str) -> &'static str {
    match kind {
        "permanent_farmland" => "#e69f00",
        "ecological_redline" => "#d7191c",
        "urban_boundary" => "#7b3294",
        "cultivated_land" => "#1a9641",
        "qinling_core" => "#a6611a",
        "qinling_key" => "#c2a25a",
        "qinling_general" => "#5ab4ac",
        "nature_reserve_core" => "#01665e",
        "nature_reserve_general" => "#67a9cf",
        "geohazard" => "#f46d43",
        "mineral_deposit" => "#2b83ba",
        "mineral_whitelist" => "#8c8c8c",
        "construction_land" => "#525252",
        _ => "#333333",
    }
}

/// Where a layer's overlaps are drawn among the others, bottom (0) to top: the most severe
/// rule on top, so a farmland overlap shows over the cultivated land it lies on. The review
/// page uses the same order.
pub fn draw_order(kind: &str) -> u8 {
    match kind {
        "construction_land" => 1,
        "mineral_whitelist" => 2,
        "urban_boundary" => 3,
        "cultivated_land" => 4,
        "mineral_deposit" => 5,
        "geohazard" => 6,
        "qinling_general" => 7,
        "nature_reserve_general" => 8,
        "qinling_key" => 9,
        "qinling_core" => 10,
        "nature_reserve_core" => 11,
        "ecological_redline" => 12,
        "permanent_farmland" => 13,
        _ => 0,
    }
}

/// Where the map's ground lies on the page.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frame {
    /// West edge, metres.
    pub min_x: f64,
    /// North edge, metres.
    pub max_y: f64,
    /// Ground metres per millimetre of paper.
    pub m_per_mm: f64,
}

impl Frame {
    /// The frame around the parcels with a margin, stretched to the map's proportions;
    /// `None` without parcels.
    pub fn of(map: &MapInput) -> Option<Self> {
        let mut bounds: Option<(f64, f64, f64, f64)> = None;
        for coord in map
            .parcels
            .iter()
            .flat_map(|mp| mp.0.iter())
            .flat_map(|p| p.exterior().0.iter())
        {
            bounds = Some(match bounds {
                None => (coord.x, coord.y, coord.x, coord.y),
                Some((a, b, c, d)) => (a.min(coord.x), b.min(coord.y), c.max(coord.x), d.max(coord.y)),
            });
        }
        let (min_x, min_y, max_x, max_y) = bounds?;
        let (width, height) = (max_x - min_x, max_y - min_y);
        let margin = (width.max(height) * MARGIN_SHARE).max(MIN_MARGIN_M);
        let (width, height) = (width + 2.0 * margin, height + 2.0 * margin);
        let m_per_mm = (width / MAP_WIDTH_MM).max(height / MAP_HEIGHT_MM);
        let (cx, cy) = (f64::midpoint(min_x, max_x), f64::midpoint(min_y, max_y));
        Some(Self {
            min_x: cx - m_per_mm * MAP_WIDTH_MM / 2.0,
            max_y: cy + m_per_mm * MAP_HEIGHT_MM / 2.0,
            m_per_mm,
        })
    }

    /// A ground point's place within the map, in millimetres from its top-left corner.
    pub fn map_mm(&self, x: f64, y: f64) -> (f64, f64) {
        ((x - self.min_x) / self.m_per_mm, (self.max_y - y) / self.m_per_mm)
    }

    /// A ground point's place on the first page, in millimetres from its top-left corner.
    pub fn page_mm(&self, x: f64, y: f64) -> (f64, f64) {
        let (x, y) = self.map_mm(x, y);
        (MAP_LEFT_MM + x, MAP_TOP_MM + y)
    }

    /// The scale as 1:N, N rounded to a whole number.
    pub fn scale_denominator(&self) -> f64 {
        (self.m_per_mm * 1000.0).round()
    }

    /// A scale bar of a round length: its ground length in metres and its length on paper.
    pub fn scale_bar(&self) -> (f64, f64) {
        let target = self.m_per_mm * MAP_WIDTH_MM / 5.0;
        let magnitude = 10f64.powf(target.log10().floor());
        let step = [1.0, 2.0, 5.0, 10.0]
            .into_iter()
            .map(|f| f * magnitude)
            .take_while(|l| *l <= target)
            .last()
            .unwrap_or(magnitude);
        (step, step / self.m_per_mm)
    }
}

/// The map as an SVG document of [`MAP_WIDTH_MM`] × [`MAP_HEIGHT_MM`], in millimetres: control
/// features tinted, overlaps filled in their rule's colour (dismissed ones dashed), parcels
/// outlined on top, and a north arrow. Text stays out of the SVG: the legend and the scale are
/// set by the document in its own fonts, so they stay searchable text.
pub fn svg(map: &MapInput, frame: &Frame) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let (w, h) = (MAP_WIDTH_MM, MAP_HEIGHT_MM);
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}mm" height="{h}mm" viewBox="0 0 {w} {h}"><defs><clipPath id="frame"><rect x="0" y="0" width="{w}" height="{h}"/></clipPath></defs><rect x="0" y="0" width="{w}" height="{h}" fill="#ffffff"/><g clip-path="url(#frame)">"##,
    );
    for shape in &map.features {
        let c = colour(&shape.kind);
        let style = format!(
            r#"fill="{c}" fill-opacity="0.16" stroke="{c}" stroke-opacity="0.8" stroke-width="0.25""#
        );
        draw(&mut out, &shape.geometry, frame, &style);
    }
    let mut counted: Vec<&Shape> = map.overlaps.iter().filter(|s| !s.dismissed).collect();
    counted.sort_by_key(|s| draw_order(&s.kind));
    for shape in counted {
        let c = colour(&shape.kind);
        let style = format!(r#"fill="{c}" stroke="{c}" stroke-width="0.15""#);
        draw(&mut out, &shape.geometry, frame, &style);
    }
    for shape in map.overlaps.iter().filter(|s| s.dismissed) {
        let c = colour(&shape.kind);
        let style = format!(r#"fill="none" stroke="{c}" stroke-width="0.4" stroke-dasharray="1.2 0.8""#);
        draw(&mut out, &shape.geometry, frame, &style);
    }
    for parcel in &map.parcels {
        let style = r##"fill="none" stroke="#000000" stroke-width="0.5""##;
        draw(&mut out, &Geometry::MultiPolygon(parcel.clone()), frame, style);
    }
    out.push_str("</g>");
    // North arrow, top right: the map's y axis is grid north.
    let (ax, ay) = (MAP_WIDTH_MM - 8.0, 5.0);
    let _ = write!(
        out,
        r##"<path d="M {ax} {ay} L {r} {b} L {ax} {m} L {l} {b} Z" fill="#000000"/>"##,
        r = ax + 2.5,
        l = ax - 2.5,
        b = ay + 8.0,
        m = ay + 6.0,
    );
    let _ = write!(
        out,
        r##"<rect x="0" y="0" width="{MAP_WIDTH_MM}" height="{MAP_HEIGHT_MM}" fill="none" stroke="#000000" stroke-width="0.4"/></svg>"##
    );
    out
}

fn draw(out: &mut String, geometry: &Geometry<f64>, frame: &Frame, style: &str) {
    match geometry {
        Geometry::Polygon(p) => polygon(out, p, frame, style),
        Geometry::MultiPolygon(mp) => {
            for p in &mp.0 {
                polygon(out, p, frame, style);
            }
        }
        Geometry::Point(p) => {
            let (x, y) = frame.map_mm(p.x(), p.y());
            let _ = write!(out, r#"<circle cx="{x:.2}" cy="{y:.2}" r="1.2" {style}/>"#);
        }
        Geometry::MultiPoint(points) => {
            for p in &points.0 {
                draw(out, &Geometry::Point(*p), frame, style);
            }
        }
        Geometry::GeometryCollection(items) => {
            for g in &items.0 {
                draw(out, g, frame, style);
            }
        }
        // Lines and the rest have no area: a check's overlaps and control features never are.
        _ => {}
    }
}

fn polygon(out: &mut String, p: &Polygon<f64>, frame: &Frame, style: &str) {
    let mut d = String::new();
    ring(&mut d, p.exterior(), frame);
    for hole in p.interiors() {
        ring(&mut d, hole, frame);
    }
    if !d.is_empty() {
        let _ = write!(out, r#"<path fill-rule="evenodd" d="{d}" {style}/>"#);
    }
}

/// A ring as path data, to a hundredth of a millimetre, with points that fall on the same
/// hundredth left out (a 100,000-vertex feature draws what the paper can show).
fn ring(d: &mut String, ring: &LineString<f64>, frame: &Frame) {
    let mut last: Option<(i64, i64)> = None;
    let mut count = 0;
    for Coord { x, y } in ring.coords().copied() {
        let (mx, my) = frame.map_mm(x, y);
        let key = ((mx * 100.0).round() as i64, (my * 100.0).round() as i64);
        if last == Some(key) {
            continue;
        }
        let _ = write!(d, "{}{:.2} {:.2} ", if count == 0 { "M" } else { "L" }, mx, my);
        last = Some(key);
        count += 1;
    }
    if count > 0 {
        d.push_str("Z ");
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use geo_types::polygon;

    use super::*;

    fn map_of(side: f64) -> MapInput {
        let square = polygon![(x: 0.0, y: 0.0), (x: side, y: 0.0), (x: side, y: side), (x: 0.0, y: side)];
        MapInput {
            parcels: vec![MultiPolygon(vec![square])],
            ..MapInput::default()
        }
    }

    #[test]
    fn the_frame_keeps_a_margin_and_the_maps_proportions() {
        let frame = Frame::of(&map_of(1000.0)).unwrap();
        // 1000 m plus 250 m each side is 1500 m over the map's 118 mm height.
        assert!((frame.m_per_mm - 1500.0 / MAP_HEIGHT_MM).abs() < 1e-9);
        let (x0, y0) = frame.map_mm(0.0, 1000.0);
        assert!(x0 > 0.0 && y0 > 0.0);
        assert!(frame.map_mm(1000.0, 0.0).0 < MAP_WIDTH_MM);
    }

    #[test]
    fn the_scale_bar_is_a_round_length_drawn_to_scale() {
        let frame = Frame::of(&map_of(1000.0)).unwrap();
        let (ground, paper) = frame.scale_bar();
        assert!([100.0, 200.0, 500.0].contains(&ground), "{ground}");
        assert!((paper * frame.m_per_mm - ground).abs() < 1e-9);
    }

    #[test]
    fn the_svg_fills_overlaps_in_their_rules_colour_and_dashes_dismissed_ones() {
        let mut map = map_of(100.0);
        let piece = polygon![(x: 0.0, y: 0.0), (x: 50.0, y: 0.0), (x: 50.0, y: 50.0), (x: 0.0, y: 50.0)];
        map.overlaps.push(Shape {
            kind: "permanent_farmland".into(),
            dismissed: false,
            geometry: Geometry::Polygon(piece.clone()),
        });
        map.overlaps.push(Shape {
            kind: "cultivated_land".into(),
            dismissed: true,
            geometry: Geometry::Polygon(piece),
        });
        let svg = svg(&map, &Frame::of(&map).unwrap());
        assert!(svg.contains(r##"fill="#e69f00" stroke="#e69f00""##));
        assert!(svg.contains(r##"fill="none" stroke="#1a9641" stroke-width="0.4" stroke-dasharray"##));
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    }
}
