//! The PostGIS layer store: import a control layer as a new version (all or nothing), list
//! versions, and check parcels against the current version of every layer.
//!
//! All SQL of this crate is here (long statements in `sql/*.sql`). Geometry crosses as WKB with
//! SRID 4490 set explicitly; nothing here repairs geometry, because nothing reaches here that
//! the validator refused.

use std::collections::BTreeMap;
use std::io::Read;

use chrono::{DateTime, Utc};
use geo_types::{Geometry, MultiPolygon};
use landuse_domain::check::{
    evaluate, CaseContext, CheckInput, CheckInputError, CheckVerdict, CultivatedSplit, Dlbm, Hit, HitClass,
    LayerFigures, LayerKind, LayerResult, VerdictRules,
};
use landuse_domain::county::CountyCode;
use landuse_domain::ledger::quota::is_construction_class;
use landuse_domain::transition::CheckSummary;
use landuse_domain::units::SquareMetres;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sqlx::{PgConnection, PgPool, Row};
use uuid::Uuid;

use crate::area::AreaFigures;
use crate::crs::Srid;
use crate::geojson_in::{Accept, FeatureStream, GeoJsonError, Item, LayerGeometry, ReadOptions, Refusal};
use crate::validate::{self, GeometryError, Rules};
use crate::wkb_io::{self, WkbError};

const INSERT_FEATURES: &str = include_str!("sql/insert_features.sql");
const INSERT_PIECES: &str = include_str!("sql/insert_pieces.sql");
const OVERLAP_POLYGONS: &str = include_str!("sql/overlap_polygons.sql");
const OUTSIDE_POLYGONS: &str = include_str!("sql/outside_polygons.sql");
const NEAR_POINTS: &str = include_str!("sql/near_points.sql");
const PARCEL_AREAS: &str = include_str!("sql/parcel_areas.sql");
const CURRENT_VERSIONS: &str = include_str!("sql/current_versions.sql");

/// Overlaps below this (1 cm²) are floating-point noise of the intersection, not findings.
/// Real slivers are far larger and are listed; the domain's sliver rule decides whether they
/// count.
pub const NOISE_M2: f64 = 1.0e-4;

/// At most this many refusals are kept in a report; the count is always complete.
pub const MAX_LISTED_REFUSALS: usize = 1000;

/// A database error with what was being attempted.
#[derive(Debug, thiserror::Error)]
#[error("{doing}: {source}")]
pub struct DbError {
    /// What was being attempted.
    pub doing: &'static str,
    /// The driver's error.
    #[source]
    pub source: sqlx::Error,
}

fn db(doing: &'static str) -> impl FnOnce(sqlx::Error) -> DbError {
    move |source| DbError { doing, source }
}

/// What geometry a layer kind takes.
pub fn accept_for(kind: LayerKind) -> Accept {
    if kind == LayerKind::Geohazard {
        Accept::PolygonsOrPoints
    } else {
        Accept::Polygons
    }
}

/// How an import behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOptions {
    /// Refuse the whole import when any feature is refused (the default). When false, valid
    /// features are written and the refused ones only listed.
    pub all_or_nothing: bool,
    /// `ST_Subdivide`'s vertex limit for the check copy.
    pub piece_max_vertices: i32,
    /// Features per insert statement.
    pub batch_size: usize,
    /// Who imports (for the record).
    pub imported_by: Option<Uuid>,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            all_or_nothing: true,
            piece_max_vertices: 256,
            batch_size: 500,
            imported_by: None,
        }
    }
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportReport {
    /// The layer kind.
    pub kind: LayerKind,
    /// The jurisdiction (6-digit code).
    pub jurisdiction: String,
    /// The source's name (file name).
    pub source_name: String,
    /// The new version, when it was committed.
    pub version_id: Option<Uuid>,
    /// Its number within the kind and jurisdiction.
    pub version_no: Option<i32>,
    /// The version it replaced as current, if any.
    pub replaced_version_id: Option<Uuid>,
    /// The source's CRS.
    pub source_srid: Option<Srid>,
    /// Features read.
    pub features_read: usize,
    /// Features written (0 when nothing was committed).
    pub features_written: usize,
    /// Features left out on purpose (cultivated-land polygons of other land classes).
    pub features_skipped: usize,
    /// Check pieces written.
    pub pieces_written: u64,
    /// How many features were refused.
    pub refused_count: usize,
    /// The refused features, with reason and place (the first [`MAX_LISTED_REFUSALS`]).
    pub refused: Vec<Refusal>,
}

