//! Coordinate reference systems: the SRIDs this service speaks, the CGCS2000 3-degree
//! Gauss–Krüger zones that survey files use, and `proj` transforms between them.
//!
//! Every [`geo_types::Coord`] in this crate is in GIS order: `x` is longitude or easting, `y` is
//! latitude or northing, whatever the EPSG axis order says. The survey convention (X = northing,
//! Y = easting with the zone number in front) appears only in [`GkPoint`] and in the coordinate
//! file module.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;

use geo_types::{Coord, LineString, MultiPolygon, Point, Polygon};
use proj::Proj;
use serde::{Deserialize, Serialize};

/// Why a CRS could not be named or a coordinate could not be transformed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CrsError {
    /// The EPSG code is not one this service handles.
    #[error("EPSG:{code} is not supported: use EPSG:4490, EPSG:4326, EPSG:3857 or a CGCS2000 3-degree Gauss-Krüger zone (EPSG:4513-4554)")]
    Unsupported {
        /// The code that was asked for.
        code: i32,
    },
    /// A CRS name (legacy GeoJSON `crs` member, OGC API `crs` parameter) that is not understood.
    #[error("the CRS name {name:?} is not understood: expected forms like EPSG:4524, urn:ogc:def:crs:EPSG::4524 or http://www.opengis.net/def/crs/EPSG/0/4524")]
    UnknownName {
        /// The name as given.
        name: String,
    },
    /// A 3-degree zone number outside China's zones 25–45.
    #[error("3-degree zone {zone} is outside CGCS2000's zones 25-45 (75°E-135°E)")]
    Zone {
        /// The zone number as given.
        zone: i64,
    },
    /// PROJ could not build the transformation.
    #[error("PROJ could not build the transformation from EPSG:{from} to EPSG:{to}: {message}")]
    Create {
        /// Source EPSG code.
        from: i32,
        /// Target EPSG code.
        to: i32,
        /// PROJ's own message.
        message: String,
    },
    /// PROJ could not transform one coordinate (outside the projection's domain, or not finite).
    #[error("cannot transform ({x}, {y}) from EPSG:{from} to EPSG:{to}: {message}")]
    Transform {
        /// Source EPSG code.
        from: i32,
        /// Target EPSG code.
        to: i32,
        /// The input x (longitude or easting).
        x: f64,
        /// The input y (latitude or northing).
        y: f64,
        /// PROJ's own message, or why the result was refused.
        message: String,
    },
}

/// First EPSG code of the CGCS2000 3-degree Gauss–Krüger zones with the zone prefix (zone 25).
const GK_PREFIXED_FIRST: i32 = 4513;
/// First EPSG code of the same zones without the prefix ("CM 75E").
const GK_PLAIN_FIRST: i32 = 4534;
/// China's 3-degree zones: 25 (75°E) to 45 (135°E).
const ZONE_MIN: u8 = 25;
const ZONE_MAX: u8 = 45;

/// An EPSG code this service can store, read or transform.
///
/// Supported: EPSG:4490 (CGCS2000 geographic, the storage CRS), EPSG:4326 (WGS 84, taken as
/// CGCS2000: the two agree to a few centimetres, below survey precision), EPSG:3857 (web maps),
/// and every CGCS2000 3-degree Gauss–Krüger zone, with the zone prefix (EPSG:4513–4533) or
/// without (EPSG:4534–4554). The Ankang region lies in zones 36 and 37, but survey files from
/// elsewhere (the real samples are zone 38) must read as well.
///
/// ```
/// use landuse_spatial::crs::Srid;
/// let srid = Srid::new(4524).unwrap();
/// assert_eq!(srid.gk_zone().map(|(z, prefixed)| (z.number(), prefixed)), Some((36, true)));
/// assert!(Srid::new(2000).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "i32", into = "i32")]
pub struct Srid(i32);

impl Srid {
    /// CGCS2000 geographic (lon/lat): how everything is stored.
    pub const CGCS2000: Srid = Srid(4490);
    /// WGS 84 geographic.
    pub const WGS84: Srid = Srid(4326);
    /// Web Mercator.
    pub const WEB_MERCATOR: Srid = Srid(3857);

