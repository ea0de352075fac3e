//! Advance use (先行用地, issue 18): a project on the green channel asks to use land before its
//! formal case is approved; a leader approves or refuses each request; the formal case must
//! cover every approved parcel before it moves to conversion.
//!
//! | endpoint | who | what |
//! |---|---|---|
//! | `POST /projects/{id}/advance-use` | officer (own counties), reviewer | ask, with the parcels as GeoJSON or a coordinate file |
//! | `POST /projects/{id}/advance-use/{request_id}/decision` | leader | approve (with the document number) or refuse, with a reason |
//! | `GET /projects/{id}/advance-use` | whoever sees the project | the requests and the project's figures |
//!
//! The domain decides ([`green::advance_use`], [`green::decide_advance_use`], and the
//! transition rule `AdvanceUseCovered`); the store measures unions, and every area is
//! ellipsoidal (CGCS2000) by the spatial crate. The parcels are read exactly as a case's
//! parcel upload reads them ([`upload::parse_upload`]). Each request and each decision is an
//! event in the project's history and gives the project a new version.

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{header, StatusCode},
    response::Response,
    Json,
};
use chrono::{DateTime, Utc};
use landuse_domain::{
    designation::{FieldChange, ProjectField},
    green::{
        self, AdvanceUseDecisionError, AdvanceUseRequest, AdvanceUseRules, AdvanceUseStatus,
        AdvanceUseVerdict, UncoveredAdvanceUse,
    },
    phase,
    reason::Reason,
    role::Role,
    units::SquareMetres,
};
use landuse_spatial::{area, coordfile::CoordFileWarning, geojson_out, wkb_io};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{visible, Project};
use crate::{
    admin,
    app::AppState,
    auth::Caller,
    http::{
        error::{round_m2, ApiError},
        etag::etag_header,
        idempotency::Reply,
        write::{Json as Body, Raw, Write},
    },
    store::{
        self,
        advance_use::{AreasRow, NewRequest, RequestRow},
        projects::{NewEvent, ProjectRow},
    },
    workflow::parcels::{
        upload::{self, NewParcel},
        ParcelSource,
    },
};

/// Longest document number accepted, in characters.
const MAX_DOCUMENT_CHARS: usize = 200;

/// The body of `POST /api/v1/projects/{id}/advance-use`: the parcels, exactly one of
/// `parcels` (GeoJSON) and `coordinate_file`, read and validated as a case's parcel upload.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdvanceUseBody {
    /// The parcels as a GeoJSON `Polygon`, `MultiPolygon`, `Feature` or `FeatureCollection`
    /// (RFC 7946, CGCS2000 longitude and latitude).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub parcels: Option<Value>,
    /// The parcels as the text of a national boundary-point coordinate file.
    #[serde(default)]
    #[schema(min_length = 1)]
    pub coordinate_file: Option<String>,
    /// Whether the works control the project's schedule (控制性工程); only those qualify.
    pub controls_schedule: bool,
    /// Why the land is needed before the formal approval: not blank, at most 2000 characters.
    #[schema(min_length = 1, max_length = 2000, pattern = "\\S")]
    pub reason: String,
}

/// An area, in the units the bureau states it in.
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
pub struct AreaView {
    /// Square metres, to the hundredth.
    pub m2: f64,
    /// Mu, to two places.
    pub mu: f64,
    /// Hectares, to four places.
    pub ha: f64,
}

impl AreaView {
    fn of(area: SquareMetres) -> Self {
        Self {
            m2: round_m2(area),
            mu: area.mu_rounded(),
            ha: area.hectares_rounded(),
        }
    }
}

/// A project's advance-use figures. The pre-reviewed area is the union of the parcels of the
/// project's live cases (not rejected or withdrawn) whose pre-review opinion is recorded and
/// which are at `pre_review` or later (in correction, by the stage left); the used area is the
/// union of the parcels of its requests that are not refused.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AdvanceUseFigures {
    /// Whether the project is on the green channel: on a key-project list, or a leader's
    /// grant in force on one of its live cases.
    pub on_green_channel: bool,
    /// The most advance use may take, in percent of the pre-reviewed area.
    pub max_share_percent: u8,
    /// The project's pre-reviewed area.
    pub pre_reviewed: AreaView,
    /// The share of it advance use may take.
    pub allowed: AreaView,
    /// What its requests not refused take.
    pub used: AreaView,
    /// What is left: allowed less used, never below zero.
    pub remaining: AreaView,
}

