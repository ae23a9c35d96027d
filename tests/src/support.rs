//! Programs the tests run: this repository's CLI, the Supabase CLI, Deno scripts (supabase-js,
//! the MCP SDK), pg_prove and the pinned linters. One place for "run it with stdin closed, and
//! fail with everything it printed unless it succeeded".

use std::path::PathBuf;
use std::process::{Command, Stdio};

/// What a finished program printed.
pub struct Ran {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    /// Standard output then standard error, as a terminal shows them.
    pub fn text(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// Runs `cmd` to the end with stdin closed; panics only when it cannot be started.
#[track_caller]
pub fn run(cmd: &mut Command) -> Ran {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{:?} did not start: {e}", cmd.get_program()));
    Ran::from(out)
}

impl From<std::process::Output> for Ran {
    fn from(out: std::process::Output) -> Self {
        Ran {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// Runs `cmd` and panics with its output unless it succeeded.
#[track_caller]
pub fn run_ok(cmd: &mut Command) -> Ran {
    let ran = run(cmd);
    assert!(
        ran.ok,
        "{:?} {:?} failed:\n{}\n{}",
        cmd.get_program(),
        cmd.get_args().collect::<Vec<_>>(),
        ran.stderr,
        ran.stdout
    );
    ran
}

/// `deno run` of a script in `tests/it` with the permissions the clients need (the pinned Deno
/// from npm; supabase-js needs its native WebSocket, which Node 20 lacks).
pub fn deno(script: &str) -> Command {
    let mut cmd = Command::new(xtask::prereq::node_bin("deno"));
    cmd.args([
        "run",
        "--no-prompt",
        "--allow-env",
        "--allow-net",
        "--allow-read",
        script,
    ])
    .current_dir(xtask::paths::project_root().join("tests/it"))
    .env("DENO_NO_UPDATE_CHECK", "1");
    cmd
}

/// The pinned Supabase CLI (`node_modules/.bin/supabase`), telemetry off.
#[track_caller]
pub fn supabase_cli() -> Command {
    let bin: PathBuf = xtask::paths::project_root().join("node_modules/.bin/supabase");
    assert!(
        bin.exists(),
        "{} is missing: run `npm ci` in the repository root",
        bin.display()
    );
    let mut cmd = Command::new(bin);
    cmd.env("DO_NOT_TRACK", "1");
    cmd
}

/// This repository's CLI (`cargo xtask …`) at `exe` (the test binary's
/// `env!("CARGO_BIN_EXE_xtask-cli")`), with no database URL inherited from the environment.
pub fn xtask_cli(exe: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(exe);
    cmd.args(args)
        .env_remove("SUPABASE_DB_URL")
        .env_remove("DATABASE_URL");
    cmd
}

/// `deno check` of a TypeScript file (a path from the repository root); panics on a type error.
#[track_caller]
pub fn deno_check(file: &str) {
    run_ok(
        Command::new(xtask::prereq::node_bin("deno"))
            .args(["check", file])
            .current_dir(xtask::paths::project_root())
            .env("DENO_NO_UPDATE_CHECK", "1"),
    );
}

/// `pg_prove` of pgTAP files on `db_url`.
#[track_caller]
pub fn pg_prove(db_url: &str, files: &[PathBuf]) -> Ran {
    let out = Command::new("pg_prove")
        .arg("--dbname")
        .arg(db_url)
        .args(["--ext", ".sql", "--failures", "--comments"])
        .args(files)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run pg_prove ({e}): install libtap-parser-sourcehandler-pgtap-perl")
        });
    Ran::from(out)
}
