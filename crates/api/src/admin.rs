//! Reference data and people: seeding counties, the calendar and time limits; users and
//! tokens; and reading the settings the rules run with.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use landuse_domain::{
    calendar::{CalendarYear, WorkCalendar},
    check::{Dlbm, LayerKind, LayerResult, VerdictRules},
    clearing::ClearingRules,
    county::CountyCode,
    green::AdvanceUseRules,
    limits::TimeLimits,
    role::Role,
};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::auth;

const COUNTIES_CSV: &str = include_str!("../../../seeds/counties.csv");
const CALENDAR_JSON: &str = include_str!("../../../seeds/cn-workdays-2023-2026.json");
const TIME_LIMITS_JSON: &str = include_str!("../../../seeds/time-limits.json");
const LAND_CLASSES_CSV: &str = include_str!("../../../seeds/land-classes.csv");
const LAYER_KINDS_CSV: &str = include_str!("../../../seeds/layer-kinds.csv");
const VERDICT_RULES_JSON: &str = include_str!("../../../seeds/verdict-rules.json");

/// Why an admin command was refused.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// A seed file is malformed (a bug in the shipped seeds).
    #[error("seed {file} line {line}: {reason}")]
    Seed {
        /// The seed file.
        file: &'static str,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// The calendar seed or table is not a valid calendar.
    #[error("calendar: {0}")]
    Calendar(#[from] landuse_domain::calendar::CalendarError),
    /// The time-limit setting is not valid.
    #[error("time limits: {0}")]
    Limits(#[from] landuse_domain::limits::LimitsError),
    /// A stored setting does not parse.
    #[error("the setting {key} is not valid: {reason}")]
    Setting {
        /// The settings key.
        key: &'static str,
        /// Why.
        reason: String,
    },
    /// A user with that name exists.
    #[error("a user named {0:?} already exists")]
    UserExists(String),
    /// No such user.
    #[error("no user named {0:?}")]
    NoSuchUser(String),
    /// The role code is unknown.
    #[error("unknown role {0:?}; roles are officer, planner, reviewer, leader, admin, gis")]
    UnknownRole(String),
    /// A county code is malformed or not seeded.
    #[error("unknown county {0:?}; run `landuse seed` first, and use a 6-digit code of the region")]
    UnknownCounty(String),
    /// A county-scoped role was given no county.
    #[error("an {0} serves at least one county: pass --county")]
    CountyRequired(&'static str),
    /// A database failure.
    #[error("database error while {doing}: {source}")]
    Db {
        /// What was being done.
        doing: &'static str,
        /// The cause.
        #[source]
        source: sqlx::Error,
    },
}

fn db(doing: &'static str) -> impl FnOnce(sqlx::Error) -> AdminError {
    move |source| AdminError::Db { doing, source }
}

/// What `seed` wrote.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SeedReport {
    /// Counties inserted or refreshed.
    pub counties: usize,
    /// Calendar years inserted (existing years are kept as the admin left them).
    pub calendar_years: usize,
    /// Whether the default time limits were inserted (they are kept once set).
    pub time_limits: bool,
    /// Land classes (third land survey DLBM codes) inserted or refreshed.
    pub land_classes: usize,
    /// Layer kinds whose names and overlap results were refreshed.
    pub layer_kinds: usize,
    /// Whether the default verdict rules were inserted (they are kept once set).
    pub verdict_rules: bool,
}

/// Loads the reference data a deployment needs: the region's counties, the working-day
/// calendar, the default time limits, the land classes, the layer kinds with the result an
/// overlap gives, and the default verdict rules. Safe to run again: counties, land classes and
/// layer kinds are refreshed; calendar years and settings already present are left as they are.
///
/// # Errors
/// Malformed seeds, database failures.
pub async fn seed(conn: &mut PgConnection) -> Result<SeedReport, AdminError> {
    let mut report = SeedReport::default();
    for (index, line) in COUNTIES_CSV.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let [code, name, aliases] = fields[..] else {
            return Err(AdminError::Seed {
                file: "counties.csv",
                line: index + 1,
                reason: "expected code,name,aliases".to_owned(),
            });
        };
        let code = CountyCode::parse(code).map_err(|e| AdminError::Seed {
            file: "counties.csv",
            line: index + 1,
            reason: e.to_string(),
        })?;
        let aliases: Vec<String> = aliases
            .split(';')
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .collect();
        sqlx::query(
            "insert into counties (code, name, aliases) values ($1, $2, $3)
             on conflict (code) do update set name = excluded.name, aliases = excluded.aliases",
        )
        .bind(code.as_str())
        .bind(name)
        .bind(&aliases)
        .execute(&mut *conn)
        .await
        .map_err(db("seeding counties"))?;
        report.counties += 1;
    }

    let calendar = WorkCalendar::from_json(CALENDAR_JSON)?;
    for (year, listed) in calendar.years() {
        let holidays: Vec<NaiveDate> = listed.holidays.iter().copied().collect();
        let adjusted: Vec<NaiveDate> = listed.adjusted_workdays.iter().copied().collect();
        let inserted = sqlx::query(
            "insert into calendar_years (year, holidays, adjusted_workdays) values ($1, $2, $3)
             on conflict (year) do nothing",
        )
        .bind(year)
        .bind(&holidays)
        .bind(&adjusted)
        .execute(&mut *conn)
        .await
        .map_err(db("seeding the calendar"))?;
        report.calendar_years += usize::try_from(inserted.rows_affected()).unwrap_or(0);
    }

    TimeLimits::from_json(TIME_LIMITS_JSON)?;
    let limits: serde_json::Value = serde_json::from_str(TIME_LIMITS_JSON).map_err(|e| AdminError::Seed {
        file: "time-limits.json",
        line: e.line(),
        reason: e.to_string(),
    })?;
    let inserted =
        sqlx::query("insert into settings (key, value) values ('time_limits', $1) on conflict do nothing")
            .bind(limits)
            .execute(&mut *conn)
            .await
            .map_err(db("seeding the time limits"))?;
    report.time_limits = inserted.rows_affected() == 1;

    report.land_classes = seed_land_classes(conn).await?;
    report.layer_kinds = seed_layer_kinds(conn).await?;
    let rules: VerdictRules = serde_json::from_str(VERDICT_RULES_JSON).map_err(|e| AdminError::Seed {
        file: "verdict-rules.json",
        line: e.line(),
        reason: e.to_string(),
    })?;
    let rules = serde_json::to_value(rules).map_err(|e| AdminError::Seed {
        file: "verdict-rules.json",
        line: 0,
        reason: e.to_string(),
    })?;
    let inserted =
        sqlx::query("insert into settings (key, value) values ('verdict_rules', $1) on conflict do nothing")
            .bind(rules)
            .execute(&mut *conn)
            .await
            .map_err(db("seeding the verdict rules"))?;
    report.verdict_rules = inserted.rows_affected() == 1;
    Ok(report)
}

/// The data lines of a seed CSV with their 1-based line numbers, split on commas.
fn csv_rows(text: &str) -> impl Iterator<Item = (usize, Vec<&str>)> {
    text.lines()
        .enumerate()
        .skip(1)
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(index, line)| (index + 1, line.split(',').map(str::trim).collect()))
}

