//! The collections: one per control-layer kind with a current version (its current versions of
//! every jurisdiction together), each older version by its own id, the parcels of the cases the
//! caller may see, and the overlap geometries of check reports.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{json, Map, Value};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{
    crs::{OgcCrs, CRS84_URI},
    error::OgcError,
    links::{ExternalBase, Link},
    params::KeyKind,
    GEOJSON, JSON, SCHEMA_JSON,
};
use crate::{
    auth::Caller,
    http::error::ApiError,
    store::ogc::{self as store, VersionFilter, VersionRow},
};

/// The id of the parcels collection.
pub const PARCELS: &str = "parcels";
/// The id of the check-overlaps collection.
pub const OVERLAPS: &str = "check_overlaps";

/// The OGC relation of a collection's queryables.
pub const REL_QUERYABLES: &str = "http://www.opengis.net/def/rel/ogc/1.0/queryables";

/// One stored version of a control layer.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionInfo {
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
    /// Features stored (set when the import commits, so exact for every visible version).
    pub feature_count: i32,
    /// When it was imported.
    pub imported_at: DateTime<Utc>,
    /// When a newer version replaced it.
    pub superseded_at: Option<DateTime<Utc>>,
    /// The source file's name.
    pub source_name: String,
    /// West, south, east, north of its features (CRS84), stored when the import committed;
    /// `None` for a version without features.
    pub extent: Option<[f64; 4]>,
}

impl VersionInfo {
    /// The id of this version's own collection: `permanent_farmland_610900_v3`.
    pub fn collection_id(&self) -> String {
        format!("{}_{}_v{}", self.kind, self.jurisdiction, self.version_no)
    }

    fn to_json(&self, base: &ExternalBase) -> Value {
        json!({
            "id": self.id,
            "collection": self.collection_id(),
            "href": base.ogc(&format!("/collections/{}", self.collection_id())),
            "jurisdiction": self.jurisdiction,
            "version_no": self.version_no,
            "is_current": self.is_current,
            "feature_count": self.feature_count,
            "imported_at": self.imported_at,
            "superseded_at": self.superseded_at,
            "source_name": self.source_name,
        })
    }
}

/// Where a collection's features come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// The current versions of one layer kind.
    Layer {
        /// The kind code.
        kind: String,
        /// Its current versions, one per jurisdiction.
        versions: Vec<VersionInfo>,
    },
    /// One version, current or not.
    Version(VersionInfo),
    /// Case parcels.
    Parcels,
    /// Overlap geometries of check reports.
    Overlaps,
    /// 批而未供: the unsupplied rest of each approval batch (see [`super::figures`]).
    ApprovedUnsupplied,
    /// Idle land: supplied parts whose idle-land status warns (see [`super::figures`]).
    IdleLand,
}

/// The JSON Schema type of a property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropertyType {
    /// Text.
    String,
    /// A UUID (text).
    Uuid,
    /// A whole number.
    Integer,
    /// A number.
    Number,
    /// True or false.
    Boolean,
    /// An RFC 3339 instant.
    DateTime,
    /// A JSON object (written as text by most desktop clients).
    Object,
}

impl PropertyType {
    fn schema(self) -> Value {
        match self {
            PropertyType::String => json!({ "type": "string" }),
            PropertyType::Uuid => json!({ "type": "string", "format": "uuid" }),
            PropertyType::Integer => json!({ "type": "integer" }),
            PropertyType::Number => json!({ "type": "number" }),
            PropertyType::Boolean => json!({ "type": "boolean" }),
            PropertyType::DateTime => json!({ "type": "string", "format": "date-time" }),
            PropertyType::Object => json!({ "type": "object" }),
        }
    }

    fn from_code(code: &str) -> Self {
        match code {
            "integer" => PropertyType::Integer,
            "number" => PropertyType::Number,
            "boolean" => PropertyType::Boolean,
            _ => PropertyType::String,
        }
    }
}

/// One property of a collection's features.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    /// Its name in `properties`.
    pub name: String,
    /// Its type.
    pub kind: PropertyType,
    /// What it is.
    pub title: String,
    /// Whether `name=value` filters by it.
    pub queryable: bool,
}

