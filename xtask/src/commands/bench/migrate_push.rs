//! P3: migrating an empty database to head, ours versus `supabase db push`.

use std::fs;
use std::process::Command;

use anyhow::Result;

use super::{fresh_db, median, timed, Figure};
use crate::infra::cluster::Throwaway;
use crate::infra::{paths, prereq};

/// P3: migrate an empty database to head, ours versus `supabase db push`, same files, a fresh
/// database each time, median of 5.
pub(super) fn p3_migrate_vs_supabase_push() -> Result<Vec<Figure>> {
    eprintln!(
        "==> P3: migrate empty → head, cargo xtask migrate vs supabase db push (5 runs each)"
    );
    let t = Throwaway::start()?;
    let exe = std::env::current_exe()?;
    let supabase = prereq::node_bin("supabase");
    let files = fs::read_dir(paths::migrations_dir())?
        .filter(|e| {
            e.as_ref()
                .map(|e| e.path().extension().is_some_and(|x| x == "sql"))
                .unwrap_or(false)
        })
        .count();
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for i in 0..5 {
        let url = fresh_db(&t, &format!("ours_{i}"))?;
        ours.push(timed(
            Command::new(&exe)
                .args(["migrate", "--db-url", &url])
                .current_dir(paths::project_root()),
        )?);
        let url = fresh_db(&t, &format!("cli_{i}"))?;
        theirs.push(timed(
            Command::new(&supabase)
                .args(["db", "push", "--db-url", &format!("{url}?sslmode=disable")])
                .current_dir(paths::project_root()),
        )?);
    }
    let (ours, theirs) = (median(ours), median(theirs));
    Ok(vec![Figure {
        id: "P3",
        what: format!("migrate empty → head ({files} files), ours / supabase db push, median of 5"),
        value: format!(
            "{:.2} ({:.0} ms / {:.0} ms)",
            ours.as_secs_f64() / theirs.as_secs_f64(),
            ours.as_secs_f64() * 1e3,
            theirs.as_secs_f64() * 1e3
        ),
        target: "≤ 1.0",
    }])
}
