//! Query parameters, parsed strictly: OGC API – Features requires 400 for a parameter an
//! endpoint does not know and for a value it cannot read, where many servers silently ignore
//! both (and a client then believes a filter was applied that was not).

use axum::extract::{rejection::QueryRejection, Query};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use uuid::Uuid;

use super::{crs::OgcCrs, error::OgcError};

/// The decoded query of a request, each name at most once.
#[derive(Debug, Clone, Default)]
pub struct QueryParams {
    pairs: Vec<(String, String)>,
}

impl QueryParams {
    /// Takes the query as axum decoded it and refuses a name given twice (`limit=1&limit=2`
    /// has no single meaning).
    pub fn new(query: Result<Query<Vec<(String, String)>>, QueryRejection>) -> Result<Self, OgcError> {
        let Query(pairs) =
            query.map_err(|rejection| OgcError::parameter("(query string)", rejection.body_text()))?;
        for (i, (name, _)) in pairs.iter().enumerate() {
            if pairs[..i].iter().any(|(n, _)| n == name) {
                return Err(OgcError::parameter(
                    name.clone(),
                    "given more than once; give each parameter once",
                ));
            }
        }
        Ok(Self { pairs })
    }

    /// From pairs already decoded (tests, the OpenAPI checks).
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        Self { pairs }
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Refuses any parameter outside `allowed`, and an `f` other than JSON: for the metadata
    /// endpoints, which take no other parameter.
    pub fn metadata_only(&self) -> Result<(), OgcError> {
        for (name, value) in &self.pairs {
            if name != "f" {
                return Err(unknown(name, &["f"]));
            }
            if !matches!(value.as_str(), "json" | "application/json") {
                return Err(OgcError::parameter(
                    "f",
                    format!("{value:?} is not offered; this document is JSON (f=json)"),
                ));
            }
        }
        Ok(())
    }

    /// Every pair, in request order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }
}

/// The refusal of a parameter nobody knows.
pub fn unknown(name: &str, known: &[&str]) -> OgcError {
    OgcError::parameter(
        name,
        format!(
            "unknown parameter; this endpoint takes {}",
            if known.is_empty() {
                "no parameters".to_owned()
            } else {
                known.join(", ")
            }
        ),
    )
}

/// The standard parameters of `/collections/{id}/items`; any other name must be one of the
/// collection's queryable properties.
pub const ITEMS_PARAMETERS: [&str; 7] = ["limit", "bbox", "bbox-crs", "crs", "datetime", "cursor", "f"];

/// Page sizes: the one used without `limit`, and the most one page holds (a larger `limit` is
/// clamped to it, as OGC API – Features asks, not refused).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Without `limit`.
    pub default: i64,
    /// The most per page.
    pub max: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            default: 100,
            max: 10_000,
        }
    }
}

/// The encoding asked for with `f`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemsFormat {
    /// `application/geo+json` (the default).
    GeoJson,
    /// The same document labelled `application/json`, for clients that only know that type.
    Json,
}

impl ItemsFormat {
    /// The media type sent.
    pub fn media_type(self) -> &'static str {
        match self {
            ItemsFormat::GeoJson => super::GEOJSON,
            ItemsFormat::Json => super::JSON,
        }
    }

    fn parse(value: Option<&str>) -> Result<Self, OgcError> {
        match value {
            None | Some("geojson" | "application/geo+json") => Ok(ItemsFormat::GeoJson),
            Some("json" | "application/json") => Ok(ItemsFormat::Json),
            Some(other) => Err(OgcError::parameter(
                "f",
                format!("{other:?} is not offered; use f=geojson (the default) or f=json"),
            )),
        }
    }
}

/// How a collection's features are keyed (and so how they are paged).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// 64-bit integer ids (layer features).
    Int,
    /// UUIDs (parcels, check overlaps).
    Uuid,
}

/// A feature's id, which is also the keyset position paging continues after.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FeatureKey {
    /// A layer feature.
    Int(i64),
    /// A parcel or an overlap.
    Uuid(Uuid),
}

