//! The boundary-point coordinate exchange file (界址点坐标交换格式, `.txt`) that survey offices
//! deliver parcels in: read every variation seen in practice, write the standard form.
//!
//! ```text
//! [属性描述]
//! 坐标系=2000国家大地坐标系
//! 几度分带=3
//! 带号=36
//! …
//! [地块坐标]
//! 9,2.6708,1,某项目地块,面,,,,@
//! J1,1,3618282.030,36596505.793
//! …
//! ```
//!
//! # What is read
//! - GBK or UTF-8, with or without a BOM; LF or CRLF line ends; full-width commas.
//! - An optional `[项目信息]` section (kept as key/value pairs), the `[属性描述]` section, and
//!   `[地块坐标]` with any number of parcels.
//! - Parcel lines end in `@`: point count, area in hectares, number, name, shape, map sheet,
//!   use, land class; missing trailing fields are empty, further fields are kept in order.
//! - Point lines: name, ring number, X (northing), Y (easting); further columns are ignored.
//! - The point count may include the closing point of each ring or not, and a ring may repeat
//!   its first point at the end or not: both are the same ring.
//! - The zone comes from `带号` (a zone number 25–45, or a central meridian 75–135 divisible by
//!   3); without it, from the prefix of the eastings. Eastings with and without the zone prefix
//!   are both read; a prefix that names another zone than `带号` is an error.
//!
//! # Rings, holes and parts
//! Ring numbers group points into rings, in order of first appearance; a ring number may not
//! come back after another ring started. Ring 1 is the outer ring of the first polygon. Each
//! further ring that lies inside an earlier polygon's outer ring (and not inside one of that
//! polygon's holes) is a hole of that polygon; any other ring starts a new polygon. So holes
//! are listed after their outer ring, and an island in a hole is a polygon of its own.
//!
//! # Areas
//! Each parcel gets its planar Gauss–Krüger area (what the file states) and its ellipsoidal
//! CGCS2000 area (what the bureau reports). When the stated area differs from the planar one by
//! more than 0.1%, the result carries a warning — unless the difference is within the rounding
//! of the stated figure (0.0433 ha stands for anything from 432.5 to 433.5 m²).
//!
//! # Errors
//! Every error names the line (1-based) it was found on.

use std::fmt;

use encoding_rs::GBK;
use geo_types::{Coord, MultiPolygon};
use serde::{Deserialize, Serialize};

use crate::area::{ellipsoidal_area, planar_area, M2_PER_HA};
use crate::crs::{CrsError, GkZone, Srid, Transformer};
use crate::validate::{self, GeometryError, Rules};

/// How the file's text was encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextEncoding {
    /// UTF-8 without a byte-order mark.
    Utf8,
    /// UTF-8 with a byte-order mark.
    Utf8Bom,
    /// GBK (read as GB 18030, its superset).
    Gbk,
}

