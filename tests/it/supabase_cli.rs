//! Interoperability with the real Supabase CLI (`supabase@2.117.0` from npm) both ways: it reads
//! and writes the same ledger as `cargo xtask migrate`.

use std::fs;
use std::path::Path;
use std::process::Command;

use moha_tests::support;
use moha_tests::{cluster, TestDb};
use tempfile::TempDir;

/// Migrations that exercise the statement splitter: comments, quotes, dollar-quoted bodies with
/// `;` inside, BEGIN ATOMIC, parentheses, empty statements.
const FILES: &[(&str, &str)] = &[
    (
        "20250101000000_tables.sql",
        "-- leading comment\n\
         create table public.t1 (id int primary key, note text default 'a;b');\n\
         \n\
         /* block ; comment /* nested ; */ still */\n\
         create function public.f1() returns int language sql as $$ select 1; $$;\n\
         create function public.f2() returns int language plpgsql as $body$\n\
         begin\n  return 2; -- ; inside\nend;\n$body$;\n\
         select 1 as xatomic; select 2 as \"q;uote\";\n",
    ),
    (
        "20250102000000_bodies.sql",
        "create function public.f3() returns int language sql\n\
         begin atomic\n  select 1;\n  select 2;\nend;\n\
         select (1); select ((1)+2);\n\
         insert into public.t1 values (1, 'it''s; ok');;\n\
         -- trailing comment\n",
    ),
    ("20250103000000_empty.sql", ""),
];

/// A Supabase CLI project directory holding FILES as its migrations.
fn project() -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    let supabase = dir.path().join("supabase");
    fs::create_dir_all(supabase.join("migrations")).unwrap();
    fs::copy(
        xtask::paths::supabase_dir().join("config.toml"),
        supabase.join("config.toml"),
    )
    .unwrap();
    for (name, sql) in FILES {
        fs::write(supabase.join("migrations").join(name), sql).unwrap();
    }
    dir
}

/// Runs the Supabase CLI in `project`; returns its stdout and stderr together.
fn supabase(project: &Path, args: &[&str], db: &TestDb) -> String {
    let url = format!("{}?sslmode=disable", db.url());
    support::run_ok(support::supabase_cli().args(args).args([
        "--workdir",
        project.to_str().unwrap(),
        "--db-url",
        &url,
    ]))
    .text()
}

fn xtask_migrate(db: &TestDb, project: &Path, extra: &[&str]) -> String {
    let dir = project.join("supabase/migrations");
    support::run_ok(
        support::xtask_cli(
            env!("CARGO_BIN_EXE_xtask-cli"),
            &[
                "migrate",
                "--db-url",
                &db.url(),
                "--dir",
                dir.to_str().unwrap(),
            ],
        )
        .args(extra),
    )
    .text()
}

type Row = (String, Option<String>, Option<Vec<String>>);

fn ledger(db: &TestDb) -> Vec<Row> {
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

#[test]
fn the_cli_sees_our_migrations_as_applied() {
    let project = project();
    let db = cluster().compat_db();
    xtask_migrate(&db, project.path(), &[]);

    let list = supabase(project.path(), &["migration", "list"], &db);
    for (name, _) in FILES {
        let version = &name[..14];
        let line = list
            .lines()
            .find(|l| l.contains(version))
            .unwrap_or_else(|| panic!("{version} missing from `supabase migration list`:\n{list}"));
        assert_eq!(
            line.matches(version).count(),
            2,
            "{version} is not shown as both local and remote:\n{list}"
        );
    }

    let before = ledger(&db);
    let push = supabase(project.path(), &["db", "push", "--yes"], &db);
    assert!(push.contains("Remote database is up to date"), "{push}");
    assert_eq!(ledger(&db), before);
}

#[test]
fn we_see_the_clis_migrations_as_applied_and_write_the_same_ledger() {
    let project = project();
    let by_cli = cluster().compat_db();
    supabase(project.path(), &["db", "push", "--yes"], &by_cli);
    assert_eq!(ledger(&by_cli).len(), FILES.len());

    let plan = xtask_migrate(&by_cli, project.path(), &["--dry-run"]);
    assert!(plan.contains("nothing to apply"), "{plan}");
    // A real run adopts the CLI's rows (records their checksums) and applies nothing.
    let run = xtask_migrate(&by_cli, project.path(), &[]);
    assert!(run.contains("up to date"), "{run}");
    let checksums: i64 = by_cli
        .connect()
        .query_one(
            "select count(*) from supabase_migrations.schema_migrations_checksums",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(checksums, FILES.len() as i64);

    // The same files applied by us give the very rows the CLI wrote.
    let by_us = cluster().compat_db();
    xtask_migrate(&by_us, project.path(), &[]);
    assert_eq!(ledger(&by_us), ledger(&by_cli));
}

#[test]
fn a_file_the_cli_applied_and_we_then_find_edited_is_refused() {
    let project = project();
    let db = cluster().compat_db();
    supabase(project.path(), &["db", "push", "--yes"], &db);
    let path = project.path().join("supabase/migrations").join(FILES[0].0);
    fs::write(
        &path,
        format!("{}create table public.extra (id int);\n", FILES[0].1),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_xtask-cli"))
        .args(["migrate", "--dry-run", "--db-url", &db.url(), "--dir"])
        .arg(project.path().join("supabase/migrations"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("migration 20250101000000 was applied but has been modified"),
        "{stderr}"
    );
}
