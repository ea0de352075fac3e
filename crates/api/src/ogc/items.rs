//! Features: one page of a collection, written to the client as PostgreSQL returns it.
//!
//! A page is one statement per collection kind ([`crate::store::ogc`]): keyset paging after the
//! `cursor` feature, so the hundredth page costs what the first does, and every feature's
//! geometry rendered in the CRS asked for. Rows are turned into bytes one by one and handed to
//! the response body as they arrive, in chunks of [`CHUNK`] bytes: a 10,000-feature page is
//! never held whole in memory.

use std::{collections::HashMap, fmt::Write as _};

use axum::{
    body::{Body, Bytes},
    BoxError,
};
use chrono::{DateTime, NaiveDate, Utc};
use landuse_domain::calendar::bureau_date;
use serde_json::{Map, Value};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{
    catalog::{self, Collection, Property, PropertyType, Source},
    crs::OgcCrs,
    error::OgcError,
    figures::{self, FigureFilter},
    links::{query_string, ExternalBase, Link},
    params::{unknown, FeatureKey, ItemsFormat, ItemsQuery, ITEMS_PARAMETERS},
    GEOJSON, JSON,
};
use crate::{
    auth::Caller,
    db::Scope,
    http::error::ApiError,
    reads::{ReadHint, ReadNodes},
    store::{
        ogc::{self as store, BboxFilter, FigureFeatures, PageRow, PageSpec, PropertyFilter, Selection},
        DbError,
    },
    workflow::cases::approvals,
};
use futures_util::StreamExt as _;

/// Bytes gathered before a chunk goes to the client.
pub const CHUNK: usize = 32 * 1024;

/// Rows read ahead of the client while a page is written.
const ROW_QUEUE: usize = 64;

/// The page statement of a collection kind, for plan checks.
pub fn page_statement(collection: &Collection) -> &'static str {
    store::page_statement(&Filters::everything(collection, None).selection.properties)
}

fn typed<T: std::str::FromStr>(name: &str, value: &str, what: &str) -> Result<T, OgcError> {
    value
        .parse()
        .map_err(|_| OgcError::parameter(name, format!("{value:?} is not {what}")))
}

fn uuid_of(name: &str, value: &str) -> Result<Uuid, OgcError> {
    Uuid::parse_str(value).map_err(|_| OgcError::parameter(name, format!("{value:?} is not a UUID")))
}

fn bool_of(name: &str, value: &str) -> Result<bool, OgcError> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(OgcError::parameter(
            name,
            format!("{value:?} is not true or false"),
        )),
    }
}

/// What narrows a request: the caller's counties, the standard filters, property filters and
/// (for a single feature) its id.
#[derive(Debug, Clone, PartialEq)]
pub struct Filters {
    selection: Selection,
}

impl Filters {
    /// Checks the request's property filters against the collection (an unknown name or a
    /// value of the wrong type is a 400) and gathers every filter.
    /// The land-supply collections are computed here, at `as_of` or `today`, with their own
    /// property filters applied.
    pub async fn build(
        conn: &mut PgConnection,
        collection: &Collection,
        caller: &Caller,
        query: &ItemsQuery,
        today: NaiveDate,
    ) -> Result<Self, OgcError> {
        let properties = match collection.source {
            Source::Layer { .. } | Source::Version(_) => {
                layer_filters(conn, collection, &query.properties).await?
            }
            Source::Parcels => parcel_filters(&query.properties)?,
            Source::Overlaps => overlap_filters(&query.properties)?,
            Source::ApprovedUnsupplied | Source::IdleLand => {
                let (as_of, filter) = figure_filters(collection, &query.properties, today)?;
                figure_features(conn, collection, caller, as_of, &filter).await?
            }
        };
        Ok(Self {
            selection: Selection {
                counties: caller.county_filter(),
                bbox: query.bbox.map(|b| BboxFilter {
                    corners: b.corners(),
                    srid: b.srid,
                    segment: b.segment(),
                }),
                from: query.datetime.and_then(|t| t.from),
                to: query.datetime.and_then(|t| t.to),
                feature: None,
                properties,
            },
        })
    }

