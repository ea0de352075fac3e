//! Seeding, users and tokens, and the caller a token resolves to.
#![allow(clippy::unwrap_used)]

use landuse_api::{admin, auth};
use landuse_domain::role::Role;
use sqlx::PgPool;

#[sqlx::test(migrations = "../../migrations")]
async fn seeding_twice_keeps_one_copy_of_everything(pool: PgPool) {
    let mut conn = pool.acquire().await.unwrap();
    let first = admin::seed(&mut conn).await.unwrap();
    assert_eq!(first.counties, 10);
    assert_eq!(first.calendar_years, 4);
    assert!(first.time_limits);
    let second = admin::seed(&mut conn).await.unwrap();
    assert_eq!((second.calendar_years, second.time_limits), (0, false));
    let counties: i64 = sqlx::query_scalar("select count(*) from counties")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(counties, 10);
    let calendar = admin::load_calendar(&mut conn).await.unwrap();
    assert!(calendar.is_working_day(chrono::NaiveDate::from_ymd_opt(2026, 2, 14).unwrap()));
    assert!(admin::load_time_limits(&mut conn).await.is_ok());
}

#[sqlx::test(migrations = "../../migrations")]
async fn the_old_xunyang_code_resolves_to_the_city_code(pool: PgPool) {
    let mut conn = pool.acquire().await.unwrap();
    admin::seed(&mut conn).await.unwrap();
    assert_eq!(
        admin::resolve_county(&mut conn, "610928").await.unwrap().as_str(),
        "610981"
    );
    assert!(matches!(
        admin::resolve_county(&mut conn, "110101").await,
        Err(admin::AdminError::UnknownCounty(_))
    ));
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_token_resolves_to_its_user_role_and_counties_and_is_stored_only_as_a_hash(pool: PgPool) {
    let mut conn = pool.acquire().await.unwrap();
    admin::seed(&mut conn).await.unwrap();
    admin::add_user(&mut conn, "li", "officer", &["610902".into(), "610928".into()])
        .await
        .unwrap();
    let secret = admin::issue_token(&mut conn, "li", "laptop", Some(30))
        .await
        .unwrap();
    let caller = auth::caller_for_token(&mut conn, &secret).await.unwrap().unwrap();
    assert_eq!(caller.role, Role::Officer);
    let counties: Vec<_> = caller.counties.iter().map(|c| c.as_str().to_owned()).collect();
    assert_eq!(counties, ["610902", "610981"]);
    assert!(caller.sees("610902") && !caller.sees("610921"));
    let stored: i64 = sqlx::query_scalar("select count(*) from tokens where hash = $1 and label = 'laptop'")
        .bind(auth::hash_token(&secret))
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(stored, 1);
    let plain: i64 =
        sqlx::query_scalar("select count(*) from tokens where encode(hash, 'escape') like '%' || $1 || '%'")
            .bind(&secret)
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    assert_eq!(plain, 0, "the secret itself is never stored");
    assert!(auth::caller_for_token(&mut conn, "lu_wrong")
        .await
        .unwrap()
        .is_none());
}

#[sqlx::test(migrations = "../../migrations")]
async fn an_officer_without_a_county_or_a_duplicate_name_is_refused(pool: PgPool) {
    let mut conn = pool.acquire().await.unwrap();
    admin::seed(&mut conn).await.unwrap();
    assert!(matches!(
        admin::add_user(&mut conn, "wang", "officer", &[]).await,
        Err(admin::AdminError::CountyRequired(_))
    ));
    admin::add_user(&mut conn, "zhao", "planner", &[]).await.unwrap();
    assert!(matches!(
        admin::add_user(&mut conn, "zhao", "reviewer", &[]).await,
        Err(admin::AdminError::UserExists(_))
    ));
    assert!(matches!(
        admin::add_user(&mut conn, "x", "mayor", &[]).await,
        Err(admin::AdminError::UnknownRole(_))
    ));
}
