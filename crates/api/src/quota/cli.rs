//! `landuse quota import --year 2026 --file quotas.csv`: a year's quota table from CSV.
//!
//! The file has one line per holder, `county_code,mu` (a 6-digit county code, an older alias
//! such as 610928, or `pool` for the municipal pool; the amount in mu with at most two
//! decimals). A header line `county_code,mu`, blank lines and lines starting with `#` are
//! skipped; a UTF-8 byte-order mark and CRLF line ends are accepted.
//!
//! All or nothing: every line is checked first and every bad line is reported with its number
//! and the reason; then all amounts are set in one transaction, and a refusal there (an amount
//! below what is already allocated) rolls back every line. Each changed amount is a `grant`
//! movement in the ledger; an amount equal to the one set before changes nothing.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use clap::Subcommand;
use sqlx::{Connection, PgConnection};

use landuse_domain::ledger::Amount;

use super::{
    error::LedgerError,
    quotas::{self, Account, Holder},
    Year,
};
use crate::{
    admin,
    store::{DbError, Doing},
};

/// `landuse quota …`
#[derive(Debug, Subcommand)]
pub enum QuotaCommand {
    /// Set a year's construction quota per county (and for the municipal pool) from a CSV file
    /// of `county_code,mu` lines. Nothing is stored when any line is wrong.
    Import {
        /// The quota year.
        #[arg(long)]
        year: i32,
        /// The CSV file.
        #[arg(long)]
        file: std::path::PathBuf,
    },
}

/// One bad line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

/// Why an import stored nothing.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The year is outside 2000–2100.
    #[error("{0} is not a quota year (2000 to 2100)")]
    Year(i32),
    /// Lines that cannot be read.
    #[error("nothing was imported; fix these lines:\n{}", lines.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Lines {
        /// Every bad line.
        lines: Vec<LineError>,
    },
    /// The file has no data line.
    #[error("the file has no county_code,mu line")]
    Empty,
    /// The ledger refused a line; nothing was stored.
    #[error("nothing was imported; line {line}: {source}")]
    Refused {
        /// The line.
        line: usize,
        /// Why.
        #[source]
        source: LedgerError,
    },
    /// A database failure; nothing was stored.
    #[error("nothing was imported: {0}")]
    Db(#[from] DbError),
}

/// One good line, before the counties are resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaLine {
    /// 1-based line number.
    pub line: usize,
    /// The holder as written.
    pub holder: String,
    /// The amount.
    pub mu: Amount,
}

/// Reads the lines of a quota table, reporting every bad one.
///
/// # Errors
/// [`ImportError::Lines`] with each bad line, [`ImportError::Empty`] without data lines.
pub fn parse(text: &str) -> Result<Vec<QuotaLine>, ImportError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = Vec::new();
    let mut errors = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = trimmed.split(',').map(str::trim).collect();
        if lines.is_empty()
            && errors.is_empty()
            && fields
                .first()
                .is_some_and(|f| f.eq_ignore_ascii_case("county_code"))
        {
            continue;
        }
        let [holder, mu] = fields[..] else {
            errors.push(LineError {
                line: number,
                reason: format!("expected 2 fields, county_code,mu; found {}", fields.len()),
            });
            continue;
        };
        let amount = mu
            .parse::<f64>()
            .map_err(|_| format!("{mu:?} is not a number of mu"))
            .and_then(|v| Amount::parse(v).map_err(|e| e.to_string()));
        let valid_holder = Holder::parse(holder).is_ok();
        match (valid_holder, amount) {
            (true, Ok(mu)) => lines.push(QuotaLine {
                line: number,
                holder: holder.to_owned(),
                mu,
            }),
            (false, _) => errors.push(LineError {
                line: number,
                reason: format!("{holder:?} is not a county code (6 digits) or `pool`"),
            }),
            (true, Err(reason)) => errors.push(LineError { line: number, reason }),
        }
    }
    if !errors.is_empty() {
        return Err(ImportError::Lines { lines: errors });
    }
    if lines.is_empty() {
        return Err(ImportError::Empty);
    }
    Ok(lines)
}

