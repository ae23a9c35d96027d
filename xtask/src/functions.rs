//! `cargo xtask functions build`. (Being written.)

use anyhow::Result;

#[derive(clap::Subcommand)]
pub enum FunctionsCommand {
    /// Compile every edge function to wasm32 and bind it for Deno.
    Build {
        /// Optimised build (and wasm-opt).
        #[arg(long)]
        release: bool,
    },
}

pub fn run(_cmd: FunctionsCommand) -> Result<()> {
    anyhow::bail!("not written yet")
}
