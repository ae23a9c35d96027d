//! Class 6: counters and the audit trail edited without a trace.
//!
//! The breaks: `ai_agent` may `update agent_usage` (reset its own counters); the table owner
//! (`postgres`) can disable the `append_only` trigger and delete or edit audit rows, and nothing
//! inside the database can stop it (on PostgreSQL 15 it has CREATEROLE and can take any
//! non-superuser role, and it could recompute any hash chain kept in the database). What can be
//! had is detection from outside: `cargo xtask audit digest` records a running hash of the log
//! in a file outside the database, and `cargo xtask audit verify` checks the live log against it.
//! The attacks below are the owner's: each edit is made with the trigger disabled and re-enabled
//! afterwards, so the table looks untouched from inside.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use moha_tests::support;
use moha_tests::{cluster, personas, TestDb};
use postgres::Client;
use serde_json::Value;
use tempfile::TempDir;

use super::common::*;

// ---------------------------------------------------------------------------------------------
// Helpers (this module's own; main.rs and common.rs belong to the suite's lead).

/// The `cargo xtask` binary, with no database URL inherited from the environment.
fn xtask() -> Command {
    support::xtask_cli(env!("CARGO_BIN_EXE_xtask-cli"), &[])
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A digest file in a fresh temporary directory (kept alive by the returned `TempDir`).
fn digest_file() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("digests.jsonl");
    (dir, file)
}

fn digest_cmd(db: &TestDb, file: &Path, every: u32) -> Command {
    let mut cmd = xtask();
    cmd.args(["audit", "digest", "--json", "--db-url", &db.url(), "--out"])
        .arg(file)
        .args(["--checkpoint-every", &every.to_string()]);
    cmd
}

/// `cargo xtask audit digest --json`, which must succeed; returns the digest it appended.
fn digest(db: &TestDb, file: &Path, every: u32) -> Value {
    let out = digest_cmd(db, file, every).output().unwrap();
    assert!(out.status.success(), "audit digest failed:\n{}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)))
}

/// `cargo xtask audit verify --json`: (exit code, the JSON report, stdout + stderr).
fn verify(db: &TestDb, file: &Path) -> (i32, Value, String) {
    let out = xtask()
        .args([
            "audit",
            "verify",
            "--json",
            "--db-url",
            &db.url(),
            "--digests",
        ])
        .arg(file)
        .output()
        .unwrap();
    let report = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), report, text(&out))
}

fn verify_ok(db: &TestDb, file: &Path) -> Value {
    let (code, report, out) = verify(db, file);
    assert_eq!(code, 0, "audit verify should pass:\n{out}");
    assert_eq!(report["ok"], true, "{out}");
    report
}

/// `audit verify` must fail: returns the failure of its report and its output.
fn verify_fails(db: &TestDb, file: &Path) -> (Value, String) {
    let (code, report, out) = verify(db, file);
    // 2: the check ran and found a mismatch (1 would be any other failure).
    assert_eq!(code, 2, "audit verify should fail:\n{out}");
    assert_eq!(report["ok"], false, "{out}");
    (report["failure"].clone(), out)
}

/// Writes `n` audit rows the way an edge function does (`log_audit_action`, as the service
/// role), each committed on its own; returns their ids.
fn audited_writes(c: &mut Client, n: usize) -> Vec<i64> {
    (0..n)
        .map(|i| {
            let mut tx = c.transaction().unwrap();
            tx.batch_execute("set local role service_role").unwrap();
            let id: i64 = tx
                .query_one(
                    "select public.log_audit_action('public.leads', $1, 'archive', null, null, \
                       jsonb_build_object('n', $2::int))",
                    &[&format!("lead-{i}"), &(i as i32)],
                )
                .unwrap()
                .get(0);
            tx.commit().unwrap();
            id
        })
        .collect()
}

fn audit_count(c: &mut Client) -> i64 {
    c.query_one("select count(*) from public.audit_logs", &[])
        .unwrap()
        .get(0)
}

