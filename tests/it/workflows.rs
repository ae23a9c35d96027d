//! The GitHub Actions workflows: actionlint (syntax, expressions, shell) and zizmor (pinned
//! actions, least permissions, no credential persistence, no template injection), both pinned
//! in `xtask::pytools`, plus the coupling between the deploy workflows and the project's files.

use std::fs;
use std::path::PathBuf;
use std::process::Command;

use moha_tests::support;

fn workflows() -> Vec<PathBuf> {
    let dir = xtask::paths::project_root().join(".github/workflows");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    files.sort();
    files
}

fn run(tool: &str, args: &[&str]) -> String {
    xtask::pytools::ensure_python_tools().unwrap_or_else(|e| panic!("{e:#}"));
    support::run_ok(
        Command::new(xtask::pytools::bin(tool))
            .args(args)
            .args(workflows())
            .current_dir(xtask::paths::project_root()),
    )
    .text()
}

#[test]
fn the_four_workflows_exist() {
    let names: Vec<String> = workflows()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "backup.yml",
            "ci.yml",
            "deploy-production.yml",
            "deploy-staging.yml"
        ]
    );
}

/// The nightly backup (issue 17): production, encrypted, kept with a retention, through the
/// session pooler, with a client new enough for a PostgreSQL 17 project.
#[test]
fn the_backup_workflow_encrypts_production_nightly_and_keeps_it_for_a_while() {
    let text =
        fs::read_to_string(xtask::paths::project_root().join(".github/workflows/backup.yml"))
            .unwrap();
    for needle in [
        "schedule:",
        "cargo xtask backup --env production",
        "--recipient \"$BACKUP_AGE_RECIPIENT\"",
        "postgresql-client-17",
        "PRODUCTION_DB_URL: ${{ secrets.PRODUCTION_DB_URL }}",
        "SUPABASE_SECRET_KEY: ${{ secrets.SUPABASE_SECRET_KEY }}",
        "retention-days: 30",
        "environment: production-backup",
    ] {
        assert!(text.contains(needle), "backup.yml lacks `{needle}`");
    }
}

#[test]
fn actionlint_is_clean() {
    run("actionlint", &["-color=false"]);
}

#[test]
fn zizmor_is_clean() {
    // Offline: the audits that ask GitHub's API (known-vulnerable actions) need a token.
    run(
        "zizmor",
        &["--offline", "--persona=pedantic", "--no-progress"],
    );
}

#[test]
fn every_action_is_pinned_by_commit() {
    for file in workflows() {
        let text = fs::read_to_string(&file).unwrap();
        for line in text.lines().filter(|l| {
            l.trim_start().starts_with("- uses:") || l.trim_start().starts_with("uses:")
        }) {
            let reference = line.split("uses:").nth(1).unwrap().trim();
            let sha = reference
                .split('@')
                .nth(1)
                .and_then(|r| r.split_whitespace().next())
                .unwrap_or("");
            assert!(
                sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit()),
                "{}: `{reference}` is not pinned by a full commit SHA",
                file.display()
            );
        }
    }
}

/// Each deploy workflow hands every settable secret of supabase/functions/.env.example to the
/// deploy step, so adding a secret to a function cannot be forgotten in CI.
#[test]
fn deploy_workflows_pass_every_function_secret() {
    let root = xtask::paths::project_root();
    let names =
        xtask::deploy::SecretNames::read(&root.join("supabase/functions/.env.example")).unwrap();
    for (file, env) in [
        ("deploy-staging.yml", "staging"),
        ("deploy-production.yml", "production"),
    ] {
        let text = fs::read_to_string(root.join(".github/workflows").join(file)).unwrap();
        let db_var = format!("{}_DB_URL", env.to_uppercase());
        for name in names
            .settable()
            .iter()
            .chain([&db_var, &"SUPABASE_ACCESS_TOKEN".to_string()])
        {
            let line = format!("{name}: ${{{{ secrets.{name} }}}}");
            assert!(text.contains(&line), "{file} lacks `{line}`");
        }
        assert!(
            text.contains(&format!("cargo xtask deploy --env {env} --yes"))
                || text.contains(&format!("--env {env} --yes")),
            "{file} does not deploy to {env}"
        );
        assert!(
            text.contains(&format!("environment: {env}")),
            "{file} lacks its environment"
        );
    }
}
