//! GeoJSON in: `FeatureCollections`, Features and bare geometries into validated CGCS2000
//! geometry, with a streaming reader so a 500 MB layer never sits in memory whole.
//!
//! Coordinates are RFC 7946 longitude/latitude unless the document carries a legacy `crs`
//! member (as GDAL, QGIS and ArcGIS write when exporting in a projected CRS). Supported there:
//! EPSG:4490, EPSG:4326 and CRS84 (read as lon/lat) and the CGCS2000 3-degree Gauss–Krüger
//! zones EPSG:4513–4554 (among them 4524/4525 with the zone prefix, 4545/4546 without), whose
//! coordinates are `[easting, northing]` in GIS order as those exporters write them; they are
//! transformed to EPSG:4490 with PROJ. Any other `crs` is refused rather than guessed.
//!
//! In a streamed file the `crs` member must come before `features` (every exporter writes it
//! first); one that comes after features were read is refused, since those features would
//! already have been read in the wrong CRS.
//!
//! Every feature is validated ([`crate::validate`]); one that fails is not an error of the
//! document but a [`Refusal`] with its index, its `id` and the reason, so an import can report
//! them all at once.

use std::fmt;
use std::io::Read;
use std::ops::ControlFlow;

use geo_types::{Coord, MultiPolygon, Point};
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::crs::{CrsError, Srid, Transformer};
use crate::validate::{self, GeometryError, Place, Rules};

/// Which geometry types a layer or upload takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Accept {
    /// Polygon or `MultiPolygon` (stored as `MultiPolygon`).
    Polygons,
    /// Polygons or points (a single Point, or a `MultiPoint` of one point): geohazard layers.
    PolygonsOrPoints,
}

/// A validated geometry in EPSG:4490.
#[derive(Debug, Clone, PartialEq)]
pub enum LayerGeometry {
    /// One or more polygons.
    Polygons(MultiPolygon),
    /// A point.
    Point(Point),
}

/// One feature that passed validation.
#[derive(Debug, Clone, PartialEq)]
pub struct InFeature {
    /// Position of the feature in its collection (0-based).
    pub index: usize,
    /// The feature's `id`, as text, if it had one.
    pub source_id: Option<String>,
    /// The feature's `properties` (empty when absent or null).
    pub properties: Map<String, Value>,
    /// The geometry in EPSG:4490.
    pub geometry: LayerGeometry,
}

/// One feature refused, with why and where.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Refusal {
    /// Position of the feature in its collection (0-based).
    pub index: usize,
    /// The feature's `id`, as text, if it had one.
    pub source_id: Option<String>,
    /// A stable code: the [`GeometryError::code`], or `not_a_feature` / `no_geometry`.
    pub code: String,
    /// The reason, for people, with the place (feature, polygon, ring, vertex).
    pub reason: String,
    /// The place, when the problem is in the geometry.
    pub place: Option<Place>,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source_id {
            Some(id) => write!(f, "feature {} (id {id}): {}", self.index, self.reason),
            None => write!(f, "feature {}: {}", self.index, self.reason),
        }
    }
}

/// What reading one feature gave.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// A valid feature.
    Feature(InFeature),
    /// A refused feature.
    Refused(Refusal),
}

/// Why a document could not be read at all (as opposed to a feature being refused).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GeoJsonError {
    /// Not JSON, or JSON that ends early.
    #[error("line {line}, column {column}: {message}")]
    Json {
        /// Line of the problem.
        line: usize,
        /// Column of the problem.
        column: usize,
        /// `serde_json`'s message.
        message: String,
    },
    /// The document is not of the expected GeoJSON type.
    #[error("expected {expected}, found {found}")]
    WrongDocument {
        /// What was expected.
        expected: &'static str,
        /// What was found.
        found: String,
    },
    /// The legacy `crs` member names a CRS that is not supported, or cannot be read.
    #[error("the crs member: {0}")]
    Crs(Box<CrsError>),
    /// The `crs` member came after features had been read.
    #[error("the crs member comes after features were read; write it before \"features\"")]
    CrsAfterFeatures,
    /// Reading the input failed.
    #[error("reading the input: {0}")]
    Io(String),
    /// The consumer stopped reading.
    #[error("reading was stopped")]
    Stopped,
}

