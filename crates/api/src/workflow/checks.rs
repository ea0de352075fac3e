//! Spatial checks of a case: run against the current control layers, read, confirm, and dismiss
//! a hit with a recorded reason (the case result is then decided again by the domain).

use axum::{
    extract::{Path, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::Response,
    Json,
};
use chrono::{DateTime, SubsecRound, Utc};
use landuse_domain::{
    check::{self, CaseContext, Dismissal},
    county::CountyCode,
    project::{OutsideBoundaryUse, ProjectLevel, ProjectSector},
    role::Role,
    stage::Stage,
    transition::CheckSummary,
};
use landuse_spatial::{
    store::{self, CheckError, CheckReport},
    wkb_io,
};
use serde::Deserialize;
use serde_json::{json, Value};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{
    cases::{append_event, load_case, CaseRow},
    parcels::{load_parcels, parcel_geometry},
};
use crate::{
    app::AppState,
    auth::Caller,
    http::{
        error::ApiError,
        etag::{etag_header, require_if_match},
        idempotency::{IdempotencyKey, Reply},
        json::JsonBody,
    },
};

/// What a case declares for the verdict rules (the `declarations` of a case).
#[derive(Debug, Default, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Declarations {
    /// The case is an activity on the allowed list of the red line and core zones.
    #[serde(default)]
    pub allowed_activity: bool,
    /// The use that lets the project lie outside the urban boundary.
    #[serde(default)]
    pub outside_boundary_use: Option<OutsideBoundaryUse>,
}

impl Declarations {
    /// Parses a case's declarations.
    ///
    /// # Errors
    /// 422 naming the field.
    pub fn parse(value: &Value) -> Result<Self, ApiError> {
        serde_json::from_value(value.clone()).map_err(|e| {
            ApiError::invalid(
                "invalid-field",
                "declarations",
                format!("declarations: {e}; allowed: allowed_activity (bool), outside_boundary_use (linear_infrastructure, mining, special)"),
            )
        })
    }
}

async fn case_context(conn: &mut PgConnection, case: &CaseRow) -> Result<CaseContext, ApiError> {
    let (level, sector): (String, String) =
        sqlx::query_as("select level, sector from projects where id = $1")
            .bind(case.project_id)
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| ApiError::db("loading the project", e))?;
    let declarations = Declarations::parse(&case.declarations)?;
    // A stored level or sector that does not parse is a corrupt row: refusing to check is
    // better than silently switching off the State Council rule.
    let project_level =
        ProjectLevel::parse(&level).map_err(|e| ApiError::internal("reading the project's level", e))?;
    let project_sector =
        ProjectSector::parse(&sector).map_err(|e| ApiError::internal("reading the project's sector", e))?;
    Ok(CaseContext {
        project_level: Some(project_level),
        project_sector: Some(project_sector),
        declared_allowed_activity: declarations.allowed_activity,
        outside_boundary_use: declarations.outside_boundary_use,
        wholly_in_mineral_whitelist: false,
    })
}