/// Why an import stored nothing.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Features were refused, and the import is all or nothing. The report lists them.
    #[error("{} of {} features refused; nothing was imported", .0.refused_count, .0.features_read)]
    FeaturesRefused(Box<ImportReport>),
    /// The document broke off or is not a `FeatureCollection`; nothing was imported.
    #[error("after {features_read} features: {source}; nothing was imported")]
    Document {
        /// Features read before the break.
        features_read: usize,
        /// What broke.
        source: GeoJsonError,
    },
    /// The database refused; nothing was imported.
    #[error(transparent)]
    Database(#[from] DbError),
    /// A geometry could not be encoded.
    #[error(transparent)]
    Wkb(#[from] WkbError),
    /// The source file could not be opened.
    #[error("opening {path}: {message}")]
    Open {
        /// The path.
        path: String,
        /// The OS's message.
        message: String,
    },
}

/// The land class of a cultivated-land feature, from its `DLBM` attribute (any case).
fn dlbm_attribute(properties: &Map<String, Value>) -> Option<String> {
    properties
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("dlbm"))
        .and_then(|(_, v)| match v {
            Value::String(s) => Some(s.trim().to_owned()),
            Value::Number(n) => Some(format!("{:04}", n.as_u64().unwrap_or_default())),
            _ => None,
        })
}

#[derive(Default)]
struct Batch {
    ordinals: Vec<i32>,
    source_ids: Vec<Option<String>>,
    attributes: Vec<Value>,
    wkb: Vec<Vec<u8>>,
}

impl Batch {
    fn len(&self) -> usize {
        self.ordinals.len()
    }

    async fn flush(&mut self, conn: &mut PgConnection, version_id: Uuid) -> Result<(), DbError> {
        if self.ordinals.is_empty() {
            return Ok(());
        }
        sqlx::query(INSERT_FEATURES)
            .bind(version_id)
            .bind(&self.ordinals)
            .bind(&self.source_ids)
            .bind(&self.attributes)
            .bind(&self.wkb)
            .execute(&mut *conn)
            .await
            .map_err(db("writing a batch of layer features"))?;
        *self = Batch::default();
        Ok(())
    }
}

/// Imports a layer as a new version in one transaction: every feature is written, the check
/// pieces are cut, and only then does the new version become current (the old one stays
/// readable). If anything fails — a refused feature (all-or-nothing), a broken document, the
/// database — nothing is stored and the previous current version stays current.
///
/// Imports of the same kind and jurisdiction are serialised by an advisory lock.
#[tracing::instrument(skip(pool, features, options), fields(kind = %kind, jurisdiction = jurisdiction.as_str()))]
pub async fn import_layer(
    pool: &PgPool,
    kind: LayerKind,
    jurisdiction: CountyCode,
    source_name: &str,
    mut features: FeatureStream,
    options: &ImportOptions,
) -> Result<ImportReport, ImportError> {
    let mut report = ImportReport {
        kind,
        jurisdiction: jurisdiction.as_str().to_owned(),
        source_name: source_name.to_owned(),
        version_id: None,
        version_no: None,
        replaced_version_id: None,
        source_srid: None,
        features_read: 0,
        features_written: 0,
        features_skipped: 0,
        pieces_written: 0,
        refused_count: 0,
        refused: Vec::new(),
    };
    let mut tx = pool
        .begin()
        .await
        .map_err(db("starting the import transaction"))?;
    sqlx::query("select pg_advisory_xact_lock(hashtextextended('layer_import:' || $1 || ':' || $2, 0))")
        .bind(kind.code())
        .bind(jurisdiction.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db("waiting for other imports of this layer"))?;
    let version_no: i32 = sqlx::query_scalar(
        "select coalesce(max(version_no), 0) + 1 from layer_versions where kind = $1 and jurisdiction = $2",
    )
    .bind(kind.code())
    .bind(jurisdiction.as_str())
    .fetch_one(&mut *tx)
    .await
    .map_err(db("numbering the new layer version"))?;
    let version_id = Uuid::now_v7();
    sqlx::query(
        "insert into layer_versions (id, kind, jurisdiction, version_no, source_name, imported_by) \
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(version_id)
    .bind(kind.code())
    .bind(jurisdiction.as_str())
    .bind(version_no)
    .bind(source_name)
    .bind(options.imported_by)
    .execute(&mut *tx)
    .await
    .map_err(db("creating the layer version"))?;

    let mut batch = Batch::default();
    write_features(
        &mut tx,
        kind,
        version_id,
        &mut features,
        options,
        &mut report,
        &mut batch,
    )
    .await?;
    if options.all_or_nothing && report.refused_count > 0 {
        report.features_written = 0;
        // Dropping the transaction rolls it back.
        return Err(ImportError::FeaturesRefused(Box::new(report)));
    }
    batch.flush(&mut tx, version_id).await?;

    report.pieces_written = sqlx::query(INSERT_PIECES)
        .bind(version_id)
        .bind(options.piece_max_vertices.max(5))
        .execute(&mut *tx)
        .await
        .map_err(db("cutting the layer into check pieces"))?
        .rows_affected();

    make_current(&mut tx, version_id, version_no, &mut report).await?;
    tx.commit().await.map_err(db("committing the import"))?;
    // Fresh statistics, so that checks and feature pages right after an import are planned on
    // the new rows (autovacuum's analyze comes later, after a quiet table maybe never). The
    // import has committed: a failure here only leaves the statistics as they were.
    if let Err(e) = sqlx::query("analyze layer_features, layer_pieces")
        .execute(pool)
        .await
    {
        tracing::warn!(error = %e, "analysing the layer tables after an import failed");
    }
    tracing::info!(
        version = %version_id,
        features = report.features_written,
        pieces = report.pieces_written,
        "layer imported"
    );
    Ok(report)
}

/// Retires the current version of the layer and makes the new one current, with its counts.
async fn make_current(
    tx: &mut PgConnection,
    version_id: Uuid,
    version_no: i32,
    report: &mut ImportReport,
) -> Result<(), DbError> {
    report.replaced_version_id = sqlx::query_scalar(
        "update layer_versions set is_current = false, superseded_at = now() \
         where kind = $1 and jurisdiction = $2 and is_current returning id",
    )
    .bind(report.kind.code())
    .bind(&report.jurisdiction)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db("retiring the current layer version"))?;
    report.version_id = Some(version_id);
    report.version_no = Some(version_no);
    let report_json = serde_json::to_value(&*report).unwrap_or(Value::Null);
    sqlx::query(
        "update layer_versions set is_current = true, feature_count = $2, piece_count = $3, \
         import_report = $4, \
         extent = (select array[st_xmin(e), st_ymin(e), st_xmax(e), st_ymax(e)]::float8[] \
                     from (select st_extent(geom) as e from layer_features where version_id = $1) t \
                    where e is not null) \
         where id = $1",
    )
    .bind(version_id)
    .bind(i32::try_from(report.features_written).unwrap_or(i32::MAX))
    .bind(i32::try_from(report.pieces_written).unwrap_or(i32::MAX))
    .bind(report_json)
    .execute(&mut *tx)
    .await
    .map_err(db("making the new layer version current"))?;
    Ok(())
}

