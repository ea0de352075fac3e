//! The JSON documents of OGC API – Tiles: the tile matrix set (OGC 17-083r4, 2D Tile Matrix
//! Set and Tileset Metadata 2.0), a collection's tileset list and tileset, and `TileJSON` 3.0.0
//! for `MapLibre` and other web maps.

use std::collections::BTreeMap;

use landuse_spatial::tile::{self, MAX_ZOOM, ORIGIN_M, TILE_PIXELS};
use serde::Serialize;

use super::schema::{Geometry, TileLayer};
use crate::ogc::{
    crs::CRS84_URI,
    links::{ExternalBase, Link},
    JSON,
};

/// The id of the one tile matrix set offered.
pub const WEB_MERCATOR_QUAD: &str = "WebMercatorQuad";
/// Its registered URI.
pub const WEB_MERCATOR_QUAD_URI: &str = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad";
/// Web Mercator.
pub const EPSG_3857: &str = "http://www.opengis.net/def/crs/EPSG/0/3857";
/// The relation of a link to a tile matrix set definition.
pub const REL_TILING_SCHEME: &str = "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme";
/// The deepest zoom `TileJSON` advertises: a unit of the 4096 grid is then under 4 cm; clients
/// zoom further by enlarging these tiles (deeper tiles are still served on request).
pub const DETAIL_ZOOM: u8 = 18;

/// A link whose `href` may be a URI template.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TileLink {
    /// The link.
    #[serde(flatten)]
    pub link: Link,
    /// Whether `href` is a template (`{tileMatrix}`, `{tileRow}`, `{tileCol}`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub templated: bool,
}

impl From<Link> for TileLink {
    fn from(link: Link) -> Self {
        Self {
            link,
            templated: false,
        }
    }
}

/// One tile matrix of the set.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TileMatrix {
    /// Its id, the zoom level as text.
    pub id: String,
    /// The scale for a 0.28 mm pixel.
    pub scale_denominator: f64,
    /// Metres per pixel at the equator.
    pub cell_size: f64,
    /// Where rows and columns are counted from.
    pub corner_of_origin: &'static str,
    /// The top-left corner, in metres.
    pub point_of_origin: [f64; 2],
    /// Pixels across a tile.
    pub tile_width: u32,
    /// Pixels down a tile.
    pub tile_height: u32,
    /// Columns.
    pub matrix_width: u32,
    /// Rows.
    pub matrix_height: u32,
}

/// A bounding box with its CRS.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BoundingBox {
    /// West and south (or the CRS's first two axes' minimums).
    pub lower_left: [f64; 2],
    /// East and north.
    pub upper_right: [f64; 2],
    /// The CRS's URI.
    pub crs: &'static str,
}

/// `/tileMatrixSets/WebMercatorQuad`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TileMatrixSet {
    /// `WebMercatorQuad`.
    pub id: &'static str,
    /// Its title.
    pub title: &'static str,
    /// Its registered URI.
    pub uri: &'static str,
    /// EPSG:3857.
    pub crs: &'static str,
    /// Easting, northing.
    pub ordered_axes: [&'static str; 2],
    /// Google Maps compatible scales.
    pub well_known_scale_set: &'static str,
    /// The square world.
    pub bounding_box: BoundingBox,
    /// Matrices 0 to 24.
    pub tile_matrices: Vec<TileMatrix>,
    /// Links.
    pub links: Vec<Link>,
}

impl TileMatrixSet {
    /// The definition of `WebMercatorQuad`.
    pub fn web_mercator_quad(base: &ExternalBase) -> Self {
        let tile_matrices = (0..=MAX_ZOOM)
            .map(|z| TileMatrix {
                id: z.to_string(),
                scale_denominator: tile::scale_denominator(z),
                cell_size: tile::cell_size_m(z),
                corner_of_origin: "topLeft",
                point_of_origin: [-ORIGIN_M, ORIGIN_M],
                tile_width: TILE_PIXELS,
                tile_height: TILE_PIXELS,
                matrix_width: 1 << z,
                matrix_height: 1 << z,
            })
            .collect();
        Self {
            id: WEB_MERCATOR_QUAD,
            title: "Google Maps Compatible for the World",
            uri: WEB_MERCATOR_QUAD_URI,
            crs: EPSG_3857,
            ordered_axes: ["X", "Y"],
            well_known_scale_set: "http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible",
            bounding_box: BoundingBox {
                lower_left: [-ORIGIN_M, -ORIGIN_M],
                upper_right: [ORIGIN_M, ORIGIN_M],
                crs: EPSG_3857,
            },
            tile_matrices,
            links: vec![Link::new(
                base.ogc(&format!("/tileMatrixSets/{WEB_MERCATOR_QUAD}")),
                "self",
                JSON,
                "This tile matrix set",
            )],
        }
    }
}

