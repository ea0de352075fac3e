//! Every SQL statement of the API crate, one module per kind of record.
//!
//! Handlers and timers call these functions and the domain; none of them holds SQL. Each
//! function takes the connection or transaction it runs on (`&mut PgConnection`), so the
//! caller decides what commits together and under which county scope. Rows come back as
//! `FromRow` structs named for what they hold, never as positional tuples; long statements
//! live in `sql/*.sql` beside the module that runs them, as in the spatial crate.
//!
//! Failures are [`DbError`]: the `sqlx` error with what was being attempted, so a log line
//! says "while locking the case" rather than only "connection reset". Attach it with
//! [`Doing::doing`]:
//!
//! ```ignore
//! sqlx::query("select 1").execute(conn).await.doing("checking the connection")?;
//! ```

pub mod admin;
pub mod advance_use;
pub mod alerts;
pub mod approvals;
pub mod auth;
pub mod calendar;
pub mod cases;
pub mod checks;
pub mod demo;
pub mod dispatch;
pub mod health;
pub mod idempotency;
pub mod ledger;
pub mod ogc;
pub mod overlay;
pub mod parcels;
pub mod phases;
pub mod projects;
pub mod replication;
pub mod review;
pub mod session;
pub mod supply;
pub mod tiles;
pub mod timers;

/// A database failure and what was being attempted when it happened.
#[derive(Debug, thiserror::Error)]
#[error("database error while {doing}: {source}")]
pub struct DbError {
    /// What the store was doing, as a phrase that follows "while" ("locking the case").
    pub doing: &'static str,
    /// The driver's error.
    #[source]
    pub source: sqlx::Error,
}

impl DbError {
    /// Whether the statement found no row (`fetch_one` on an empty result).
    pub fn is_not_found(&self) -> bool {
        matches!(self.source, sqlx::Error::RowNotFound)
    }

    /// The SQLSTATE of a database-side error, when there is one.
    pub fn sqlstate(&self) -> Option<String> {
        match &self.source {
            sqlx::Error::Database(db) => db.code().map(std::borrow::Cow::into_owned),
            _ => None,
        }
    }

    /// The name of the constraint a database-side error broke, when there is one: the
    /// schema names its rule constraints so callers can answer 409/422 by name.
    pub fn constraint(&self) -> Option<&str> {
        match &self.source {
            sqlx::Error::Database(db) => db.constraint(),
            _ => None,
        }
    }
}

/// Names what a database call was doing, turning its `sqlx::Error` into a [`DbError`].
pub trait Doing<T> {
    /// Attaches `doing` (a phrase that follows "while") to the error, if any.
    ///
    /// # Errors
    /// The call's own error, as a [`DbError`].
    fn doing(self, doing: &'static str) -> Result<T, DbError>;
}

impl<T> Doing<T> for Result<T, sqlx::Error> {
    fn doing(self, doing: &'static str) -> Result<T, DbError> {
        self.map_err(|source| DbError { doing, source })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_database_error_says_what_was_being_attempted() {
        let failed: Result<(), sqlx::Error> = Err(sqlx::Error::RowNotFound);
        let error = failed.doing("locking the case").unwrap_err();
        assert!(error.is_not_found());
        assert_eq!(error.doing, "locking the case");
        assert!(error
            .to_string()
            .starts_with("database error while locking the case"));
        assert_eq!(error.sqlstate(), None);
    }
}