impl GeoJsonError {
    fn from_json(e: &serde_json::Error) -> Self {
        if e.is_io() {
            GeoJsonError::Io(e.to_string())
        } else {
            GeoJsonError::Json {
                line: e.line(),
                column: e.column(),
                message: e.to_string(),
            }
        }
    }
}

/// How features are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadOptions {
    /// Which geometry types are taken.
    pub accept: Accept,
    /// The validation rules (the bounds are applied after any transform to lon/lat).
    pub rules: Rules,
    /// Most numbers a position may have: 3 for layers (an altitude, dropped: layers are
    /// flat), 2 for parcels, whose altitude would otherwise vanish without a word.
    pub max_ordinates: usize,
}

impl ReadOptions {
    /// For a control layer: polygons (or points, for geohazards), no vertex cap.
    pub fn layer(accept: Accept) -> Self {
        ReadOptions {
            accept,
            rules: Rules::LAYER,
            max_ordinates: 3,
        }
    }

    /// For parcels a user uploads: polygons only, with the parcel vertex cap.
    pub fn parcels() -> Self {
        ReadOptions {
            accept: Accept::Polygons,
            rules: Rules::PARCEL,
            max_ordinates: 2,
        }
    }
}

/// What a finished read saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadSummary {
    /// Features read (valid and refused).
    pub features: usize,
    /// The CRS the coordinates were in.
    pub source_srid: Srid,
}

/// Turns feature JSON into [`Item`]s; holds the CRS state of one document.
struct FeatureReader {
    options: ReadOptions,
    srid: Srid,
    transformer: Option<Transformer>,
    next_index: usize,
}

impl FeatureReader {
    fn new(options: ReadOptions) -> Self {
        FeatureReader {
            options,
            srid: Srid::CGCS2000,
            transformer: None,
            next_index: 0,
        }
    }

    fn set_crs(&mut self, crs: &Value) -> Result<(), GeoJsonError> {
        let srid = crs_member(crs)?;
        if self.next_index > 0 && srid != self.srid && !(srid.is_geographic() && self.srid.is_geographic()) {
            return Err(GeoJsonError::CrsAfterFeatures);
        }
        self.srid = srid;
        self.transformer = if srid.is_geographic() {
            None
        } else {
            Some(Transformer::new(srid, Srid::CGCS2000).map_err(|e| GeoJsonError::Crs(Box::new(e)))?)
        };
        Ok(())
    }

    fn feature(&mut self, value: Value) -> Item {
        let index = self.next_index;
        self.next_index += 1;
        let refuse = |source_id: Option<String>, code: &str, reason: String, place: Option<Place>| {
            Item::Refused(Refusal {
                index,
                source_id,
                code: code.to_owned(),
                reason,
                place,
            })
        };
        let Value::Object(mut object) = value else {
            return refuse(
                None,
                "not_a_feature",
                format!("feature {index}: not a JSON object"),
                None,
            );
        };
        let source_id = match object.get("id") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        if object.get("type").and_then(Value::as_str) != Some("Feature") {
            return refuse(
                source_id,
                "not_a_feature",
                format!("feature {index}: \"type\" is not \"Feature\""),
                None,
            );
        }
        let properties = match object.remove("properties") {
            Some(Value::Object(map)) => map,
            Some(Value::Null) | None => Map::new(),
            Some(_) => {
                return refuse(
                    source_id,
                    "not_a_feature",
                    format!("feature {index}: \"properties\" is not an object"),
                    None,
                )
            }
        };
        let geometry = match object.remove("geometry") {
            Some(Value::Null) | None => {
                return refuse(
                    source_id,
                    "no_geometry",
                    format!("feature {index}: the feature has no geometry"),
                    None,
                )
            }
            Some(g) => g,
        };
        match self.geometry(geometry) {
            Ok(geometry) => Item::Feature(InFeature {
                index,
                source_id,
                properties,
                geometry,
            }),
            Err(e) => {
                let e = e.in_feature(index);
                refuse(source_id, e.code(), e.to_string(), Some(e.place()))
            }
        }
    }