impl FeatureKey {
    /// The opaque `cursor` token that continues after this feature.
    ///
    /// ```
    /// use landuse_api::ogc::params::{FeatureKey, KeyKind};
    /// let key = FeatureKey::Int(40_000);
    /// assert_eq!(FeatureKey::from_token(&key.token(), KeyKind::Int).unwrap(), key);
    /// assert!(FeatureKey::from_token(&key.token(), KeyKind::Uuid).is_err());
    /// ```
    pub fn token(self) -> String {
        let plain = match self {
            FeatureKey::Int(id) => format!("i:{id}"),
            FeatureKey::Uuid(id) => format!("u:{id}"),
        };
        URL_SAFE_NO_PAD.encode(plain)
    }

    /// Reads a `cursor` token made by [`FeatureKey::token`] for a collection keyed by `kind`.
    pub fn from_token(token: &str, kind: KeyKind) -> Result<Self, OgcError> {
        let invalid = || {
            OgcError::parameter(
                "cursor",
                "not a cursor of this collection; follow the next link as given",
            )
        };
        let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
        let text = String::from_utf8(bytes).map_err(|_| invalid())?;
        match (kind, text.split_once(':')) {
            (KeyKind::Int, Some(("i", id))) => id.parse().map(FeatureKey::Int).map_err(|_| invalid()),
            (KeyKind::Uuid, Some(("u", id))) => {
                Uuid::parse_str(id).map(FeatureKey::Uuid).map_err(|_| invalid())
            }
            _ => Err(invalid()),
        }
    }

    /// The id as it appears in a feature's `id` member and its URL.
    pub fn to_path(self) -> String {
        match self {
            FeatureKey::Int(id) => id.to_string(),
            FeatureKey::Uuid(id) => id.to_string(),
        }
    }

    /// Reads a feature id from a URL path; `None` when it cannot name a feature of the
    /// collection (which is answered as "not found").
    pub fn from_path(text: &str, kind: KeyKind) -> Option<Self> {
        match kind {
            KeyKind::Int => text.parse().ok().map(FeatureKey::Int),
            KeyKind::Uuid => Uuid::parse_str(text).ok().map(FeatureKey::Uuid),
        }
    }
}

/// A bounding box, as PostGIS takes it: x = east, y = north, in `srid`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bbox {
    /// West.
    pub xmin: f64,
    /// South.
    pub ymin: f64,
    /// East.
    pub xmax: f64,
    /// North.
    pub ymax: f64,
    /// The SRID the corners are in.
    pub srid: i32,
}

impl Bbox {
    /// The corners as PostGIS binds them.
    pub fn corners(&self) -> Vec<f64> {
        vec![self.xmin, self.ymin, self.xmax, self.ymax]
    }

    /// Whether the box crosses the antimeridian (its west corner lies east of its east one),
    /// as only a lon/lat box may.
    pub fn crosses_antimeridian(&self) -> bool {
        self.xmin > self.xmax
    }

    /// The edge length the box is densified to before it is transformed to lon/lat, so its
    /// edges stay where the client drew them (a straight line in a projection is not one in
    /// lon/lat).
    pub fn segment(&self) -> f64 {
        let width = if self.crosses_antimeridian() {
            self.xmax + 360.0 - self.xmin
        } else {
            self.xmax - self.xmin
        };
        (width.max(self.ymax - self.ymin) / 16.0).max(1e-9)
    }

