//! Spatial checks through the API: run, read, dismiss a hit, confirm, and what the stage rules
//! make of them.
#![allow(clippy::unwrap_used)]

use crate::common;

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

#[sqlx::test(migrations = "../../migrations")]
async fn existing_construction_land_under_a_parcel_lowers_the_quota_its_case_needs(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    import_every_layer_far_away(&pool).await;
    // A village plot on the south-west quarter of the parcel, and a rural road (1006, farmland
    // in the survey's classes) across the rest that must not count.
    import_layer(
        &pool,
        "construction_land",
        vec![
            (
                square(109.0, 32.7, 0.0005),
                json!({ "DLBM": "0702", "DLMC": "农村宅基地" }),
            ),
            (
                square(109.0005, 32.7005, 0.0005),
                json!({ "DLBM": "1006", "DLMC": "农村道路" }),
            ),
        ],
    )
    .await;
    let (case, etag) = case_with_parcel(&app, 109.0, 32.7, 0.001).await;
    let before = app
        .send(
            "GET",
            &format!("/api/v1/cases/{case}/quota"),
            "officer",
            None,
            &[],
        )
        .await;
    assert_eq!(
        before.json["position"]["needed_mu"],
        serde_json::Value::Null,
        "no confirmed check, no need"
    );
    let run = app
        .send(
            "POST",
            &format!("/api/v1/cases/{case}/checks"),
            "planner",
            None,
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(run.status, 201, "{}", run.text);
    let layer = |kind: &str| {
        run.json["report"]["layers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["kind"] == kind)
            .unwrap()
            .clone()
    };
    let construction = layer("construction_land");
    assert_eq!(
        construction["result"], "ok",
        "existing construction land restricts nothing"
    );
    assert_eq!(
        construction["hits"].as_array().unwrap().len(),
        1,
        "the rural road is not construction land"
    );
    let case_m2 = run.json["report"]["case_area"]["m2"].as_f64().unwrap();
    let built_m2 = construction["counted"]["m2"].as_f64().unwrap();
    assert!(
        (built_m2 / case_m2 - 0.25).abs() < 0.01,
        "{built_m2} of {case_m2}"
    );
    let check_id = run.json["id"].as_str().unwrap();
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
    let quota = app
        .send(
            "GET",
            &format!("/api/v1/cases/{case}/quota"),
            "officer",
            None,
            &[],
        )
        .await;
    let expected = ((case_m2 - built_m2) * 15.0 / 10_000.0 * 100.0).ceil() / 100.0;
    assert_eq!(
        quota.json["position"]["needed_mu"].as_f64(),
        Some(expected),
        "{}",
        quota.text
    );
    assert_eq!(quota.json["shortfall_mu"].as_f64(), Some(expected));
    assert!(
        expected < case_m2 * 15.0 / 10_000.0,
        "the case needs less than its area"
    );
    // The case view and the case list say the same.
    let view = app
        .send("GET", &format!("/api/v1/cases/{case}"), "officer", None, &[])
        .await;
    assert_eq!(
        view.json["quota"],
        json!({ "needed_mu": expected, "held_mu": 0.0, "consumed_mu": 0.0, "shortfall_mu": expected })
    );
    let list = app.send("GET", "/api/v1/cases", "officer", None, &[]).await;
    let listed = list.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == json!(case))
        .unwrap()
        .clone();
    assert_eq!(listed["quota"], view.json["quota"]);
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_stored_project_level_that_does_not_parse_refuses_the_check_instead_of_deciding_without_it(
    pool: PgPool,
) {
    let app = TestApp::new(pool.clone()).await;
    import_every_layer_far_away(&pool).await;
    let (case, etag) = case_with_parcel(&app, 109.0, 32.7, 0.001).await;
    // Written by something other than the service, past the constraint that guards the column
    // (an old dump, a hand edit): parsed loosely, it would silently switch off the State Council
    // rule for permanent farmland.
    sqlx::query("alter table projects drop constraint projects_level_known")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("update projects set level = 'Provincial' where id = (select project_id from cases where id = $1::uuid)")
        .bind(&case)
        .execute(&pool)
        .await
        .unwrap();
    let run = app
        .send(
            "POST",
            &format!("/api/v1/cases/{case}/checks"),
            "planner",
            None,
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(run.status, 500, "{}", run.text);
    assert!(run.json["trace_id"].is_string(), "{}", run.text);
    let checks: i64 = sqlx::query_scalar("select count(*) from checks where case_id = $1::uuid")
        .bind(&case)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(checks, 0, "nothing is stored");
}
