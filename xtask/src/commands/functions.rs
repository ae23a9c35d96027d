//! `cargo xtask functions build [--release]`.

use anyhow::Result;

use crate::functions::{self, Built};

#[derive(clap::Subcommand)]
pub enum FunctionsCommand {
    /// Compile every edge function to wasm32 and bind it for Deno.
    Build {
        /// Optimised build (and wasm-opt).
        #[arg(long)]
        release: bool,
    },
}

pub fn run(cmd: FunctionsCommand) -> Result<()> {
    match cmd {
        FunctionsCommand::Build { release: true } => print(&functions::build_release()?),
        FunctionsCommand::Build { release: false } => print(&functions::build_debug()?),
    }
    Ok(())
}

/// `functions build --release`, as the deploy runs it before publishing.
pub fn build_release() -> Result<()> {
    run(FunctionsCommand::Build { release: true })
}

fn print(built: &[Built]) {
    for f in built {
        eprintln!(
            "    {:<24} {:>9} bytes  {}",
            f.name,
            f.wasm_bytes,
            f.wasm.display()
        );
    }
}
