//! The service's OpenAPI 3.1 document, built from the handlers' own `#[utoipa::path]`
//! annotations as the router is assembled (`utoipa_axum`), so a route cannot exist without its
//! description, and the offline documentation page at `/docs` (Swagger UI, whose assets are
//! compiled into the binary from the `utoipa-swagger-ui-vendored` crate: no CDN).
//!
//! The errors every operation can give are added here once, from what the operation declares:
//! a protected operation can answer 401 and 403, one with a path parameter 404, one with a body
//! 400/413/415/422, one under `If-Match` 412 and 428, every one 500 and 503; all of them as
//! RFC 9457 problem documents. Every free text says it holds no NUL character, which the
//! service refuses in any body because PostgreSQL can store none.

use utoipa::{
    openapi::{
        path::{Operation, Parameter, ParameterBuilder, ParameterIn},
        response::ResponseBuilder,
        schema::{AdditionalProperties, ArrayItems, ObjectBuilder, Schema, SchemaType, Type},
        security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
        ContentBuilder, OpenApi as Document, Ref, RefOr, Required, Response,
    },
    Modify, OpenApi,
};

use crate::problem::{Problem, PROBLEM_JSON};

/// Where the document is served.
pub const OPENAPI_PATH: &str = "/openapi.json";
/// Where the documentation page is served.
pub const DOCS_PATH: &str = "/docs";

/// The fixed part of the document; paths come from the routers.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "landuse: land-use approval service",
        description = "Key projects, land cases and their parcels, footprint checks against the \
            control layers, the approval stages under working-day limits, the clearing ledger, \
            construction quotas and farmland offsets, alerts and the weekly dispatch report.\n\n\
            Authenticate with `Authorization: Bearer <token>`, or HTTP Basic with the token as the \
            password (any user name). Errors are RFC 9457 problem documents. Reads of a case, \
            project, quota account or indicator return an `ETag`; changes to them need \
            `If-Match`. Every `POST` accepts an `Idempotency-Key`: a retry with the same key and \
            body returns the first answer and does not act again.\n\n\
            Every successful write answers with `X-Landuse-LSN`, the database's write position \
            after its commit. Reads may be served by a streaming replica a moment behind; a read \
            that sends that header back is served only by a node that has the write \
            (docs/scaling.md).\n\n\
            The control layers, parcels and check results are also served as OGC API – Features \
            under `/ogc` (its own OpenAPI document is at `/ogc/api`).",
        license(name = "MIT OR Apache-2.0"),
    ),
    components(schemas(Problem)),
    security(("bearer" = []), ("basic" = [])),
    tags(
        (name = "service", description = "Liveness and readiness."),
        (name = "projects", description = "Counties and key projects."),
        (name = "cases", description = "Land cases, their stages, documents and history."),
        (name = "parcels", description = "Parcel footprints: GeoJSON or the boundary-point coordinate file."),
        (name = "checks", description = "Footprint checks against the control layers."),
        (name = "ledger", description = "Open items and their three-week clearing."),
        (name = "quotas", description = "Construction-land quota accounts, requests and allocations."),
        (name = "offsets", description = "Farmland offset (占补平衡) indicators, locks and use."),
        (name = "supply", description = "Land supply after approval: supplied parts, handover, certificate, start and completion."),
        (name = "reports", description = "Start rates, land supply, idle land, standard land, 交地即交证 and the weekly dispatch report."),
        (name = "alerts", description = "Deadline alerts as a feed and a Server-Sent Events stream."),
        (name = "calendar", description = "The working-day calendar: each year's State Council notice, loaded by the admin."),
    )
)]
pub struct ApiDoc;

/// Finishes a document assembled from the routers: security schemes and the shared errors.
pub fn finish(mut doc: Document) -> Document {
    Security.modify(&mut doc);
    SharedErrors.modify(&mut doc);
    NulFree.modify(&mut doc);
    doc
}

struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A token from `landuse token issue`."))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "basic",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some(
                        "The token as the password, any user name (for GIS desktop clients).",
                    ))
                    .build(),
            ),
        );
    }
}