    /// Reads `bbox` (4 numbers, or 6 with heights that are ignored), in the axis order of
    /// `crs` (`bbox-crs`, CRS84 by default).
    ///
    /// ```
    /// use landuse_api::ogc::{crs::OgcCrs, params::Bbox};
    /// // EPSG:4524 is northing first.
    /// let b = Bbox::parse("3618000,36596000,3619000,36597000", OgcCrs::parse("EPSG:4524").unwrap()).unwrap();
    /// assert_eq!((b.xmin, b.ymin, b.srid), (36_596_000.0, 3_618_000.0, 4524));
    /// ```
    pub fn parse(text: &str, crs: OgcCrs) -> Result<Self, OgcError> {
        let bad = |why: &str| OgcError::parameter("bbox", why.to_owned());
        let numbers = text
            .split(',')
            .map(|n| n.trim().parse::<f64>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| bad("expected 4 (or 6) comma-separated numbers"))?;
        let (a, b) = match numbers[..] {
            [a0, a1, b0, b1] | [a0, a1, _, b0, b1, _] => ((a0, a1), (b0, b1)),
            _ => return Err(bad("expected 4 (or 6) comma-separated numbers")),
        };
        if !numbers.iter().all(|n| n.is_finite()) {
            return Err(bad("every number must be finite"));
        }
        let (xmin, ymin) = crs.to_xy(a.0, a.1);
        let (xmax, ymax) = crs.to_xy(b.0, b.1);
        if ymin > ymax {
            return Err(bad(
                "the lower corner must come first and lie south of the upper one",
            ));
        }
        // West east of east: a lon/lat box across the antimeridian; a projected one is wrong.
        if xmin > xmax && !crs.is_geographic() {
            return Err(bad(
                "the lower corner must come first and lie west of the upper one (only a longitude/latitude box may cross the antimeridian)",
            ));
        }
        if crs.is_geographic() && !(xmin >= -180.0 && xmax <= 180.0 && ymin >= -90.0 && ymax <= 90.0) {
            return Err(bad("longitudes lie within ±180 and latitudes within ±90"));
        }
        Ok(Self {
            xmin,
            ymin,
            xmax,
            ymax,
            srid: crs.postgis_srid(),
        })
    }
}

/// A closed time range; an open end is `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    /// From (inclusive).
    pub from: Option<DateTime<Utc>>,
    /// To (inclusive).
    pub to: Option<DateTime<Utc>>,
}

/// A closed span of time: first and last instant.
type Span = (DateTime<Utc>, DateTime<Utc>);

/// One end of a `datetime` value as a closed range: an instant is itself, a date is the whole
/// day (UTC, as RFC 3339 dates without an offset are read by OGC API).
fn instant_or_day(text: &str) -> Option<Span> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        let t = t.with_timezone(&Utc);
        return Some((t, t));
    }
    let day = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    let start = day.and_hms_opt(0, 0, 0)?.and_utc();
    Some((start, start + TimeDelta::days(1) - TimeDelta::microseconds(1)))
}

impl TimeRange {
    /// Reads `datetime`: an instant (`2026-03-01T08:00:00Z`), a date, or an interval
    /// `start/end` where either end may be `..` (open).
    ///
    /// ```
    /// use landuse_api::ogc::params::TimeRange;
    /// let r = TimeRange::parse("2026-03-01/..").unwrap();
    /// assert!(r.from.is_some() && r.to.is_none());
    /// assert!(TimeRange::parse("../..").is_err());
    /// assert!(TimeRange::parse("yesterday").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Self, OgcError> {
        let bad = |why: String| OgcError::parameter("datetime", why);
        let end = |part: &str| -> Result<Option<Span>, OgcError> {
            if part.is_empty() || part == ".." {
                Ok(None)
            } else {
                instant_or_day(part).map(Some).ok_or_else(|| {
                    bad(format!(
                        "{part:?} is not an RFC 3339 date-time (2026-03-01T08:00:00Z) or date (2026-03-01)"
                    ))
                })
            }
        };
        let range = match text.split_once('/') {
            None => {
                let (from, to) =
                    end(text)?.ok_or_else(|| bad("an instant or an interval is needed".to_owned()))?;
                TimeRange {
                    from: Some(from),
                    to: Some(to),
                }
            }
            Some((start, stop)) => TimeRange {
                from: end(start)?.map(|(from, _)| from),
                to: end(stop)?.map(|(_, to)| to),
            },
        };
        match (range.from, range.to) {
            (None, None) => Err(bad("an interval needs at least one end".to_owned())),
            (Some(from), Some(to)) if from > to => Err(bad("the interval ends before it starts".to_owned())),
            _ => Ok(range),
        }
    }
}

