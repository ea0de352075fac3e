//! Reference data and people: seeding counties, the calendar and time limits; users and
//! tokens; and reading the settings the rules run with.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use landuse_domain::{
    alerts::DeadlineRules,
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

use crate::{
    auth,
    store::{admin as store, DbError},
};

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
    /// A database failure. The fields are the store's [`DbError`] spelled out, because callers
    /// outside this module match on them (`workflow::cases`, `quota::cli`).
    #[error("database error while {doing}: {source}")]
    Db {
        /// What was being done.
        doing: &'static str,
        /// The cause.
        #[source]
        source: sqlx::Error,
    },
}

impl From<DbError> for AdminError {
    fn from(error: DbError) -> Self {
        Self::Db {
            doing: error.doing,
            source: error.source,
        }
    }
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
    let counties = seed_counties(conn).await?;
    let calendar_years = seed_calendar(conn).await?;
    TimeLimits::from_json(TIME_LIMITS_JSON)?;
    let limits = seed_json("time-limits.json", TIME_LIMITS_JSON)?;
    let time_limits = store::insert_setting(conn, "time_limits", &limits).await?;
    let land_classes = seed_land_classes(conn).await?;
    let layer_kinds = seed_layer_kinds(conn).await?;
    // Parsed as the domain's rules first, so a seed the domain refuses is never stored.
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
    let verdict_rules = store::insert_setting(conn, "verdict_rules", &rules).await?;
    Ok(SeedReport {
        counties,
        calendar_years,
        time_limits,
        land_classes,
        layer_kinds,
        verdict_rules,
    })
}

/// A seed file's JSON.
fn seed_json(file: &'static str, text: &str) -> Result<serde_json::Value, AdminError> {
    serde_json::from_str(text).map_err(|e| AdminError::Seed {
        file,
        line: e.line(),
        reason: e.to_string(),
    })
}

async fn seed_counties(conn: &mut PgConnection) -> Result<usize, AdminError> {
    let mut count = 0;
    for (line, fields) in csv_rows(COUNTIES_CSV) {
        let seed_error = |reason: String| AdminError::Seed {
            file: "counties.csv",
            line,
            reason,
        };
        let [code, name, aliases] = fields[..] else {
            return Err(seed_error("expected code,name,aliases".to_owned()));
        };
        let code = CountyCode::parse(code).map_err(|e| seed_error(e.to_string()))?;
        let aliases: Vec<String> = aliases
            .split(';')
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .collect();
        let county = store::SeedCounty {
            code: code.as_str(),
            name,
            aliases: &aliases,
        };
        store::upsert_county(conn, &county).await?;
        count += 1;
    }
    Ok(count)
}

async fn seed_calendar(conn: &mut PgConnection) -> Result<usize, AdminError> {
    let calendar = WorkCalendar::from_json(CALENDAR_JSON)?;
    let mut inserted = 0;
    for (year, listed) in calendar.years() {
        let holidays: Vec<NaiveDate> = listed.holidays.iter().copied().collect();
        let adjusted: Vec<NaiveDate> = listed.adjusted_workdays.iter().copied().collect();
        if store::insert_calendar_year(conn, year, &holidays, &adjusted).await? {
            inserted += 1;
        }
    }
    Ok(inserted)
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
        let [code, name_zh, category, cultivated] = fields[..] else {
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
        let class = store::SeedLandClass {
            code,
            name_zh,
            category,
            cultivated,
        };
        store::upsert_land_class(conn, &class).await?;
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
        let [code, name_zh, geometry_class, layer_names, overlap_result, exception] = fields[..] else {
            return Err(seed_error(
                "expected code,name_zh,geometry_class,common_layer_names,overlap_result,exception".to_owned(),
            ));
        };
        let kind = LayerKind::parse(code).map_err(|e| seed_error(e.to_string()))?;
        if !LayerResult::ALL.iter().any(|r| r.code() == overlap_result) {
            return Err(seed_error(format!("unknown overlap result {overlap_result:?}")));
        }
        let layer_names: Vec<&str> = layer_names.split(';').filter(|n| !n.is_empty()).collect();
        let row = store::SeedLayerKind {
            code: kind.code(),
            name_zh,
            geometry_class,
            common_layer_names: &layer_names,
            overlap_result,
            exception,
        };
        store::upsert_layer_kind(conn, &row).await?;
        count += 1;
    }
    Ok(count)
}