fn refuse(report: &mut ImportReport, refusal: Refusal) {
    report.refused_count += 1;
    if report.refused.len() < MAX_LISTED_REFUSALS {
        report.refused.push(refusal);
    }
}

/// Reads the stream to its end, writing valid features in batches (until a refusal makes an
/// all-or-nothing import fail; then only counting).
async fn write_features(
    tx: &mut PgConnection,
    kind: LayerKind,
    version_id: Uuid,
    features: &mut FeatureStream,
    options: &ImportOptions,
    report: &mut ImportReport,
    batch: &mut Batch,
) -> Result<(), ImportError> {
    while let Some(next) = features.next().await {
        let item = match next {
            Ok(item) => item,
            Err(source) => {
                return Err(ImportError::Document {
                    features_read: report.features_read,
                    source,
                })
            }
        };
        report.features_read += 1;
        let feature = match item {
            Item::Refused(r) => {
                refuse(report, r);
                continue;
            }
            Item::Feature(f) => f,
        };
        if matches!(kind, LayerKind::CultivatedLand | LayerKind::ConstructionLand) {
            match dlbm_attribute(&feature.properties) {
                None => {
                    refuse(
                        report,
                        Refusal {
                            index: feature.index,
                            source_id: feature.source_id,
                            code: "dlbm_missing".to_owned(),
                            reason: format!(
                                "feature {}: a {} feature needs a DLBM attribute",
                                feature.index,
                                kind.code()
                            ),
                            place: None,
                        },
                    );
                    continue;
                }
                // The survey's DLTB layer holds every class: each kind keeps its own.
                Some(code)
                    if (kind == LayerKind::CultivatedLand && Dlbm::parse(&code).is_err())
                        || (kind == LayerKind::ConstructionLand && !is_construction_class(&code)) =>
                {
                    report.features_skipped += 1;
                    continue;
                }
                Some(_) => {}
            }
        }
        // Once a refusal makes the import fail, keep reading only to list every refusal.
        if options.all_or_nothing && report.refused_count > 0 {
            continue;
        }
        let wkb = match &feature.geometry {
            LayerGeometry::Polygons(mp) => wkb_io::multi_polygon_to_wkb(mp)?,
            LayerGeometry::Point(p) => wkb_io::point_to_wkb(*p)?,
        };
        batch
            .ordinals
            .push(i32::try_from(feature.index).unwrap_or(i32::MAX));
        batch.source_ids.push(feature.source_id);
        batch.attributes.push(Value::Object(feature.properties));
        batch.wkb.push(wkb);
        report.features_written += 1;
        if batch.len() >= options.batch_size.max(1) {
            batch.flush(tx, version_id).await?;
        }
    }
    Ok(())
}

