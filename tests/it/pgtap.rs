//! The pgTAP suite of `supabase/tests/` (what `supabase test db` runs on a Docker stack), run
//! with `pg_prove` against a throwaway migrated database, once bare and once seeded with
//! `supabase/seed.sql` as `supabase test db` finds it. Each file sets up its own personas in a
//! transaction it rolls back, and must hold whatever other rows exist.
//!
//! The helpers those files sign in with (`tests.authenticate_as_business_user(email)`, see
//! `supabase/tests/00_helpers.sql`) are installed by the run itself: pg_prove runs files in name
//! order, `00_helpers.sql` first and `99_drop_helpers.sql` last, so no migration creates schema
//! `tests` and a run leaves none behind.

use moha_tests::cluster;
use moha_tests::support::{self, Ran};

#[test]
fn pgtap_suite_passes_under_pg_prove() {
    run_suite(&cluster().migrated_db());
}

#[test]
fn pgtap_suite_passes_on_the_seeded_database() {
    let db = cluster().migrated_db();
    db.connect()
        .batch_execute(moha_tests::personas::SEED_SQL)
        .expect("supabase/seed.sql failed");
    run_suite(&db);
}

fn run_suite(db: &moha_tests::TestDb) {
    let dir = xtask::paths::supabase_dir().join("tests");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no pgTAP files in {}", dir.display());
    let names: Vec<String> = files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names.first().map(String::as_str),
        Some("00_helpers.sql"),
        "the helpers must run before every test file that uses them"
    );
    assert_eq!(
        names.last().map(String::as_str),
        Some("99_drop_helpers.sql"),
        "the helpers must be dropped after every test file that uses them"
    );
    let tests_schema = |db: &moha_tests::TestDb| -> bool {
        db.connect()
            .query_one(
                "select exists (select from pg_namespace where nspname = 'tests')",
                &[],
            )
            .unwrap()
            .get(0)
    };
    assert!(
        !tests_schema(db),
        "a migration created schema tests: the pgTAP helpers belong to the test run only"
    );
    let Ran { ok, stdout, stderr } = support::pg_prove(&db.url(), &files);
    assert!(
        ok && stdout.contains("All tests successful"),
        "pg_prove failed:\n{stdout}\n{stderr}"
    );
    let tests: usize = stdout
        .split("Tests=")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("pg_prove printed no test count:\n{stdout}"));
    assert!(tests > 0, "pg_prove ran no tests:\n{stdout}");
    assert!(
        stdout.contains(&format!("Files={}", files.len())),
        "not every file ran:\n{stdout}"
    );
    assert!(
        !tests_schema(db),
        "99_drop_helpers.sql left schema tests behind"
    );
}
