//! `cargo xtask fuzz`: the coverage-guided fuzz targets of `fuzz/` (cargo-fuzz, libFuzzer), each
//! for a while, with the committed seeds in `fuzz/seeds/<target>/` and a growing work corpus in
//! `fuzz/target/corpus/<target>/` (not committed). A crash is saved by libFuzzer under
//! `fuzz/artifacts/<target>/`; reproduce it with `cargo fuzz run <target> <file>` in `fuzz/`.
//! Not part of `cargo xtask test`: a useful run takes minutes per target.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::infra::paths;

/// The targets, in the order they run (`fuzz/fuzz_targets/<name>.rs`).
pub const TARGETS: &[(&str, &str)] = &[
    (
        "edge_request",
        "the gateway's caller decisions and the functions' request parsing",
    ),
    (
        "jwt_verify",
        "JWT verification: nothing verifies that the secret did not sign",
    ),
    (
        "migration_split",
        "the migration splitter: statements are where they say",
    ),
    (
        "quote",
        "identifier, literal and dollar quoting read back as their input",
    ),
    (
        "mcp_request",
        "the MCP endpoint's API-token and JSON-RPC handling",
    ),
];

#[derive(clap::Args)]
pub struct FuzzArgs {
    /// Seconds per target.
    #[arg(long, default_value_t = 60, value_name = "S")]
    time: u64,
    /// libFuzzer's sanitizer. The code under test is safe Rust, so `none` (several times the
    /// executions per second) is the default; `address` adds AddressSanitizer.
    #[arg(long, default_value = "none", value_parser = ["none", "address"])]
    sanitizer: String,
    /// List the targets and exit.
    #[arg(long)]
    list: bool,
    /// One target (default: all).
    target: Option<String>,
}

/// What one target's run did.
pub struct Outcome {
    pub target: String,
    pub executions: u64,
    pub seconds: u64,
    pub crashes: Vec<PathBuf>,
}