/// An entry of `/tileMatrixSets`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TileMatrixSetRef {
    /// Its id.
    pub id: &'static str,
    /// Its title.
    pub title: &'static str,
    /// Its registered URI.
    pub uri: &'static str,
    /// Its CRS.
    pub crs: &'static str,
    /// Links to its definition.
    pub links: Vec<Link>,
}

/// `/tileMatrixSets`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TileMatrixSets {
    /// The sets offered.
    pub tile_matrix_sets: Vec<TileMatrixSetRef>,
    /// Links.
    pub links: Vec<Link>,
}

impl TileMatrixSets {
    /// The one set offered.
    pub fn offered(base: &ExternalBase) -> Self {
        let href = base.ogc(&format!("/tileMatrixSets/{WEB_MERCATOR_QUAD}"));
        Self {
            tile_matrix_sets: vec![TileMatrixSetRef {
                id: WEB_MERCATOR_QUAD,
                title: "Google Maps Compatible for the World",
                uri: WEB_MERCATOR_QUAD_URI,
                crs: EPSG_3857,
                links: vec![
                    Link::new(href.clone(), "self", JSON, "The tile matrix set"),
                    Link::new(href, REL_TILING_SCHEME, JSON, "The tile matrix set"),
                ],
            }],
            links: vec![Link::new(
                base.ogc("/tileMatrixSets"),
                "self",
                JSON,
                "This document",
            )],
        }
    }
}

/// What describes the tiles of one collection, shared by its documents.
#[derive(Debug, Clone)]
pub struct TilesetFacts<'a> {
    /// The collection's id.
    pub collection_id: &'a str,
    /// Its title.
    pub title: &'a str,
    /// Its description.
    pub description: &'a str,
    /// West, south, east, north (CRS84) of what the caller sees, when known.
    pub bbox: Option<[f64; 4]>,
    /// The tile's layers.
    pub layers: Vec<TileLayer>,
}

impl TilesetFacts<'_> {
    fn path(&self) -> String {
        format!("/collections/{}/tiles/{WEB_MERCATOR_QUAD}", self.collection_id)
    }

    fn links(&self, base: &ExternalBase) -> Vec<TileLink> {
        let path = self.path();
        vec![
            Link::new(base.ogc(&path), "self", JSON, "This tileset").into(),
            Link::new(
                base.ogc(&format!("/tileMatrixSets/{WEB_MERCATOR_QUAD}")),
                REL_TILING_SCHEME,
                JSON,
                "The tile matrix set",
            )
            .into(),
            TileLink {
                link: Link::new(
                    base.ogc(&format!("{path}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}")),
                    "item",
                    super::encoding::MVT,
                    "A tile (z/y/x: matrix, row, column)",
                ),
                templated: true,
            },
            Link::new(
                base.ogc(&format!("{path}?f=tilejson")),
                "alternate",
                JSON,
                "TileJSON 3.0.0 of this tileset, for MapLibre",
            )
            .into(),
            Link::new(
                base.ogc(&format!("/collections/{}", self.collection_id)),
                "collection",
                JSON,
                "The collection",
            )
            .into(),
        ]
    }
}

/// An entry of a collection's tileset list.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TilesetRef {
    /// Its title.
    pub title: String,
    /// `vector`.
    pub data_type: &'static str,
    /// EPSG:3857.
    pub crs: &'static str,
    /// `WebMercatorQuad`'s URI.
    #[serde(rename = "tileMatrixSetURI")]
    pub tile_matrix_set_uri: &'static str,
    /// Links to the tileset, its tile matrix set and its tiles.
    pub links: Vec<TileLink>,
}

/// `/collections/{id}/tiles`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tilesets {
    /// Links.
    pub links: Vec<Link>,
    /// The collection's tilesets (one per tile matrix set).
    pub tilesets: Vec<TilesetRef>,
}

impl Tilesets {
    /// The list for one collection.
    pub fn of(facts: &TilesetFacts<'_>, base: &ExternalBase) -> Self {
        Self {
            links: vec![Link::new(
                base.ogc(&format!("/collections/{}/tiles", facts.collection_id)),
                "self",
                JSON,
                "This document",
            )],
            tilesets: vec![TilesetRef {
                title: facts.title.to_owned(),
                data_type: "vector",
                crs: EPSG_3857,
                tile_matrix_set_uri: WEB_MERCATOR_QUAD_URI,
                links: facts.links(base),
            }],
        }
    }
}

/// A property in a tile layer's schema.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PropertySchema {
    /// JSON Schema type.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// What it is.
    pub title: &'static str,
}

/// The JSON Schema of a tile layer's properties.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PropertiesSchema {
    /// `object`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The properties.
    pub properties: BTreeMap<&'static str, PropertySchema>,
}

/// A layer of a tileset (geodata tilesets' `layers`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TilesetLayer {
    /// The layer's name in each tile.
    pub id: String,
    /// What it holds.
    pub description: String,
    /// `vector`.
    pub data_type: &'static str,
    /// 2 for areas, 1 for lines.
    pub geometry_dimension: u8,
    /// The first matrix with content.
    pub min_tile_matrix: String,
    /// The last matrix served.
    pub max_tile_matrix: String,
    /// Its features' properties.
    pub properties_schema: PropertiesSchema,
}