/// `POST /api/v1/cases/{id}/checks`: a planner runs the case's parcels against the current
/// version of every control layer and stores the report.
#[utoipa::path(post, path = "/cases/{id}/checks", tag = "checks", params(("id" = Uuid, Path, description = "The case id")), responses((status = 201, description = "The stored report", body = serde_json::Value, headers(("ETag" = String), ("Location" = String)))))]
pub async fn run_check(
    State(state): State<AppState>,
    caller: Caller,
    idem: IdempotencyKey,
    Path(id): Path<Uuid>,
) -> Result<Response, ApiError> {
    caller.require(&[Role::Planner], "run spatial checks")?;
    let digest = crate::http::idempotency::NO_BODY;
    if let Some(replay) = idem.replay(&state.db, &caller, &digest).await? {
        return Ok(replay);
    }
    // Stored to the microsecond, and answered as stored.
    let now = state.clock.now().trunc_subsecs(6);
    let mut tx = state.begin_for(&caller).await?;
    let case = load_case(&mut tx, &caller, id, true).await?;
    let rows = load_parcels(&mut tx, id).await?;
    if rows.is_empty() {
        return Err(ApiError::conflict(
            "no-parcels",
            "the case has no parcels to check; upload them first",
        ));
    }
    let parcels = rows.iter().map(parcel_geometry).collect::<Result<Vec<_>, _>>()?;
    let county =
        CountyCode::parse(&case.county_code).map_err(|e| ApiError::internal("reading the county", e))?;
    let context = case_context(&mut tx, &case).await?;
    let rules = crate::admin::load_verdict_rules(&mut tx)
        .await
        .map_err(|e| ApiError::internal("loading the verdict rules", e))?;
    let report = store::check_footprint(&mut tx, county, &parcels, &context, &rules)
        .await
        .map_err(|e| match e {
            CheckError::Geometry { .. } | CheckError::NoParcels => {
                ApiError::conflict("invalid-parcels", e.to_string())
            }
            CheckError::Database(db) => ApiError::db(db.doing, db.source),
            other => ApiError::internal("running the check", other),
        })?;
    let summary = report.summary();
    let check_id = Uuid::now_v7();
    let report_json =
        serde_json::to_value(&report).map_err(|e| ApiError::internal("storing the report", e))?;
    let summary_json =
        serde_json::to_value(&summary).map_err(|e| ApiError::internal("storing the summary", e))?;
    sqlx::query(
        "insert into checks (id, case_id, run_at, run_by, result, report, summary, quota_need_mu)
         values ($1, $2, $3, $4, $5, $6, $7, $8::bigint::numeric / 100)",
    )
    .bind(check_id)
    .bind(id)
    .bind(now)
    .bind(caller.user_id)
    .bind(report.result.code())
    .bind(&report_json)
    .bind(&summary_json)
    .bind(report.quota_need_mu().hundredths())
    .execute(&mut *tx)
    .await
    .map_err(|e| ApiError::db("storing the check", e))?;
    let hits = store_hits(&mut tx, check_id, &report).await?;
    let stage = case.state()?.stage();
    append_event(
        &mut tx,
        id,
        now,
        &caller,
        "check_run",
        (Some(stage), Some(stage)),
        None,
        json!({ "check_id": check_id, "result": report.result }),
    )
    .await?;
    let version = bump(&mut tx, id, now).await?;
    // The answer is what was just stored, built from memory rather than read back.
    let stored = CheckRow {
        id: check_id,
        run_at: now,
        run_by: Some(caller.user_id),
        result: report.result.code().to_owned(),
        report: report_json,
        summary: summary_json,
        stale: false,
        confirmed_at: None,
        confirmed_by: None,
    };
    let view = render_check(id, stored, &hits);
    let location = HeaderValue::from_str(&format!("/api/v1/cases/{id}/checks/{check_id}"))
        .map_err(|e| ApiError::internal("location", e))?;
    let reply = Reply::new(StatusCode::CREATED, view)
        .header(header::LOCATION, location)
        .header(header::ETAG, etag_header(version));
    idem.finish(tx, &state.db, &caller, &digest, reply).await
}

async fn bump(conn: &mut PgConnection, case_id: Uuid, now: DateTime<Utc>) -> Result<i64, ApiError> {
    sqlx::query_scalar(
        "update cases set version = version + 1, updated_at = $2 where id = $1 returning version",
    )
    .bind(case_id)
    .bind(now)
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| ApiError::db("updating the case", e))
}

/// Stores every hit of `report` with one statement and returns them as a fresh check's view
/// shows them (none dismissed).
async fn store_hits(
    conn: &mut PgConnection,
    check_id: Uuid,
    report: &CheckReport,
) -> Result<Vec<HitRow>, ApiError> {
    let mut ids = Vec::new();
    let mut kinds = Vec::new();
    let mut indexes = Vec::new();
    let mut versions = Vec::new();
    let mut features = Vec::new();
    let mut overlaps = Vec::new();
    let mut attributes = Vec::new();
    let mut shapes: Vec<Option<Vec<u8>>> = Vec::new();
    for layer in &report.layers {
        for (index, hit) in layer.hits.iter().enumerate() {
            let wkb = match &hit.geometry {
                Some(g) => {
                    let geometry = geo_types::Geometry::<f64>::try_from(g.clone())
                        .map_err(|e| ApiError::internal("reading an overlap", e))?;
                    Some(
                        wkb_io::to_wkb(&geometry)
                            .map_err(|e| ApiError::internal("encoding an overlap", e))?,
                    )
                }
                None => None,
            };
            ids.push(Uuid::now_v7());
            kinds.push(layer.kind.code().to_owned());
            indexes.push(i32::try_from(index).unwrap_or(i32::MAX));
            versions.push(hit.version_id);
            features.push(hit.feature_id);
            overlaps.push(hit.overlap.m2);
            attributes.push(hit.attributes.clone());
            shapes.push(wkb);
        }
    }
    if !ids.is_empty() {
        sqlx::query(
            "insert into check_hits (id, check_id, layer_kind, hit_index, layer_version_id, feature_id,
                                     overlap_m2, attributes, geom)
             select h.id, $2, h.kind, h.index, h.version, h.feature, h.m2, h.attributes,
                    st_geomfromwkb(h.wkb, 4490)
               from unnest($1::uuid[], $3::text[], $4::int4[], $5::uuid[], $6::int8[], $7::float8[],
                           $8::jsonb[], $9::bytea[])
                    as h (id, kind, index, version, feature, m2, attributes, wkb)",
        )
        .bind(&ids)
        .bind(check_id)
        .bind(&kinds)
        .bind(&indexes)
        .bind(&versions)
        .bind(&features)
        .bind(&overlaps)
        .bind(&attributes)
        .bind(&shapes)
        .execute(&mut *conn)
        .await
        .map_err(|e| ApiError::db("storing the hits", e))?;
    }
    Ok(ids
        .into_iter()
        .zip(kinds)
        .zip(indexes)
        .map(|((id, layer_kind), hit_index)| HitRow {
            id,
            layer_kind,
            hit_index,
            dismissed_at: None,
            dismissed_by: None,
            dismiss_reason: None,
        })
        .collect())
}

