//! The connection pool, the embedded migrations, and what "the database is ready" means.
//!
//! Two statements stay here rather than in [`crate::store`]: `SET ROLE` when a pooled
//! connection opens and the `landuse.counties` setting when a transaction begins. They are not
//! reads or writes of any record but how every connection and transaction starts, so they live
//! with the pool that runs them.

use std::time::Duration;

use serde::Serialize;
use sqlx::{
    migrate::Migrator,
    postgres::{PgConnectOptions, PgPoolOptions},
    ConnectOptions, PgPool, Postgres, Transaction,
};

use crate::{
    config::DatabaseArgs,
    store::{health, DbError},
};

/// The migrations in `migrations/`, embedded in the binary.
pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations");

/// The oldest PostGIS major version the service runs on.
const MIN_POSTGIS_MAJOR: u32 = 3;

/// Builds the pool without connecting, so `serve` starts (and answers `/readyz` with 503)
/// while the database is still unreachable, and recovers once it comes back.
///
/// # Errors
/// When the URL cannot be parsed.
pub fn lazy_pool(args: &DatabaseArgs) -> Result<PgPool, sqlx::Error> {
    let options: PgConnectOptions = args
        .database_url
        .expose()
        .parse::<PgConnectOptions>()?
        .options([
            ("statement_timeout", args.statement_timeout_ms.to_string()),
            ("timezone", "Asia/Shanghai".to_owned()),
        ])
        .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_secs(2));
    Ok(pool_of(options, args.pool_size, args.db_role.clone()))
}

/// A pool over `options` that connects lazily and, when `role` is given, switches every
/// connection to it (`SET ROLE`) before first use.
pub fn pool_of(options: PgConnectOptions, size: u32, role: Option<String>) -> PgPool {
    PgPoolOptions::new()
        .max_connections(size)
        .acquire_timeout(Duration::from_secs(5))
        .after_connect(move |conn, _meta| {
            let role = role.clone().filter(|r| !r.is_empty());
            Box::pin(async move {
                if let Some(role) = role {
                    crate::store::session::switch_role(conn, &role).await?;
                }
                Ok(())
            })
        })
        .connect_lazy_with(options)
}

/// Whose rows a transaction may read and write. Row-level security (migration 0010) reads it
/// from the transaction-local setting `landuse.counties`; a transaction that never sets it sees
/// no county-owned row at all, so a forgotten scope fails closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every county: the city-wide roles, and the service's own timers.
    All,
    /// These counties only (county codes); none when the list is empty.
    Counties(Vec<String>),
}

impl Scope {
    /// The value `landuse.counties` takes: `*`, or the codes joined by commas.
    pub fn setting(&self) -> String {
        match self {
            Self::All => "*".to_owned(),
            Self::Counties(codes) => codes.join(","),
        }
    }
}

/// The scope of a county filter: `None` (every county) is [`Scope::All`].
impl From<Option<Vec<String>>> for Scope {
    fn from(filter: Option<Vec<String>>) -> Self {
        filter.map_or(Self::All, Self::Counties)
    }
}

/// Starts a transaction that sees what `scope` allows, until it ends.
///
/// The start runs in a task of its own, so that dropping the caller (a client that went away, a
/// request timeout) cannot cut it short: sqlx-postgres 0.8.6 counts a transaction only once
/// `BEGIN` is answered, and a future dropped while it waited for that answer left the server
/// inside a transaction that nothing rolled back. The pool then handed the connection out again,
/// its next statements ran inside that transaction and were never committed (in `make bench` a
/// token's rate-limit row stayed locked, and every request of the token waited out its statement
/// timeout). A start whose caller is gone finishes, and its transaction is dropped and rolled
/// back as any other.
///
/// # Errors
/// Database failures.
pub async fn begin_scoped(
    pool: &PgPool,
    scope: &Scope,
) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    let (pool, setting) = (pool.clone(), scope.setting());
    tokio::spawn(async move {
        let mut tx = pool.begin().await?;
        crate::store::session::scope_to(&mut tx, &setting).await?;
        Ok(tx)
    })
    .await
    .map_err(|_| sqlx::Error::WorkerCrashed)?
}

/// What `/readyz` reports when everything is in place.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Readiness {
    /// The PostGIS library version the database reports.
    pub postgis: String,
    /// How many migrations are applied (all of those embedded).
    pub migrations: usize,
}

/// Why the service is not ready.
#[derive(Debug, thiserror::Error)]
pub enum NotReady {
    /// No connection could be made.
    #[error("the database cannot be reached: {0}")]
    Unreachable(#[source] sqlx::Error),
    /// PostGIS is not installed in the database.
    #[error("PostGIS is not installed in the database (run `landuse migrate` as a superuser)")]
    NoPostgis,
    /// PostGIS is too old.
    #[error("PostGIS {found} is installed; version {MIN_POSTGIS_MAJOR} or later is needed")]
    PostgisTooOld {
        /// The version found.
        found: String,
    },
    /// Not every embedded migration has been applied.
    #[error("{applied} of {expected} migrations are applied; run `landuse migrate`")]
    MigrationsPending {
        /// Applied and known to this binary.
        applied: usize,
        /// Embedded in this binary.
        expected: usize,
    },
    /// The database has a migration this binary does not know, or one whose content changed.
    #[error("the database's migration {version} does not match this binary's; deploy the matching version")]
    MigrationMismatch {
        /// The migration's version number.
        version: i64,
    },
    /// A query failed while checking.
    #[error("the readiness check failed: {0}")]
    Query(#[from] DbError),
}

/// Checks that the database answers, has PostGIS 3 or later and every embedded migration.
///
/// # Errors
/// The first reason the service is not ready.
pub async fn readiness(pool: &PgPool) -> Result<Readiness, NotReady> {
    let mut conn = pool.acquire().await.map_err(NotReady::Unreachable)?;
    if !health::has_postgis(&mut conn).await? {
        return Err(NotReady::NoPostgis);
    }
    let postgis = health::postgis_version(&mut conn).await?;
    let major = postgis
        .split('.')
        .next()
        .and_then(|m| m.parse::<u32>().ok())
        .unwrap_or(0);
    if major < MIN_POSTGIS_MAJOR {
        return Err(NotReady::PostgisTooOld { found: postgis });
    }
    let applied = health::applied_migrations(&mut conn).await?;
    let expected: Vec<_> = MIGRATOR
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
        .collect();
    for migration in &applied {
        match expected.iter().find(|m| m.version == migration.version) {
            Some(m) if m.checksum.as_ref() == migration.checksum.as_slice() => {}
            _ => {
                return Err(NotReady::MigrationMismatch {
                    version: migration.version,
                })
            }
        }
    }
    if applied.len() < expected.len() {
        return Err(NotReady::MigrationsPending {
            applied: applied.len(),
            expected: expected.len(),
        });
    }
    Ok(Readiness {
        postgis,
        migrations: applied.len(),
    })
}
