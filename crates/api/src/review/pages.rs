//! The review pages: the queue and a case's page, rendered on the server with askama, and the
//! sign-in form a browser gets when it asks without a token.

use std::sync::Arc;

use askama::Template;
use axum::{
    extract::{FromRequestParts, Path, State},
    http::{header, request::Parts, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use landuse_domain::role::Role;
use landuse_report::model::{MissingRow, RecordRow};
use serde_json::{json, Value};

use super::{
    assets,
    desk::{self, Desk},
    report,
};
use crate::{
    app::AppState,
    auth::Caller,
    config::{BasemapGrid, ReviewArgs},
    http::error::ApiError,
    reads::ReadHint,
};

/// What every page shares: where the assets are, the basemap, the security headers.
pub struct Site {
    /// The OpenLayers folder under `/review/assets/`.
    pub ol_version: String,
    /// The pages' own folder under `/review/assets/`.
    pub app_version: String,
    basemap: Option<Value>,
    csp: HeaderValue,
}

impl Site {
    /// The site for the configured basemap.
    pub fn new(args: &ReviewArgs) -> Self {
        let basemap = args.basemap_url.as_ref().map(|url| {
            json!({
                "url": url.as_str(),
                "grid": match args.basemap_grid {
                    BasemapGrid::WebMercator => "web_mercator",
                    BasemapGrid::Cgcs2000 => "cgcs2000",
                },
                "attribution": args.basemap_attribution,
            })
        });
        // Scripts and data only from this origin; images also from the basemap's. No framing.
        let tiles = args
            .basemap_url
            .as_ref()
            .map(|u| format!(" {}", u.origin()))
            .unwrap_or_default();
        let csp = format!(
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:{tiles}; \
             connect-src 'self'; frame-ancestors 'none'; form-action 'none'; base-uri 'none'"
        );
        Self {
            ol_version: assets::ol_version(),
            app_version: assets::app_version(),
            basemap,
            csp: HeaderValue::from_str(&csp)
                .unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'")),
        }
    }

    fn chrome(&self, caller: Option<&Caller>) -> Chrome {
        Chrome {
            ol_css: asset(&self.ol_version, "ol.css"),
            ol_js: asset(&self.ol_version, "ol.js"),
            css: asset(&self.app_version, "review.css"),
            js: asset(&self.app_version, "review.js"),
            signin_js: asset(&self.app_version, "signin.js"),
            user: caller.map_or_else(String::new, |c| format!("{}（{}）", c.name, role_zh(c.role))),
        }
    }

    /// An HTML answer with the pages' headers: never cached (it holds a case), no framing.
    fn html(&self, status: StatusCode, body: String) -> Response {
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::VARY, HeaderValue::from_static("Authorization"));
        headers.insert(header::CONTENT_SECURITY_POLICY, self.csp.clone());
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        response
    }
}

/// Where an asset of a versioned set is served.
fn asset(version: &str, file: &str) -> String {
    format!("/review/assets/{version}/{file}")
}

/// The role as the bureau names it.
fn role_zh(role: Role) -> &'static str {
    match role {
        Role::Officer => "区县经办人",
        Role::Planner => "空间规划科",
        Role::Reviewer => "用途管制科",
        Role::Leader => "局领导",
        Role::Admin => "系统管理员",
        Role::Gis => "GIS 客户端",
    }
}

/// The frame every page shares.
struct Chrome {
    ol_css: String,
    ol_js: String,
    css: String,
    js: String,
    signin_js: String,
    user: String,
}

/// A failed page: the sign-in form for a request without a valid token, an HTML page naming
/// the refusal otherwise.
pub struct PageError {
    site: Arc<Site>,
    error: ApiError,
}

#[derive(Template)]
#[template(path = "review/signin.html")]
struct SignIn {
    chrome: Chrome,
}