/// Imports a GeoJSON file from disk, streamed: `landuse layer import --kind … --file …`.
pub async fn import_geojson_file(
    pool: &PgPool,
    kind: LayerKind,
    jurisdiction: CountyCode,
    path: &std::path::Path,
    options: &ImportOptions,
) -> Result<ImportReport, ImportError> {
    let file = std::fs::File::open(path).map_err(|e| ImportError::Open {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    import_reader(pool, kind, jurisdiction, &name, file, options).await
}

/// Imports a GeoJSON `FeatureCollection` from any reader, streamed on a thread of its own.
pub async fn import_reader<R: Read + Send + 'static>(
    pool: &PgPool,
    kind: LayerKind,
    jurisdiction: CountyCode,
    source_name: &str,
    reader: R,
    options: &ImportOptions,
) -> Result<ImportReport, ImportError> {
    let stream = FeatureStream::spawn(reader, ReadOptions::layer(accept_for(kind)), 1024);
    import_layer(pool, kind, jurisdiction, source_name, stream, options).await
}

/// One layer version, as listed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerVersion {
    /// The version's id.
    pub id: Uuid,
    /// The layer kind.
    pub kind: LayerKind,
    /// The jurisdiction (6-digit code).
    pub jurisdiction: String,
    /// Its number within kind and jurisdiction (1, 2, …).
    pub version_no: i32,
    /// Whether it is the current one.
    pub is_current: bool,
    /// The source's name.
    pub source_name: String,
    /// The source's CRS code.
    pub source_srid: i32,
    /// Features stored.
    pub feature_count: i32,
    /// Check pieces stored.
    pub piece_count: i32,
    /// When it was imported.
    pub imported_at: DateTime<Utc>,
    /// Who imported it.
    pub imported_by: Option<Uuid>,
    /// When a newer version replaced it.
    pub superseded_at: Option<DateTime<Utc>>,
}

/// Why a stored row could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The database refused.
    #[error(transparent)]
    Database(#[from] DbError),
    /// A stored kind the domain does not know.
    #[error("stored layer kind {0:?} is unknown")]
    UnknownKind(String),
    /// Stored geometry that is not WKB.
    #[error(transparent)]
    Wkb(#[from] WkbError),
}

fn version_from_row(row: &sqlx::postgres::PgRow) -> Result<LayerVersion, ReadError> {
    let get = |e| DbError {
        doing: "reading a layer version row",
        source: e,
    };
    let kind: String = row.try_get("kind").map_err(get)?;
    Ok(LayerVersion {
        id: row.try_get("id").map_err(get)?,
        kind: LayerKind::parse(&kind).map_err(|_| ReadError::UnknownKind(kind.clone()))?,
        jurisdiction: row.try_get("jurisdiction").map_err(get)?,
        version_no: row.try_get("version_no").map_err(get)?,
        is_current: row.try_get("is_current").map_err(get)?,
        source_name: row.try_get("source_name").map_err(get)?,
        source_srid: row.try_get("source_srid").map_err(get)?,
        feature_count: row.try_get("feature_count").map_err(get)?,
        piece_count: row.try_get("piece_count").map_err(get)?,
        imported_at: row.try_get("imported_at").map_err(get)?,
        imported_by: row.try_get("imported_by").map_err(get)?,
        superseded_at: row.try_get("superseded_at").map_err(get)?,
    })
}

/// Every version, newest first, optionally of one kind and/or one jurisdiction.
pub async fn list_versions(
    conn: &mut PgConnection,
    kind: Option<LayerKind>,
    jurisdiction: Option<CountyCode>,
) -> Result<Vec<LayerVersion>, ReadError> {
    let rows = sqlx::query(
        "select id, kind, jurisdiction, version_no, is_current, source_name, source_srid, \
                feature_count, piece_count, imported_at, imported_by, superseded_at \
         from layer_versions \
         where ($1::text is null or kind = $1) and ($2::text is null or jurisdiction = $2) \
         order by kind, jurisdiction, version_no desc",
    )
    .bind(kind.map(LayerKind::code))
    .bind(jurisdiction.map(|j| j.as_str().to_owned()))
    .fetch_all(&mut *conn)
    .await
    .map_err(db("listing layer versions"))?;
    rows.iter().map(version_from_row).collect()
}

/// The jurisdictions whose layers cover a county: itself, its city and its province.
pub fn covering_jurisdictions(county: CountyCode) -> Vec<String> {
    let code = county.as_str();
    let mut out = vec![
        code.to_owned(),
        format!("{}00", &code[..4]),
        format!("{}0000", &code[..2]),
    ];
    out.dedup();
    out
}

/// The current versions that cover a county (its own, its city's and its province's).
pub async fn current_versions(
    conn: &mut PgConnection,
    county: CountyCode,
) -> Result<Vec<LayerVersion>, ReadError> {
    let rows = sqlx::query(CURRENT_VERSIONS)
        .bind(covering_jurisdictions(county))
        .fetch_all(&mut *conn)
        .await
        .map_err(db("loading the current layer versions"))?;
    rows.iter().map(version_from_row).collect()
}

/// One stored feature.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredFeature {
    /// The feature's id.
    pub id: i64,
    /// Its version.
    pub version_id: Uuid,
    /// Its `id` in the source.
    pub source_id: Option<String>,
    /// Its source attributes.
    pub attributes: Value,
    /// Its geometry in EPSG:4490.
    pub geometry: Geometry,
}

