//! `cargo xtask deploy` end to end against a database of the test cluster standing in for the
//! remote project: the plan, the migrations, the ledger as the Supabase CLI reads it, and every
//! refusal (transaction pooler, wrong host, drift, destructive statements, unconfirmed
//! production, missing token) leaving the database as it was.

use std::fs;
use std::path::{Path, PathBuf};

use moha_tests::support;
use moha_tests::{cluster, TestDb};
use tempfile::TempDir;

const REF: &str = "abcdefghijklmnopqrst";

/// Lock and statement timeouts first, as squawk asks of every migration.
const LEADS: &str = "set lock_timeout = '5s';\nset statement_timeout = '60s';\n\
    create table public.leads (id bigint generated always as identity primary key, email text not null);\n\
    alter table public.leads enable row level security;\n\
    create policy \"leads_read\" on public.leads for select to authenticated\n\
      using ((select auth.uid()) is not null);\n";
const SOURCE: &str = "set lock_timeout = '5s';\nset statement_timeout = '60s';\n\
    alter table public.leads add column source text;\n\
    comment on column public.leads.source is 'where the lead came from; e.g. instagram';\n";
const DROP_SOURCE: &str = "alter table public.leads drop column source;\n";

/// A Supabase project directory with fixture migrations and its own environments.toml whose
/// environments point at 127.0.0.1.
struct Project {
    dir: TempDir,
}

