//! What a collection's vector tiles hold: the layers of each tile and their properties. One
//! list, read by the tileset and `TileJSON` documents; the statements in `store/sql/tiles_*.sql`
//! write exactly these properties, and the tile tests decode real tiles against this list.

use uuid::Uuid;

use super::super::catalog::{Collection, Source, OVERLAPS, PARCELS};

/// The type of a property as `TileJSON` names it (`vector_layers[].fields`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// Text.
    String,
    /// A number (integers too).
    Number,
    /// True or false.
    Boolean,
}

impl FieldType {
    /// `TileJSON`'s name of the type.
    pub fn tilejson(self) -> &'static str {
        match self {
            Self::String => "String",
            Self::Number => "Number",
            Self::Boolean => "Boolean",
        }
    }

    /// The JSON Schema type, for the tileset's `propertiesSchema`.
    pub fn json_schema(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Number => "number",
            Self::Boolean => "boolean",
        }
    }
}

/// One property of a tile layer's features.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// Its key in the tile.
    pub name: &'static str,
    /// Its type.
    pub kind: FieldType,
    /// What it is, for people.
    pub title: &'static str,
}

const fn field(name: &'static str, kind: FieldType, title: &'static str) -> Field {
    Field { name, kind, title }
}

/// The properties of control-layer fills (`tiles_layer.sql`).
pub const LAYER_FIELDS: [Field; 5] = [
    field(
        "source_id",
        FieldType::String,
        "源数据标识 the feature's id in the imported file",
    ),
    field("kind", FieldType::String, "图层类型 layer kind code"),
    field("name", FieldType::String, "图层名称 the kind's name"),
    field(
        "jurisdiction",
        FieldType::String,
        "辖区代码 jurisdiction the version covers",
    ),
    field(
        "version",
        FieldType::Number,
        "版本号 version number within kind and jurisdiction",
    ),
];

/// The properties of parcels (`tiles_parcels.sql`).
pub const PARCEL_FIELDS: [Field; 8] = [
    field("parcel_id", FieldType::String, "地块 the parcel's UUID"),
    field("case_id", FieldType::String, "报批件 the case's UUID"),
    field("case_title", FieldType::String, "报批件名称 case title"),
    field("county_code", FieldType::String, "县（市、区）代码 county code"),
    field("stage", FieldType::String, "办理阶段 stage"),
    field("seq", FieldType::Number, "地块序号 parcel number in the case"),
    field("name", FieldType::String, "地块名称 parcel name"),
    field("area_mu", FieldType::Number, "面积（亩）area in mu"),
];

/// The properties of check overlaps (`tiles_overlaps.sql`).
pub const OVERLAP_FIELDS: [Field; 9] = [
    field("hit_id", FieldType::String, "压盖 the overlap's UUID"),
    field("check_id", FieldType::String, "核查报告 the check report's UUID"),
    field("case_id", FieldType::String, "报批件 the case's UUID"),
    field("county_code", FieldType::String, "县（市、区）代码 county code"),
    field("layer_kind", FieldType::String, "管控图层 control layer kind"),
    field("overlap_mu", FieldType::Number, "压盖面积（亩）overlap in mu"),
    field("dismissed", FieldType::Boolean, "已排除 dismissed by a planner"),
    field("check_result", FieldType::String, "核查结论 the report's result"),
    field(
        "check_stale",
        FieldType::Boolean,
        "已过期 the parcels changed since",
    ),
];

/// The geometry a tile layer holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Geometry {
    /// Polygons (and, for geohazard sites, points).
    Areas,
    /// Lines.
    Lines,
}

/// One layer of a collection's tiles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TileLayer {
    /// The layer's name in the tile.
    pub name: String,
    /// What it holds, for people.
    pub description: String,
    /// Its geometry.
    pub geometry: Geometry,
    /// Its features' properties (the feature id aside).
    pub fields: &'static [Field],
}

/// Where a collection's tiles come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TileSource {
    /// Control-layer versions: tiles are kept once drawn.
    Layers {
        /// The versions, sorted (the kept tiles' key).
        versions: Vec<Uuid>,
        /// The layer kind, which names the tile's layers.
        kind: String,
        /// Whether the collection is one version, whose tiles never change.
        one_version: bool,
    },
    /// Case parcels, drawn per request in the caller's scope.
    Parcels,
    /// Check overlaps, drawn per request in the caller's scope.
    Overlaps,
    /// No tiles: the land-supply collections are computed per request (their tile paths are
    /// 404 and their metadata links none).
    Untiled,
}

impl TileSource {
    /// The tiles of `collection`.
    pub fn of(collection: &Collection) -> Self {
        match &collection.source {
            Source::Layer { kind, .. } => Self::of_versions(kind, collection.version_ids(), false),
            Source::Version(version) => Self::of_versions(&version.kind, vec![version.id], true),
            Source::Parcels => Self::Parcels,
            Source::Overlaps => Self::Overlaps,
            Source::ApprovedUnsupplied | Source::IdleLand => Self::Untiled,
        }
    }

    fn of_versions(kind: &str, mut versions: Vec<Uuid>, one_version: bool) -> Self {
        versions.sort_unstable();
        versions.dedup();
        Self::Layers {
            versions,
            kind: kind.to_owned(),
            one_version,
        }
    }

    /// The layers of each tile, in the order the tile holds them.
    pub fn layers(&self) -> Vec<TileLayer> {
        match self {
            Self::Layers { kind, .. } => vec![
                TileLayer {
                    name: kind.clone(),
                    description: format!(
                        "The features of {kind}, filled (large features are drawn from their subdivided pieces: give the fill no outline, draw {kind}_outline instead)"
                    ),
                    geometry: Geometry::Areas,
                    fields: &LAYER_FIELDS,
                },
                TileLayer {
                    name: outline_name(kind),
                    description: format!("The boundaries of the features of {kind}, whole (no seams between pieces)"),
                    geometry: Geometry::Lines,
                    fields: &[],
                },
            ],
            Self::Parcels => vec![TileLayer {
                name: PARCELS.to_owned(),
                description: "The parcels of the cases the caller may see".to_owned(),
                geometry: Geometry::Areas,
                fields: &PARCEL_FIELDS,
            }],
            Self::Untiled => Vec::new(),
            Self::Overlaps => vec![TileLayer {
                name: OVERLAPS.to_owned(),
                description: "The overlaps of every check report the caller may see with the control layers".to_owned(),
                geometry: Geometry::Areas,
                fields: &OVERLAP_FIELDS,
            }],
        }
    }
}

/// The name of the outline layer of a control-layer kind's tiles.
pub fn outline_name(kind: &str) -> String {
    format!("{kind}_outline")
}
