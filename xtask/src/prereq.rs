//! Prerequisites (apt packages, npm tools) and the test command. (Being written.)

use anyhow::Result;

/// The Debian packages the local stack and the tests need.
pub const APT_PACKAGES: &[&str] = &[
    "postgresql-15",
    "postgresql-15-pgtap",
    "postgresql-15-postgis-3",
    "postgresql-15-plpgsql-check",
    "libtap-parser-sourcehandler-pgtap-perl",
];

/// The exact command that installs the prerequisites.
pub fn install_hint() -> String {
    format!("install them with: apt-get update && apt-get install -y {}", APT_PACKAGES.join(" "))
}

pub fn run_test_suite() -> Result<()> {
    anyhow::bail!("not written yet")
}