impl Project {
    fn new(lint: bool) -> Project {
        let dir = tempfile::tempdir().unwrap();
        let supabase = dir.path().join("supabase");
        fs::create_dir_all(supabase.join("migrations")).unwrap();
        fs::create_dir_all(supabase.join("functions")).unwrap();
        fs::copy(
            xtask::paths::supabase_dir().join("config.toml"),
            supabase.join("config.toml"),
        )
        .unwrap();
        let checks = if lint { r#"["lint"]"# } else { "[]" };
        fs::write(
            supabase.join("environments.toml"),
            format!(
                "[environments.staging]\nproject_ref = \"{REF}\"\ndb_host = \"127.0.0.1\"\n\
                 db_url_env = \"STAGING_DB_URL\"\nchecks = {checks}\nallow_destructive = true\n\
                 protected = false\n\n\
                 [environments.production]\nproject_ref = \"{REF}\"\ndb_host = \"127.0.0.1\"\n\
                 db_url_env = \"PRODUCTION_DB_URL\"\nchecks = {checks}\n\
                 allow_destructive = false\nprotected = true\n"
            ),
        )
        .unwrap();
        Project { dir }
    }

    fn supabase(&self) -> PathBuf {
        self.dir.path().join("supabase")
    }

    fn add(&self, file: &str, sql: &str) -> &Self {
        fs::write(self.supabase().join("migrations").join(file), sql).unwrap();
        self
    }

    fn artifacts(&self) -> PathBuf {
        self.dir.path().join("artifacts")
    }

    /// Runs `cargo xtask deploy` with `url` in the environment's variable; returns success and
    /// stdout + stderr.
    fn deploy(&self, env: &str, url: &str, flags: &[&str]) -> (bool, String) {
        let var = format!("{}_DB_URL", env.to_uppercase());
        let r = support::run(
            support::xtask_cli(env!("CARGO_BIN_EXE_xtask-cli"), &["deploy", "--env", env])
                .arg("--supabase-dir")
                .arg(self.supabase())
                .arg("--artifacts-dir")
                .arg(self.artifacts())
                .args(flags)
                .env(var, url)
                .env_remove("SUPABASE_ACCESS_TOKEN"),
        );
        (r.ok, r.text())
    }

    fn deploy_ok(&self, env: &str, db: &TestDb, flags: &[&str]) -> String {
        let (ok, text) = self.deploy(env, &db.url(), flags);
        assert!(ok, "deploy failed:\n{text}");
        text
    }

    fn deploy_err(&self, env: &str, url: &str, flags: &[&str]) -> String {
        let (ok, text) = self.deploy(env, url, flags);
        assert!(!ok, "deploy should have been refused:\n{text}");
        text
    }
}

/// Versions in the ledger, or `None` when the database has no ledger at all.
fn ledger(db: &TestDb) -> Option<Vec<String>> {
    let mut c = db.connect();
    let exists: bool = c
        .query_one(
            "select to_regclass('supabase_migrations.schema_migrations') is not null",
            &[],
        )
        .unwrap()
        .get(0);
    exists.then(|| {
        c.query(
            "select version from supabase_migrations.schema_migrations order by version",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
    })
}

/// Everything a deploy could change: relations, columns, policies, functions, schemas, ledger.
fn catalog(db: &TestDb) -> String {
    let mut c = db.connect_admin();
    let objects: String = c
        .query_one(
            "select string_agg(x, E'\\n' order by x) from (
               select 'rel ' || c.oid::regclass || ' ' || c.relkind::text || ' ' || c.relrowsecurity
                 from pg_class c join pg_namespace n on n.oid = c.relnamespace
                where n.nspname not like 'pg\\_%' and n.nspname <> 'information_schema'
               union all
               select 'col ' || a.attrelid::regclass || '.' || a.attname || ' '
                      || format_type(a.atttypid, a.atttypmod) || ' ' || a.attnotnull::text
                 from pg_attribute a join pg_class c on c.oid = a.attrelid
                 join pg_namespace n on n.oid = c.relnamespace
                where a.attnum > 0 and not a.attisdropped
                  and n.nspname not like 'pg\\_%' and n.nspname <> 'information_schema'
               union all
               select 'pol ' || polrelid::regclass || ' ' || polname from pg_policy
               union all
               select 'fn ' || p.oid::regprocedure
                 from pg_proc p join pg_namespace n on n.oid = p.pronamespace
                where n.nspname not like 'pg\\_%' and n.nspname <> 'information_schema'
               union all
               select 'nsp ' || nspname from pg_namespace
             ) s(x)",
            &[],
        )
        .unwrap()
        .get(0);
    format!("{objects}\nledger {:?}", ledger(db))
}

fn supabase_migration_list(project: &Project, db: &TestDb) -> String {
    support::run_ok(
        support::supabase_cli()
            .args(["migration", "list", "--workdir"])
            .arg(project.dir.path())
            .args(["--db-url", &format!("{}?sslmode=disable", db.url())]),
    )
    .text()
}

#[test]
fn deploys_to_staging_and_the_cli_agrees() {
    let project = Project::new(true);
    project
        .add("20250101000000_leads.sql", LEADS)
        .add("20250102000000_lead_source.sql", SOURCE);
    let db = cluster().compat_db();

    let out = project.deploy_ok("staging", &db, &[]);
    assert!(
        out.contains("migrations (2 pending)")
            && out.contains(
                "20250101000000_leads.sql: alter table, create policy, create table, set ×2"
            )
            && out.contains("20250102000000_lead_source.sql: alter table, comment column, set ×2")
            && out.contains("functions: none"),
        "plan not printed:\n{out}"
    );
    assert!(!out.contains("DESTRUCTIVE"), "{out}");
    // The preflight's dry run is the migrator's, silent: a real deploy does not say it changed
    // nothing halfway through changing things.
    assert!(
        !out.contains("dry run") && !out.contains("nothing was changed"),
        "{out}"
    );
    assert!(
        out.contains("smoke check: the ledger lists all 2 local versions"),
        "{out}"
    );
    assert_eq!(
        ledger(&db).unwrap(),
        ["20250101000000", "20250102000000"],
        "{out}"
    );
    let has_source: bool = db
        .connect()
        .query_one(
            "select exists (select from information_schema.columns \
             where table_name = 'leads' and column_name = 'source')",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(has_source);

    let list = supabase_migration_list(&project, &db);
    for version in ["20250101000000", "20250102000000"] {
        let line = list
            .lines()
            .find(|l| l.contains(version))
            .unwrap_or_else(|| panic!("{version} missing from `supabase migration list`:\n{list}"));
        assert_eq!(
            line.matches(version).count(),
            2,
            "{version} is not both local and remote:\n{list}"
        );
    }

    // A second deploy has nothing to do.
    let again = project.deploy_ok("staging", &db, &[]);
    assert!(again.contains("migrations: none pending"), "{again}");
}

#[test]
fn dry_run_prints_the_plan_and_changes_nothing() {
    let project = Project::new(false);
    project
        .add("20250101000000_leads.sql", LEADS)
        .add("20250102000000_lead_source.sql", SOURCE)
        .add("20250103000000_drop_source.sql", DROP_SOURCE);
    let db = cluster().compat_db();
    let before = catalog(&db);

    let out = project.deploy_ok("production", &db, &["--dry-run"]);
    assert!(
        out.contains("migrations (3 pending)")
            && out
                .contains("DESTRUCTIVE (drop column): alter table public.leads drop column source")
            && out.contains("would refuse: 1 destructive statement(s)")
            && out.contains("dry run: nothing was changed"),
        "{out}"
    );
    assert_eq!(catalog(&db), before, "a dry run changed the database");
    assert!(!project.artifacts().exists(), "a dry run wrote a dump");

    // Also once the ledger exists.
    project.deploy_ok("staging", &db, &[]);
    project.add(
        "20250104000000_more.sql",
        "create table public.more (id int);\n",
    );
    let before = catalog(&db);
    let out = project.deploy_ok("staging", &db, &["--dry-run"]);
    assert!(
        out.contains("20250104000000_more.sql: create table"),
        "{out}"
    );
    assert_eq!(catalog(&db), before, "a dry run changed the database");
}

#[test]
fn refuses_transaction_pooler_urls() {
    let project = Project::new(false);
    project.add("20250101000000_leads.sql", LEADS);
    let db = cluster().compat_db();
    let port = cluster().port();

    let url = format!("postgresql://postgres:postgres@127.0.0.1:6543/{}", db.name);
    let err = project.deploy_err("staging", &url, &[]);
    assert!(
        err.contains("transaction-pooler URL (port 6543)") && err.contains("advisory locks"),
        "{err}"
    );
    assert!(
        !err.contains(":postgres@"),
        "the password was printed:\n{err}"
    );

    let url = format!(
        "postgresql://postgres:postgres@127.0.0.1:{port}/{}?pgbouncer=true",
        db.name
    );
    let err = project.deploy_err("staging", &url, &[]);
    assert!(err.contains("(pgbouncer=true)"), "{err}");
    assert_eq!(ledger(&db), None, "a refused deploy touched the database");
}

#[test]
fn refuses_a_url_of_another_host_or_a_missing_url() {
    let project = Project::new(false);
    project.add("20250101000000_leads.sql", LEADS);
    let db = cluster().compat_db();
    let url = db.url().replace("127.0.0.1", "localhost");
    let err = project.deploy_err("staging", &url, &[]);
    assert!(
        err.contains("STAGING_DB_URL points at localhost but staging deploys to 127.0.0.1"),
        "{err}"
    );

    let err = project.deploy_err("staging", "", &[]);
    assert!(err.contains("STAGING_DB_URL is not set"), "{err}");

    let err = project.deploy_err("qa", &db.url(), &[]);
    assert!(
        err.contains("unknown environment `qa`; choose one of production, staging"),
        "{err}"
    );
    assert_eq!(ledger(&db), None);
}

#[test]
fn refuses_drift_on_the_remote() {
    let project = Project::new(false);
    project
        .add("20250101000000_leads.sql", LEADS)
        .add("20250102000000_lead_source.sql", SOURCE);
    let db = cluster().compat_db();
    project.deploy_ok("staging", &db, &[]);

    // An applied file edited afterwards.
    project.add(
        "20250101000000_leads.sql",
        &format!("{LEADS}create index on public.leads (email);\n"),
    );
    project.add(
        "20250103000000_next.sql",
        "create table public.next (id int);\n",
    );
    let before = catalog(&db);
    let err = project.deploy_err("staging", &db.url(), &[]);
    assert!(
        err.contains("preflight: the remote ledger does not match")
            && err.contains("20250101000000"),
        "{err}"
    );
    assert_eq!(catalog(&db), before);

    // An applied version missing locally.
    project.add("20250101000000_leads.sql", LEADS);
    fs::remove_file(
        project
            .supabase()
            .join("migrations/20250102000000_lead_source.sql"),
    )
    .unwrap();
    let err = project.deploy_err("staging", &db.url(), &[]);
    assert!(
        err.contains("20250102000000") && err.contains("repair"),
        "{err}"
    );
    assert_eq!(catalog(&db), before);
}

#[test]
fn production_refuses_destructive_statements_without_the_flag_and_dumps_before_migrating() {
    let project = Project::new(false);
    project
        .add("20250101000000_leads.sql", LEADS)
        .add("20250102000000_lead_source.sql", SOURCE);
    let db = cluster().compat_db();
    project.deploy_ok("production", &db, &["--yes"]);

    project.add("20250103000000_drop_source.sql", DROP_SOURCE);
    let before = catalog(&db);
    let err = project.deploy_err("production", &db.url(), &["--yes"]);
    assert!(
        err.contains("DESTRUCTIVE (drop column)")
            && err.contains("production does not allow them")
            && err.contains("--allow-destructive"),
        "{err}"
    );
    assert_eq!(catalog(&db), before);

    let out = project.deploy_ok("production", &db, &["--yes", "--allow-destructive"]);
    assert!(out.contains("saved the schema and the ledger"), "{out}");
    assert_eq!(
        ledger(&db).unwrap(),
        ["20250101000000", "20250102000000", "20250103000000"]
    );

    // The newest dump shows the database as it was before the drop.
    let mut dumps: Vec<PathBuf> = fs::read_dir(project.artifacts())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dumps.sort();
    let last = dumps.last().unwrap();
    assert!(
        last.file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("production-"),
        "{dumps:?}"
    );
    let schema = fs::read_to_string(last.join("schema.sql")).unwrap();
    assert!(
        schema.contains("CREATE TABLE public.leads") && schema.contains("source text"),
        "the dump lacks the pre-deploy table"
    );
    let ledger_json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(last.join("ledger.json")).unwrap()).unwrap();
    let versions: Vec<&str> = ledger_json
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["20250101000000", "20250102000000"]);
}

