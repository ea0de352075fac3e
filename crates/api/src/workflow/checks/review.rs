//! A planner's review of a check: confirm the latest check (the stage rules then rely on it),
//! or dismiss one hit with a reason, after which the domain decides the check again without it.

use axum::{
    extract::Path,
    http::{header, HeaderMap, StatusCode},
    response::Response,
};
use landuse_domain::{
    check::{Dismissal, DismissalError},
    reason::Reason,
    role::Role,
    transition::CheckSummary,
};
use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{check_view, load_check, CheckView};
use crate::{
    http::{
        error::ApiError,
        etag::etag_header,
        idempotency::Reply,
        write::{Json, NoBody, Write},
    },
    quota::offsets,
    store::{
        self,
        checks::{CheckRow, HitDismissal, Redecided},
    },
    workflow::cases::{
        overlay,
        write::{append_event, lock_case, record},
        CaseEvent,
    },
};

/// Ends a review: records `event` on the case, gives it a new version, and answers the check as
/// it now stands with the case's new ETag.
async fn answer_check<B>(
    write: &mut Write<B>,
    case_id: Uuid,
    check_id: Uuid,
    event: &CaseEvent,
) -> Result<Reply, ApiError> {
    let version = record(write, case_id, event).await?;
    let view = check_view(&mut write.tx, case_id, check_id).await?;
    Ok(Reply::json(StatusCode::OK, &view)?.header(header::ETAG, etag_header(version)))
}

/// Whether `check` may be confirmed: it must be current, the case's latest, and not confirmed.
fn confirmable(check: &CheckRow, latest: Option<Uuid>) -> Result<(), ApiError> {
    if check.stale {
        Err(ApiError::conflict(
            "check-stale",
            "a parcel changed after this check ran; run a new one",
        ))
    } else if latest != Some(check.id) {
        Err(ApiError::conflict(
            "check-superseded",
            "a newer check exists; confirm that one",
        ))
    } else if check.confirmed_at.is_some() {
        Err(ApiError::conflict(
            "check-confirmed",
            "this check is already confirmed",
        ))
    } else {
        Ok(())
    }
}

/// `POST /api/v1/cases/{id}/checks/{check_id}/confirm`: a planner confirms the latest check,
/// which the stage rules then rely on; a stale or superseded check cannot be confirmed.
#[utoipa::path(post, path = "/cases/{id}/checks/{check_id}/confirm", tag = "checks", params(("id" = Uuid, Path, description = "The case id"), ("check_id" = Uuid, Path, description = "The check id"), ("If-Match" = String, Header, description = "The ETag of the last read")), responses((status = 200, description = "The confirmed report", body = CheckView, headers(("ETag" = String, description = "The case's new version")))))]
#[tracing::instrument(skip_all, fields(case = %id, check = %check_id))]
pub async fn confirm(
    Path((id, check_id)): Path<(Uuid, Uuid)>,
    headers: HeaderMap,
    mut write: Write<NoBody>,
) -> Result<Response, ApiError> {
    write.caller.require(&[Role::Planner], "confirm spatial checks")?;
    let case = lock_case(&mut write, id, &headers).await?;
    let check = load_check(&mut write.tx, id, check_id).await?;
    let latest = store::checks::latest(&mut write.tx, id).await?;
    confirmable(&check, latest.map(|c| c.id))?;
    store::checks::confirm(&mut write.tx, check_id, write.now, write.caller.user_id).await?;
    // A lock made against an older check follows the one just confirmed.
    offsets::follow_check(
        &mut write.tx,
        id,
        (write.caller.user_id, Role::Reviewer),
        write.now,
    )
    .await?;
    let stage = case.state()?.stage();
    // A mineral-deposit hit calls for an overlay query: sent the day the check is confirmed.
    if let Some(opened) =
        overlay::open_if_called(&mut write.tx, id, check_id, (&write.caller, write.now)).await?
    {
        let event = CaseEvent::at(stage, "overlay_query_opened").with(opened);
        append_event(&mut write.tx, id, write.now, &write.caller, &event).await?;
    }
    let event = CaseEvent::at(stage, "check_confirmed").with(json!({ "check_id": check_id }));
    let reply = answer_check(&mut write, id, check_id, &event).await?;
    write.finish(reply).await
}

/// The body of a dismissal.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DismissRequest {
    /// Why the hit does not hold: required, not blank, at most 2000 characters.
    #[serde(deserialize_with = "crate::workflow::reason::required")]
    #[schema(value_type = String, pattern = "\\S", max_length = 2000)]
    pub reason: Reason,
}

