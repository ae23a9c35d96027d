//! The pgTAP suite of `supabase/tests/` (what `supabase test db` runs on a Docker stack), run
//! with `pg_prove` against a throwaway migrated database. Each file sets up its own personas in
//! a transaction it rolls back.

use std::process::{Command, Stdio};

use moha_tests::cluster;

#[test]
fn pgtap_suite_passes_under_pg_prove() {
    let db = cluster().migrated_db();
    let dir = xtask::paths::supabase_dir().join("tests");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no pgTAP files in {}", dir.display());
    let out = Command::new("pg_prove")
        .arg("--dbname")
        .arg(db.url())
        .args(["--ext", ".sql", "--failures", "--comments"])
        .args(&files)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run pg_prove ({e}): install libtap-parser-sourcehandler-pgtap-perl")
        });
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("All tests successful"),
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
}
