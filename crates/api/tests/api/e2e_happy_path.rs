//! End to end against the real `landuse` binary: a normal case and a green-channel case walk
//! from draft to completed over HTTP, through every role, the check, the quota allocation and
//! the farmland offset, with the history, the ledger and the OpenAPI document checked on the way.
#![allow(clippy::unwrap_used, clippy::too_many_lines)]

use crate::common;

use common::{import_every_layer_far_away, import_layer, square, url_of, TestApp, TestServer};
use serde_json::{json, Value};
use sqlx::{
    postgres::{PgConnectOptions, PgPoolOptions},
    PgPool,
};

/// A client of the running server, with the tokens `TestApp` issued.
struct Client {
    server: TestServer,
    tokens: std::collections::HashMap<&'static str, String>,
}

struct Reply {
    status: u16,
    etag: String,
    json: Value,
    text: String,
}

impl Client {
    async fn send(
        &self,
        method: &str,
        path: &str,
        who: &str,
        body: Option<Value>,
        if_match: Option<&str>,
    ) -> Reply {
        let mut request = self
            .server
            .http
            .request(method.parse().unwrap(), self.server.url(path));
        if let Some(token) = self.tokens.get(who) {
            request = request.bearer_auth(token);
        }
        if let Some(etag) = if_match {
            request = request.header("if-match", etag);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let etag = response
            .headers()
            .get("etag")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let text = response.text().await.unwrap();
        Reply {
            status,
            etag,
            json: serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
        }
    }

    /// Sends and insists on `status`.
    async fn expect(
        &self,
        status: u16,
        method: &str,
        path: &str,
        who: &str,
        body: Option<Value>,
        if_match: Option<&str>,
    ) -> Reply {
        let reply = self.send(method, path, who, body, if_match).await;
        assert_eq!(reply.status, status, "{method} {path} as {who}: {}", reply.text);
        reply
    }

    async fn act(&self, case: &str, who: &str, action: &str, etag: &str) -> Reply {
        self.expect(
            200,
            "POST",
            &format!("/api/v1/cases/{case}/transitions"),
            who,
            Some(json!({ "action": action })),
            Some(etag),
        )
        .await
    }

    async fn facts(&self, case: &str, etag: &str, facts: Value) -> Reply {
        self.expect(
            200,
            "POST",
            &format!("/api/v1/cases/{case}/facts"),
            "reviewer",
            Some(facts),
            Some(etag),
        )
        .await
    }
}

/// The parcel: 0.002° square inside the urban boundary of `import_every_layer_far_away`, half of
/// it on a paddy field.
fn parcel(lon: f64) -> Value {
    square(lon, 32.70, 0.002)
}

async fn start(pool: PgPool, options: &PgConnectOptions) -> Client {
    let app = TestApp::new(pool.clone()).await;
    import_every_layer_far_away(&pool).await;
    import_layer(
        &pool,
        "cultivated_land",
        vec![
            (
                square(109.001, 32.70, 0.001),
                json!({ "DLBM": "0101", "DLMC": "水田" }),
            ),
            (
                square(109.101, 32.70, 0.001),
                json!({ "DLBM": "0101", "DLMC": "水田" }),
            ),
        ],
    )
    .await;
    let server = TestServer::spawn(&url_of(options), &[]);
    Client {
        server,
        tokens: app.tokens.clone(),
    }
}

/// Walks one case from draft to completed and returns its id.
async fn walk(client: &Client, key_project: bool, lon: f64) -> String {
    let project = client
        .expect(
            201,
            "POST",
            "/api/v1/projects",
            "officer",
            Some(json!({
                "name": if key_project { "安康机场连接线" } else { "汉滨区标准化厂房" },
                "county_code": "610902",
                "category": if key_project { "infrastructure" } else { "industry" },
                "year": 2026
            })),
            None,
        )
        .await;
    let project_etag = project.etag.clone();
    let project = project.json["id"].as_str().unwrap().to_owned();
    if key_project {
        // The list is the bureau's: the leader puts the project on it.
        client
            .expect(
                200,
                "PUT",
                &format!("/api/v1/projects/{project}/designation"),
                "leader",
                Some(common::key_designation("provincial", "transport")),
                Some(&project_etag),
            )
            .await;
    }
    let case = client
        .expect(
            201,
            "POST",
            "/api/v1/cases",
            "officer",
            Some(json!({ "project_id": project, "title": "一期用地" })),
            None,
        )
        .await;
    assert_eq!(case.json["stage"], "draft");
    let id = case.json["id"].as_str().unwrap().to_owned();

    let parcels = client
        .expect(
            200,
            "PUT",
            &format!("/api/v1/cases/{id}/parcels"),
            "officer",
            Some(json!({ "type": "Feature", "properties": { "name": "一号地块" }, "geometry": parcel(lon) })),
            Some(&case.etag),
        )
        .await;
    assert_eq!(parcels.json["parcels"]["features"].as_array().unwrap().len(), 1);
    let submitted = client.act(&id, "officer", "submit", &parcels.etag).await;

    if key_project {
        // A key project rides the green channel once a leader grants it.
        let granted = client
            .expect(
                200,
                "POST",
                &format!("/api/v1/cases/{id}/green-channel"),
                "leader",
                Some(json!({ "action": "grant", "reason": "省级重点项目，局领导包抓" })),
                Some(&submitted.etag),
            )
            .await;
        assert_eq!(granted.json["green"], true, "{}", granted.text);
    }
    let current = client
        .expect(200, "GET", &format!("/api/v1/cases/{id}"), "reviewer", None, None)
        .await;
    assert_eq!(current.json["green"], key_project, "{}", current.text);
    let pre_review = client.act(&id, "reviewer", "advance", &current.etag).await;
    assert_eq!(pre_review.json["stage"], "pre_review", "{}", pre_review.text);

    // The planner checks the footprint: half of it is paddy field, so it needs an offset.
    let check = client
        .expect(
            201,
            "POST",
            &format!("/api/v1/cases/{id}/checks"),
            "planner",
            None,
            None,
        )
        .await;
    assert_eq!(check.json["result"], "needs_offset", "{}", check.text);
    let check_id = check.json["id"].as_str().unwrap().to_owned();
    let confirmed = client
        .expect(
            200,
            "POST",
            &format!("/api/v1/cases/{id}/checks/{check_id}/confirm"),
            "planner",
            None,
            Some(&check.etag),
        )
        .await;

    let opinion = client
        .facts(
            &id,
            &confirmed.etag,
            json!({ "pre_review_opinion": "用字第610902202600001号" }),
        )
        .await;
    let conversion = client.act(&id, "reviewer", "advance", &opinion.etag).await;
    assert_eq!(conversion.json["stage"], "conversion", "{}", conversion.text);
    let approval = client
        .facts(
            &id,
            &conversion.etag,
            json!({ "conversion_approval": "陕政土批〔2026〕12号" }),
        )
        .await;

    // Quota and offset: without them the case may not leave conversion.
    let refused = client
        .send(
            "POST",
            &format!("/api/v1/cases/{id}/transitions"),
            "reviewer",
            Some(json!({ "action": "advance" })),
            Some(&approval.etag),
        )
        .await;
    assert_eq!(refused.status, 409, "{}", refused.text);
    assert_eq!(refused.json["rule"], "quota-short", "{}", refused.text);
    // What the case needs is computed from its confirmed check; one mu typed by hand is refused.
    let typed = client
        .send(
            "POST",
            "/api/v1/quotas/allocations",
            "reviewer",
            Some(json!({ "case_id": id, "year": 2026, "mu": 1 })),
            None,
        )
        .await;
    assert_eq!(typed.status, 422, "{}", typed.text);
    assert_eq!(
        typed.json["type"], "https://landuse.invalid/problems/below-need",
        "{}",
        typed.text
    );
    client
        .expect(
            201,
            "POST",
            "/api/v1/quotas/allocations",
            "reviewer",
            Some(json!({ "case_id": id, "year": 2026 })),
            None,
        )
        .await;
    client
        .expect(
            201,
            "POST",
            &format!("/api/v1/cases/{id}/offset/lock"),
            "reviewer",
            Some(json!({ "capacity_kg": 100 })),
            None,
        )
        .await;
    let supply = client.act(&id, "reviewer", "advance", &approval.etag).await;
    assert_eq!(supply.json["stage"], "supply", "{}", supply.text);
    let decision = client
        .facts(
            &id,
            &supply.etag,
            json!({ "supply_decision": { "method": "allocation", "industrial": false, "standard_land_indicators_present": false } }),
        )
        .await;
    let registration = client.act(&id, "reviewer", "advance", &decision.etag).await;
    assert_eq!(
        registration.json["stage"], "registration",
        "{}",
        registration.text
    );
    let certificate = client
        .facts(
            &id,
            &registration.etag,
            json!({ "certificate_number": "陕(2026)安康市不动产权第0000001号" }),
        )
        .await;
    let done = client.act(&id, "reviewer", "advance", &certificate.etag).await;
    assert_eq!(done.json["stage"], "completed", "{}", done.text);
    assert!(done.json["deadline"].is_null(), "{}", done.text);

    // The history holds every step, in order, each with its actor's role.
    let history = client
        .expect(
            200,
            "GET",
            &format!("/api/v1/cases/{id}/history"),
            "officer",
            None,
            None,
        )
        .await;
    let stages: Vec<&str> = history
        .json
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["to_stage"].as_str())
        .collect();
    for stage in [
        "draft",
        "pre_review",
        "conversion",
        "supply",
        "registration",
        "completed",
    ] {
        assert!(stages.contains(&stage), "{stage} missing from {stages:?}");
    }
    let kinds: Vec<&str> = history
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"check_run") && kinds.contains(&"check_confirmed"),
        "{kinds:?}"
    );
    assert_eq!(kinds.contains(&"green_channel_grant"), key_project, "{kinds:?}");

    // What the case holds: quota allocated and the offset consumed or locked.
    let quota = client
        .expect(
            200,
            "GET",
            &format!("/api/v1/cases/{id}/quota"),
            "officer",
            None,
            None,
        )
        .await;
    assert!(quota.text.contains("\"mu\""), "{}", quota.text);
    id
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_normal_and_a_green_case_go_from_draft_to_completed_over_http(
    pool_options: PgPoolOptions,
    options: PgConnectOptions,
) {
    let pool = pool_options.connect_with(options.clone()).await.unwrap();
    let client = start(pool, &options).await;
    // The bureau's figures: a yearly quota for the county and one offset indicator.
    client
        .expect(
            200,
            "PUT",
            "/api/v1/quotas/2026/610902",
            "admin",
            Some(json!({ "granted_mu": 200, "reason": "2026年度计划" })),
            None,
        )
        .await;
    client
        .expect(
            201,
            "POST",
            "/api/v1/offsets",
            "reviewer",
            Some(json!({ "county_code": "610902", "source_project": "土地整治项目", "area_m2": 100_000, "paddy_m2": 50_000, "capacity_kg": 40_000 })),
            None,
        )
        .await;

    let normal = walk(&client, false, 109.0).await;
    let green = walk(&client, true, 109.1).await;

    // Both are done; the ledger no longer lists them as open.
    let ledger = client
        .expect(200, "GET", "/api/v1/ledger", "reviewer", None, None)
        .await;
    for id in [&normal, &green] {
        assert!(
            !ledger
                .json
                .as_array()
                .unwrap()
                .iter()
                .any(|item| item["case_id"] == **id),
            "{id} still open: {}",
            ledger.text
        );
    }
    // Another county's officer cannot see either.
    for id in [&normal, &green] {
        client
            .expect(404, "GET", &format!("/api/v1/cases/{id}"), "officer2", None, None)
            .await;
    }
    client.server.terminate();
}