#[test]
fn production_refuses_without_yes_outside_a_terminal() {
    let project = Project::new(false);
    project.add("20250101000000_leads.sql", LEADS);
    let db = cluster().compat_db();
    let err = project.deploy_err("production", &db.url(), &[]);
    assert!(
        err.contains("production is protected and this is not a terminal: pass --yes"),
        "{err}"
    );
    assert_eq!(
        ledger(&db),
        None,
        "an unconfirmed deploy touched the database"
    );
    assert!(!project.artifacts().exists());
}

#[test]
fn function_step_without_a_token_fails_with_the_command_to_run() {
    let project = Project::new(false);
    project.add("20250101000000_leads.sql", LEADS);
    let hello = project.supabase().join("functions/hello");
    fs::create_dir_all(&hello).unwrap();
    fs::write(
        hello.join("index.ts"),
        "Deno.serve(() => new Response('ok'));\n",
    )
    .unwrap();
    let db = cluster().compat_db();

    let err = project.deploy_err("staging", &db.url(), &[]);
    assert!(
        err.contains("functions to build and deploy: hello")
            && err.contains("SUPABASE_ACCESS_TOKEN is not set")
            && err.contains(&format!(
                "node_modules/.bin/supabase functions deploy hello --project-ref {REF} --use-api"
            )),
        "{err}"
    );
    // Checked before anything changes.
    assert_eq!(ledger(&db), None);
}

