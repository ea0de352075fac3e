//! The history tables keep what was written: UPDATE, DELETE and TRUNCATE are refused by
//! trigger even to the tables' owner, and the application's role (`landuse_app`) lacks the
//! privileges in the first place, so disabling a trigger would not open them to it either.
#![allow(clippy::unwrap_used)]

mod common;

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
