//! The migration engine's guarantees (issue 2, section 4), each against a real database and, where
//! a process boundary matters (exit codes, SIGKILL, concurrency), through the CLI binary.

use std::fs;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::Duration;

use moha_tests::support;
use moha_tests::{cluster, TestDb};
use tempfile::TempDir;
use xtask::migrate::{self, MigrateError, Options, RepairStatus};

const V1: &str = "20250101000000";
const V2: &str = "20250102000000";
const V3: &str = "20250103000000";

/// A migrations directory holding `files` (name, contents).
fn fixture(files: &[(&str, &str)]) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, sql) in files {
        fs::write(dir.path().join(name), sql).unwrap();
    }
    dir
}

fn cli(args: &[&str]) -> Command {
    support::xtask_cli(env!("CARGO_BIN_EXE_xtask-cli"), args)
}

fn migrate_cmd(url: &str, dir: &Path, extra: &[&str]) -> Command {
    let mut cmd = cli(&["migrate", "--db-url", url, "--dir", dir.to_str().unwrap()]);
    cmd.args(extra);
    cmd
}

/// Runs `cargo xtask migrate` and returns (success, stdout, stderr).
fn run_migrate(url: &str, dir: &Path, extra: &[&str]) -> (bool, String, String) {
    let r = support::run(&mut migrate_cmd(url, dir, extra));
    (r.ok, r.stdout, r.stderr)
}

fn migrate_ok(db: &TestDb, dir: &Path, extra: &[&str]) -> String {
    let (ok, stdout, stderr) = run_migrate(&db.url(), dir, extra);
    assert!(ok, "migrate failed:\n{stdout}\n{stderr}");
    format!("{stdout}{stderr}")
}

fn migrate_err(db: &TestDb, dir: &Path, extra: &[&str]) -> String {
    let (ok, stdout, stderr) = run_migrate(&db.url(), dir, extra);
    assert!(!ok, "migrate should have failed:\n{stdout}\n{stderr}");
    stderr
}

fn options(dir: &Path) -> Options {
    Options {
        dir: dir.to_path_buf(),
        dry_run: false,
        include_all: false,
        compat: false,
    }
}