/// A request for advance use as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AdvanceUseView {
    /// The request's id.
    pub id: Uuid,
    /// The project.
    pub project_id: Uuid,
    /// Pending, approved or refused.
    pub status: AdvanceUseStatus,
    /// Whether the works control the project's schedule.
    pub controls_schedule: bool,
    /// Why it was asked for.
    pub reason: String,
    /// The area of its parcels (their union, ellipsoidal).
    pub area: AreaView,
    /// Its parcels, one GeoJSON `MultiPolygon`.
    #[schema(value_type = Object)]
    pub geometry: Value,
    /// How the parcels came.
    pub source: ParcelSource,
    /// How many parcels were sent.
    pub parcel_count: i32,
    /// Who asked.
    pub requested_by: Uuid,
    /// In which role.
    pub requested_role: String,
    /// When.
    pub requested_at: DateTime<Utc>,
    /// The approval's document number.
    pub document_number: Option<String>,
    /// The leader's reason.
    pub decision_reason: Option<String>,
    /// The leader.
    pub decided_by: Option<Uuid>,
    /// When.
    pub decided_at: Option<DateTime<Utc>>,
}

/// The answer to a request: the request, the project's figures with it, and what a coordinate
/// file's reader noticed but accepted.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AdvanceUseRequested {
    /// The new request, pending.
    pub request: AdvanceUseView,
    /// The project's figures with it.
    pub figures: AdvanceUseFigures,
    /// The coordinate file reader's warnings, each with its `code` and line.
    #[schema(value_type = Vec<Object>)]
    pub warnings: Vec<CoordFileWarning>,
}

/// A project's requests and figures.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AdvanceUseList {
    /// The project's figures.
    pub figures: AdvanceUseFigures,
    /// Its requests, in the order they were made.
    pub requests: Vec<AdvanceUseView>,
}

/// The body of `POST /api/v1/projects/{id}/advance-use/{request_id}/decision`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    /// Approve or refuse.
    pub decision: AdvanceUseVerdict,
    /// The approval's document number (文号): required to approve, at most 200 characters.
    #[serde(default)]
    #[schema(max_length = 200)]
    pub document_number: Option<String>,
    /// Why: not blank, at most 2000 characters.
    #[schema(min_length = 1, max_length = 2000, pattern = "\\S")]
    pub reason: String,
}

/// The ellipsoidal area of a union read back as WKB; nothing is zero.
fn area_of(wkb: Option<&[u8]>) -> Result<SquareMetres, ApiError> {
    let Some(wkb) = wkb else {
        return Ok(SquareMetres::ZERO);
    };
    let geometry = wkb_io::from_wkb(wkb).map_err(|e| ApiError::internal("decoding a union", e))?;
    SquareMetres::new(area::ellipsoidal_area(&wkb_io::polygons_of(geometry)))
        .map_err(|e| ApiError::internal("measuring a union", e))
}

/// The areas a request is judged against.
struct Measured {
    requested: SquareMetres,
    used: SquareMetres,
    with_request: SquareMetres,
    pre_reviewed: SquareMetres,
}

async fn measure(
    conn: &mut PgConnection,
    project_id: Uuid,
    parcels: &[Vec<u8>],
) -> Result<Measured, ApiError> {
    let AreasRow {
        requested,
        used,
        with_request,
        pre_reviewed,
    } = store::advance_use::areas(conn, project_id, parcels).await?;
    Ok(Measured {
        requested: area_of(requested.as_deref())?,
        used: area_of(used.as_deref())?,
        with_request: area_of(with_request.as_deref())?,
        pre_reviewed: area_of(pre_reviewed.as_deref())?,
    })
}

async fn rules(conn: &mut PgConnection) -> Result<AdvanceUseRules, ApiError> {
    admin::load_advance_use_rules(conn).await.map_err(|e| match e {
        admin::AdminError::Db { source, .. } => ApiError::db("loading the advance-use share", source),
        other => ApiError::internal("loading the advance-use share", other),
    })
}

/// Whether the project is on the green channel, by the rule phasing uses
/// ([`phase::project_on_green_channel`]) over its live cases. A stored grant that does not read
/// is an error.
async fn on_green_channel(conn: &mut PgConnection, project: &ProjectRow) -> Result<bool, ApiError> {
    let live = super::phases::live_cases(conn, project).await?;
    Ok(phase::project_on_green_channel(project.on_key_list, &live))
}