fn fixed(list: &[(&str, PropertyType, &str, bool)]) -> Vec<Property> {
    list.iter()
        .map(|(name, kind, title, queryable)| Property {
            name: (*name).to_owned(),
            kind: *kind,
            title: (*title).to_owned(),
            queryable: *queryable,
        })
        .collect()
}

/// The properties of parcel features (written by `sql/parcel_filtered.sql`, but for
/// `approvals_awaited`, which the domain's approval rules decide as the page is read).
pub fn parcel_properties() -> Vec<Property> {
    use PropertyType as T;
    fixed(&[
        ("case_id", T::Uuid, "报批件 case", true),
        ("case_title", T::String, "报批件名称 case title", false),
        ("county_code", T::String, "县（市、区）代码 county code", true),
        ("stage", T::String, "办理阶段 stage", true),
        ("seq", T::Integer, "地块序号 parcel number in the case", true),
        ("name", T::String, "地块名称 parcel name", true),
        (
            "area_m2",
            T::Number,
            "面积（平方米，CGCS2000 椭球面）area in m²",
            false,
        ),
        ("area_mu", T::Number, "面积（亩）area in mu", false),
        ("area_ha", T::Number, "面积（公顷）area in ha", false),
        (
            "planar_area_m2",
            T::Number,
            "高斯投影面积（平方米）planar Gauss–Krüger area",
            false,
        ),
        (
            "stated_area_m2",
            T::Number,
            "坐标文件申报面积（平方米）stated area",
            false,
        ),
        (
            "zone",
            T::Integer,
            "3度带带号 Gauss–Krüger zone of the source file",
            true,
        ),
        ("source", T::String, "来源 geojson or coordinate_file", true),
        ("created_at", T::DateTime, "上传时间 when uploaded", false),
        (
            "approvals_awaited",
            T::String,
            "待补审批意见 the approval kinds the case's confirmed check still awaits, and overlay_query while it awaits a valid mineral overlay answer; comma-separated codes, empty when none",
            false,
        ),
    ])
}

/// The properties of check-overlap features (written by `sql/overlap_filtered.sql`).
pub fn overlap_properties() -> Vec<Property> {
    use PropertyType as T;
    fixed(&[
        ("check_id", T::Uuid, "核查报告 check report", true),
        ("case_id", T::Uuid, "报批件 case", true),
        ("county_code", T::String, "县（市、区）代码 county code", true),
        ("layer_kind", T::String, "管控图层 control layer kind", true),
        ("layer_version_id", T::Uuid, "图层版本 layer version used", true),
        (
            "layer_feature_id",
            T::Integer,
            "压盖要素 touched layer feature",
            false,
        ),
        ("overlap_m2", T::Number, "压盖面积（平方米）overlap in m²", false),
        ("overlap_mu", T::Number, "压盖面积（亩）overlap in mu", false),
        ("dismissed", T::Boolean, "已排除 dismissed by a planner", true),
        (
            "dismiss_reason",
            T::String,
            "排除理由 why it was dismissed",
            false,
        ),
        ("check_result", T::String, "核查结论 the report's result", true),
        (
            "check_stale",
            T::Boolean,
            "已过期 the parcels changed since",
            false,
        ),
        ("run_at", T::DateTime, "核查时间 when the check ran", false),
        (
            "feature_attributes",
            T::Object,
            "压盖要素属性 attributes of the touched feature",
            false,
        ),
    ])
}

/// The properties of `approved_unsupplied` features (written by `figures::approved_unsupplied`).
pub fn unsupplied_properties() -> Vec<Property> {
    use PropertyType as T;
    fixed(&[
        ("case_id", T::Uuid, "报批件（批次）case, the approval batch", true),
        ("document_number", T::String, "批准文号 approval number", false),
        ("county_code", T::String, "县（市、区）代码 county code", true),
        (
            "approved_on",
            T::String,
            "批准日期 approval date (YYYY-MM-DD)",
            false,
        ),
        (
            "age",
            T::String,
            "批而未供年限 age bucket: under_one_year, one_to_two_years, two_to_five_years, over_five_years",
            true,
        ),
        (
            "approved_mu",
            T::Number,
            "批准面积（亩）approved area in mu",
            false,
        ),
        (
            "supplied_mu",
            T::Number,
            "已供面积（亩）supplied within the approval, mu",
            false,
        ),
        (
            "unsupplied_mu",
            T::Number,
            "未供面积（亩）unsupplied area in mu",
            false,
        ),
        (
            "unsupplied_m2",
            T::Number,
            "未供面积（平方米，CGCS2000 椭球面）unsupplied area in m²",
            false,
        ),
        ("supply_percent", T::Number, "供地率（%）supply rate", false),
        ("as_of", T::String, "统计日期 the date of the figures", false),
    ])
}