/// A page of a version's features in id order, after `after` (keyset paging: a deep page costs
/// what the first does), optionally within a lon/lat bounding box.
pub async fn features_page(
    conn: &mut PgConnection,
    version_id: Uuid,
    after: Option<i64>,
    limit: i64,
    bbox: Option<[f64; 4]>,
) -> Result<Vec<StoredFeature>, ReadError> {
    let [xmin, ymin, xmax, ymax] = bbox.map_or([None; 4], |b| b.map(Some));
    let rows = sqlx::query(
        "select id, version_id, source_id, attributes, st_asbinary(geom) as wkb \
         from layer_features \
         where version_id = $1 and id > coalesce($2, 0) \
           and ($4::float8 is null or geom && st_makeenvelope($4, $5, $6, $7, 4490)) \
         order by id limit $3",
    )
    .bind(version_id)
    .bind(after)
    .bind(limit.clamp(1, 10_000))
    .bind(xmin)
    .bind(ymin)
    .bind(xmax)
    .bind(ymax)
    .fetch_all(&mut *conn)
    .await
    .map_err(db("reading layer features"))?;
    rows.iter()
        .map(|row| {
            let get = |e| DbError {
                doing: "reading a layer feature row",
                source: e,
            };
            let wkb: Vec<u8> = row.try_get("wkb").map_err(get)?;
            Ok(StoredFeature {
                id: row.try_get("id").map_err(get)?,
                version_id: row.try_get("version_id").map_err(get)?,
                source_id: row.try_get("source_id").map_err(get)?,
                attributes: row.try_get("attributes").map_err(get)?,
                geometry: wkb_io::from_wkb(&wkb)?,
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------------

/// The layer version a check used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionUsed {
    /// The version's id.
    pub id: Uuid,
    /// Its jurisdiction.
    pub jurisdiction: String,
    /// Its number.
    pub version_no: i32,
    /// Its source's name.
    pub source_name: String,
    /// When it was imported.
    pub imported_at: DateTime<Utc>,
}

/// One parcel's area.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParcelArea {
    /// Index of the parcel in the request.
    pub parcel: usize,
    /// Its ellipsoidal area.
    pub area: AreaFigures,
}

/// One touched feature (or, for the urban boundary and the mineral whitelist, the part of a
/// parcel outside the layer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckHit {
    /// The feature's id in `layer_features`; `None` for an "outside" part.
    pub feature_id: Option<i64>,
    /// The version the feature belongs to.
    pub version_id: Option<Uuid>,
    /// The feature's `id` in its source.
    pub source_id: Option<String>,
    /// The feature's source attributes.
    pub attributes: Value,
    /// Index of the parcel.
    pub parcel: usize,
    /// The overlap (or the part outside) on the CGCS2000 ellipsoid.
    pub overlap: AreaFigures,
    /// The overlap's share of the parcel (0 to 1).
    pub share: f64,
    /// For geohazards: the geodesic distance from the site to the parcel, in metres.
    pub distance_m: Option<f64>,
    /// How the hit counts (counted, sliver), from the domain's rules.
    pub class: HitClass,
    /// The overlap geometry (RFC 7946 GeoJSON).
    pub geometry: Option<geojson::Geometry>,
}

/// One layer's figures and result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerReport {
    /// The layer.
    pub kind: LayerKind,
    /// Whether a current version existed.
    pub checked: bool,
    /// The versions used.
    pub versions: Vec<VersionUsed>,
    /// The domain's result for the layer.
    pub result: LayerResult,
    /// The counted overlap (slivers excluded).
    pub counted: AreaFigures,
    /// The counted overlap's share of the case area.
    pub counted_share: f64,
    /// Every hit, slivers included.
    pub hits: Vec<CheckHit>,
    /// For cultivated land: the counted area by DLBM.
    pub cultivated: Option<CultivatedSplit>,
    /// For the mineral whitelist: whether every parcel lies wholly inside it.
    pub wholly_inside: Option<bool>,
}

/// An immutable check report: what was measured, against which versions, and the verdicts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckReport {
    /// The county checked for.
    pub jurisdiction: String,
    /// The parcels' areas.
    pub parcels: Vec<ParcelArea>,
    /// The area of the union of the parcels.
    pub case_area: AreaFigures,
    /// One report per layer kind.
    pub layers: Vec<LayerReport>,
    /// The case's result: the worst of the layers.
    pub result: LayerResult,
    /// The layers that could not be checked.
    pub unchecked: Vec<LayerKind>,
    /// The domain's input, kept so a dismissal can be re-decided without measuring again.
    pub input: CheckInput,
    /// The rules the verdicts used.
    pub rules: VerdictRules,
}

