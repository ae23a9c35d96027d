//! The migration engine: applies `supabase/migrations/*.sql` with the Supabase CLI's own ledger.
//!
//! A run: read and check the files (`source`) → connect → take the advisory lock → make sure the
//! database is Supabase (or install the compat layer with `--compat`) → read the ledger under the
//! lock → refuse drift (applied file missing locally, applied file modified, out-of-order unless
//! `--include-all`) → apply each pending file in its own transaction together with its ledger and
//! checksum rows → unlock.
//!
//! It prints nothing: progress goes to the caller's callback as [`Event`]s and the outcome comes
//! back as a [`Report`]; the command line (`crate::commands::migrate`) decides what to show.

mod error;
mod ledger;
mod session;
mod source;
pub mod split;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio_postgres::error::ErrorPosition;

pub use error::{ApplyFailure, FailedStatement, MigrateError};
use ledger::{Applied, Ledger};
use session::{ScriptError, Session};
pub use source::Migration;

pub struct Options {
    pub dir: PathBuf,
    pub dry_run: bool,
    pub include_all: bool,
    pub compat: bool,
}

#[derive(Debug, Default)]
pub struct Report {
    /// Versions applied by this run.
    pub applied: Vec<String>,
    /// Versions a dry run would apply.
    pub planned: Vec<String>,
    /// What a dry run would apply, in order.
    pub plan: Vec<Planned>,
    /// The compat layer was installed (or, in a dry run, would be).
    pub compat_installed: bool,
    /// Versions the ledger held before this run.
    pub previously_applied: usize,
    /// Nothing was changed.
    pub dry_run: bool,
    /// From reading the files to the end of the run.
    pub took: Duration,
}

/// A file a dry run would apply.
#[derive(Debug, Clone)]
pub struct Planned {
    pub version: String,
    pub name: String,
    pub statements: usize,
}