    /// Accepts a supported EPSG code.
    pub fn new(code: i32) -> Result<Self, CrsError> {
        let ok = matches!(code, 4490 | 4326 | 3857)
            || (GK_PREFIXED_FIRST..GK_PLAIN_FIRST + i32::from(ZONE_MAX - ZONE_MIN) + 1).contains(&code);
        if ok {
            Ok(Srid(code))
        } else {
            Err(CrsError::Unsupported { code })
        }
    }

    /// Reads a CRS name: `EPSG:4524`, `urn:ogc:def:crs:EPSG::4524`,
    /// `http://www.opengis.net/def/crs/EPSG/0/4524`, or CRS84 in either spelling (taken as
    /// EPSG:4326, lon/lat).
    pub fn from_name(name: &str) -> Result<Self, CrsError> {
        let trimmed = name.trim();
        let lower = trimmed.to_ascii_lowercase();
        if lower == "urn:ogc:def:crs:ogc:1.3:crs84"
            || lower == "urn:ogc:def:crs:ogc::crs84"
            || lower == "http://www.opengis.net/def/crs/ogc/1.3/crs84"
            || lower == "crs84"
        {
            return Ok(Srid::WGS84);
        }
        let code_text = lower
            .strip_prefix("epsg:")
            .or_else(|| lower.strip_prefix("urn:ogc:def:crs:epsg::"))
            .or_else(|| lower.strip_prefix("urn:ogc:def:crs:epsg:"))
            .or_else(|| lower.strip_prefix("http://www.opengis.net/def/crs/epsg/0/"))
            .or_else(|| lower.strip_prefix("https://www.opengis.net/def/crs/epsg/0/"))
            .and_then(|rest| rest.rsplit(':').next());
        let code = code_text
            .and_then(|c| c.parse::<i32>().ok())
            .ok_or_else(|| CrsError::UnknownName {
                name: trimmed.to_owned(),
            })?;
        Srid::new(code)
    }

    /// The EPSG code.
    pub fn code(self) -> i32 {
        self.0
    }

    /// The OGC URI of this CRS (`http://www.opengis.net/def/crs/EPSG/0/4490`).
    pub fn uri(self) -> String {
        format!("http://www.opengis.net/def/crs/EPSG/0/{}", self.0)
    }

    /// Whether coordinates are degrees of longitude and latitude.
    pub fn is_geographic(self) -> bool {
        matches!(self.0, 4490 | 4326)
    }

    /// The Gauss–Krüger zone of a projected CGCS2000 SRID, and whether eastings carry the zone
    /// prefix.
    pub fn gk_zone(self) -> Option<(GkZone, bool)> {
        let span = i32::from(ZONE_MAX - ZONE_MIN);
        if (GK_PREFIXED_FIRST..=GK_PREFIXED_FIRST + span).contains(&self.0) {
            Some((
                GkZone(ZONE_MIN + u8::try_from(self.0 - GK_PREFIXED_FIRST).ok()?),
                true,
            ))
        } else if (GK_PLAIN_FIRST..=GK_PLAIN_FIRST + span).contains(&self.0) {
            Some((
                GkZone(ZONE_MIN + u8::try_from(self.0 - GK_PLAIN_FIRST).ok()?),
                false,
            ))
        } else {
            None
        }
    }
}

impl TryFrom<i32> for Srid {
    type Error = CrsError;
    fn try_from(code: i32) -> Result<Self, CrsError> {
        Srid::new(code)
    }
}

impl From<Srid> for i32 {
    fn from(srid: Srid) -> i32 {
        srid.0
    }
}

impl fmt::Display for Srid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EPSG:{}", self.0)
    }
}

/// A CGCS2000 3-degree Gauss–Krüger zone (25–45); its central meridian is 3° × the number.
///
/// ```
/// use landuse_spatial::crs::GkZone;
/// let zone = GkZone::new(37).unwrap();
/// assert_eq!(zone.central_meridian(), 111.0);
/// assert_eq!(zone.srid(true).code(), 4525);
/// assert_eq!(zone.srid(false).code(), 4546);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "u8")]
pub struct GkZone(u8);

impl GkZone {
    /// Accepts a zone number 25–45.
    pub fn new(zone: i64) -> Result<Self, CrsError> {
        u8::try_from(zone)
            .ok()
            .filter(|z| (ZONE_MIN..=ZONE_MAX).contains(z))
            .map(GkZone)
            .ok_or(CrsError::Zone { zone })
    }