#[derive(Debug, sqlx::FromRow)]
struct CheckRow {
    id: Uuid,
    run_at: DateTime<Utc>,
    run_by: Option<Uuid>,
    result: String,
    report: Value,
    summary: Value,
    stale: bool,
    confirmed_at: Option<DateTime<Utc>>,
    confirmed_by: Option<Uuid>,
}

#[derive(Debug, sqlx::FromRow)]
struct HitRow {
    id: Uuid,
    layer_kind: String,
    hit_index: i32,
    dismissed_at: Option<DateTime<Utc>>,
    dismissed_by: Option<Uuid>,
    dismiss_reason: Option<String>,
}

async fn load_check(conn: &mut PgConnection, case_id: Uuid, check_id: Uuid) -> Result<CheckRow, ApiError> {
    sqlx::query_as::<_, CheckRow>(
        "select id, run_at, run_by, result, report, summary, stale, confirmed_at, confirmed_by
           from checks where id = $1 and case_id = $2",
    )
    .bind(check_id)
    .bind(case_id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(|e| ApiError::db("loading the check", e))?
    .ok_or(ApiError::NotFound("check"))
}

/// The report with each hit's id and dismissal beside it.
async fn check_view(conn: &mut PgConnection, case_id: Uuid, check_id: Uuid) -> Result<Value, ApiError> {
    let row = load_check(conn, case_id, check_id).await?;
    let hits = sqlx::query_as::<_, HitRow>(
        "select id, layer_kind, hit_index, dismissed_at, dismissed_by, dismiss_reason
           from check_hits where check_id = $1",
    )
    .bind(check_id)
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| ApiError::db("loading the hits", e))?;
    Ok(render_check(case_id, row, &hits))
}

/// A check as the API shows it: its row, and its report with each hit's id and dismissal.
fn render_check(case_id: Uuid, row: CheckRow, hits: &[HitRow]) -> Value {
    let mut report = row.report;
    if let Some(layers) = report.get_mut("layers").and_then(Value::as_array_mut) {
        for layer in layers {
            let kind = layer["kind"].as_str().unwrap_or_default().to_owned();
            if let Some(layer_hits) = layer.get_mut("hits").and_then(Value::as_array_mut) {
                for (index, hit) in layer_hits.iter_mut().enumerate() {
                    if let Some(stored) = hits
                        .iter()
                        .find(|h| h.layer_kind == kind && usize::try_from(h.hit_index).ok() == Some(index))
                    {
                        hit["id"] = json!(stored.id);
                        hit["dismissal"] = stored.dismissed_at.map_or(Value::Null, |at| {
                            json!({ "at": at, "by": stored.dismissed_by, "reason": stored.dismiss_reason })
                        });
                    }
                }
            }
        }
    }
    json!({
        "id": row.id,
        "case_id": case_id,
        "run_at": row.run_at,
        "run_by": row.run_by,
        "result": row.result,
        "summary": row.summary,
        "stale": row.stale,
        "confirmed_at": row.confirmed_at,
        "confirmed_by": row.confirmed_by,
        "report": report,
    })
}

type CheckListRow = (Uuid, DateTime<Utc>, String, bool, Option<DateTime<Utc>>);