/// A parsed `items` request, before its property filters are checked against the collection.
#[derive(Debug, Clone)]
pub struct ItemsQuery {
    /// Features per page, after clamping.
    pub limit: i64,
    /// The spatial filter.
    pub bbox: Option<Bbox>,
    /// The CRS of the response.
    pub crs: OgcCrs,
    /// The temporal filter.
    pub datetime: Option<TimeRange>,
    /// Where the page starts.
    pub cursor: Option<FeatureKey>,
    /// The encoding.
    pub format: ItemsFormat,
    /// `name=value` pairs that are not standard parameters: property filters to check.
    pub properties: Vec<(String, String)>,
    /// Every pair but `limit` and `cursor`, in request order, for the `next` link.
    pub carried: Vec<(String, String)>,
}

impl ItemsQuery {
    /// Reads the standard parameters of `/collections/{id}/items` (property filters are only
    /// collected). `temporal` says whether the collection has a time (`datetime` is refused
    /// where it has none, since it could not filter anything).
    pub fn parse(
        params: &QueryParams,
        limits: Limits,
        temporal: bool,
        key: KeyKind,
    ) -> Result<Self, OgcError> {
        let limit = match params.get("limit") {
            None => limits.default.min(limits.max),
            Some(text) => parse_limit(text, limits.max)?,
        };
        let bbox_crs = params
            .get("bbox-crs")
            .map(|t| OgcCrs::parse(t).map_err(|e| OgcError::parameter("bbox-crs", e.to_string())))
            .transpose()?
            .unwrap_or(OgcCrs::Crs84);
        let bbox = params.get("bbox").map(|t| Bbox::parse(t, bbox_crs)).transpose()?;
        let crs = params
            .get("crs")
            .map(|t| OgcCrs::parse(t).map_err(|e| OgcError::parameter("crs", e.to_string())))
            .transpose()?
            .unwrap_or(OgcCrs::Crs84);
        let datetime = match params.get("datetime") {
            Some(_) if !temporal => {
                return Err(OgcError::parameter(
                    "datetime",
                    "this collection has no time to filter by (only parcels and check_overlaps do)",
                ))
            }
            Some(text) => Some(TimeRange::parse(text)?),
            None => None,
        };
        let cursor = params
            .get("cursor")
            .map(|t| FeatureKey::from_token(t, key))
            .transpose()?;
        let format = ItemsFormat::parse(params.get("f"))?;
        let properties = params
            .pairs()
            .iter()
            .filter(|(n, _)| !ITEMS_PARAMETERS.contains(&n.as_str()))
            .cloned()
            .collect();
        let carried = params
            .pairs()
            .iter()
            .filter(|(n, _)| n != "limit" && n != "cursor")
            .cloned()
            .collect();
        Ok(Self {
            limit,
            bbox,
            crs,
            datetime,
            cursor,
            format,
            properties,
            carried,
        })
    }

    /// Whether anything narrows the collection (so the stored count will not do).
    pub fn is_filtered(&self) -> bool {
        self.bbox.is_some() || self.datetime.is_some() || !self.properties.is_empty()
    }
}

