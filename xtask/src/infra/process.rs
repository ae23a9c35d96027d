//! Running other programs, and who we run as.

use std::fs;
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

/// Runs `cmd`, capturing its output; on failure the error carries the output.
pub fn run_quiet(cmd: &mut Command) -> Result<()> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {:?}", cmd.get_program()))?;
    if !out.status.success() {
        bail!(
            "{:?} failed ({}):\n{}{}",
            cmd.get_program(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// Runs `cmd` with inherited output; fails naming `what`.
pub fn run_loud(what: &str, cmd: &mut Command) -> Result<()> {
    eprintln!("==> {what}");
    let start = std::time::Instant::now();
    let status = cmd
        .status()
        .with_context(|| format!("cannot run {:?}", cmd.get_program()))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    eprintln!("==> {what}: ok ({:.1}s)", start.elapsed().as_secs_f64());
    Ok(())
}

/// The effective uid of this process.
pub fn current_uid() -> Result<u32> {
    let status =
        fs::read_to_string("/proc/self/status").context("cannot read /proc/self/status")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|rest| rest.split_whitespace().nth(1))
        .and_then(|euid| euid.parse().ok())
        .context("cannot find the effective uid in /proc/self/status")
}

/// True when this process runs as root.
pub fn is_root() -> bool {
    current_uid().map(|u| u == 0).unwrap_or(false)
}
