//! Our generated `supabase/functions/_shared/database.types.ts` is what Supabase's own
//! generator says about the migrated database: `supabase gen types typescript` runs
//! postgres-meta, and the npm package `@supabase/postgres-meta` (pinned in package.json) prints
//! the same types without Docker (`PG_META_GENERATE_TYPES=typescript`). The two are compared
//! line by line; the only differences accepted are listed in [`ACCEPTED`], each with its reason.

use std::process::Command;

use moha_tests::cluster;

const TYPES: &str = "supabase/functions/_shared/database.types.ts";
const SERVER: &str = "node_modules/@supabase/postgres-meta/dist/server/server.js";

/// Lines in which the two files may differ, and why. Each is `(ours, theirs)`: the line of our
/// file (or `None` when postgres-meta has a line we do not) and postgres-meta's line (or `None`).
const ACCEPTED: &[(Option<&str>, Option<&str>, &str)] = &[(
    Some(
        "// generated — do not edit: run `cargo xtask gen types` (from the model in sql/schema/src/moha)",
    ),
    None,
    "our file says how it is made; postgres-meta prints no header",
)];

/// postgres-meta's types for the migrated database, for schema `public` (the schema our file
/// covers; `supabase gen types --schema public`), PostgREST 12 as our file declares, with the
/// environment the Supabase CLI gives it.
fn postgres_meta_types(db_url: &str) -> String {
    let root = xtask::paths::project_root();
    assert!(
        root.join(SERVER).exists(),
        "{SERVER} is missing: run `npm ci` (package.json pins @supabase/postgres-meta)"
    );
    let out = Command::new("node")
        .arg(SERVER)
        .current_dir(&root)
        .env("PG_META_GENERATE_TYPES", "typescript")
        .env("PG_META_GENERATE_TYPES_INCLUDED_SCHEMAS", "public")
        .env("PG_META_POSTGREST_VERSION", "12")
        // As `supabase gen types` sets it (not in its PostgREST 9 compatibility mode).
        .env(
            "PG_META_GENERATE_TYPES_DETECT_ONE_TO_ONE_RELATIONSHIPS",
            "true",
        )
        .env("PG_META_DB_URL", db_url)
        .output()
        .unwrap_or_else(|e| panic!("node runs ({e}); install Node.js 20 or later, as npm needs"));
    assert!(
        out.status.success(),
        "postgres-meta failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 types")
}

/// The lines only one side has, in order: a plain LCS diff over lines.
fn diff<'a>(ours: &[&'a str], theirs: &[&'a str]) -> Vec<(Option<&'a str>, Option<&'a str>)> {
    let (n, m) = (ours.len(), theirs.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if ours[i] == theirs[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < n || j < m {
        if i < n && j < m && ours[i] == theirs[j] {
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out.push((None, Some(theirs[j])));
            j += 1;
        } else {
            out.push((Some(ours[i]), None));
            i += 1;
        }
    }
    out
}

#[test]
fn generated_types_equal_postgres_metas() {
    let db = cluster().migrated_db();
    let theirs = postgres_meta_types(&db.url());
    let ours = std::fs::read_to_string(xtask::paths::project_root().join(TYPES)).unwrap();
    let ours: Vec<&str> = ours.lines().collect();
    let theirs: Vec<&str> = theirs.trim_end().lines().collect();
    let unexplained: Vec<String> = diff(&ours, &theirs)
        .into_iter()
        .filter(|(o, t)| !ACCEPTED.iter().any(|(ao, at, _)| ao == o && at == t))
        .map(|(o, t)| match (o, t) {
            (Some(o), _) => format!("- ours:          {o}"),
            (_, Some(t)) => format!("+ postgres-meta: {t}"),
            _ => unreachable!(),
        })
        .collect();
    let kept = std::env::temp_dir().join("postgres-meta.database.types.ts");
    if !unexplained.is_empty() {
        std::fs::write(&kept, theirs.join("\n")).unwrap();
    }
    assert!(
        unexplained.is_empty(),
        "{TYPES} differs from postgres-meta's types ({}; fix the generator in \
         sql/engine/src/typescript.rs, or accept the difference in ACCEPTED with its reason):\n{}",
        kept.display(),
        unexplained.join("\n")
    );
}