#[derive(Template)]
#[template(path = "review/error.html")]
struct ErrorPage {
    chrome: Chrome,
    status: u16,
    title: &'static str,
    detail: String,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let chrome = self.site.chrome(None);
        let (status, title, detail) = match &self.error {
            ApiError::Unauthenticated => {
                let page = SignIn { chrome };
                return match page.render() {
                    Ok(body) => self.site.html(StatusCode::UNAUTHORIZED, body),
                    Err(e) => ApiError::internal("rendering the sign-in page", e).into_response(),
                };
            }
            ApiError::NotFound(_) => (
                StatusCode::NOT_FOUND,
                "未找到",
                "没有这个案件，或它不在您所辖的区县。".to_owned(),
            ),
            ApiError::Forbidden(detail) => (StatusCode::FORBIDDEN, "无权查看", detail.clone()),
            ApiError::TooManyRequests { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "请求过多",
                "请稍后再试。".to_owned(),
            ),
            // Everything else answers as the API does (a 5xx body stays opaque, its cause logged).
            _ => return self.error.into_response(),
        };
        let page = ErrorPage {
            chrome,
            status: status.as_u16(),
            title,
            detail,
        };
        match page.render() {
            Ok(body) => self.site.html(status, body),
            Err(e) => ApiError::internal("rendering an error page", e).into_response(),
        }
    }
}

/// The caller of a page; without a valid token the answer is the sign-in form.
pub struct Viewer(pub Caller, pub Arc<Site>);

impl FromRequestParts<AppState> for Viewer {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let site = parts
            .extensions
            .get::<Arc<Site>>()
            .cloned()
            .unwrap_or_else(|| Arc::new(Site::new(&state.config.serve.review)));
        match Caller::from_request_parts(parts, state).await {
            Ok(caller) => Ok(Self(caller, site)),
            Err(error) => Err(PageError { site, error }),
        }
    }
}

fn render(site: &Arc<Site>, page: &impl Template) -> Result<Response, PageError> {
    page.render()
        .map(|body| site.html(StatusCode::OK, body))
        .map_err(|e| PageError {
            site: site.clone(),
            error: ApiError::internal("rendering a review page", e),
        })
}

fn failed(site: &Arc<Site>) -> impl Fn(ApiError) -> PageError + '_ {
    move |error| PageError {
        site: site.clone(),
        error,
    }
}

// ---------------------------------------------------------------------------------------------
// The queue
// ---------------------------------------------------------------------------------------------

struct QueueLine {
    href: String,
    green: bool,
    project: String,
    title: String,
    county: String,
    stage: &'static str,
    deadline: String,
    days_left: String,
    overdue: bool,
    status: &'static str,
    status_code: &'static str,
    area: String,
}

#[derive(Template)]
#[template(path = "review/queue.html")]
struct QueuePage {
    chrome: Chrome,
    lines: Vec<QueueLine>,
    limit: i64,
    full: bool,
}

/// The most cases the queue shows.
const QUEUE_LIMIT: i64 = 200;

/// `GET /review`: the cases waiting for a check or a confirmation.
#[tracing::instrument(skip_all)]
pub async fn queue(
    State(state): State<AppState>,
    Viewer(caller, site): Viewer,
    hint: ReadHint,
) -> Result<Response, PageError> {
    let now = state.clock.now();
    let mut tx = state.read_for(&caller, &hint).await.map_err(failed(&site))?;
    let items = desk::queue(&mut tx, &caller, QUEUE_LIMIT, now)
        .await
        .map_err(failed(&site))?;
    drop(tx);
    let full = i64::try_from(items.len()).is_ok_and(|n| n >= QUEUE_LIMIT);
    let lines = items
        .into_iter()
        .map(|item| {
            let (status, status_code) = match (item.row.check_id, item.row.check_stale) {
                (None, _) => ("待核查", "none"),
                (Some(_), Some(true)) => ("地块已变更，待重新核查", "stale"),
                (Some(_), _) => ("待确认", "unconfirmed"),
            };
            QueueLine {
                href: format!("/review/cases/{}", item.row.id),
                green: item.green,
                project: item.row.project_name,
                title: item.row.title,
                county: format!("{} {}", item.row.county_code, item.row.county_name),
                stage: item.state.stage().name_zh(),
                deadline: item
                    .deadline
                    .as_ref()
                    .map_or_else(|| "—".to_owned(), |d| d.deadline.date.to_string()),
                days_left: item.deadline.as_ref().map_or_else(String::new, days_left),
                overdue: item.deadline.as_ref().is_some_and(|d| d.overdue),
                status,
                status_code,
                area: item.row.area_m2.map_or_else(String::new, |a| {
                    format!("{:.2}", landuse_spatial::area::AreaFigures::from_m2(a).mu)
                }),
            }
        })
        .collect();
    render(
        &site,
        &QueuePage {
            chrome: site.chrome(Some(&caller)),
            lines,
            limit: QUEUE_LIMIT,
            full,
        },
    )
}

