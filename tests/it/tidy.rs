//! Architecture invariants a test can check, read from the tree as rust-analyzer's `tidy.rs`
//! does: the schema engine (`sql/engine`) does no I/O and knows no business, and every file in
//! `supabase/migrations` is generated. Each rule is a function over text, so the self-tests
//! below show it failing on a planted violation.

use std::path::{Path, PathBuf};

/// The repository root: this crate's parent folder.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Every `.rs` file under `dir`, in a stable order.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The dependencies the engine may have: none of them does I/O. Add one only after checking it
/// does none (no files, sockets, processes, environment).
const ENGINE_DEPENDENCIES: &[&str] = &["thiserror", "insta"];

/// The business crate, which depends on the engine and never the other way round.
const BUSINESS_CRATE: &str = "moha-sql";

/// What reaches files, processes, sockets or the environment from Rust code. `Command::new`
/// rather than `Command::`: the model's policy command (`Command::Select`) is data.
const IO_MARKERS: &[&str] = &[
    "std::fs",
    "std::process",
    "std::net",
    "std::env",
    "File::",
    "Command::new",
];

/// Dependency names declared in a `Cargo.toml`, from every `[*dependencies]` table.
fn dependencies(cargo_toml: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_deps = false;
    for line in cargo_toml.lines().map(str::trim) {
        if line.starts_with('[') {
            in_deps = line.trim_end_matches(']').ends_with("dependencies");
            continue;
        }
        if !in_deps || line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some((name, _)) = line.split_once('=') {
            out.push(name.trim().trim_matches('"').to_string());
        }
    }
    out
}

/// Problems with the engine's manifest: the business crate or a dependency not known to be free
/// of I/O.
fn manifest_problems(cargo_toml: &str) -> Vec<String> {
    dependencies(cargo_toml)
        .into_iter()
        .filter_map(|d| {
            let name = d.split('.').next().unwrap_or(&d).to_string();
            if name == BUSINESS_CRATE {
                Some(format!(
                    "the engine depends on the business crate {BUSINESS_CRATE}"
                ))
            } else if !ENGINE_DEPENDENCIES.contains(&name.as_str()) {
                Some(format!(
                    "the engine depends on {name}, which is not in ENGINE_DEPENDENCIES (crates \
                     known to do no I/O)"
                ))
            } else {
                None
            }
        })
        .collect()
}

/// Lines of an engine file that do I/O or name the business.
fn source_problems(file: &str, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        for m in IO_MARKERS {
            if line.contains(m) {
                out.push(format!("{file}:{}: `{m}`: the engine does no I/O", n + 1));
            }
        }
        if line.to_lowercase().contains("moha") {
            out.push(format!(
                "{file}:{}: names the business (`moha`): the engine knows no business",
                n + 1
            ));
        }
    }
    out
}

/// Mentions of the business in the engine's manifest, besides its package name.
fn manifest_business(cargo_toml: &str) -> Vec<String> {
    cargo_toml
        .lines()
        .filter(|l| !l.trim_start().starts_with("name ="))
        .filter(|l| l.to_lowercase().contains("moha"))
        .map(|l| format!("sql/engine/Cargo.toml: names the business: {l}"))
        .collect()
}

/// Files of the migrations folder that do not start with the generated header.
fn migration_problems(files: &[(String, String)]) -> Vec<String> {
    files
        .iter()
        .filter(|(_, text)| text.lines().next() != Some(sql::render::HEADER))
        .map(|(name, _)| {
            format!(
                "supabase/migrations/{name} does not start with the generated header; migrations \
                 are written by `cargo xtask generate` from the releases in sql/schema"
            )
        })
        .collect()
}

fn assert_none(problems: Vec<String>) {
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn the_engine_depends_on_no_business_and_no_io_crate() {
    let toml = read(&root().join("sql/engine/Cargo.toml"));
    assert!(
        !dependencies(&toml).is_empty(),
        "read no dependency from sql/engine/Cargo.toml"
    );
    assert_none(manifest_problems(&toml));
    assert_none(manifest_business(&toml));
}

#[test]
fn the_engine_does_no_io_and_knows_no_business() {
    let src = root().join("sql/engine/src");
    let files = rust_files(&src);
    assert!(files.len() > 10, "found only {} engine files", files.len());
    let mut problems = Vec::new();
    for f in files {
        let name = f.strip_prefix(root()).unwrap_or(&f).display().to_string();
        problems.extend(source_problems(&name, &read(&f)));
    }
    assert_none(problems);
}

#[test]
fn every_migration_is_generated() {
    let dir = root().join("supabase/migrations");
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("supabase/migrations") {
        let path = entry.expect("a directory entry").path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        // Git keeps the folder through it; it holds nothing.
        if name == ".gitkeep" {
            continue;
        }
        // Read as bytes: a binary or non-UTF-8 file is not generated either.
        let text = String::from_utf8(std::fs::read(&path).unwrap()).unwrap_or_default();
        files.push((name, text));
    }
    assert!(!files.is_empty(), "no migrations in {}", dir.display());
    assert_none(migration_problems(&files));
}

/// Each rule fails on a planted violation, so the tests above cannot pass by reading nothing.
#[test]
fn each_rule_catches_a_planted_violation() {
    let engine =
        "[package]\nname = \"moha-sql-engine\"\n\n[dependencies]\nthiserror.workspace = true\n";
    assert!(manifest_problems(engine).is_empty());
    assert!(manifest_business(engine).is_empty());
    let business = format!("{engine}moha-sql.workspace = true\n");
    assert_eq!(manifest_problems(&business).len(), 1, "{business}");
    let io = format!("{engine}\n[dev-dependencies]\ntempfile = \"3\"\n");
    assert_eq!(manifest_problems(&io).len(), 1, "{io}");
    assert_eq!(
        manifest_business("description = \"Moha's schema\"\n").len(),
        1
    );

    assert!(source_problems("a.rs", "use crate::model::Command;\nCommand::Select;\n").is_empty());
    for planted in [
        "use std::fs;",
        "std::process::exit(1);",
        "let s = std::net::TcpStream::connect(a);",
        "std::env::var(\"X\")",
        "let f = File::open(p);",
        "let c = Command::new(\"psql\");",
        "// the MOHA roles",
        "Name::new(\"public\", \"moha_admin\")",
    ] {
        assert_eq!(source_problems("a.rs", planted).len(), 1, "{planted}");
    }

    let good = format!("{}\n-- 1 x: y\n", sql::render::HEADER);
    assert!(migration_problems(&[("1_x.sql".into(), good)]).is_empty());
    for bad in ["create table t ();\n", "", "-- generated\n"] {
        assert_eq!(
            migration_problems(&[("2_hand.sql".into(), bad.into())]).len(),
            1,
            "{bad:?}"
        );
    }
}