#[test]
fn lint_refuses_what_squawk_flags() {
    let project = Project::new(true);
    project.add("20250101000000_leads.sql", LEADS).add(
        "20250102000000_retype.sql",
        "alter table public.leads alter column email type varchar(20);\n",
    );
    let db = cluster().compat_db();
    let err = project.deploy_err("staging", &db.url(), &[]);
    assert!(
        err.contains("squawk found problems in the pending migrations")
            && err.contains("changing-column-type"),
        "{err}"
    );
    assert_eq!(ledger(&db), None);
}

#[test]
fn the_committed_environments_have_no_secrets() {
    let file = xtask::paths::supabase_dir().join("environments.toml");
    let envs = xtask::deploy::load_environments(&file).unwrap();
    assert_eq!(
        envs.keys().collect::<Vec<_>>(),
        ["dev", "production", "staging"]
    );
    let prod = &envs["production"];
    assert!(prod.protected && !prod.allow_destructive);
    let text = fs::read_to_string(&file).unwrap();
    for needle in ["postgres://", "postgresql://", "password", "sbp_", "eyJ"] {
        let hit = text
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .any(|l| l.to_lowercase().contains(needle));
        assert!(
            !hit,
            "{} holds `{needle}`: secrets come from the environment",
            file.display()
        );
    }
}

