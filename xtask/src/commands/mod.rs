//! One module per `cargo xtask` command: arguments, what it prints, and the work it does with
//! the engines (`crate::migrate`) and the infrastructure (`crate::infra`).

pub mod deploy;
pub mod keys;
pub mod migrate;
pub mod test;