fn days_left(remaining: &landuse_domain::limits::Remaining) -> String {
    let provisional = if remaining.deadline.provisional {
        "（暂定）"
    } else {
        ""
    };
    if remaining.overdue {
        format!(
            "已超期 {} 个工作日{provisional}",
            remaining.working_days.unsigned_abs()
        )
    } else {
        format!("剩余 {} 个工作日{provisional}", remaining.working_days)
    }
}

// ---------------------------------------------------------------------------------------------
// A case
// ---------------------------------------------------------------------------------------------

struct HitLine {
    id: String,
    feature: String,
    m2: String,
    mu: String,
    share: String,
    class: &'static str,
    class_code: &'static str,
    dismissal: String,
    dismissible: bool,
    has_geometry: bool,
}

struct RuleLine {
    kind: &'static str,
    name: String,
    colour: &'static str,
    versions: String,
    result: &'static str,
    result_code: &'static str,
    m2: String,
    mu: String,
    share: String,
    hits: Vec<HitLine>,
}

struct CheckLine {
    id: String,
    result: &'static str,
    result_code: &'static str,
    run: String,
    confirmed: String,
    stale: bool,
    pdf: String,
    can_confirm: bool,
}

#[derive(Template)]
#[template(path = "review/case.html")]
struct CasePage {
    chrome: Chrome,
    number: String,
    title: String,
    project: String,
    county: String,
    stage: &'static str,
    deadline: String,
    days_left: String,
    overdue: bool,
    green: String,
    area: String,
    parcels: usize,
    check: Option<CheckLine>,
    earlier_checks: usize,
    rules: Vec<RuleLine>,
    records: Vec<RecordRow>,
    missing: Vec<MissingRow>,
    planner: bool,
    read_only_reason: &'static str,
    data: String,
}

/// `GET /review/cases/{id}`: the case's page; another county's case is 404, as in the API.
#[tracing::instrument(skip_all, fields(case = %id))]
pub async fn case(
    State(state): State<AppState>,
    Viewer(caller, site): Viewer,
    hint: ReadHint,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = uuid::Uuid::parse_str(&id).map_err(|_| PageError {
        site: site.clone(),
        error: ApiError::NotFound("case"),
    })?;
    let now = state.clock.now();
    let mut tx = state.read_for(&caller, &hint).await.map_err(failed(&site))?;
    let desk = Desk::load(&mut tx, &caller, id, None, now)
        .await
        .map_err(failed(&site))?;
    drop(tx);
    let planner = caller.role == Role::Planner;
    let rules = desk.rules();
    let check = check_line(&desk, planner);
    let dismissible = planner && check.as_ref().is_some_and(|c| c.can_confirm);
    let rule_lines = rule_lines(&rules, dismissible);
    let data = map_data(&desk, &rules, &site, caller.role).map_err(failed(&site))?;
    let deadline = desk.deadline.as_ref();
    let page = CasePage {
        chrome: site.chrome(Some(&caller)),
        number: desk.number(),
        title: desk.case.title.clone(),
        project: desk.case.project_name.clone(),
        county: format!("{} {}", desk.case.county_code, desk.case.county_name),
        stage: desk.state.stage().name_zh(),
        deadline: deadline.map_or_else(|| "—".to_owned(), |d| d.deadline.date.to_string()),
        days_left: deadline.map_or_else(String::new, days_left),
        overdue: deadline.is_some_and(|d| d.overdue),
        green: match desk.green.basis() {
            Some(landuse_domain::green::GreenBasis::KeyProject) => "绿色通道（重点项目）".to_owned(),
            Some(landuse_domain::green::GreenBasis::LeaderGrant) => "绿色通道（局领导批准）".to_owned(),
            None => String::new(),
        },
        area: {
            let area = desk.area();
            format!("{} m²（{} 亩）", desk::m2(&area), desk::mu(&area))
        },
        parcels: desk.parcels.len(),
        earlier_checks: desk.checks.len().saturating_sub(1),
        check,
        rules: rule_lines,
        records: report::record_rows(&desk),
        missing: report::missing_rows(&desk),
        planner,
        read_only_reason: if planner {
            ""
        } else {
            "只读：核查、排除与确认由空间规划科办理。"
        },
        data,
    };
    render(&site, &page)
}

