//! The migration engine. (Being written.)

use std::path::{Path, PathBuf};

use anyhow::Result;

pub struct Options {
    pub dir: PathBuf,
    pub dry_run: bool,
    pub include_all: bool,
    pub compat: bool,
}

#[derive(Debug, Default)]
pub struct Report {
    pub applied: Vec<String>,
}

pub enum RepairStatus {
    Applied,
    Reverted,
}

pub fn run(_url: &str, _opts: &Options) -> Result<Report> {
    anyhow::bail!("not written yet")
}

pub fn new_migration(_dir: &Path, _name: &str) -> Result<PathBuf> {
    anyhow::bail!("not written yet")
}

pub fn list(_url: &str, _dir: &Path) -> Result<()> {
    anyhow::bail!("not written yet")
}

pub fn repair(_url: &str, _dir: &Path, _status: RepairStatus, _versions: &[String]) -> Result<()> {
    anyhow::bail!("not written yet")
}

pub fn status(_url: &str, _dir: &Path) -> Result<(Vec<String>, Vec<String>)> {
    anyhow::bail!("not written yet")
}