/// `GET /api/v1/cases/{id}/checks`: the case's checks, newest first.
#[utoipa::path(get, path = "/cases/{id}/checks", tag = "checks", params(("id" = Uuid, Path, description = "The case id")), responses((status = 200, description = "The case's checks, newest first", body = serde_json::Value)))]
pub async fn list_checks(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<Json<Value>, ApiError> {
    let mut conn = state.begin_for(&caller).await?;
    load_case(&mut conn, &caller, id, false).await?;
    let rows: Vec<CheckListRow> = sqlx::query_as(
        "select id, run_at, result, stale, confirmed_at from checks where case_id = $1 order by run_at desc, id desc",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| ApiError::db("listing checks", e))?;
    Ok(Json(json!(rows
        .into_iter()
        .map(|(check_id, run_at, result, stale, confirmed_at)| json!({
            "id": check_id, "run_at": run_at, "result": result, "stale": stale,
            "confirmed": confirmed_at.is_some(),
            "href": format!("/api/v1/cases/{id}/checks/{check_id}"),
        }))
        .collect::<Vec<_>>())))
}

/// `GET /api/v1/cases/{id}/checks/{check_id}`: one report, with dismissals beside the hits.
#[utoipa::path(get, path = "/cases/{id}/checks/{check_id}", tag = "checks", params(("id" = Uuid, Path, description = "The case id"), ("check_id" = Uuid, Path, description = "The check id")), responses((status = 200, description = "The report with its hits and dismissals", body = serde_json::Value)))]
pub async fn get_check(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, check_id)): Path<(Uuid, Uuid)>,
) -> Result<Json<Value>, ApiError> {
    let mut conn = state.begin_for(&caller).await?;
    load_case(&mut conn, &caller, id, false).await?;
    Ok(Json(check_view(&mut conn, id, check_id).await?))
}

/// `POST /api/v1/cases/{id}/checks/{check_id}/confirm`: a planner confirms the latest check,
/// which the stage rules then rely on; a stale or superseded check cannot be confirmed.
#[utoipa::path(post, path = "/cases/{id}/checks/{check_id}/confirm", tag = "checks", params(("id" = Uuid, Path, description = "The case id"), ("check_id" = Uuid, Path, description = "The check id"), ("If-Match" = String, Header, description = "The ETag of the last read")), responses((status = 200, description = "The confirmed report", body = serde_json::Value, headers(("ETag" = String, description = "The new version")))))]
pub async fn confirm(
    State(state): State<AppState>,
    caller: Caller,
    idem: IdempotencyKey,
    Path((id, check_id)): Path<(Uuid, Uuid)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    caller.require(&[Role::Planner], "confirm spatial checks")?;
    let digest = crate::http::idempotency::NO_BODY;
    if let Some(replay) = idem.replay(&state.db, &caller, &digest).await? {
        return Ok(replay);
    }
    let now = state.clock.now();
    let mut tx = state.begin_for(&caller).await?;
    let case = load_case(&mut tx, &caller, id, true).await?;
    require_if_match(&headers, case.version)?;
    let check = load_check(&mut tx, id, check_id).await?;
    if check.stale {
        return Err(ApiError::conflict(
            "check-stale",
            "a parcel changed after this check ran; run a new one",
        ));
    }
    let latest: Uuid =
        sqlx::query_scalar("select id from checks where case_id = $1 order by run_at desc, id desc limit 1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| ApiError::db("finding the latest check", e))?;
    if latest != check_id {
        return Err(ApiError::conflict(
            "check-superseded",
            "a newer check exists; confirm that one",
        ));
    }
    if check.confirmed_at.is_some() {
        return Err(ApiError::conflict(
            "check-confirmed",
            "this check is already confirmed",
        ));
    }
    sqlx::query("update checks set confirmed_at = $2, confirmed_by = $3 where id = $1")
        .bind(check_id)
        .bind(now)
        .bind(caller.user_id)
        .execute(&mut *tx)
        .await
        .map_err(|e| ApiError::db("confirming the check", e))?;
    let stage: Stage = case.state()?.stage();
    append_event(
        &mut tx,
        id,
        now,
        &caller,
        "check_confirmed",
        (Some(stage), Some(stage)),
        None,
        json!({ "check_id": check_id }),
    )
    .await?;
    // A lock made against an older check follows the one just confirmed.
    crate::quota::offsets::follow_check(&mut tx, id, (caller.user_id, Role::Reviewer), now).await?;
    let version = bump(&mut tx, id, now).await?;
    let view = check_view(&mut tx, id, check_id).await?;
    let reply = Reply::new(StatusCode::OK, view).header(header::ETAG, etag_header(version));
    idem.finish(tx, &state.db, &caller, &digest, reply).await
}

/// The body of a dismissal.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DismissRequest {
    /// Why the hit does not hold.
    pub reason: String,
}