/// Why a coordinate file could not be read or written.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CoordFileError {
    /// The bytes are neither UTF-8 nor GBK.
    #[error("the file is neither UTF-8 nor GBK text")]
    Encoding,
    /// A `[…]` section this format does not have.
    #[error("line {line}: unknown section [{name}]")]
    UnknownSection {
        /// Line number.
        line: usize,
        /// The section name.
        name: String,
    },
    /// A line in `[属性描述]` or `[项目信息]` that is not `key=value`.
    #[error("line {line}: expected key=value, found {text:?}")]
    BadAttribute {
        /// Line number.
        line: usize,
        /// The line.
        text: String,
    },
    /// Text before the first section.
    #[error("line {line}: text before the first [section]: {text:?}")]
    OutsideSection {
        /// Line number.
        line: usize,
        /// The line.
        text: String,
    },
    /// The coordinate system is not CGCS2000.
    #[error(
        "line {line}: coordinate system {value:?} is not supported; only 2000国家大地坐标系 (CGCS2000) is"
    )]
    UnsupportedCoordinateSystem {
        /// Line number.
        line: usize,
        /// The stated system.
        value: String,
    },
    /// Zones that are not 3 degrees wide.
    #[error("line {line}: {value}-degree zones are not supported; only 3-degree zones are")]
    UnsupportedZoneWidth {
        /// Line number.
        line: usize,
        /// The stated width.
        value: String,
    },
    /// A projection other than Gauss–Krüger, or a unit other than metres.
    #[error("line {line}: {key}={value} is not supported (expected {expected})")]
    Unsupported {
        /// Line number.
        line: usize,
        /// The key.
        key: String,
        /// The value.
        value: String,
        /// What is supported.
        expected: &'static str,
    },
    /// `带号` is not a zone number.
    #[error("line {line}: 带号={value:?} is not a 3-degree zone (25-45) or central meridian (75-135)")]
    BadZone {
        /// Line number.
        line: usize,
        /// The value.
        value: String,
    },
    /// No `带号` and eastings without the zone prefix.
    #[error("the file names no zone: no 带号, and the eastings carry no zone prefix")]
    NoZone,
    /// An easting whose prefix names another zone.
    #[error("line {line}: the easting's prefix names zone {found}, but the file is in zone {stated}")]
    ZoneConflict {
        /// Line number.
        line: usize,
        /// The file's zone.
        stated: u8,
        /// The zone the prefix names.
        found: i64,
    },
    /// No `[地块坐标]` section.
    #[error("the file has no [地块坐标] section")]
    NoCoordinateSection,
    /// A `[地块坐标]` section without parcels.
    #[error("the file has no parcels")]
    NoParcels,
    /// A parcel line that cannot be read.
    #[error("line {line}: parcel line: {reason}")]
    BadParcelLine {
        /// Line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A point line that cannot be read.
    #[error("line {line}: point line: {reason}")]
    BadPointLine {
        /// Line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A point line before any parcel line.
    #[error("line {line}: a point before the first parcel line (a parcel line ends with @)")]
    PointBeforeParcel {
        /// Line number.
        line: usize,
    },
    /// A parcel line with no points after it.
    #[error("line {line}: the parcel has no points")]
    EmptyParcel {
        /// Line number.
        line: usize,
    },
    /// The stated point count does not match the points listed.
    #[error("line {line}: the parcel states {stated} points, but {found} are listed ({closing} of them closing their ring)")]
    PointCount {
        /// Line number of the parcel line.
        line: usize,
        /// The stated count.
        stated: usize,
        /// The point lines found.
        found: usize,
        /// How many of them repeat their ring's first point.
        closing: usize,
    },
    /// A ring number that comes back after another ring started.
    #[error(
        "line {line}: ring {ring} continues after another ring started; list each ring's points together"
    )]
    RingResumed {
        /// Line number.
        line: usize,
        /// The ring number.
        ring: u32,
    },
    /// The parcel's geometry is invalid.
    #[error("line {line}: parcel {parcel}: {source}")]
    Geometry {
        /// Line number of the point where the problem is (or of the parcel line).
        line: usize,
        /// Parcel index in the file (0-based).
        parcel: usize,
        /// What is wrong, with its place in the parcel.
        source: Box<GeometryError>,
    },
    /// A point that cannot be transformed to CGCS2000.
    #[error("line {line}: {source}")]
    Transform {
        /// Line number.
        line: usize,
        /// What PROJ said.
        source: Box<CrsError>,
    },
    /// Writing: text that GBK cannot encode.
    #[error("{text:?} cannot be written in GBK")]
    NotEncodable {
        /// The text.
        text: String,
    },
}

/// One boundary point as listed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BoundaryPoint {
    /// The point's name (`J1`).
    pub name: String,
    /// Northing in metres.
    pub x_north: f64,
    /// Easting in metres, always with the zone prefix (added when the file had none).
    pub y_east: f64,
    /// The line it was read from (0 for points not read from a file). Not part of equality.
    pub line: usize,
}

impl PartialEq for BoundaryPoint {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.x_north == other.x_north && self.y_east == other.y_east
    }
}

/// One ring of a parcel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CoordRing {
    /// The ring number in the file (1 for the first outer ring).
    pub number: u32,
    /// The points, without the closing point even when the file repeats it.
    pub points: Vec<BoundaryPoint>,
}

/// The fields of a parcel line.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ParcelAttributes {
    /// Area in hectares as stated (`None` when the field is empty).
    pub stated_area_ha: Option<f64>,
    /// The decimals the stated area was written with ("1.0000" has 4), read from the text:
    /// the figure stands for anything within half a unit in its last decimal. `None` when the
    /// area was not read from text (the rounding allowance is then nil).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stated_area_decimals: Option<u32>,
    /// Parcel number (地块编号).
    pub number: String,
    /// Parcel name (地块名称).
    pub name: String,
    /// Shape (图形属性), normally 面.
    pub shape: String,
    /// Map sheet (图幅号).
    pub sheet: String,
    /// Use (地块用途).
    pub land_use: String,
    /// Land class (地类编码).
    pub land_class: String,
    /// Further fields before the `@`, in order.
    pub extra: Vec<String>,
}