/// Progress of a run, as it happens (the outcome is the [`Report`] or the error).
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<'a> {
    /// Another migrator holds the lock; this run waits for it.
    WaitingForLock,
    /// The compat layer was installed (never in a dry run).
    CompatInstalled { took: Duration },
    /// A file starts; its transaction is open.
    Applying { migration: &'a Migration },
    /// It committed with its ledger rows.
    Applied {
        migration: &'a Migration,
        took: Duration,
    },
    /// It failed and was rolled back; the run returns the error next.
    Failed {
        migration: &'a Migration,
        took: Duration,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RepairStatus {
    Applied,
    Reverted,
}

/// A run that tells `on_event` how it goes.
pub fn run(
    url: &str,
    opts: &Options,
    on_event: &mut impl FnMut(Event<'_>),
) -> Result<Report, MigrateError> {
    let started = Instant::now();
    let local = source::load_dir(&opts.dir)?;
    let session = Session::connect(url)?;
    if !opts.dry_run {
        lock(&session, on_event)?;
    }
    let mut report = Report {
        dry_run: opts.dry_run,
        ..Report::default()
    };
    if !has_auth_schema(&session)? {
        if !opts.compat {
            return Err(MigrateError::NoAuthSchema);
        }
        report.compat_installed = true;
        if !opts.dry_run {
            install_compat(url, on_event)?;
        }
    }
    // Read under the lock: another migrator may have applied files while we waited.
    let ledger = ledger::read(&session)?;
    let plan = plan(&local, &ledger, opts)?;
    report.previously_applied = ledger.applied.len();

    if opts.dry_run {
        report.planned = plan.pending.iter().map(|m| m.version.clone()).collect();
        report.plan = plan
            .pending
            .iter()
            .map(|m| Planned {
                version: m.version.clone(),
                name: m.name.clone(),
                statements: m.statements.len(),
            })
            .collect();
        report.took = started.elapsed();
        return Ok(report);
    }
    if !plan.pending.is_empty() || !plan.adopt.is_empty() {
        ledger::ensure(&session, &ledger)?;
    }
    record_adopted(&session, &plan.adopt)?;
    let check_interval = supports_connection_checks(&session)?;
    for migration in &plan.pending {
        on_event(Event::Applying { migration });
        let file_started = Instant::now();
        let result = apply(&session, migration, check_interval);
        let took = file_started.elapsed();
        match result {
            Ok(()) => on_event(Event::Applied { migration, took }),
            Err(err) => {
                on_event(Event::Failed { migration, took });
                return Err(err);
            }
        }
        report.applied.push(migration.version.clone());
    }
    unlock(&session)?;
    report.took = started.elapsed();
    Ok(report)
}

/// The same run, its progress ignored (the test harness, benchmarks, previews).
pub fn run_quietly(url: &str, opts: &Options) -> Result<Report, MigrateError> {
    run(url, opts, &mut |_| {})
}

/// What a run will do, after the drift checks passed.
struct Plan<'a> {
    pending: Vec<&'a Migration>,
    /// Applied by another tool (no or stale checksum) and verified by their statements: their
    /// checksums get recorded.
    adopt: Vec<(&'a Migration, Option<Vec<String>>)>,
}

fn plan<'a>(
    local: &'a [Migration],
    ledger: &Ledger,
    opts: &Options,
) -> Result<Plan<'a>, MigrateError> {
    let by_version: BTreeMap<&str, &Migration> =
        local.iter().map(|m| (m.version.as_str(), m)).collect();
    let missing: Vec<String> = ledger
        .applied
        .iter()
        .filter(|a| !by_version.contains_key(a.version.as_str()))
        .map(|a| a.version.clone())
        .collect();
    if !missing.is_empty() {
        return Err(MigrateError::MissingLocal {
            versions: missing,
            dir: opts.dir.clone(),
        });
    }
    let applied: BTreeMap<&str, &Applied> = ledger
        .applied
        .iter()
        .map(|a| (a.version.as_str(), a))
        .collect();
    let mut adopt = Vec::new();
    for migration in local {
        if let Some(row) = applied.get(migration.version.as_str()) {
            if verify(migration, row, ledger.checksums.get(&migration.version))? {
                adopt.push((migration, row.statements.clone()));
            }
        }
    }
    let pending: Vec<&Migration> = local
        .iter()
        .filter(|m| !applied.contains_key(m.version.as_str()))
        .collect();
    if let Some(newest) = ledger.applied.iter().map(|a| &a.version).max() {
        let older: Vec<String> = pending
            .iter()
            .filter(|m| &m.version < newest)
            .map(|m| m.version.clone())
            .collect();
        if !older.is_empty() && !opts.include_all {
            return Err(MigrateError::OutOfOrder {
                versions: older,
                newest_applied: newest.clone(),
            });
        }
    }
    Ok(Plan { pending, adopt })
}

/// Checks an applied file against what the database recorded; `Ok(true)` when its checksum must
/// be (re)recorded.
fn verify(
    migration: &Migration,
    row: &Applied,
    checksum: Option<&ledger::Checksum>,
) -> Result<bool, MigrateError> {
    let modified = || MigrateError::Modified {
        version: migration.version.clone(),
        path: migration.path.clone(),
    };
    let row_sha = source::statements_sha256(row.statements.as_deref());
    match checksum {
        // Our checksum, taken with this very ledger row: the file must be byte for byte the same.
        Some(c) if c.statements_sha256 == row_sha => {
            if c.checksum == migration.checksum {
                Ok(false)
            } else {
                Err(modified())
            }
        }
        // Applied by the Supabase CLI (or re-applied since our checksum): compare what it ran.
        _ => match &row.statements {
            Some(statements) if *statements != migration.statement_texts() => Err(modified()),
            // Rows of very old CLI versions have no statements: nothing to compare, adopt.
            _ => Ok(true),
        },
    }
}

fn record_adopted(
    session: &Session,
    adopt: &[(&Migration, Option<Vec<String>>)],
) -> Result<(), MigrateError> {
    for (migration, statements) in adopt {
        session
            .execute(
                ledger::UPSERT_CHECKSUM,
                &[
                    &migration.version,
                    &migration.checksum,
                    &source::statements_sha256(statements.as_deref()),
                ],
            )
            .map_err(|source| MigrateError::Db {
                what: "recording a checksum",
                error: source,
            })?;
    }
    Ok(())
}

/// Applies one file in one transaction with its ledger and checksum rows.
fn apply(
    session: &Session,
    migration: &Migration,
    check_interval: bool,
) -> Result<(), MigrateError> {
    let db = |what| {
        move |source| MigrateError::Db {
            what,
            error: source,
        }
    };
    // Like the CLI: no session setting of an earlier file leaks into this one. `RESET ALL` keeps
    // the role, so reset it too.
    let mut prelude = String::from("RESET ALL; RESET ROLE;");
    if check_interval {
        // A killed migrator's backend stops within a second instead of finishing a long statement.
        prelude.push_str(" SET client_connection_check_interval = '1s';");
    }
    prelude.push_str(" BEGIN");
    session
        .batch(&prelude)
        .map_err(db("starting a transaction"))?;
    if let Err(ScriptError { completed, source }) = session.script(&migration.sql) {
        let _ = session.batch("ROLLBACK");
        return Err(MigrateError::Apply(Box::new(ApplyFailure {
            version: migration.version.clone(),
            path: migration.path.clone(),
            statement: locate(migration, completed, &source),
            source,
        })));
    }
    let statements = migration.statement_texts();
    let written = session
        .batch("RESET ROLE")
        .and_then(|()| {
            session.execute(
                ledger::INSERT_MIGRATION_VERSION,
                &[&migration.version, &migration.name, &statements],
            )
        })
        .and_then(|_| {
            session.execute(
                ledger::UPSERT_CHECKSUM,
                &[
                    &migration.version,
                    &migration.checksum,
                    &source::statements_sha256(Some(statements.as_slice())),
                ],
            )
        })
        .and_then(|_| session.batch("COMMIT"));
    if let Err(source) = written {
        let _ = session.batch("ROLLBACK");
        return Err(MigrateError::Apply(Box::new(ApplyFailure {
            version: migration.version.clone(),
            path: migration.path.clone(),
            statement: None,
            source,
        })));
    }
    Ok(())
}

/// Finds the failing statement: from PostgreSQL's position when it gives one, else from the
/// number of statements that completed before the error.
fn locate(
    migration: &Migration,
    completed: usize,
    err: &tokio_postgres::Error,
) -> Option<FailedStatement> {
    let stmts = &migration.statements;
    let position = err.as_db_error().and_then(|db| match db.position() {
        Some(ErrorPosition::Original(chars)) => {
            let chars = (*chars as usize).saturating_sub(1);
            Some(
                migration
                    .sql
                    .char_indices()
                    .nth(chars)
                    .map_or(migration.sql.len(), |(i, _)| i),
            )
        }
        _ => None,
    });
    let index = match position {
        Some(byte) => stmts
            .iter()
            .rposition(|s| s.span.start <= byte)
            .unwrap_or(0),
        None => {
            stmts
                .iter()
                .enumerate()
                .filter(|(_, s)| !s.is_empty_for_server())
                .nth(completed)?
                .0
        }
    };
    let stmt = stmts.get(index)?;
    let error_at = position.map(|byte| {
        let line_start = migration.sql[..byte].rfind('\n').map_or(0, |i| i + 1);
        (
            migration.line_of(byte),
            migration.sql[line_start..byte].chars().count() + 1,
        )
    });
    Some(FailedStatement {
        number: index + 1,
        count: stmts.len(),
        line: migration.line_of(stmt.span.start),
        text: stmt.text.clone(),
        error_at,
    })
}

fn lock(session: &Session, on_event: &mut impl FnMut(Event<'_>)) -> Result<(), MigrateError> {
    let db = |source| MigrateError::Db {
        what: "taking the migration lock",
        error: source,
    };
    let got: bool = session
        .query(ledger::TRY_LOCK, &[&ledger::LOCK_KEY])
        .map_err(db)?[0]
        .get(0);
    if !got {
        on_event(Event::WaitingForLock);
        session
            .query(ledger::LOCK, &[&ledger::LOCK_KEY])
            .map_err(db)?;
    }
    Ok(())
}

fn unlock(session: &Session) -> Result<(), MigrateError> {
    session
        .query(ledger::UNLOCK, &[&ledger::LOCK_KEY])
        .map(drop)
        .map_err(|source| MigrateError::Db {
            what: "releasing the migration lock",
            error: source,
        })
}

fn has_auth_schema(session: &Session) -> Result<bool, MigrateError> {
    let rows = session
        .query(
            "select exists (select from pg_catalog.pg_namespace where nspname = 'auth')",
            &[],
        )
        .map_err(|source| MigrateError::Db {
            what: "looking for the auth schema",
            error: source,
        })?;
    Ok(rows[0].get(0))
}

fn install_compat(url: &str, on_event: &mut impl FnMut(Event<'_>)) -> Result<(), MigrateError> {
    let started = Instant::now();
    let mut client = crate::infra::db::connect(url).map_err(MigrateError::Compat)?;
    crate::compat::install(&mut client).map_err(MigrateError::Compat)?;
    on_event(Event::CompatInstalled {
        took: started.elapsed(),
    });
    Ok(())
}

/// `client_connection_check_interval` exists from PostgreSQL 14 on.
fn supports_connection_checks(session: &Session) -> Result<bool, MigrateError> {
    let rows = session
        .query(
            "select current_setting('server_version_num')::int >= 140000",
            &[],
        )
        .map_err(|source| MigrateError::Db {
            what: "reading the server version",
            error: source,
        })?;
    Ok(rows[0].get(0))
}

/// Applied versions (from the ledger) and pending ones (local files not applied), for
/// `cargo xtask status`. Changes nothing.
pub fn status(url: &str, dir: &Path) -> Result<(Vec<String>, Vec<String>), MigrateError> {
    let local = source::load_dir(dir)?;
    let session = Session::connect(url)?;
    let ledger = ledger::read(&session)?;
    let applied: Vec<String> = ledger.applied.iter().map(|a| a.version.clone()).collect();
    let pending = local
        .iter()
        .filter(|m| !applied.contains(&m.version))
        .map(|m| m.version.clone())
        .collect();
    Ok((applied, pending))
}

/// `migration new NAME`: an empty `<UTC timestamp>_<NAME>.sql` in `dir` (created if missing).
pub fn new_migration(dir: &Path, name: &str) -> Result<PathBuf, MigrateError> {
    source::check_name(name).map_err(|reason| MigrateError::BadName {
        name: name.to_string(),
        reason,
    })?;
    fs::create_dir_all(dir).map_err(|source| MigrateError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    let taken: Vec<String> = fs::read_dir(dir)
        .map_err(|source| MigrateError::Read {
            path: dir.to_path_buf(),
            source,
        })?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.get(..14))
                .map(str::to_string)
        })
        .collect();
    // Two files created within one second get consecutive timestamps.
    let mut at = chrono::Utc::now().naive_utc();
    let mut version = at.format("%Y%m%d%H%M%S").to_string();
    while taken.contains(&version) {
        at += chrono::Duration::seconds(1);
        version = at.format("%Y%m%d%H%M%S").to_string();
    }
    let path = dir.join(format!("{version}_{name}.sql"));
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|source| MigrateError::Read {
            path: path.clone(),
            source,
        })?;
    Ok(path)
}

