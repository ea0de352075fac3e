//! What the read routing asks PostgreSQL about streaming replication: where the primary's WAL
//! ends, and how far a standby has replayed it.

use sqlx::PgConnection;

use super::{DbError, Doing};

/// The primary's current WAL write position (`pg_current_wal_lsn()`), as text (`16/B374D848`).
/// Read right after a commit, it is at or past that commit's record.
///
/// # Errors
/// Database failures; on a standby PostgreSQL refuses the function (55000).
pub async fn current_wal_lsn(conn: &mut PgConnection) -> Result<String, DbError> {
    sqlx::query_scalar("select pg_current_wal_lsn()::text")
        .fetch_one(conn)
        .await
        .doing("reading the primary's WAL position")
}

/// How far a standby has replayed the WAL (`pg_last_wal_replay_lsn()`), as text; `None` when
/// the server is not in recovery (a primary, or a promoted standby).
///
/// # Errors
/// Database failures.
pub async fn replay_lsn(conn: &mut PgConnection) -> Result<Option<String>, DbError> {
    sqlx::query_scalar("select case when pg_is_in_recovery() then pg_last_wal_replay_lsn()::text end")
        .fetch_one(conn)
        .await
        .doing("reading the standby's replay position")
}