/// The working-day calendar as stored.
///
/// # Errors
/// An empty or inconsistent calendar table, database failures.
pub async fn load_calendar(conn: &mut PgConnection) -> Result<WorkCalendar, AdminError> {
    let years: BTreeMap<i32, CalendarYear> = store::calendar_years(conn)
        .await?
        .into_iter()
        .map(|row| {
            (
                row.year,
                CalendarYear {
                    holidays: row.holidays.into_iter().collect::<BTreeSet<_>>(),
                    adjusted_workdays: row.adjusted_workdays.into_iter().collect::<BTreeSet<_>>(),
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
) -> Result<T, AdminError> {
    match store::setting(conn, key).await? {
        Some(value) => serde_json::from_value(value).map_err(|e| AdminError::Setting {
            key,
            reason: e.to_string(),
        }),
        None => Ok(T::default()),
    }
}

/// The verdict rules (the `verdict_rules` setting: sliver thresholds, geohazard buffer), or
/// the defaults when none are set.
///
/// # Errors
/// A stored setting that is not valid rules, database failures.
pub async fn load_verdict_rules(conn: &mut PgConnection) -> Result<VerdictRules, AdminError> {
    load_setting(conn, "verdict_rules").await
}

/// The three-week clearing limits (the `clearing` setting: 21 days, due soon from 7 left, by
/// default).
///
/// # Errors
/// A stored setting the domain refuses, database failures.
pub async fn load_clearing_rules(conn: &mut PgConnection) -> Result<ClearingRules, AdminError> {
    load_setting(conn, "clearing").await
}

/// The advance-use share (the `advance_use` setting: at most 30% of the pre-reviewed area, by
/// default).
///
/// # Errors
/// A stored setting the domain refuses, database failures.
pub async fn load_advance_use_rules(conn: &mut PgConnection) -> Result<AdvanceUseRules, AdminError> {
    load_setting(conn, "advance_use").await
}

/// When a stage deadline counts as near (the `deadline_alerts` setting, else the domain's
/// default).
///
/// # Errors
/// A stored setting the domain refuses, database failures.
pub async fn load_deadline_rules(conn: &mut PgConnection) -> Result<DeadlineRules, AdminError> {
    load_setting(conn, "deadline_alerts").await
}

/// The stage time limits (the `time_limits` setting), or the defaults when none are set.
///
/// # Errors
/// A stored setting that is not a valid table, database failures.
pub async fn load_time_limits(conn: &mut PgConnection) -> Result<TimeLimits, AdminError> {
    load_setting(conn, "time_limits").await
}

/// Resolves a county code, accepting the older codes kept as aliases (610928 → 610981).
///
/// # Errors
/// [`AdminError::UnknownCounty`] for a code that is malformed or not seeded.
pub async fn resolve_county(conn: &mut PgConnection, code: &str) -> Result<CountyCode, AdminError> {
    store::county_named(conn, code)
        .await?
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
    if !store::insert_user(conn, id, name, role.code()).await? {
        return Err(AdminError::UserExists(name.to_owned()));
    }
    for county in &resolved {
        store::assign_county(conn, id, county.as_str()).await?;
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
    let user_id = store::active_user_id(conn, user)
        .await?
        .ok_or_else(|| AdminError::NoSuchUser(user.to_owned()))?;
    let token = auth::new_token();
    let row = crate::store::auth::NewToken {
        id: Uuid::now_v7(),
        user_id,
        hash: &token.hash,
        label,
        valid_days: valid_days.map(|d| i32::try_from(d).unwrap_or(i32::MAX)),
    };
    crate::store::auth::insert_token(conn, &row).await?;
    Ok(token.secret)
}
