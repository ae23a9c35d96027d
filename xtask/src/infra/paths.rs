//! Where things live in the repository.

use std::path::{Path, PathBuf};

/// The workspace root: the parent of the run-time `CARGO_MANIFEST_DIR` (cargo sets it for
/// `cargo run` and so for `cargo xtask`), else of the one this crate was compiled in. Run time
/// first: with a shared `CARGO_TARGET_DIR` two checkouts run one binary, and each must act on
/// its own files.
pub fn project_root() -> PathBuf {
    let dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .filter(|d| !d.is_empty())
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    Path::new(&dir)
        .parent()
        .expect("cargo's manifest directory lies one level below the workspace root")
        .to_path_buf()
}

/// The Supabase CLI project directory.
pub fn supabase_dir() -> PathBuf {
    project_root().join("supabase")
}

/// `supabase/migrations`.
pub fn migrations_dir() -> PathBuf {
    supabase_dir().join("migrations")
}

/// Gitignored state of the local stack (cluster data, logs, settings).
pub fn local_dir() -> PathBuf {
    project_root().join(".local")
}