    /// A geometry object to validated EPSG:4490 geometry.
    fn geometry(&self, value: Value) -> Result<LayerGeometry, GeometryError> {
        let at = Place::default();
        let geometry =
            serde_json::from_value::<geojson::Geometry>(value).map_err(|e| GeometryError::WrongType {
                at,
                found: format!("malformed geometry ({e})"),
                expected: self.expected().to_owned(),
            })?;
        let out = match geometry.value {
            geojson::GeometryValue::Polygon { coordinates } => {
                let parts = vec![rings(&coordinates, 0, self.options.max_ordinates)?];
                LayerGeometry::Polygons(self.polygons(parts)?)
            }
            geojson::GeometryValue::MultiPolygon { coordinates } => {
                let parts = coordinates
                    .iter()
                    .enumerate()
                    .map(|(p, polygon)| rings(polygon, p, self.options.max_ordinates))
                    .collect::<Result<Vec<_>, _>>()?;
                LayerGeometry::Polygons(self.polygons(parts)?)
            }
            geojson::GeometryValue::Point { coordinates }
                if self.options.accept == Accept::PolygonsOrPoints =>
            {
                LayerGeometry::Point(self.point(&coordinates)?)
            }
            geojson::GeometryValue::MultiPoint { coordinates }
                if self.options.accept == Accept::PolygonsOrPoints && coordinates.len() == 1 =>
            {
                LayerGeometry::Point(self.point(&coordinates[0])?)
            }
            other => {
                return Err(GeometryError::WrongType {
                    at,
                    found: other.type_name().to_owned(),
                    expected: self.expected().to_owned(),
                })
            }
        };
        Ok(out)
    }

    fn expected(&self) -> &'static str {
        match self.options.accept {
            Accept::Polygons => "a Polygon or MultiPolygon",
            Accept::PolygonsOrPoints => "a Polygon, MultiPolygon or Point",
        }
    }

    fn polygons(&self, mut parts: Vec<Vec<Vec<Coord>>>) -> Result<MultiPolygon, GeometryError> {
        // Structure and finiteness first, in the source CRS; then the transform; then the
        // whole validation in lon/lat, where the range is checked.
        if let Some(t) = &self.transformer {
            for (p, part) in parts.iter_mut().enumerate() {
                for (r, ring) in part.iter_mut().enumerate() {
                    for (v, c) in ring.iter_mut().enumerate() {
                        let at = Place {
                            feature: None,
                            part: Some(p),
                            ring: Some(r),
                            vertex: Some(v),
                        };
                        if !(c.x.is_finite() && c.y.is_finite()) {
                            return Err(GeometryError::NonFinite { at });
                        }
                        *c = t.coord(*c).map_err(|e| GeometryError::Transform {
                            at,
                            message: e.to_string(),
                        })?;
                    }
                }
            }
        }
        validate::multi_polygon(&parts, &self.options.rules)
    }

    fn point(&self, position: &geojson::Position) -> Result<Point, GeometryError> {
        let at = Place::default();
        let c = coord(position, at, self.options.max_ordinates)?;
        let c = match &self.transformer {
            Some(t) => {
                if !(c.x.is_finite() && c.y.is_finite()) {
                    return Err(GeometryError::NonFinite { at });
                }
                t.coord(c).map_err(|e| GeometryError::Transform {
                    at,
                    message: e.to_string(),
                })?
            }
            None => c,
        };
        validate::point(c, &self.options.rules)
    }
}