/// The properties of `idle_land` features (written by `figures::idle_land`).
pub fn idle_properties() -> Vec<Property> {
    use PropertyType as T;
    fixed(&[
        ("supply_id", T::Uuid, "供地记录 supply part", true),
        ("case_id", T::Uuid, "报批件 case", true),
        ("county_code", T::String, "县（市、区）代码 county code", true),
        ("seq", T::Integer, "供地序号 part number in the case", false),
        (
            "document_number",
            T::String,
            "供地文号 supply decision or contract number",
            false,
        ),
        ("area_mu", T::Number, "供地面积（亩）supplied area in mu", false),
        (
            "status",
            T::String,
            "闲置状态 due_soon, idle, partial_idle, reclaimable or government_caused",
            true,
        ),
        ("agreed_start_on", T::String, "约定动工日期 agreed start", false),
        (
            "idle_since",
            T::String,
            "闲置起算日 the day the status began (idle, reclaimable, partial idle)",
            false,
        ),
        (
            "idle_from",
            T::String,
            "满一年未动工之日 idle from, if it does not start",
            false,
        ),
        (
            "reclaimable_from",
            T::String,
            "满两年未动工之日 may be taken back from",
            false,
        ),
        (
            "fee_wan_yuan",
            T::Number,
            "土地闲置费（万元）idle-land fee",
            false,
        ),
        ("fee_note", T::String, "处置说明 fee or disposal note", false),
        (
            "government_caused",
            T::Boolean,
            "政府原因 handover later than agreed: marked, not counted as idle",
            true,
        ),
        (
            "government_delay_days",
            T::Integer,
            "延迟交地天数 days the handover was late",
            false,
        ),
        ("as_of", T::String, "统计日期 the date of the figures", false),
    ])
}

/// The fixed properties of layer features; the source attributes follow them.
pub fn layer_fixed_properties() -> Vec<Property> {
    use PropertyType as T;
    fixed(&[
        ("source_id", T::String, "源数据标识 id in the imported file", true),
        ("layer_version", T::Uuid, "图层版本 layer version", true),
    ])
}

/// A collection.
#[derive(Debug, Clone, PartialEq)]
pub struct Collection {
    /// Its id in URLs.
    pub id: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Where its features come from.
    pub source: Source,
}

impl Collection {
    fn parcels() -> Self {
        Self {
            id: PARCELS.to_owned(),
            title: "用地报批地块 Case parcels".to_owned(),
            description: "The parcels of every case the caller may see (county officers: their own counties). Filter one case with case_id=…".to_owned(),
            source: Source::Parcels,
        }
    }

    fn overlaps() -> Self {
        Self {
            id: OVERLAPS.to_owned(),
            title: "核查压盖 Check overlaps".to_owned(),
            description: "The overlap of a case's parcels with each touched control-layer feature, from every check report the caller may see. Filter one report with check_id=…".to_owned(),
            source: Source::Overlaps,
        }
    }

    fn approved_unsupplied() -> Self {
        Self {
            id: super::figures::APPROVED_UNSUPPLIED.to_owned(),
            title: "批而未供 Approved but unsupplied land".to_owned(),
            description: "Per approval batch the caller may see, what is left of its approved parcels once its supplied parts are taken out, with the land-supply report's figures (approved, supplied and unsupplied mu, age bucket). As of today; as_of=YYYY-MM-DD gives another date. Fully supplied batches have no feature.".to_owned(),
            source: Source::ApprovedUnsupplied,
        }
    }

    fn idle_land() -> Self {
        Self {
            id: super::figures::IDLE_LAND.to_owned(),
            title: "闲置土地 Idle land".to_owned(),
            description: "Per supply part the caller may see that is due soon, idle, partially idle or reclaimable, or would be but for a government-caused delay, its supplied geometry with the idle-land report's figures. As of today; as_of=YYYY-MM-DD gives another date.".to_owned(),
            source: Source::IdleLand,
        }
    }