    /// Only the feature with `key`, as the caller may see it (a land-supply feature as of
    /// `today`).
    pub async fn single(
        conn: &mut PgConnection,
        collection: &Collection,
        caller: &Caller,
        key: FeatureKey,
        today: NaiveDate,
    ) -> Result<Self, OgcError> {
        let mut filters = Self::everything(collection, caller.county_filter());
        if collection.is_dated() {
            let filter = FigureFilter::default();
            filters.selection.properties = figure_features(conn, collection, caller, today, &filter).await?;
        }
        filters.selection.feature = Some(key);
        Ok(filters)
    }

    /// The whole collection within `counties`.
    fn everything(collection: &Collection, counties: Option<Vec<String>>) -> Self {
        let properties = match collection.source {
            Source::Layer { .. } | Source::Version(_) => PropertyFilter::Layer {
                versions: collection.version_ids(),
                source_id: None,
                version: None,
                attributes: None,
            },
            Source::Parcels => PropertyFilter::Parcel {
                case_id: None,
                county: None,
                stage: None,
                source: None,
                seq: None,
                name: None,
                zone: None,
            },
            Source::Overlaps => PropertyFilter::Overlap {
                check_id: None,
                case_id: None,
                county: None,
                layer_kind: None,
                layer_version: None,
                dismissed: None,
                result: None,
            },
            Source::ApprovedUnsupplied | Source::IdleLand => {
                PropertyFilter::Figures(FigureFeatures::default())
            }
        };
        Self {
            selection: Selection {
                counties,
                bbox: None,
                from: None,
                to: None,
                feature: None,
                properties,
            },
        }
    }

    /// The case the parcels are filtered to, when they are (its coordinate file is linked).
    fn case_id(&self) -> Option<Uuid> {
        match &self.selection.properties {
            PropertyFilter::Parcel { case_id, .. } => *case_id,
            _ => None,
        }
    }

    /// Whether only the caller's county scoping applies (so a stored count is exact).
    fn is_unfiltered(&self) -> bool {
        let s = &self.selection;
        s.bbox.is_none()
            && s.from.is_none()
            && s.to.is_none()
            && s.feature.is_none()
            && match &s.properties {
                PropertyFilter::Layer {
                    source_id,
                    version,
                    attributes,
                    ..
                } => source_id.is_none() && version.is_none() && attributes.is_none(),
                _ => false,
            }
    }

    /// The exact number of features the filters select.
    pub async fn count(&self, conn: &mut PgConnection, collection: &Collection) -> Result<i64, OgcError> {
        if self.is_unfiltered() {
            if let Some(stored) = collection.stored_count() {
                return Ok(stored);
            }
        }
        Ok(store::count_features(conn, &self.selection).await?)
    }
}

/// The page of `query` in `crs`, after `cursor`.
fn page_spec(cursor: Option<FeatureKey>, limit: i64, crs: OgcCrs) -> PageSpec {
    PageSpec {
        after: cursor,
        limit,
        northing_first: crs.northing_first(),
        srid: crs.postgis_srid(),
        decimals: crs.decimals(),
    }
}

async fn layer_filters(
    conn: &mut PgConnection,
    collection: &Collection,
    pairs: &[(String, String)],
) -> Result<PropertyFilter, OgcError> {
    let mut source_id = None;
    let mut version = None;
    let mut attributes = Map::new();
    for (name, value) in pairs {
        match name.as_str() {
            "source_id" => source_id = Some(value.clone()),
            "layer_version" => version = Some(uuid_of(name, value)?),
            _ => {
                if !catalog::layer_has_attribute(conn, &collection.version_ids(), name).await? {
                    return Err(unknown_for(collection, name, &catalog::layer_fixed_properties()));
                }
                attributes.insert(name.clone(), Value::String(value.clone()));
            }
        }
    }
    Ok(PropertyFilter::Layer {
        versions: collection.version_ids(),
        source_id,
        version,
        attributes: (!attributes.is_empty()).then_some(Value::Object(attributes)),
    })
}

fn unknown_for(collection: &Collection, name: &str, properties: &[Property]) -> OgcError {
    let mut known: Vec<&str> = ITEMS_PARAMETERS.to_vec();
    known.extend(properties.iter().filter(|p| p.queryable).map(|p| p.name.as_str()));
    if matches!(collection.source, Source::Layer { .. } | Source::Version(_)) {
        known.push("(any attribute of the layer's features)");
    }
    unknown(name, &known)
}

