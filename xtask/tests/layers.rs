//! The layering docs/architecture.md describes, checked on the sources: the infrastructure uses
//! nothing above it, the parts of the stack use no command, and the migration engine prints
//! nothing (the command line decides what to show).

use std::fs;
use std::path::{Path, PathBuf};

fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Lines of code (not comments) of `path` containing any of `needles`.
fn offending(path: &Path, needles: &[&str]) -> Vec<String> {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim_start().starts_with("//"))
        .filter(|(_, l)| needles.iter().any(|n| l.contains(n)))
        .map(|(i, l)| format!("{}:{}: {}", path.display(), i + 1, l.trim()))
        .collect()
}

#[test]
fn infra_uses_nothing_above_it() {
    let bad: Vec<String> = sources(&src().join("infra"))
        .iter()
        .flat_map(|p| offending(p, &["crate::"]))
        .collect();
    assert!(bad.is_empty(), "infra reaches up:\n{}", bad.join("\n"));
}

#[test]
fn only_commands_use_commands() {
    let mut bad = Vec::new();
    for path in sources(&src()) {
        let rel = path.strip_prefix(src()).unwrap();
        if rel.starts_with("commands") || rel == Path::new("cli.rs") || rel == Path::new("lib.rs") {
            continue;
        }
        bad.extend(offending(&path, &["crate::commands"]));
    }
    assert!(bad.is_empty(), "a part uses a command:\n{}", bad.join("\n"));
}

#[test]
fn the_migration_engine_prints_nothing() {
    let bad: Vec<String> = sources(&src().join("migrate"))
        .iter()
        .flat_map(|p| offending(p, &["print!(", "println!(", "eprint!(", "eprintln!("]))
        .collect();
    assert!(bad.is_empty(), "the engine prints:\n{}", bad.join("\n"));
}
