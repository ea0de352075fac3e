//! `POST /cases/{id}/facts`: a reviewer records the approval documents the stage rules read
//! (pre-review opinion, conversion approval, supply decision, certificate).

use axum::{
    extract::Path,
    http::{HeaderMap, StatusCode},
    response::Response,
};
use landuse_domain::{role::Role, transition::SupplyDecision};
use serde::{Deserialize, Serialize};
use serde_json::json;
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

/// The approval documents recorded on a case (its `facts`); in a request, the ones to record
/// (fields left out keep their value).
#[derive(Debug, Default, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordedFacts {
    /// The number of the pre-review and site-selection opinion: not blank.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "not_blank"
    )]
    #[schema(pattern = "\\S")]
    pub pre_review_opinion: Option<String>,
    /// The number of the conversion and expropriation approval: not blank.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "not_blank"
    )]
    #[schema(pattern = "\\S")]
    pub conversion_approval: Option<String>,
    /// The supply decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supply_decision: Option<SupplyDecision>,
    /// The real-estate certificate number: not blank.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "not_blank"
    )]
    #[schema(pattern = "\\S")]
    pub certificate_number: Option<String>,
}

/// Reads a document number as the schema states it, while the body is parsed: a blank one is a
/// 422 naming the field whatever the case's ETag, not a refusal that depends on what the handler
/// checks first.
fn not_blank<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    let text = Option::<String>::deserialize(deserializer)?;
    if text.as_deref().is_some_and(|t| t.trim().is_empty()) {
        return Err(serde::de::Error::custom("a document number must not be blank"));
    }
    Ok(text)
}

impl RecordedFacts {
    /// The documents after recording `new` over these: fields `new` gives replace the old. A
    /// blank number never gets here: the body's parse refuses it.
    #[must_use]
    pub fn recording(mut self, new: &RecordedFacts) -> Self {
        if new.pre_review_opinion.is_some() {
            self.pre_review_opinion.clone_from(&new.pre_review_opinion);
        }
        if new.conversion_approval.is_some() {
            self.conversion_approval.clone_from(&new.conversion_approval);
        }
        if new.supply_decision.is_some() {
            self.supply_decision = new.supply_decision;
        }
        if new.certificate_number.is_some() {
            self.certificate_number.clone_from(&new.certificate_number);
        }
        self
    }
}

/// `POST /api/v1/cases/{id}/facts`: a reviewer records documents (opinion, approval, supply
/// decision, certificate), under `If-Match`.
#[utoipa::path(post, path = "/cases/{id}/facts", tag = "cases", params(("id" = Uuid, Path, description = "The case id"), ("If-Match" = String, Header, description = "The ETag of the last read")), request_body = RecordedFacts, responses((status = 200, description = "The case as it now stands", body = CaseView, headers(("ETag" = String, description = "The new version")))))]
#[tracing::instrument(skip_all, fields(case = %id))]
pub async fn record_facts(
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    mut write: Write<Json<RecordedFacts>>,
) -> Result<Response, ApiError> {
    write
        .caller
        .require(&[Role::Reviewer], "record approval documents")?;
    let case = lock_case(&mut write, id, &headers).await?;
    let new = &write.body.0;
    let facts = case.recorded_facts()?.recording(new);
    let stored = serde_json::to_value(&facts).map_err(|e| ApiError::internal("storing the facts", e))?;
    let event = CaseEvent::at(case.state()?.stage(), "documents_recorded").with(json!(new));
    store::cases::set_facts(&mut write.tx, id, &stored).await?;
    let reply = answer_case(&mut write, id, &event, StatusCode::OK).await?;
    write.finish(reply).await
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn recording_keeps_what_the_request_leaves_out_and_replaces_what_it_gives() {
        let before = RecordedFacts {
            pre_review_opinion: Some("陕自然资预审〔2026〕1号".to_owned()),
            ..RecordedFacts::default()
        };
        let new = RecordedFacts {
            conversion_approval: Some("陕政土批〔2026〕3号".to_owned()),
            ..RecordedFacts::default()
        };
        let after = before.recording(&new);
        assert_eq!(
            after.pre_review_opinion.as_deref(),
            Some("陕自然资预审〔2026〕1号")
        );
        assert_eq!(after.conversion_approval.as_deref(), Some("陕政土批〔2026〕3号"));
    }

    #[test]
    fn a_blank_document_number_is_refused_while_the_body_is_parsed_naming_its_field() {
        let body = r#"{"pre_review_opinion": "陕自然资预审〔2026〕1号", "certificate_number": "  "}"#;
        let refused = serde_path_to_error::deserialize::<_, RecordedFacts>(
            &mut serde_json::Deserializer::from_str(body),
        )
        .unwrap_err();
        assert_eq!(refused.path().to_string(), "certificate_number");
        assert!(refused.to_string().contains("must not be blank"), "{refused}");
        let given: RecordedFacts =
            serde_json::from_str(r#"{"certificate_number": "陕(2026)汉滨区不动产权第1号"}"#).unwrap();
        assert!(given.certificate_number.is_some());
    }
}
