//! The project's command line and the machinery behind it.
//!
//! Architecture invariant: this is the only crate that runs external programs (initdb, pg_ctl,
//! apt-get, npm, the Supabase CLI). Business rules live in `sql`; this crate only applies them.

pub mod auth_api;
pub mod cli;
pub mod commands;
pub mod compat;
pub mod diagram;
pub mod function_env;
pub mod functions;
pub mod gateway;
pub mod infra;
pub mod jwt;
pub mod keys;
pub mod metrics;
pub mod migrate;
pub mod net_worker;
pub mod pytools;
pub mod schedules;

// The infrastructure at its old paths (`xtask::paths`, `xtask::cluster`, …), which tests use.
pub use infra::{cluster, db, http, paths, prereq, process, progress};
// The commands at their old paths.
pub use commands::{agent, audit, backup, bench, deploy, fuzz, generate, inspect, stack, token};