    fn layer(kind: String, kind_name: &str, versions: Vec<VersionInfo>) -> Self {
        let jurisdictions: Vec<String> = versions
            .iter()
            .map(|v| format!("{} v{}", v.jurisdiction, v.version_no))
            .collect();
        Self {
            id: kind.clone(),
            title: format!("{kind_name} {kind}"),
            description: format!(
                "The current version of control layer {kind} for every jurisdiction ({}). Older versions are collections of their own, listed under layer.versions.",
                jurisdictions.join(", ")
            ),
            source: Source::Layer { kind, versions },
        }
    }

    fn version(version: VersionInfo) -> Self {
        Self {
            id: version.collection_id(),
            title: format!(
                "{} {} {} v{}",
                version.kind_name, version.kind, version.jurisdiction, version.version_no
            ),
            description: format!(
                "Version {} of control layer {} for {}, imported {} from {}{}.",
                version.version_no,
                version.kind,
                version.jurisdiction,
                version.imported_at.format("%Y-%m-%d"),
                version.source_name,
                if version.is_current {
                    " (current)".to_owned()
                } else {
                    version
                        .superseded_at
                        .map(|t| format!(", superseded {}", t.format("%Y-%m-%d")))
                        .unwrap_or_default()
                }
            ),
            source: Source::Version(version),
        }
    }

    /// How features are keyed.
    pub fn key_kind(&self) -> KeyKind {
        match self.source {
            Source::Layer { .. } | Source::Version(_) => KeyKind::Int,
            Source::Parcels | Source::Overlaps | Source::ApprovedUnsupplied | Source::IdleLand => {
                KeyKind::Uuid
            }
        }
    }

    /// The property `datetime` filters on, when the collection has a time.
    pub fn temporal_property(&self) -> Option<&'static str> {
        match self.source {
            Source::Parcels => Some("created_at"),
            Source::Overlaps => Some("run_at"),
            Source::Layer { .. } | Source::Version(_) | Source::ApprovedUnsupplied | Source::IdleLand => None,
        }
    }

    /// Whether the collection's figures are computed at a date (`as_of`, today by default).
    pub fn is_dated(&self) -> bool {
        matches!(self.source, Source::ApprovedUnsupplied | Source::IdleLand)
    }

    /// Whether the collection has vector tiles (the land-supply collections have none: their
    /// features are computed per request and are few).
    pub fn has_tiles(&self) -> bool {
        !self.is_dated()
    }

    /// The layer versions whose features the collection holds (empty for the others).
    pub fn version_ids(&self) -> Vec<Uuid> {
        match &self.source {
            Source::Layer { versions, .. } => versions.iter().map(|v| v.id).collect(),
            Source::Version(v) => vec![v.id],
            Source::Parcels | Source::Overlaps | Source::ApprovedUnsupplied | Source::IdleLand => Vec::new(),
        }
    }

    /// The union of the stored extents of a layer collection's versions (`None` for a layer
    /// without features, and for parcels and overlaps, whose extent depends on the caller).
    pub fn stored_extent(&self) -> Option<[f64; 4]> {
        let versions: Vec<&VersionInfo> = match &self.source {
            Source::Layer { versions, .. } => versions.iter().collect(),
            Source::Version(v) => vec![v],
            Source::Parcels | Source::Overlaps | Source::ApprovedUnsupplied | Source::IdleLand => Vec::new(),
        };
        versions
            .iter()
            .filter_map(|v| v.extent)
            .reduce(|a, b| [a[0].min(b[0]), a[1].min(b[1]), a[2].max(b[2]), a[3].max(b[3])])
    }

    /// The exact feature count of an unfiltered layer collection, from the versions' stored
    /// counts (a count over a million-feature layer on every first page would cost seconds).
    pub fn stored_count(&self) -> Option<i64> {
        match &self.source {
            Source::Layer { versions, .. } => Some(versions.iter().map(|v| i64::from(v.feature_count)).sum()),
            Source::Version(v) => Some(i64::from(v.feature_count)),
            Source::Parcels | Source::Overlaps | Source::ApprovedUnsupplied | Source::IdleLand => None,
        }
    }

    /// The collection's properties: fixed ones, and for layers the source attributes found in
    /// a sample of the features.
    pub async fn properties(&self, conn: &mut PgConnection) -> Result<Vec<Property>, OgcError> {
        match self.source {
            Source::Parcels => Ok(parcel_properties()),
            Source::Overlaps => Ok(overlap_properties()),
            Source::ApprovedUnsupplied => Ok(unsupplied_properties()),
            Source::IdleLand => Ok(idle_properties()),
            Source::Layer { .. } | Source::Version(_) => {
                let mut out = layer_fixed_properties();
                for attribute in store::sampled_attributes(conn, &self.version_ids()).await? {
                    if !out.iter().any(|p| p.name == attribute.name) {
                        out.push(Property {
                            title: format!("源数据属性 source attribute {}", attribute.name),
                            kind: PropertyType::from_code(&attribute.json_type),
                            name: attribute.name,
                            queryable: true,
                        });
                    }
                }
                Ok(out)
            }
        }
    }
}

