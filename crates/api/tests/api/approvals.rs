//! Approval records a check calls for, through the router: each result that asks for an outside
//! decision blocks its transition until its record exists, a bad record is refused naming its
//! field with nothing stored, and a re-check that no longer hits a record's feature lapses it.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::{import_every_layer_far_away, import_layer, square, Answer, TestApp};
use serde_json::{json, Value};
use sqlx::PgPool;

/// The parcel every case here has: a square of 0.001° at (109.0, 32.7).
pub(crate) const LON: f64 = 109.0;
pub(crate) const LAT: f64 = 32.7;

/// Opens a case (on a key project when `key`) with `declarations`, gives it the parcel at
/// (`lon`, `lat`) and takes it to pre-review; returns its id and ETag.
pub(crate) async fn case_in_pre_review(
    app: &TestApp,
    key: bool,
    declarations: Value,
    lon: f64,
) -> (String, String) {
    let project = app.project(key).await;
    let created = app
        .send(
            "POST",
            "/api/v1/cases",
            "officer",
            Some(json!({ "project_id": project, "title": "一期用地", "declarations": declarations })),
            &[],
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let case = created.json["id"].as_str().unwrap().to_owned();
    let put = put_parcel(app, &case, lon, &created.etag()).await;
    let submitted = app.act(&case, "officer", "submit", &put.etag(), None).await;
    let accepted = app
        .act(&case, "reviewer", "advance", &submitted.etag(), None)
        .await;
    assert_eq!(accepted.json["stage"], "pre_review", "{}", accepted.text);
    (case, accepted.etag())
}

async fn put_parcel(app: &TestApp, case: &str, lon: f64, etag: &str) -> Answer {
    let body = serde_json::to_vec(
        &json!({ "type": "Feature", "properties": {}, "geometry": square(lon, LAT, 0.001) }),
    )
    .unwrap();
    let put = app
        .send_raw(
            "PUT",
            &format!("/api/v1/cases/{case}/parcels"),
            "officer",
            "application/geo+json",
            body,
            &[("if-match", etag)],
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.text);
    put
}

/// Runs a check of `case` and has the planner confirm it; returns the confirmed check and the
/// case's ETag after it.
pub(crate) async fn checked(app: &TestApp, case: &str) -> (Value, String) {
    let run = app
        .send(
            "POST",
            &format!("/api/v1/cases/{case}/checks"),
            "planner",
            None,
            &[],
        )
        .await;
    assert_eq!(run.status, 201, "{}", run.text);
    let check_id = run.json["id"].as_str().unwrap().to_owned();
    let confirmed = app
        .send(
            "POST",
            &format!("/api/v1/cases/{case}/checks/{check_id}/confirm"),
            "planner",
            None,
            &[("if-match", &run.etag())],
        )
        .await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.text);
    {
        let etag = confirmed.etag();
        (confirmed.json, etag)
    }
}