struct SharedErrors;

impl Modify for SharedErrors {
    fn modify(&self, doc: &mut Document) {
        for (path, item) in &mut doc.paths.paths {
            let has_path_params = path.contains('{');
            if let Some(operation) = item.get.as_mut() {
                add_shared_errors(operation, has_path_params, false);
            }
            for operation in [item.put.as_mut(), item.post.as_mut(), item.patch.as_mut()]
                .into_iter()
                .flatten()
            {
                add_idempotency_key(operation);
                add_shared_errors(operation, has_path_params, true);
            }
            for operation in [
                item.put.as_mut(),
                item.post.as_mut(),
                item.patch.as_mut(),
                item.delete.as_mut(),
            ]
            .into_iter()
            .flatten()
            {
                add_write_position(operation);
            }
        }
    }
}

/// Every successful write answers with `X-Landuse-LSN` (`crate::reads`, set by a layer of
/// `crate::app::app`).
fn add_write_position(operation: &mut Operation) {
    for (status, response) in &mut operation.responses.responses {
        if let (true, RefOr::T(response)) = (status.starts_with('2'), response) {
            response.headers.insert(
                "X-Landuse-LSN".to_owned(),
                utoipa::openapi::HeaderBuilder::new()
                    .schema(Some(
                        ObjectBuilder::new()
                            .schema_type(Type::String)
                            .pattern(Some("^[0-9A-F]{1,8}/[0-9A-F]{1,8}$")),
                    ))
                    .description(Some(
                        "The database's WAL position after the write committed; send it back on a read \
                         to be served only by a node that has replayed it.",
                    ))
                    .build()
                    .into(),
            );
        }
    }
}

/// Every write of the API takes an `Idempotency-Key` (the `IdempotencyKey` extractor).
fn add_idempotency_key(operation: &mut Operation) {
    let parameter = ParameterBuilder::new()
        .name("Idempotency-Key")
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(
            "A client-chosen key (1–255 visible ASCII characters). A retry with the same key and body \
             returns the first answer without acting again; the same key with another request is 422.",
        ))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some("^[!-~]{1,255}$")),
        ))
        .build();
    operation
        .parameters
        .get_or_insert_with(Vec::new)
        .push(RefOr::T(parameter));
}

fn add_shared_errors(operation: &mut Operation, has_path_params: bool, write: bool) {
    // An operation that says `security(())` is public; the others inherit the document's.
    let public = operation
        .security
        .as_ref()
        .is_some_and(|requirements| requirements.iter().all(is_empty_requirement));
    let params: Vec<&Parameter> = operation
        .parameters
        .iter()
        .flatten()
        .filter_map(|p| match p {
            RefOr::T(p) => Some(p),
            RefOr::Ref(_) => None,
        })
        .collect();
    let has_query = params.iter().any(|p| p.parameter_in == ParameterIn::Query);
    let conditional = params
        .iter()
        .any(|p| p.parameter_in == ParameterIn::Header && p.name.eq_ignore_ascii_case("if-match"));
    let has_body = operation.request_body.is_some();
    // A county filter names a county too: one the caller does not serve is 404, as in a path.
    let has_county_query = params
        .iter()
        .any(|p| p.parameter_in == ParameterIn::Query && p.name == "county");

    let mut shared: Vec<(&str, &str)> = Vec::new();
    if !public {
        shared.push(("401", "No valid token."));
        shared.push(("403", "The caller's role may not do this."));
    }
    if has_path_params || has_body || has_county_query {
        shared.push((
            "404",
            "No such resource (in the path, or one the body names), or it belongs to a county the \
             caller does not serve.",
        ));
    }
    if has_body || has_query || has_path_params {
        shared.push((
            "400",
            "Malformed request (JSON syntax, query string, path parameter).",
        ));
        shared.push((
            "422",
            "A value is invalid (the `field` member names it) or a rule refuses the action \
             (the `rule` member names it).",
        ));
    }
    if has_body {
        shared.push(("413", "The body or its parcels are too large."));
        shared.push(("415", "The body's media type is not accepted here."));
    }
    if conditional {
        shared.push((
            "412",
            "`If-Match` does not match the current version: nothing changed.",
        ));
        shared.push(("428", "`If-Match` is required."));
    }
    if !public && write {
        shared.push((
            "409",
            "A rule of the case's state refuses the change (the `rule` member names it).",
        ));
    }
    shared.push((
        "500",
        "An unexpected failure; the `trace_id` member identifies it in the logs.",
    ));
    shared.push((
        "503",
        "The database is unreachable; retry after `Retry-After` seconds.",
    ));
    shared.push(("504", "The request took longer than the configured timeout."));

    for (status, description) in shared {
        if !operation.responses.responses.contains_key(status) {
            operation
                .responses
                .responses
                .insert(status.to_owned(), problem_response(description));
        }
    }
}