/// The project's advance-use figures as they stand.
///
/// # Errors
/// Database failures; a corrupt stored grant or union.
pub async fn figures(conn: &mut PgConnection, project: &ProjectRow) -> Result<AdvanceUseFigures, ApiError> {
    let rules = rules(conn).await?;
    let measured = measure(conn, project.id, &[]).await?;
    let allowed = green::allowed_area(measured.pre_reviewed, &rules);
    Ok(AdvanceUseFigures {
        on_green_channel: on_green_channel(conn, project).await?,
        max_share_percent: rules.max_share_percent(),
        pre_reviewed: AreaView::of(measured.pre_reviewed),
        allowed: AreaView::of(allowed),
        used: AreaView::of(measured.used),
        remaining: AreaView::of(green::remaining(allowed, measured.used)),
    })
}

/// For each approved request of the project, the area its live cases do not cover, for the
/// transition rules (the domain decides what counts).
///
/// # Errors
/// Database failures; a corrupt stored geometry.
pub async fn uncovered_of(
    conn: &mut PgConnection,
    project_id: Uuid,
) -> Result<Vec<UncoveredAdvanceUse>, ApiError> {
    store::advance_use::uncovered(conn, project_id)
        .await?
        .into_iter()
        .map(|row| {
            Ok(UncoveredAdvanceUse {
                request_id: row.request_id,
                uncovered: area_of(row.uncovered.as_deref())?,
            })
        })
        .collect()
}

fn view_of(row: RequestRow) -> Result<AdvanceUseView, ApiError> {
    let geometry =
        wkb_io::from_wkb(&row.geom).map_err(|e| ApiError::internal("decoding a request's parcels", e))?;
    let geometry = serde_json::to_value(geojson_out::multi_polygon(&wkb_io::polygons_of(geometry)))
        .map_err(|e| ApiError::internal("writing GeoJSON", e))?;
    Ok(AdvanceUseView {
        id: row.id,
        project_id: row.project_id,
        status: AdvanceUseStatus::parse(&row.status)
            .map_err(|e| ApiError::internal("reading a request's status", e))?,
        controls_schedule: row.controls_schedule,
        reason: row.reason,
        area: AreaView::of(
            SquareMetres::new(row.area_m2).map_err(|e| ApiError::internal("reading an area", e))?,
        ),
        geometry,
        source: ParcelSource::deserialize(Value::String(row.source))
            .map_err(|e| ApiError::internal("reading a request's source", e))?,
        parcel_count: row.parcel_count,
        requested_by: row.requested_by,
        requested_role: row.requested_role,
        requested_at: row.requested_at,
        document_number: row.document_number,
        decision_reason: row.decision_reason,
        decided_by: row.decided_by,
        decided_at: row.decided_at,
    })
}

/// A refusal of the parcels, named under the body field they came in.
fn under(field: &str, e: ApiError) -> ApiError {
    match e {
        ApiError::Invalid {
            slug,
            detail,
            field: inner,
        } => ApiError::Invalid {
            slug,
            detail,
            field: Some(inner.map_or_else(|| field.to_owned(), |inner| format!("{field}.{inner}"))),
        },
        other => other,
    }
}

/// Reads the parcels as the case upload does, from whichever field carries them.
fn parse_parcels(body: &AdvanceUseBody) -> Result<(Vec<NewParcel>, Vec<CoordFileWarning>), ApiError> {
    let (field, raw) = match (&body.parcels, &body.coordinate_file) {
        (Some(geojson), None) => (
            "parcels",
            Raw {
                content_type: Some("application/geo+json".to_owned()),
                bytes: Bytes::from(
                    serde_json::to_vec(geojson).map_err(|e| ApiError::internal("reading GeoJSON", e))?,
                ),
            },
        ),
        (None, Some(text)) => (
            "coordinate_file",
            Raw {
                content_type: Some("text/plain".to_owned()),
                bytes: Bytes::from(text.clone().into_bytes()),
            },
        ),
        _ => {
            return Err(ApiError::invalid(
                "invalid-advance-use",
                "parcels",
                "send the parcels in exactly one of `parcels` (GeoJSON) and `coordinate_file`",
            ))
        }
    };
    let (parcels, warnings) = upload::parse_upload(&raw).map_err(|e| under(field, e))?;
    if parcels.is_empty() {
        return Err(ApiError::invalid(
            "invalid-advance-use",
            field,
            "a request needs at least one parcel",
        ));
    }
    Ok((parcels, warnings))
}