pub fn run(args: FuzzArgs) -> Result<()> {
    if args.list {
        for (name, what) in TARGETS {
            println!("{name:16} {what}");
        }
        return Ok(());
    }
    let targets: Vec<&str> = match &args.target {
        Some(t) if TARGETS.iter().any(|(n, _)| n == t) => vec![t.as_str()],
        Some(t) => bail!(
            "no fuzz target {t:?}; the targets are: {}",
            TARGETS
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => TARGETS.iter().map(|(n, _)| *n).collect(),
    };
    let cargo = cargo_fuzz()?;
    let mut outcomes = Vec::new();
    for t in targets {
        eprintln!(
            "==> fuzz {t} for {} s (sanitizer {})",
            args.time, args.sanitizer
        );
        outcomes.push(run_target(&cargo, t, args.time, &args.sanitizer)?);
    }
    println!("| target | executions | seconds | crashes |");
    println!("|---|---|---|---|");
    for o in &outcomes {
        println!(
            "| {} | {} | {} | {} |",
            o.target,
            o.executions,
            o.seconds,
            if o.crashes.is_empty() {
                "0".to_string()
            } else {
                o.crashes
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        );
    }
    let crashed: Vec<&str> = outcomes
        .iter()
        .filter(|o| !o.crashes.is_empty())
        .map(|o| o.target.as_str())
        .collect();
    if !crashed.is_empty() {
        bail!(
            "crashes in {}: reproduce with `cargo fuzz run <target> <file>` in fuzz/, then add the input as a regression test",
            crashed.join(", ")
        );
    }
    Ok(())
}

/// `cargo` with the arguments that reach cargo-fuzz on a toolchain that takes `-Z` flags:
/// nightly when rustup has it, else the stable toolchain with `RUSTC_BOOTSTRAP=1`.
struct CargoFuzz {
    toolchain: Option<&'static str>,
}

fn cargo_fuzz() -> Result<CargoFuzz> {
    let has = |args: &[&str]| {
        Command::new("cargo")
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !has(&["fuzz", "--version"]) {
        crate::infra::progress::step("cargo install cargo-fuzz (a few minutes, once)", || {
            let status = Command::new("cargo")
                .args(["install", "cargo-fuzz"])
                .status()
                .context("cannot run cargo install")?;
            if !status.success() {
                bail!(
                    "cargo install cargo-fuzz failed; install it by hand: cargo install cargo-fuzz"
                );
            }
            Ok(())
        })?;
    }
    let nightly = has(&["+nightly", "--version"]);
    Ok(CargoFuzz {
        toolchain: nightly.then_some("+nightly"),
    })
}

fn run_target(cargo: &CargoFuzz, target: &str, seconds: u64, sanitizer: &str) -> Result<Outcome> {
    let dir = paths::project_root().join("fuzz");
    let seeds = dir.join("seeds").join(target);
    let work = dir.join("target").join("corpus").join(target);
    let artifacts = dir.join("artifacts").join(target);
    let logs = dir.join("target").join("logs");
    for d in [&work, &artifacts, &logs] {
        fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
    }
    let before = crash_files(&artifacts)?;
    let log_path = logs.join(format!("{target}.log"));
    let log = fs::File::create(&log_path)?;
    let mut cmd = Command::new("cargo");
    if let Some(t) = cargo.toolchain {
        cmd.arg(t);
    } else {
        cmd.env("RUSTC_BOOTSTRAP", "1");
    }
    let start = Instant::now();
    let status = cmd
        .current_dir(&dir)
        .args(["fuzz", "run", "--sanitizer", sanitizer, target])
        .arg(&work)
        .arg(&seeds)
        .arg("--")
        .arg(format!("-max_total_time={seconds}"))
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .arg("-print_final_stats=1")
        .stdout(log.try_clone()?)
        .stderr(log)
        .status()
        .context("cannot run cargo fuzz")?;
    let text = fs::read_to_string(&log_path).unwrap_or_default();
    let executions = final_stat(&text, "stat::number_of_executed_units:");
    let crashes: Vec<PathBuf> = crash_files(&artifacts)?
        .into_iter()
        .filter(|p| !before.contains(p))
        .collect();
    if !status.success() && crashes.is_empty() {
        bail!(
            "cargo fuzz run {target} failed without a crash file; its output is in {}",
            log_path.display()
        );
    }
    eprintln!(
        "    {target}: {} executions in {:.0} s, {} crash(es); log {}",
        executions.unwrap_or(0),
        start.elapsed().as_secs_f64(),
        crashes.len(),
        log_path.display()
    );
    Ok(Outcome {
        target: target.into(),
        executions: executions.unwrap_or(0),
        seconds: start.elapsed().as_secs(),
        crashes,
    })
}

fn final_stat(log: &str, name: &str) -> Option<u64> {
    log.lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix(name))
        .and_then(|v| v.trim().parse().ok())
}

fn crash_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir)? {
        let p = e?.path();
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if ["crash-", "oom-", "timeout-", "leak-"]
            .iter()
            .any(|k| name.starts_with(k))
        {
            out.push(p);
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_target_has_a_source_file_seeds_and_a_bin_entry() {
        let dir = paths::project_root().join("fuzz");
        let manifest = fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        for (t, _) in TARGETS {
            assert!(
                dir.join("fuzz_targets").join(format!("{t}.rs")).is_file(),
                "fuzz/fuzz_targets/{t}.rs"
            );
            assert!(
                manifest.contains(&format!("name = \"{t}\"")),
                "fuzz/Cargo.toml has no [[bin]] {t}"
            );
            let seeds = fs::read_dir(dir.join("seeds").join(t))
                .unwrap_or_else(|e| panic!("fuzz/seeds/{t}: {e}"))
                .count();
            assert!(seeds > 0, "fuzz/seeds/{t} is empty");
        }
        let files = fs::read_dir(dir.join("fuzz_targets")).unwrap().count();
        assert_eq!(
            files,
            TARGETS.len(),
            "a target in fuzz/fuzz_targets is not in TARGETS"
        );
    }

    #[test]
    fn the_final_stats_are_read() {
        let log = "#123 DONE\nstat::number_of_executed_units: 4567\nstat::peak_rss_mb: 40\n";
        assert_eq!(
            final_stat(log, "stat::number_of_executed_units:"),
            Some(4567)
        );
    }
}
