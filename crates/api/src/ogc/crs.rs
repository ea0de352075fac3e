//! The coordinate reference systems features can be read in (OGC API – Features Part 2), and
//! the axis order each one defines.
//!
//! OGC CRS84 is longitude/latitude, but EPSG:4490 and EPSG:4326 are latitude/longitude and the
//! CGCS2000 Gauss–Krüger CRSs (EPSG:4524, 4525, 4545, 4546) are northing/easting: Part 2 asks
//! for coordinates in the order the CRS defines, so those come out swapped relative to the
//! x = east, y = north order PostGIS and PROJ work in. EPSG:3857 is easting/northing.

use landuse_spatial::crs::{CrsError, Srid};

/// The URI of OGC CRS84, the default CRS of OGC API – Features.
pub const CRS84_URI: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";

/// A CRS a client may ask for with `crs` or `bbox-crs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OgcCrs {
    /// OGC CRS84: WGS 84 longitude/latitude (taken as CGCS2000, which agrees to centimetres).
    Crs84,
    /// An EPSG CRS from [`OgcCrs::SUPPORTED`].
    Epsg(Srid),
}

/// Why a CRS parameter was refused: the reason, and what is offered instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}; this service offers {}", offered_list())]
pub struct CrsRefusal {
    /// What is wrong with the value.
    pub reason: String,
}

fn offered_list() -> String {
    OgcCrs::offered()
        .iter()
        .map(|c| c.uri())
        .collect::<Vec<_>>()
        .join(", ")
}

impl OgcCrs {
    /// The storage CRS: CGCS2000 geographic.
    pub const STORAGE: OgcCrs = OgcCrs::Epsg(Srid::CGCS2000);

    /// Parses a CRS given as an OGC URI (`http://www.opengis.net/def/crs/EPSG/0/4524`), a
    /// safe CURIE (`[EPSG:4524]`), `EPSG:4524`, an OGC URN, or CRS84 in any of those forms, and
    /// accepts it when it is one of [`OgcCrs::offered`].
    ///
    /// ```
    /// use landuse_api::ogc::crs::OgcCrs;
    /// let gk = OgcCrs::parse("http://www.opengis.net/def/crs/EPSG/0/4524").unwrap();
    /// assert!(gk.northing_first());
    /// assert_eq!(OgcCrs::parse("[EPSG:4524]").unwrap(), gk);
    /// assert_eq!(OgcCrs::parse("http://www.opengis.net/def/crs/OGC/1.3/CRS84").unwrap(), OgcCrs::Crs84);
    /// assert!(OgcCrs::parse("EPSG:2383").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Self, CrsRefusal> {
        let trimmed = text.trim();
        let inner = trimmed
            .strip_prefix('[')
            .and_then(|t| t.strip_suffix(']'))
            .unwrap_or(trimmed);
        let lower = inner.to_ascii_lowercase();
        let is_crs84 = matches!(
            lower.as_str(),
            "crs84"
                | "ogc:crs84"
                | "urn:ogc:def:crs:ogc:1.3:crs84"
                | "urn:ogc:def:crs:ogc::crs84"
                | "http://www.opengis.net/def/crs/ogc/1.3/crs84"
                | "https://www.opengis.net/def/crs/ogc/1.3/crs84"
                | "http://www.opengis.net/def/crs/ogc/0/crs84"
        );
        let crs = if is_crs84 {
            OgcCrs::Crs84
        } else {
            OgcCrs::Epsg(Srid::from_name(inner).map_err(|e: CrsError| CrsRefusal {
                reason: e.to_string(),
            })?)
        };
        if Self::offered().contains(&crs) {
            Ok(crs)
        } else {
            Err(CrsRefusal {
                reason: format!("{} is not offered", crs.uri()),
            })
        }
    }

    /// Every CRS offered, CRS84 first (the default, as Part 2 asks).
    pub fn offered() -> [OgcCrs; 8] {
        let srid = |code| Srid::new(code).map_or(OgcCrs::STORAGE, OgcCrs::Epsg);
        [
            OgcCrs::Crs84,
            OgcCrs::STORAGE,
            srid(4326),
            srid(4524),
            srid(4525),
            srid(4545),
            srid(4546),
            srid(3857),
        ]
    }

    /// The OGC URI naming this CRS.
    pub fn uri(self) -> String {
        match self {
            OgcCrs::Crs84 => CRS84_URI.to_owned(),
            OgcCrs::Epsg(srid) => srid.uri(),
        }
    }

    /// The value of the `Content-Crs` header: the URI in angle brackets.
    pub fn content_crs(self) -> String {
        format!("<{}>", self.uri())
    }

    /// The SRID PostGIS transforms to. WGS 84 and CRS84 are read as CGCS2000 (the two agree
    /// below survey precision; the spatial crate treats them the same way), so no datum shift
    /// is ever applied.
    pub fn postgis_srid(self) -> i32 {
        match self {
            OgcCrs::Crs84 => Srid::CGCS2000.code(),
            OgcCrs::Epsg(srid) if srid.is_geographic() => Srid::CGCS2000.code(),
            OgcCrs::Epsg(srid) => srid.code(),
        }
    }

    /// Whether the CRS's first axis is latitude or northing, so coordinates leave swapped
    /// relative to PostGIS's x/y.
    pub fn northing_first(self) -> bool {
        match self {
            OgcCrs::Crs84 => false,
            OgcCrs::Epsg(srid) => srid.is_geographic() || srid.gk_zone().is_some(),
        }
    }

    /// Whether coordinates are degrees.
    pub fn is_geographic(self) -> bool {
        match self {
            OgcCrs::Crs84 => true,
            OgcCrs::Epsg(srid) => srid.is_geographic(),
        }
    }

    /// Decimal places written: 9 for degrees (about 0.1 mm), 4 for metres.
    pub fn decimals(self) -> i32 {
        if self.is_geographic() {
            9
        } else {
            4
        }
    }

    /// Two coordinates in this CRS's axis order, as (x = east, y = north).
    pub fn to_xy(self, first: f64, second: f64) -> (f64, f64) {
        if self.northing_first() {
            (second, first)
        } else {
            (first, second)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn every_offered_crs_is_distinct_and_reads_back_from_its_uri() {
        let offered = OgcCrs::offered();
        for (i, crs) in offered.iter().enumerate() {
            assert_eq!(OgcCrs::parse(&crs.uri()).unwrap(), *crs);
            assert!(!offered[..i].contains(crs), "{crs:?} is listed twice");
        }
        assert_eq!(offered[0], OgcCrs::Crs84);
    }

    #[test]
    fn axis_order_follows_each_crs_definition() {
        let order = |uri: &str| OgcCrs::parse(uri).unwrap().northing_first();
        assert!(!order("CRS84"));
        assert!(order("EPSG:4490"));
        assert!(order("EPSG:4326"));
        assert!(order("EPSG:4524"));
        assert!(order("EPSG:4546"));
        assert!(!order("EPSG:3857"));
    }

    #[test]
    fn a_crs_the_spatial_crate_knows_but_this_service_does_not_offer_is_refused() {
        for name in ["EPSG:4530", "EPSG:2383", "nonsense"] {
            let refusal = OgcCrs::parse(name).unwrap_err();
            assert!(refusal.to_string().contains("EPSG/0/4524"), "{refusal}");
        }
    }
}
