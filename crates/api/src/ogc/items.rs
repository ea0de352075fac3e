//! Features: one page of a collection, written to the client as PostgreSQL returns it.
//!
//! A page is one statement per collection kind (`sql/*_filtered.sql` plus the paging tail
//! below): keyset paging after the `cursor` feature, so the hundredth page costs what the first
//! does, and every feature's geometry is rendered by `ST_AsGeoJSON` in the CRS asked for. Rows
//! are turned into bytes one by one and handed to the response body as they arrive, in chunks
//! of [`CHUNK`] bytes: a 10,000-feature page is never held whole in memory.
//!
//! The statements are static text (so their row stream can outlive the handler) with every
//! filter switched off by a null parameter. They are sent unprepared, so PostgreSQL plans each
//! request with its actual values: filters that are off fold away, and a bounding box becomes a
//! constant the spatial index can use.

use std::fmt::Write as _;

use axum::{
    body::{Body, Bytes},
    BoxError,
};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sqlx::{
    postgres::{PgArguments, PgRow},
    query::Query,
    PgConnection, PgPool, Postgres, Row,
};
use uuid::Uuid;

use super::{
    catalog::{self, Collection, Property, PropertyType, Source},
    crs::OgcCrs,
    error::OgcError,
    links::{query_string, ExternalBase, Link},
    params::{unknown, Bbox, FeatureKey, ItemsFormat, ItemsQuery, KeyKind, TimeRange, ITEMS_PARAMETERS},
    GEOJSON, JSON,
};
use crate::{auth::Caller, db::Scope, http::error::ApiError};
use futures_util::StreamExt as _;

/// Bytes gathered before a chunk goes to the client.
pub const CHUNK: usize = 32 * 1024;

/// Rows read ahead of the client while a page is written.
const ROW_QUEUE: usize = 64;