impl TilesetLayer {
    fn of(layer: &TileLayer) -> Self {
        Self {
            id: layer.name.clone(),
            description: layer.description.clone(),
            data_type: "vector",
            geometry_dimension: match layer.geometry {
                Geometry::Areas => 2,
                Geometry::Lines => 1,
            },
            min_tile_matrix: "0".to_owned(),
            max_tile_matrix: MAX_ZOOM.to_string(),
            properties_schema: PropertiesSchema {
                kind: "object",
                properties: layer
                    .fields
                    .iter()
                    .map(|f| {
                        (
                            f.name,
                            PropertySchema {
                                kind: f.kind.json_schema(),
                                title: f.title,
                            },
                        )
                    })
                    .collect(),
            },
        }
    }
}

/// `/collections/{id}/tiles/WebMercatorQuad`: the tileset's metadata.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Tileset {
    /// Its title.
    pub title: String,
    /// What it shows.
    pub description: String,
    /// `vector`.
    pub data_type: &'static str,
    /// EPSG:3857.
    pub crs: &'static str,
    /// `WebMercatorQuad`'s URI.
    #[serde(rename = "tileMatrixSetURI")]
    pub tile_matrix_set_uri: &'static str,
    /// Links: itself, the tile matrix set, the tile template, `TileJSON`, the collection.
    pub links: Vec<TileLink>,
    /// The layers of each tile.
    pub layers: Vec<TilesetLayer>,
    /// Where the caller's data is (CRS84), when there is any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bounding_box: Option<BoundingBox>,
}

impl Tileset {
    /// The metadata of one collection's tiles.
    pub fn of(facts: &TilesetFacts<'_>, base: &ExternalBase) -> Self {
        Self {
            title: facts.title.to_owned(),
            description: facts.description.to_owned(),
            data_type: "vector",
            crs: EPSG_3857,
            tile_matrix_set_uri: WEB_MERCATOR_QUAD_URI,
            links: facts.links(base),
            layers: facts.layers.iter().map(TilesetLayer::of).collect(),
            bounding_box: facts.bbox.map(|[w, s, e, n]| BoundingBox {
                lower_left: [w, s],
                upper_right: [e, n],
                crs: CRS84_URI,
            }),
        }
    }
}

/// A layer of `TileJSON`'s `vector_layers`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VectorLayer {
    /// The layer's name in each tile.
    pub id: String,
    /// What it holds.
    pub description: String,
    /// The first zoom with content.
    pub minzoom: u8,
    /// The last zoom with its own tiles.
    pub maxzoom: u8,
    /// Property names and their types.
    pub fields: BTreeMap<&'static str, &'static str>,
}

/// `TileJSON` 3.0.0 of a collection's tiles (`…/tiles/WebMercatorQuad?f=tilejson`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TileJson {
    /// `3.0.0`.
    pub tilejson: &'static str,
    /// The collection's title.
    pub name: String,
    /// What it shows.
    pub description: String,
    /// `xyz`: rows counted from the north.
    pub scheme: &'static str,
    /// The tile URL template, with `{z}`, `{x}` and `{y}` where this API puts them (z/y/x).
    pub tiles: Vec<String>,
    /// The first zoom.
    pub minzoom: u8,
    /// The last zoom with its own tiles.
    pub maxzoom: u8,
    /// West, south, east, north (CRS84) of what the caller sees.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bounds: Option<[f64; 4]>,
    /// Longitude, latitude and a zoom that shows all of it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub center: Option<[f64; 3]>,
    /// The layers of each tile.
    pub vector_layers: Vec<VectorLayer>,
}

impl TileJson {
    /// `TileJSON` for one collection.
    pub fn of(facts: &TilesetFacts<'_>, base: &ExternalBase) -> Self {
        let center = facts.bbox.map(|[w, s, e, n]| {
            let span = (e - w).max(n - s).max(1e-6);
            let zoom = (360.0 / span).log2().floor().clamp(0.0, f64::from(DETAIL_ZOOM));
            [f64::midpoint(w, e), f64::midpoint(s, n), zoom]
        });
        Self {
            tilejson: "3.0.0",
            name: facts.title.to_owned(),
            description: facts.description.to_owned(),
            scheme: "xyz",
            tiles: vec![base.ogc(&format!("{}/{{z}}/{{y}}/{{x}}", facts.path()))],
            minzoom: 0,
            maxzoom: DETAIL_ZOOM,
            bounds: facts.bbox,
            center,
            vector_layers: facts
                .layers
                .iter()
                .map(|layer| VectorLayer {
                    id: layer.name.clone(),
                    description: layer.description.clone(),
                    minzoom: 0,
                    maxzoom: DETAIL_ZOOM,
                    fields: layer.fields.iter().map(|f| (f.name, f.kind.tilejson())).collect(),
                })
                .collect(),
        }
    }
}