    /// The zone whose central meridian is nearest to a longitude.
    pub fn for_longitude(lon: f64) -> Result<Self, CrsError> {
        let z = (lon / 3.0).round();
        if z.is_finite() && z >= f64::from(ZONE_MIN) && z <= f64::from(ZONE_MAX) {
            Ok(GkZone(z as u8))
        } else {
            Err(CrsError::Zone {
                zone: if z.is_finite() { z as i64 } else { 0 },
            })
        }
    }

    /// The zone named by the prefix of a prefixed easting (`36596505.793` → 36), if the easting
    /// carries one.
    pub fn from_prefixed_easting(y_east: f64) -> Option<Self> {
        if !(y_east.is_finite() && y_east >= 1_000_000.0) {
            return None;
        }
        GkZone::new((y_east / 1_000_000.0).floor() as i64).ok()
    }

    /// The zone number.
    pub fn number(self) -> u8 {
        self.0
    }

    /// The central meridian in degrees east.
    pub fn central_meridian(self) -> f64 {
        f64::from(self.0) * 3.0
    }

    /// The EPSG code of this zone, with or without the zone prefix on eastings.
    pub fn srid(self, prefixed: bool) -> Srid {
        let first = if prefixed {
            GK_PREFIXED_FIRST
        } else {
            GK_PLAIN_FIRST
        };
        Srid(first + i32::from(self.0 - ZONE_MIN))
    }
}

impl TryFrom<i64> for GkZone {
    type Error = CrsError;
    fn try_from(zone: i64) -> Result<Self, CrsError> {
        GkZone::new(zone)
    }
}

impl From<GkZone> for u8 {
    fn from(zone: GkZone) -> u8 {
        zone.0
    }
}

impl fmt::Display for GkZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "zone {} ({}°E)", self.0, self.central_meridian())
    }
}

/// A point as survey files write it: X is the northing, Y the easting with the zone prefix.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GkPoint {
    /// Northing in metres.
    pub x_north: f64,
    /// Easting in metres, with the zone number in front (`36596505.793`).
    pub y_east: f64,
}

impl GkPoint {
    /// The same point in GIS order (x = easting, y = northing).
    pub fn to_coord(self) -> Coord {
        Coord {
            x: self.y_east,
            y: self.x_north,
        }
    }

    /// A point from GIS order (x = easting, y = northing).
    pub fn from_coord(c: Coord) -> Self {
        GkPoint {
            x_north: c.y,
            y_east: c.x,
        }
    }
}

/// A PROJ transformation between two supported SRIDs, in GIS axis order on both sides.
///
/// Not `Send`: PROJ contexts belong to one thread. Building a PROJ transformation looks the CRSs
/// up in proj.db and takes milliseconds (about 20 ms a file on the 2-core machine, against well
/// under a millisecond for reading a 500-point coordinate file), so each thread keeps the ones
/// it built and `new` hands out a shared one: at most one per pair of SRIDs per thread.
pub struct Transformer {
    proj: Option<Rc<Proj>>,
    from: Srid,
    to: Srid,
}

impl fmt::Debug for Transformer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transformer")
            .field("from", &self.from)
            .field("to", &self.to)
            .finish_non_exhaustive()
    }
}

/// Whether two SRIDs need no transformation between them. WGS 84 and CGCS2000 are taken as one
/// (see [`Srid`]).
fn same_frame(a: Srid, b: Srid) -> bool {
    a == b || (a.is_geographic() && b.is_geographic())
}

thread_local! {
    /// The PROJ transformations this thread has built, by (source, target) SRID.
    static BUILT: RefCell<HashMap<(Srid, Srid), Rc<Proj>>> = RefCell::new(HashMap::new());
}

impl Transformer {
    /// The transformation from one SRID to another (built once per thread).
    pub fn new(from: Srid, to: Srid) -> Result<Self, CrsError> {
        if same_frame(from, to) {
            return Ok(Transformer { proj: None, from, to });
        }
        // WGS 84 is read as CGCS2000 (see `Srid`), so PROJ never applies a datum shift here.
        let src = if from == Srid::WGS84 { Srid::CGCS2000 } else { from };
        let dst = if to == Srid::WGS84 { Srid::CGCS2000 } else { to };
        let cached = BUILT.with(|built| built.borrow().get(&(src, dst)).cloned());
        let proj = if let Some(proj) = cached {
            proj
        } else {
            let proj = Rc::new(
                Proj::new_known_crs(&src.to_string(), &dst.to_string(), None).map_err(|e| {
                    CrsError::Create {
                        from: from.code(),
                        to: to.code(),
                        message: e.to_string(),
                    }
                })?,
            );
            BUILT.with(|built| built.borrow_mut().insert((src, dst), Rc::clone(&proj)));
            proj
        };
        Ok(Transformer {
            proj: Some(proj),
            from,
            to,
        })
    }

