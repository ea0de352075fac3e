//! The OpenAPI 3.0 definition of `/ogc` (the landing page's `service-desc`) and its HTML page
//! (`service-doc`), both made from [`ROUTES`], the table the router is checked against.
//!
//! Each collection also gets a path of its own (`/collections/parcels/items`) listing the
//! properties it can be filtered by: GDAL's OAPIF driver looks there to decide which `-where`
//! clauses it can send to the server, and QGIS reads the `limit` maximum from it.

use std::fmt::Write as _;

use serde_json::{json, Map, Value};

use super::{
    catalog::{Collection, Property, PropertyType},
    crs::OgcCrs,
    links::ExternalBase,
    params::Limits,
    tiles::encoding::MVT,
    GEOJSON, HTML, JSON, OPENAPI_JSON, PROBLEM_JSON, SCHEMA_JSON,
};

/// What a route answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// The landing page.
    LandingPage,
    /// The conformance declaration.
    Conformance,
    /// This definition.
    Definition,
    /// The HTML documentation.
    Documentation,
    /// The collection list.
    Collections,
    /// One collection.
    Collection,
    /// A JSON Schema.
    Schema,
    /// A page of features.
    Features,
    /// One feature.
    Feature,
    /// The tile matrix sets offered.
    TileMatrixSets,
    /// One tile matrix set's definition.
    TileMatrixSet,
    /// A collection's tilesets.
    Tilesets,
    /// One tileset's metadata, or its `TileJSON`.
    Tileset,
    /// A vector tile (or 204 when it has no features).
    Tile,
}

/// One route of `/ogc`.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    /// The path under `/ogc` (OpenAPI template syntax).
    pub path: &'static str,
    /// `operationId`.
    pub operation_id: &'static str,
    /// One line.
    pub summary: &'static str,
    /// More.
    pub description: &'static str,
    /// Names of `components/parameters` it takes.
    pub parameters: &'static [&'static str],
    /// What it answers with.
    pub answer: Answer,
    /// Whether it needs a token.
    pub authenticated: bool,
}

