//! `POST /cases/{id}/checks`: a planner runs the case's parcels against the current version of
//! every control layer (the spatial crate measures, the domain decides) and the report is
//! stored with one row per hit, so a hit can later be dismissed by its id.

use axum::{
    extract::Path,
    http::{header, HeaderValue, StatusCode},
    response::Response,
};
use chrono::{DateTime, SubsecRound, Utc};
use landuse_domain::{
    check::CaseContext,
    county::CountyCode,
    project::{ProjectLevel, ProjectSector},
    role::Role,
};
use landuse_spatial::{
    store::{self as spatial, CheckError, CheckReport},
    wkb_io,
};
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{render_check, CheckView};
use crate::{
    admin,
    http::{
        error::ApiError,
        etag::etag_header,
        idempotency::Reply,
        write::{NoBody, Write},
    },
    store::{
        self,
        checks::{CheckRow, HitRow, NewCheck, NewHit},
    },
    workflow::{
        cases::{load_case, write::record, CaseEvent, CaseRow},
        parcels::parcel_geometry,
    },
};

/// What the verdict rules know of the case besides its footprint: its project's level and
/// sector, and what it declares.
async fn case_context(conn: &mut PgConnection, case: &CaseRow) -> Result<CaseContext, ApiError> {
    let project = store::projects::load(conn, case.project_id, false)
        .await?
        .ok_or_else(|| ApiError::internal("loading the case's project", anyhow::anyhow!("no project row")))?;
    let declarations = case.declarations()?;
    // A stored level or sector that does not parse is a corrupt row: refusing to check is
    // better than silently switching off the State Council rule.
    let level = ProjectLevel::parse(&project.level)
        .map_err(|e| ApiError::internal("reading the project's level", e))?;
    let sector = ProjectSector::parse(&project.sector)
        .map_err(|e| ApiError::internal("reading the project's sector", e))?;
    Ok(CaseContext {
        project_level: Some(level),
        project_sector: Some(sector),
        declared_allowed_activity: declarations.allowed_activity,
        outside_boundary_use: declarations.outside_boundary_use,
        wholly_in_mineral_whitelist: false,
    })
}

/// Measures the case's parcels against every control layer and decides the verdicts.
async fn measure(conn: &mut PgConnection, case: &CaseRow) -> Result<CheckReport, ApiError> {
    let rows = store::parcels::of_case(conn, case.id).await?;
    if rows.is_empty() {
        return Err(ApiError::conflict(
            "no-parcels",
            "the case has no parcels to check; upload them first",
        ));
    }
    let parcels = rows.iter().map(parcel_geometry).collect::<Result<Vec<_>, _>>()?;
    let county =
        CountyCode::parse(&case.county_code).map_err(|e| ApiError::internal("reading the county", e))?;
    let context = case_context(conn, case).await?;
    let rules = admin::load_verdict_rules(conn)
        .await
        .map_err(|e| ApiError::internal("loading the verdict rules", e))?;
    spatial::check_footprint(conn, county, &parcels, &context, &rules)
        .await
        .map_err(|e| match e {
            CheckError::Geometry { .. } | CheckError::NoParcels => {
                ApiError::conflict("invalid-parcels", e.to_string())
            }
            CheckError::Database(db) => ApiError::db(db.doing, db.source),
            other => ApiError::internal("running the check", other),
        })
}

/// The hits of `report` as rows to store: each found again by its layer and its place there.
fn hits_of(report: &CheckReport) -> Result<Vec<NewHit>, ApiError> {
    let mut hits = Vec::new();
    for layer in &report.layers {
        for (index, hit) in layer.hits.iter().enumerate() {
            let wkb = hit
                .geometry
                .as_ref()
                .map(|g| {
                    let geometry = geo_types::Geometry::<f64>::try_from(g.clone())
                        .map_err(|e| ApiError::internal("reading an overlap", e))?;
                    wkb_io::to_wkb(&geometry).map_err(|e| ApiError::internal("encoding an overlap", e))
                })
                .transpose()?;
            hits.push(NewHit {
                id: Uuid::now_v7(),
                layer_kind: layer.kind.code(),
                hit_index: i32::try_from(index).unwrap_or(i32::MAX),
                layer_version_id: hit.version_id,
                feature_id: hit.feature_id,
                overlap_m2: hit.overlap.m2,
                attributes: hit.attributes.clone(),
                wkb,
            });
        }
    }
    Ok(hits)
}

/// Stores `report` as a new check of case `case_id` with one row per hit; returns the check
/// and its hits as a fresh check's view shows them (none dismissed).
async fn store_report(
    conn: &mut PgConnection,
    case_id: Uuid,
    run_at: DateTime<Utc>,
    run_by: Uuid,
    report: &CheckReport,
) -> Result<(CheckRow, Vec<HitRow>), ApiError> {
    let row = CheckRow {
        id: Uuid::now_v7(),
        run_at,
        run_by: Some(run_by),
        result: report.result.code().to_owned(),
        report: serde_json::to_value(report).map_err(|e| ApiError::internal("storing the report", e))?,
        summary: serde_json::to_value(report.summary())
            .map_err(|e| ApiError::internal("storing the summary", e))?,
        stale: false,
        confirmed_at: None,
        confirmed_by: None,
    };
    let new = NewCheck {
        id: row.id,
        case_id,
        run_at,
        run_by,
        result: report.result.code(),
        report: &row.report,
        summary: &row.summary,
        need_hundredths: report.quota_need_mu().hundredths(),
    };
    store::checks::insert(conn, &new).await?;
    let hits = hits_of(report)?;
    store::checks::insert_hits(conn, row.id, &hits).await?;
    let fresh = hits
        .into_iter()
        .map(|h| HitRow {
            id: h.id,
            layer_kind: h.layer_kind.to_owned(),
            hit_index: h.hit_index,
            dismissed_at: None,
            dismissed_by: None,
            dismiss_reason: None,
        })
        .collect();
    Ok((row, fresh))
}

/// `POST /api/v1/cases/{id}/checks`: a planner runs the case's parcels against the current
/// version of every control layer and stores the report.
#[utoipa::path(post, path = "/cases/{id}/checks", tag = "checks", params(("id" = Uuid, Path, description = "The case id")), responses((status = 201, description = "The stored report", body = CheckView, headers(("ETag" = String, description = "The case's new version"), ("Location" = String)))))]
#[tracing::instrument(skip_all, fields(case = %id))]
pub async fn run_check(Path(id): Path<Uuid>, mut write: Write<NoBody>) -> Result<Response, ApiError> {
    write.caller.require(&[Role::Planner], "run spatial checks")?;
    // Stored to the microsecond, and answered as stored.
    write.now = write.now.trunc_subsecs(6);
    let case = load_case(&mut write.tx, &write.caller, id, true).await?;
    let report = measure(&mut write.tx, &case).await?;
    let (check, hits) = store_report(&mut write.tx, id, write.now, write.caller.user_id, &report).await?;
    let event = CaseEvent::at(case.state()?.stage(), "check_run")
        .with(json!({ "check_id": check.id, "result": report.result }));
    let version = record(&mut write, id, &event).await?;
    let location = HeaderValue::from_str(&format!("/api/v1/cases/{id}/checks/{}", check.id))
        .map_err(|e| ApiError::internal("building the location", e))?;
    // The answer is what was just stored, built from memory rather than read back.
    let view = render_check(id, check, &hits)?;
    let reply = Reply::json(StatusCode::CREATED, &view)?
        .header(header::LOCATION, location)
        .header(header::ETAG, etag_header(version));
    write.finish(reply).await
}