/// Every variable or secret the functions read (Rust `env.var/secret/optional_secret("X")`,
/// `std::env::var("X")`, TypeScript `Deno.env.get("X")`) is listed in
/// supabase/functions/.env.example, except what the runtime provides: `SUPABASE_*` (the platform
/// sets those, and `supabase secrets set` refuses the prefix) and `PORT`/`HOST` (where a local
/// function process listens; hosted ignores them). Unit tests (`#[cfg(test)]` onwards) are not
/// read.
#[test]
fn functions_read_no_secret_missing_from_env_example() {
    let root = xtask::paths::project_root();
    let example = root.join("supabase/functions/.env.example");
    let listed = xtask::deploy::SecretNames::read(&example).unwrap().all;
    let mut files = Vec::new();
    collect(&root.join("functions"), "rs", &mut files);
    collect(&root.join("supabase/functions"), "ts", &mut files);
    let mut missing = Vec::new();
    for file in &files {
        let text = fs::read_to_string(file).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        for name in env_reads(code) {
            let runtime_provided =
                name.starts_with("SUPABASE_") || name == "PORT" || name == "HOST";
            if !listed.contains(&name) && !runtime_provided {
                missing.push(format!("{name} ({})", file.display()));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "read by the functions but not listed in {}: {}",
        example.display(),
        missing.join(", ")
    );
}

fn collect(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy();
        if name == "target" || name == "node_modules" || name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            collect(&path, ext, out);
        } else if path.extension().is_some_and(|e| e == ext) {
            out.push(path);
        }
    }
}

/// Names passed as string literals to the environment readers.
fn env_reads(text: &str) -> Vec<String> {
    let readers = [
        ".var(\"",
        ".var_or(\"",
        ".secret(\"",
        ".optional_secret(\"",
        "env::var(\"",
        "env::var_os(\"",
        "Deno.env.get(\"",
        "Deno.env.get('",
    ];
    let mut names = Vec::new();
    for reader in readers {
        for (at, _) in text.match_indices(reader) {
            let rest = &text[at + reader.len()..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            let quote = reader.chars().last().unwrap();
            if end > 0 && rest[end..].starts_with(quote) {
                names.push(rest[..end].to_string());
            }
        }
    }
    names
}

#[test]
fn env_reads_finds_literal_names_only() {
    let src = "env.secret(\"ANTHROPIC_API_KEY\")?; env.var(name); \
               Deno.env.get('SUPABASE_DB_URL'); std::env::var(\"HOME\")";
    assert_eq!(
        env_reads(src),
        ["ANTHROPIC_API_KEY", "HOME", "SUPABASE_DB_URL"]
    );
}