/// `migration list`: local and applied versions, for [`list_table`].
pub fn list(url: &str, dir: &Path) -> Result<(Vec<String>, Vec<String>), MigrateError> {
    let local: Vec<String> = source::load_dir(dir)?
        .into_iter()
        .map(|m| m.version)
        .collect();
    let session = Session::connect(url)?;
    let remote: Vec<String> = ledger::read(&session)?
        .applied
        .into_iter()
        .map(|a| a.version)
        .collect();
    Ok((local, remote))
}

/// Local and applied versions side by side, like the Supabase CLI's `migration list`.
pub fn list_table(local: &[String], remote: &[String]) -> String {
    let mut versions: Vec<&String> = local.iter().chain(remote).collect();
    versions.sort();
    versions.dedup();
    let mut out = format!(
        "  {:<14} | {:<14} | {:<19}\n  {:-<14}-|-{:-<14}-|-{:-<19}\n",
        "Local", "Remote", "Time (UTC)", "", "", ""
    );
    for v in versions {
        let time = chrono::NaiveDateTime::parse_from_str(v, "%Y%m%d%H%M%S")
            .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_else(|_| v.clone());
        let l = if local.contains(v) { v.as_str() } else { "" };
        let r = if remote.contains(v) { v.as_str() } else { "" };
        out.push_str(&format!("  {l:<14} | {r:<14} | {time:<19}\n"));
    }
    out
}

