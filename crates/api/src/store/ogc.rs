//! The statements behind `/ogc`: the layer versions a collection is made of, the attributes its
//! features carry, its extent, and its features, counted or a page at a time.
//!
//! A page is one statement per collection kind (`sql/ogc_*_filtered.sql` plus the paging tail
//! [`page_sql!`] adds): keyset paging after a cursor feature, so the hundredth page costs what
//! the first does, and each feature's geometry rendered by `ST_AsGeoJSON` in the CRS asked for.
//! Every filter is switched off by a null parameter; the statements are sent unprepared, so
//! PostgreSQL plans each request with its actual values (filters that are off fold away, and a
//! bounding box becomes a constant the spatial index can use).

use chrono::{DateTime, Utc};
use futures_util::{stream::BoxStream, StreamExt as _};
use serde_json::Value;
use sqlx::{postgres::PgArguments, Arguments as _, PgConnection};
use uuid::Uuid;

use super::{DbError, Doing};
use crate::ogc::params::FeatureKey;

/// A layer version with its kind's name and stored extent.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct VersionRow {
    /// The version's id.
    pub id: Uuid,
    /// Layer kind code.
    pub kind: String,
    /// The kind's Chinese name.
    pub kind_name: String,
    /// Jurisdiction (6-digit code).
    pub jurisdiction: String,
    /// Number within kind and jurisdiction.
    pub version_no: i32,
    /// Whether it is current.
    pub is_current: bool,
    /// Features stored.
    pub feature_count: i32,
    /// When it was imported.
    pub imported_at: DateTime<Utc>,
    /// When a newer version replaced it.
    pub superseded_at: Option<DateTime<Utc>>,
    /// The source file's name.
    pub source_name: String,
    /// West, south, east, north of its features (CRS84); none for a version without features.
    pub extent: Option<Vec<f64>>,
}

/// Which layer versions to read; every filter left `None` (or `false`) is off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VersionFilter<'a> {
    /// One version, by id.
    pub id: Option<Uuid>,
    /// One layer kind.
    pub kind: Option<&'a str>,
    /// One jurisdiction.
    pub jurisdiction: Option<&'a str>,
    /// One version number.
    pub version_no: Option<i32>,
    /// Current versions only.
    pub current_only: bool,
}

/// The layer versions that pass `filter`, by kind and jurisdiction, newest first.
///
/// # Errors
/// Database failures.
pub async fn versions(
    conn: &mut PgConnection,
    filter: &VersionFilter<'_>,
) -> Result<Vec<VersionRow>, DbError> {
    sqlx::query_as(include_str!("sql/ogc_versions.sql"))
        .bind(filter.id)
        .bind(filter.kind)
        .bind(filter.jurisdiction)
        .bind(filter.version_no)
        .bind(filter.current_only)
        .fetch_all(conn)
        .await
        .doing("loading layer versions")
}

/// An attribute found in a sample of a layer's features, with the JSON type its values share.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SampledAttribute {
    /// The attribute's name.
    pub name: String,
    /// `integer`, `number`, `boolean` or `string`.
    pub json_type: String,
}

/// The attributes of the first 1000 features of the versions, by name.
///
/// # Errors
/// Database failures.
pub async fn sampled_attributes(
    conn: &mut PgConnection,
    versions: &[Uuid],
) -> Result<Vec<SampledAttribute>, DbError> {
    sqlx::query_as(include_str!("sql/ogc_sampled_attributes.sql"))
        .bind(versions)
        .fetch_all(conn)
        .await
        .doing("sampling layer attributes")
}

/// Whether any feature of the versions has attribute `name` (exact, unlike the sample).
///
/// # Errors
/// Database failures.
pub async fn layer_has_attribute(
    conn: &mut PgConnection,
    versions: &[Uuid],
    name: &str,
) -> Result<bool, DbError> {
    sqlx::query_scalar(
        "select exists (select 1 from layer_features where version_id = any($1) and attributes ? $2)",
    )
    .bind(versions)
    .bind(name)
    .fetch_one(conn)
    .await
    .doing("looking for a layer attribute")
}

/// The extent of some features: their lon/lat box and time span, each absent when there are
/// none.
#[derive(Debug, Clone, Copy, PartialEq, sqlx::FromRow)]
pub struct ExtentRow {
    /// West.
    pub xmin: Option<f64>,
    /// South.
    pub ymin: Option<f64>,
    /// East.
    pub xmax: Option<f64>,
    /// North.
    pub ymax: Option<f64>,
    /// The first instant.
    pub first_at: Option<DateTime<Utc>>,
    /// The last instant.
    pub last_at: Option<DateTime<Utc>>,
}