impl From<VersionRow> for VersionInfo {
    fn from(row: VersionRow) -> Self {
        Self {
            id: row.id,
            kind: row.kind,
            kind_name: row.kind_name,
            jurisdiction: row.jurisdiction,
            version_no: row.version_no,
            is_current: row.is_current,
            feature_count: row.feature_count,
            imported_at: row.imported_at,
            superseded_at: row.superseded_at,
            source_name: row.source_name,
            extent: row.extent.and_then(|e| <[f64; 4]>::try_from(e).ok()),
        }
    }
}

async fn versions_where(
    conn: &mut PgConnection,
    filter: &VersionFilter<'_>,
) -> Result<Vec<VersionInfo>, OgcError> {
    Ok(store::versions(conn, filter)
        .await?
        .into_iter()
        .map(VersionInfo::from)
        .collect())
}

/// Every collection: the layer kinds that have a current version, then parcels and overlaps.
pub async fn list(conn: &mut PgConnection) -> Result<Vec<Collection>, OgcError> {
    let current = versions_where(
        conn,
        &VersionFilter {
            current_only: true,
            ..VersionFilter::default()
        },
    )
    .await?;
    let mut groups: Vec<Vec<VersionInfo>> = Vec::new();
    for version in current {
        match groups.last_mut() {
            Some(group) if group.first().is_some_and(|v| v.kind == version.kind) => group.push(version),
            _ => groups.push(vec![version]),
        }
    }
    let mut out: Vec<Collection> = groups
        .into_iter()
        .filter_map(|versions| {
            let first = versions.first()?;
            let (kind, name) = (first.kind.clone(), first.kind_name.clone());
            Some(Collection::layer(kind, &name, versions))
        })
        .collect();
    out.push(Collection::parcels());
    out.push(Collection::overlaps());
    out.push(Collection::approved_unsupplied());
    out.push(Collection::idle_land());
    Ok(out)
}

/// Reads a version collection id: `{kind}_{jurisdiction}_v{n}`.
fn parse_version_id(id: &str) -> Option<(&str, &str, i32)> {
    let (rest, number) = id.rsplit_once("_v")?;
    let number = number.parse::<i32>().ok().filter(|n| *n > 0)?;
    let (kind, jurisdiction) = rest.rsplit_once('_')?;
    let ok = jurisdiction.len() == 6 && jurisdiction.bytes().all(|b| b.is_ascii_digit());
    ok.then_some((kind, jurisdiction, number))
}