/// Every route of `/ogc` (each is a GET).
pub const ROUTES: [Route; 15] = [
    Route {
        path: "/",
        operation_id: "getLandingPage",
        summary: "Landing page",
        description: "Links to the API definition, the documentation, the conformance declaration and the collections.",
        parameters: &["f-json"],
        answer: Answer::LandingPage,
        authenticated: false,
    },
    Route {
        path: "/conformance",
        operation_id: "getConformanceDeclaration",
        summary: "Conformance classes",
        description: "OGC API – Features Part 1 Core, GeoJSON and OpenAPI 3.0, and Part 2 (CRS by reference); OGC API – Tiles Core, tileset, tilesets list, tilesets of collections and Mapbox Vector Tiles.",
        parameters: &["f-json"],
        answer: Answer::Conformance,
        authenticated: false,
    },
    Route {
        path: "/api",
        operation_id: "getApiDefinition",
        summary: "This API definition (OpenAPI 3.0)",
        description: "Made from the route table and the current collections, with each collection's filterable properties.",
        parameters: &["f-json"],
        answer: Answer::Definition,
        authenticated: false,
    },
    Route {
        path: "/api.html",
        operation_id: "getApiDocumentation",
        summary: "The API documentation",
        description: "This API for people, with how to add it in QGIS and GDAL.",
        parameters: &[],
        answer: Answer::Documentation,
        authenticated: false,
    },
    Route {
        path: "/collections",
        operation_id: "getCollections",
        summary: "The collections",
        description: "One collection per control-layer kind with a current version, the case parcels and the check overlaps, each with its extent.",
        parameters: &["f-json"],
        answer: Answer::Collections,
        authenticated: true,
    },
    Route {
        path: "/collections/{collectionId}",
        operation_id: "describeCollection",
        summary: "One collection",
        description: "Extent (bbox in CRS84, time span where the data has time), the CRSs offered, the storage CRS, links to items, schema and queryables. A control layer lists all its versions; an older version is the collection {kind}_{jurisdiction}_v{n}, or its version UUID.",
        parameters: &["collectionId", "f-json"],
        answer: Answer::Collection,
        authenticated: true,
    },
    Route {
        path: "/collections/{collectionId}/schema",
        operation_id: "getSchema",
        summary: "The features' properties (JSON Schema)",
        description: "The collection's `describedby` link.",
        parameters: &["collectionId", "f-json"],
        answer: Answer::Schema,
        authenticated: true,
    },
    Route {
        path: "/collections/{collectionId}/queryables",
        operation_id: "getQueryables",
        summary: "The properties features can be filtered by",
        description: "Each is a query parameter name=value (equality).",
        parameters: &["collectionId", "f-json"],
        answer: Answer::Schema,
        authenticated: true,
    },
    Route {
        path: "/collections/{collectionId}/items",
        operation_id: "getFeatures",
        summary: "A page of features",
        description: "Keyset paging: follow the `next` link (its `cursor` is opaque). `numberMatched` is exact and given on the first page. An unknown parameter or an invalid value is refused with 400; a `limit` above the maximum is clamped. Property filters (name=value) are listed under each collection's own path and at …/queryables.",
        parameters: &["collectionId", "limit", "bbox", "bbox-crs", "crs", "datetime", "cursor", "f-features"],
        answer: Answer::Features,
        authenticated: true,
    },
    Route {
        path: "/collections/{collectionId}/items/{featureId}",
        operation_id: "getFeature",
        summary: "One feature",
        description: "With links to itself and its collection.",
        parameters: &["collectionId", "featureId", "crs", "f-features"],
        answer: Answer::Feature,
        authenticated: true,
    },
    Route {
        path: "/tileMatrixSets",
        operation_id: "getTileMatrixSetsList",
        summary: "The tile matrix sets of the vector tiles",
        description: "Only WebMercatorQuad.",
        parameters: &["f-json"],
        answer: Answer::TileMatrixSets,
        authenticated: false,
    },
    Route {
        path: "/tileMatrixSets/{tileMatrixSetId}",
        operation_id: "getTileMatrixSet",
        summary: "One tile matrix set",
        description: "Its 25 matrices (0 to 24) with scales, cell sizes and sizes in tiles.",
        parameters: &["tileMatrixSetId", "f-json"],
        answer: Answer::TileMatrixSet,
        authenticated: false,
    },
    Route {
        path: "/collections/{collectionId}/tiles",
        operation_id: "getCollectionVectorTilesets",
        summary: "The collection's vector tilesets",
        description: "One tileset, in WebMercatorQuad.",
        parameters: &["collectionId", "f-json"],
        answer: Answer::Tilesets,
        authenticated: true,
    },
    Route {
        path: "/collections/{collectionId}/tiles/{tileMatrixSetId}",
        operation_id: "describeCollectionVectorTileset",
        summary: "A tileset's metadata, or its TileJSON 3.0.0",
        description: "The layers of its tiles with their properties, the bounding box of what the caller sees, and the tile URL template; f=tilejson gives TileJSON 3.0.0 for MapLibre and QGIS.",
        parameters: &["collectionId", "tileMatrixSetId", "f-tileset"],
        answer: Answer::Tileset,
        authenticated: true,
    },
    Route {
        path: "/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
        operation_id: "getCollectionVectorTile",
        summary: "A vector tile (matrix, row, column: z/y/x)",
        description: "A Mapbox Vector Tile: control layers as fills and outlines, parcels and overlaps in the caller's counties. 204 when the tile has no features; a strong ETag, 304 for If-None-Match; gzip when Accept-Encoding allows it. A matrix, row or column outside WebMercatorQuad is 400.",
        parameters: &["collectionId", "tileMatrixSetId", "tileMatrix", "tileRow", "tileCol", "f-mvt"],
        answer: Answer::Tile,
        authenticated: true,
    },
];