/// The extent of the parcels of `counties` (`None`: all), with their upload times.
///
/// # Errors
/// Database failures.
pub async fn parcel_extent(
    conn: &mut PgConnection,
    counties: Option<&[String]>,
) -> Result<ExtentRow, DbError> {
    sqlx::query_as(include_str!("sql/ogc_parcel_extent.sql"))
        .bind(counties)
        .fetch_one(conn)
        .await
        .doing("computing the parcels' extent")
}

/// The extent of the check overlaps of `counties` (`None`: all), with their run times.
///
/// # Errors
/// Database failures.
pub async fn overlap_extent(
    conn: &mut PgConnection,
    counties: Option<&[String]>,
) -> Result<ExtentRow, DbError> {
    sqlx::query_as(include_str!("sql/ogc_overlap_extent.sql"))
        .bind(counties)
        .fetch_one(conn)
        .await
        .doing("computing the overlaps' extent")
}

/// The features of a land-supply collection as the page statement takes them: computed by the
/// reports' functions (`ogc::figures`), one entry of each list per feature.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FigureFeatures {
    /// The features' ids (the case for `approved_unsupplied`, the supply part for `idle_land`).
    pub ids: Vec<Uuid>,
    /// The case of each, through which row-level security applies.
    pub case_ids: Vec<Uuid>,
    /// Each geometry as WKB in EPSG:4490.
    pub geometries: Vec<Vec<u8>>,
    /// Each feature's properties as a JSON object.
    pub properties: Vec<String>,
}

/// The property filters of a feature request, one set per collection kind; `None` is off.
#[derive(Debug, Clone, PartialEq)]
pub enum PropertyFilter {
    /// Features of layer versions.
    Layer {
        /// The versions the collection is made of.
        versions: Vec<Uuid>,
        /// The feature's id in its source.
        source_id: Option<String>,
        /// One of the versions.
        version: Option<Uuid>,
        /// Attribute equalities, as a JSON object compared as text.
        attributes: Option<Value>,
    },
    /// Case parcels.
    Parcel {
        /// The case.
        case_id: Option<Uuid>,
        /// The county.
        county: Option<String>,
        /// The case's stage code.
        stage: Option<String>,
        /// `geojson` or `coordinate_file`.
        source: Option<String>,
        /// The parcel's number in the case.
        seq: Option<i32>,
        /// The parcel's name.
        name: Option<String>,
        /// The Gauss–Krüger zone of the source file.
        zone: Option<i32>,
    },
    /// Check overlaps.
    Overlap {
        /// The check report.
        check_id: Option<Uuid>,
        /// The case.
        case_id: Option<Uuid>,
        /// The county.
        county: Option<String>,
        /// The control layer kind.
        layer_kind: Option<String>,
        /// The layer version used.
        layer_version: Option<Uuid>,
        /// Whether a planner dismissed it.
        dismissed: Option<bool>,
        /// The report's result code.
        result: Option<String>,
    },
    /// A land-supply collection, already filtered by its own properties when computed.
    Figures(FigureFeatures),
}

/// A bounding box as the statements take it: corners in `srid`, densified to edges of
/// `segment` before it is transformed (see `landuse_bbox`, migration 0011).
#[derive(Debug, Clone, PartialEq)]
pub struct BboxFilter {
    /// West, south, east, north in `srid`.
    pub corners: Vec<f64>,
    /// The box's CRS.
    pub srid: i32,
    /// The edge length the box is densified to.
    pub segment: f64,
}

/// Which features a request reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    /// The caller's counties (parcels and overlaps; `None`: all).
    pub counties: Option<Vec<String>>,
    /// Only features touching this box.
    pub bbox: Option<BboxFilter>,
    /// Only features of this instant or later (parcels and overlaps).
    pub from: Option<DateTime<Utc>>,
    /// Only features of this instant or earlier (parcels and overlaps).
    pub to: Option<DateTime<Utc>>,
    /// Only this feature.
    pub feature: Option<FeatureKey>,
    /// The collection kind's own filters.
    pub properties: PropertyFilter,
}

/// A page of a selection: after which feature, how many, and how geometry is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSpec {
    /// The page starts after this feature.
    pub after: Option<FeatureKey>,
    /// Features per page.
    pub limit: i64,
    /// Coordinates northing first (the CRS's axis order).
    pub northing_first: bool,
    /// The SRID geometry is rendered in.
    pub srid: i32,
    /// Decimals of the coordinates.
    pub decimals: i32,
}