/// Appends a request's or a decision's event to the project's history and gives the project a
/// new version; returns it.
async fn record<B>(
    write: &mut Write<B>,
    project_id: Uuid,
    kind: &'static str,
    reason: &Reason,
    change: FieldChange,
) -> Result<i64, ApiError> {
    let event = NewEvent {
        project_id,
        at: write.now,
        actor: Some((write.caller.user_id, write.caller.role)),
        kind,
        reason: Some(reason.as_str().to_owned()),
        changes: vec![change],
    };
    store::projects::append_event(&mut write.tx, &event).await?;
    Ok(store::advance_use::bump_project(&mut write.tx, project_id).await?)
}

fn status_text(id: Uuid, status: AdvanceUseStatus, detail: &str) -> String {
    format!("request {id} {status}: {detail}")
}

/// The project-history change a new request records: none before, the pending request after.
fn requested_change(request_id: Uuid, requested: SquareMetres) -> FieldChange {
    let to = status_text(
        request_id,
        AdvanceUseStatus::Pending,
        &format!("{:.2} m²", round_m2(requested)),
    );
    FieldChange {
        field: ProjectField::AdvanceUse,
        from: None,
        to: Some(to),
    }
}

/// `POST /api/v1/projects/{id}/advance-use`: ask for advance use (officers of the project's
/// county, reviewers). Refused 422 with the domain's code when the project does not qualify
/// or the project's advance-use area would exceed its share (`advance-use-area-over-share`,
/// with the used, remaining and requested areas in m² and mu).
#[utoipa::path(post, path = "/projects/{id}/advance-use", operation_id = "request_advance_use", tag = "projects", params(("id" = Uuid, Path, description = "The project id")), request_body = AdvanceUseBody, responses((status = 201, description = "The request, pending a leader", body = AdvanceUseRequested, headers(("ETag" = String, description = "The project's new version")))))]
#[tracing::instrument(skip_all, fields(project = %id))]
pub async fn request_advance_use(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    mut write: Write<Body<AdvanceUseBody>>,
) -> Result<Response, ApiError> {
    write
        .caller
        .require(&[Role::Officer, Role::Reviewer], "request advance use")?;
    let body = write.body.0.clone();
    let reason = Reason::parse(body.reason.as_str())
        .map_err(|e| ApiError::invalid("invalid-advance-use", "reason", e.to_string()))?;
    let (parcels, warnings) = parse_parcels(&body)?;
    upload::check_vertex_cap(0, &parcels, state.config.serve.max_parcel_vertices)?;

    let project = visible(&mut write.tx, &write.caller, id, true).await?;
    let wkbs = upload::encode(&parcels)?;
    let measured = measure(&mut write.tx, id, &wkbs).await?;
    let designation = Project::from_row(project.clone())?;
    let request = AdvanceUseRequest {
        green: on_green_channel(&mut write.tx, &project).await?,
        project_level: designation.level,
        project_sector: designation.sector,
        controls_schedule: body.controls_schedule,
        requested_area: measured.requested,
        used_area: measured.used,
        area_with_request: measured.with_request,
        pre_reviewed_area: measured.pre_reviewed,
    };
    green::advance_use(&request, &rules(&mut write.tx).await?)?;

    let new = NewRequest {
        id: Uuid::now_v7(),
        project_id: id,
        parcels: &wkbs,
        area_m2: measured.requested.value(),
        source: parcels.first().map_or(ParcelSource::Geojson, |p| p.source).code(),
        controls_schedule: body.controls_schedule,
        reason: reason.as_str(),
        requested_by: write.caller.user_id,
        requested_role: write.caller.role.code(),
        requested_at: write.now,
    };
    let row = store::advance_use::insert(&mut write.tx, &new).await?;
    let change = requested_change(row.id, measured.requested);
    let version = record(&mut write, id, "advance_use_requested", &reason, change).await?;
    let answer = AdvanceUseRequested {
        request: view_of(row)?,
        figures: figures(&mut write.tx, &project).await?,
        warnings,
    };
    let reply = Reply::json(StatusCode::CREATED, &answer)?.header(header::ETAG, etag_header(version));
    write.finish(reply).await
}

