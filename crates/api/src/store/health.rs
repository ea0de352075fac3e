//! What `/readyz` asks the database: is PostGIS there, which version, which migrations ran.

use sqlx::PgConnection;

use super::{DbError, Doing};

/// Whether the PostGIS extension is installed in the database.
///
/// # Errors
/// Database failures.
pub async fn has_postgis(conn: &mut PgConnection) -> Result<bool, DbError> {
    sqlx::query_scalar("select exists (select 1 from pg_extension where extname = 'postgis')")
        .fetch_one(conn)
        .await
        .doing("looking for the PostGIS extension")
}

/// The PostGIS library version (`3.4.2`).
///
/// # Errors
/// Database failures, PostGIS missing.
pub async fn postgis_version(conn: &mut PgConnection) -> Result<String, DbError> {
    sqlx::query_scalar("select postgis_lib_version()")
        .fetch_one(conn)
        .await
        .doing("reading the PostGIS version")
}

/// A migration the database records as applied.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AppliedMigration {
    /// Its version number.
    pub version: i64,
    /// The checksum of the SQL that ran, to compare with the binary's own.
    pub checksum: Vec<u8>,
}

/// The applied migrations in order; none when the migration table does not exist yet.
///
/// # Errors
/// Database failures.
pub async fn applied_migrations(conn: &mut PgConnection) -> Result<Vec<AppliedMigration>, DbError> {
    match sqlx::query_as("select version, checksum from _sqlx_migrations where success order by version")
        .fetch_all(conn)
        .await
    {
        Ok(rows) => Ok(rows),
        // undefined_table: nothing was ever migrated here.
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P01") => Ok(Vec::new()),
        Err(source) => Err(DbError {
            doing: "reading the applied migrations",
            source,
        }),
    }
}
