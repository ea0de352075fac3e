//! Geometry to and from WKB, the form it crosses to PostGIS in (`ST_GeomFromWKB($1, 4490)` and
//! `ST_AsBinary`). Never GeoJSON text: `ST_GeomFromGeoJSON` honours a `crs` member and takes
//! what the validator refuses.

use geo_traits::to_geo::ToGeoGeometry;
use geo_types::{Geometry, MultiPolygon, Point};
use wkb::writer::{write_geometry, WriteOptions};

/// Why WKB could not be written or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WkbError {
    /// Encoding failed.
    #[error("writing WKB: {0}")]
    Write(String),
    /// The bytes are not WKB, or hold an empty point.
    #[error("reading WKB: {0}")]
    Read(String),
}

/// A geometry as little-endian WKB.
pub fn to_wkb(g: &Geometry) -> Result<Vec<u8>, WkbError> {
    let mut out = Vec::new();
    write_geometry(&mut out, g, &WriteOptions::default()).map_err(|e| WkbError::Write(e.to_string()))?;
    Ok(out)
}

/// A multipolygon as WKB.
pub fn multi_polygon_to_wkb(mp: &MultiPolygon) -> Result<Vec<u8>, WkbError> {
    to_wkb(&Geometry::MultiPolygon(mp.clone()))
}

/// A point as WKB.
pub fn point_to_wkb(p: Point) -> Result<Vec<u8>, WkbError> {
    to_wkb(&Geometry::Point(p))
}

/// A geometry from WKB (EWKB with an SRID is not expected: use `ST_AsBinary`).
pub fn from_wkb(bytes: &[u8]) -> Result<Geometry, WkbError> {
    let wkb = wkb::reader::read_wkb(bytes).map_err(|e| WkbError::Read(e.to_string()))?;
    wkb.try_to_geometry()
        .ok_or_else(|| WkbError::Read("an empty point cannot be represented".to_owned()))
}

/// The polygons of a geometry read back from PostGIS, as one multipolygon: points and lines
/// (where an intersection degenerates) are dropped.
pub fn polygons_of(g: Geometry) -> MultiPolygon {
    match g {
        Geometry::Polygon(p) => MultiPolygon(vec![p]),
        Geometry::MultiPolygon(mp) => mp,
        Geometry::GeometryCollection(gc) => {
            MultiPolygon(gc.0.into_iter().flat_map(|g| polygons_of(g).0).collect())
        }
        _ => MultiPolygon(Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use geo_types::polygon;

    #[test]
    fn a_multipolygon_round_trips() {
        let p = polygon![(x: 109.0, y: 32.0), (x: 109.1, y: 32.0), (x: 109.1, y: 32.1), (x: 109.0, y: 32.0)];
        let mp = MultiPolygon(vec![p]);
        let back = from_wkb(&multi_polygon_to_wkb(&mp).unwrap()).unwrap();
        assert_eq!(back, Geometry::MultiPolygon(mp));
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(from_wkb(&[1, 2, 3]).is_err());
    }
}