fn coord(position: &geojson::Position, at: Place, max_ordinates: usize) -> Result<Coord, GeometryError> {
    match position.as_slice() {
        [x, y, rest @ ..] if rest.len() + 2 > max_ordinates => Err(GeometryError::ExtraOrdinates {
            at,
            found: rest.len() + 2,
            max: max_ordinates,
        }),
        [x, y, ..] => Ok(Coord { x: *x, y: *y }),
        other => Err(GeometryError::ShortPosition {
            at,
            found: other.len(),
        }),
    }
}

fn rings(
    polygon: &[Vec<geojson::Position>],
    part: usize,
    max_ordinates: usize,
) -> Result<Vec<Vec<Coord>>, GeometryError> {
    polygon
        .iter()
        .enumerate()
        .map(|(r, ring)| {
            ring.iter()
                .enumerate()
                .map(|(v, pos)| {
                    coord(
                        pos,
                        Place {
                            feature: None,
                            part: Some(part),
                            ring: Some(r),
                            vertex: Some(v),
                        },
                        max_ordinates,
                    )
                })
                .collect()
        })
        .collect()
}

/// Reads a legacy `crs` member: `{"type": "name", "properties": {"name": "EPSG:4524"}}`, or the
/// 2008 draft's `{"type": "EPSG", "properties": {"code": 4524}}`.
fn crs_member(crs: &Value) -> Result<Srid, GeoJsonError> {
    let props = crs.get("properties");
    let srid = match crs.get("type").and_then(Value::as_str) {
        Some("name") => props
            .and_then(|p| p.get("name"))
            .and_then(Value::as_str)
            .map(Srid::from_name),
        Some("EPSG") => props
            .and_then(|p| p.get("code"))
            .and_then(Value::as_i64)
            .map(|c| Srid::new(i32::try_from(c).unwrap_or(i32::MAX))),
        _ => None,
    };
    match srid {
        Some(result) => result.map_err(|e| GeoJsonError::Crs(Box::new(e))),
        None => Err(GeoJsonError::Crs(Box::new(CrsError::UnknownName {
            name: crs.to_string(),
        }))),
    }
}

/// Reads a `FeatureCollection` from `reader` one feature at a time, handing each to `sink`, which
/// may stop the reading by returning `ControlFlow::Break`. Memory stays at one feature.
///
/// ```
/// use std::ops::ControlFlow;
/// use landuse_spatial::geojson_in::{read_collection, Accept, Item, ReadOptions};
/// let doc = br#"{"type": "FeatureCollection", "features": [
///   {"type": "Feature", "id": 7, "properties": {"DLBM": "0101"}, "geometry": {"type": "Polygon",
///    "coordinates": [[[109.0, 32.0], [109.1, 32.0], [109.1, 32.1], [109.0, 32.0]]]}},
///   {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon",
///    "coordinates": [[[109.0, 32.0], [109.1, 32.0], [109.1, 32.1], [109.0, 32.1]]]}}]}"#;
/// let mut items = Vec::new();
/// read_collection(&doc[..], ReadOptions::layer(Accept::Polygons), |item| {
///     items.push(item);
///     ControlFlow::Continue(())
/// })
/// .unwrap();
/// assert!(matches!(&items[0], Item::Feature(f) if f.source_id.as_deref() == Some("7")));
/// assert!(matches!(&items[1], Item::Refused(r) if r.code == "unclosed_ring"));
/// ```
pub fn read_collection<R, F>(reader: R, options: ReadOptions, sink: F) -> Result<ReadSummary, GeoJsonError>
where
    R: Read,
    F: FnMut(Item) -> ControlFlow<()>,
{
    let mut state = StreamState {
        reader: FeatureReader::new(options),
        sink,
        failure: None,
        saw_type: false,
    };
    let mut de = serde_json::Deserializer::from_reader(std::io::BufReader::with_capacity(1 << 16, reader));
    let result = CollectionSeed(&mut state)
        .deserialize(&mut de)
        .and_then(|()| de.end());
    if let Some(failure) = state.failure.take() {
        return Err(failure);
    }
    result.map_err(|e| GeoJsonError::from_json(&e))?;
    if !state.saw_type {
        return Err(GeoJsonError::WrongDocument {
            expected: "a FeatureCollection",
            found: "an object without \"type\"".to_owned(),
        });
    }
    Ok(ReadSummary {
        features: state.reader.next_index,
        source_srid: state.reader.srid,
    })
}

