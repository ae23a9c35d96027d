//! `cargo xtask migrate` and `cargo xtask migration new|list|repair`: the words around the
//! migrator, which itself prints nothing. `up`, `reset` and `deploy` migrate through [`run`] too.

use std::io::Write;

use crate::infra::db;
use crate::migrate::{self, Event, MigrateError, Options, RepairStatus, Report};

/// A run with progress on stderr and, for a dry run, the plan on stdout.
pub fn run(url: &str, opts: &Options) -> anyhow::Result<Report> {
    let report = migrate::run(url, opts, &mut progress).map_err(explain)?;
    if report.dry_run {
        print_plan(url, &report);
    } else if report.applied.is_empty() {
        eprintln!(
            "database is up to date ({} applied)",
            count(report.previously_applied, "migration")
        );
    } else {
        eprintln!(
            "applied {} in {:.2}s",
            count(report.applied.len(), "migration"),
            report.took.as_secs_f64()
        );
    }
    Ok(report)
}

/// `migration list`.
pub fn list(url: &str, dir: &std::path::Path) -> anyhow::Result<()> {
    let (local, remote) = migrate::list(url, dir).map_err(explain)?;
    print!("{}", migrate::list_table(&local, &remote));
    Ok(())
}

/// `migration repair`.
pub fn repair(
    url: &str,
    dir: &std::path::Path,
    status: RepairStatus,
    versions: &[String],
) -> anyhow::Result<()> {
    migrate::repair_reporting(url, dir, status, versions, &mut progress).map_err(explain)?;
    let word = match status {
        RepairStatus::Applied => "applied",
        RepairStatus::Reverted => "reverted",
    };
    println!(
        "repaired migration history: [{}] => {word}",
        versions.join(" ")
    );
    Ok(())
}

/// Progress lines on stderr.
pub fn progress(event: Event<'_>) {
    match event {
        Event::WaitingForLock => eprintln!("waiting for another migrator to finish ..."),
        Event::CompatInstalled { took } => eprintln!(
            "installed the Supabase compatibility layer ({:.2}s)",
            took.as_secs_f64()
        ),
        Event::Applying { migration } => {
            eprint!(
                "applying {} ({}) ... ",
                migration.file_name(),
                count(migration.statements.len(), "statement")
            );
            let _ = std::io::stderr().flush();
        }
        Event::Applied { took, .. } => eprintln!("done ({:.2}s)", took.as_secs_f64()),
        Event::Failed { took, .. } => eprintln!("failed ({:.2}s)", took.as_secs_f64()),
    }
}

fn print_plan(url: &str, report: &Report) {
    if report.compat_installed {
        println!(
            "dry run: would install the Supabase compatibility layer first (no `auth` schema)"
        );
    }
    let target = db::redact(url);
    if report.plan.is_empty() {
        println!(
            "dry run: nothing to apply to {target}; the database is up to date ({} applied)",
            count(report.previously_applied, "migration")
        );
        return;
    }
    println!(
        "dry run: would apply {} to {target}:",
        count(report.plan.len(), "migration")
    );
    let width = report.plan.iter().map(|m| m.name.len()).max().unwrap_or(0);
    for m in &report.plan {
        println!(
            "  {}  {:<width$}  {}",
            m.version,
            m.name,
            count(m.statements, "statement")
        );
    }
    println!("nothing was changed");
}

/// The migrator's error with what to run about it, in the same sentence.
pub fn explain(err: MigrateError) -> anyhow::Error {
    match hint(&err) {
        Some(hint) => anyhow::Error::new(Hinted { err, hint }),
        None => err.into(),
    }
}

/// `err; hint` as one message, the error still reachable by `downcast_ref::<MigrateError>`
/// through [`Hinted::error`].
#[derive(Debug)]
pub struct Hinted {
    err: MigrateError,
    hint: String,
}

impl Hinted {
    pub fn error(&self) -> &MigrateError {
        &self.err
    }
}

impl std::fmt::Display for Hinted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}; {}", self.err, self.hint)
    }
}

impl std::error::Error for Hinted {}

/// The command or flag that gets past `err`, for the errors one exists for.
fn hint(err: &MigrateError) -> Option<String> {
    let plural = |versions: &[String]| versions.len() > 1;
    Some(match err {
        MigrateError::NoSuchVersion { .. } => {
            "check the version with `cargo xtask migration list`".into()
        }
        MigrateError::NoAuthSchema => "rerun with --compat to install the Supabase compatibility \
                                        layer first (plain PostgreSQL only)"
            .into(),
        MigrateError::Modified { version, .. } => format!(
            "restore the file and put the change in a new migration (`cargo xtask migration new \
             NAME`), or, if the database already matches the edited file, record it with `cargo \
             xtask migration repair --status applied {version}`"
        ),
        MigrateError::MissingLocal { versions, .. } => {
            format!(
            "restore the file{}, or if {} removed on purpose mark {} reverted with `cargo xtask \
             migration repair --status reverted {}`",
            if plural(versions) { "s" } else { "" },
            if plural(versions) { "they were" } else { "it was" },
            if plural(versions) { "them" } else { "it" },
            versions.join(" ")
        )
        }
        MigrateError::OutOfOrder { versions, .. } => format!(
            "rerun with --include-all to apply {}",
            if plural(versions) { "them" } else { "it" }
        ),
        _ => return None,
    })
}

fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The words the user saw when the hints lived in `MigrateError`.
    #[test]
    fn hints_complete_the_sentence() {
        let missing = explain(MigrateError::MissingLocal {
            versions: vec!["20250101000000".into()],
            dir: "supabase/migrations".into(),
        });
        assert_eq!(
            missing.to_string(),
            "applied migration 20250101000000 not found in supabase/migrations; restore the \
             file, or if it was removed on purpose mark it reverted with `cargo xtask migration \
             repair --status reverted 20250101000000`"
        );
        let out_of_order = explain(MigrateError::OutOfOrder {
            versions: vec!["20250101000000".into(), "20250102000000".into()],
            newest_applied: "20250103000000".into(),
        });
        assert_eq!(
            out_of_order.to_string(),
            "local migration 20250101000000, 20250102000000 are older than the newest applied \
             one (20250103000000) but not applied; rerun with --include-all to apply them"
        );
        let modified = explain(MigrateError::Modified {
            version: "20250101000000".into(),
            path: "m.sql".into(),
        });
        assert_eq!(
            modified.to_string(),
            "migration 20250101000000 was applied but has been modified (m.sql); restore the file \
             and put the change in a new migration (`cargo xtask migration new NAME`), or, if \
             the database already matches the edited file, record it with `cargo xtask migration \
             repair --status applied 20250101000000`"
        );
        assert_eq!(
            explain(MigrateError::NoAuthSchema).to_string(),
            "the database has no `auth` schema, so it is not a Supabase database; rerun with \
             --compat to install the Supabase compatibility layer first (plain PostgreSQL only)"
        );
    }
}