/// One parcel as listed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CoordParcel {
    /// The parcel line's fields.
    pub attributes: ParcelAttributes,
    /// The stated point count.
    pub stated_points: usize,
    /// The rings in file order.
    pub rings: Vec<CoordRing>,
    /// The line of the parcel line (0 when not read from a file). Not part of equality.
    pub line: usize,
}

impl PartialEq for CoordParcel {
    fn eq(&self, other: &Self) -> bool {
        self.attributes == other.attributes && self.rings == other.rings
    }
}

/// A whole coordinate file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CoordFile {
    /// How the text was encoded.
    pub encoding: TextEncoding,
    /// `[项目信息]` as key/value pairs in file order; `None` without the section.
    pub project: Option<Vec<(String, String)>>,
    /// `[属性描述]` as key/value pairs in file order.
    pub attributes: Vec<(String, String)>,
    /// The zone all coordinates are in.
    pub zone: GkZone,
    /// Whether the file's eastings carried the zone prefix.
    pub prefixed: bool,
    /// The parcels.
    pub parcels: Vec<CoordParcel>,
}

/// A parcel's geometry and areas.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParcelGeometry {
    /// Index of the parcel in the file.
    pub index: usize,
    /// In Gauss–Krüger metres, GIS order (x = prefixed easting, y = northing).
    pub projected: MultiPolygon,
    /// In CGCS2000 lon/lat (EPSG:4490), validated.
    pub lonlat: MultiPolygon,
    /// Planar Gauss–Krüger area in m².
    pub planar_area_m2: f64,
    /// Ellipsoidal CGCS2000 area in m².
    pub ellipsoidal_area_m2: f64,
    /// The stated area in m², if stated.
    pub stated_area_m2: Option<f64>,
}

/// Something in a file worth telling, that does not stop it being read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum CoordFileWarning {
    /// The stated area differs from the planar area by more than 0.1% (and more than its
    /// rounding).
    AreaMismatch {
        /// Parcel index.
        parcel: usize,
        /// Line of the parcel line.
        line: usize,
        /// Stated area in m².
        stated_m2: f64,
        /// Planar area in m².
        planar_m2: f64,
        /// (stated − planar) / planar.
        relative: f64,
    },
    /// No `坐标系` line: CGCS2000 was assumed.
    AssumedCgcs2000,
}

impl fmt::Display for CoordFileWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CoordFileWarning::AreaMismatch {
                parcel,
                line,
                stated_m2,
                planar_m2,
                relative,
            } => write!(
                f,
                "line {line}: parcel {parcel} states {stated_m2:.2} m² but its points enclose {planar_m2:.2} m² ({:+.3}%)",
                relative * 100.0
            ),
            CoordFileWarning::AssumedCgcs2000 => {
                f.write_str("the file names no coordinate system; CGCS2000 was assumed")
            }
        }
    }
}

/// A file read, with every parcel's geometry and the warnings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CoordImport {
    /// The file as listed.
    pub file: CoordFile,
    /// One geometry per parcel, in file order.
    pub parcels: Vec<ParcelGeometry>,
    /// What is worth telling.
    pub warnings: Vec<CoordFileWarning>,
}

/// Reads a file and builds every parcel's validated geometry and areas.
pub fn read(bytes: &[u8]) -> Result<CoordImport, CoordFileError> {
    let file = parse(bytes)?;
    let mut warnings = Vec::new();
    if !file.attributes.iter().any(|(k, _)| k == "坐标系") {
        warnings.push(CoordFileWarning::AssumedCgcs2000);
    }
    let (parcels, area_warnings) = file.geometry()?;
    warnings.extend(area_warnings);
    Ok(CoordImport {
        file,
        parcels,
        warnings,
    })
}

/// Decodes the bytes: UTF-8 (with or without BOM) first, GBK otherwise.
pub fn decode(bytes: &[u8]) -> Result<(String, TextEncoding), CoordFileError> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return std::str::from_utf8(rest)
            .map(|s| (s.to_owned(), TextEncoding::Utf8Bom))
            .map_err(|_| CoordFileError::Encoding);
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Ok((s.to_owned(), TextEncoding::Utf8));
    }
    GBK.decode_without_bom_handling_and_without_replacement(bytes)
        .map(|s| (s.into_owned(), TextEncoding::Gbk))
        .ok_or(CoordFileError::Encoding)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    None,
    Project,
    Attributes,
    Coordinates,
}