impl CheckReport {
    /// The construction-land quota the checked case needs: its area less the counted part on
    /// existing construction land (see `landuse_domain::ledger::quota`).
    pub fn quota_need_mu(&self) -> landuse_domain::ledger::Amount {
        let on_construction_land = self
            .layers
            .iter()
            .find(|l| l.kind == LayerKind::ConstructionLand)
            .map_or(0.0, |l| l.counted.m2);
        landuse_domain::ledger::quota::need_mu(
            self.input.case_area,
            SquareMetres::new(on_construction_land.max(0.0)).unwrap_or(SquareMetres::ZERO),
        )
    }

    /// What the stage rules read of the report: the case's result, whether cultivated land
    /// counted, and the layers not checked. Read from the verdicts the report already holds,
    /// never decided again.
    pub fn summary(&self) -> CheckSummary {
        CheckSummary {
            worst: self.result,
            cultivated_land_found: self
                .layers
                .iter()
                .any(|l| l.kind == LayerKind::CultivatedLand && l.result == LayerResult::NeedsOffset),
            unchecked_layers: self.unchecked.clone(),
        }
    }
}

/// Why a check could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// No parcels were given.
    #[error("a check needs at least one parcel")]
    NoParcels,
    /// A parcel's geometry is invalid.
    #[error("parcel {parcel}: {source}")]
    Geometry {
        /// Index of the parcel.
        parcel: usize,
        /// What is wrong.
        source: Box<GeometryError>,
    },
    /// The database refused.
    #[error(transparent)]
    Database(#[from] DbError),
    /// Stored data could not be read.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// A parcel could not be encoded, or an overlap decoded.
    #[error(transparent)]
    Wkb(#[from] WkbError),
    /// The domain refused the figures.
    #[error(transparent)]
    Verdict(#[from] CheckInputError),
}

struct MeasuredHit {
    parcel: usize,
    feature_id: Option<i64>,
    version_id: Option<Uuid>,
    source_id: Option<String>,
    attributes: Value,
    overlap_m2: f64,
    distance_m: Option<f64>,
    geometry: Option<MultiPolygon>,
}

fn hit_from_row(row: &sqlx::postgres::PgRow) -> Result<MeasuredHit, CheckError> {
    let get = |e| DbError {
        doing: "reading an overlap row",
        source: e,
    };
    let parcel: i32 = row.try_get("parcel").map_err(get)?;
    let wkb: Option<Vec<u8>> = row.try_get("overlap_wkb").map_err(get)?;
    Ok(MeasuredHit {
        parcel: usize::try_from(parcel).unwrap_or_default(),
        feature_id: Some(row.try_get("feature_id").map_err(get)?),
        version_id: Some(row.try_get("version_id").map_err(get)?),
        source_id: row.try_get("source_id").map_err(get)?,
        attributes: row.try_get("attributes").map_err(get)?,
        overlap_m2: row.try_get("overlap_m2").map_err(get)?,
        distance_m: row.try_get("distance_m").map_err(get)?,
        geometry: wkb
            .map(|w| wkb_io::from_wkb(&w).map(wkb_io::polygons_of))
            .transpose()?,
    })
}

async fn measure_outside(
    conn: &mut PgConnection,
    parcels_wkb: &[Vec<u8>],
    versions: &[Uuid],
) -> Result<Vec<MeasuredHit>, CheckError> {
    let rows = sqlx::query(OUTSIDE_POLYGONS)
        .bind(parcels_wkb)
        .bind(versions)
        .fetch_all(&mut *conn)
        .await
        .map_err(db("measuring the parts of the parcels outside a layer"))?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let get = |e| DbError {
            doing: "reading an outside row",
            source: e,
        };
        let parcel: i32 = row.try_get("parcel").map_err(get)?;
        let area: f64 = row.try_get("outside_m2").map_err(get)?;
        let wkb: Option<Vec<u8>> = row.try_get("outside_wkb").map_err(get)?;
        out.push(MeasuredHit {
            parcel: usize::try_from(parcel).unwrap_or_default(),
            feature_id: None,
            version_id: None,
            source_id: None,
            attributes: Value::Object(Map::new()),
            overlap_m2: area,
            distance_m: None,
            geometry: wkb
                .map(|w| wkb_io::from_wkb(&w).map(wkb_io::polygons_of))
                .transpose()?,
        });
    }
    Ok(out)
}

/// Checks parcels (EPSG:4490) for a county against the current version of every control layer
/// that covers it, and decides with the domain's verdicts.
///
/// Per layer: polygon layers give each touched feature's overlap per parcel (measured on the
/// subdivided pieces, areas on the CGCS2000 ellipsoid); geohazard sites within the configured
/// radius give the part of the parcel inside the buffered site; the urban boundary gives the
/// part of each parcel outside it; the mineral whitelist tells whether every parcel lies wholly
/// inside it. A layer with no current version is `not_checked`.
#[tracing::instrument(skip_all, fields(jurisdiction = jurisdiction.as_str(), parcels = parcels.len()))]
pub async fn check_footprint(
    conn: &mut PgConnection,
    jurisdiction: CountyCode,
    parcels: &[MultiPolygon],
    context: &CaseContext,
    rules: &VerdictRules,
) -> Result<CheckReport, CheckError> {
    if parcels.is_empty() {
        return Err(CheckError::NoParcels);
    }
    let mut parcels_wkb = Vec::with_capacity(parcels.len());
    for (i, p) in parcels.iter().enumerate() {
        validate::check_multi_polygon(p, &Rules::PARCEL).map_err(|e| CheckError::Geometry {
            parcel: i,
            source: Box::new(e),
        })?;
        parcels_wkb.push(wkb_io::multi_polygon_to_wkb(p)?);
    }

    let areas = sqlx::query(PARCEL_AREAS)
        .bind(&parcels_wkb)
        .fetch_one(&mut *conn)
        .await
        .map_err(db("measuring the parcels"))?;
    let parcel_m2: Vec<f64> = areas
        .try_get("parcel_m2")
        .map_err(db("reading the parcel areas"))?;
    let case_m2: f64 = areas.try_get("case_m2").map_err(db("reading the case area"))?;

    let versions = current_versions(conn, jurisdiction).await?;
    let mut by_kind: BTreeMap<LayerKind, Vec<&LayerVersion>> = BTreeMap::new();
    for v in &versions {
        by_kind.entry(v.kind).or_default().push(v);
    }

    let (measured, whitelist_inside) = measure_layers(conn, &parcels_wkb, &by_kind, rules).await?;

    let mut context = *context;
    context.wholly_in_mineral_whitelist = whitelist_inside.unwrap_or(false);
    let input = check_input(case_m2, &parcel_m2, &by_kind, &measured, context);
    let verdict = evaluate(&input, rules)?;
    Ok(assemble(
        jurisdiction,
        &parcel_m2,
        case_m2,
        &by_kind,
        measured,
        whitelist_inside,
        input,
        &verdict,
        rules,
    ))
}

/// Measures every layer kind that has current versions.
async fn measure_layers(
    conn: &mut PgConnection,
    parcels_wkb: &[Vec<u8>],
    by_kind: &BTreeMap<LayerKind, Vec<&LayerVersion>>,
    rules: &VerdictRules,
) -> Result<(BTreeMap<LayerKind, Vec<MeasuredHit>>, Option<bool>), CheckError> {
    let mut measured: BTreeMap<LayerKind, Vec<MeasuredHit>> = BTreeMap::new();
    let mut whitelist_inside: Option<bool> = None;
    for (&kind, kind_versions) in by_kind {
        let ids: Vec<Uuid> = kind_versions.iter().map(|v| v.id).collect();
        let hits = match kind {
            LayerKind::UrbanBoundary => measure_outside(conn, parcels_wkb, &ids)
                .await?
                .into_iter()
                .filter(|h| h.overlap_m2 > NOISE_M2)
                .collect(),
            LayerKind::MineralWhitelist => {
                let outside = measure_outside(conn, parcels_wkb, &ids).await?;
                whitelist_inside = Some(outside.iter().all(|h| h.overlap_m2 <= NOISE_M2));
                Vec::new()
            }
            LayerKind::Geohazard => sqlx::query(NEAR_POINTS)
                .bind(parcels_wkb)
                .bind(&ids)
                .bind(rules.geohazard_buffer_m())
                .fetch_all(&mut *conn)
                .await
                .map_err(db("finding geohazard sites near the parcels"))?
                .iter()
                .map(hit_from_row)
                .collect::<Result<_, _>>()?,
            _ => sqlx::query(OVERLAP_POLYGONS)
                .bind(parcels_wkb)
                .bind(&ids)
                .bind(NOISE_M2)
                .fetch_all(&mut *conn)
                .await
                .map_err(db("measuring overlaps with a layer"))?
                .iter()
                .map(hit_from_row)
                .collect::<Result<_, _>>()?,
        };
        measured.insert(kind, hits);
    }

    Ok((measured, whitelist_inside))
}

/// The domain's input from the measurements.
fn check_input(
    case_m2: f64,
    parcel_m2: &[f64],
    by_kind: &BTreeMap<LayerKind, Vec<&LayerVersion>>,
    measured: &BTreeMap<LayerKind, Vec<MeasuredHit>>,
    context: CaseContext,
) -> CheckInput {
    let area = |m2: f64| SquareMetres::new(m2.max(0.0)).unwrap_or(SquareMetres::ZERO);
    let parcel_area = |i: usize| area(parcel_m2.get(i).copied().unwrap_or_default());
    CheckInput {
        case_area: area(case_m2),
        layers: by_kind
            .keys()
            .map(|&kind| LayerFigures {
                kind,
                checked: true,
                hits: measured
                    .get(&kind)
                    .map(|hits| {
                        hits.iter()
                            .map(|h| Hit {
                                feature_id: h.feature_id.map_or_else(
                                    || format!("parcel-{}-outside", h.parcel),
                                    |id| id.to_string(),
                                ),
                                parcel_area: parcel_area(h.parcel),
                                overlap: area(h.overlap_m2),
                                dismissed: false,
                                dlbm: (kind == LayerKind::CultivatedLand)
                                    .then(|| h.attributes.as_object().and_then(dlbm_attribute))
                                    .flatten()
                                    .and_then(|c| Dlbm::parse(&c).ok()),
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            })
            .collect(),
        context,
    }
}

#[allow(clippy::too_many_arguments)]
fn assemble(
    jurisdiction: CountyCode,
    parcel_m2: &[f64],
    case_m2: f64,
    by_kind: &BTreeMap<LayerKind, Vec<&LayerVersion>>,
    mut measured: BTreeMap<LayerKind, Vec<MeasuredHit>>,
    whitelist_inside: Option<bool>,
    input: CheckInput,
    verdict: &CheckVerdict,
    rules: &VerdictRules,
) -> CheckReport {
    let layers = verdict
        .layers
        .iter()
        .map(|lv| {
            let hits = measured.remove(&lv.kind).unwrap_or_default();
            let hits = hits
                .into_iter()
                .zip(lv.hits.iter().map(|(_, class)| *class))
                .map(|(h, class)| {
                    let p_area = parcel_m2.get(h.parcel).copied().unwrap_or_default();
                    CheckHit {
                        feature_id: h.feature_id,
                        version_id: h.version_id,
                        source_id: h.source_id,
                        attributes: h.attributes,
                        parcel: h.parcel,
                        overlap: AreaFigures::from_m2(h.overlap_m2),
                        share: if p_area > 0.0 { h.overlap_m2 / p_area } else { 0.0 },
                        distance_m: h.distance_m,
                        class,
                        geometry: h.geometry.as_ref().map(crate::geojson_out::multi_polygon),
                    }
                })
                .collect();
            LayerReport {
                kind: lv.kind,
                checked: lv.result != LayerResult::NotChecked,
                versions: by_kind
                    .get(&lv.kind)
                    .map(|vs| {
                        vs.iter()
                            .map(|v| VersionUsed {
                                id: v.id,
                                jurisdiction: v.jurisdiction.clone(),
                                version_no: v.version_no,
                                source_name: v.source_name.clone(),
                                imported_at: v.imported_at,
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                result: lv.result,
                counted: AreaFigures::from_m2(lv.counted_area.value()),
                counted_share: lv.counted_share,
                hits,
                cultivated: lv.cultivated,
                wholly_inside: (lv.kind == LayerKind::MineralWhitelist)
                    .then_some(whitelist_inside)
                    .flatten(),
            }
        })
        .collect();
    CheckReport {
        jurisdiction: jurisdiction.as_str().to_owned(),
        parcels: parcel_m2
            .iter()
            .enumerate()
            .map(|(parcel, m2)| ParcelArea {
                parcel,
                area: AreaFigures::from_m2(*m2),
            })
            .collect(),
        case_area: AreaFigures::from_m2(case_m2),
        layers,
        result: verdict.result,
        unchecked: verdict.unchecked.clone(),
        input,
        rules: rules.clone(),
    }
}
