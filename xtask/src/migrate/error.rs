//! Everything that can stop a migration run; each message names the version or file. Which
//! command or flag fixes it is the command line's to say (`crate::commands::migrate::explain`).

use std::fmt;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MigrateError {
    #[error(
        "bad migration file name {path}: {reason}; expected <14-digit UTC timestamp>_<name>.sql, \
         e.g. 20250101120000_add_leads.sql"
    )]
    BadFileName { path: PathBuf, reason: String },

    #[error(
        "duplicate migration version {version}: {first} and {second}; give one of them a new \
         timestamp"
    )]
    DuplicateVersion {
        version: String,
        first: PathBuf,
        second: PathBuf,
    },

    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("migration {path} is not valid UTF-8; save it as UTF-8")]
    NotUtf8 { path: PathBuf },

    #[error(
        "migration {path} line {line} ends the transaction (`{statement}`); each migration already \
         runs in one transaction with its ledger row, so remove transaction control statements"
    )]
    TransactionControl {
        path: PathBuf,
        line: usize,
        statement: String,
    },

    #[error("invalid migration name `{name}`: {reason}")]
    BadName { name: String, reason: String },

    #[error(
        "invalid version `{version}`: versions are the 14-digit timestamps of migration files"
    )]
    BadVersion { version: String },

    #[error("no migration file for version {version} in {dir}")]
    NoSuchVersion { version: String, dir: PathBuf },

    #[error("cannot connect to {url} within {timeout_secs} s (check that the server runs and the URL is right)")]
    Connect {
        url: String,
        timeout_secs: u64,
        #[source]
        source: tokio_postgres::Error,
    },

    /// The message includes PostgreSQL's, so the error is not also a `source`.
    #[error("{what} failed: {}", db_message(.error))]
    Db {
        what: &'static str,
        error: tokio_postgres::Error,
    },

    #[error("the database has no `auth` schema, so it is not a Supabase database")]
    NoAuthSchema,

    #[error("cannot install the Supabase compatibility layer: {0:#}")]
    Compat(anyhow::Error),

    #[error("migration {version} was applied but has been modified ({path})")]
    Modified { version: String, path: PathBuf },

    #[error("applied migration {} not found in {dir}", versions.join(", "))]
    MissingLocal { versions: Vec<String>, dir: PathBuf },

    #[error(
        "local migration {} {} older than the newest applied one ({newest_applied}) but not \
         applied",
        versions.join(", "),
        if versions.len() > 1 { "are" } else { "is" }
    )]
    OutOfOrder {
        versions: Vec<String>,
        newest_applied: String,
    },

    #[error("{0}")]
    Apply(Box<ApplyFailure>),
}

/// A migration file that PostgreSQL rejected; the transaction was rolled back.
#[derive(Debug)]
pub struct ApplyFailure {
    pub version: String,
    pub path: PathBuf,
    /// 1-based statement number and count, when the failing statement is known.
    pub statement: Option<FailedStatement>,
    pub source: tokio_postgres::Error,
}

#[derive(Debug)]
pub struct FailedStatement {
    pub number: usize,
    pub count: usize,
    /// 1-based line of the statement's start in the file.
    pub line: usize,
    pub text: String,
    /// Where PostgreSQL points: 1-based line and column in the file.
    pub error_at: Option<(usize, usize)>,
}

impl fmt::Display for ApplyFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "migration {} failed and was rolled back (nothing of it was applied)",
            self.version
        )?;
        writeln!(f, "  file: {}", self.path.display())?;
        if let Some(stmt) = &self.statement {
            writeln!(
                f,
                "  statement {} of {}, line {}:",
                stmt.number, stmt.count, stmt.line
            )?;
            write_excerpt(f, stmt)?;
        }
        write!(f, "  {}", db_message(&self.source))?;
        if let Some((line, column)) = self.statement.as_ref().and_then(|s| s.error_at) {
            write!(f, " (line {line}, column {column})")?;
        }
        if let Some(db) = self.source.as_db_error() {
            if let Some(detail) = db.detail() {
                write!(f, "\n  DETAIL: {detail}")?;
            }
            if let Some(hint) = db.hint() {
                write!(f, "\n  HINT: {hint}")?;
            }
            if let Some(context) = db.where_() {
                write!(f, "\n  CONTEXT: {context}")?;
            }
        }
        Ok(())
    }
}

/// The statement's lines (a window around the error in long ones), with a caret under the
/// position PostgreSQL reported.
fn write_excerpt(f: &mut fmt::Formatter<'_>, stmt: &FailedStatement) -> fmt::Result {
    const CONTEXT_LINES: usize = 6;
    let lines: Vec<&str> = stmt.text.lines().collect();
    let error_line = stmt
        .error_at
        .map(|(line, col)| (line.saturating_sub(stmt.line), col));
    let focus = error_line.map_or(0, |(l, _)| l);
    let first = focus.saturating_sub(CONTEXT_LINES);
    let last = (focus + CONTEXT_LINES).min(lines.len().saturating_sub(1));
    if first > 0 {
        writeln!(f, "    ...")?;
    }
    for (i, line) in lines.iter().enumerate().take(last + 1).skip(first) {
        writeln!(f, "    {line}")?;
        if let Some((l, col)) = error_line {
            if l == i {
                // Tabs keep their width so the caret lines up.
                let pad: String = line
                    .chars()
                    .take(col.saturating_sub(1))
                    .map(|c| if c == '\t' { '\t' } else { ' ' })
                    .collect();
                writeln!(f, "    {pad}^")?;
            }
        }
    }
    if last + 1 < lines.len() {
        writeln!(f, "    ...")?;
    }
    Ok(())
}

/// `ERROR 42P07: relation "t" already exists`, or the client-side error.
pub fn db_message(err: &tokio_postgres::Error) -> String {
    match err.as_db_error() {
        Some(db) => format!("{} {}: {}", db.severity(), db.code().code(), db.message()),
        None => err.to_string(),
    }
}