/// `migration repair --status applied|reverted VERSION...`: edits the ledger without running
/// anything, like the Supabase CLI (applied: the file's name and statements; reverted: the row
/// goes), keeping our checksums in step.
pub fn repair(
    url: &str,
    dir: &Path,
    status: RepairStatus,
    versions: &[String],
) -> Result<(), MigrateError> {
    repair_reporting(url, dir, status, versions, &mut |_| {})
}

/// [`repair`], telling `on_event` when it waits for another migrator.
pub fn repair_reporting(
    url: &str,
    dir: &Path,
    status: RepairStatus,
    versions: &[String],
    on_event: &mut impl FnMut(Event<'_>),
) -> Result<(), MigrateError> {
    for v in versions {
        if v.len() != 14 || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(MigrateError::BadVersion { version: v.clone() });
        }
    }
    let local = source::load_dir(dir)?;
    let files: Vec<&Migration> = match status {
        RepairStatus::Applied => versions
            .iter()
            .map(|v| {
                local
                    .iter()
                    .find(|m| &m.version == v)
                    .ok_or_else(|| MigrateError::NoSuchVersion {
                        version: v.clone(),
                        dir: dir.to_path_buf(),
                    })
            })
            .collect::<Result<_, _>>()?,
        RepairStatus::Reverted => Vec::new(),
    };
    let session = Session::connect(url)?;
    lock(&session, on_event)?;
    let ledger = ledger::read(&session)?;
    ledger::ensure(&session, &ledger)?;
    let db = |source| MigrateError::Db {
        what: "updating the migration ledger",
        error: source,
    };
    session.batch("BEGIN").map_err(db)?;
    let edited = (|| {
        match status {
            RepairStatus::Applied => {
                for m in &files {
                    let statements = m.statement_texts();
                    session.execute(
                        ledger::UPSERT_MIGRATION_VERSION,
                        &[&m.version, &m.name, &statements],
                    )?;
                    session.execute(
                        ledger::UPSERT_CHECKSUM,
                        &[
                            &m.version,
                            &m.checksum,
                            &source::statements_sha256(Some(statements.as_slice())),
                        ],
                    )?;
                }
            }
            RepairStatus::Reverted => {
                session.execute(ledger::DELETE_MIGRATION_VERSION, &[&versions])?;
                session.execute(ledger::DELETE_CHECKSUMS, &[&versions])?;
            }
        }
        session.batch("COMMIT")
    })();
    if let Err(source) = edited {
        let _ = session.batch("ROLLBACK");
        return Err(db(source));
    }
    unlock(&session)
}

#[cfg(test)]
mod tests {
    use super::list_table;

    #[test]
    fn list_shows_local_and_remote_side_by_side() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let table = list_table(
            &s(&["20250101000000", "20250102000000"]),
            &s(&["20250101000000", "20241231000000"]),
        );
        assert_eq!(
            table,
            "  Local          | Remote         | Time (UTC)         \n  \
             ---------------|----------------|--------------------\n  \
             \x20              | 20241231000000 | 2024-12-31 00:00:00\n  \
             20250101000000 | 20250101000000 | 2025-01-01 00:00:00\n  \
             20250102000000 |                | 2025-01-02 00:00:00\n"
        );
    }
}
