//! Supabase's own advisors (the pinned CLI's `supabase db advisors`, i.e. splinter's lints) find
//! nothing at WARN level or above on a migrated database: no `multiple_permissive_policies`,
//! `auth_rls_initplan`, `rls_policy_always_true`, security definer exposure, mutable
//! search_path, unindexed foreign keys, ...

use moha_tests::support;
use moha_tests::{cluster, TestDb};

/// WARN-level (and above) findings of the advisors on `db`.
fn warnings(db: &TestDb) -> Vec<String> {
    let url = format!("{}?sslmode=disable", db.url());
    let stdout = support::run_ok(
        support::supabase_cli()
            .args(["db", "advisors", "--db-url", &url, "--type", "all"])
            .args(["--level", "warn", "--output-format", "json"]),
    )
    .stdout;
    let report: serde_json::Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("advisors printed no JSON ({e}):\n{stdout}"));
    report["results"]
        .as_array()
        .map(|a| a.as_slice())
        .unwrap_or_default()
        .iter()
        .filter(|f| f["level"] != "INFO")
        .map(|f| format!("{} {}: {}", f["level"], f["name"], f["detail"]))
        .collect()
}

#[test]
fn supabase_advisors_report_no_warnings() {
    let db = cluster().migrated_db();
    let findings = warnings(&db);
    assert!(
        findings.is_empty(),
        "advisor findings:\n{}",
        findings.join("\n")
    );
}

/// The check is not vacuous: the plan's policy style on a copy of the schema is caught.
#[test]
fn the_plans_policy_style_is_caught() {
    let db = cluster().migrated_db();
    db.connect()
        .batch_execute(
            "create policy users_self_access on public.users for select to authenticated \
               using (auth.uid() = id)",
        )
        .unwrap();
    let findings = warnings(&db).join("\n");
    for lint in ["auth_rls_initplan", "multiple_permissive_policies"] {
        assert!(findings.contains(lint), "{lint} not reported:\n{findings}");
    }
}