/// The page statement: the filtered set, a page of it after the cursor (plus one row to learn
/// whether another page follows), and each row's GeoJSON. The parameters after the filter's own
/// are: cursor, page size + 1, swap axes, target SRID, decimals.
macro_rules! page_sql {
    ($file:literal, $key:literal, $after:literal, $probe:literal, $flip:literal, $srid:literal, $digits:literal) => {
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
            "select p.id, p.rn, p.is_last,\n",
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
            "select null, 0, true, null, null\n",
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

const LAYER_PAGE: &str = page_sql!("sql/layer_filtered.sql", "int8", "9", "10", "11", "12", "13");
const LAYER_COUNT: &str = count_sql!("sql/layer_filtered.sql");
const PARCEL_PAGE: &str = page_sql!("sql/parcel_filtered.sql", "uuid", "15", "16", "17", "18", "19");
const PARCEL_COUNT: &str = count_sql!("sql/parcel_filtered.sql");
const OVERLAP_PAGE: &str = page_sql!("sql/overlap_filtered.sql", "uuid", "15", "16", "17", "18", "19");
const OVERLAP_COUNT: &str = count_sql!("sql/overlap_filtered.sql");

/// The page statement of a collection kind, for plan checks.
pub fn page_statement(collection: &Collection) -> &'static str {
    match collection.source {
        Source::Layer { .. } | Source::Version(_) => LAYER_PAGE,
        Source::Parcels => PARCEL_PAGE,
        Source::Overlaps => OVERLAP_PAGE,
    }
}

/// The property filters of a request, typed for the collection's statement.
#[derive(Debug, Clone, PartialEq)]
enum PropertyFilters {
    Layer {
        source_id: Option<String>,
        version: Option<Uuid>,
        attributes: Option<Value>,
    },
    Parcel {
        case_id: Option<Uuid>,
        county: Option<String>,
        stage: Option<String>,
        source: Option<String>,
        seq: Option<i32>,
        name: Option<String>,
        zone: Option<i32>,
    },
    Overlap {
        check_id: Option<Uuid>,
        case_id: Option<Uuid>,
        county: Option<String>,
        layer_kind: Option<String>,
        layer_version: Option<Uuid>,
        dismissed: Option<bool>,
        result: Option<String>,
    },
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
    counties: Option<Vec<String>>,
    bbox: Option<Bbox>,
    time: Option<TimeRange>,
    feature: Option<FeatureKey>,
    properties: PropertyFilters,
    case_id: Option<Uuid>,
}

impl Filters {
    /// Checks the request's property filters against the collection (an unknown name or a
    /// value of the wrong type is a 400) and gathers every filter.
    pub async fn build(
        conn: &mut PgConnection,
        collection: &Collection,
        caller: &Caller,
        query: &ItemsQuery,
    ) -> Result<Self, OgcError> {
        let properties = match collection.source {
            Source::Layer { .. } | Source::Version(_) => {
                layer_filters(conn, collection, &query.properties).await?
            }
            Source::Parcels => parcel_filters(&query.properties)?,
            Source::Overlaps => overlap_filters(&query.properties)?,
        };
        let case_id = match &properties {
            PropertyFilters::Parcel { case_id, .. } => *case_id,
            _ => None,
        };
        Ok(Self {
            counties: caller.county_filter(),
            bbox: query.bbox,
            time: query.datetime,
            feature: None,
            properties,
            case_id,
        })
    }

    /// Only the feature with `key`, as the caller may see it.
    pub fn single(collection: &Collection, caller: &Caller, key: FeatureKey) -> Self {
        Self {
            feature: Some(key),
            ..Self::everything(collection, caller.county_filter())
        }
    }

    /// The whole collection within `counties`.
    fn everything(collection: &Collection, counties: Option<Vec<String>>) -> Self {
        let properties = match collection.source {
            Source::Layer { .. } | Source::Version(_) => PropertyFilters::Layer {
                source_id: None,
                version: None,
                attributes: None,
            },
            Source::Parcels => PropertyFilters::Parcel {
                case_id: None,
                county: None,
                stage: None,
                source: None,
                seq: None,
                name: None,
                zone: None,
            },
            Source::Overlaps => PropertyFilters::Overlap {
                check_id: None,
                case_id: None,
                county: None,
                layer_kind: None,
                layer_version: None,
                dismissed: None,
                result: None,
            },
        };
        Self {
            counties,
            bbox: None,
            time: None,
            feature: None,
            properties,
            case_id: None,
        }
    }

    /// Whether only the caller's county scoping applies (so a stored count is exact).
    fn is_unfiltered(&self) -> bool {
        self.bbox.is_none()
            && self.time.is_none()
            && self.feature.is_none()
            && match &self.properties {
                PropertyFilters::Layer {
                    source_id,
                    version,
                    attributes,
                } => source_id.is_none() && version.is_none() && attributes.is_none(),
                _ => false,
            }
    }

    /// Binds the filter parameters of `sql` (a page or count statement of `collection`).
    fn bind<'q>(&self, collection: &Collection, sql: &'q str) -> Query<'q, Postgres, PgArguments> {
        let bbox = self.bbox.map(|b| b.corners());
        let srid = self.bbox.map_or(4490, |b| b.srid);
        let segment = self.bbox.map_or(1.0, |b| b.segment());
        let from = self.time.and_then(|t| t.from);
        let to = self.time.and_then(|t| t.to);
        let (int_id, uuid_id) = match self.feature {
            Some(FeatureKey::Int(id)) => (Some(id), None),
            Some(FeatureKey::Uuid(id)) => (None, Some(id)),
            None => (None, None),
        };
        let query = sqlx::query(sql).persistent(false);
        match &self.properties {
            PropertyFilters::Layer {
                source_id,
                version,
                attributes,
            } => query
                .bind(collection.version_ids())
                .bind(bbox)
                .bind(srid)
                .bind(segment)
                .bind(source_id.clone())
                .bind(*version)
                .bind(attributes.clone())
                .bind(int_id),
            PropertyFilters::Parcel {
                case_id,
                county,
                stage,
                source,
                seq,
                name,
                zone,
            } => query
                .bind(self.counties.clone())
                .bind(bbox)
                .bind(srid)
                .bind(segment)
                .bind(from)
                .bind(to)
                .bind(*case_id)
                .bind(county.clone())
                .bind(stage.clone())
                .bind(source.clone())
                .bind(*seq)
                .bind(name.clone())
                .bind(*zone)
                .bind(uuid_id),
            PropertyFilters::Overlap {
                check_id,
                case_id,
                county,
                layer_kind,
                layer_version,
                dismissed,
                result,
            } => query
                .bind(self.counties.clone())
                .bind(bbox)
                .bind(srid)
                .bind(segment)
                .bind(from)
                .bind(to)
                .bind(*check_id)
                .bind(*case_id)
                .bind(county.clone())
                .bind(layer_kind.clone())
                .bind(*layer_version)
                .bind(*dismissed)
                .bind(result.clone())
                .bind(uuid_id),
        }
    }

    /// The page statement with every parameter bound.
    fn page_query(
        &self,
        collection: &Collection,
        cursor: Option<FeatureKey>,
        limit: i64,
        crs: OgcCrs,
    ) -> Query<'static, Postgres, PgArguments> {
        self.page_query_of(page_statement(collection), collection, cursor, limit, crs)
    }

    fn page_query_of<'q>(
        &self,
        sql: &'q str,
        collection: &Collection,
        cursor: Option<FeatureKey>,
        limit: i64,
        crs: OgcCrs,
    ) -> Query<'q, Postgres, PgArguments> {
        let query = self.bind(collection, sql);
        let query = match collection.key_kind() {
            KeyKind::Int => query.bind(match cursor {
                Some(FeatureKey::Int(id)) => Some(id),
                _ => None,
            }),
            KeyKind::Uuid => query.bind(match cursor {
                Some(FeatureKey::Uuid(id)) => Some(id),
                _ => None,
            }),
        };
        query
            .bind(limit + 1)
            .bind(crs.northing_first())
            .bind(crs.postgis_srid())
            .bind(crs.decimals())
    }

    /// The exact number of features the filters select.
    pub async fn count(&self, conn: &mut PgConnection, collection: &Collection) -> Result<i64, OgcError> {
        if self.is_unfiltered() {
            if let Some(stored) = collection.stored_count() {
                return Ok(stored);
            }
        }
        let sql = match collection.source {
            Source::Layer { .. } | Source::Version(_) => LAYER_COUNT,
            Source::Parcels => PARCEL_COUNT,
            Source::Overlaps => OVERLAP_COUNT,
        };
        self.bind(collection, sql)
            .fetch_one(&mut *conn)
            .await
            .and_then(|row| row.try_get::<i64, _>(0))
            .map_err(|e| OgcError::Api(ApiError::db("counting features", e)))
    }
}