/// Finds a collection by id: `parcels`, `check_overlaps`, a layer kind with a current version,
/// a version collection `{kind}_{jurisdiction}_v{n}`, or a layer version's UUID.
///
/// # Errors
/// 404 when nothing has that id.
pub async fn find(conn: &mut PgConnection, id: &str) -> Result<Collection, OgcError> {
    match id {
        PARCELS => return Ok(Collection::parcels()),
        OVERLAPS => return Ok(Collection::overlaps()),
        super::figures::APPROVED_UNSUPPLIED => return Ok(Collection::approved_unsupplied()),
        super::figures::IDLE_LAND => return Ok(Collection::idle_land()),
        _ => {}
    }
    if let Ok(version_id) = Uuid::parse_str(id) {
        let found = versions_where(
            conn,
            &VersionFilter {
                id: Some(version_id),
                ..VersionFilter::default()
            },
        )
        .await?;
        return found
            .into_iter()
            .next()
            .map(Collection::version)
            .ok_or(OgcError::Api(ApiError::NotFound("collection")));
    }
    let current = versions_where(
        conn,
        &VersionFilter {
            kind: Some(id),
            current_only: true,
            ..VersionFilter::default()
        },
    )
    .await?;
    if let Some(first) = current.first() {
        let name = first.kind_name.clone();
        return Ok(Collection::layer(id.to_owned(), &name, current));
    }
    if let Some((kind, jurisdiction, number)) = parse_version_id(id) {
        let found = versions_where(
            conn,
            &VersionFilter {
                kind: Some(kind),
                jurisdiction: Some(jurisdiction),
                version_no: Some(number),
                ..VersionFilter::default()
            },
        )
        .await?;
        if let Some(version) = found.into_iter().next() {
            return Ok(Collection::version(version));
        }
    }
    Err(OgcError::Api(ApiError::NotFound("collection")))
}

/// Whether any feature of the versions has attribute `name` (an exact check, for refusing an
/// unknown filter; the sample may miss a rare attribute).
///
/// # Errors
/// Database failures.
pub async fn layer_has_attribute(
    conn: &mut PgConnection,
    versions: &[Uuid],
    name: &str,
) -> Result<bool, OgcError> {
    Ok(store::layer_has_attribute(conn, versions, name).await?)
}

/// A collection's extent: the lon/lat box of what the caller may see, and the time span for
/// collections with a time.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Extent {
    /// West, south, east, north (CRS84).
    pub bbox: Option<[f64; 4]>,
    /// First and last instant.
    pub interval: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

/// The extent of what `caller` sees of `collection`: for layers the versions' stored extents
/// (no query), for parcels and overlaps computed over what the caller's counties hold, for the
/// land-supply collections over their features at `today`.
pub async fn extent(
    conn: &mut PgConnection,
    caller: &Caller,
    collection: &Collection,
    today: NaiveDate,
) -> Result<Extent, OgcError> {
    let counties = caller.county_filter();
    let no_filter = super::figures::FigureFilter::default();
    let row = match collection.source {
        Source::ApprovedUnsupplied => {
            let (_, bbox) =
                super::figures::approved_unsupplied(conn, counties.as_deref(), today, &no_filter).await?;
            return Ok(Extent { bbox, interval: None });
        }
        Source::IdleLand => {
            let (_, bbox) = super::figures::idle_land(conn, counties.as_deref(), today, &no_filter).await?;
            return Ok(Extent { bbox, interval: None });
        }
        Source::Layer { .. } | Source::Version(_) => {
            return Ok(Extent {
                bbox: collection.stored_extent(),
                interval: None,
            })
        }
        Source::Parcels => store::parcel_extent(conn, counties.as_deref()).await?,
        Source::Overlaps => store::overlap_extent(conn, counties.as_deref()).await?,
    };
    let bbox = match (row.xmin, row.ymin, row.xmax, row.ymax) {
        (Some(w), Some(s), Some(e), Some(n)) => Some([w, s, e, n]),
        _ => None,
    };
    let interval = row.first_at.zip(row.last_at);
    Ok(Extent { bbox, interval })
}