fn audit_ids(c: &mut Client) -> Vec<i64> {
    c.query("select id from public.audit_logs order by id", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// What the owner does to rewrite history: as `postgres`, disable the append-only trigger, run
/// `sql`, re-enable the trigger, commit. Returns the rows `sql` changed.
fn as_owner_with_trigger_off(
    c: &mut Client,
    sql: &str,
    params: &[&(dyn postgres::types::ToSql + Sync)],
) -> u64 {
    let mut tx = c.transaction().unwrap();
    tx.batch_execute("alter table public.audit_logs disable trigger append_only")
        .unwrap();
    let n = tx
        .execute(sql, params)
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    tx.batch_execute("alter table public.audit_logs enable trigger append_only")
        .unwrap();
    tx.commit().unwrap();
    n
}

/// The failure names an id range `(after_id, up_to_id]` that holds `id`, and it is narrower than
/// the whole log the digests cover.
fn assert_range_holds(failure: &Value, id: i64, covered: i64, out: &str) {
    let after = failure["after_id"].as_i64().unwrap_or(0);
    let up_to = failure["up_to_id"].as_i64().unwrap();
    assert!(
        after < id && id <= up_to,
        "id {id} not in ({after}, {up_to}]:\n{out}"
    );
    assert!(
        up_to - after < covered,
        "range ({after}, {up_to}] is not narrowed:\n{out}"
    );
}

// ---------------------------------------------------------------------------------------------
// The break, as it stands: the owner rewrites history and nothing inside the database notices.

#[test]
fn the_owner_can_delete_an_audit_row_and_nothing_notices() {
    let (_db, mut c) = seeded();
    let ids = audited_writes(&mut c, 3);
    let before = audit_count(&mut c);

    // The trigger refuses the plain delete ...
    let err = c
        .execute("delete from public.audit_logs where id = $1", &[&ids[1]])
        .unwrap_err();
    assert_eq!(sqlstate(err), DENIED);
    // ... but the owner may switch it off, delete, and switch it back on.
    let n = as_owner_with_trigger_off(
        &mut c,
        "delete from public.audit_logs where id = $1",
        &[&ids[1]],
    );
    assert_eq!(n, 1, "the owner deleted the row");
    // Edit another one the same way.
    let n = as_owner_with_trigger_off(
        &mut c,
        "update public.audit_logs set new_values = '{\"n\": 99}' where id = $1",
        &[&ids[2]],
    );
    assert_eq!(n, 1, "the owner edited the row");

    // Afterwards the table looks as it always does: trigger enabled, no trace of the change in
    // the log itself (no audit row records it: audit_logs audits nothing about itself).
    assert_eq!(audit_count(&mut c), before - 1);
    let enabled: String = c
        .query_one(
            "select tgenabled::text from pg_trigger \
              where tgrelid = 'public.audit_logs'::regclass and tgname = 'append_only'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(enabled, "O", "the trigger is back on");
    let newest: i64 = c
        .query_one("select max(id) from public.audit_logs", &[])
        .unwrap()
        .get(0);
    assert_eq!(newest, ids[2], "no row records the deletion or the edit");
    // And the owner cannot be fenced off by another owner role: it may create roles and grant
    // itself any non-superuser role (CREATEROLE), so ownership is not a boundary against it.
    let createrole: bool = c
        .query_one(
            "select rolcreaterole from pg_roles where rolname = 'postgres'",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(createrole);
}

// ---------------------------------------------------------------------------------------------
// Detection from outside: digests kept outside the database, and `audit verify`.

#[test]
fn an_untouched_log_verifies() {
    let (db, mut c) = seeded();
    let (_dir, file) = digest_file();
    audited_writes(&mut c, 3);
    let d = digest(&db, &file, 1000);
    let count = audit_count(&mut c);
    assert_eq!(d["rows"], count, "{d}");
    assert_eq!(d["up_to_id"], *audit_ids(&mut c).last().unwrap(), "{d}");
    assert_eq!(d["hash"].as_str().unwrap().len(), 64, "{d}");

    let report = verify_ok(&db, &file);
    assert_eq!(report["digests"], 1, "{report}");
    assert_eq!(report["rows"], count, "{report}");

    // The plain-text output says what was verified.
    let out = xtask()
        .args(["audit", "verify", "--db-url", &db.url(), "--digests"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let said = text(&out);
    assert!(said.contains("verified 1 digest"), "{said}");
    assert!(said.contains(&format!("{count} rows")), "{said}");

    // No secret reaches the output or the file: the URL's password is masked.
    let file_text = std::fs::read_to_string(&file).unwrap();
    for shown in [&said, &file_text] {
        assert!(!shown.contains(":postgres@"), "password shown:\n{shown}");
    }
}

#[test]
fn rows_appended_after_a_digest_still_verify() {
    let (db, mut c) = seeded();
    let (_dir, file) = digest_file();
    let first = digest(&db, &file, 4);
    let new = audited_writes(&mut c, 5);
    let report = verify_ok(&db, &file);
    assert_eq!(report["rows"], first["rows"], "{report}");
    assert_eq!(report["uncovered_rows"], 5, "{report}");

    // The next digest continues the chain; both verify.
    let second = digest(&db, &file, 4);
    assert_eq!(second["after_id"], first["up_to_id"], "{second}");
    assert_eq!(second["up_to_id"], *new.last().unwrap(), "{second}");
    let report = verify_ok(&db, &file);
    assert_eq!(report["digests"], 2, "{report}");
    assert_eq!(report["uncovered_rows"], 0, "{report}");
}

#[test]
fn deleting_an_audit_row_fails_verify_and_names_the_digest() {
    let (db, mut c) = seeded();
    let (_dir, file) = digest_file();
    digest(&db, &file, 4);
    let ids = audited_writes(&mut c, 20);
    digest(&db, &file, 4);
    verify_ok(&db, &file);

    let victim = ids[10];
    as_owner_with_trigger_off(
        &mut c,
        "delete from public.audit_logs where id = $1",
        &[&victim],
    );
    let (failure, out) = verify_fails(&db, &file);
    assert_eq!(failure["digest"], 2, "{out}");
    assert!(out.contains("digest 2"), "{out}");
    assert_eq!(
        failure["expected_rows"].as_i64().unwrap() - failure["found_rows"].as_i64().unwrap(),
        1,
        "{out}"
    );
    assert_range_holds(&failure, victim, *ids.last().unwrap(), &out);
}

#[test]
fn editing_an_audit_row_fails_verify() {
    let (db, mut c) = seeded();
    let (_dir, file) = digest_file();
    let ids = audited_writes(&mut c, 12);
    digest(&db, &file, 3);
    audited_writes(&mut c, 2);
    digest(&db, &file, 3);

    let victim = ids[4];
    as_owner_with_trigger_off(
        &mut c,
        "update public.audit_logs set new_values = new_values || '{\"n\": 1000}' where id = $1",
        &[&victim],
    );
    let (failure, out) = verify_fails(&db, &file);
    assert_eq!(failure["digest"], 1, "{out}");
    assert!(out.contains("digest 1"), "{out}");
    // Same number of rows: the content changed.
    assert_eq!(failure["expected_rows"], failure["found_rows"], "{out}");
    assert_range_holds(&failure, victim, *ids.last().unwrap(), &out);
}

#[test]
fn an_audit_row_reinserted_under_a_forged_id_fails_verify() {
    // Replaced: the row deleted, and a doctored copy inserted under the same id.
    let (db, mut c) = seeded();
    let (_dir, file) = digest_file();
    let ids = audited_writes(&mut c, 10);
    digest(&db, &file, 2);
    let victim = ids[6];
    let mut tx = c.transaction().unwrap();
    tx.batch_execute("alter table public.audit_logs disable trigger append_only")
        .unwrap();
    tx.execute(
        "create temporary table doctored on commit drop as \
           select * from public.audit_logs where id = $1",
        &[&victim],
    )
    .unwrap();
    tx.execute("delete from public.audit_logs where id = $1", &[&victim])
        .unwrap();
    let n = tx
        .execute(
            "insert into public.audit_logs overriding system value \
               select id, table_name, record_id, action, performed_by, actor_kind, actor_role, \
                      \"timestamp\", old_values, '{\"n\": -1}'::jsonb from doctored",
            &[],
        )
        .unwrap();
    assert_eq!(n, 1);
    tx.batch_execute("alter table public.audit_logs enable trigger append_only")
        .unwrap();
    tx.commit().unwrap();
    assert_eq!(audit_ids(&mut c).binary_search(&victim).map(drop), Ok(()));
    let (failure, out) = verify_fails(&db, &file);
    assert_eq!(failure["digest"], 1, "{out}");
    assert_range_holds(&failure, victim, *ids.last().unwrap(), &out);

    // Slipped in: a forged row under an id no committed row had (a rolled-back write's).
    let (db, mut c) = seeded();
    let (_dir, file) = digest_file();
    let before = audited_writes(&mut c, 6);
    let burned: i64 = {
        let mut tx = c.transaction().unwrap();
        let id = tx
            .query_one(
                "select public.log_audit_action('public.leads', 'x', 'archive', null, null, null)",
                &[],
            )
            .unwrap()
            .get(0);
        tx.rollback().unwrap();
        id
    };
    let after = audited_writes(&mut c, 6);
    assert!(before.last().unwrap() < &burned && burned < after[0]);
    digest(&db, &file, 2);
    // An insert needs no trigger switched off: append-only refuses updates and deletes only.
    c.execute(
        "insert into public.audit_logs \
           (id, table_name, record_id, action, actor_kind, actor_role, new_values) \
         overriding system value values ($1, 'public.leads', 'x', 'approve', 'human', 'moha_admin', '{\"forged\": true}')",
        &[&burned],
    )
    .unwrap();
    let (failure, out) = verify_fails(&db, &file);
    assert_eq!(failure["digest"], 1, "{out}");
    assert_eq!(
        failure["found_rows"].as_i64().unwrap() - failure["expected_rows"].as_i64().unwrap(),
        1,
        "{out}"
    );
    assert_range_holds(&failure, burned, *after.last().unwrap(), &out);
}

/// Ids come from a sequence, so a transaction that took an id earlier can commit after one that
/// took a later id. The digest must not cover an id that an open transaction may still commit,
/// and it must not hold up audited writes while it waits.
#[test]
fn a_digest_waits_for_writers_holding_earlier_ids_without_blocking_writes() {
    let (db, mut c) = seeded();
    let (_dir, file) = digest_file();
    let mut slow = db.connect();
    let mut slow_tx = slow.transaction().unwrap();
    let early: i64 = slow_tx
        .query_one(
            "select public.log_audit_action('public.leads', 'slow', 'archive', null, null, null)",
            &[],
        )
        .unwrap()
        .get(0);
    let late = audited_writes(&mut c, 1)[0];
    assert!(early < late);

    let mut child = digest_cmd(&db, &file, 1000)
        .args(["--max-wait", "60"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    sleep(Duration::from_millis(1500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the digest finished while a transaction holding id {early} was open"
    );
    // Audited writes go on meanwhile, unblocked.
    let started = Instant::now();
    audited_writes(&mut c, 2);
    assert!(started.elapsed() < Duration::from_secs(5));

    slow_tx.commit().unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let d: Value = serde_json::from_slice(&out.stdout).unwrap();
    let up_to = d["up_to_id"].as_i64().unwrap();
    assert!(up_to >= late, "{d}");
    let covered: i64 = c
        .query_one(
            "select count(*) from public.audit_logs where id <= $1",
            &[&up_to],
        )
        .unwrap()
        .get(0);
    assert_eq!(
        d["rows"], covered,
        "the digest covers every row up to its id, {early} included"
    );
    verify_ok(&db, &file);
}

/// A digest file names the database it was taken on; verifying another database is refused
/// instead of reported as tampering.
#[test]
fn digests_of_another_database_are_refused() {
    let (db, _c) = seeded();
    let (_dir, file) = digest_file();
    digest(&db, &file, 1000);
    let other = cluster().migrated_db();
    let (code, _report, out) = verify(&other, &file);
    // Refused (1), not reported as tampering (2).
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("another database"), "{out}");
    assert!(!out.contains(":postgres@"), "password shown:\n{out}");
}

#[test]
fn audit_commands_explain_themselves() {
    for sub in ["digest", "verify"] {
        let out = xtask().args(["audit", sub, "--help"]).output().unwrap();
        assert!(out.status.success(), "{}", text(&out));
        let said = text(&out);
        assert!(
            said.contains("--db-url") && said.contains("--env"),
            "{said}"
        );
    }
    // A missing digest file is a clear error, not a pass.
    let db = cluster().migrated_db();
    let (code, _report, out) = verify(&db, Path::new("/nonexistent/digests.jsonl"));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("/nonexistent/digests.jsonl"), "{out}");
}

// ---------------------------------------------------------------------------------------------
// Counters only move through the counting functions.

#[test]
fn ai_agent_cannot_reset_or_delete_its_counters() {
    let (_db, mut c) = seeded();
    let agent = persona_claims("ai_agent");
    let client = personas::id("client");
    // One charged call, counted the only legitimate way.
    let r = commit(
        &mut c,
        &agent,
        "select public.increment_agent_counter('insights', $1::text::uuid)",
        &[&client],
    );
    assert_eq!(r, Ok(1));
    let counted: i64 = c
        .query_one(
            "select coalesce(sum(request_count), 0)::bigint from public.agent_usage",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(counted >= 1);

    for sql in [
        "update public.agent_usage set request_count = 0, tokens = 0, cost = 0",
        "delete from public.agent_usage",
    ] {
        let r = commit(&mut c, &agent, sql, &[]);
        assert_eq!(r, Err(DENIED.into()), "ai_agent: {sql}");
    }
    let after: i64 = c
        .query_one(
            "select coalesce(sum(request_count), 0)::bigint from public.agent_usage",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(after, counted, "the counters did not move");
}