/// Reads a file into its parcels, without building geometry.
pub fn parse(bytes: &[u8]) -> Result<CoordFile, CoordFileError> {
    let (text, encoding) = decode(bytes)?;
    let mut section = Section::None;
    let mut project: Option<Vec<(String, String)>> = None;
    let mut attributes = Vec::new();
    let mut attribute_lines = Vec::new();
    let mut saw_coordinates = false;
    let mut parcels: Vec<CoordParcel> = Vec::new();

    for (i, raw) in text.split('\n').enumerate() {
        let line = i + 1;
        let trimmed = raw.trim_end_matches('\r').trim();
        if trimmed.is_empty() {
            continue;
        }
        if let Some(name) = trimmed.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            section = match name.trim() {
                "项目信息" => {
                    project.get_or_insert_with(Vec::new);
                    Section::Project
                }
                "属性描述" => Section::Attributes,
                "地块坐标" => {
                    saw_coordinates = true;
                    Section::Coordinates
                }
                other => {
                    return Err(CoordFileError::UnknownSection {
                        line,
                        name: other.to_owned(),
                    })
                }
            };
            continue;
        }
        match section {
            Section::None => {
                return Err(CoordFileError::OutsideSection {
                    line,
                    text: trimmed.to_owned(),
                })
            }
            Section::Project | Section::Attributes => {
                let (k, v) = trimmed
                    .split_once('=')
                    .ok_or_else(|| CoordFileError::BadAttribute {
                        line,
                        text: trimmed.to_owned(),
                    })?;
                let pair = (k.trim().to_owned(), v.trim().to_owned());
                if section == Section::Project {
                    project.get_or_insert_with(Vec::new).push(pair);
                } else {
                    attribute_lines.push(line);
                    attributes.push(pair);
                }
            }
            Section::Coordinates => {
                let normalised = trimmed.replace('，', ",");
                let fields: Vec<&str> = normalised.split(',').map(str::trim).collect();
                if fields.last() == Some(&"@") {
                    parcels.push(parse_parcel_line(&fields, line)?);
                } else {
                    let parcel = parcels
                        .last_mut()
                        .ok_or(CoordFileError::PointBeforeParcel { line })?;
                    let (ring, point) = parse_point_line(&fields, line)?;
                    add_point(parcel, ring, point, line)?;
                }
            }
        }
    }
    if !saw_coordinates {
        return Err(CoordFileError::NoCoordinateSection);
    }
    if parcels.is_empty() {
        return Err(CoordFileError::NoParcels);
    }
    let zone = check_attributes(&attributes, &attribute_lines)?;
    let (zone, prefixed) = settle_zone(zone, &mut parcels)?;
    for parcel in &mut parcels {
        drop_closing_points(parcel)?;
    }
    Ok(CoordFile {
        encoding,
        project,
        attributes,
        zone,
        prefixed,
        parcels,
    })
}

fn parse_parcel_line(fields: &[&str], line: usize) -> Result<CoordParcel, CoordFileError> {
    let bad = |reason: String| CoordFileError::BadParcelLine { line, reason };
    let body = &fields[..fields.len() - 1];
    let count_text = body.first().copied().unwrap_or("");
    let stated_points = count_text
        .parse::<usize>()
        .map_err(|_| bad(format!("the point count {count_text:?} is not a whole number")))?;
    let field = |i: usize| body.get(i).map(|s| (*s).to_owned()).unwrap_or_default();
    let area_text = field(1);
    let (stated_area_ha, stated_area_decimals) = if area_text.is_empty() {
        (None, None)
    } else {
        let a = area_text
            .parse::<f64>()
            .ok()
            .filter(|a| a.is_finite() && *a >= 0.0)
            .ok_or_else(|| bad(format!("the area {area_text:?} is not a number of hectares")))?;
        (Some(a), Some(written_decimals(&area_text)))
    };
    Ok(CoordParcel {
        attributes: ParcelAttributes {
            stated_area_ha,
            stated_area_decimals,
            number: field(2),
            name: field(3),
            shape: field(4),
            sheet: field(5),
            land_use: field(6),
            land_class: field(7),
            extra: body.iter().skip(8).map(|s| (*s).to_owned()).collect(),
        },
        stated_points,
        rings: Vec::new(),
        line,
    })
}

/// The number of decimals a figure was written with: the digits after its decimal point, as
/// typed. "1.0000" has 4 although the number reads back as 1, so this must come from the text,
/// never from the parsed `f64`.
fn written_decimals(text: &str) -> u32 {
    text.split_once('.').map_or(0, |(_, fraction)| {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        u32::try_from(digits).unwrap_or(u32::MAX)
    })
}

/// The length of the quarter meridian on the CGCS2000 ellipsoid, rounded up, in metres.
const MAX_NORTHING: f64 = 10_002_000.0;