/// One row of a page statement: a feature with its GeoJSON geometry and properties as text;
/// or, after the page's features, the probe row telling that another page follows (no
/// geometry); or, for an empty page, one row with `rn` 0.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PageRow {
    /// The feature's id, for layer collections.
    pub int_id: Option<i64>,
    /// The feature's id, for parcels and overlaps.
    pub uuid_id: Option<Uuid>,
    /// The row's position in the page, from 1; 0 on the row of an empty page.
    pub rn: i64,
    /// Whether no feature follows this one.
    pub is_last: bool,
    /// The geometry as GeoJSON.
    pub geometry: Option<String>,
    /// The properties as a JSON object.
    pub properties: Option<String>,
}

impl PageRow {
    /// The feature's key, whichever kind it is.
    pub fn key(&self) -> Option<FeatureKey> {
        self.int_id
            .map(FeatureKey::Int)
            .or(self.uuid_id.map(FeatureKey::Uuid))
    }
}

/// The page statement: the filtered set, a page of it after the cursor (plus one probe row to
/// learn whether another page follows), and each row's GeoJSON. The parameters after the
/// filter's own are: cursor, page size + 1, swap axes, target SRID, decimals. `$ids` names the
/// id column by the collection's key type.
macro_rules! page_sql {
    ($file:literal, $key:literal, $ids:literal, $after:literal, $probe:literal, $flip:literal, $srid:literal, $digits:literal) => {
        concat!(
            "with filtered as (\n",
            include_str!($file),
            "),\npage as (\n",
            "    select f.id, f.geom, f.properties,\n",
            "           row_number() over (order by f.id) as rn,\n",
            "           lead(f.id) over (order by f.id) is null as is_last\n",
            "    from filtered f\n",
            "    where ($",
            $after,
            "::",
            $key,
            " is null or f.id > $",
            $after,
            ")\n",
            "    order by f.id\n",
            "    limit $",
            $probe,
            "\n",
            ")\n",
            "select ",
            $ids,
            ", p.rn, p.is_last,\n",
            "       case when p.rn < $",
            $probe,
            " then st_asgeojson(\n",
            "           case when $",
            $flip,
            "::bool\n",
            "                then st_flipcoordinates(st_transform(st_forcepolygonccw(p.geom), $",
            $srid,
            "::int4))\n",
            "                else st_transform(st_forcepolygonccw(p.geom), $",
            $srid,
            "::int4) end,\n",
            "           $",
            $digits,
            "::int4, 0) end as geometry,\n",
            "       case when p.rn < $",
            $probe,
            " then p.properties::text end as properties\n",
            "from page p\n",
            "union all\n",
            // Only when the page is empty: one row, so the writer has a row to close the document on.
            "select null, null, 0, true, null, null\n",
            "where not exists (select 1 from page)\n"
        )
    };
}

macro_rules! count_sql {
    ($file:literal) => {
        concat!(
            "with filtered as (\n",
            include_str!($file),
            ")\nselect count(*) from filtered\n"
        )
    };
}

const LAYER_PAGE: &str = page_sql!(
    "sql/ogc_layer_filtered.sql",
    "int8",
    "p.id as int_id, null::uuid as uuid_id",
    "9",
    "10",
    "11",
    "12",
    "13"
);
const LAYER_COUNT: &str = count_sql!("sql/ogc_layer_filtered.sql");
const PARCEL_PAGE: &str = page_sql!(
    "sql/ogc_parcel_filtered.sql",
    "uuid",
    "null::int8 as int_id, p.id as uuid_id",
    "15",
    "16",
    "17",
    "18",
    "19"
);
const PARCEL_COUNT: &str = count_sql!("sql/ogc_parcel_filtered.sql");
/// The cases of a parcel page's features (and of the probe row after them): the same filter,
/// cursor and size as `PARCEL_PAGE`, without rendering anything.
const PARCEL_PAGE_CASES: &str = concat!(
    "with filtered as (\n",
    include_str!("sql/ogc_parcel_filtered.sql"),
    "),\npage as (\n",
    "    select f.properties from filtered f\n",
    "    where ($15::uuid is null or f.id > $15)\n",
    "    order by f.id\n",
    "    limit $16\n",
    ")\n",
    "select distinct (p.properties ->> 'case_id')::uuid from page p\n"
);
const OVERLAP_PAGE: &str = page_sql!(
    "sql/ogc_overlap_filtered.sql",
    "uuid",
    "null::int8 as int_id, p.id as uuid_id",
    "15",
    "16",
    "17",
    "18",
    "19"
);
const OVERLAP_COUNT: &str = count_sql!("sql/ogc_overlap_filtered.sql");
const FIGURES_PAGE: &str = page_sql!(
    "sql/ogc_figures_filtered.sql",
    "uuid",
    "null::int8 as int_id, p.id as uuid_id",
    "10",
    "11",
    "12",
    "13",
    "14"
);
const FIGURES_COUNT: &str = count_sql!("sql/ogc_figures_filtered.sql");