fn dismissal_refused(e: DismissalError) -> ApiError {
    match e {
        DismissalError::RoleMayNot(_) => ApiError::Forbidden(e.to_string()),
        DismissalError::Reason(_) => ApiError::invalid("reason-required", "reason", e.to_string()),
    }
}

/// `POST /api/v1/cases/{id}/checks/{check_id}/hits/{hit_id}/dismiss`: a planner dismisses one
/// hit with a reason; the case result is decided again without it.
#[utoipa::path(post, path = "/cases/{id}/checks/{check_id}/hits/{hit_id}/dismiss", tag = "checks", params(("id" = Uuid, Path, description = "The case id"), ("check_id" = Uuid, Path, description = "The check id"), ("hit_id" = Uuid, Path, description = "The hit id"), ("If-Match" = String, Header, description = "The ETag of the last read")), request_body = DismissRequest, responses((status = 200, description = "The report decided again without the hit", body = CheckView, headers(("ETag" = String, description = "The case's new version")))))]
#[tracing::instrument(skip_all, fields(case = %id, check = %check_id, hit = %hit_id))]
pub async fn dismiss(
    Path((id, check_id, hit_id)): Path<(Uuid, Uuid, Uuid)>,
    headers: HeaderMap,
    mut write: Write<Json<DismissRequest>>,
) -> Result<Response, ApiError> {
    let dismissal = Dismissal::record(&write.caller.actor(), write.body.0.reason.as_str(), write.now)
        .map_err(dismissal_refused)?;
    let case = lock_case(&mut write, id, &headers).await?;
    let check = load_check(&mut write.tx, id, check_id).await?;
    if check.confirmed_at.is_some() {
        return Err(ApiError::conflict(
            "check-confirmed",
            "a confirmed check no longer changes; run a new one",
        ));
    }
    let hit = store::checks::hit(&mut write.tx, check_id, hit_id)
        .await?
        .ok_or(ApiError::NotFound("hit"))?;
    if hit.dismissed_at.is_some() {
        return Err(ApiError::conflict(
            "hit-dismissed",
            "this hit is already dismissed",
        ));
    }
    let reason = dismissal.reason.as_str();
    let recorded = HitDismissal {
        at: dismissal.at,
        by: dismissal.by,
        reason,
    };
    store::checks::dismiss_hit(&mut write.tx, hit_id, &recorded).await?;
    let result = redecide(&mut write.tx, &check).await?;
    let event = CaseEvent::at(case.state()?.stage(), "hit_dismissed")
        .because(Some(reason))
        .with(json!({
            "check_id": check_id, "hit_id": hit_id, "layer": hit.layer_kind, "result_after": result,
        }));
    let reply = answer_check(&mut write, id, check_id, &event).await?;
    write.finish(reply).await
}

/// Decides the check again from its stored input with every recorded dismissal applied, and
/// stores the case result, what the stage rules read, and the quota the case needs; returns
/// the new result's code.
async fn redecide(conn: &mut PgConnection, check: &CheckRow) -> Result<&'static str, ApiError> {
    let decided = offsets::decide_with_dismissals(conn, check.id, &check.report).await?;
    let result = decided.verdict.result.code();
    let summary = serde_json::to_value(CheckSummary::from(&decided.verdict))
        .map_err(|e| ApiError::internal("storing the summary", e))?;
    let stored = Redecided {
        result,
        summary: &summary,
        need_hundredths: decided.verdict.quota_need_mu(decided.case_area).hundredths(),
    };
    store::checks::store_result(conn, check.id, &stored).await?;
    Ok(result)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chrono::{TimeZone, Utc};
    use serde_json::Value;

    use super::*;

    fn check(stale: bool, confirmed: bool) -> CheckRow {
        let at = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
        CheckRow {
            id: Uuid::from_u128(7),
            run_at: at,
            run_by: None,
            result: "ok".to_owned(),
            report: Value::Null,
            summary: Value::Null,
            stale,
            confirmed_at: confirmed.then_some(at),
            confirmed_by: None,
        }
    }

    fn rule(refusal: Result<(), ApiError>) -> String {
        match refusal {
            Err(ApiError::Conflict { slug, .. }) => slug.to_owned(),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn only_the_latest_current_unconfirmed_check_can_be_confirmed() {
        let latest = Some(Uuid::from_u128(7));
        assert!(confirmable(&check(false, false), latest).is_ok());
        assert_eq!(rule(confirmable(&check(true, false), latest)), "check-stale");
        assert_eq!(
            rule(confirmable(&check(false, false), Some(Uuid::from_u128(8)))),
            "check-superseded"
        );
        assert_eq!(rule(confirmable(&check(false, true), latest)), "check-confirmed");
    }
}