/// The check shown on the page, with what the caller may do with it.
fn check_line(desk: &Desk, planner: bool) -> Option<CheckLine> {
    desk.check.as_ref().map(|c| {
        let result = landuse_domain::check::LayerResult::ALL
            .iter()
            .copied()
            .find(|r| r.code() == c.row.result)
            .unwrap_or(c.verdict.result);
        CheckLine {
            id: c.row.id.to_string(),
            result: result.name_zh(),
            result_code: result.code(),
            run: format!(
                "{} {}",
                desk::local_time(c.row.run_at),
                c.row.run_by.clone().unwrap_or_default()
            ),
            confirmed: c.row.confirmed_at.map_or_else(
                || "未确认".to_owned(),
                |at| {
                    format!(
                        "{} {}",
                        desk::local_time(at),
                        c.row.confirmed_by.clone().unwrap_or_default()
                    )
                },
            ),
            stale: c.row.stale,
            pdf: format!("/api/v1/cases/{}/checks/{}/report.pdf", desk.case.id, c.row.id),
            can_confirm: planner && c.row.is_latest && !c.row.stale && c.row.confirmed_at.is_none(),
        }
    })
}

/// A line per rule; each hit with a dismissal form when `dismissible`.
fn rule_lines(rules: &[desk::Rule], dismissible: bool) -> Vec<RuleLine> {
    rules
        .iter()
        .map(|rule| RuleLine {
            kind: rule.kind.code(),
            name: rule.name.clone(),
            colour: rule.colour,
            versions: if rule.versions.is_empty() {
                "—".to_owned()
            } else {
                rule.versions.join("、")
            },
            result: rule.result.name_zh(),
            result_code: rule.result.code(),
            m2: desk::m2(&rule.counted),
            mu: desk::mu(&rule.counted),
            share: desk::percent(rule.share),
            hits: rule
                .hits
                .iter()
                .map(|hit| HitLine {
                    id: hit.id.map(|i| i.to_string()).unwrap_or_default(),
                    feature: hit.feature.clone(),
                    m2: desk::m2(&hit.overlap),
                    mu: desk::mu(&hit.overlap),
                    share: desk::percent(hit.share),
                    class: hit.class.name_zh(),
                    class_code: match hit.class {
                        landuse_domain::check::HitClass::Counted => "counted",
                        landuse_domain::check::HitClass::Sliver => "sliver",
                        landuse_domain::check::HitClass::Dismissed => "dismissed",
                    },
                    dismissal: hit.dismissal.as_ref().map_or_else(String::new, |d| {
                        format!("{} 于 {} 排除：{}", d.by, desk::local_time(d.at), d.reason)
                    }),
                    dismissible: dismissible && hit.id.is_some() && hit.dismissal.is_none(),
                    has_geometry: hit.geojson.is_some(),
                })
                .collect(),
        })
        .collect()
}

/// The map's data as JSON safe inside a `<script type="application/json">` element: the
/// parcels, each hit's overlap with its rule's colour, the layers whose features to draw around
/// them, the basemap, and what the page's actions need (the case's ETag, the check).
fn map_data(desk: &Desk, rules: &[desk::Rule], site: &Site, role: Role) -> Result<String, ApiError> {
    let parse = |text: &str| serde_json::from_str::<Value>(text).unwrap_or(Value::Null);
    let parcels: Vec<Value> = desk
        .parcels
        .iter()
        .map(|p| json!({ "seq": p.seq, "name": p.name, "geometry": parse(&p.geojson) }))
        .collect();
    let hits: Vec<Value> = rules
        .iter()
        .flat_map(|rule| {
            rule.hits.iter().filter_map(move |hit| {
                let geometry = parse(hit.geojson.as_deref()?);
                Some(json!({
                    "id": hit.id,
                    "kind": rule.kind.code(),
                    "colour": rule.colour,
                    "dismissed": hit.dismissal.is_some(),
                    "z": landuse_report::map::draw_order(rule.kind.code()),
                    "geometry": geometry,
                }))
            })
        })
        .collect();
    let layers: Vec<Value> = rules
        .iter()
        .filter(|r| !r.versions.is_empty())
        .map(|r| json!({ "kind": r.kind.code(), "name": r.name, "colour": r.colour }))
        .collect();
    let data = json!({
        "case_id": desk.case.id,
        "etag": crate::http::etag::etag(desk.case.version),
        "check_id": desk.check.as_ref().map(|c| c.row.id),
        "role": role.code(),
        "parcels": parcels,
        "hits": hits,
        "layers": layers,
        "basemap": site.basemap,
    });
    serde_json::to_string(&data)
        .map(|text| {
            text.replace('<', "\\u003c")
                .replace('>', "\\u003e")
                .replace('&', "\\u0026")
        })
        .map_err(|e| ApiError::internal("writing the map's data", e))
}