fn response(answer: Answer) -> Value {
    let content = |media: &str, schema: &str| {
        let mut content = Map::new();
        content.insert(
            media.to_owned(),
            json!({ "schema": { "$ref": format!("#/components/schemas/{schema}") } }),
        );
        Value::Object(content)
    };
    let content_crs = json!({
        "Content-Crs": {
            "description": "The CRS of the coordinates, as a URI in angle brackets.",
            "schema": { "type": "string" }
        }
    });
    match answer {
        Answer::LandingPage => {
            json!({ "description": "The landing page.", "content": content(JSON, "landingPage") })
        }
        Answer::Conformance => {
            json!({ "description": "The conformance classes.", "content": content(JSON, "confClasses") })
        }
        Answer::Definition => {
            json!({ "description": "This document.", "content": { OPENAPI_JSON: { "schema": { "type": "object" } } } })
        }
        Answer::Documentation => {
            json!({ "description": "The documentation.", "content": { HTML: { "schema": { "type": "string" } } } })
        }
        Answer::Collections => {
            json!({ "description": "The collections.", "content": content(JSON, "collections") })
        }
        Answer::Collection => {
            json!({ "description": "The collection.", "content": content(JSON, "collection") })
        }
        Answer::Schema => {
            json!({ "description": "A JSON Schema.", "content": { SCHEMA_JSON: { "schema": { "type": "object" } } } })
        }
        Answer::Features => {
            let mut c = content(GEOJSON, "featureCollectionGeoJSON");
            c[JSON] = c[GEOJSON].clone();
            json!({ "description": "A page of features.", "headers": content_crs, "content": c })
        }
        Answer::Feature => {
            let mut c = content(GEOJSON, "featureGeoJSON");
            c[JSON] = c[GEOJSON].clone();
            json!({ "description": "The feature.", "headers": content_crs, "content": c })
        }
        Answer::TileMatrixSets => {
            json!({ "description": "The tile matrix sets.", "content": content(JSON, "tileMatrixSets") })
        }
        Answer::TileMatrixSet => {
            json!({ "description": "The tile matrix set.", "content": content(JSON, "tileMatrixSet") })
        }
        Answer::Tilesets => {
            json!({ "description": "The tilesets.", "content": content(JSON, "tilesets") })
        }
        Answer::Tileset => json!({
            "description": "The tileset (f=json), or TileJSON 3.0.0 (f=tilejson).",
            "content": { JSON: { "schema": { "oneOf": [
                { "$ref": "#/components/schemas/tileset" },
                { "$ref": "#/components/schemas/tileJSON" }
            ] } } }
        }),
        Answer::Tile => json!({
            "description": "The tile.",
            "headers": { "ETag": { "description": "A strong tag of this representation.", "schema": { "type": "string" } } },
            "content": { MVT: { "schema": { "type": "string", "format": "binary" } } }
        }),
    }
}

fn error_responses(authenticated: bool, has_path_parameter: bool) -> Map<String, Value> {
    let problem = |description: &str| {
        json!({
            "description": description,
            "content": { PROBLEM_JSON: { "schema": { "$ref": "#/components/schemas/problem" } } }
        })
    };
    let mut out = Map::new();
    out.insert(
        "400".to_owned(),
        problem("An unknown query parameter, one given twice, or a value that cannot be read."),
    );
    if authenticated {
        out.insert(
            "401".to_owned(),
            problem("No valid token (send it as a bearer token or as the HTTP Basic password)."),
        );
    }
    if has_path_parameter {
        out.insert(
            "404".to_owned(),
            problem("No such collection or feature, or one the caller may not see."),
        );
    }
    out.insert(
        "503".to_owned(),
        problem("The database is not available; retry after the Retry-After seconds."),
    );
    out.insert(
        "500".to_owned(),
        problem("The server failed; the body carries a trace id."),
    );
    out
}

fn operation(route: &Route, parameters: &[Value], tag: &str) -> Value {
    let mut responses = error_responses(route.authenticated, route.path.contains('{'));
    responses.insert("200".to_owned(), response(route.answer));
    if route.answer == Answer::Tile {
        responses.insert(
            "204".to_owned(),
            json!({ "description": "The tile has no features." }),
        );
        responses.insert(
            "304".to_owned(),
            json!({ "description": "If-None-Match names the tile the client holds." }),
        );
    }
    let mut op = json!({
        "operationId": route.operation_id,
        "summary": route.summary,
        "description": route.description,
        "tags": [tag],
        "parameters": parameters,
        "responses": responses,
    });
    if !route.authenticated {
        op["security"] = json!([]);
    }
    op
}

fn parameter_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/parameters/{name}") })
}

fn property_parameter(property: &Property) -> Value {
    let schema = match property.kind {
        PropertyType::Integer => json!({ "type": "integer" }),
        PropertyType::Number => json!({ "type": "number" }),
        PropertyType::Boolean => json!({ "type": "boolean" }),
        PropertyType::Uuid => json!({ "type": "string", "format": "uuid" }),
        PropertyType::String | PropertyType::DateTime | PropertyType::Object => json!({ "type": "string" }),
    };
    json!({
        "name": property.name,
        "in": "query",
        "required": false,
        "description": format!("Only features whose {} equals this value. {}", property.name, property.title),
        "schema": schema,
        "style": "form",
        "explode": false,
    })
}