/// Reads `limit`: a positive integer; above `max` (however large) it is clamped to `max`.
fn parse_limit(text: &str, max: i64) -> Result<i64, OgcError> {
    let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    if !digits {
        return Err(OgcError::parameter(
            "limit",
            format!("{text:?} is not a positive whole number"),
        ));
    }
    match text.parse::<i64>() {
        Ok(0) => Err(OgcError::parameter("limit", "must be at least 1")),
        Ok(n) => Ok(n.min(max)),
        // All digits but beyond i64: larger than any maximum, so clamped like any other.
        Err(_) => Ok(max),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> QueryParams {
        QueryParams::from_pairs(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn a_limit_above_the_maximum_is_clamped_and_a_bad_one_refused() {
        assert_eq!(parse_limit("20000", 10_000).unwrap(), 10_000);
        assert_eq!(parse_limit("99999999999999999999999", 10_000).unwrap(), 10_000);
        assert_eq!(parse_limit("7", 10_000).unwrap(), 7);
        for bad in ["0", "-1", "1.5", "ten", ""] {
            assert!(parse_limit(bad, 10_000).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_crs84_bbox_is_lon_lat_and_an_epsg_4490_one_lat_lon() {
        let lonlat = Bbox::parse("108.9,32.6,109.1,32.8", OgcCrs::Crs84).unwrap();
        let latlon = Bbox::parse("32.6,108.9,32.8,109.1", OgcCrs::parse("EPSG:4490").unwrap()).unwrap();
        assert_eq!(lonlat, latlon);
        assert_eq!(lonlat.srid, 4490);
        // West east of east: across the antimeridian, for lon/lat boxes only.
        let across = Bbox::parse("179.5,-1,-179.5,1", OgcCrs::Crs84).unwrap();
        assert!(across.crosses_antimeridian());
        assert!(
            (across.segment() - 2.0 / 16.0).abs() < 1e-12,
            "{}",
            across.segment()
        );
        assert!(
            Bbox::parse("109.1,32.8,108.9,32.6", OgcCrs::Crs84).is_err(),
            "north below south"
        );
        assert!(Bbox::parse(
            "3618000,36597000,3619000,36596000",
            OgcCrs::parse("EPSG:4524").unwrap()
        )
        .is_err());
        assert!(Bbox::parse("108.9,32.6,109.1,95", OgcCrs::Crs84).is_err());
        assert!(Bbox::parse("1,2,3", OgcCrs::Crs84).is_err());
        assert!(Bbox::parse("1,2,NaN,4", OgcCrs::Crs84).is_err());
        assert!(Bbox::parse("108.9,32.6,0,109.1,32.8,100", OgcCrs::Crs84).is_ok());
    }

    #[test]
    fn dates_cover_the_whole_day_and_instants_only_themselves() {
        let day = TimeRange::parse("2026-03-01").unwrap();
        assert_eq!(day.from.unwrap().to_rfc3339(), "2026-03-01T00:00:00+00:00");
        assert_eq!(day.to.unwrap().to_rfc3339(), "2026-03-01T23:59:59.999999+00:00");
        let instant = TimeRange::parse("2026-03-01T08:00:00+08:00").unwrap();
        assert_eq!(instant.from, instant.to);
        assert!(TimeRange::parse("2026-03-02/2026-03-01").is_err());
        assert!(TimeRange::parse("../2026-03-01").unwrap().from.is_none());
    }

    #[test]
    fn property_filters_are_collected_and_next_links_carry_all_but_limit_and_cursor() {
        let token = FeatureKey::Int(5).token();
        let q = ItemsQuery::parse(
            &params(&[
                ("limit", "10"),
                ("DLBM", "0101"),
                ("cursor", &token),
                ("bbox", "1,2,3,4"),
            ]),
            Limits::default(),
            false,
            KeyKind::Int,
        )
        .unwrap();
        assert_eq!(q.properties, vec![("DLBM".to_owned(), "0101".to_owned())]);
        assert_eq!(q.carried.len(), 2);
        assert_eq!(q.cursor, Some(FeatureKey::Int(5)));
        assert!(q.is_filtered());
    }

    #[test]
    fn datetime_is_refused_where_the_collection_has_no_time() {
        let err = ItemsQuery::parse(
            &params(&[("datetime", "2026-01-01")]),
            Limits::default(),
            false,
            KeyKind::Int,
        )
        .unwrap_err();
        assert!(matches!(err, OgcError::Parameter { ref name, .. } if name == "datetime"));
    }
}