async fn layer_filters(
    conn: &mut PgConnection,
    collection: &Collection,
    pairs: &[(String, String)],
) -> Result<PropertyFilters, OgcError> {
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
    Ok(PropertyFilters::Layer {
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

fn parcel_filters(pairs: &[(String, String)]) -> Result<PropertyFilters, OgcError> {
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
    Ok(PropertyFilters::Parcel {
        case_id,
        county,
        stage,
        source,
        seq,
        name: name_filter,
        zone,
    })
}

fn overlap_filters(pairs: &[(String, String)]) -> Result<PropertyFilters, OgcError> {
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
    Ok(PropertyFilters::Overlap {
        check_id,
        case_id,
        county,
        layer_kind,
        layer_version,
        dismissed,
        result,
    })
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
        if let Some(case_id) = filters.case_id {
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

fn key_of(row: &PgRow, kind: KeyKind) -> Result<Option<FeatureKey>, sqlx::Error> {
    Ok(match kind {
        KeyKind::Int => row.try_get::<Option<i64>, _>("id")?.map(FeatureKey::Int),
        KeyKind::Uuid => row.try_get::<Option<Uuid>, _>("id")?.map(FeatureKey::Uuid),
    })
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
    fn write(&mut self, row: Result<PgRow, sqlx::Error>) -> Result<Bytes, BoxError> {
        let row = row.map_err(|e| {
            tracing::error!(error = %e, "a feature page broke off");
            e
        })?;
        if let Some(header) = self.header.take() {
            self.buffer.push_str(&header);
        }
        let rn: i64 = row.try_get("rn")?;
        let is_last: bool = row.try_get("is_last")?;
        let mut done = false;
        if rn == 0 {
            // The page is empty.
            self.footer(None);
            done = true;
        } else if rn <= self.context.query.limit {
            let key = key_of(&row, self.context.collection.key_kind())?.ok_or("a page row without an id")?;
            if self.written > 0 {
                self.buffer.push(',');
            }
            let geometry: Option<&str> = row.try_get("geometry")?;
            let properties: Option<&str> = row.try_get("properties")?;
            feature_json(&mut self.buffer, key, geometry, properties, "");
            self.written += 1;
            self.last = Some(key);
            if is_last {
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

/// The response body of a page: the statement's rows, written as they arrive.
pub fn page_body(db: &PgPool, scope: Scope, context: PageContext, filters: Filters) -> Body {
    let query = filters.page_query(
        &context.collection,
        context.query.cursor,
        context.query.limit,
        context.query.crs,
    );
    // The rows come from a transaction scoped to the caller's counties (row-level security),
    // which the body stream cannot borrow: a task owns it and hands rows over a short queue,
    // so the client's reading still paces the database's sending and memory stays bounded.
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<PgRow, sqlx::Error>>(ROW_QUEUE);
    let pool = db.clone();
    let read = async move {
        let mut tx = match crate::db::begin_scoped(&pool, &scope).await {
            Ok(tx) => tx,
            Err(e) => {
                let _ = sender.send(Err(e)).await;
                return;
            }
        };
        let mut rows = query.fetch(&mut *tx);
        while let Some(row) = rows.next().await {
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
pub async fn single_feature(
    conn: &mut PgConnection,
    collection: &Collection,
    caller: &Caller,
    key: FeatureKey,
    crs: OgcCrs,
    base: &ExternalBase,
) -> Result<Option<String>, OgcError> {
    let filters = Filters::single(collection, caller, key);
    let rows = filters
        .page_query(collection, None, 1, crs)
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| ApiError::db("reading a feature", e))?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let found = (|| -> Result<Option<String>, sqlx::Error> {
        let rn: i64 = row.try_get("rn")?;
        let Some(key) = key_of(row, collection.key_kind())?.filter(|_| rn == 1) else {
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
        let links = serde_json::to_string(&links).unwrap_or_else(|_| "[]".to_owned());
        let mut out = String::new();
        feature_json(
            &mut out,
            key,
            row.try_get("geometry")?,
            row.try_get("properties")?,
            &format!(",\"links\":{links}"),
        );
        Ok(Some(out))
    })()
    .map_err(|e| ApiError::db("reading a feature", e))?;
    Ok(found)
}

/// The plan PostgreSQL runs an unfiltered page of `collection` with, after `after`
/// (`EXPLAIN (ANALYZE, FORMAT JSON)`, the page really runs): to check that a deep page reads
/// only its own rows, and to diagnose a slow layer.
pub async fn explain_page(
    conn: &mut PgConnection,
    collection: &Collection,
    after: Option<FeatureKey>,
    limit: i64,
) -> Result<Value, OgcError> {
    let sql = format!("explain (analyze, format json) {}", page_statement(collection));
    let plan: Value = Filters::everything(collection, None)
        .page_query_of(&sql, collection, after, limit, OgcCrs::Crs84)
        .fetch_one(&mut *conn)
        .await
        .and_then(|row| row.try_get(0))
        .map_err(|e| ApiError::db("explaining a page", e))?;
    Ok(plan[0]["Plan"].clone())
}