fn ledger(db: &TestDb) -> Vec<(String, String, Vec<String>)> {
    db.connect()
        .query(
            "select version, name, statements from supabase_migrations.schema_migrations order by version",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

fn versions(db: &TestDb) -> Vec<String> {
    ledger(db).into_iter().map(|(v, _, _)| v).collect()
}

fn exists(db: &TestDb, relation: &str) -> bool {
    db.connect()
        .query_one("select to_regclass($1) is not null", &[&relation])
        .unwrap()
        .get(0)
}

#[test]
fn applies_files_with_the_cli_ledger_and_checksums() {
    let db = cluster().compat_db();
    let second = "-- a table and a function\ncreate table public.b (id int);\n\
                  create function public.f() returns int language sql as $$ select 1; $$;\n";
    let dir = fixture(&[
        (
            &format!("{V1}_create_a.sql"),
            "create table public.a (id int primary key);\n",
        ),
        (&format!("{V2}_b_and_f.sql"), second),
    ]);
    let output = migrate_ok(&db, dir.path(), &[]);
    assert!(
        output.contains(&format!("applying {V1}_create_a.sql (1 statement)")),
        "{output}"
    );
    assert!(exists(&db, "public.a") && exists(&db, "public.b"));
    assert_eq!(
        ledger(&db),
        [
            (
                V1.into(),
                "create_a".into(),
                vec!["create table public.a (id int primary key)".to_string()]
            ),
            (
                V2.into(),
                "b_and_f".into(),
                vec![
                    "-- a table and a function\ncreate table public.b (id int)".to_string(),
                    "create function public.f() returns int language sql as $$ select 1; $$"
                        .to_string(),
                ]
            ),
        ]
    );
    // One checksum per applied version: the sha256 of the file's bytes.
    let mut client = db.connect();
    let matches: i64 = client
        .query_one(
            "select count(*) from supabase_migrations.schema_migrations_checksums c \
             where c.version = $1 and c.checksum = encode(sha256($2::bytea), 'hex')",
            &[&V2, &second.as_bytes()],
        )
        .unwrap()
        .get(0);
    assert_eq!(matches, 1);
    // The CLI's table is untouched in shape: exactly its three columns.
    let columns: Vec<String> = client
        .query(
            "select column_name::text from information_schema.columns \
             where table_schema = 'supabase_migrations' and table_name = 'schema_migrations' \
             order by ordinal_position",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(columns, ["version", "statements", "name"]);

    let again = migrate_ok(&db, dir.path(), &[]);
    assert!(again.contains("up to date"), "{again}");
    assert_eq!(versions(&db), [V1, V2]);
}

#[test]
fn a_failing_file_leaves_no_trace_and_stops_the_run() {
    let db = cluster().compat_db();
    let dir = fixture(&[
        (
            &format!("{V1}_ok.sql"),
            "create table public.first (id int primary key);\n",
        ),
        (
            &format!("{V2}_broken.sql"),
            "-- the second statement fails at run time, with no position\n\
             create table public.half (id int);\n\
             \n\
             create table public.child (\n  id int references public.nosuch (id)\n);\n",
        ),
        (
            &format!("{V3}_after.sql"),
            "create table public.after (id int);\n",
        ),
    ]);
    let stderr = migrate_err(&db, dir.path(), &[]);
    assert!(stderr.contains(&format!("{V2}_broken.sql")), "{stderr}");
    assert!(stderr.contains("statement 2 of 2, line 4"), "{stderr}");
    assert!(stderr.contains("create table public.child ("), "{stderr}");
    assert!(
        stderr.contains("relation \"public.nosuch\" does not exist"),
        "{stderr}"
    );
    assert!(exists(&db, "public.first"));
    assert!(
        !exists(&db, "public.half"),
        "a statement of the failed file stayed"
    );
    assert!(
        !exists(&db, "public.after"),
        "the run went on after a failure"
    );
    assert_eq!(versions(&db), [V1]);
    let checksums: i64 = db
        .connect()
        .query_one(
            "select count(*) from supabase_migrations.schema_migrations_checksums",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(checksums, 1);
}

#[test]
fn a_syntax_error_is_reported_with_its_line_and_column() {
    let db = cluster().compat_db();
    let dir = fixture(&[(
        &format!("{V1}_typo.sql"),
        "create table public.ok (id int);\n\ncreate table public.typo (\n  id int,\n  name txet\n);\n",
    )]);
    let stderr = migrate_err(&db, dir.path(), &[]);
    assert!(stderr.contains("statement 2 of 2, line 3"), "{stderr}");
    assert!(
        stderr.contains("type \"txet\" does not exist (line 5, column 8)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("         ^"),
        "no caret under the error:\n{stderr}"
    );
    assert!(!exists(&db, "public.ok"));
    assert!(versions_or_none(&db).is_empty());
}

/// The ledger's versions, or nothing when the ledger does not exist.
fn versions_or_none(db: &TestDb) -> Vec<String> {
    if exists(db, "supabase_migrations.schema_migrations") {
        versions(db)
    } else {
        Vec::new()
    }
}

#[test]
fn a_killed_migrator_leaves_the_database_as_before_the_file() {
    let db = cluster().compat_db();
    let slow = format!("{V2}_slow.sql");
    let dir = fixture(&[
        (&format!("{V1}_first.sql"), "create table public.first (id int);\n"),
        (
            &slow,
            "create table public.before_sleep (id int);\nselect pg_sleep(30);\ncreate table public.after_sleep (id int);\n",
        ),
    ]);
    let mut child: Child = migrate_cmd(&db.url(), dir.path(), &[])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_sleep(&db, &mut child);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    assert!(
        exists(&db, "public.first"),
        "the file before the killed one was not kept"
    );
    assert!(!exists(&db, "public.before_sleep"));
    assert_eq!(versions(&db), [V1]);

    // The file was never applied, so it may change; the next run completes it.
    let sql = fs::read_to_string(dir.path().join(&slow)).unwrap();
    fs::write(
        dir.path().join(&slow),
        sql.replace("pg_sleep(30)", "pg_sleep(0)"),
    )
    .unwrap();
    migrate_ok(&db, dir.path(), &[]);
    assert!(exists(&db, "public.before_sleep") && exists(&db, "public.after_sleep"));
    assert_eq!(versions(&db), [V1, V2]);
}

/// Waits until the migrator's backend runs `pg_sleep`, so the kill lands mid-file.
fn wait_for_sleep(db: &TestDb, child: &mut Child) {
    let mut admin = db.connect_admin();
    for _ in 0..600 {
        let sleeping: i64 = admin
            .query_one(
                "select count(*) from pg_stat_activity \
                 where datname = $1 and state = 'active' and query like '%pg_sleep(30)%' \
                   and pid <> pg_backend_pid()",
                &[&db.name],
            )
            .unwrap()
            .get(0);
        if sleeping > 0 {
            return;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the migrator exited ({status}) before reaching pg_sleep");
        }
        sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    panic!("the migrator never reached pg_sleep");
}

#[test]
fn concurrent_migrators_apply_each_file_exactly_once() {
    let db = cluster().compat_db();
    let dir = fixture(&[
        (
            &format!("{V1}_log.sql"),
            "create table public.applied_log (file text);\nselect pg_sleep(0.2);\ninsert into public.applied_log values ('1');\n",
        ),
        (&format!("{V2}_two.sql"), "insert into public.applied_log values ('2');\n"),
        (&format!("{V3}_three.sql"), "insert into public.applied_log values ('3');\n"),
    ]);
    let children: Vec<Child> = (0..8)
        .map(|_| {
            migrate_cmd(&db.url(), dir.path(), &[])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "a concurrent migrator failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let log: Vec<String> = db
        .connect()
        .query("select file from public.applied_log order by file", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(log, ["1", "2", "3"]);
    assert_eq!(versions(&db), [V1, V2, V3]);
}

#[test]
fn an_edited_applied_file_is_refused() {
    let db = cluster().compat_db();
    let file = format!("{V1}_a.sql");
    let dir = fixture(&[(&file, "create table public.a (id int);\n")]);
    migrate_ok(&db, dir.path(), &[]);

    // A new statement in an applied file.
    fs::write(
        dir.path().join(&file),
        "create table public.a (id int);\ncreate table public.sneaky (id int);\n",
    )
    .unwrap();
    fs::write(
        dir.path().join(format!("{V2}_b.sql")),
        "create table public.b (id int);\n",
    )
    .unwrap();
    let stderr = migrate_err(&db, dir.path(), &[]);
    assert!(
        stderr.contains(&format!("migration {V1} was applied but has been modified")),
        "{stderr}"
    );
    assert!(
        stderr.contains("migration repair --status applied"),
        "{stderr}"
    );
    assert!(!exists(&db, "public.sneaky") && !exists(&db, "public.b"));

    // Even a change the statements do not show (whitespace) changes the checksum.
    fs::write(
        dir.path().join(&file),
        "create table public.a (id int);\n\n\n",
    )
    .unwrap();
    let stderr = migrate_err(&db, dir.path(), &[]);
    assert!(
        stderr.contains(&format!("migration {V1} was applied but has been modified")),
        "{stderr}"
    );
    assert_eq!(versions(&db), [V1]);
}

#[test]
fn an_applied_version_missing_locally_is_refused_with_the_repair_hint() {
    let db = cluster().compat_db();
    let dir = fixture(&[
        (&format!("{V1}_a.sql"), "create table public.a (id int);\n"),
        (&format!("{V2}_b.sql"), "create table public.b (id int);\n"),
    ]);
    migrate_ok(&db, dir.path(), &[]);
    fs::remove_file(dir.path().join(format!("{V1}_a.sql"))).unwrap();
    fs::write(
        dir.path().join(format!("{V3}_c.sql")),
        "create table public.c (id int);\n",
    )
    .unwrap();
    let stderr = migrate_err(&db, dir.path(), &[]);
    assert!(
        stderr.contains(&format!("applied migration {V1} not found")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("migration repair --status reverted {V1}")),
        "{stderr}"
    );
    assert!(!exists(&db, "public.c"));
}

#[test]
fn an_older_unapplied_version_needs_include_all() {
    let db = cluster().compat_db();
    let dir = fixture(&[(
        &format!("{V2}_newer.sql"),
        "create table public.newer (id int);\n",
    )]);
    migrate_ok(&db, dir.path(), &[]);
    fs::write(
        dir.path().join(format!("{V1}_older.sql")),
        "create table public.older (id int);\n",
    )
    .unwrap();

    let stderr = migrate_err(&db, dir.path(), &[]);
    assert!(
        stderr.contains(&format!(
            "local migration {V1} is older than the newest applied one ({V2})"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("--include-all"), "{stderr}");
    assert!(!exists(&db, "public.older"));

    migrate_ok(&db, dir.path(), &["--include-all"]);
    assert!(exists(&db, "public.older"));
    assert_eq!(versions(&db), [V1, V2]);
}

#[test]
fn bad_file_names_are_refused_naming_the_file() {
    let db = cluster().compat_db();
    for bad in [
        "2025_short.sql",
        "20250101000000-dash.sql",
        "20250101000000_.sql",
        "notes.txt",
    ] {
        let dir = fixture(&[
            (&format!("{V1}_good.sql"), "select 1;\n"),
            (bad, "select 1;\n"),
        ]);
        let stderr = migrate_err(&db, dir.path(), &[]);
        assert!(
            stderr.contains("bad migration file name") && stderr.contains(bad),
            "{bad}: {stderr}"
        );
    }
    // Hidden files such as .gitkeep are not migrations.
    let dir = fixture(&[(".gitkeep", ""), (&format!("{V1}_good.sql"), "select 1;\n")]);
    migrate_ok(&db, dir.path(), &[]);
    assert_eq!(versions(&db), [V1]);
}

#[test]
fn duplicate_versions_are_refused_naming_both_files() {
    let db = cluster().compat_db();
    let dir = fixture(&[
        (&format!("{V1}_one.sql"), "select 1;\n"),
        (&format!("{V1}_two.sql"), "select 2;\n"),
    ]);
    let stderr = migrate_err(&db, dir.path(), &[]);
    assert!(
        stderr.contains(&format!("duplicate migration version {V1}")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{V1}_one.sql")) && stderr.contains(&format!("{V1}_two.sql")),
        "{stderr}"
    );
    assert!(versions_or_none(&db).is_empty());
}

#[test]
fn an_unreachable_database_is_a_clear_error() {
    let port = xtask::cluster::free_port().unwrap();
    let url = format!("postgresql://postgres:postgres@127.0.0.1:{port}/postgres");
    let dir = fixture(&[(&format!("{V1}_a.sql"), "select 1;\n")]);
    let (ok, _, stderr) = run_migrate(&url, dir.path(), &[]);
    assert!(!ok);
    assert!(
        stderr.contains(&format!(
            "cannot connect to postgresql://postgres:***@127.0.0.1:{port}/postgres"
        )),
        "{stderr}"
    );
    assert!(
        !stderr.contains(":postgres@"),
        "the password leaked: {stderr}"
    );
}

#[test]
fn dry_run_prints_the_plan_and_changes_nothing() {
    let db = cluster().compat_db();
    let dir = fixture(&[
        (
            &format!("{V1}_create_a.sql"),
            "create table public.a (id int);\ncreate index on public.a (id);\n",
        ),
        (&format!("{V2}_b.sql"), "create table public.b (id int);\n"),
    ]);
    let (ok, stdout, stderr) = run_migrate(&db.url(), dir.path(), &["--dry-run"]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains(&format!("{V1}  create_a  2 statements")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("{V2}  b         1 statement")),
        "{stdout}"
    );
    assert!(!exists(&db, "public.a"));
    let schema: bool = db
        .connect()
        .query_one(
            "select exists (select from pg_namespace where nspname = 'supabase_migrations')",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(!schema, "a dry run created the ledger schema");

    migrate_ok(&db, dir.path(), &[]);
    let (ok, stdout, _) = run_migrate(&db.url(), dir.path(), &["--dry-run"]);
    assert!(ok && stdout.contains("nothing to apply"), "{stdout}");
}

#[test]
fn a_database_without_auth_needs_compat() {
    let db = cluster().empty_db();
    let dir = fixture(&[(&format!("{V1}_a.sql"), "create table public.a (id int);\n")]);
    let stderr = migrate_err(&db, dir.path(), &[]);
    assert!(
        stderr.contains("no `auth` schema") && stderr.contains("--compat"),
        "{stderr}"
    );
    assert!(!exists(&db, "public.a"));

    // With --compat the layer is installed first (it needs the superuser, as on our clusters).
    let (ok, _, stderr) = run_migrate(&db.admin_url(), dir.path(), &["--compat"]);
    assert!(ok, "{stderr}");
    assert!(exists(&db, "auth.users") && exists(&db, "public.a"));
}

#[test]
fn compat_is_never_installed_where_auth_exists() {
    let db = cluster().empty_db();
    db.connect().batch_execute("create schema auth").unwrap();
    let dir = fixture(&[(&format!("{V1}_a.sql"), "create table public.a (id int);\n")]);
    migrate_ok(&db, dir.path(), &["--compat"]);
    assert!(exists(&db, "public.a"));
    assert!(
        !exists(&db, "auth.users"),
        "the compat layer was installed on a database with `auth`"
    );
}

#[test]
fn repair_edits_the_ledger_both_ways() {
    let db = cluster().compat_db();
    let dir = fixture(&[
        (&format!("{V1}_a.sql"), "create table public.a (id int);\n"),
        (
            &format!("{V2}_b.sql"),
            "-- made by hand\ncreate table public.b (id int);\n",
        ),
    ]);
    migrate::run_quietly(&db.url(), &options(dir.path())).unwrap();

    migrate::repair(
        &db.url(),
        dir.path(),
        RepairStatus::Reverted,
        &[V2.to_string()],
    )
    .unwrap();
    assert_eq!(versions(&db), [V1]);
    let checksums: i64 = db
        .connect()
        .query_one(
            "select count(*) from supabase_migrations.schema_migrations_checksums where version = $1",
            &[&V2],
        )
        .unwrap()
        .get(0);
    assert_eq!(checksums, 0);
    let status = migrate::status(&db.url(), dir.path()).unwrap();
    assert_eq!(status, (vec![V1.to_string()], vec![V2.to_string()]));

    // Marking it applied records the file's name and statements without running it again.
    migrate::repair(
        &db.url(),
        dir.path(),
        RepairStatus::Applied,
        &[V2.to_string()],
    )
    .unwrap();
    assert_eq!(
        ledger(&db)[1],
        (
            V2.into(),
            "b".into(),
            vec!["-- made by hand\ncreate table public.b (id int)".to_string()]
        )
    );
    let report = migrate::run_quietly(&db.url(), &options(dir.path())).unwrap();
    assert!(report.applied.is_empty());

    // A version without a file cannot be marked applied.
    let err = migrate::repair(
        &db.url(),
        dir.path(),
        RepairStatus::Applied,
        &[V3.to_string()],
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains(&format!("no migration file for version {V3}")),
        "{err}"
    );
}

#[test]
fn a_file_that_ends_the_transaction_is_refused() {
    let dir = fixture(&[(
        &format!("{V1}_tx.sql"),
        "begin;\ncreate table public.t (id int);\ncommit;\n",
    )]);
    let db = cluster().compat_db();
    let err = migrate::run_quietly(&db.url(), &options(dir.path())).unwrap_err();
    assert!(
        matches!(err, MigrateError::TransactionControl { line: 3, .. }),
        "{err}"
    );
    assert!(!exists(&db, "public.t"));
}

#[test]
fn migration_new_creates_empty_timestamped_files() {
    let dir = tempfile::tempdir().unwrap();
    let a = migrate::new_migration(dir.path(), "add_leads").unwrap();
    let b = migrate::new_migration(dir.path(), "add_leads").unwrap();
    assert_ne!(a, b, "two files in one second must not share a version");
    for path in [&a, &b] {
        let name = path.file_name().unwrap().to_str().unwrap();
        assert!(
            name.ends_with("_add_leads.sql") && name.len() == 14 + "_add_leads.sql".len(),
            "{name}"
        );
        assert!(name[..14].bytes().all(|c| c.is_ascii_digit()), "{name}");
        assert_eq!(fs::read_to_string(path).unwrap(), "");
    }
    let err = migrate::new_migration(dir.path(), "has space").unwrap_err();
    assert!(matches!(err, MigrateError::BadName { .. }), "{err}");
}
