//! The local stack: `up`, `down`, `reset`, `status`. (Being written.)

use anyhow::Result;

#[derive(clap::Args)]
pub struct UpArgs {
    /// Do not install missing prerequisites; print the install command and fail instead.
    #[arg(long)]
    pub no_install: bool,
    /// Port for PostgreSQL (default 54322, Supabase's local db port).
    #[arg(long, default_value_t = 54322)]
    pub port: u16,
}

pub fn up(_args: &UpArgs) -> Result<()> {
    anyhow::bail!("not written yet")
}

pub fn down() -> Result<()> {
    anyhow::bail!("not written yet")
}

pub fn reset() -> Result<()> {
    anyhow::bail!("not written yet")
}

pub fn status(_json: bool) -> Result<()> {
    anyhow::bail!("not written yet")
}

pub fn ensure_running_url() -> Result<String> {
    anyhow::bail!("not written yet")
}
