//! The `cargo xtask` CLI as a binary of this package, so integration tests can run it as a
//! separate process (`env!("CARGO_BIN_EXE_xtask-cli")`) without nesting cargo.

fn main() -> std::process::ExitCode {
    xtask::cli::main()
}