fn is_empty_requirement(requirement: &utoipa::openapi::security::SecurityRequirement) -> bool {
    serde_json::to_value(requirement).is_ok_and(|v| v.as_object().is_some_and(serde_json::Map::is_empty))
}

fn problem_response(description: &str) -> RefOr<Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                PROBLEM_JSON,
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build(),
    )
}

/// A text without the NUL character, which `parse_json` refuses in any body: PostgreSQL can
/// store none.
const NUL_FREE: &str = "^[^\\u0000]*$";
/// A text with at least one visible character and no NUL: what `pattern = r"\S"` fields mean.
const NUL_FREE_NOT_BLANK: &str = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$";

/// Gives every free-text string of the document (components, request bodies, parameters) a
/// pattern that excludes NUL, so the document states what the service accepts. Strings with a
/// format, an enumeration or an anchored pattern of their own already exclude it.
struct NulFree;

impl Modify for NulFree {
    fn modify(&self, doc: &mut Document) {
        if let Some(components) = doc.components.as_mut() {
            components.schemas.values_mut().for_each(nul_free);
        }
        for item in doc.paths.paths.values_mut() {
            let operations = [
                item.get.as_mut(),
                item.put.as_mut(),
                item.post.as_mut(),
                item.patch.as_mut(),
                item.delete.as_mut(),
            ];
            for operation in operations.into_iter().flatten() {
                for parameter in operation.parameters.iter_mut().flatten() {
                    if let RefOr::T(Parameter {
                        schema: Some(schema), ..
                    }) = parameter
                    {
                        nul_free(schema);
                    }
                }
                if let Some(RefOr::T(body)) = operation.request_body.as_mut() {
                    for content in body.content.values_mut() {
                        if let RefOr::T(content) = content {
                            content.schema.iter_mut().for_each(nul_free);
                        }
                    }
                }
            }
        }
    }
}

fn nul_free(schema: &mut RefOr<Schema>) {
    let RefOr::T(schema) = schema else { return };
    match schema {
        Schema::Object(object) => {
            let text = match &object.schema_type {
                SchemaType::Type(kind) => *kind == Type::String,
                SchemaType::Array(kinds) => kinds.contains(&Type::String),
                SchemaType::AnyValue => false,
            };
            if text && object.format.is_none() && object.enum_values.is_none() {
                object.pattern = match object.pattern.take() {
                    None => Some(NUL_FREE.to_owned()),
                    Some(pattern) if pattern == r"\S" => Some(NUL_FREE_NOT_BLANK.to_owned()),
                    Some(pattern) => Some(pattern),
                };
            }
            object.properties.values_mut().for_each(nul_free);
            if let Some(AdditionalProperties::RefOr(extra)) = object.additional_properties.as_deref_mut() {
                nul_free(extra);
            }
        }
        Schema::Array(array) => {
            if let ArrayItems::RefOrSchema(items) = &mut array.items {
                nul_free(items);
            }
        }
        Schema::OneOf(one) => one.items.iter_mut().for_each(nul_free),
        Schema::AllOf(all) => all.items.iter_mut().for_each(nul_free),
        Schema::AnyOf(any) => any.items.iter_mut().for_each(nul_free),
        _ => {}
    }
}