async fn seed_land_classes(conn: &mut PgConnection) -> Result<usize, AdminError> {
    let mut count = 0;
    for (line, fields) in csv_rows(LAND_CLASSES_CSV) {
        let seed_error = |reason: String| AdminError::Seed {
            file: "land-classes.csv",
            line,
            reason,
        };
        let [code, name, category, cultivated] = fields[..] else {
            return Err(seed_error("expected code,name_zh,category,cultivated".to_owned()));
        };
        let cultivated = match cultivated {
            "true" => true,
            "false" => false,
            other => {
                return Err(seed_error(format!(
                    "cultivated must be true or false, not {other:?}"
                )))
            }
        };
        // The check splits cultivated land by these three codes only; a fourth would be lost.
        if cultivated != Dlbm::parse(code).is_ok() {
            return Err(seed_error(format!(
                "{code} is marked cultivated={cultivated}, but the check counts exactly 0101, 0102 and 0103"
            )));
        }
        sqlx::query(
            "insert into land_classes (code, name_zh, category, cultivated) values ($1, $2, $3, $4)
             on conflict (code) do update
               set name_zh = excluded.name_zh, category = excluded.category, cultivated = excluded.cultivated",
        )
        .bind(code)
        .bind(name)
        .bind(category)
        .bind(cultivated)
        .execute(&mut *conn)
        .await
        .map_err(db("seeding the land classes"))?;
        count += 1;
    }
    Ok(count)
}