fn parcel_filters(pairs: &[(String, String)]) -> Result<PropertyFilter, OgcError> {
    let (mut case_id, mut county, mut stage, mut source, mut seq, mut name_filter, mut zone) =
        (None, None, None, None, None, None, None);
    for (name, value) in pairs {
        match name.as_str() {
            "case_id" => case_id = Some(uuid_of(name, value)?),
            "county_code" => county = Some(value.clone()),
            "stage" => stage = Some(value.clone()),
            "source" => source = Some(value.clone()),
            "seq" => seq = Some(typed(name, value, "a whole number")?),
            "name" => name_filter = Some(value.clone()),
            "zone" => zone = Some(typed(name, value, "a zone number")?),
            _ => {
                return Err(unknown(
                    name,
                    &queryable_names(&ITEMS_PARAMETERS, &catalog::parcel_properties()),
                ))
            }
        }
    }
    Ok(PropertyFilter::Parcel {
        case_id,
        county,
        stage,
        source,
        seq,
        name: name_filter,
        zone,
    })
}

fn overlap_filters(pairs: &[(String, String)]) -> Result<PropertyFilter, OgcError> {
    let (mut check_id, mut case_id, mut county, mut layer_kind, mut layer_version, mut dismissed, mut result) =
        (None, None, None, None, None, None, None);
    for (name, value) in pairs {
        match name.as_str() {
            "check_id" => check_id = Some(uuid_of(name, value)?),
            "case_id" => case_id = Some(uuid_of(name, value)?),
            "county_code" => county = Some(value.clone()),
            "layer_kind" => layer_kind = Some(value.clone()),
            "layer_version_id" => layer_version = Some(uuid_of(name, value)?),
            "dismissed" => dismissed = Some(bool_of(name, value)?),
            "check_result" => result = Some(value.clone()),
            _ => {
                return Err(unknown(
                    name,
                    &queryable_names(&ITEMS_PARAMETERS, &catalog::overlap_properties()),
                ))
            }
        }
    }
    Ok(PropertyFilter::Overlap {
        check_id,
        case_id,
        county,
        layer_kind,
        layer_version,
        dismissed,
        result,
    })
}

/// Reads the filters of a land-supply collection: `as_of` and its queryable properties.
fn figure_filters(
    collection: &Collection,
    pairs: &[(String, String)],
    today: NaiveDate,
) -> Result<(NaiveDate, FigureFilter), OgcError> {
    let idle = matches!(collection.source, Source::IdleLand);
    let mut as_of = today;
    let mut filter = FigureFilter::default();
    for (name, value) in pairs {
        match name.as_str() {
            "as_of" => as_of = figures::as_of(value)?,
            "case_id" => filter.case_id = Some(uuid_of(name, value)?),
            "county_code" => filter.county = Some(value.clone()),
            "age" if !idle => filter.age = Some(figures::age_code(value)?),
            "supply_id" if idle => filter.supply_id = Some(uuid_of(name, value)?),
            "status" if idle => filter.status = Some(figures::status_code(value)?),
            "government_caused" if idle => filter.government_caused = Some(bool_of(name, value)?),
            _ => {
                let properties = if idle {
                    catalog::idle_properties()
                } else {
                    catalog::unsupplied_properties()
                };
                let mut known = queryable_names(&ITEMS_PARAMETERS, &properties);
                known.push("as_of");
                return Err(unknown(name, &known));
            }
        }
    }
    Ok((as_of, filter))
}

/// The features of a land-supply collection at `as_of`, computed in the caller's scope.
async fn figure_features(
    conn: &mut PgConnection,
    collection: &Collection,
    caller: &Caller,
    as_of: NaiveDate,
    filter: &FigureFilter,
) -> Result<PropertyFilter, OgcError> {
    let counties = caller.county_filter();
    let (features, _) = if matches!(collection.source, Source::IdleLand) {
        figures::idle_land(conn, counties.as_deref(), as_of, filter).await?
    } else {
        figures::approved_unsupplied(conn, counties.as_deref(), as_of, filter).await?
    };
    Ok(PropertyFilter::Figures(features))
}