fn parse_point_line(fields: &[&str], line: usize) -> Result<(u32, BoundaryPoint), CoordFileError> {
    let bad = |reason: String| CoordFileError::BadPointLine { line, reason };
    if fields.len() < 4 {
        return Err(bad(format!(
            "expected name,ring,X,Y, found {} field(s)",
            fields.len()
        )));
    }
    let ring = fields[1]
        .parse::<u32>()
        .ok()
        .filter(|r| *r >= 1)
        .ok_or_else(|| bad(format!("the ring number {:?} is not 1, 2, 3…", fields[1])))?;
    let number = |text: &str, what: &str| {
        text.parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| bad(format!("{what} {text:?} is not a number")))
    };
    let x_north = number(fields[2], "X (northing)")?;
    // A northing is the distance from the equator along the meridian: in China it is positive
    // and no more than the quarter meridian. Anything else is a typo or another format, and
    // projecting it would give a point far away (or a transform error) instead of the reason.
    if !(0.0..=MAX_NORTHING).contains(&x_north) {
        return Err(bad(format!(
            "X (northing) {x_north} is not a northern-hemisphere Gauss-Krüger northing (0 to {MAX_NORTHING} m)"
        )));
    }
    Ok((
        ring,
        BoundaryPoint {
            name: fields[0].to_owned(),
            x_north,
            y_east: number(fields[3], "Y (easting)")?,
            line,
        },
    ))
}

fn add_point(
    parcel: &mut CoordParcel,
    ring: u32,
    point: BoundaryPoint,
    line: usize,
) -> Result<(), CoordFileError> {
    match parcel.rings.last_mut() {
        Some(last) if last.number == ring => last.points.push(point),
        _ => {
            if parcel.rings.iter().any(|r| r.number == ring) {
                return Err(CoordFileError::RingResumed { line, ring });
            }
            parcel.rings.push(CoordRing {
                number: ring,
                points: vec![point],
            });
        }
    }
    Ok(())
}

/// Checks the `[属性描述]` values this reader depends on; returns the zone `带号` names, if any.
fn check_attributes(
    attributes: &[(String, String)],
    lines: &[usize],
) -> Result<Option<(GkZone, usize)>, CoordFileError> {
    let mut zone = None;
    for ((key, value), &line) in attributes.iter().zip(lines) {
        match key.as_str() {
            "坐标系" => {
                let v = value.to_uppercase();
                if !(v.contains("2000") || v.contains("CGCS")) {
                    return Err(CoordFileError::UnsupportedCoordinateSystem {
                        line,
                        value: value.clone(),
                    });
                }
            }
            "几度分带" if value.trim_end_matches('度') != "3" => {
                return Err(CoordFileError::UnsupportedZoneWidth {
                    line,
                    value: value.clone(),
                });
            }
            "投影类型" if !value.is_empty() && !value.contains("高斯") => {
                return Err(CoordFileError::Unsupported {
                    line,
                    key: key.clone(),
                    value: value.clone(),
                    expected: "高斯克吕格",
                });
            }
            "计量单位" if !value.is_empty() && value != "米" && value != "m" => {
                return Err(CoordFileError::Unsupported {
                    line,
                    key: key.clone(),
                    value: value.clone(),
                    expected: "米",
                });
            }
            "带号" => {
                let bad = || CoordFileError::BadZone {
                    line,
                    value: value.clone(),
                };
                let n = value.parse::<i64>().map_err(|_| bad())?;
                let z = if (75..=135).contains(&n) && n % 3 == 0 {
                    GkZone::new(n / 3)
                } else {
                    GkZone::new(n)
                };
                zone = Some((z.map_err(|_| bad())?, line));
            }
            _ => {}
        }
    }
    Ok(zone)
}

/// Settles the zone and adds the zone prefix to eastings that lack it.
fn settle_zone(
    stated: Option<(GkZone, usize)>,
    parcels: &mut [CoordParcel],
) -> Result<(GkZone, bool), CoordFileError> {
    let mut points = parcels
        .iter()
        .flat_map(|p| p.rings.iter())
        .flat_map(|r| r.points.iter());
    let first = points.next().ok_or(CoordFileError::NoParcels)?;
    let prefixed = first.y_east >= 1_000_000.0;
    let zone = match (stated, prefixed) {
        (Some((z, _)), _) => z,
        (None, true) => GkZone::from_prefixed_easting(first.y_east).ok_or(CoordFileError::BadPointLine {
            line: first.line,
            reason: format!("the easting {} carries no zone 25-45 in front", first.y_east),
        })?,
        (None, false) => return Err(CoordFileError::NoZone),
    };
    let offset = f64::from(zone.number()) * 1_000_000.0;
    for p in parcels
        .iter_mut()
        .flat_map(|p| p.rings.iter_mut())
        .flat_map(|r| r.points.iter_mut())
    {
        if (p.y_east >= 1_000_000.0) != prefixed {
            return Err(CoordFileError::BadPointLine {
                line: p.line,
                reason: "some eastings carry the zone prefix and some do not".to_owned(),
            });
        }
        if prefixed {
            let found = (p.y_east / 1_000_000.0).floor() as i64;
            if found != i64::from(zone.number()) {
                return Err(CoordFileError::ZoneConflict {
                    line: p.line,
                    stated: zone.number(),
                    found,
                });
            }
        } else {
            p.y_east += offset;
        }
    }
    Ok((zone, prefixed))
}