fn components(limits: Limits) -> Value {
    json!({
        "securitySchemes": {
            "bearer": { "type": "http", "scheme": "bearer", "description": "An API token (lu_…)." },
            "basic": { "type": "http", "scheme": "basic", "description": "Any user name, the API token as the password (for QGIS and GDAL)." }
        },
        "parameters": parameters(limits),
        "schemas": schemas(),
    })
}

fn parameters(limits: Limits) -> Value {
    let crs_list: Vec<String> = OgcCrs::offered().iter().map(|c| c.uri()).collect();
    json!({
        "collectionId": { "name": "collectionId", "in": "path", "required": true, "description": "A collection id.", "schema": { "type": "string" } },
        "featureId": { "name": "featureId", "in": "path", "required": true, "description": "A feature id.", "schema": { "type": "string" } },
        "limit": {
            "name": "limit", "in": "query", "required": false, "style": "form", "explode": false,
            "description": format!("Features per page; larger values are clamped to {}.", limits.max),
            "schema": { "type": "integer", "minimum": 1, "maximum": limits.max, "default": limits.default }
        },
        "bbox": {
            "name": "bbox", "in": "query", "required": false, "style": "form", "explode": false,
            "description": "Only features that intersect this box: lower corner, upper corner, in the axis order of bbox-crs (CRS84: lon,lat; EPSG:4490: lat,lon; EPSG:4524: north,east). Six numbers (with heights) are also read; heights are ignored.",
            "schema": { "type": "array", "minItems": 4, "maxItems": 6, "items": { "type": "number" } }
        },
        "bbox-crs": {
            "name": "bbox-crs", "in": "query", "required": false, "style": "form", "explode": false,
            "description": "The CRS of bbox (default CRS84).",
            "schema": { "type": "string", "format": "uri", "enum": crs_list }
        },
        "crs": {
            "name": "crs", "in": "query", "required": false, "style": "form", "explode": false,
            "description": "The CRS of the coordinates in the response (default CRS84), in the axis order the CRS defines.",
            "schema": { "type": "string", "format": "uri", "enum": crs_list }
        },
        "datetime": {
            "name": "datetime", "in": "query", "required": false, "style": "form", "explode": false,
            "description": "An instant, a date, or an interval start/end with '..' for an open end. Parcels: when uploaded; check overlaps: when the check ran. Control layers have no time and refuse it.",
            "schema": { "type": "string" }
        },
        "cursor": {
            "name": "cursor", "in": "query", "required": false, "style": "form", "explode": false,
            "description": "Where the page starts: copy it from a next link, never make one.",
            "schema": { "type": "string" }
        },
        "f-json": {
            "name": "f", "in": "query", "required": false, "style": "form", "explode": false,
            "description": "The encoding: JSON.",
            "schema": { "type": "string", "enum": ["json"] }
        },
        "tileMatrixSetId": { "name": "tileMatrixSetId", "in": "path", "required": true, "description": "A tile matrix set: only WebMercatorQuad.", "schema": { "type": "string", "enum": ["WebMercatorQuad"] } },
        "tileMatrix": { "name": "tileMatrix", "in": "path", "required": true, "description": "The tile matrix (zoom level), 0 to 24.", "schema": { "type": "string", "pattern": "^(0|[1-9][0-9]?)$" } },
        "tileRow": { "name": "tileRow", "in": "path", "required": true, "description": "The row, counted from the north: below 2^tileMatrix.", "schema": { "type": "string", "pattern": "^(0|[1-9][0-9]{0,7})$" } },
        "tileCol": { "name": "tileCol", "in": "path", "required": true, "description": "The column, counted from the antimeridian: below 2^tileMatrix.", "schema": { "type": "string", "pattern": "^(0|[1-9][0-9]{0,7})$" } },
        "f-tileset": {
            "name": "f", "in": "query", "required": false, "style": "form", "explode": false,
            "description": "The encoding: json (OGC tileset metadata, the default) or tilejson (TileJSON 3.0.0).",
            "schema": { "type": "string", "enum": ["json", "tilejson"] }
        },
        "f-mvt": {
            "name": "f", "in": "query", "required": false, "style": "form", "explode": false,
            "description": "The encoding: mvt (Mapbox Vector Tile, the only one).",
            "schema": { "type": "string", "enum": ["mvt"] }
        },
        "f-features": {
            "name": "f", "in": "query", "required": false, "style": "form", "explode": false,
            "description": "The encoding: geojson (application/geo+json, the default) or json (the same, as application/json).",
            "schema": { "type": "string", "enum": ["geojson", "json"] }
        }
    })
}