async fn seed_layer_kinds(conn: &mut PgConnection) -> Result<usize, AdminError> {
    let mut count = 0;
    for (line, fields) in csv_rows(LAYER_KINDS_CSV) {
        let seed_error = |reason: String| AdminError::Seed {
            file: "layer-kinds.csv",
            line,
            reason,
        };
        let [code, name, geometry_class, layer_names, overlap_result, exception] = fields[..] else {
            return Err(seed_error(
                "expected code,name_zh,geometry_class,common_layer_names,overlap_result,exception".to_owned(),
            ));
        };
        let kind = LayerKind::parse(code).map_err(|e| seed_error(e.to_string()))?;
        if !LayerResult::ALL.iter().any(|r| r.code() == overlap_result) {
            return Err(seed_error(format!("unknown overlap result {overlap_result:?}")));
        }
        let layer_names: Vec<&str> = layer_names.split(';').filter(|n| !n.is_empty()).collect();
        sqlx::query(
            "insert into layer_kinds (code, name_zh, geometry_class, common_layer_names, overlap_result, exception)
             values ($1, $2, $3, $4, $5, $6)
             on conflict (code) do update
               set name_zh = excluded.name_zh, geometry_class = excluded.geometry_class,
                   common_layer_names = excluded.common_layer_names,
                   overlap_result = excluded.overlap_result, exception = excluded.exception",
        )
        .bind(kind.code())
        .bind(name)
        .bind(geometry_class)
        .bind(&layer_names)
        .bind(overlap_result)
        .bind(exception)
        .execute(&mut *conn)
        .await
        .map_err(db("seeding the layer kinds"))?;
        count += 1;
    }
    Ok(count)
}

/// The verdict rules as stored (sliver thresholds, geohazard buffer), or the defaults when
/// none are set.
///
/// # Errors
/// A stored setting that is not valid rules, database failures.
pub async fn load_verdict_rules(conn: &mut PgConnection) -> Result<VerdictRules, AdminError> {
    let value: Option<serde_json::Value> =
        sqlx::query_scalar("select value from settings where key = 'verdict_rules'")
            .fetch_optional(&mut *conn)
            .await
            .map_err(db("loading the verdict rules"))?;
    match value {
        Some(value) => serde_json::from_value(value).map_err(|e| AdminError::Seed {
            file: "settings.verdict_rules",
            line: 0,
            reason: e.to_string(),
        }),
        None => Ok(VerdictRules::default()),
    }
}

/// The working-day calendar as stored.
///
/// # Errors
/// An empty or inconsistent calendar table, database failures.
pub async fn load_calendar(conn: &mut PgConnection) -> Result<WorkCalendar, AdminError> {
    let rows: Vec<(i32, Vec<NaiveDate>, Vec<NaiveDate>)> =
        sqlx::query_as("select year, holidays, adjusted_workdays from calendar_years order by year")
            .fetch_all(&mut *conn)
            .await
            .map_err(db("loading the calendar"))?;
    let years: BTreeMap<i32, CalendarYear> = rows
        .into_iter()
        .map(|(year, holidays, adjusted)| {
            (
                year,
                CalendarYear {
                    holidays: holidays.into_iter().collect::<BTreeSet<_>>(),
                    adjusted_workdays: adjusted.into_iter().collect::<BTreeSet<_>>(),
                },
            )
        })
        .collect();
    Ok(WorkCalendar::new(years)?)
}

/// Reads a setting the domain parses, or its default when the setting is absent. A stored
/// value that does not parse is an error, never the default: the bureau set it.
async fn load_setting<T: serde::de::DeserializeOwned + Default>(
    conn: &mut PgConnection,
    key: &'static str,
    doing: &'static str,
) -> Result<T, AdminError> {
    let value: Option<serde_json::Value> = sqlx::query_scalar("select value from settings where key = $1")
        .bind(key)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db(doing))?;
    match value {
        Some(value) => serde_json::from_value(value).map_err(|e| AdminError::Setting {
            key,
            reason: e.to_string(),
        }),
        None => Ok(T::default()),
    }
}