/// Drops each ring's repeated closing point and checks the stated count, which may count the
/// closing points or not.
fn drop_closing_points(parcel: &mut CoordParcel) -> Result<(), CoordFileError> {
    if parcel.rings.is_empty() {
        return Err(CoordFileError::EmptyParcel { line: parcel.line });
    }
    let found: usize = parcel.rings.iter().map(|r| r.points.len()).sum();
    let mut closing = 0;
    for ring in &mut parcel.rings {
        let closes = ring.points.len() > 1
            && ring.points.first().map(|p| (p.x_north, p.y_east))
                == ring.points.last().map(|p| (p.x_north, p.y_east));
        if closes {
            ring.points.pop();
            closing += 1;
        }
    }
    let rings = parcel.rings.len();
    let ok = parcel.stated_points == found
        || parcel.stated_points == found - closing
        || parcel.stated_points == found - closing + rings;
    if ok {
        Ok(())
    } else {
        Err(CoordFileError::PointCount {
            line: parcel.line,
            stated: parcel.stated_points,
            found,
            closing,
        })
    }
}

impl CoordFile {
    /// Builds, validates and measures every parcel, and warns where a stated area does not
    /// match.
    pub fn geometry(&self) -> Result<(Vec<ParcelGeometry>, Vec<CoordFileWarning>), CoordFileError> {
        let to_lonlat = Transformer::new(self.zone.srid(true), Srid::CGCS2000).map_err(|e| {
            CoordFileError::Transform {
                line: 0,
                source: Box::new(e),
            }
        })?;
        let mut out = Vec::with_capacity(self.parcels.len());
        let mut warnings = Vec::new();
        for (index, parcel) in self.parcels.iter().enumerate() {
            let g = parcel_geometry(index, parcel, &to_lonlat)?;
            if let Some(w) = area_warning(index, parcel, &g) {
                warnings.push(w);
            }
            out.push(g);
        }
        Ok((out, warnings))
    }
}

/// Rings of a parcel grouped into polygons, as indices into `parcel.rings`.
fn group_rings(parcel: &CoordParcel) -> Vec<Vec<usize>> {
    let closed: Vec<Vec<Coord>> = parcel.rings.iter().map(closed_ring).collect();
    let mut parts: Vec<Vec<usize>> = Vec::new();
    for (r, ring) in closed.iter().enumerate() {
        let host = parts.iter_mut().find(|part| {
            validate::ring_inside(ring, &closed[part[0]])
                && !part[1..].iter().any(|&h| validate::ring_inside(ring, &closed[h]))
        });
        match host {
            Some(part) => part.push(r),
            None => parts.push(vec![r]),
        }
    }
    parts
}

fn closed_ring(ring: &CoordRing) -> Vec<Coord> {
    let mut coords: Vec<Coord> = ring
        .points
        .iter()
        .map(|p| Coord {
            x: p.y_east,
            y: p.x_north,
        })
        .collect();
    if let Some(&first) = coords.first() {
        coords.push(first);
    }
    coords
}