fn schemas() -> Value {
    let mut all = feature_schemas();
    if let (Some(all), Value::Object(tiles)) = (all.as_object_mut(), tile_schemas()) {
        all.extend(tiles);
    }
    all
}

/// The documents of OGC API – Tiles (`tiles::documents`).
fn tile_schemas() -> Value {
    json!({
        "tileMatrixSets": {
            "type": "object", "required": ["tileMatrixSets"],
            "properties": {
                "tileMatrixSets": { "type": "array", "items": { "type": "object", "required": ["id", "links"], "properties": {
                    "id": { "type": "string" }, "title": { "type": "string" }, "uri": { "type": "string" }, "crs": { "type": "string" },
                    "links": { "type": "array", "items": { "$ref": "#/components/schemas/link" } } } } },
                "links": { "type": "array", "items": { "$ref": "#/components/schemas/link" } }
            }
        },
        "tileMatrixSet": {
            "type": "object", "required": ["id", "crs", "tileMatrices"],
            "properties": {
                "id": { "type": "string" }, "title": { "type": "string" }, "uri": { "type": "string" }, "crs": { "type": "string" },
                "orderedAxes": { "type": "array", "items": { "type": "string" } },
                "wellKnownScaleSet": { "type": "string" },
                "boundingBox": { "type": "object" },
                "tileMatrices": { "type": "array", "items": { "type": "object", "required": ["id", "scaleDenominator", "cellSize", "pointOfOrigin", "tileWidth", "tileHeight", "matrixWidth", "matrixHeight"], "properties": {
                    "id": { "type": "string" }, "scaleDenominator": { "type": "number" }, "cellSize": { "type": "number" },
                    "cornerOfOrigin": { "type": "string", "enum": ["topLeft"] },
                    "pointOfOrigin": { "type": "array", "minItems": 2, "maxItems": 2, "items": { "type": "number" } },
                    "tileWidth": { "type": "integer" }, "tileHeight": { "type": "integer" },
                    "matrixWidth": { "type": "integer" }, "matrixHeight": { "type": "integer" } } } },
                "links": { "type": "array", "items": { "$ref": "#/components/schemas/link" } }
            }
        },
        "tilesets": {
            "type": "object", "required": ["tilesets"],
            "properties": {
                "tilesets": { "type": "array", "items": { "type": "object", "required": ["dataType", "crs", "links"], "properties": {
                    "title": { "type": "string" }, "dataType": { "type": "string", "enum": ["vector"] }, "crs": { "type": "string" },
                    "tileMatrixSetURI": { "type": "string" },
                    "links": { "type": "array", "items": { "$ref": "#/components/schemas/link" } } } } },
                "links": { "type": "array", "items": { "$ref": "#/components/schemas/link" } }
            }
        },
        "tileset": {
            "type": "object", "required": ["dataType", "crs", "links"],
            "properties": {
                "title": { "type": "string" }, "description": { "type": "string" },
                "dataType": { "type": "string", "enum": ["vector"] }, "crs": { "type": "string" },
                "tileMatrixSetURI": { "type": "string" },
                "boundingBox": { "type": "object" },
                "layers": { "type": "array", "items": { "type": "object", "required": ["id"], "properties": {
                    "id": { "type": "string" }, "dataType": { "type": "string" }, "geometryDimension": { "type": "integer" },
                    "propertiesSchema": { "type": "object" } } } },
                "links": { "type": "array", "items": { "$ref": "#/components/schemas/link" } }
            }
        },
        "tileJSON": {
            "type": "object", "required": ["tilejson", "tiles"],
            "properties": {
                "tilejson": { "type": "string", "enum": ["3.0.0"] },
                "tiles": { "type": "array", "items": { "type": "string" } },
                "name": { "type": "string" }, "description": { "type": "string" },
                "minzoom": { "type": "integer" }, "maxzoom": { "type": "integer" },
                "bounds": { "type": "array", "minItems": 4, "maxItems": 4, "items": { "type": "number" } },
                "vector_layers": { "type": "array", "items": { "type": "object", "required": ["id", "fields"], "properties": {
                    "id": { "type": "string" }, "description": { "type": "string" }, "fields": { "type": "object" } } } }
            }
        }
    })
}

