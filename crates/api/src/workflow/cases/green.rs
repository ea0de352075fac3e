//! `POST /cases/{id}/green-channel`: a leader grants or revokes the green channel of a case
//! (its shorter time limits); the domain's `GreenChannel` decides.

use axum::{
    extract::Path,
    http::{HeaderMap, StatusCode},
    response::Response,
};
use chrono::{DateTime, Utc};
use landuse_domain::{
    green::{Grant, GreenChannel, GreenError},
    reason::Reason,
    role::{Actor, Role},
};
use serde::Deserialize;
use uuid::Uuid;

use super::{
    write::{answer_case, lock_case},
    CaseEvent, CaseView,
};
use crate::{
    http::{
        error::ApiError,
        write::{Json, Write},
    },
    store,
};

/// What a leader does to a case's green channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GreenAction {
    /// Put the case on the green channel.
    Grant,
    /// Take the grant back.
    Revoke,
}

impl GreenAction {
    /// The grant as it stands after this action on `channel`: a new grant, or the grant in
    /// force with its revocation.
    ///
    /// # Errors
    /// The domain's refusal: not a leader, a blank reason, already granted, nothing to revoke.
    fn decide(
        self,
        channel: &GreenChannel,
        actor: &Actor,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Grant, GreenError> {
        match self {
            Self::Grant => channel.grant(actor, reason, now),
            Self::Revoke => {
                let revocation = channel.revoke(actor, reason, now)?;
                let grant = channel.grant.clone().ok_or(GreenError::NotGranted)?;
                Ok(Grant {
                    revoked: Some(revocation),
                    ..grant
                })
            }
        }
    }

    /// The kind of the event it leaves in the case's history.
    fn event_kind(self) -> &'static str {
        match self {
            Self::Grant => "green_channel_grant",
            Self::Revoke => "green_channel_revoke",
        }
    }
}

/// The body of `POST /api/v1/cases/{id}/green-channel`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GreenRequest {
    /// Grant or revoke.
    pub action: GreenAction,
    /// Why: required, not blank, at most 2000 characters.
    #[serde(deserialize_with = "crate::workflow::reason::required")]
    #[schema(value_type = String, pattern = "\\S", max_length = 2000)]
    pub reason: Reason,
}

/// `POST /api/v1/cases/{id}/green-channel`: a leader grants or revokes the green channel.
#[utoipa::path(post, path = "/cases/{id}/green-channel", tag = "cases", params(("id" = Uuid, Path, description = "The case id"), ("If-Match" = String, Header, description = "The ETag of the last read")), request_body = GreenRequest, responses((status = 200, description = "The case as it now stands", body = CaseView, headers(("ETag" = String, description = "The new version")))))]
#[tracing::instrument(skip_all, fields(case = %id))]
pub async fn green_channel(
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    mut write: Write<Json<GreenRequest>>,
) -> Result<Response, ApiError> {
    write
        .caller
        .require(&[Role::Leader], "grant or revoke the green channel")?;
    let GreenRequest { action, reason } = write.body.0.clone();
    let case = lock_case(&mut write, id, &headers).await?;
    let grant = action
        .decide(
            &case.green_channel()?,
            &write.caller.actor(),
            reason.as_str(),
            write.now,
        )
        .map_err(|e| ApiError::conflict(e.code(), e.to_string()))?;
    let stored = serde_json::to_value(&grant).map_err(|e| ApiError::internal("storing the grant", e))?;
    store::cases::set_green_grant(&mut write.tx, id, &stored).await?;
    let event = CaseEvent::at(case.state()?.stage(), action.event_kind()).because(Some(reason.as_str()));
    let reply = answer_case(&mut write, id, &event, StatusCode::OK).await?;
    write.finish(reply).await
}