    /// The source SRID.
    pub fn from_srid(&self) -> Srid {
        self.from
    }

    /// The target SRID.
    pub fn to_srid(&self) -> Srid {
        self.to
    }

    /// Transforms one coordinate. A result that is not finite is an error, never a coordinate.
    pub fn coord(&self, c: Coord) -> Result<Coord, CrsError> {
        let Some(proj) = &self.proj else {
            return Ok(c);
        };
        let err = |message: String| CrsError::Transform {
            from: self.from.code(),
            to: self.to.code(),
            x: c.x,
            y: c.y,
            message,
        };
        if !(c.x.is_finite() && c.y.is_finite()) {
            return Err(err("the coordinate is not finite".to_owned()));
        }
        let out: (f64, f64) = proj.convert((c.x, c.y)).map_err(|e| err(e.to_string()))?;
        if out.0.is_finite() && out.1.is_finite() {
            Ok(Coord { x: out.0, y: out.1 })
        } else {
            Err(err("PROJ returned a non-finite result".to_owned()))
        }
    }

    /// Transforms a point.
    pub fn point(&self, p: Point) -> Result<Point, CrsError> {
        self.coord(p.0).map(Point)
    }

    /// Transforms every vertex of a ring.
    pub fn line_string(&self, ls: &LineString) -> Result<LineString, CrsError> {
        ls.0.iter()
            .map(|c| self.coord(*c))
            .collect::<Result<Vec<_>, _>>()
            .map(LineString)
    }

    /// Transforms every vertex of a polygon.
    pub fn polygon(&self, p: &Polygon) -> Result<Polygon, CrsError> {
        Ok(Polygon::new(
            self.line_string(p.exterior())?,
            p.interiors()
                .iter()
                .map(|r| self.line_string(r))
                .collect::<Result<_, _>>()?,
        ))
    }

    /// Transforms every vertex of a multipolygon.
    pub fn multi_polygon(&self, mp: &MultiPolygon) -> Result<MultiPolygon, CrsError> {
        mp.0.iter()
            .map(|p| self.polygon(p))
            .collect::<Result<Vec<_>, _>>()
            .map(MultiPolygon)
    }
}

/// Projects a CGCS2000 lon/lat coordinate into a zone, as a survey file would write it (with
/// the zone prefix).
///
/// ```
/// use geo_types::coord;
/// use landuse_spatial::crs::{lonlat_to_gk, GkZone};
/// let p = lonlat_to_gk(coord! { x: 109.029, y: 32.685 }, GkZone::new(36).unwrap()).unwrap();
/// assert!((p.x_north - 3_618_282.030).abs() < 0.0005);
/// assert!((p.y_east - 36_596_505.793).abs() < 0.0005);
/// ```
pub fn lonlat_to_gk(lonlat: Coord, zone: GkZone) -> Result<GkPoint, CrsError> {
    Transformer::new(Srid::CGCS2000, zone.srid(true))?
        .coord(lonlat)
        .map(GkPoint::from_coord)
}