/// The three-week clearing limits (the `clearing` setting: 21 days, due soon from 7 left, by
/// default).
///
/// # Errors
/// A stored setting the domain refuses, database failures.
pub async fn load_clearing_rules(conn: &mut PgConnection) -> Result<ClearingRules, AdminError> {
    load_setting(conn, "clearing", "loading the clearing limits").await
}

/// The advance-use share (the `advance_use` setting: at most 30% of the pre-reviewed area, by
/// default).
///
/// # Errors
/// A stored setting the domain refuses, database failures.
pub async fn load_advance_use_rules(conn: &mut PgConnection) -> Result<AdvanceUseRules, AdminError> {
    load_setting(conn, "advance_use", "loading the advance-use share").await
}

/// The stage time limits as stored, or the defaults when none are set.
///
/// # Errors
/// A stored setting that is not a valid table, database failures.
pub async fn load_time_limits(conn: &mut PgConnection) -> Result<TimeLimits, AdminError> {
    let value: Option<serde_json::Value> =
        sqlx::query_scalar("select value from settings where key = 'time_limits'")
            .fetch_optional(&mut *conn)
            .await
            .map_err(db("loading the time limits"))?;
    match value {
        Some(value) => Ok(TimeLimits::from_json(&value.to_string())?),
        None => Ok(TimeLimits::default()),
    }
}

/// Resolves a county code, accepting the older codes kept as aliases (610928 → 610981).
///
/// # Errors
/// [`AdminError::UnknownCounty`] for a code that is malformed or not seeded.
pub async fn resolve_county(conn: &mut PgConnection, code: &str) -> Result<CountyCode, AdminError> {
    let found: Option<String> =
        sqlx::query_scalar("select code from counties where code = $1 or $1 = any(aliases)")
            .bind(code)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db("looking up a county"))?;
    found
        .and_then(|c| CountyCode::parse(&c).ok())
        .ok_or_else(|| AdminError::UnknownCounty(code.to_owned()))
}

/// Adds a user with a role and, for county-scoped roles, the counties they serve.
///
/// # Errors
/// Unknown role or county, a missing county, a duplicate name, database failures.
pub async fn add_user(
    conn: &mut PgConnection,
    name: &str,
    role: &str,
    counties: &[String],
) -> Result<Uuid, AdminError> {
    let role = Role::parse(role).map_err(|_| AdminError::UnknownRole(role.to_owned()))?;
    if role.is_county_scoped() && counties.is_empty() {
        return Err(AdminError::CountyRequired(role.code()));
    }
    let mut resolved = Vec::new();
    for code in counties {
        resolved.push(resolve_county(conn, code).await?);
    }
    let id = Uuid::now_v7();
    let inserted =
        sqlx::query("insert into users (id, name, role) values ($1, $2, $3) on conflict (name) do nothing")
            .bind(id)
            .bind(name)
            .bind(role.code())
            .execute(&mut *conn)
            .await
            .map_err(db("adding the user"))?;
    if inserted.rows_affected() == 0 {
        return Err(AdminError::UserExists(name.to_owned()));
    }
    for county in &resolved {
        sqlx::query(
            "insert into user_counties (user_id, county_code) values ($1, $2) on conflict do nothing",
        )
        .bind(id)
        .bind(county.as_str())
        .execute(&mut *conn)
        .await
        .map_err(db("assigning the user's counties"))?;
    }
    Ok(id)
}

/// Issues a new token for the named user; the secret is returned once and stored only as a hash.
///
/// # Errors
/// No such user, database failures.
pub async fn issue_token(
    conn: &mut PgConnection,
    user: &str,
    label: &str,
    valid_days: Option<u32>,
) -> Result<String, AdminError> {
    let user_id: Uuid = sqlx::query_scalar("select id from users where name = $1 and disabled_at is null")
        .bind(user)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db("looking up the user"))?
        .ok_or_else(|| AdminError::NoSuchUser(user.to_owned()))?;
    let token = auth::new_token();
    sqlx::query(
        "insert into tokens (id, user_id, hash, label, expires_at)
         values ($1, $2, $3, $4, now() + make_interval(days => $5))",
    )
    .bind(Uuid::now_v7())
    .bind(user_id)
    .bind(&token.hash)
    .bind(label)
    .bind(valid_days.map(|d| i32::try_from(d).unwrap_or(i32::MAX)))
    .execute(&mut *conn)
    .await
    .map_err(db("storing the token"))?;
    Ok(token.secret)
}
