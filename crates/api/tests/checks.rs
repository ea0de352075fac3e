//! Spatial checks through the API: run, read, dismiss a hit, confirm, and what the stage rules
//! make of them.
#![allow(clippy::unwrap_used)]

mod common;

use common::{import_every_layer_far_away, import_layer, square, TestApp};
use serde_json::json;
use sqlx::PgPool;

async fn case_with_parcel(app: &TestApp, lon: f64, lat: f64, side: f64) -> (String, String) {
    let project = app.project(false).await;
    let (case, etag) = app.case(&project).await;
    let body = serde_json::to_vec(
        &json!({ "type": "Feature", "properties": {}, "geometry": square(lon, lat, side) }),
    )
    .unwrap();
    let put = app
        .send_raw(
            "PUT",
            &format!("/api/v1/cases/{case}/parcels"),
            "officer",
            "application/geo+json",
            body,
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.text);
    (case, put.etag())
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_check_without_layers_reports_every_layer_not_checked(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (case, _) = case_with_parcel(&app, 109.0, 32.7, 0.001).await;
    let r = app
        .send(
            "POST",
            &format!("/api/v1/cases/{case}/checks"),
            "planner",
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["result"], "not_checked");
    assert_eq!(r.json["report"]["unchecked"].as_array().unwrap().len(), 12);
    let officer = app
        .send(
            "POST",
            &format!("/api/v1/cases/{case}/checks"),
            "officer",
            None,
            &[],
        )
        .await;
    assert_eq!(officer.status, 403, "only planners run checks");
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_red_line_overlap_is_prohibited_until_a_planner_dismisses_it(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    import_every_layer_far_away(&pool).await;
    // A red-line square whose west half covers the east half of the parcel.
    import_layer(
        &pool,
        "ecological_redline",
        vec![(square(109.0005, 32.7, 0.001), json!({ "STBHHX": "汉江红线" }))],
    )
    .await;
    let (case, _) = case_with_parcel(&app, 109.0, 32.7, 0.001).await;
    let r = app
        .send(
            "POST",
            &format!("/api/v1/cases/{case}/checks"),
            "planner",
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["result"], "prohibited");
    let layer = r.json["report"]["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["kind"] == "ecological_redline")
        .unwrap()
        .clone();
    let share = layer["counted_share"].as_f64().unwrap();
    assert!(
        (share - 0.5).abs() < 0.01,
        "half the parcel lies in the red line: {share}"
    );
    let hit = &layer["hits"][0];
    assert_eq!(hit["attributes"]["STBHHX"], "汉江红线");
    let hit_id = hit["id"].as_str().unwrap().to_owned();
    let check_id = r.json["id"].as_str().unwrap().to_owned();
    // The answer to the run is built from memory; reading the check back gives the same.
    let stored = app
        .send(
            "GET",
            &format!("/api/v1/cases/{case}/checks/{check_id}"),
            "planner",
            None,
            &[],
        )
        .await;
    assert_eq!(stored.status, 200);
    assert_eq!(stored.json, r.json, "the stored check is the one answered");

    let case_now = app
        .send("GET", &format!("/api/v1/cases/{case}"), "planner", None, &[])
        .await;
    let path = format!("/api/v1/cases/{case}/checks/{check_id}/hits/{hit_id}/dismiss");
    let by_reviewer = app
        .send(
            "POST",
            &path,
            "reviewer",
            Some(json!({ "reason": "x" })),
            &[("if-match", &case_now.etag())],
        )
        .await;
    assert_eq!(by_reviewer.status, 403);
    let dismissed = app
        .send(
            "POST",
            &path,
            "planner",
            Some(json!({ "reason": "实测界址点证明不在红线内" })),
            &[("if-match", &case_now.etag())],
        )
        .await;
    assert_eq!(dismissed.status, 200, "{}", dismissed.text);
    assert_eq!(
        dismissed.json["result"], "ok",
        "decided again without the dismissed hit"
    );
    let layer = dismissed.json["report"]["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["kind"] == "ecological_redline")
        .unwrap()
        .clone();
    assert_eq!(
        layer["hits"][0]["dismissal"]["reason"],
        "实测界址点证明不在红线内"
    );
    assert_eq!(
        layer["result"], "prohibited",
        "the stored report itself is immutable"
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_stale_check_cannot_be_confirmed_and_a_confirmed_clean_check_opens_conversion(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    import_every_layer_far_away(&pool).await;
    let (case, etag) = case_with_parcel(&app, 109.0, 32.7, 0.001).await;
    let a = app.act(&case, "officer", "submit", &etag, None).await;
    let b = app.act(&case, "reviewer", "advance", &a.etag(), None).await;
    assert_eq!(b.json["stage"], "pre_review");

    let run = app
        .send(
            "POST",
            &format!("/api/v1/cases/{case}/checks"),
            "planner",
            None,
            &[],
        )
        .await;
    assert_eq!(run.json["result"], "ok", "{}", run.text);
    let check_id = run.json["id"].as_str().unwrap().to_owned();
    let confirm_path = format!("/api/v1/cases/{case}/checks/{check_id}/confirm");
    let confirmed = app
        .send(
            "POST",
            &confirm_path,
            "planner",
            None,
            &[("if-match", &run.etag())],
        )
        .await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.text);

    let no_opinion = app
        .act(&case, "reviewer", "advance", &confirmed.etag(), None)
        .await;
    assert_eq!(
        no_opinion.json["rule"], "opinion-not-issued",
        "{}",
        no_opinion.text
    );
    let facts = app
        .send(
            "POST",
            &format!("/api/v1/cases/{case}/facts"),
            "reviewer",
            Some(json!({ "pre_review_opinion": "安自然资预〔2026〕12号" })),
            &[("if-match", &confirmed.etag())],
        )
        .await;
    assert_eq!(facts.status, 200, "{}", facts.text);
    let advanced = app.act(&case, "reviewer", "advance", &facts.etag(), None).await;
    assert_eq!(advanced.status, 200, "{}", advanced.text);
    assert_eq!(advanced.json["stage"], "conversion");

    // A parcel change afterwards makes the check stale; it can no longer be confirmed.
    let (case2, etag2) = case_with_parcel(&app, 109.0, 32.7, 0.001).await;
    let run2 = app
        .send(
            "POST",
            &format!("/api/v1/cases/{case2}/checks"),
            "planner",
            None,
            &[],
        )
        .await;
    let body = serde_json::to_vec(&square(109.1, 32.7, 0.001)).unwrap();
    let put = app
        .send_raw(
            "PUT",
            &format!("/api/v1/cases/{case2}/parcels"),
            "officer",
            "application/geo+json",
            body,
            &[("if-match", &run2.etag())],
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.text);
    let stale = app
        .send(
            "POST",
            &format!(
                "/api/v1/cases/{case2}/checks/{}/confirm",
                run2.json["id"].as_str().unwrap()
            ),
            "planner",
            None,
            &[("if-match", &put.etag())],
        )
        .await;
    assert_eq!(
        (
            stale.status,
            stale.json["type"].as_str().unwrap().ends_with("check-stale")
        ),
        (409, true),
        "{}",
        stale.text
    );
    let _ = etag2;
}