/// The CGCS2000 lon/lat of a survey point in a zone. The easting may carry the zone prefix or
/// not; a prefix that names another zone is an error.
pub fn gk_to_lonlat(point: GkPoint, zone: GkZone) -> Result<Coord, CrsError> {
    let prefixed = point.y_east >= 1_000_000.0;
    if prefixed && GkZone::from_prefixed_easting(point.y_east) != Some(zone) {
        return Err(CrsError::Transform {
            from: zone.srid(true).code(),
            to: Srid::CGCS2000.code(),
            x: point.y_east,
            y: point.x_north,
            message: format!("the easting's prefix does not name {zone}"),
        });
    }
    Transformer::new(zone.srid(prefixed), Srid::CGCS2000)?.coord(point.to_coord())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use geo_types::coord;

    #[test]
    fn the_check_value_projects_to_the_millimetre() {
        let p = lonlat_to_gk(coord! { x: 109.029, y: 32.685 }, GkZone::new(36).unwrap()).unwrap();
        assert!((p.x_north - 3_618_282.030).abs() < 0.0005, "{p:?}");
        assert!((p.y_east - 36_596_505.793).abs() < 0.0005, "{p:?}");
    }

    #[test]
    fn the_check_value_unprojects_to_the_millimetre() {
        let ll = gk_to_lonlat(
            GkPoint {
                x_north: 3_618_282.030,
                y_east: 36_596_505.793,
            },
            GkZone::new(36).unwrap(),
        )
        .unwrap();
        // 1 mm is about 9e-9° of latitude and 1.07e-8° of longitude here.
        assert!((ll.x - 109.029).abs() < 1.0e-8, "{ll:?}");
        assert!((ll.y - 32.685).abs() < 1.0e-8, "{ll:?}");
        // And back again, to the millimetre.
        let again = lonlat_to_gk(ll, GkZone::new(36).unwrap()).unwrap();
        assert!((again.x_north - 3_618_282.030).abs() < 0.0005);
        assert!((again.y_east - 36_596_505.793).abs() < 0.0005);
    }

    #[test]
    fn unprefixed_eastings_give_the_same_place() {
        let zone = GkZone::new(36).unwrap();
        let plain = Transformer::new(zone.srid(false), Srid::CGCS2000)
            .unwrap()
            .coord(coord! { x: 596_505.793, y: 3_618_282.030 })
            .unwrap();
        assert!((plain.x - 109.029).abs() < 1.0e-8);
        assert!((plain.y - 32.685).abs() < 1.0e-8);
        assert_eq!(zone.srid(false), Srid::new(4545).unwrap());
    }

    #[test]
    fn zone_37_round_trips() {
        let zone = GkZone::new(37).unwrap();
        let ll = coord! { x: 110.2, y: 32.4 };
        let p = lonlat_to_gk(ll, zone).unwrap();
        assert_eq!(GkZone::from_prefixed_easting(p.y_east), Some(zone));
        let back = gk_to_lonlat(p, zone).unwrap();
        assert!((back.x - ll.x).abs() < 1.0e-10 && (back.y - ll.y).abs() < 1.0e-10);
    }

    #[test]
    fn a_prefix_from_another_zone_is_refused() {
        let err = gk_to_lonlat(
            GkPoint {
                x_north: 3_618_282.030,
                y_east: 36_596_505.793,
            },
            GkZone::new(37).unwrap(),
        );
        assert!(matches!(err, Err(CrsError::Transform { .. })));
    }

    #[test]
    fn web_mercator_is_supported() {
        let t = Transformer::new(Srid::CGCS2000, Srid::WEB_MERCATOR).unwrap();
        let c = t.coord(coord! { x: 109.0, y: 32.0 }).unwrap();
        assert!((c.x - 12_133_824.3).abs() < 1.0, "{c:?}");
    }

    #[test]
    fn crs_names_in_all_spellings_are_read() {
        for name in [
            "EPSG:4524",
            "urn:ogc:def:crs:EPSG::4524",
            "http://www.opengis.net/def/crs/EPSG/0/4524",
            "urn:ogc:def:crs:EPSG:6.3:4524",
        ] {
            assert_eq!(Srid::from_name(name).unwrap().code(), 4524, "{name}");
        }
        assert_eq!(
            Srid::from_name("urn:ogc:def:crs:OGC:1.3:CRS84").unwrap(),
            Srid::WGS84
        );
        assert!(matches!(
            Srid::from_name("EPSG:2383"),
            Err(CrsError::Unsupported { code: 2383 })
        ));
        assert!(matches!(
            Srid::from_name("local"),
            Err(CrsError::UnknownName { .. })
        ));
    }

    #[test]
    fn every_zone_maps_to_its_epsg_codes_and_back() {
        for z in 25..=45 {
            let zone = GkZone::new(z).unwrap();
            assert_eq!(zone.srid(true).gk_zone(), Some((zone, true)));
            assert_eq!(zone.srid(false).gk_zone(), Some((zone, false)));
        }
        assert_eq!(GkZone::new(36).unwrap().srid(true).code(), 4524);
        assert_eq!(GkZone::new(37).unwrap().srid(false).code(), 4546);
        assert!(GkZone::new(24).is_err() && GkZone::new(46).is_err());
        assert_eq!(GkZone::for_longitude(109.6).unwrap().number(), 37);
        assert_eq!(GkZone::for_longitude(109.4).unwrap().number(), 36);
    }
}
