//! `cargo xtask keys show|rotate|revoke-previous`: the local stack's JWT signing keys.

use anyhow::Result;

use crate::commands::stack::print_local_keys;
use crate::keys::{local, local_path};

#[derive(clap::Subcommand)]
pub enum KeysCommand {
    /// Print the stack's keys and the signing keys' ids (current first).
    Show,
    /// Make a new signing key the current one; the old one stays in the JWKS, so tokens it
    /// signed keep working until they expire or `revoke-previous` runs.
    Rotate,
    /// Drop every signing key but the current one from the JWKS: their tokens stop working.
    RevokePrevious,
}

pub fn run(cmd: KeysCommand) -> Result<()> {
    let path = local_path();
    let mut keys = local()?;
    match cmd {
        KeysCommand::Show => {
            print_local_keys()?;
            for (i, k) in keys.all().iter().enumerate() {
                let state = if i == 0 { "current" } else { "previously used" };
                println!("  {} ({state})", k.kid);
            }
            return Ok(());
        }
        KeysCommand::Rotate => keys.rotate()?,
        KeysCommand::RevokePrevious => keys.revoke_previous(),
    }
    keys.save(&path)?;
    println!(
        "signing keys in {}: {}",
        path.display(),
        keys.all()
            .iter()
            .map(|k| k.kid.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    // The gateway and its functions read the keys when they start.
    if crate::gateway::running_pid().is_some() {
        crate::gateway::down()?;
        crate::gateway::up(&crate::commands::stack::ensure_running_url()?)?;
    }
    Ok(())
}
