//! Prerequisites (Debian packages, pinned npm tools) and the test command.

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use crate::{cluster, paths, progress};

/// The Debian packages the local stack and the tests need.
pub const APT_PACKAGES: &[&str] = &[
    "postgresql-15",
    "postgresql-15-pgtap",
    "postgresql-15-postgis-3",
    "postgresql-15-plpgsql-check",
    "libtap-parser-sourcehandler-pgtap-perl",
    // Supabase Cron's scheduler; `age` encrypts backups (cargo xtask backup --recipient).
    "postgresql-15-cron",
    "age",
];

/// The exact command that installs the prerequisites.
pub fn install_hint() -> String {
    format!(
        "install them with: apt-get update && apt-get install -y {}",
        APT_PACKAGES.join(" ")
    )
}

/// Debian packages from `wanted` that are not installed.
fn missing_packages(wanted: &[&str]) -> Vec<String> {
    wanted
        .iter()
        .filter(|pkg| {
            let out = Command::new("dpkg-query")
                .args(["-W", "-f=${Status}", pkg])
                .stderr(Stdio::null())
                .output();
            !matches!(out, Ok(o) if String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
        })
        .map(|s| s.to_string())
        .collect()
}

/// Makes sure the apt prerequisites are present: installs them when we are root on Debian and
/// `allow_install`, else fails with the install command.
pub fn ensure_apt(allow_install: bool) -> Result<()> {
    let has_dpkg = Path::new("/usr/bin/dpkg-query").exists();
    if !has_dpkg {
        // Not Debian: we cannot ask the package manager, so check the programs themselves.
        if Path::new(cluster::PG_BIN).join("initdb").exists() {
            return Ok(());
        }
        bail!(
            "PostgreSQL 15 was not found at {}; install PostgreSQL 15 with pgTAP, PostGIS 3, \
             plpgsql_check and pg_prove (on Debian/Ubuntu: apt-get install -y {})",
            cluster::PG_BIN,
            APT_PACKAGES.join(" ")
        );
    }
    let missing = missing_packages(APT_PACKAGES);
    if missing.is_empty() {
        return Ok(());
    }
    if !allow_install || !cluster::is_root() {
        bail!(
            "missing Debian packages: {}\n{}",
            missing.join(" "),
            install_hint()
        );
    }
    eprintln!("==> will install with apt: {}", missing.join(" "));
    progress::step("apt-get update", || {
        run_quiet(Command::new("apt-get").arg("update"))
    })?;
    progress::step(&format!("apt-get install {}", missing.join(" ")), || {
        run_quiet(
            Command::new("apt-get")
                .args(["install", "-y", "--no-install-recommends"])
                .args(&missing)
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )
    })
}

/// Debian's Chromium, which renders the schema diagram in the tests and in `cargo xtask gen
/// diagram` (puppeteer's own browser download cannot work here). `MOHA_CHROMIUM` overrides it.
pub fn chromium_path() -> std::path::PathBuf {
    std::env::var_os("MOHA_CHROMIUM")
        .map(Into::into)
        .unwrap_or_else(|| "/usr/bin/chromium".into())
}

/// Makes sure Chromium is present: installs Debian's `chromium` package when we are root on
/// Debian, else fails saying how to get it.
pub fn ensure_chromium() -> Result<()> {
    let path = chromium_path();
    if path.exists() {
        return Ok(());
    }
    if !Path::new("/usr/bin/dpkg-query").exists() || !cluster::is_root() {
        bail!(
            "Chromium was not found at {}; install it (on Debian: apt-get install -y chromium) \
             or point MOHA_CHROMIUM at a Chromium binary",
            path.display()
        );
    }
    eprintln!("==> will install with apt: chromium");
    progress::step("apt-get update", || {
        run_quiet(Command::new("apt-get").arg("update"))
    })?;
    progress::step("apt-get install chromium", || {
        run_quiet(
            Command::new("apt-get")
                .args(["install", "-y", "--no-install-recommends", "chromium"])
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )
    })
}

/// Makes sure Debian's `prometheus` package is present (promtool and the server the alert tests
/// run): installs it when we are root on Debian, else fails saying how to get it.
pub fn ensure_prometheus() -> Result<()> {
    if Path::new("/usr/bin/promtool").exists() && Path::new("/usr/bin/prometheus").exists() {
        return Ok(());
    }
    if !Path::new("/usr/bin/dpkg-query").exists() || !cluster::is_root() {
        bail!(
            "Prometheus was not found (/usr/bin/promtool, /usr/bin/prometheus); install it (on \
             Debian: apt-get install -y --no-install-recommends prometheus)"
        );
    }
    eprintln!("==> will install with apt: prometheus");
    progress::step("apt-get update", || {
        run_quiet(Command::new("apt-get").arg("update"))
    })?;
    progress::step("apt-get install prometheus", || {
        run_quiet(
            Command::new("apt-get")
                .args(["install", "-y", "--no-install-recommends", "prometheus"])
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )
    })
}

/// Installs the pinned npm tools (`package-lock.json`) when `node_modules` is missing.
pub fn ensure_node_modules() -> Result<()> {
    let root = paths::project_root();
    let marker = root.join("node_modules/.package-lock.json");
    let lock = root.join("package-lock.json");
    let fresh = match (marker.metadata(), lock.metadata()) {
        (Ok(m), Ok(l)) => m.modified()? >= l.modified()?,
        _ => false,
    };
    if fresh {
        return Ok(());
    }
    if Command::new("npm").arg("--version").output().is_err() {
        bail!("npm was not found; install Node.js 20+ (apt-get install -y nodejs npm)");
    }
    progress::step("npm ci (pinned deno, supabase CLI)", || {
        run_quiet(
            Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(&root),
        )
    })
}

/// Path of a program installed by `npm ci`.
pub fn node_bin(name: &str) -> std::path::PathBuf {
    paths::project_root().join("node_modules/.bin").join(name)
}

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
fn run_loud(what: &str, cmd: &mut Command) -> Result<()> {
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

/// `cargo xtask test`: THE test command. Prerequisites are installed (or the command fails
/// saying how); nothing is skipped.
pub fn run_test_suite() -> Result<()> {
    ensure_apt(true)?;
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