struct StreamState<F> {
    reader: FeatureReader,
    sink: F,
    /// An error of ours raised inside serde, kept here so it comes out typed.
    failure: Option<GeoJsonError>,
    saw_type: bool,
}

struct CollectionSeed<'a, F>(&'a mut StreamState<F>);

impl<'de, F: FnMut(Item) -> ControlFlow<()>> DeserializeSeed<'de> for CollectionSeed<'_, F> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, F: FnMut(Item) -> ControlFlow<()>> Visitor<'de> for CollectionSeed<'_, F> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a GeoJSON FeatureCollection object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        use serde::de::Error;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "type" => {
                    let t: String = map.next_value()?;
                    if t != "FeatureCollection" {
                        self.0.failure = Some(GeoJsonError::WrongDocument {
                            expected: "a FeatureCollection",
                            found: t,
                        });
                        return Err(A::Error::custom("wrong document type"));
                    }
                    self.0.saw_type = true;
                }
                "crs" => {
                    let crs: Value = map.next_value()?;
                    if let Err(e) = self.0.reader.set_crs(&crs) {
                        self.0.failure = Some(e);
                        return Err(A::Error::custom("crs"));
                    }
                }
                "features" => map.next_value_seed(FeaturesSeed(&mut *self.0))?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

struct FeaturesSeed<'a, F>(&'a mut StreamState<F>);

impl<'de, F: FnMut(Item) -> ControlFlow<()>> DeserializeSeed<'de> for FeaturesSeed<'_, F> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, F: FnMut(Item) -> ControlFlow<()>> Visitor<'de> for FeaturesSeed<'_, F> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of GeoJSON Features")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        use serde::de::Error;
        while let Some(value) = seq.next_element::<Value>()? {
            let item = self.0.reader.feature(value);
            if (self.0.sink)(item).is_break() {
                self.0.failure = Some(GeoJsonError::Stopped);
                return Err(A::Error::custom("stopped"));
            }
        }
        Ok(())
    }
}

/// Reads a whole document held in memory — a `FeatureCollection`, a Feature or a bare geometry —
/// into items, in order. For uploads of a few parcels; use [`read_collection`] for layers.
pub fn read_document(text: &str, options: ReadOptions) -> Result<Vec<Item>, GeoJsonError> {
    let value: Value = serde_json::from_str(text).map_err(|e| GeoJsonError::from_json(&e))?;
    let Value::Object(mut object) = value else {
        return Err(GeoJsonError::WrongDocument {
            expected: "a GeoJSON object",
            found: "another JSON value".to_owned(),
        });
    };
    let mut reader = FeatureReader::new(options);
    if let Some(crs) = object.get("crs") {
        reader.set_crs(crs)?;
    }
    let kind = object
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    match kind.as_str() {
        "FeatureCollection" => match object.remove("features") {
            Some(Value::Array(features)) => Ok(features.into_iter().map(|f| reader.feature(f)).collect()),
            _ => Err(GeoJsonError::WrongDocument {
                expected: "a \"features\" array",
                found: "none".to_owned(),
            }),
        },
        "Feature" => Ok(vec![reader.feature(Value::Object(object))]),
        "Polygon" | "MultiPolygon" | "Point" | "MultiPoint" | "LineString" | "MultiLineString"
        | "GeometryCollection" => {
            let mut feature = Map::new();
            feature.insert("type".to_owned(), Value::String("Feature".to_owned()));
            feature.insert("geometry".to_owned(), Value::Object(object));
            Ok(vec![reader.feature(Value::Object(feature))])
        }
        other => Err(GeoJsonError::WrongDocument {
            expected: "a FeatureCollection, Feature or geometry",
            found: format!("type {other:?}"),
        }),
    }
}

