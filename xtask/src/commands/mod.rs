//! One module per `cargo xtask` command: arguments, what it prints, and the work it does with
//! the engines (`crate::migrate`) and the infrastructure (`crate::infra`).

pub mod agent;
pub mod audit;
pub mod backup;
pub mod bench;
pub mod deploy;
pub mod functions;
pub mod fuzz;
pub mod generate;
pub mod inspect;
pub mod keys;
pub mod migrate;
pub mod stack;
pub mod test;
pub mod token;