/// The metadata document of a collection (`/collections/{id}`, and each entry of
/// `/collections`).
pub fn metadata(
    collection: &Collection,
    extent: &Extent,
    all_versions: Option<&[VersionInfo]>,
    base: &ExternalBase,
) -> Value {
    let path = format!("/collections/{}", collection.id);
    let mut links = vec![
        Link::new(base.ogc(&path), "self", JSON, "This collection"),
        Link::new(
            base.ogc(&format!("{path}/items")),
            "items",
            GEOJSON,
            "The features of this collection",
        ),
        Link::new(
            base.ogc(&format!("{path}/schema")),
            "describedby",
            SCHEMA_JSON,
            "The schema of the features' properties",
        ),
        Link::new(
            base.ogc(&format!("{path}/queryables")),
            REL_QUERYABLES,
            SCHEMA_JSON,
            "The properties features can be filtered by (name=value)",
        ),
    ];
    if collection.has_tiles() {
        links.push(Link::new(
            base.ogc(&format!("{path}/tiles")),
            super::REL_TILESETS_VECTOR,
            JSON,
            "The vector tilesets of this collection (OGC API – Tiles)",
        ));
    }
    let mut extent_json = Map::new();
    if let Some(bbox) = extent.bbox {
        extent_json.insert("spatial".to_owned(), json!({ "bbox": [bbox], "crs": CRS84_URI }));
    }
    if let Some((from, to)) = extent.interval {
        extent_json.insert(
            "temporal".to_owned(),
            json!({
                "interval": [[from, to]],
                "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
            }),
        );
    }
    let mut doc = json!({
        "id": collection.id,
        "title": collection.title,
        "description": collection.description,
        "itemType": "feature",
        "links": links,
        "crs": OgcCrs::offered().iter().map(|c| c.uri()).collect::<Vec<_>>(),
        "storageCrs": OgcCrs::STORAGE.uri(),
    });
    if !extent_json.is_empty() {
        doc["extent"] = Value::Object(extent_json);
    }
    match &collection.source {
        Source::Layer { kind, versions } => {
            doc["layer"] = json!({
                "kind": kind,
                "current": versions.iter().map(|v| v.to_json(base)).collect::<Vec<_>>(),
                "versions": all_versions.map(|all| all.iter().map(|v| v.to_json(base)).collect::<Vec<_>>()),
            });
        }
        Source::Version(v) => {
            doc["layer"] = json!({ "kind": v.kind, "version": v.to_json(base) });
            if let Some(current) = doc["links"].as_array_mut() {
                current.push(json!(Link::new(
                    base.ogc(&format!("/collections/{}", v.kind)),
                    "latest-version",
                    JSON,
                    "The current version of this layer",
                )));
            }
        }
        Source::Parcels | Source::Overlaps | Source::ApprovedUnsupplied | Source::IdleLand => {}
    }
    doc
}

/// Every version of a layer kind, newest first per jurisdiction.
pub async fn versions_of_kind(conn: &mut PgConnection, kind: &str) -> Result<Vec<VersionInfo>, OgcError> {
    versions_where(
        conn,
        &VersionFilter {
            kind: Some(kind),
            ..VersionFilter::default()
        },
    )
    .await
}

/// A JSON Schema of the features' properties (`describedby`), or of the queryable ones only.
pub fn properties_schema(
    collection: &Collection,
    properties: &[Property],
    base: &ExternalBase,
    queryables_only: bool,
) -> Value {
    let path = if queryables_only { "queryables" } else { "schema" };
    let mut props = Map::new();
    for p in properties.iter().filter(|p| p.queryable || !queryables_only) {
        let mut schema = p.kind.schema();
        schema["title"] = json!(p.title);
        props.insert(p.name.clone(), schema);
    }
    let mut doc = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": base.ogc(&format!("/collections/{}/{path}", collection.id)),
        "title": collection.title,
        "type": "object",
    });
    if queryables_only {
        doc["properties"] = Value::Object(props);
        doc["additionalProperties"] = json!(false);
    } else {
        // The shape of a GeoJSON feature, so readers that build a field list from the schema
        // (GDAL's OAPIF driver) find the attributes under `properties`.
        doc["required"] = json!(["type", "geometry", "properties"]);
        doc["properties"] = json!({
            "type": { "type": "string", "enum": ["Feature"] },
            "id": match collection.key_kind() {
                KeyKind::Int => json!({ "type": "integer" }),
                KeyKind::Uuid => json!({ "type": "string", "format": "uuid" }),
            },
            "geometry": { "type": ["object", "null"], "title": "GeoJSON geometry" },
            "properties": { "type": "object", "properties": Value::Object(props) },
        });
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_collection_ids_read_back_even_when_the_kind_has_underscores() {
        assert_eq!(
            parse_version_id("permanent_farmland_610900_v12"),
            Some(("permanent_farmland", "610900", 12))
        );
        assert_eq!(parse_version_id("geohazard_61090_v1"), None);
        assert_eq!(parse_version_id("geohazard_610900_v0"), None);
        assert_eq!(parse_version_id("parcels"), None);
    }
}