/// Imports a year's quota table: checks every line, resolves the counties (aliases included),
/// refuses a holder named twice, then sets every amount in one transaction.
///
/// # Errors
/// [`ImportError`]; nothing is stored on any error.
pub async fn import(
    conn: &mut PgConnection,
    year: i32,
    text: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Account>, ImportError> {
    let year = Year::parse(year).map_err(|e| ImportError::Year(e.0))?.get();
    let lines = parse(text)?;
    let mut errors = Vec::new();
    let mut resolved: BTreeMap<Holder, usize> = BTreeMap::new();
    let mut plan = Vec::new();
    for line in &lines {
        let holder = if line.holder == "pool" {
            Holder::Pool
        } else {
            match admin::resolve_county(conn, &line.holder).await {
                Ok(code) => Holder::County(code),
                Err(admin::AdminError::UnknownCounty(_)) => {
                    errors.push(LineError {
                        line: line.line,
                        reason: format!("{:?} is not a county of the region", line.holder),
                    });
                    continue;
                }
                Err(e) => {
                    return Err(ImportError::Db(DbError {
                        doing: "resolving a county",
                        source: match e {
                            admin::AdminError::Db { source, .. } => source,
                            other => sqlx::Error::Protocol(other.to_string()),
                        },
                    }))
                }
            }
        };
        if let Some(first) = resolved.insert(holder, line.line) {
            errors.push(LineError {
                line: line.line,
                reason: format!("{holder} is already on line {first}"),
            });
            continue;
        }
        plan.push((line.line, holder, line.mu));
    }
    if !errors.is_empty() {
        return Err(ImportError::Lines { lines: errors });
    }
    let mut tx = conn.begin().await.doing("starting a transaction")?;
    let mut accounts = Vec::with_capacity(plan.len());
    for (line, holder, mu) in plan {
        let account = quotas::set_yearly(&mut tx, holder, year, mu, None, Some("quota import"), now)
            .await
            .map_err(|source| match source {
                LedgerError::Db(failure) => ImportError::Db(failure),
                source => ImportError::Refused { line, source },
            })?;
        accounts.push(account);
    }
    tx.commit().await.doing("committing the import")?;
    Ok(accounts)
}

/// Runs `landuse quota …` on an open connection and prints what changed.
///
/// # Errors
/// An unreadable file, or the import's refusal.
pub async fn run(conn: &mut PgConnection, command: QuotaCommand, now: DateTime<Utc>) -> anyhow::Result<()> {
    match command {
        QuotaCommand::Import { year, file } => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
            let accounts = import(conn, year, &text, now).await?;
            for a in &accounts {
                println!(
                    "{} {}: {} mu granted, {} mu left",
                    a.holder, a.year, a.granted_mu, a.balance_mu
                );
            }
            println!("imported {} quota lines for {year}", accounts.len());
            Ok(())
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_table_with_header_bom_comments_and_crlf_is_read() {
        let lines = parse("\u{feff}county_code,mu\r\n# 2026\r\n610902, 1200.5\r\n\r\npool,300\r\n").unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!((lines[0].line, lines[0].holder.as_str()), (3, "610902"));
        assert_eq!(lines[0].mu.hundredths(), 120_050);
        assert_eq!(lines[1].holder, "pool");
    }

    #[test]
    fn every_bad_line_is_reported_with_its_number_and_reason() {
        let Err(ImportError::Lines { lines }) =
            parse("610902,10\n61090,5\n610921,abc\n610922,1.234\n610923\n")
        else {
            panic!("expected line errors")
        };
        let numbers: Vec<usize> = lines.iter().map(|l| l.line).collect();
        assert_eq!(numbers, [2, 3, 4, 5]);
        assert!(lines[0].reason.contains("not a county code"));
        assert!(lines[1].reason.contains("not a number"));
        assert!(lines[2].reason.contains("two decimals"));
        assert!(lines[3].reason.contains("expected 2 fields"));
    }

    #[test]
    fn a_negative_amount_or_an_empty_file_is_refused() {
        assert!(matches!(parse("610902,-3\n"), Err(ImportError::Lines { .. })));
        assert!(matches!(parse("county_code,mu\n"), Err(ImportError::Empty)));
    }
}