fn feature_schemas() -> Value {
    json!({
        "link": {
            "type": "object", "required": ["href"],
            "properties": {
                "href": { "type": "string" }, "rel": { "type": "string" },
                "type": { "type": "string" }, "title": { "type": "string" }
            }
        },
        "landingPage": {
            "type": "object", "required": ["links"],
            "properties": {
                "title": { "type": "string" }, "description": { "type": "string" },
                "links": { "type": "array", "items": { "$ref": "#/components/schemas/link" } }
            }
        },
        "confClasses": {
            "type": "object", "required": ["conformsTo"],
            "properties": { "conformsTo": { "type": "array", "items": { "type": "string" } } }
        },
        "extent": {
            "type": "object",
            "properties": {
                "spatial": { "type": "object", "properties": {
                    "bbox": { "type": "array", "items": { "type": "array", "minItems": 4, "maxItems": 6, "items": { "type": "number" } } },
                    "crs": { "type": "string" } } },
                "temporal": { "type": "object", "properties": {
                    "interval": { "type": "array", "items": { "type": "array", "minItems": 2, "maxItems": 2, "items": { "type": "string", "format": "date-time", "nullable": true } } },
                    "trs": { "type": "string" } } }
            }
        },
        "collection": {
            "type": "object", "required": ["id", "links"],
            "properties": {
                "id": { "type": "string" }, "title": { "type": "string" }, "description": { "type": "string" },
                "links": { "type": "array", "items": { "$ref": "#/components/schemas/link" } },
                "extent": { "$ref": "#/components/schemas/extent" },
                "itemType": { "type": "string" },
                "crs": { "type": "array", "items": { "type": "string" } },
                "storageCrs": { "type": "string" },
                "layer": { "type": "object", "description": "Control layers: the kind, its current versions and every version." }
            }
        },
        "collections": {
            "type": "object", "required": ["links", "collections"],
            "properties": {
                "links": { "type": "array", "items": { "$ref": "#/components/schemas/link" } },
                "collections": { "type": "array", "items": { "$ref": "#/components/schemas/collection" } },
                "crs": { "type": "array", "items": { "type": "string" } }
            }
        },
        "geometryGeoJSON": {
            "type": "object", "required": ["type"],
            "properties": {
                "type": { "type": "string", "enum": ["Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon", "GeometryCollection"] },
                "coordinates": { "type": "array" },
                "geometries": { "type": "array", "items": { "$ref": "#/components/schemas/geometryGeoJSON" } }
            }
        },
        "featureGeoJSON": {
            "type": "object", "required": ["type", "geometry", "properties"],
            "properties": {
                "type": { "type": "string", "enum": ["Feature"] },
                "id": { "oneOf": [{ "type": "string" }, { "type": "integer" }] },
                "geometry": { "allOf": [{ "$ref": "#/components/schemas/geometryGeoJSON" }], "nullable": true },
                "properties": { "type": "object", "nullable": true },
                "links": { "type": "array", "items": { "$ref": "#/components/schemas/link" } }
            }
        },
        "featureCollectionGeoJSON": {
            "type": "object", "required": ["type", "features"],
            "properties": {
                "type": { "type": "string", "enum": ["FeatureCollection"] },
                "features": { "type": "array", "items": { "$ref": "#/components/schemas/featureGeoJSON" } },
                "links": { "type": "array", "items": { "$ref": "#/components/schemas/link" } },
                "timeStamp": { "type": "string", "format": "date-time" },
                "numberMatched": { "type": "integer", "minimum": 0 },
                "numberReturned": { "type": "integer", "minimum": 0 }
            }
        },
        "problem": {
            "type": "object", "description": "RFC 9457 problem details.",
            "properties": {
                "type": { "type": "string" }, "title": { "type": "string" },
                "status": { "type": "integer" }, "detail": { "type": "string" },
                "parameter": { "type": "string" }, "trace_id": { "type": "string" }
            }
        }
    })
}

