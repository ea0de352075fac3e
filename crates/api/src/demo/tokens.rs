//! The demo's users and the tokens file `make run` writes: `{"planner": "…", "officer:610902":
//! "…", …}`, one token per role and one per county officer.
//!
//! Tokens are stored only as hashes, so a token once printed cannot be shown again. A second run
//! therefore keeps every token of the file that still signs in as its demo user, and issues new
//! ones only for the keys that are missing or no longer valid (file deleted, token revoked or
//! expired, database reset). Scripts holding the file keep working, and tokens do not pile up.

use std::{collections::BTreeMap, fmt, path::Path};

use sqlx::PgPool;

use super::{DemoError, COUNTIES};
use crate::{
    admin, auth,
    store::{admin as store, Doing},
};

/// The roles that get one demo user each; officers get one per county.
pub const ROLES: [&str; 5] = ["planner", "reviewer", "leader", "admin", "gis"];

/// The label of the tokens this module issues.
pub const LABEL: &str = "demo";

/// A demo user: the key in the tokens file, its user name, role and counties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoUser {
    /// `planner`, …, or `officer:<county code>`.
    pub key: String,
    /// The user name (`demo-planner`, `demo-officer-610902`).
    pub name: String,
    /// The role code.
    pub role: &'static str,
    /// The counties an officer serves.
    pub counties: Vec<String>,
}

/// Every demo user: the five municipal roles, then one officer per county.
pub fn users() -> Vec<DemoUser> {
    let mut users: Vec<DemoUser> = ROLES
        .iter()
        .map(|role| DemoUser {
            key: (*role).to_owned(),
            name: format!("demo-{role}"),
            role,
            counties: Vec::new(),
        })
        .collect();
    users.extend(COUNTIES.iter().map(|c| DemoUser {
        key: format!("officer:{}", c.code),
        name: format!("demo-officer-{}", c.code),
        role: "officer",
        counties: vec![c.code.to_owned()],
    }));
    users
}

/// Makes the demo users that are missing (seeding the counties first).
///
/// # Errors
/// Database failures.
pub async fn ensure_users(pool: &PgPool) -> Result<Vec<DemoUser>, DemoError> {
    let mut conn = pool.acquire().await.doing("connecting")?;
    admin::seed(&mut conn).await?;
    let wanted = users();
    for user in &wanted {
        if !store::user_exists(&mut conn, &user.name).await? {
            admin::add_user(&mut conn, &user.name, user.role, &user.counties).await?;
        }
    }
    Ok(wanted)
}

/// What [`ensure`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokensReport {
    /// The file written.
    pub path: String,
    /// The tokens, by key.
    pub tokens: BTreeMap<String, String>,
    /// Keys whose token from the file was still valid and kept.
    pub kept: usize,
    /// Keys given a new token.
    pub issued: usize,
}

impl fmt::Display for TokensReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "demo tokens in {}: {} kept, {} issued",
            self.path, self.kept, self.issued
        )
    }
}

/// Reads a tokens file; a missing or unreadable one counts as empty (its tokens are re-issued).
fn read(path: &Path) -> BTreeMap<String, String> {
    std::fs::read(path)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

/// Makes sure `path` holds a valid token for every demo user: keeps those in the file that
/// still sign in as their user, issues new ones for the rest, and writes the file (mode 0600).
///
/// # Errors
/// Database failures, a file that cannot be written.
pub async fn ensure(pool: &PgPool, path: &Path) -> Result<TokensReport, DemoError> {
    let users = ensure_users(pool).await?;
    let before = read(path);
    let mut conn = pool.acquire().await.doing("connecting")?;
    let mut report = TokensReport {
        path: path.display().to_string(),
        tokens: BTreeMap::new(),
        kept: 0,
        issued: 0,
    };
    for user in &users {
        if let Some(secret) = before.get(&user.key) {
            let caller = auth::caller_for_token(&mut conn, secret).await?;
            if caller.is_some_and(|c| c.name == user.name) {
                report.tokens.insert(user.key.clone(), secret.clone());
                report.kept += 1;
                continue;
            }
        }
        let secret = admin::issue_token(&mut conn, &user.name, LABEL, None).await?;
        report.tokens.insert(user.key.clone(), secret);
        report.issued += 1;
    }
    write(path, &report.tokens)?;
    Ok(report)
}

/// Writes the tokens as `{"key": "token"}`, readable by the owner only.
fn write(path: &Path, tokens: &BTreeMap<String, String>) -> Result<(), DemoError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| DemoError::io("creating", parent, e))?;
    }
    let mut text = serde_json::to_string_pretty(tokens).map_err(|e| DemoError::Json {
        doing: "writing the tokens",
        message: e.to_string(),
    })?;
    text.push('\n');
    // Written beside and renamed, so a reader never sees half a file.
    let partial = path.with_extension("json.partial");
    std::fs::write(&partial, text).map_err(|e| DemoError::io("writing", &partial, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&partial, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| DemoError::io("restricting", &partial, e))?;
    }
    std::fs::rename(&partial, path).map_err(|e| DemoError::io("writing", path, e))?;
    Ok(())
}
