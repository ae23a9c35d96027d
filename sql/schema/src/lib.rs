//! The Moha Interiors database: its releases, access matrix, personas and the list of generated
//! outputs, written on the schema engine (`sql_engine`), which this crate re-exports so that
//! `sql::model`, `sql::render`, `sql::quote`, … keep their paths.
//!
//! Architecture invariant: no I/O. It says what the schema is and where each generated file
//! goes; `xtask` writes them.

pub use sql_engine::*;

pub mod docs;
pub mod generated;
pub mod moha;

#[cfg(test)]
mod renderer_tests;