/// Why uploaded parcels were not taken.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParcelsError {
    /// The document itself could not be read.
    #[error(transparent)]
    Document(#[from] GeoJsonError),
    /// The document has no features.
    #[error("the document has no parcels")]
    Empty,
    /// Some features were refused; nothing is taken.
    #[error("{} parcel(s) refused: {}", .0.len(), .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Refused(Vec<Refusal>),
}

/// Reads uploaded parcels: every feature must be a valid polygon or multipolygon of plain
/// `[longitude, latitude]` positions within the Gauss–Krüger zones 25–45
/// ([`validate::within_zones`]), else none is taken and every refusal is listed.
pub fn read_parcels(text: &str) -> Result<Vec<InFeature>, ParcelsError> {
    let items = read_document(text, ReadOptions::parcels())?;
    if items.is_empty() {
        return Err(ParcelsError::Empty);
    }
    let mut ok = Vec::with_capacity(items.len());
    let mut refused = Vec::new();
    for item in items {
        match item {
            Item::Feature(f) => {
                let zones = match &f.geometry {
                    LayerGeometry::Polygons(mp) => validate::within_zones(mp),
                    LayerGeometry::Point(_) => Ok(()),
                };
                match zones {
                    Ok(()) => ok.push(f),
                    Err(e) => {
                        let e = e.in_feature(f.index);
                        refused.push(Refusal {
                            index: f.index,
                            source_id: f.source_id,
                            code: e.code().to_owned(),
                            reason: e.to_string(),
                            place: Some(e.place()),
                        });
                    }
                }
            }
            Item::Refused(r) => refused.push(r),
        }
    }
    if refused.is_empty() {
        Ok(ok)
    } else {
        Err(ParcelsError::Refused(refused))
    }
}

/// A stream of items read on a thread of its own, so a caller (an async import) can consume
/// features while the next ones are parsed, validated and transformed. Bounded: the reader
/// waits when the consumer falls behind, so memory stays at `capacity` features.
#[cfg(feature = "store")]
#[derive(Debug)]
pub struct FeatureStream {
    rx: tokio::sync::mpsc::Receiver<Result<Item, GeoJsonError>>,
}

#[cfg(feature = "store")]
impl FeatureStream {
    /// Starts reading a `FeatureCollection` from `reader` on a new thread. The last message is
    /// `Err` if the document could not be read to its end.
    pub fn spawn<R: Read + Send + 'static>(reader: R, options: ReadOptions, capacity: usize) -> Self {
        let (tx, rx) = tokio::sync::mpsc::channel(capacity.max(1));
        std::thread::spawn(move || {
            let result = read_collection(reader, options, |item| {
                if tx.blocking_send(Ok(item)).is_err() {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            });
            if let Err(e) = result {
                if e != GeoJsonError::Stopped {
                    // The consumer may be gone already; nothing to tell then.
                    let _ = tx.blocking_send(Err(e));
                }
            }
        });
        FeatureStream { rx }
    }

    /// A stream over items already in memory (tests, small uploads).
    pub fn from_items(items: Vec<Item>) -> Self {
        let (tx, rx) = tokio::sync::mpsc::channel(items.len().max(1));
        for item in items {
            // Cannot fail: the channel holds every item and the receiver is alive.
            let _ = tx.try_send(Ok(item));
        }
        FeatureStream { rx }
    }

    /// The next item, `None` at the end.
    pub async fn next(&mut self) -> Option<Result<Item, GeoJsonError>> {
        self.rx.recv().await
    }

    /// The next item, blocking the thread (outside async code).
    pub fn blocking_next(&mut self) -> Option<Result<Item, GeoJsonError>> {
        self.rx.blocking_recv()
    }
}
