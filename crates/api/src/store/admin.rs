//! Reference data, people and settings: the seeded counties, calendar years, land classes and
//! layer kinds; users and the counties they serve; and the `settings` table the rules read.

use chrono::NaiveDate;
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{DbError, Doing};

/// A county of the region as seeded: its code, name and the older codes it still answers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedCounty<'a> {
    /// The 6-digit code.
    pub code: &'a str,
    /// The name (汉滨区).
    pub name: &'a str,
    /// Older codes kept as aliases (610928 for 旬阳市).
    pub aliases: &'a [String],
}

/// Inserts a county, or refreshes its name and aliases.
///
/// # Errors
/// Database failures.
pub async fn upsert_county(conn: &mut PgConnection, county: &SeedCounty<'_>) -> Result<(), DbError> {
    sqlx::query(
        "insert into counties (code, name, aliases) values ($1, $2, $3)
         on conflict (code) do update set name = excluded.name, aliases = excluded.aliases",
    )
    .bind(county.code)
    .bind(county.name)
    .bind(county.aliases)
    .execute(conn)
    .await
    .doing("seeding counties")?;
    Ok(())
}

/// Inserts a calendar year unless the year is stored: an admin's load is never overwritten by
/// the seed. Whether it was inserted.
///
/// # Errors
/// Database failures.
pub async fn insert_calendar_year(
    conn: &mut PgConnection,
    year: i32,
    holidays: &[NaiveDate],
    adjusted_workdays: &[NaiveDate],
) -> Result<bool, DbError> {
    let inserted = sqlx::query(
        "insert into calendar_years (year, holidays, adjusted_workdays) values ($1, $2, $3)
         on conflict (year) do nothing",
    )
    .bind(year)
    .bind(holidays)
    .bind(adjusted_workdays)
    .execute(conn)
    .await
    .doing("seeding the calendar")?;
    Ok(inserted.rows_affected() == 1)
}

/// One stored year of the working-day calendar, as the domain's calendar is built from it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CalendarYearRow {
    /// The year.
    pub year: i32,
    /// Public holidays on weekdays.
    pub holidays: Vec<NaiveDate>,
    /// Saturdays and Sundays that are working days.
    pub adjusted_workdays: Vec<NaiveDate>,
}

/// Every stored calendar year, in order.
///
/// # Errors
/// Database failures.
pub async fn calendar_years(conn: &mut PgConnection) -> Result<Vec<CalendarYearRow>, DbError> {
    sqlx::query_as("select year, holidays, adjusted_workdays from calendar_years order by year")
        .fetch_all(conn)
        .await
        .doing("loading the calendar")
}

/// A land class (third land survey DLBM code) as seeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedLandClass<'a> {
    /// The DLBM code (0101).
    pub code: &'a str,
    /// Its Chinese name.
    pub name_zh: &'a str,
    /// The survey's category.
    pub category: &'a str,
    /// Whether it is cultivated land.
    pub cultivated: bool,
}

/// Inserts a land class, or refreshes it.
///
/// # Errors
/// Database failures.
pub async fn upsert_land_class(conn: &mut PgConnection, class: &SeedLandClass<'_>) -> Result<(), DbError> {
    sqlx::query(
        "insert into land_classes (code, name_zh, category, cultivated) values ($1, $2, $3, $4)
         on conflict (code) do update
           set name_zh = excluded.name_zh, category = excluded.category, cultivated = excluded.cultivated",
    )
    .bind(class.code)
    .bind(class.name_zh)
    .bind(class.category)
    .bind(class.cultivated)
    .execute(conn)
    .await
    .doing("seeding the land classes")?;
    Ok(())
}

/// A layer kind as seeded: its names and the result an overlap with it gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedLayerKind<'a> {
    /// The kind's code.
    pub code: &'a str,
    /// Its Chinese name.
    pub name_zh: &'a str,
    /// Polygon or point.
    pub geometry_class: &'a str,
    /// The names the layer usually has in the bureau's files.
    pub common_layer_names: &'a [&'a str],
    /// The layer result code an overlap gives.
    pub overlap_result: &'a str,
    /// When the result does not hold, in words.
    pub exception: &'a str,
}