/// A decision the domain refused: 403 for a role that may not decide, 409 for a decided
/// request, 422 naming the field otherwise.
fn decision_refused(e: &AdvanceUseDecisionError) -> ApiError {
    match e {
        AdvanceUseDecisionError::RoleMayNot(_) => ApiError::Forbidden(e.to_string()),
        AdvanceUseDecisionError::Reason(_) => ApiError::invalid(e.code(), "reason", e.to_string()),
        AdvanceUseDecisionError::DocumentNumberRequired => {
            ApiError::invalid(e.code(), "document_number", e.to_string())
        }
        AdvanceUseDecisionError::AlreadyDecided(_) => ApiError::conflict(e.code(), e.to_string()),
    }
}

/// `POST /api/v1/projects/{id}/advance-use/{request_id}/decision`: a leader approves (with the
/// document number) or refuses a pending request, with a reason. Answers the request.
#[utoipa::path(post, path = "/projects/{id}/advance-use/{request_id}/decision", operation_id = "decide_advance_use", tag = "projects", params(("id" = Uuid, Path, description = "The project id"), ("request_id" = Uuid, Path, description = "The request's id")), request_body = DecisionBody, responses((status = 200, description = "The request, decided", body = AdvanceUseView, headers(("ETag" = String, description = "The project's new version")))))]
#[tracing::instrument(skip_all, fields(project = %id, request = %request_id))]
pub async fn decide_advance_use(
    Path((id, request_id)): Path<(Uuid, Uuid)>,
    mut write: Write<Body<DecisionBody>>,
) -> Result<Response, ApiError> {
    let body = write.body.0.clone();
    let (actor, now) = (write.caller.actor(), write.now);
    let decide = |current| {
        green::decide_advance_use(
            current,
            body.decision,
            body.document_number.as_deref(),
            &body.reason,
            &actor,
            now,
        )
        .map_err(|e| decision_refused(&e))
    };
    // Everything the body alone decides, refused before the request is read.
    decide(AdvanceUseStatus::Pending)?;
    ApiError::check_length(
        "invalid-advance-use",
        "document_number",
        body.document_number.as_deref(),
        MAX_DOCUMENT_CHARS,
    )?;

    visible(&mut write.tx, &write.caller, id, true).await?;
    let row = store::advance_use::lock(&mut write.tx, id, request_id)
        .await?
        .ok_or(ApiError::NotFound("advance-use request"))?;
    let current = AdvanceUseStatus::parse(&row.status)
        .map_err(|e| ApiError::internal("reading a request's status", e))?;
    let decision = decide(current)?;
    let stored = store::advance_use::Decision {
        status: decision.status.code(),
        document_number: decision.document_number.as_deref(),
        reason: decision.reason.as_str(),
        decided_by: decision.by,
        decided_role: actor.role.code(),
        decided_at: decision.at,
    };
    let row = store::advance_use::decide(&mut write.tx, request_id, &stored).await?;
    let change = FieldChange {
        field: ProjectField::AdvanceUse,
        from: Some(status_text(request_id, current, "awaiting a leader")),
        to: Some(status_text(
            request_id,
            decision.status,
            decision.document_number.as_deref().unwrap_or("refused"),
        )),
    };
    let kind = match decision.status {
        AdvanceUseStatus::Approved => "advance_use_approved",
        _ => "advance_use_refused",
    };
    let version = record(&mut write, id, kind, &decision.reason, change).await?;
    let reply = Reply::json(StatusCode::OK, &view_of(row)?)?.header(header::ETAG, etag_header(version));
    write.finish(reply).await
}

/// `GET /api/v1/projects/{id}/advance-use`: the project's requests, each with its status, area
/// and geometry, and its figures: pre-reviewed, allowed, used and remaining.
#[utoipa::path(get, path = "/projects/{id}/advance-use", operation_id = "list_advance_use", tag = "projects", params(("id" = Uuid, Path, description = "The project id")), responses((status = 200, description = "The requests and the project's figures", body = AdvanceUseList)))]
#[tracing::instrument(skip_all, fields(project = %id))]
pub async fn list_advance_use(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<Json<AdvanceUseList>, ApiError> {
    let mut tx = state.begin_for(&caller).await?;
    let project = visible(&mut tx, &caller, id, false).await?;
    let figures = figures(&mut tx, &project).await?;
    let requests = store::advance_use::of_project(&mut tx, id)
        .await?
        .into_iter()
        .map(view_of)
        .collect::<Result<_, _>>()?;
    Ok(Json(AdvanceUseList { figures, requests }))
}
