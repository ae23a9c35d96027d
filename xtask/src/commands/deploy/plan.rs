//! The deploy's plan: the pending migrations with their statements classified, squawk on them,
//! and after the deploy the ledger's smoke check.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::infra::paths;
use crate::{migrate, pytools};

use super::classify::{classify_sql, Finding};
use super::publish::SecretNames;

/// A pending migration with its statements classified.
pub struct Pending {
    pub version: String,
    pub path: PathBuf,
    pub statements: Vec<Finding>,
}

pub(super) fn read_pending(dir: &Path, versions: &[String]) -> Result<Vec<Pending>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    versions
        .iter()
        .map(|v| {
            let prefix = format!("{v}_");
            let path = files
                .iter()
                .find(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".sql"))
                })
                .with_context(|| format!("no file for migration {v} in {}", dir.display()))?
                .clone();
            let sql = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            Ok(Pending {
                version: v.clone(),
                path,
                statements: classify_sql(&sql),
            })
        })
        .collect()
}

pub(super) fn print_plan(pending: &[Pending], functions: &[String], secrets: &SecretNames) {
    println!("plan:");
    if pending.is_empty() {
        println!("  migrations: none pending");
    } else {
        println!("  migrations ({} pending):", pending.len());
    }
    for m in pending {
        let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
        for s in &m.statements {
            *kinds.entry(s.kind.as_str()).or_default() += 1;
        }
        let summary: Vec<String> = kinds
            .iter()
            .map(|(k, n)| {
                if *n == 1 {
                    k.to_string()
                } else {
                    format!("{k} ×{n}")
                }
            })
            .collect();
        let file = m.path.file_name().unwrap_or_default().to_string_lossy();
        println!("    {file}: {}", summary.join(", "));
        for s in &m.statements {
            if let Some(why) = &s.destructive {
                println!("      DESTRUCTIVE ({why}): {}", s.excerpt);
            }
        }
    }
    if functions.is_empty() {
        println!("  functions: none (no supabase/functions/<name>/index.ts)");
    } else {
        println!("  functions to build and deploy: {}", functions.join(", "));
    }
    if secrets.all.is_empty() {
        println!("  secrets: none (no supabase/functions/.env.example)");
    } else {
        let settable = secrets.settable();
        println!(
            "  secrets to set when present in the environment: {}",
            settable.join(", ")
        );
    }
}

/// Runs squawk on the pending files; each file runs in one transaction, as migrate applies it.
pub(super) fn lint(pending: &[Pending]) -> Result<()> {
    if pending.is_empty() {
        println!("preflight: squawk: nothing pending to lint");
        return Ok(());
    }
    pytools::ensure_python_tools()?;
    let status = Command::new(pytools::bin("squawk"))
        .arg("--assume-in-transaction")
        .args(pending.iter().map(|p| &p.path))
        .current_dir(paths::project_root())
        .status()
        .context("cannot run squawk")?;
    if !status.success() {
        bail!(
            "preflight: squawk found problems in the pending migrations (above); fix them, or \
             justify each with a `-- squawk-ignore <rule>` comment in place"
        );
    }
    Ok(())
}

/// Every local version must be in the remote ledger after the deploy.
pub(super) fn smoke_ledger(url: &str, dir: &Path) -> Result<()> {
    let (applied, pending) = migrate::status(url, dir)?;
    if !pending.is_empty() {
        bail!(
            "smoke check: the ledger lacks {}; run `cargo xtask migration list --db-url ...` to \
             see why",
            pending.join(", ")
        );
    }
    println!(
        "smoke check: the ledger lists all {} local versions",
        applied.len()
    );
    Ok(())
}
