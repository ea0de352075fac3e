//! The workflow API through the router: projects, cases, transitions, refusals, ETags,
//! idempotency and county scoping.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::TestApp;
use serde_json::json;
use sqlx::PgPool;

async fn history_len(app: &TestApp, case: &str) -> usize {
    let answer = app
        .send(
            "GET",
            &format!("/api/v1/cases/{case}/history"),
            "reviewer",
            None,
            &[],
        )
        .await;
    answer.json.as_array().unwrap().len()
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_case_moves_from_draft_to_pre_review_and_opens_then_strikes_ledger_items(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let project = app.project(false).await;
    let (case, etag) = app.case(&project).await;

    let submitted = app.act(&case, "officer", "submit", &etag, None).await;
    assert_eq!(submitted.status, 200, "{}", submitted.text);
    assert_eq!(submitted.json["stage"], "accepted");
    assert_eq!(submitted.json["ledger"]["status"], "open");
    assert_eq!(submitted.json["deadline"]["stage"], "accepted");
    let first_item = submitted.json["ledger"]["id"].clone();

    let advanced = app
        .act(&case, "reviewer", "advance", &submitted.etag(), None)
        .await;
    assert_eq!(advanced.status, 200, "{}", advanced.text);
    assert_eq!(advanced.json["stage"], "pre_review");
    assert_ne!(
        advanced.json["ledger"]["id"], first_item,
        "a new stage opens a new ledger item"
    );

    let ledger = app
        .send(
            "GET",
            "/api/v1/ledger?include_cleared=true",
            "reviewer",
            None,
            &[],
        )
        .await;
    let items = ledger.json.as_array().unwrap();
    assert_eq!(items.len(), 2);
    let cleared: Vec<_> = items.iter().filter(|i| i["status"] == "cleared").collect();
    assert_eq!(cleared.len(), 1);
    assert_eq!(cleared[0]["outcome"], "advanced");
    assert_eq!(history_len(&app, &case).await, 3, "created, submit, advance");
}

#[sqlx::test(migrations = "../../migrations")]
async fn pre_review_cannot_advance_without_a_confirmed_check(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let project = app.project(false).await;
    let (case, etag) = app.case(&project).await;
    let a = app.act(&case, "officer", "submit", &etag, None).await;
    let b = app.act(&case, "reviewer", "advance", &a.etag(), None).await;
    let refused = app.act(&case, "reviewer", "advance", &b.etag(), None).await;
    assert_eq!(refused.status, 409, "{}", refused.text);
    assert_eq!(refused.headers["content-type"], "application/problem+json");
    assert_eq!(refused.json["rule"], "check-missing");
    let after = app
        .send("GET", &format!("/api/v1/cases/{case}"), "reviewer", None, &[])
        .await;
    assert_eq!(after.json["stage"], "pre_review");
    assert_eq!(after.etag(), b.etag(), "a refused transition changes nothing");
}

#[sqlx::test(migrations = "../../migrations")]
async fn refusals_name_the_rule_and_change_nothing(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let project = app.project(false).await;
    let (case, etag) = app.case(&project).await;

    // wrong role
    let r = app.act(&case, "reviewer", "submit", &etag, None).await;
    assert_eq!(
        (r.status, r.json["rule"].as_str()),
        (403, Some("role-may-not")),
        "{}",
        r.text
    );
    // wrong stage
    let r = app.act(&case, "reviewer", "advance", &etag, None).await;
    assert_eq!(
        (r.status, r.json["rule"].as_str()),
        (409, Some("not-allowed-from")),
        "{}",
        r.text
    );
    // other county: as if it did not exist
    let r = app.act(&case, "officer2", "submit", &etag, None).await;
    assert_eq!(r.status, 404, "{}", r.text);
    let r = app
        .send("GET", &format!("/api/v1/cases/{case}"), "officer2", None, &[])
        .await;
    assert_eq!(r.status, 404);
    // stale If-Match
    let r = app.act(&case, "officer", "submit", "\"v999\"", None).await;
    assert_eq!(r.status, 412, "{}", r.text);
    // no If-Match
    let r = app
        .send(
            "POST",
            &format!("/api/v1/cases/{case}/transitions"),
            "officer",
            Some(json!({"action": "submit"})),
            &[],
        )
        .await;
    assert_eq!(r.status, 428, "{}", r.text);
    // no token
    let r = app.act(&case, "", "submit", &etag, None).await;
    assert_eq!(r.status, 401);
    assert!(r.headers.contains_key("www-authenticate"));
    // a reason is required to withdraw
    let r = app.act(&case, "officer", "withdraw", &etag, None).await;
    assert_eq!(
        (r.status, r.json["rule"].as_str()),
        (422, Some("reason-required")),
        "{}",
        r.text
    );

    let after = app
        .send("GET", &format!("/api/v1/cases/{case}"), "officer", None, &[])
        .await;
    assert_eq!(after.json["stage"], "draft");
    assert_eq!(after.etag(), etag);
    assert_eq!(history_len(&app, &case).await, 1, "only the creation event");
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_retried_post_with_the_same_idempotency_key_acts_once(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let project = app.project(false).await;
    let (case, etag) = app.case(&project).await;
    let body = json!({ "action": "submit" });
    let path = format!("/api/v1/cases/{case}/transitions");
    let headers = [("if-match", etag.as_str()), ("idempotency-key", "k-1")];
    let first = app
        .send("POST", &path, "officer", Some(body.clone()), &headers)
        .await;
    let second = app.send("POST", &path, "officer", Some(body), &headers).await;
    assert_eq!((first.status, second.status), (200, 200), "{}", second.text);
    assert_eq!(first.json, second.json);
    assert_eq!(second.headers["idempotent-replayed"], "true");
    assert_eq!(history_len(&app, &case).await, 2, "created and one submit");

    let reused = app
        .send(
            "POST",
            &path,
            "officer",
            Some(json!({ "action": "withdraw", "reason": "x" })),
            &headers,
        )
        .await;
    assert_eq!(reused.status, 422, "{}", reused.text);

    // Another project: a project's second case would have to be one of its phases.
    let other = app.project(false).await;
    let create = json!({ "project_id": other, "title": "二期" });
    let a = app
        .send(
            "POST",
            "/api/v1/cases",
            "officer",
            Some(create.clone()),
            &[("idempotency-key", "c-1")],
        )
        .await;
    let b = app
        .send(
            "POST",
            "/api/v1/cases",
            "officer",
            Some(create),
            &[("idempotency-key", "c-1")],
        )
        .await;
    assert_eq!(a.json["id"], b.json["id"]);
    let count: i64 = sqlx::query_scalar("select count(*) from cases")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(count, 2);
}

#[sqlx::test(migrations = "../../migrations")]
async fn correction_pauses_the_clock_and_returns_to_the_stage_left(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let project = app.project(false).await;
    let (case, etag) = app.case(&project).await;
    let a = app.act(&case, "officer", "submit", &etag, None).await;
    let b = app.act(&case, "reviewer", "advance", &a.etag(), None).await;
    let c = app
        .act(
            &case,
            "reviewer",
            "request_correction",
            &b.etag(),
            Some("缺少勘测定界图"),
        )
        .await;
    assert_eq!(c.status, 200, "{}", c.text);
    assert_eq!(
        (c.json["stage"].as_str(), c.json["returns_to"].as_str()),
        (Some("correction"), Some("pre_review"))
    );
    assert_eq!(c.json["deadline"]["paused"], true);
    assert!(
        c.json["ledger"].is_null(),
        "the item is struck off while the applicant answers"
    );
    let d = app
        .act(&case, "officer", "answer_correction", &c.etag(), Some("已补正"))
        .await;
    assert_eq!(d.status, 200, "{}", d.text);
    assert_eq!(d.json["stage"], "pre_review");
    assert_eq!(
        d.json["ledger"]["status"], "open",
        "a new item opens on the answer"
    );
    let ledger = app
        .send(
            "GET",
            "/api/v1/ledger?include_cleared=true",
            "reviewer",
            None,
            &[],
        )
        .await;
    let outcomes: Vec<_> = ledger
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["outcome"].clone())
        .collect();
    assert!(
        outcomes.contains(&json!("returned_for_correction")),
        "{outcomes:?}"
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn the_queue_lists_green_channel_cases_first_and_pages_with_a_cursor(pool: PgPool) {
    let app = TestApp::new(pool).await;
    // One case per project: a second case of a project must be a phase, and only green
    // projects are phased.
    let mut ids = Vec::new();
    for key in [false, false, true, false] {
        let project = app.project(key).await;
        let (case, etag) = app.case(&project).await;
        app.act(&case, "officer", "submit", &etag, None).await;
        ids.push(case);
    }
    let page1 = app
        .send("GET", "/api/v1/cases?limit=2", "reviewer", None, &[])
        .await;
    assert_eq!(page1.status, 200, "{}", page1.text);
    let items = page1.json["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["id"], json!(ids[2]), "the key project's case is first");
    assert_eq!(items[0]["green"], true);
    let next = page1.json["next"].as_str().unwrap();
    let page2 = app
        .send(
            "GET",
            &format!("/api/v1/cases?limit=2&cursor={next}"),
            "reviewer",
            None,
            &[],
        )
        .await;
    let rest = page2.json["items"].as_array().unwrap();
    assert_eq!(rest.len(), 2);
    assert!(page2.json["next"].is_null());
    let mut seen: Vec<_> = items
        .iter()
        .chain(rest)
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect();
    seen.sort();
    let mut all = ids.clone();
    all.sort();
    assert_eq!(seen, all, "every case exactly once across the pages");

    let green_only = app
        .send("GET", "/api/v1/cases?green=true", "reviewer", None, &[])
        .await;
    assert_eq!(green_only.json["items"].as_array().unwrap().len(), 1);
    let other_county = app.send("GET", "/api/v1/cases", "officer2", None, &[]).await;
    assert_eq!(other_county.json["items"].as_array().unwrap().len(), 0);
    let bad = app
        .send("GET", "/api/v1/cases?colour=red", "reviewer", None, &[])
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.headers["content-type"], "application/problem+json");
}

#[sqlx::test(migrations = "../../migrations")]
async fn only_a_leader_grants_the_green_channel_and_it_moves_the_case_up(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let project = app.project(false).await;
    let (case, etag) = app.case(&project).await;
    let a = app.act(&case, "officer", "submit", &etag, None).await;
    let path = format!("/api/v1/cases/{case}/green-channel");
    let body = json!({ "action": "grant", "reason": "市委督办项目" });
    let refused = app
        .send(
            "POST",
            &path,
            "reviewer",
            Some(body.clone()),
            &[("if-match", &a.etag())],
        )
        .await;
    assert_eq!(refused.status, 403);
    let granted = app
        .send("POST", &path, "leader", Some(body), &[("if-match", &a.etag())])
        .await;
    assert_eq!(granted.status, 200, "{}", granted.text);
    assert_eq!(
        (
            granted.json["green"].as_bool(),
            granted.json["green_basis"].as_str()
        ),
        (Some(true), Some("leader_grant"))
    );
    assert_eq!(granted.json["deadline"]["stage"], "accepted");
    let revoke = json!({ "action": "revoke", "reason": "督办结束" });
    let revoked = app
        .send(
            "POST",
            &path,
            "leader",
            Some(revoke),
            &[("if-match", &granted.etag())],
        )
        .await;
    assert_eq!(revoked.status, 200, "{}", revoked.text);
    assert_eq!(revoked.json["green"], false);
}

#[sqlx::test(migrations = "../../migrations")]
async fn bad_bodies_get_problem_documents_naming_the_field(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let r = app
        .send("POST", "/api/v1/projects", "officer", Some(json!({ "name": "x", "county_code": "610902", "level": "galactic", "category": "industry", "year": 2026 })), &[])
        .await;
    assert_eq!(
        (r.status, r.json["field"].as_str()),
        (422, Some("level")),
        "{}",
        r.text
    );
    let r = app
        .send("POST", "/api/v1/projects", "officer", Some(json!({ "name": "x", "county_code": "610902", "level": "county", "category": "industry", "year": 2026, "colour": 1 })), &[])
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(r.json["detail"].as_str().unwrap().contains("colour"));
    let r = app
        .send("POST", "/api/v1/projects", "officer", Some(json!({ "name": "x", "county_code": "610921", "level": "county", "category": "industry", "year": 2026 })), &[])
        .await;
    assert_eq!(r.status, 404, "another county's code is as if it did not exist");
    let count: i64 = sqlx::query_scalar("select count(*) from projects")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(count, 0);
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_gis_token_reads_nothing_under_the_api(pool: PgPool) {
    let app = TestApp::new(pool).await;
    for path in [
        "/api/v1/cases",
        "/api/v1/projects",
        "/api/v1/ledger",
        "/api/v1/counties",
    ] {
        let r = app.send("GET", path, "gis", None, &[]).await;
        assert_eq!(r.status, 403, "{path}: {}", r.text);
    }
    let r = app.send("GET", "/ogc/collections", "gis", None, &[]).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

/// The document says what `declarations` may hold, and the handler holds to it when the case
/// is opened rather than first when a planner runs the check.
#[sqlx::test(migrations = "../../migrations")]
async fn declarations_are_checked_when_a_case_is_opened_and_shown_as_given(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let project = app.project(false).await;
    let open = |declarations: serde_json::Value| {
        let body = json!({ "project_id": project, "title": "二期", "declarations": declarations });
        app.send("POST", "/api/v1/cases", "officer", Some(body), &[])
    };
    let refused = open(json!({ "red_line_waiver": true })).await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert!(
        refused.json["field"]
            .as_str()
            .unwrap()
            .starts_with("declarations"),
        "{}",
        refused.text
    );
    let refused = open(json!({ "outside_boundary_use": "airport" })).await;
    assert_eq!(refused.status, 422, "{}", refused.text);

    let opened = open(json!({ "outside_boundary_use": "linear_infrastructure" })).await;
    assert_eq!(opened.status, 201, "{}", opened.text);
    assert_eq!(
        opened.json["declarations"],
        json!({ "outside_boundary_use": "linear_infrastructure" })
    );
    assert_eq!(opened.etag(), "\"v1\"", "a new case is version 1");
}

/// A reason the schema refuses (over 2000 characters, or blank where one is required) is refused
/// while the body is read, naming the field, before the ETag or the stage is looked at.
#[sqlx::test(migrations = "../../migrations")]
async fn a_reason_the_schema_refuses_is_a_422_whatever_the_etag(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let project = app.project(false).await;
    let (case, _) = app.case(&project).await;
    let long = "理".repeat(2001);
    let stale = [("if-match", "\"v999\"")];
    let moved = app
        .send(
            "POST",
            &format!("/api/v1/cases/{case}/transitions"),
            "officer",
            Some(json!({ "action": "withdraw", "reason": long })),
            &stale,
        )
        .await;
    assert_eq!(
        (moved.status, moved.json["field"].as_str()),
        (422, Some("reason")),
        "{}",
        moved.text
    );
    let granted = app
        .send(
            "POST",
            &format!("/api/v1/cases/{case}/green-channel"),
            "leader",
            Some(json!({ "action": "grant", "reason": "  " })),
            &stale,
        )
        .await;
    assert_eq!(
        (granted.status, granted.json["field"].as_str()),
        (422, Some("reason")),
        "{}",
        granted.text
    );
    assert_eq!(history_len(&app, &case).await, 1, "only the creation event");
}
