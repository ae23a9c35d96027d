//! xtask acts on the checkout cargo runs it from, not the one it was compiled in: with a shared
//! `CARGO_TARGET_DIR` two clones share one binary, and `cargo xtask generate` in one wrote the
//! other's files.

use std::process::Command;

#[test]
fn acts_on_the_tree_of_the_run_time_manifest_dir() {
    let tree = tempfile::tempdir().unwrap();
    let manifest_dir = tree.path().join("xtask");
    std::fs::create_dir(&manifest_dir).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["generate", "--check"])
        .env("CARGO_MANIFEST_DIR", &manifest_dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The empty tree lacks every migration; the tree this binary was built from has them all.
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("supabase/migrations is out of date with the model:\n  missing:  "),
        "{stderr}"
    );
    assert!(
        stderr.contains("  stale:    supabase/functions/_shared/database.types.ts\n"),
        "{stderr}"
    );
}
