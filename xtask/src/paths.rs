//! Where things live in the repository.

use std::path::{Path, PathBuf};

/// The workspace root, found once from this crate's manifest directory.
pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
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
