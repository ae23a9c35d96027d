//! The generated supabase-js types are real: `tests/it/types_client.ts` type-checks against
//! `supabase/functions/_shared/database.types.ts` with Deno's checker and the pinned
//! `@supabase/supabase-js`, and with its `@ts-expect-error` markers removed the check fails at
//! exactly those lines (a wrong column on insert and on update, a missing required column, a
//! written identity column, a value outside an enum).

use std::path::Path;
use std::process::{Command, Output};

const CLIENT: &str = "tests/it/types_client.ts";
const TYPES_IMPORT: &str = "\"../../supabase/functions/_shared/database.types.ts\"";

fn deno_check(file: &Path) -> Output {
    Command::new(xtask::prereq::node_bin("deno"))
        .arg("check")
        .arg(file)
        .current_dir(xtask::paths::project_root())
        .env("DENO_NO_UPDATE_CHECK", "1")
        .env("NO_COLOR", "1")
        .output()
        .expect("deno runs (node_modules/.bin/deno, installed by npm ci)")
}

#[test]
fn typed_client_type_checks_against_the_generated_types() {
    let out = deno_check(&xtask::paths::project_root().join(CLIENT));
    assert!(
        out.status.success(),
        "deno check {CLIENT} (an unused @ts-expect-error means the types accept what they should not):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn wrong_columns_fail_to_type_check() {
    let root = xtask::paths::project_root();
    let source = std::fs::read_to_string(root.join(CLIENT)).expect("the typed client exists");
    let types = root.join("supabase/functions/_shared/database.types.ts");
    assert!(source.contains(TYPES_IMPORT), "{CLIENT} imports the types");
    // The copy lives under target/ so Deno still finds the workspace's package.json and
    // node_modules; the types are imported by absolute path.
    let mut unmarked = String::new();
    let mut expected_lines = Vec::new();
    let mut line_no = 0;
    let mut after_marker = false;
    for line in source.lines() {
        if line.trim_start().starts_with("// @ts-expect-error") {
            after_marker = true;
            continue;
        }
        line_no += 1;
        if after_marker {
            expected_lines.push(line_no);
            after_marker = false;
        }
        unmarked
            .push_str(&line.replace(TYPES_IMPORT, &format!("{:?}", types.display().to_string())));
        unmarked.push('\n');
    }
    assert!(
        expected_lines.len() >= 5,
        "the client marks its expected errors"
    );
    let file = Path::new(env!("CARGO_TARGET_TMPDIR")).join("types_client_unmarked.ts");
    std::fs::write(&file, unmarked).unwrap();

    let out = deno_check(&file);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "the unmarked client type-checks:\n{stderr}"
    );
    for n in &expected_lines {
        assert!(
            stderr.contains(&format!("types_client_unmarked.ts:{n}:")),
            "no type error at line {n}:\n{stderr}"
        );
    }
    assert!(
        stderr.contains(&format!("Found {} errors", expected_lines.len())),
        "errors other than the marked ones:\n{stderr}"
    );
    // The messages point at the wrong columns themselves.
    for column in [
        "nmae",
        "'full_name' does not exist",
        "'client_name' is missing",
    ] {
        assert!(
            stderr.contains(column),
            "no error names {column}:\n{stderr}"
        );
    }
}