fn queryable_names<'a>(standard: &[&'a str], properties: &'a [Property]) -> Vec<&'a str> {
    let mut out = standard.to_vec();
    out.extend(
        properties
            .iter()
            .filter(|p| p.queryable && p.kind != PropertyType::Object)
            .map(|p| p.name.as_str()),
    );
    out
}

/// What one page response needs besides its rows.
#[derive(Debug, Clone)]
pub struct PageContext {
    /// The collection.
    pub collection: Collection,
    /// The parsed request.
    pub query: ItemsQuery,
    /// Every pair of the request, for the `self` link.
    pub request_pairs: Vec<(String, String)>,
    /// The external address.
    pub base: ExternalBase,
    /// `numberMatched`, when it is known exactly.
    pub matched: Option<i64>,
    /// When the response was made.
    pub now: DateTime<Utc>,
}

impl PageContext {
    fn items_url(&self, pairs: &[(String, String)]) -> String {
        format!(
            "{}{}",
            self.base
                .ogc(&format!("/collections/{}/items", self.collection.id)),
            query_string(pairs)
        )
    }

    /// The links of the page: `self`, the other encoding as `alternate`, the coordinate file
    /// of one case's parcels as a further `alternate`, the collection, and `next` when another
    /// page follows (continuing after `last`).
    fn links(&self, filters: &Filters, next_after: Option<FeatureKey>) -> Vec<Link> {
        let format = self.query.format;
        let mut links = vec![Link::new(
            self.items_url(&self.request_pairs),
            "self",
            format.media_type(),
            "This page",
        )];
        let (other, other_type) = match format {
            ItemsFormat::GeoJson => ("json", JSON),
            ItemsFormat::Json => ("geojson", GEOJSON),
        };
        let mut alternate: Vec<(String, String)> = self
            .request_pairs
            .iter()
            .filter(|(n, _)| n != "f")
            .cloned()
            .collect();
        alternate.push(("f".to_owned(), other.to_owned()));
        links.push(Link::new(
            self.items_url(&alternate),
            "alternate",
            other_type,
            "This page in the other JSON media type",
        ));
        if let Some(case_id) = filters.case_id() {
            links.push(Link::new(
                self.base
                    .service(&format!("/api/v1/cases/{case_id}/parcels?format=txt")),
                "alternate",
                "text/plain",
                "This case's parcels as a boundary-point coordinate file (界址点坐标交换格式, GBK)",
            ));
        }
        links.push(Link::new(
            self.base.ogc(&format!("/collections/{}", self.collection.id)),
            "collection",
            JSON,
            "The collection",
        ));
        if let Some(after) = next_after {
            let mut next = self.query.carried.clone();
            next.push(("limit".to_owned(), self.query.limit.to_string()));
            next.push(("cursor".to_owned(), after.token()));
            links.push(Link::new(
                self.items_url(&next),
                "next",
                format.media_type(),
                "The next page",
            ));
        }
        links
    }

    fn header(&self) -> String {
        let mut header = format!(
            "{{\"type\":\"FeatureCollection\",\"timeStamp\":\"{}\",",
            self.now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        );
        if let Some(matched) = self.matched {
            let _ = write!(header, "\"numberMatched\":{matched},");
        }
        header.push_str("\"features\":[");
        header
    }
}

/// Writes the rows of a page statement as one GeoJSON `FeatureCollection`.
struct PageWriter {
    context: PageContext,
    filters: Filters,
    header: Option<String>,
    buffer: String,
    written: i64,
    last: Option<FeatureKey>,
}

/// One feature as GeoJSON text, from the statement's pre-rendered geometry and properties.
fn feature_json(
    out: &mut String,
    key: FeatureKey,
    geometry: Option<&str>,
    properties: Option<&str>,
    extra: &str,
) {
    out.push_str("{\"type\":\"Feature\",\"id\":");
    match key {
        FeatureKey::Int(id) => {
            let _ = write!(out, "{id}");
        }
        FeatureKey::Uuid(id) => {
            let _ = write!(out, "\"{id}\"");
        }
    }
    out.push_str(",\"geometry\":");
    out.push_str(geometry.unwrap_or("null"));
    out.push_str(",\"properties\":");
    out.push_str(properties.unwrap_or("{}"));
    out.push_str(extra);
    out.push('}');
}