/// The statements of a control layer's items, as the service sends them, and the meaning of
/// their parameters in order (`landuse layer statements`; the SQL floor of `make bench`).
#[derive(Debug, serde::Serialize)]
pub struct LayerStatements {
    /// `numberMatched`: parameters 1 to 8.
    pub count: &'static str,
    /// A page: parameters 1 to 13.
    pub page: &'static str,
    /// What each parameter is.
    pub parameters: [&'static str; 13],
}

/// See [`LayerStatements`]; the order is `bind_selection`'s, then `page_arguments`'s.
pub fn layer_statements() -> LayerStatements {
    LayerStatements {
        count: LAYER_COUNT,
        page: LAYER_PAGE,
        parameters: [
            "layer version ids (uuid[])",
            "bbox corners x/y (float8[4]) or null",
            "bbox SRID",
            "bbox densifying segment",
            "source_id or null",
            "layer_version filter or null",
            "attribute equalities (jsonb) or null",
            "one feature id or null",
            "after this feature id (keyset) or null",
            "page size + 1 (the probe row)",
            "northing first (bool)",
            "output SRID",
            "decimals",
        ],
    }
}

/// The page statement of a kind of collection (for plan checks and diagnosis).
pub fn page_statement(properties: &PropertyFilter) -> &'static str {
    match properties {
        PropertyFilter::Layer { .. } => LAYER_PAGE,
        PropertyFilter::Parcel { .. } => PARCEL_PAGE,
        PropertyFilter::Overlap { .. } => OVERLAP_PAGE,
        PropertyFilter::Figures(_) => FIGURES_PAGE,
    }
}

fn count_statement(properties: &PropertyFilter) -> &'static str {
    match properties {
        PropertyFilter::Layer { .. } => LAYER_COUNT,
        PropertyFilter::Parcel { .. } => PARCEL_COUNT,
        PropertyFilter::Overlap { .. } => OVERLAP_COUNT,
        PropertyFilter::Figures(_) => FIGURES_COUNT,
    }
}

/// Binds values in order, stopping at the first that cannot be encoded.
struct Binder {
    arguments: PgArguments,
    failed: Option<sqlx::error::BoxDynError>,
}

impl Binder {
    fn new() -> Self {
        Self {
            arguments: PgArguments::default(),
            failed: None,
        }
    }

    fn bind<'q, T>(mut self, value: T) -> Self
    where
        T: 'q + sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
    {
        if self.failed.is_none() {
            if let Err(e) = self.arguments.add(value) {
                self.failed = Some(e);
            }
        }
        self
    }

    fn finish(self, doing: &'static str) -> Result<PgArguments, DbError> {
        match self.failed {
            None => Ok(self.arguments),
            Some(e) => Err(DbError {
                doing,
                source: sqlx::Error::Encode(e),
            }),
        }
    }
}

/// The filter parameters of the selection's statements, in their order.
fn bind_selection(selection: &Selection) -> Binder {
    let bbox = selection.bbox.as_ref();
    let corners = bbox.map(|b| b.corners.clone());
    let srid = bbox.map_or(4490, |b| b.srid);
    let segment = bbox.map_or(1.0, |b| b.segment);
    let (int_id, uuid_id) = match selection.feature {
        Some(FeatureKey::Int(id)) => (Some(id), None),
        Some(FeatureKey::Uuid(id)) => (None, Some(id)),
        None => (None, None),
    };
    let binder = Binder::new();
    match &selection.properties {
        PropertyFilter::Layer {
            versions,
            source_id,
            version,
            attributes,
        } => binder
            .bind(versions.clone())
            .bind(corners)
            .bind(srid)
            .bind(segment)
            .bind(source_id.clone())
            .bind(*version)
            .bind(attributes.clone())
            .bind(int_id),
        PropertyFilter::Parcel {
            case_id,
            county,
            stage,
            source,
            seq,
            name,
            zone,
        } => binder
            .bind(selection.counties.clone())
            .bind(corners)
            .bind(srid)
            .bind(segment)
            .bind(selection.from)
            .bind(selection.to)
            .bind(*case_id)
            .bind(county.clone())
            .bind(stage.clone())
            .bind(source.clone())
            .bind(*seq)
            .bind(name.clone())
            .bind(*zone)
            .bind(uuid_id),
        PropertyFilter::Overlap {
            check_id,
            case_id,
            county,
            layer_kind,
            layer_version,
            dismissed,
            result,
        } => binder
            .bind(selection.counties.clone())
            .bind(corners)
            .bind(srid)
            .bind(segment)
            .bind(selection.from)
            .bind(selection.to)
            .bind(*check_id)
            .bind(*case_id)
            .bind(county.clone())
            .bind(layer_kind.clone())
            .bind(*layer_version)
            .bind(*dismissed)
            .bind(result.clone())
            .bind(uuid_id),
        PropertyFilter::Figures(features) => binder
            .bind(selection.counties.clone())
            .bind(corners)
            .bind(srid)
            .bind(segment)
            .bind(features.ids.clone())
            .bind(features.case_ids.clone())
            .bind(features.geometries.clone())
            .bind(features.properties.clone())
            .bind(uuid_id),
    }
}

