//! Prerequisites: Debian packages, pinned npm tools, Chromium and Prometheus.

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{bail, Result};

use super::process::{is_root, run_quiet};
use super::{paths, progress};

/// Where Debian's `postgresql-15` puts the server programs.
pub const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

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

/// Makes sure the apt prerequisites are present: installs them when we are root on Debian, else
/// fails with the install command.
pub fn ensure_apt() -> Result<()> {
    apt(Install::WhenRoot)
}

/// Fails with the install command when an apt prerequisite is missing; installs nothing.
pub fn require_apt() -> Result<()> {
    apt(Install::Never)
}

#[derive(PartialEq, Eq)]
enum Install {
    WhenRoot,
    Never,
}

fn apt(install: Install) -> Result<()> {
    let has_dpkg = Path::new("/usr/bin/dpkg-query").exists();
    if !has_dpkg {
        // Not Debian: we cannot ask the package manager, so check the programs themselves.
        if Path::new(PG_BIN).join("initdb").exists() {
            return Ok(());
        }
        bail!(
            "PostgreSQL 15 was not found at {}; install PostgreSQL 15 with pgTAP, PostGIS 3, \
             plpgsql_check and pg_prove (on Debian/Ubuntu: apt-get install -y {})",
            PG_BIN,
            APT_PACKAGES.join(" ")
        );
    }
    let missing = missing_packages(APT_PACKAGES);
    if missing.is_empty() {
        return Ok(());
    }
    if install == Install::Never || !is_root() {
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
    if !Path::new("/usr/bin/dpkg-query").exists() || !is_root() {
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
    if !Path::new("/usr/bin/dpkg-query").exists() || !is_root() {
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
