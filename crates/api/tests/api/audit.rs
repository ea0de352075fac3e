//! The history tables keep what was written: UPDATE, DELETE and TRUNCATE are refused by
//! trigger even to the tables' owner, and the application's role (`landuse_app`) lacks the
//! privileges in the first place, so disabling a trigger would not open them to it either.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::TestApp;
use sqlx::PgPool;

const HISTORY: [&str; 9] = [
    "case_events",
    "quota_requests",
    "quota_movements",
    "offset_indicators",
    "offset_movements",
    "project_start_records",
    "alerts",
    "dispatch_snapshots",
    "dispatch_rows",
];

async fn refused(pool: &PgPool, role: Option<&str>, sql: &str) -> String {
    let mut tx = pool.begin().await.unwrap();
    if let Some(role) = role {
        sqlx::query(&format!("set local role {role}"))
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    let err = sqlx::query(sql)
        .execute(&mut *tx)
        .await
        .expect_err(&format!("{sql} as {role:?} must be refused"));
    tx.rollback().await.unwrap();
    err.as_database_error()
        .and_then(sqlx::error::DatabaseError::code)
        .map(std::borrow::Cow::into_owned)
        .unwrap_or_default()
}

#[sqlx::test(migrations = "../../migrations")]
async fn the_history_refuses_update_delete_and_truncate_to_owner_and_application_role(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let project = app.project(false).await;
    app.case(&project).await;
    let before: Vec<(i64, String)> = sqlx::query_as("select id, kind from case_events order by id")
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert!(!before.is_empty());
    // The owner: the triggers refuse row changes and truncation.
    for sql in [
        "update case_events set reason = 'rewritten'",
        "delete from case_events",
        "truncate case_events cascade",
    ] {
        assert_eq!(refused(&app.db, None, sql).await, "42501", "{sql}");
    }
    for table in HISTORY {
        assert_eq!(
            refused(&app.db, None, &format!("truncate {table} cascade")).await,
            "42501",
            "truncate {table}"
        );
        // The application's role: no privilege, whether or not a row would match.
        for sql in [
            format!(
                "update {table} set {} = {} where false",
                first_column(table),
                first_column(table)
            ),
            format!("delete from {table}"),
            format!("truncate {table}"),
        ] {
            assert_eq!(
                refused(&app.db, Some("landuse_app"), &sql).await,
                "42501",
                "{sql}"
            );
        }
        // It can still read and append.
        let mut tx = app.db.begin().await.unwrap();
        sqlx::query("set local role landuse_app")
            .execute(&mut *tx)
            .await
            .unwrap();
        sqlx::query(&format!("select count(*) from {table}"))
            .execute(&mut *tx)
            .await
            .unwrap();
        let can_insert: bool = sqlx::query_scalar("select has_table_privilege('landuse_app', $1, 'insert')")
            .bind(table)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert!(can_insert, "landuse_app appends to {table}");
        tx.rollback().await.unwrap();
    }
    let after: Vec<(i64, String)> = sqlx::query_as("select id, kind from case_events order by id")
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert_eq!(before, after, "the history is as it was");
}

fn first_column(table: &str) -> &'static str {
    match table {
        "dispatch_rows" => "stage",
        _ => "id",
    }
}

#[sqlx::test(migrations = "../../migrations")]
async fn the_service_runs_a_case_through_as_the_application_role(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let options: sqlx::postgres::PgConnectOptions = (*app.db.connect_options()).clone();
    let url = common::url_of(&options);
    // A role that does not exist: every connection fails, so the setting is really applied.
    let wrong = common::TestServer::spawn(&url, &[("LANDUSE_DB_ROLE", "no_such_role")]);
    let ready = wrong.http.get(wrong.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    drop(wrong);

    let server = common::TestServer::spawn(&url, &[("LANDUSE_DB_ROLE", "landuse_app")]);
    let token = &app.tokens["officer"];
    let ready = server.http.get(server.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200, "{}", ready.text().await.unwrap());
    let project: serde_json::Value = server
        .http
        .post(server.url("/api/v1/projects"))
        .bearer_auth(token)
        .json(&serde_json::json!({
            "name": "汉滨区标准化厂房", "county_code": "610902", "level": "county",
            "category": "industry", "sector": "other", "on_key_list": false, "year": 2026
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let case = server
        .http
        .post(server.url("/api/v1/cases"))
        .bearer_auth(token)
        .json(&serde_json::json!({ "project_id": project["id"], "title": "一期用地" }))
        .send()
        .await
        .unwrap();
    assert_eq!(case.status(), 201);
    let etag = case.headers()["etag"].to_str().unwrap().to_owned();
    let id = case.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = serde_json::json!({ "type": "FeatureCollection", "features": [
        { "type": "Feature", "properties": {}, "geometry": common::square(109.0, 32.7, 0.001) }
    ]});
    let put = server
        .http
        .put(server.url(&format!("/api/v1/cases/{id}/parcels")))
        .bearer_auth(token)
        .header("content-type", "application/geo+json")
        .header("if-match", &etag)
        .body(serde_json::to_vec(&body).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200, "{}", put.text().await.unwrap());
    let history: serde_json::Value = server
        .http
        .get(server.url(&format!("/api/v1/cases/{id}/history")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(history.to_string().contains("parcels_replaced"), "{history}");
}