/// The parameters of a page statement: the selection's, then the page's.
fn page_arguments(selection: &Selection, page: &PageSpec) -> Result<PgArguments, DbError> {
    let binder = bind_selection(selection);
    let binder = match selection.properties {
        PropertyFilter::Layer { .. } => binder.bind(match page.after {
            Some(FeatureKey::Int(id)) => Some(id),
            _ => None,
        }),
        PropertyFilter::Parcel { .. } | PropertyFilter::Overlap { .. } | PropertyFilter::Figures(_) => binder
            .bind(match page.after {
                Some(FeatureKey::Uuid(id)) => Some(id),
                _ => None,
            }),
    };
    binder
        .bind(page.limit + 1)
        .bind(page.northing_first)
        .bind(page.srid)
        .bind(page.decimals)
        .finish("binding a feature page")
}

/// The cases whose parcels a page of a parcel selection holds, so that what they still wait
/// for is loaded before the page streams.
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn parcel_page_cases(
    conn: &mut PgConnection,
    selection: &Selection,
    page: &PageSpec,
) -> Result<Vec<Uuid>, DbError> {
    let after = match page.after {
        Some(FeatureKey::Uuid(id)) => Some(id),
        _ => None,
    };
    let arguments = bind_selection(selection)
        .bind(after)
        .bind(page.limit + 1)
        .finish("binding a parcel page's cases")?;
    sqlx::query_scalar_with(PARCEL_PAGE_CASES, arguments)
        .persistent(false)
        .fetch_all(conn)
        .await
        .doing("loading the cases of a parcel page")
}

/// How many features the selection holds.
///
/// # Errors
/// Database failures.
pub async fn count_features(conn: &mut PgConnection, selection: &Selection) -> Result<i64, DbError> {
    let arguments = bind_selection(selection).finish("binding a feature count")?;
    sqlx::query_scalar_with(count_statement(&selection.properties), arguments)
        .persistent(false)
        .fetch_one(conn)
        .await
        .doing("counting features")
}

/// A page of the selection, streamed as PostgreSQL returns it.
///
/// # Errors
/// A value that cannot be bound; the stream yields database failures.
pub fn page_rows<'c>(
    conn: &'c mut PgConnection,
    selection: &Selection,
    page: &PageSpec,
) -> Result<BoxStream<'c, Result<PageRow, DbError>>, DbError> {
    let arguments = page_arguments(selection, page)?;
    Ok(
        sqlx::query_as_with::<_, PageRow, _>(page_statement(&selection.properties), arguments)
            .persistent(false)
            .fetch(conn)
            .map(|row| row.doing("reading a feature page"))
            .boxed(),
    )
}

/// A page of the selection, read whole (for a single feature).
///
/// # Errors
/// Database failures.
pub async fn page(
    conn: &mut PgConnection,
    selection: &Selection,
    page: &PageSpec,
) -> Result<Vec<PageRow>, DbError> {
    let arguments = page_arguments(selection, page)?;
    sqlx::query_as_with(page_statement(&selection.properties), arguments)
        .persistent(false)
        .fetch_all(conn)
        .await
        .doing("reading a feature")
}

/// The plan of a page (`EXPLAIN (ANALYZE, FORMAT JSON)`: the page really runs), as PostgreSQL
/// reports it.
///
/// # Errors
/// Database failures.
pub async fn explain_page(
    conn: &mut PgConnection,
    selection: &Selection,
    page: &PageSpec,
) -> Result<Value, DbError> {
    let arguments = page_arguments(selection, page)?;
    let sql = format!(
        "explain (analyze, format json) {}",
        page_statement(&selection.properties)
    );
    sqlx::query_scalar_with(&sql, arguments)
        .persistent(false)
        .fetch_one(conn)
        .await
        .doing("explaining a page")
}