/// The ids of the hits of `kind` in a check's answer.
pub(crate) fn hits_of(check: &Value, kind: &str) -> Vec<String> {
    check["report"]["layers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["kind"] == kind)
        .flat_map(|l| l["hits"].as_array().unwrap().iter())
        .map(|h| h["id"].as_str().unwrap().to_owned())
        .collect()
}

pub(crate) async fn record(app: &TestApp, who: &str, case: &str, etag: &str, body: Value) -> Answer {
    app.send(
        "POST",
        &format!("/api/v1/cases/{case}/approvals"),
        who,
        Some(body),
        &[
            ("if-match", etag),
            ("idempotency-key", &uuid::Uuid::now_v7().to_string()),
        ],
    )
    .await
}

pub(crate) fn approval(kind: &str, hits: &[String]) -> Value {
    json!({
        "kind": kind,
        "document_number": "陕林审〔2026〕12号",
        "authority": "陕西省林业局",
        "decided_on": "2026-11-30",
        "conclusion": "风险小，同意",
        "hits": hits,
    })
}

pub(crate) async fn issue_opinion(app: &TestApp, case: &str, etag: &str) -> String {
    let facts = app
        .send(
            "POST",
            &format!("/api/v1/cases/{case}/facts"),
            "reviewer",
            Some(json!({ "pre_review_opinion": "安自然资预〔2026〕12号" })),
            &[("if-match", etag)],
        )
        .await;
    assert_eq!(facts.status, 200, "{}", facts.text);
    facts.etag()
}

pub(crate) async fn records_of(app: &TestApp, case: &str) -> Value {
    let list = app
        .send(
            "GET",
            &format!("/api/v1/cases/{case}/approvals"),
            "reviewer",
            None,
            &[],
        )
        .await;
    assert_eq!(list.status, 200, "{}", list.text);
    list.json
}

#[sqlx::test(migrations = "../../migrations")]
async fn each_result_before_conversion_blocks_the_advance_until_its_record_exists(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    import_every_layer_far_away(&pool).await;
    let over_parcel = || square(LON + 0.0002, LAT + 0.0002, 0.0004);
    // (layer to lay over the parcel, its geometry, the case's declarations, the result, the
    // record it calls for, who records it)
    let table: [(&str, Value, Value, &str, &str, &str); 4] = [
        (
            "qinling_key",
            over_parcel(),
            json!({}),
            "needs_review",
            "review_opinion",
            "reviewer",
        ),
        (
            "geohazard",
            json!({ "type": "Point", "coordinates": [LON + 0.0005, LAT + 0.0005] }),
            json!({}),
            "warning",
            "geohazard_assessment",
            "planner",
        ),
        (
            "ecological_redline",
            over_parcel(),
            json!({ "allowed_activity": true }),
            "needs_approval",
            "authority_opinion",
            "reviewer",
        ),
        (
            "urban_boundary",
            square(LON + 0.0005, LAT - 0.001, 0.01),
            json!({ "outside_boundary_use": "linear_infrastructure" }),
            "outside_boundary",
            "outside_boundary_use",
            "reviewer",
        ),
    ];
    for (layer, geometry, declarations, result, kind, who) in table {
        import_layer(&pool, layer, vec![(geometry, json!({ "name": layer }))]).await;
        let (case, etag) = case_in_pre_review(&app, false, declarations, LON).await;
        let _ = etag;
        let (check, etag) = checked(&app, &case).await;
        assert_eq!(check["result"], result, "{layer}: {}", check["result"]);
        let etag = issue_opinion(&app, &case, &etag).await;
        let hits = hits_of(&check, layer);
        assert_eq!(hits.len(), 1, "{layer}");

        let refused = app.act(&case, "reviewer", "advance", &etag, None).await;
        assert_eq!(refused.status, 409, "{layer}: {}", refused.text);
        assert_eq!(refused.json["rule"], "approval-missing", "{layer}");
        let missing = refused.json["missing"].as_array().unwrap();
        assert_eq!(missing.len(), 1, "{layer}: {}", refused.text);
        assert_eq!(missing[0]["kind"], kind, "{layer}");
        assert_eq!(missing[0]["hit_id"], hits[0].as_str(), "{layer}");
        assert_eq!(missing[0]["feature"]["layer"], layer, "{layer}");
        assert!(missing[0]["feature"]["feature"]
            .as_str()
            .is_some_and(|f| !f.is_empty()));
        assert_eq!(missing[0]["result"], result, "{layer}");
        let detail = refused.json["detail"].as_str().unwrap();
        assert!(detail.contains(kind) && detail.contains(layer), "{detail}");
        let view = app
            .send("GET", &format!("/api/v1/cases/{case}"), "reviewer", None, &[])
            .await;
        assert_eq!(view.json["approvals"]["missing"][0]["kind"], kind, "{layer}");
        assert_eq!(view.json["stage"], "pre_review", "the refusal changed nothing");

        let recorded = record(&app, who, &case, &etag, approval(kind, &hits)).await;
        assert_eq!(recorded.status, 201, "{layer}: {}", recorded.text);
        let records = &recorded.json["approvals"]["records"];
        assert_eq!(records.as_array().unwrap().len(), 1, "{layer}");
        assert_eq!(records[0]["kind"], kind);
        assert_eq!(records[0]["lapsed"], false);
        assert_eq!(recorded.json["approvals"]["missing"], json!([]));

        let advanced = app
            .act(&case, "reviewer", "advance", &recorded.etag(), None)
            .await;
        assert_eq!(advanced.status, 200, "{layer}: {}", advanced.text);
        assert_eq!(advanced.json["stage"], "conversion");
        // The next case of the table sees this layer far away again.
        import_layer(
            &pool,
            layer,
            vec![(
                if layer == "urban_boundary" {
                    square(108.9, 32.6, 0.3)
                } else if layer == "geohazard" {
                    json!({ "type": "Point", "coordinates": [108.2, 33.6] })
                } else {
                    square(108.2, 33.6, 0.01)
                },
                json!({ "name": "far" }),
            )],
        )
        .await;
    }
}

#[sqlx::test(migrations = "../../migrations")]
async fn the_state_council_approval_blocks_the_conversion_approval_not_the_pre_review(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    import_every_layer_far_away(&pool).await;
    import_layer(
        &pool,
        "permanent_farmland",
        vec![(
            square(LON + 0.0002, LAT + 0.0002, 0.0004),
            json!({ "name": "基本农田" }),
        )],
    )
    .await;
    // A provincial transport project on the list may occupy permanent farmland with the State
    // Council's approval.
    let (case, _) = case_in_pre_review(&app, true, json!({}), LON).await;
    let (check, etag) = checked(&app, &case).await;
    assert_eq!(check["result"], "needs_state_council_approval");
    let hits = hits_of(&check, "permanent_farmland");
    let etag = issue_opinion(&app, &case, &etag).await;
    let converted = app.act(&case, "reviewer", "advance", &etag, None).await;
    assert_eq!(
        converted.status, 200,
        "not needed before conversion: {}",
        converted.text
    );
    assert_eq!(
        converted.json["approvals"]["missing"][0]["before_from"],
        "conversion"
    );

    let refused = app
        .act(&case, "reviewer", "advance", &converted.etag(), None)
        .await;
    assert_eq!(refused.status, 409, "{}", refused.text);
    assert_eq!(refused.json["rule"], "approval-missing");
    assert_eq!(refused.json["missing"][0]["kind"], "state_council_approval");
    assert_eq!(
        refused.json["missing"][0]["feature"]["layer"],
        "permanent_farmland"
    );

    let planner = record(
        &app,
        "planner",
        &case,
        &converted.etag(),
        approval("state_council_approval", &hits),
    )
    .await;
    assert_eq!(
        planner.status, 403,
        "only a reviewer records it: {}",
        planner.text
    );
    let mut body = approval("state_council_approval", &hits);
    body["document_number"] = json!("国函〔2026〕45号");
    body["authority"] = json!("国务院");
    let recorded = record(&app, "reviewer", &case, &converted.etag(), body).await;
    assert_eq!(recorded.status, 201, "{}", recorded.text);
    let next = app
        .act(&case, "reviewer", "advance", &recorded.etag(), None)
        .await;
    assert_ne!(
        next.json["rule"], "approval-missing",
        "the record answers it; the quota rules decide next: {}",
        next.text
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_bad_record_is_refused_naming_its_field_and_nothing_is_stored(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    import_every_layer_far_away(&pool).await;
    import_layer(
        &pool,
        "qinling_general",
        vec![(square(LON, LAT, 0.01), json!({ "name": "秦岭一般保护区" }))],
    )
    .await;
    let (case, _) = case_in_pre_review(&app, false, json!({}), LON).await;
    let (check, etag) = checked(&app, &case).await;
    let hits = hits_of(&check, "qinling_general");
    // Another case of the same zone: its hit is not this case's.
    let (other, _) = case_in_pre_review(&app, false, json!({}), LON + 0.003).await;
    let (other_check, _) = checked(&app, &other).await;
    let foreign = hits_of(&other_check, "qinling_general");
    assert_eq!((hits.len(), foreign.len()), (1, 1));

    let tomorrow = (app.clock.now() + chrono::Duration::days(2))
        .date_naive()
        .to_string();
    let cases: Vec<(Value, u16, &str)> = vec![
        (approval("review_opinion", &foreign), 422, "hits"),
        (
            {
                let mut b = approval("review_opinion", &hits);
                b["decided_on"] = json!(tomorrow);
                b
            },
            422,
            "decided_on",
        ),
        (
            {
                let mut b = approval("review_opinion", &hits);
                b["document_number"] = json!("  ");
                b
            },
            422,
            "document_number",
        ),
        (
            {
                let mut b = approval("review_opinion", &hits);
                b["authority"] = json!("");
                b
            },
            422,
            "authority",
        ),
        (approval("geohazard_assessment", &hits), 422, "hits"),
        (approval("review_opinion", &[]), 422, "hits"),
        (
            {
                let mut b = approval("review_opinion", &hits);
                b["document_number"] = json!("号".repeat(201));
                b
            },
            422,
            "document_number",
        ),
    ];
    for (body, status, field) in cases {
        let refused = record(&app, "reviewer", &case, &etag, body.clone()).await;
        assert_eq!(refused.status, status, "{body}: {}", refused.text);
        assert_eq!(refused.json["field"], field, "{body}: {}", refused.text);
        assert!(refused
            .headers
            .get("content-type")
            .is_some_and(|v| v.to_str().unwrap().starts_with("application/problem+json")));
        // Validated before the precondition: an old ETag changes nothing about the answer.
        let stale = record(&app, "reviewer", &case, "\"0\"", body.clone()).await;
        assert_eq!(stale.status, status, "422 before 412: {}", stale.text);
    }
    let officer = record(&app, "officer", &case, &etag, approval("review_opinion", &hits)).await;
    assert_eq!(officer.status, 403);
    let planner = record(&app, "planner", &case, &etag, approval("review_opinion", &hits)).await;
    assert_eq!(
        planner.status, 403,
        "a planner records only the geohazard assessment"
    );
    let no_if_match = app
        .send(
            "POST",
            &format!("/api/v1/cases/{case}/approvals"),
            "reviewer",
            Some(approval("review_opinion", &hits)),
            &[],
        )
        .await;
    assert_eq!(no_if_match.status, 428, "{}", no_if_match.text);

    assert_eq!(
        records_of(&app, &case).await["records"],
        json!([]),
        "nothing stored"
    );
    let stored: i64 = sqlx::query_scalar("select count(*) from case_approvals")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored, 0);
    let view = app
        .send("GET", &format!("/api/v1/cases/{case}"), "reviewer", None, &[])
        .await;
    assert_eq!(view.etag(), etag, "the case did not change");

    let ok = record(&app, "reviewer", &case, &etag, approval("review_opinion", &hits)).await;
    assert_eq!(ok.status, 201, "{}", ok.text);
    let history = app
        .send(
            "GET",
            &format!("/api/v1/cases/{case}/history"),
            "reviewer",
            None,
            &[],
        )
        .await;
    assert!(
        history.text.contains("approval_recorded"),
        "an audited event: {}",
        history.text
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_recheck_keeps_records_of_features_hit_again_and_lapses_the_others(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    import_every_layer_far_away(&pool).await;
    // Two Qinling key-zone features side by side: A under the first parcel, B under the second.
    import_layer(
        &pool,
        "qinling_key",
        vec![
            (square(LON, LAT, 0.002), json!({ "name": "A" })),
            (square(LON + 0.005, LAT, 0.002), json!({ "name": "B" })),
        ],
    )
    .await;
    let (case, _) = case_in_pre_review(&app, false, json!({}), LON).await;
    let (check, etag) = checked(&app, &case).await;
    let on_a = hits_of(&check, "qinling_key");
    assert_eq!(on_a.len(), 1);
    let recorded = record(&app, "reviewer", &case, &etag, approval("review_opinion", &on_a)).await;
    assert_eq!(recorded.status, 201, "{}", recorded.text);
    let record_id = recorded.json["approvals"]["records"][0]["id"].clone();

    // The same parcel checked again: the same feature is hit, the record still answers it.
    let (again, etag) = checked(&app, &case).await;
    assert_ne!(
        hits_of(&again, "qinling_key"),
        on_a,
        "a new check has new hit rows"
    );
    let list = records_of(&app, &case).await;
    assert_eq!(list["records"][0]["lapsed"], false, "{list}");
    assert_eq!(list["missing"], json!([]));

    // The parcel moves onto B: the record lapses and B's review opinion is missing.
    let moved = put_parcel(&app, &case, LON + 0.0055, &etag).await;
    let run = app
        .send(
            "POST",
            &format!("/api/v1/cases/{case}/checks"),
            "planner",
            None,
            &[],
        )
        .await;
    assert_eq!(run.status, 201, "{}", run.text);
    let _ = moved;
    let list = records_of(&app, &case).await;
    assert_eq!(list["records"][0]["id"], record_id);
    assert_eq!(list["records"][0]["lapsed"], true, "{list}");
    assert_eq!(
        list["missing"],
        json!([]),
        "nothing is listed against an unconfirmed check"
    );

    let (moved_check, etag) = {
        let check_id = run.json["id"].as_str().unwrap().to_owned();
        let confirmed = app
            .send(
                "POST",
                &format!("/api/v1/cases/{case}/checks/{check_id}/confirm"),
                "planner",
                None,
                &[("if-match", &run.etag())],
            )
            .await;
        assert_eq!(confirmed.status, 200, "{}", confirmed.text);
        {
            let etag = confirmed.etag();
            (confirmed.json, etag)
        }
    };
    let on_b = hits_of(&moved_check, "qinling_key");
    let list = records_of(&app, &case).await;
    assert_eq!(list["missing"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list["missing"][0]["hit_id"], on_b[0].as_str());
    let etag = issue_opinion(&app, &case, &etag).await;
    let refused = app.act(&case, "reviewer", "advance", &etag, None).await;
    assert_eq!(refused.json["rule"], "approval-missing", "{}", refused.text);
    // A record of the first check's hit cannot answer the new one.
    let old_hit = record(&app, "reviewer", &case, &etag, approval("review_opinion", &on_a)).await;
    assert_eq!(old_hit.status, 422, "{}", old_hit.text);
    assert_eq!(old_hit.json["field"], "hits");
}
