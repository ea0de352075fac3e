//! `landuse quota import --year 2026 --file quotas.csv`: a year's quota table from CSV.
//!
//! The file has one record per holder, `county_code,mu` (a 6-digit county code, an older alias
//! such as 610928, or `pool` for the municipal pool; the amount in mu with at most two
//! decimals). It is read as CSV (RFC 4180, by the `csv` crate): fields may be quoted, so a
//! spreadsheet's export reads as written. A header record `county_code,mu`, blank lines and lines
//! starting with `#` are skipped; a UTF-8 byte-order mark and CRLF line ends are accepted.
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

/// Reads the records of a quota table, reporting every bad one with the line it starts on.
///
/// # Errors
/// [`ImportError::Lines`] with each bad line, [`ImportError::Empty`] without data lines.
pub fn parse(text: &str) -> Result<Vec<QuotaLine>, ImportError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    let mut lines = Vec::new();
    let mut errors = Vec::new();
    let mut first = true;
    for record in reader.records() {
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                errors.push(LineError {
                    line: error.position().map_or(0, |at| line_of(text, at)),
                    reason: error.to_string(),
                });
                continue;
            }
        };
        if record.iter().all(str::is_empty) {
            continue;
        }
        let line = record.position().map_or(0, |at| line_of(text, at));
        let header = first
            && record
                .get(0)
                .is_some_and(|f| f.eq_ignore_ascii_case("county_code"));
        first = false;
        if header {
            continue;
        }
        match read_record(&record) {
            Ok((holder, mu)) => lines.push(QuotaLine { line, holder, mu }),
            Err(reason) => errors.push(LineError { line, reason }),
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

/// The 1-based line of `text` a record starts on. The reader's position is where it began
/// looking for the record, before the line ends, blank lines and `#` comments it skipped (and its
/// line count misses CRLF and comment lines), so the skipped part is stepped over here and the
/// line found by counting line feeds.
fn line_of(text: &str, position: &csv::Position) -> usize {
    let mut at = usize::try_from(position.byte())
        .unwrap_or(usize::MAX)
        .min(text.len());
    while let Some(rest) = text.get(at..) {
        if rest.starts_with(['\r', '\n']) {
            at += 1;
        } else if rest.starts_with('#') {
            at += rest.find('\n').map_or(rest.len(), |end| end + 1);
        } else {
            break;
        }
    }
    text.get(..at).unwrap_or(text).matches('\n').count() + 1
}

/// One `county_code,mu` record, or what is wrong with it.
fn read_record(record: &csv::StringRecord) -> Result<(String, Amount), String> {
    let (Some(holder), Some(mu), 2) = (record.get(0), record.get(1), record.len()) else {
        return Err(format!(
            "expected 2 fields, county_code,mu; found {}",
            record.len()
        ));
    };
    if Holder::parse(holder).is_err() {
        return Err(format!("{holder:?} is not a county code (6 digits) or `pool`"));
    }
    let mu = mu
        .parse::<f64>()
        .map_err(|_| format!("{mu:?} is not a number of mu"))
        .and_then(|v| Amount::parse(v).map_err(|e| e.to_string()))?;
    Ok((holder.to_owned(), mu))
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
    fn quoted_fields_are_read_as_csv_so_a_comma_inside_quotes_does_not_split_the_record() {
        let lines = parse("\"county_code\",\"mu\"\n\"610902\",\"12.5\"\n").unwrap();
        assert_eq!((lines[0].line, lines[0].holder.as_str()), (2, "610902"));
        assert_eq!(lines[0].mu.hundredths(), 1250);
        let Err(ImportError::Lines { lines }) = parse("610902,\"1,200.5\"\n") else {
            panic!("expected a line error")
        };
        assert!(
            lines[0].reason.contains("\"1,200.5\" is not a number"),
            "{}",
            lines[0].reason
        );
    }

    #[test]
    fn a_negative_amount_or_an_empty_file_is_refused() {
        assert!(matches!(parse("610902,-3\n"), Err(ImportError::Lines { .. })));
        assert!(matches!(parse("county_code,mu\n"), Err(ImportError::Empty)));
    }
}