impl PageWriter {
    fn footer(&mut self, next_after: Option<FeatureKey>) {
        let links = self.context.links(&self.filters, next_after);
        let links = serde_json::to_string(&links).unwrap_or_else(|_| "[]".to_owned());
        let _ = write!(
            self.buffer,
            "],\"numberReturned\":{},\"links\":{links}}}",
            self.written
        );
    }

    /// Appends one row; returns what is ready to send (empty until a chunk fills or the
    /// document ends).
    fn write(&mut self, row: Result<PageRow, BoxError>) -> Result<Bytes, BoxError> {
        let row = row.map_err(|e| {
            tracing::error!(error = %e, "a feature page broke off");
            e
        })?;
        if let Some(header) = self.header.take() {
            self.buffer.push_str(&header);
        }
        let mut done = false;
        if row.rn == 0 {
            // The page is empty.
            self.footer(None);
            done = true;
        } else if row.rn <= self.context.query.limit {
            let key = row.key().ok_or("a page row without an id")?;
            if self.written > 0 {
                self.buffer.push(',');
            }
            feature_json(
                &mut self.buffer,
                key,
                row.geometry.as_deref(),
                row.properties.as_deref(),
                "",
            );
            self.written += 1;
            self.last = Some(key);
            if row.is_last {
                self.footer(None);
                done = true;
            }
        } else {
            // The extra row: another page follows, after the last feature written.
            self.footer(self.last);
            done = true;
        }
        if done || self.buffer.len() >= CHUNK {
            Ok(Bytes::from(std::mem::take(&mut self.buffer)))
        } else {
            Ok(Bytes::new())
        }
    }
}

/// The `approvals_awaited` property of each case of a parcel page, keyed by case: the kinds of
/// record its confirmed check still calls for (the case view's `missing`), and `overlay_query`
/// while it waits for a valid overlay answer on `today`, comma-separated codes. `None` for other
/// collections.
async fn awaited_of_page(
    conn: &mut PgConnection,
    selection: &Selection,
    spec: &PageSpec,
    today: NaiveDate,
) -> Result<Option<HashMap<Uuid, String>>, ApiError> {
    if !matches!(selection.properties, PropertyFilter::Parcel { .. }) {
        return Ok(None);
    }
    let cases = store::parcel_page_cases(conn, selection, spec).await?;
    let awaited = approvals::awaited_for(conn, &cases, today).await?;
    Ok(Some(
        awaited
            .into_iter()
            .map(|(case, codes)| (case, codes.join(",")))
            .collect(),
    ))
}

/// A parcel row with its case's `approvals_awaited` added as the last property (an empty text
/// when the case waits for nothing); other rows as they are. The statement's properties are a
/// JSON object, which is extended in place so its other keys keep their order.
fn with_awaited(mut row: PageRow, awaited: Option<&HashMap<Uuid, String>>) -> PageRow {
    #[derive(serde::Deserialize)]
    struct OfCase {
        case_id: Uuid,
    }
    let Some(awaited) = awaited else {
        return row;
    };
    let Some(properties) = row.properties.as_mut() else {
        return row;
    };
    let Ok(OfCase { case_id }) = serde_json::from_str::<OfCase>(properties) else {
        return row;
    };
    let value = Value::String(awaited.get(&case_id).cloned().unwrap_or_default());
    if properties.ends_with('}') {
        properties.pop();
        let _ = write!(properties, ", \"approvals_awaited\": {value}}}");
    }
    row
}