fn parcel_geometry(
    index: usize,
    parcel: &CoordParcel,
    to_lonlat: &Transformer,
) -> Result<ParcelGeometry, CoordFileError> {
    let groups = group_rings(parcel);
    let raw: Vec<Vec<Vec<Coord>>> = groups
        .iter()
        .map(|g| g.iter().map(|&r| closed_ring(&parcel.rings[r])).collect())
        .collect();
    let line_of = |err: &GeometryError| -> usize {
        let place = err.place();
        let ring = place
            .part
            .and_then(|p| groups.get(p))
            .and_then(|g| g.get(place.ring.unwrap_or(0)))
            .and_then(|&r| parcel.rings.get(r));
        match (ring, place.vertex) {
            (Some(ring), Some(v)) => ring
                .points
                .get(v)
                .or(ring.points.first())
                .map_or(parcel.line, |p| p.line),
            (Some(ring), None) => ring.points.first().map_or(parcel.line, |p| p.line),
            _ => parcel.line,
        }
    };
    let geometry_error = |err: GeometryError| CoordFileError::Geometry {
        line: line_of(&err),
        parcel: index,
        source: Box::new(err),
    };
    let projected = validate::multi_polygon(&raw, &Rules::PROJECTED).map_err(geometry_error)?;

    let mut raw_lonlat = raw.clone();
    for (p, rings) in raw_lonlat.iter_mut().enumerate() {
        for (r, ring) in rings.iter_mut().enumerate() {
            let source = &parcel.rings[groups[p][r]];
            for (v, c) in ring.iter_mut().enumerate() {
                *c = to_lonlat.coord(*c).map_err(|e| CoordFileError::Transform {
                    line: source
                        .points
                        .get(v)
                        .or(source.points.first())
                        .map_or(parcel.line, |pt| pt.line),
                    source: Box::new(e),
                })?;
            }
        }
    }
    let lonlat = validate::multi_polygon(&raw_lonlat, &Rules::PARCEL).map_err(geometry_error)?;
    validate::within_zones(&lonlat).map_err(geometry_error)?;
    Ok(ParcelGeometry {
        index,
        planar_area_m2: planar_area(&projected),
        ellipsoidal_area_m2: ellipsoidal_area(&lonlat),
        stated_area_m2: parcel.attributes.stated_area_ha.map(|ha| ha * M2_PER_HA),
        projected,
        lonlat,
    })
}

/// The warning for a stated area more than 0.1% off the planar one, allowing for the rounding
/// of the stated figure.
fn area_warning(index: usize, parcel: &CoordParcel, g: &ParcelGeometry) -> Option<CoordFileWarning> {
    let stated_ha = parcel.attributes.stated_area_ha?;
    let stated_m2 = stated_ha * M2_PER_HA;
    let diff = (stated_m2 - g.planar_area_m2).abs();
    // Half a unit in the last decimal the figure was written with. The decimals come from the
    // text: the f64 of "1.0000" renders as "1", which would allow half a hectare.
    let rounding_m2 = parcel.attributes.stated_area_decimals.map_or(0.0, |decimals| {
        0.5 * 10f64.powi(-i32::try_from(decimals).unwrap_or(i32::MAX)) * M2_PER_HA
    });
    let tolerance = (0.001 * g.planar_area_m2).max(rounding_m2 * (1.0 + 1e-9));
    (diff > tolerance).then(|| CoordFileWarning::AreaMismatch {
        parcel: index,
        line: parcel.line,
        stated_m2,
        planar_m2: g.planar_area_m2,
        relative: if g.planar_area_m2 > 0.0 {
            (stated_m2 - g.planar_area_m2) / g.planar_area_m2
        } else {
            f64::INFINITY
        },
    })
}

/// The standard `[属性描述]` keys, in the standard order, with their defaults.
const STANDARD_ATTRIBUTES: [(&str, &str); 11] = [
    ("格式版本号", "1.01版本"),
    ("数据产生单位", ""),
    ("数据产生日期", ""),
    ("坐标系", "2000国家大地坐标系"),
    ("几度分带", "3"),
    ("投影类型", "高斯克吕格"),
    ("计量单位", "米"),
    ("带号", ""),
    ("精度", "0.001"),
    ("转换参数", ",,,,,,"),
    ("", ""),
];

/// Formats a coordinate with at least 3 decimals (millimetres), and more only when the value
/// needs them to read back the same.
fn format_metres(v: f64) -> String {
    let fixed = format!("{v:.3}");
    if fixed.parse::<f64>().ok() == Some(v) {
        fixed
    } else {
        format!("{v}")
    }
}

