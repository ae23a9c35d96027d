//! Supabase's own checks and squawk on the schema, each on a throwaway database with every
//! migration applied: `supabase db lint` (plpgsql_check on every plpgsql function), `supabase db
//! advisors --fail-on warn` (the Security and Performance Advisor lints) and squawk on every
//! generated migration. Each check also gets a broken case, so a check that silently stopped
//! looking would fail here.
//!
//! The pinned Supabase CLI (`package-lock.json`) runs both `db` commands with `--db-url` and
//! without Docker; squawk comes from PyPI (`squawk-cli`, pinned in `xtask::pytools::PINS`).

use std::path::PathBuf;
use std::process::Command;

use moha_tests::support;
use moha_tests::{cluster, TestDb};

/// Runs the pinned Supabase CLI against `db`; returns whether it succeeded and its output.
fn supabase(db: &TestDb, args: &[&str]) -> (bool, String) {
    let r = support::run(
        support::supabase_cli()
            .args(args)
            .args(["--db-url", &format!("{}?sslmode=disable", db.url())])
            .current_dir(xtask::paths::project_root()),
    );
    (r.ok, r.text())
}

/// `supabase db lint` on the schemas that hold our functions: warnings are shown, errors fail.
fn db_lint(db: &TestDb) -> (bool, String) {
    supabase(
        db,
        &[
            "db",
            "lint",
            "--schema",
            "public,private",
            "--level",
            "warning",
            "--fail-on",
            "error",
        ],
    )
}

#[test]
fn db_lint_finds_no_error_in_any_function() {
    let db = cluster().migrated_db();
    let (ok, out) = db_lint(&db);
    assert!(ok, "supabase db lint found errors:\n{out}");
    assert!(out.contains("Linting schema: private"), "{out}");
}

#[test]
fn db_lint_fails_on_a_function_that_reads_a_missing_column() {
    let db = cluster().migrated_db();
    db.connect()
        .batch_execute(
            "create function public.broken() returns text language plpgsql set search_path = '' as $$
             begin
               return (select p.no_such_column from public.projects p limit 1);
             end $$",
        )
        .unwrap();
    let (ok, out) = db_lint(&db);
    assert!(!ok && out.contains("no_such_column"), "{out}");
}

/// The advisor findings of `db`, as (level, name, detail), and the CLI's exit status with
/// `--fail-on warn`.
fn advisors(db: &TestDb) -> (bool, Vec<(String, String, String)>, String) {
    let (ok, out) = supabase(
        db,
        &[
            "db",
            "advisors",
            "--type",
            "all",
            "--level",
            "info",
            "--fail-on",
            "warn",
            "--output-format",
            "json",
        ],
    );
    let json = out
        .find('{')
        .and_then(|start| {
            serde_json::Deserializer::from_str(&out[start..])
                .into_iter::<serde_json::Value>()
                .next()
        })
        .and_then(Result::ok)
        .unwrap_or_else(|| panic!("no JSON in the advisors' output:\n{out}"));
    let findings = json["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results in the advisors' output:\n{out}"))
        .iter()
        .map(|r| {
            let field = |k: &str| r[k].as_str().unwrap_or_default().to_string();
            (field("level"), field("name"), field("detail"))
        })
        .collect();
    (ok, findings, out)
}

#[test]
fn advisors_report_nothing_at_warn_or_above() {
    let db = cluster().migrated_db();
    let (ok, findings, out) = advisors(&db);
    let serious: Vec<String> = findings
        .iter()
        .filter(|(level, _, _)| level != "INFO")
        .map(|(level, name, detail)| format!("{level} {name}: {detail}"))
        .collect();
    assert!(
        serious.is_empty(),
        "the advisors found problems:\n{}",
        serious.join("\n")
    );
    assert!(ok, "supabase db advisors --fail-on warn failed:\n{out}");
}

#[test]
fn advisors_fail_on_a_public_table_without_rls() {
    let db = cluster().migrated_db();
    db.connect()
        .batch_execute("create table public.leaky (id bigint primary key)")
        .unwrap();
    let (ok, findings, out) = advisors(&db);
    assert!(!ok, "{out}");
    assert!(
        findings.iter().any(|(level, name, detail)| level == "ERROR"
            && name == "rls_disabled_in_public"
            && detail.contains("public.leaky")),
        "{findings:?}"
    );
}

fn migration_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(xtask::paths::migrations_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no migrations in supabase/migrations");
    files
}

/// squawk with squawk's defaults, as `cargo xtask deploy` runs it: each file in one transaction
/// (how migrate and the CLI apply it), PostgreSQL 15. Waivers exist only per column, rendered by
/// the model with the reason on the line above (`Column::lint_ignore`); no file-wide ignores.
#[test]
fn squawk_finds_nothing_in_the_generated_migrations() {
    xtask::pytools::ensure_python_tools().unwrap_or_else(|e| panic!("{e:#}"));
    let files = migration_files();
    let r = support::run(
        Command::new(xtask::pytools::bin("squawk"))
            .args(["--assume-in-transaction", "--pg-version", "15.0"])
            .args(["--reporter", "gcc"])
            .args(&files)
            .current_dir(xtask::paths::project_root()),
    );
    assert!(
        r.ok,
        "squawk found problems; fix the model, or waive a rule for one column with \
         `Column::lint_ignore(rule, reason)`:\n{}",
        r.text()
    );
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        assert!(
            !text.contains("squawk-ignore-file"),
            "{}: no file-wide squawk ignores",
            file.display()
        );
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if line.trim_start().starts_with("-- squawk-ignore") {
                let reason = i.checked_sub(1).map(|j| lines[j].trim_start());
                assert!(
                    reason.is_some_and(|r| r.starts_with("-- ") && !r.contains("squawk-ignore")),
                    "{}:{}: a squawk ignore without its reason on the line above",
                    file.display(),
                    i + 1
                );
            }
        }
    }
}