/// The OpenAPI 3.0 document: [`ROUTES`], and each collection's items path with its property
/// filters.
pub fn document(base: &ExternalBase, collections: &[(Collection, Vec<Property>)], limits: Limits) -> Value {
    let mut paths = Map::new();
    for route in &ROUTES {
        let tag = if route.path.starts_with("/collections") {
            "Data"
        } else {
            "Capabilities"
        };
        let parameters: Vec<Value> = route.parameters.iter().map(|p| parameter_ref(p)).collect();
        paths.insert(
            route.path.to_owned(),
            json!({ "get": operation(route, &parameters, tag) }),
        );
    }
    let items_route = ROUTES.iter().find(|r| r.answer == Answer::Features).copied();
    if let Some(route) = items_route {
        for (collection, properties) in collections {
            let mut parameters: Vec<Value> = route
                .parameters
                .iter()
                .filter(|p| **p != "collectionId")
                .filter(|p| **p != "datetime" || collection.temporal_property().is_some())
                .map(|p| parameter_ref(p))
                .collect();
            parameters.extend(properties.iter().filter(|p| p.queryable).map(property_parameter));
            if collection.is_dated() {
                parameters.push(json!({
                    "name": "as_of",
                    "in": "query",
                    "required": false,
                    "description": "The date of the figures (YYYY-MM-DD); today, the bureau's date, when absent.",
                    "schema": { "type": "string", "format": "date" },
                    "style": "form",
                    "explode": false,
                }));
            }
            let specific = Route {
                path: route.path,
                operation_id: "getFeatures",
                summary: "A page of features",
                description: route.description,
                parameters: &[],
                answer: Answer::Features,
                authenticated: true,
            };
            let mut op = operation(&specific, &parameters, "Data");
            op["operationId"] = json!(format!("getFeatures_{}", collection.id));
            op["summary"] = json!(format!("Features of {}", collection.title));
            paths.insert(
                format!("/collections/{}/items", collection.id),
                json!({ "get": op }),
            );
        }
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "用地报批 OGC API – Features",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Control layers, case parcels, check overlaps, approved-but-unsupplied land and idle land of the land-use approval service. Coordinates are stored in CGCS2000 (EPSG:4490) and served in CRS84 unless crs asks for another.",
        },
        "servers": [{ "url": base.ogc("") }],
        "security": [{ "bearer": [] }, { "basic": [] }],
        "tags": [
            { "name": "Capabilities", "description": "What the service offers." },
            { "name": "Data", "description": "Collections and their features." }
        ],
        "paths": paths,
        "components": components(limits),
    })
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The HTML documentation (`service-doc`).
pub fn html(base: &ExternalBase) -> String {
    let root = escape(&base.ogc(""));
    let mut rows = String::new();
    for route in &ROUTES {
        let _ = writeln!(
            rows,
            "<tr><td><code>GET {}{}</code></td><td>{}</td><td>{}{}</td></tr>",
            root,
            escape(route.path),
            if route.authenticated { "token" } else { "open" },
            escape(route.summary),
            if route.description.is_empty() {
                String::new()
            } else {
                format!("<br><small>{}</small>", escape(route.description))
            },
        );
    }
    let crs: Vec<String> = OgcCrs::offered()
        .iter()
        .map(|c| format!("<li><code>{}</code></li>", escape(&c.uri())))
        .collect();
    format!(
        r#"<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>用地报批 OGC API – Features</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.5}}td{{vertical-align:top;padding:.3em .6em;border-bottom:1px solid #ddd}}code{{font-size:.95em}}</style>
</head><body>
<h1>用地报批 OGC API – Features</h1>
<p>Control layers, case parcels, check overlaps, approved-but-unsupplied land and idle land, for QGIS, ArcGIS Pro and GDAL without a plug-in.
Add <code>{root}</code> as an <em>OGC API – Features</em> (WFS 3) connection and sign in with an API token:
as a bearer token, or as the <em>password</em> of HTTP Basic (any user name). The machine-readable
definition is <a href="{root}/api">{root}/api</a> (OpenAPI 3.0).</p>
<h2>Endpoints</h2>
<table>{rows}</table>
<h2>Coordinate reference systems</h2>
<p>Stored in CGCS2000 (EPSG:4490). Ask for another with <code>crs</code> (and give a box in another with
<code>bbox-crs</code>); coordinates follow each CRS's axis order (EPSG:4490 latitude first, the Gauss–Krüger
zones northing first). The response names its CRS in the <code>Content-Crs</code> header.</p>
<ul>{crs}</ul>
<h2>Paging</h2>
<p>Follow the <code>next</code> link. <code>numberMatched</code> is exact and given on the first page.</p>
</body></html>
"#,
        crs = crs.join("")
    )
}