/// Each refusal over HTTP, with the proof that it changed nothing.
#[sqlx::test(migrations = "../../migrations")]
async fn refusals_over_http_change_nothing(pool_options: PgPoolOptions, options: PgConnectOptions) {
    let pool = pool_options.connect_with(options.clone()).await.unwrap();
    let client = start(pool.clone(), &options).await;
    let http = &client.server.http;

    // No token: 401 as problem+json.
    let anonymous = http.get(client.server.url("/api/v1/cases")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(
        anonymous.headers()["content-type"].to_str().unwrap(),
        "application/problem+json"
    );
    // A role that may not act: 403.
    client
        .expect(
            403,
            "POST",
            "/api/v1/cases",
            "planner",
            Some(json!({ "project_id": "00000000-0000-0000-0000-000000000000", "title": "x" })),
            None,
        )
        .await;

    // A retried create with one Idempotency-Key makes one project.
    let body = json!({ "name": "重试项目", "county_code": "610902", "level": "county", "category": "industry", "year": 2026 });
    let mut ids = Vec::new();
    for _ in 0..2 {
        let response = http
            .post(client.server.url("/api/v1/projects"))
            .bearer_auth(&client.tokens["officer"])
            .header("idempotency-key", "retry-1")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        ids.push(response.json::<Value>().await.unwrap()["id"].clone());
    }
    assert_eq!(ids[0], ids[1]);
    let count: i64 = sqlx::query_scalar("select count(*) from projects where name = '重试项目'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(count, 1);

    let project = ids[0].as_str().unwrap();
    let case = client
        .expect(
            201,
            "POST",
            "/api/v1/cases",
            "officer",
            Some(json!({ "project_id": project, "title": "一期用地" })),
            None,
        )
        .await;
    let id = case.json["id"].as_str().unwrap();
    let snapshot = || async {
        sqlx::query_as::<_, (String, i64, i64, i64)>(
            "select c.stage, c.version,
                    (select count(*) from case_events e where e.case_id = c.id),
                    (select count(*) from parcels p where p.case_id = c.id)
               from cases c where c.id = $1::uuid",
        )
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    let before = snapshot().await;

    // Another county's officer: 404, as if the case did not exist.
    client
        .expect(
            404,
            "POST",
            &format!("/api/v1/cases/{id}/transitions"),
            "officer2",
            Some(json!({ "action": "submit" })),
            Some(&case.etag),
        )
        .await;
    // The wrong stage: a draft cannot be advanced; the refusal names its rule.
    let wrong = client
        .send(
            "POST",
            &format!("/api/v1/cases/{id}/transitions"),
            "reviewer",
            Some(json!({ "action": "advance" })),
            Some(&case.etag),
        )
        .await;
    assert!(matches!(wrong.status, 403 | 409 | 422), "{}", wrong.text);
    // A stale If-Match: 412; none: 428.
    let stale = client
        .send(
            "POST",
            &format!("/api/v1/cases/{id}/transitions"),
            "officer",
            Some(json!({ "action": "submit" })),
            Some("\"999\""),
        )
        .await;
    assert_eq!(stale.status, 412, "{}", stale.text);
    let missing = client
        .send(
            "POST",
            &format!("/api/v1/cases/{id}/transitions"),
            "officer",
            Some(json!({ "action": "submit" })),
            None,
        )
        .await;
    assert_eq!(missing.status, 428, "{}", missing.text);

    // Bad GeoJSON (an unclosed ring) and a bad coordinate file: 422 naming the error.
    let unclosed = json!({ "type": "Polygon", "coordinates": [[[109.0, 32.7], [109.001, 32.7], [109.001, 32.701], [109.0, 32.701]]] });
    let bad_geojson = http
        .put(client.server.url(&format!("/api/v1/cases/{id}/parcels")))
        .bearer_auth(&client.tokens["officer"])
        .header("if-match", &case.etag)
        .header("content-type", "application/geo+json")
        .body(unclosed.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(bad_geojson.status(), 422);
    let problem: Value = bad_geojson.json().await.unwrap();
    assert!(
        problem["detail"].as_str().unwrap().contains("closed"),
        "{problem}"
    );
    let bad_txt = http
        .put(client.server.url(&format!("/api/v1/cases/{id}/parcels")))
        .bearer_auth(&client.tokens["officer"])
        .header("if-match", &case.etag)
        .header("content-type", "text/plain")
        .body("[地块坐标]\n5,1.0000,AK-001,地块,面,,,,@\nJ1,1,abc,36596505.793\n")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_txt.status(), 422);
    let problem: Value = bad_txt.json().await.unwrap();
    assert!(problem["detail"].as_str().unwrap().contains("line"), "{problem}");

    assert_eq!(snapshot().await, before, "a refused request changed the case");
    client.server.terminate();
}
