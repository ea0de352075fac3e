//! GeoJSON out, as RFC 7946 asks: lon/lat (EPSG:4490, which RFC 7946 readers take as WGS 84;
//! the two agree to centimetres), outer rings counter-clockwise and holes clockwise. PostGIS
//! and desktop exports often write the opposite winding, which `ST_IsValid` accepts but strict
//! GeoJSON readers do not.

use geo::{orient::Direction, Orient};
use geo_types::{Geometry, MultiPolygon};
use serde_json::{Map, Value};

/// A multipolygon as a GeoJSON geometry, rewound per RFC 7946.
///
/// ```
/// use geo_types::polygon;
/// use landuse_spatial::geojson_out::multi_polygon;
/// // Clockwise in, counter-clockwise out.
/// let cw = polygon![(x: 0.0, y: 0.0), (x: 0.0, y: 1.0), (x: 1.0, y: 1.0), (x: 1.0, y: 0.0)];
/// let g = multi_polygon(&cw.into());
/// let json = serde_json::to_value(&g).unwrap();
/// assert_eq!(json["coordinates"][0][0][1], serde_json::json!([1.0, 0.0]));
/// ```
pub fn multi_polygon(mp: &MultiPolygon) -> geojson::Geometry {
    geojson::Geometry::from(&mp.orient(Direction::Default))
}

/// Any geometry as GeoJSON; polygons are rewound per RFC 7946.
pub fn geometry(g: &Geometry) -> geojson::Geometry {
    let oriented = match g {
        Geometry::Polygon(p) => Geometry::Polygon(p.orient(Direction::Default)),
        Geometry::MultiPolygon(mp) => Geometry::MultiPolygon(mp.orient(Direction::Default)),
        other => other.clone(),
    };
    geojson::Geometry::from(&oriented)
}

/// A feature with an id, properties and a geometry.
pub fn feature(
    id: Option<String>,
    properties: Map<String, Value>,
    geometry: geojson::Geometry,
) -> geojson::Feature {
    geojson::Feature {
        bbox: None,
        geometry: Some(geometry),
        id: id.map(geojson::feature::Id::String),
        properties: Some(properties),
        foreign_members: None,
    }
}

/// A `FeatureCollection` of features.
pub fn feature_collection(features: Vec<geojson::Feature>) -> geojson::FeatureCollection {
    geojson::FeatureCollection {
        bbox: None,
        features,
        foreign_members: None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use geo_types::{LineString, Polygon};

    #[test]
    fn holes_come_out_clockwise_and_shells_counter_clockwise() {
        // Shell clockwise, hole counter-clockwise: both wrong for RFC 7946.
        let shell = LineString::from(vec![
            (0.0, 0.0),
            (0.0, 10.0),
            (10.0, 10.0),
            (10.0, 0.0),
            (0.0, 0.0),
        ]);
        let hole = LineString::from(vec![(2.0, 2.0), (4.0, 2.0), (4.0, 4.0), (2.0, 4.0), (2.0, 2.0)]);
        let g = multi_polygon(&Polygon::new(shell, vec![hole]).into());
        let json = serde_json::to_value(&g).unwrap();
        let signed = |ring: &Value| {
            let pts: Vec<(f64, f64)> = ring
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap()))
                .collect();
            pts.windows(2)
                .map(|w| w[0].0 * w[1].1 - w[1].0 * w[0].1)
                .sum::<f64>()
                / 2.0
        };
        assert!(signed(&json["coordinates"][0][0]) > 0.0);
        assert!(signed(&json["coordinates"][0][1]) < 0.0);
        assert_eq!(json["type"], "MultiPolygon");
    }
}