impl CoordFile {
    /// The file in the standard form as text: `[项目信息]` when present, the standard
    /// `[属性描述]` keys in order (then any others the file had), eastings with the zone prefix,
    /// each ring closed by repeating its first point, and point counts that include the closing
    /// points. CRLF line ends.
    pub fn to_standard_text(&self) -> String {
        let mut out = String::new();
        let mut line = |s: &str| {
            out.push_str(s);
            out.push_str("\r\n");
        };
        if let Some(project) = &self.project {
            line("[项目信息]");
            for (k, v) in project {
                line(&format!("{k}={v}"));
            }
        }
        line("[属性描述]");
        let given = |key: &str| {
            self.attributes
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
        };
        for (key, default) in STANDARD_ATTRIBUTES.iter().filter(|(k, _)| !k.is_empty()) {
            let value = match *key {
                "带号" => self.zone.number().to_string(),
                "坐标系" | "几度分带" | "投影类型" | "计量单位" => (*default).to_owned(),
                _ => given(key).unwrap_or_else(|| (*default).to_owned()),
            };
            line(&format!("{key}={value}"));
        }
        for (k, v) in &self.attributes {
            if !STANDARD_ATTRIBUTES.iter().any(|(s, _)| s == k) {
                line(&format!("{k}={v}"));
            }
        }
        line("[地块坐标]");
        for parcel in &self.parcels {
            let a = &parcel.attributes;
            let count: usize = parcel.rings.iter().map(|r| r.points.len() + 1).sum();
            let mut fields = vec![
                count.to_string(),
                a.stated_area_ha
                    .map(|v| match a.stated_area_decimals {
                        Some(decimals) => format!("{v:.*}", usize::try_from(decimals).unwrap_or(0)),
                        None => v.to_string(),
                    })
                    .unwrap_or_default(),
                a.number.clone(),
                a.name.clone(),
                a.shape.clone(),
                a.sheet.clone(),
                a.land_use.clone(),
                a.land_class.clone(),
            ];
            fields.extend(a.extra.iter().cloned());
            fields.push("@".to_owned());
            line(&fields.join(","));
            for ring in &parcel.rings {
                for p in ring.points.iter().chain(ring.points.first()) {
                    line(&format!(
                        "{},{},{},{}",
                        p.name,
                        ring.number,
                        format_metres(p.x_north),
                        format_metres(p.y_east)
                    ));
                }
            }
        }
        out
    }

    /// The file in the standard form, GBK-encoded with CRLF line ends.
    pub fn write_gbk(&self) -> Result<Vec<u8>, CoordFileError> {
        let text = self.to_standard_text();
        let (bytes, _, had_errors) = GBK.encode(&text);
        if had_errors {
            let text = text
                .lines()
                .find(|l| GBK.encode(l).2)
                .unwrap_or_default()
                .to_owned();
            return Err(CoordFileError::NotEncodable { text });
        }
        Ok(bytes.into_owned())
    }

    /// A file for parcels given in CGCS2000 lon/lat, projected into `zone`: points are named
    /// J1, J2… per parcel, rings numbered 1, 2… (each polygon's outer ring, then its holes),
    /// and the stated area is the planar area in hectares to 4 decimals.
    pub fn from_lonlat(
        zone: GkZone,
        parcels: &[(ParcelAttributes, MultiPolygon)],
    ) -> Result<CoordFile, CoordFileError> {
        let to_gk =
            Transformer::new(Srid::CGCS2000, zone.srid(true)).map_err(|e| CoordFileError::Transform {
                line: 0,
                source: Box::new(e),
            })?;
        let mut out = Vec::with_capacity(parcels.len());
        for (attributes, mp) in parcels {
            let projected = to_gk.multi_polygon(mp).map_err(|e| CoordFileError::Transform {
                line: 0,
                source: Box::new(e),
            })?;
            let mut rings = Vec::new();
            let mut n = 0usize;
            for polygon in &projected.0 {
                for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
                    let coords = &ring.0[..ring.0.len().saturating_sub(1)];
                    let points = coords
                        .iter()
                        .map(|c| {
                            n += 1;
                            BoundaryPoint {
                                name: format!("J{n}"),
                                x_north: crate::area::round_to(c.y, 3),
                                y_east: crate::area::round_to(c.x, 3),
                                line: 0,
                            }
                        })
                        .collect();
                    rings.push(CoordRing {
                        number: u32::try_from(rings.len() + 1).unwrap_or(u32::MAX),
                        points,
                    });
                }
            }
            let mut attributes = attributes.clone();
            attributes.stated_area_ha = Some(crate::area::round_to(planar_area(&projected) / M2_PER_HA, 4));
            attributes.stated_area_decimals = Some(4);
            let stated_points = rings.iter().map(|r: &CoordRing| r.points.len() + 1).sum();
            out.push(CoordParcel {
                attributes,
                stated_points,
                rings,
                line: 0,
            });
        }
        Ok(CoordFile {
            encoding: TextEncoding::Gbk,
            project: None,
            attributes: vec![
                ("坐标系".to_owned(), "2000国家大地坐标系".to_owned()),
                ("几度分带".to_owned(), "3".to_owned()),
                ("投影类型".to_owned(), "高斯克吕格".to_owned()),
                ("计量单位".to_owned(), "米".to_owned()),
                ("带号".to_owned(), zone.number().to_string()),
                ("精度".to_owned(), "0.001".to_owned()),
            ],
            zone,
            prefixed: true,
            parcels: out,
        })
    }
}
