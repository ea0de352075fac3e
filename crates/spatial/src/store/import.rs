//! Importing a control layer as a new version: the features streamed in batches, the check
//! pieces cut, and the new version made current, all in one transaction.

use std::io::Read;

use landuse_domain::check::{Dlbm, LayerKind};
use landuse_domain::county::CountyCode;
use landuse_domain::ledger::quota::is_construction_class;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{db, dlbm_attribute, DbError, MAX_LISTED_REFUSALS};
use crate::crs::Srid;
use crate::geojson_in::{Accept, FeatureStream, GeoJsonError, Item, LayerGeometry, ReadOptions, Refusal};
use crate::wkb_io::{self, WkbError};

const INSERT_FEATURES: &str = include_str!("sql/insert_features.sql");
const INSERT_PIECES: &str = include_str!("sql/insert_pieces.sql");

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