/// `POST /api/v1/cases/{id}/checks/{check_id}/hits/{hit_id}/dismiss`: a planner dismisses one
/// hit with a reason; the case result is decided again without it.
#[utoipa::path(post, path = "/cases/{id}/checks/{check_id}/hits/{hit_id}/dismiss", tag = "checks", params(("id" = Uuid, Path, description = "The case id"), ("check_id" = Uuid, Path, description = "The check id"), ("hit_id" = Uuid, Path, description = "The hit id"), ("If-Match" = String, Header, description = "The ETag of the last read")), request_body = DismissRequest, responses((status = 200, description = "The report decided again without the hit", body = serde_json::Value, headers(("ETag" = String, description = "The new version")))))]
pub async fn dismiss(
    State(state): State<AppState>,
    caller: Caller,
    idem: IdempotencyKey,
    Path((id, check_id, hit_id)): Path<(Uuid, Uuid, Uuid)>,
    headers: HeaderMap,
    body: JsonBody<DismissRequest>,
) -> Result<Response, ApiError> {
    let now = state.clock.now();
    let dismissal = Dismissal::record(&caller.actor(), &body.value.reason, now).map_err(|e| match e {
        check::DismissalError::RoleMayNot(_) => ApiError::Forbidden(e.to_string()),
        check::DismissalError::Reason(_) => ApiError::invalid("reason-required", "reason", e.to_string()),
    })?;
    if let Some(replay) = idem.replay(&state.db, &caller, &body.digest).await? {
        return Ok(replay);
    }
    let mut tx = state.begin_for(&caller).await?;
    let case = load_case(&mut tx, &caller, id, true).await?;
    require_if_match(&headers, case.version)?;
    let check = load_check(&mut tx, id, check_id).await?;
    if check.confirmed_at.is_some() {
        return Err(ApiError::conflict(
            "check-confirmed",
            "a confirmed check no longer changes; run a new one",
        ));
    }
    let hit: Option<HitRow> = sqlx::query_as(
        "select id, layer_kind, hit_index, dismissed_at, dismissed_by, dismiss_reason
           from check_hits where id = $1 and check_id = $2",
    )
    .bind(hit_id)
    .bind(check_id)
    .fetch_optional(&mut *tx)
    .await
    .map_err(|e| ApiError::db("loading the hit", e))?;
    let hit = hit.ok_or(ApiError::NotFound("hit"))?;
    if hit.dismissed_at.is_some() {
        return Err(ApiError::conflict(
            "hit-dismissed",
            "this hit is already dismissed",
        ));
    }
    sqlx::query(
        "update check_hits set dismissed_at = $2, dismissed_by = $3, dismiss_reason = $4 where id = $1",
    )
    .bind(hit_id)
    .bind(dismissal.at)
    .bind(dismissal.by)
    .bind(dismissal.reason.as_str())
    .execute(&mut *tx)
    .await
    .map_err(|e| ApiError::db("recording the dismissal", e))?;
    let (result, summary, need) = redecide(&mut tx, &check).await?;
    sqlx::query(
        "update checks set result = $2, summary = $3, quota_need_mu = $4::bigint::numeric / 100 where id = $1",
    )
        .bind(check_id)
        .bind(result.code())
        .bind(serde_json::to_value(&summary).map_err(|e| ApiError::internal("storing the summary", e))?)
        .bind(need.hundredths())
        .execute(&mut *tx)
        .await
        .map_err(|e| ApiError::db("storing the new result", e))?;
    let stage = case.state()?.stage();
    append_event(
        &mut tx,
        id,
        now,
        &caller,
        "hit_dismissed",
        (Some(stage), Some(stage)),
        Some(dismissal.reason.as_str()),
        json!({ "check_id": check_id, "hit_id": hit_id, "layer": hit.layer_kind, "result_after": result }),
    )
    .await?;
    let version = bump(&mut tx, id, now).await?;
    let view = check_view(&mut tx, id, check_id).await?;
    let reply = Reply::new(StatusCode::OK, view).header(header::ETAG, etag_header(version));
    idem.finish(tx, &state.db, &caller, &body.digest, reply).await
}

/// Decides the check again from its stored input with every recorded dismissal applied: the
/// case result, what the stage rules read, and the quota the case needs.
async fn redecide(
    conn: &mut PgConnection,
    check: &CheckRow,
) -> Result<(check::LayerResult, CheckSummary, landuse_domain::ledger::Amount), ApiError> {
    let decided = crate::quota::offsets::decide_with_dismissals(conn, check.id, &check.report).await?;
    let need = decided.verdict.quota_need_mu(decided.case_area);
    Ok((decided.verdict.result, CheckSummary::from(&decided.verdict), need))
}
