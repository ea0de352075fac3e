//! The OpenAPI document and the offline documentation page.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::TestApp;
use serde_json::Value;
use sqlx::PgPool;

async fn document(app: &TestApp) -> Value {
    let answer = app.send("GET", "/openapi.json", "", None, &[]).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.json
}

/// Every `$ref` in `value`.
fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                if key == "$ref" {
                    out.push(item.as_str().unwrap());
                } else {
                    refs(item, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| refs(item, out)),
        _ => {}
    }
}

#[sqlx::test(migrations = "../../migrations")]
async fn the_document_is_openapi_3_1_and_every_reference_resolves(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let doc = document(&app).await;
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let mut found = Vec::new();
    refs(&doc, &mut found);
    assert!(found.len() > 50, "only {} references", found.len());
    for reference in found {
        let name = reference.strip_prefix("#/components/schemas/").unwrap();
        assert!(schemas.contains_key(name), "{reference} does not resolve");
    }
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["basic"]["scheme"], "basic");
    let mut ids: Vec<&str> = Vec::new();
    for item in doc["paths"].as_object().unwrap().values() {
        for operation in item.as_object().unwrap().values() {
            ids.push(operation["operationId"].as_str().unwrap());
        }
    }
    let count = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), count, "operation ids repeat");
}

/// The document and the router agree: every documented operation is routed (without a token
/// it is 401, not 404 or 405), and the public ones answer without one.
#[sqlx::test(migrations = "../../migrations")]
async fn every_documented_operation_is_served_and_protected_as_documented(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let doc = document(&app).await;
    let zero = "00000000-0000-0000-0000-000000000000";
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let concrete = path
            .replace("{id}", zero)
            .replace("{check_id}", zero)
            .replace("{hit_id}", zero)
            .replace("{request_id}", zero)
            .replace("{query_id}", zero)
            .replace("{year}", "2026")
            .replace("{holder}", "610902");
        for (method, operation) in item.as_object().unwrap() {
            let public = operation["security"]
                .as_array()
                .is_some_and(|s| s.iter().all(|r| r.as_object().unwrap().is_empty()));
            let answer = app.send(&method.to_uppercase(), &concrete, "", None, &[]).await;
            if public {
                assert_eq!(answer.status, 200, "{method} {path}: {}", answer.text);
            } else {
                assert_eq!(answer.status, 401, "{method} {path}: {}", answer.text);
                assert!(
                    operation["responses"]["401"].is_object(),
                    "{method} {path} does not document 401"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 46, "only {checked} operations");
    // The conditional writes say so.
    let transitions = &doc["paths"]["/api/v1/cases/{id}/transitions"]["post"];
    let names: Vec<&str> = transitions["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"If-Match") && names.contains(&"Idempotency-Key"),
        "{names:?}"
    );
    for status in ["412", "428", "409", "422", "404"] {
        assert!(
            transitions["responses"][status].is_object(),
            "transitions lack {status}"
        );
    }
    assert_eq!(
        transitions["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/TransitionRequest"
    );
    // The calendar's year is read and loaded with typed bodies, the load under If-Match.
    let calendar = &doc["paths"]["/api/v1/calendar/{year}"];
    assert_eq!(
        calendar["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/CalendarYearView"
    );
    assert_eq!(
        calendar["put"]["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/CalendarYearBody"
    );
    assert_eq!(
        calendar["put"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/LoadReport"
    );
    for status in ["412", "428", "422", "403"] {
        assert!(
            calendar["put"]["responses"][status].is_object(),
            "calendar PUT lacks {status}"
        );
    }
}

/// Whether `schema` says nothing about the value (`{}`, or only a description): an answer typed
/// `serde_json::Value` documents itself that way.
fn untyped(schema: &Value) -> bool {
    schema.as_object().is_none_or(|object| {
        object
            .keys()
            .all(|key| matches!(key.as_str(), "description" | "title" | "default" | "example"))
    })
}

/// Every JSON answer of every operation names its shape, so a client generated from the
/// document knows what it gets; and the whole document is a reviewed snapshot, so any change to
/// the contract shows up in review (`INSTA_UPDATE=always cargo test -p landuse-api --test api
/// openapi::` after a deliberate change).
#[sqlx::test(migrations = "../../migrations")]
async fn every_json_answer_is_typed_and_the_contract_is_the_reviewed_one(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let doc = document(&app).await;
    let mut untyped_answers = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            for (status, response) in operation["responses"].as_object().unwrap() {
                let Some(content) = response["content"].as_object() else {
                    continue;
                };
                for (media, body) in content {
                    let json = media == "application/json" || media.ends_with("+json");
                    if json && untyped(&body["schema"]) {
                        untyped_answers.push(format!("{method} {path} {status} {media}"));
                    }
                }
            }
        }
    }
    assert!(
        untyped_answers.is_empty(),
        "answers without a schema: {untyped_answers:#?}"
    );
    insta::assert_json_snapshot!("openapi", doc);
}

/// `/docs` works without the internet: the page and its scripts come from this server.
#[sqlx::test(migrations = "../../migrations")]
async fn the_docs_page_is_served_with_its_own_assets(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let redirect = app.send_raw("GET", "/docs", "", "", Vec::new(), &[]).await;
    assert!(matches!(redirect.status, 301 | 303 | 308), "{}", redirect.status);
    let page = app.send("GET", "/docs/", "", None, &[]).await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("swagger-ui"), "{}", page.text);
    for needle in ["src=\"http", "href=\"http", "src=\"//", "href=\"//"] {
        assert!(
            !page.text.contains(needle),
            "the page loads {needle}…: {}",
            page.text
        );
    }
    for asset in [
        "/docs/swagger-ui-bundle.js",
        "/docs/swagger-ui.css",
        "/docs/swagger-initializer.js",
    ] {
        let answer = app.send("GET", asset, "", None, &[]).await;
        assert_eq!(answer.status, 200, "{asset}");
        assert!(answer.text.len() > 100, "{asset} is empty");
    }
    let init = app
        .send("GET", "/docs/swagger-initializer.js", "", None, &[])
        .await;
    assert!(init.text.contains("\"url\": \"/openapi.json\""), "{}", init.text);
}