/// The response body of a page: the statement's rows, written as they arrive.
pub fn page_body(
    reads: &ReadNodes,
    hint: ReadHint,
    scope: Scope,
    context: PageContext,
    filters: Filters,
) -> Body {
    let spec = page_spec(context.query.cursor, context.query.limit, context.query.crs);
    let selection = filters.selection.clone();
    let today = bureau_date(context.now);
    // The rows come from a transaction scoped to the caller's counties (row-level security),
    // which the body stream cannot borrow: a task owns it and hands rows over a short queue,
    // so the client's reading still paces the database's sending and memory stays bounded.
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<PageRow, BoxError>>(ROW_QUEUE);
    let reads = reads.clone();
    let read = async move {
        let mut tx = match reads.begin(&scope, &hint).await {
            Ok(tx) => tx,
            Err(source) => {
                let doing = "starting a feature page";
                let _ = sender.send(Err(DbError { doing, source }.into())).await;
                return;
            }
        };
        let awaited = match awaited_of_page(&mut tx, &selection, &spec, today).await {
            Ok(awaited) => awaited,
            Err(e) => {
                let _ = sender.send(Err(e.into())).await;
                return;
            }
        };
        let mut rows = match store::page_rows(&mut tx, &selection, &spec) {
            Ok(rows) => rows,
            Err(e) => {
                let _ = sender.send(Err(e.into())).await;
                return;
            }
        };
        while let Some(row) = rows.next().await {
            let row = row
                .map(|row| with_awaited(row, awaited.as_ref()))
                .map_err(BoxError::from);
            if sender.send(row).await.is_err() {
                // The client went away; dropping the transaction ends the statement.
                return;
            }
        }
    };
    tokio::spawn(tracing::Instrument::in_current_span(read));
    let rows = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|row| (row, receiver))
    });
    let mut writer = PageWriter {
        header: Some(context.header()),
        context,
        filters,
        buffer: String::with_capacity(CHUNK + 4096),
        written: 0,
        last: None,
    };
    // `call_all` over a `service_fn` is tower's ordered map over a stream: each row becomes
    // bytes as the body is polled.
    let service = tower::service_fn(move |row| std::future::ready(writer.write(row)));
    Body::from_stream(tower::ServiceExt::call_all(service, rows))
}

/// One feature as a GeoJSON `Feature` document with its links, or `None` when the caller may
/// not see it (or it does not exist).
///
/// # Errors
/// Database failures.
pub async fn single_feature(
    conn: &mut PgConnection,
    collection: &Collection,
    caller: &Caller,
    key: FeatureKey,
    crs: OgcCrs,
    base: &ExternalBase,
    today: NaiveDate,
) -> Result<Option<String>, OgcError> {
    let filters = Filters::single(conn, collection, caller, key, today).await?;
    let spec = page_spec(None, 1, crs);
    let awaited = awaited_of_page(conn, &filters.selection, &spec, today).await?;
    let rows = store::page(conn, &filters.selection, &spec).await?;
    let Some(row) = rows
        .into_iter()
        .next()
        .filter(|row| row.rn == 1)
        .map(|row| with_awaited(row, awaited.as_ref()))
    else {
        return Ok(None);
    };
    let Some(key) = row.key() else {
        return Ok(None);
    };
    let collection_path = format!("/collections/{}", collection.id);
    let links = vec![
        Link::new(
            base.ogc(&format!("{collection_path}/items/{}", key.to_path())),
            "self",
            GEOJSON,
            "This feature",
        ),
        Link::new(base.ogc(&collection_path), "collection", JSON, "The collection"),
    ];
    let links = serde_json::to_string(&links).map_err(|e| ApiError::internal("writing a feature", e))?;
    let mut out = String::new();
    feature_json(
        &mut out,
        key,
        row.geometry.as_deref(),
        row.properties.as_deref(),
        &format!(",\"links\":{links}"),
    );
    Ok(Some(out))
}

/// The plan PostgreSQL runs an unfiltered page of `collection` with, after `after`
/// (`EXPLAIN (ANALYZE, FORMAT JSON)`, the page really runs): to check that a deep page reads
/// only its own rows, and to diagnose a slow layer.
///
/// # Errors
/// Database failures.
pub async fn explain_page(
    conn: &mut PgConnection,
    collection: &Collection,
    after: Option<FeatureKey>,
    limit: i64,
) -> Result<Value, OgcError> {
    let filters = Filters::everything(collection, None);
    let plan = store::explain_page(conn, &filters.selection, &page_spec(after, limit, OgcCrs::Crs84)).await?;
    Ok(plan[0]["Plan"].clone())
}
