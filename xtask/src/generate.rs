//! `cargo xtask generate [--check]`. (Being written.)

use anyhow::Result;

pub fn run(_check: bool) -> Result<()> {
    anyhow::bail!("not written yet")
}
