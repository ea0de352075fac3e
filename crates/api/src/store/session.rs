//! What a connection or a transaction is set up with before any record is read: the role the
//! service acts as, and the counties row-level security lets a transaction see.

use sqlx::PgConnection;

/// Switches the connection to `role` (`SET ROLE`), quoting the name on the server: the name
/// comes from configuration, never from a request.
///
/// # Errors
/// Database failures, or a role the login may not become.
pub async fn switch_role(conn: &mut PgConnection, role: &str) -> Result<(), sqlx::Error> {
    let quoted: String = sqlx::query_scalar("select quote_ident($1)")
        .bind(role)
        .fetch_one(&mut *conn)
        .await?;
    sqlx::query(&format!("set role {quoted}"))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Sets the transaction-local `landuse.counties` that the row-level security policies read
/// (`*`, or county codes joined by commas; migration 0010).
///
/// # Errors
/// Database failures.
pub async fn scope_to(conn: &mut PgConnection, setting: &str) -> Result<(), sqlx::Error> {
    sqlx::query("select set_config('landuse.counties', $1, true)")
        .bind(setting)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
