//! `cargo xtask test`: THE test command.

use std::process::Command;

use anyhow::Result;

use crate::infra::prereq::{ensure_apt, ensure_chromium, ensure_node_modules, ensure_prometheus};
use crate::infra::{paths, process::run_loud};

/// `cargo xtask test`: THE test command. Prerequisites are installed (or the command fails
/// saying how); nothing is skipped.
pub fn run() -> Result<()> {
    ensure_apt()?;
    ensure_node_modules()?;
    ensure_chromium()?;
    ensure_prometheus()?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let root = paths::project_root();
    run_loud(
        "cargo fmt --check",
        Command::new(&cargo)
            .args(["fmt", "--all", "--check"])
            .current_dir(&root),
    )?;
    run_loud(
        "cargo clippy (warnings denied)",
        Command::new(&cargo)
            .args([
                "clippy",
                "--workspace",
                "--all-targets",
                "--quiet",
                "--",
                "-D",
                "warnings",
            ])
            .current_dir(&root),
    )?;
    run_loud(
        "cargo test --workspace (snapshots checked, database tests included)",
        Command::new(&cargo)
            .args(["test", "--workspace"])
            // Snapshots are compared, never written: a changed snapshot fails the run.
            .env("INSTA_UPDATE", "no")
            .current_dir(&root),
    )
}