/// Inserts a layer kind, or refreshes it.
///
/// # Errors
/// Database failures.
pub async fn upsert_layer_kind(conn: &mut PgConnection, kind: &SeedLayerKind<'_>) -> Result<(), DbError> {
    sqlx::query(
        "insert into layer_kinds (code, name_zh, geometry_class, common_layer_names, overlap_result, exception)
         values ($1, $2, $3, $4, $5, $6)
         on conflict (code) do update
           set name_zh = excluded.name_zh, geometry_class = excluded.geometry_class,
               common_layer_names = excluded.common_layer_names,
               overlap_result = excluded.overlap_result, exception = excluded.exception",
    )
    .bind(kind.code)
    .bind(kind.name_zh)
    .bind(kind.geometry_class)
    .bind(kind.common_layer_names)
    .bind(kind.overlap_result)
    .bind(kind.exception)
    .execute(conn)
    .await
    .doing("seeding the layer kinds")?;
    Ok(())
}

/// The stored value of a setting, if it is set. Callers parse it with the domain's types and
/// treat a value that does not parse as an error, never as the default.
///
/// # Errors
/// Database failures.
pub async fn setting(conn: &mut PgConnection, key: &str) -> Result<Option<Value>, DbError> {
    sqlx::query_scalar("select value from settings where key = $1")
        .bind(key)
        .fetch_optional(conn)
        .await
        .doing("reading a setting")
}

/// Stores a setting unless it is set (a default, or a claim on the key). Whether it was stored.
///
/// # Errors
/// Database failures.
pub async fn insert_setting(conn: &mut PgConnection, key: &str, value: &Value) -> Result<bool, DbError> {
    let inserted =
        sqlx::query("insert into settings (key, value) values ($1, $2) on conflict (key) do nothing")
            .bind(key)
            .bind(value)
            .execute(conn)
            .await
            .doing("storing a setting")?;
    Ok(inserted.rows_affected() == 1)
}

/// Replaces the value of a setting that is set.
///
/// # Errors
/// Database failures.
pub async fn update_setting(conn: &mut PgConnection, key: &str, value: &Value) -> Result<(), DbError> {
    sqlx::query("update settings set value = $2 where key = $1")
        .bind(key)
        .bind(value)
        .execute(conn)
        .await
        .doing("updating a setting")?;
    Ok(())
}

/// The code of the county `code` names: itself, or the county that keeps it as an older code.
///
/// # Errors
/// Database failures.
pub async fn county_named(conn: &mut PgConnection, code: &str) -> Result<Option<String>, DbError> {
    sqlx::query_scalar("select code from counties where code = $1 or $1 = any(aliases)")
        .bind(code)
        .fetch_optional(conn)
        .await
        .doing("looking up a county")
}

/// Inserts a user unless the name is taken. Whether it was inserted.
///
/// # Errors
/// Database failures.
pub async fn insert_user(conn: &mut PgConnection, id: Uuid, name: &str, role: &str) -> Result<bool, DbError> {
    let inserted =
        sqlx::query("insert into users (id, name, role) values ($1, $2, $3) on conflict (name) do nothing")
            .bind(id)
            .bind(name)
            .bind(role)
            .execute(conn)
            .await
            .doing("adding the user")?;
    Ok(inserted.rows_affected() == 1)
}

/// Records that a user serves a county (again is no change).
///
/// # Errors
/// Database failures.
pub async fn assign_county(conn: &mut PgConnection, user_id: Uuid, county: &str) -> Result<(), DbError> {
    sqlx::query("insert into user_counties (user_id, county_code) values ($1, $2) on conflict do nothing")
        .bind(user_id)
        .bind(county)
        .execute(conn)
        .await
        .doing("assigning the user's counties")?;
    Ok(())
}

/// The id of the user with this name, unless there is none or the user is disabled.
///
/// # Errors
/// Database failures.
pub async fn active_user_id(conn: &mut PgConnection, name: &str) -> Result<Option<Uuid>, DbError> {
    sqlx::query_scalar("select id from users where name = $1 and disabled_at is null")
        .bind(name)
        .fetch_optional(conn)
        .await
        .doing("looking up the user")
}

/// Whether a user with this name exists (disabled or not).
///
/// # Errors
/// Database failures.
pub async fn user_exists(conn: &mut PgConnection, name: &str) -> Result<bool, DbError> {
    sqlx::query_scalar("select exists (select 1 from users where name = $1)")
        .bind(name)
        .fetch_one(conn)
        .await
        .doing("looking up a user")
}
