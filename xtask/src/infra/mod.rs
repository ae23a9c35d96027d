//! What the commands stand on: paths of the checkout, database connections, throwaway and local
//! PostgreSQL clusters, prerequisites, running programs, loopback HTTP, progress lines.
//!
//! Invariant: this layer uses no command (nothing of `crate::commands` nor of the modules that
//! carry one); commands use it.

pub mod cluster;
pub mod db;
pub mod http;
pub mod paths;
pub mod prereq;
pub mod process;
pub mod progress;
