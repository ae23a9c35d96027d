//! `cargo xtask deploy --env NAME [--dry-run] [--yes] [--allow-destructive]`: ships migrations,
//! edge functions and their secrets to one of the environments of `supabase/environments.toml`.
//!
//! Steps: target checks (URL from the environment, no transaction pooler, the configured host)
//! → preflight (`generate --check`, squawk, the ledger refusals of `migrate`) → the plan
//! (statement kinds, destructive ones flagged, functions, secrets) → for protected environments a
//! confirmation and a schema-only dump plus the ledger → migrate → functions and secrets through
//! the Supabase CLI → smoke check (ledger lists every local version, functions answer).

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::migrate::split::{self, Token};
use crate::{db, migrate, paths, prereq, pytools};

#[derive(clap::Args)]
pub struct DeployArgs {
    /// Environment of supabase/environments.toml: dev, staging or production.
    #[arg(long = "env", value_name = "NAME")]
    pub env: String,
    /// Print the plan and stop; nothing is changed.
    #[arg(long)]
    pub dry_run: bool,
    /// Confirm a protected environment (production) without a prompt; CI passes it once the
    /// environment's reviewers approved the run.
    #[arg(long)]
    pub yes: bool,
    /// Run statements the plan flags as destructive even where the environment does not allow
    /// them.
    #[arg(long)]
    pub allow_destructive: bool,
    /// Supabase project directory holding environments.toml, migrations/ and functions/.
    #[arg(long, value_name = "DIR")]
    pub supabase_dir: Option<PathBuf>,
    /// Where protected environments get their pre-deploy dump (default target/deploy).
    #[arg(long, value_name = "DIR")]
    pub artifacts_dir: Option<PathBuf>,
}

/// One `[environments.<name>]` of `supabase/environments.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    pub project_ref: String,
    pub db_host: String,
    pub db_url_env: String,
    pub checks: Vec<Check>,
    pub allow_destructive: bool,
    pub protected: bool,
}

/// A preflight check an environment makes mandatory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Check {
    /// `generate --check`: committed migrations are what the model renders.
    Generate,
    /// squawk on the pending migrations.
    Lint,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvironmentsFile {
    environments: BTreeMap<String, Environment>,
}

/// Reads the environments of `file`.
pub fn load_environments(file: &Path) -> Result<BTreeMap<String, Environment>> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let parsed: EnvironmentsFile =
        toml::from_str(&text).with_context(|| format!("invalid {}", file.display()))?;
    Ok(parsed.environments)
}

/// The command's entry point.
pub fn run(args: &DeployArgs) -> Result<()> {
    let supabase_dir = args
        .supabase_dir
        .clone()
        .unwrap_or_else(paths::supabase_dir);
    let env_file = supabase_dir.join("environments.toml");
    let environments = load_environments(&env_file)?;
    let Some(env) = environments.get(&args.env) else {
        bail!(
            "unknown environment `{}`; choose one of {} ({})",
            args.env,
            environments.keys().cloned().collect::<Vec<_>>().join(", "),
            env_file.display()
        );
    };
    let name = args.env.as_str();
    let target = Target::resolve(name, env, &env_file)?;
    check_config_remote(name, env, &supabase_dir.join("config.toml"))?;
    println!(
        "deploy to {name}: project {}, database {}",
        env.project_ref,
        db::redact(&target.url)
    );

    // 1. Preflight.
    let migrations_dir = supabase_dir.join("migrations");
    if env.checks.contains(&Check::Generate) {
        crate::generate::run(true)
            .context("preflight: the committed migrations differ from the model")?;
    }
    // The same refusals as `migrate` (drift, missing local version, out of order), nothing changed.
    let planned = migrate::run_quietly(
        &target.url,
        &migrate::Options {
            dir: migrations_dir.clone(),
            dry_run: true,
            include_all: false,
            compat: false,
        },
    )
    .map_err(crate::commands::migrate::explain)
    .context("preflight: the remote ledger does not match supabase/migrations")?
    .planned;
    let pending = read_pending(&migrations_dir, &planned)?;
    if env.checks.contains(&Check::Lint) {
        lint(&pending)?;
    }
    let functions = list_functions(&supabase_dir.join("functions"))?;
    let secrets = SecretNames::read(&supabase_dir.join("functions/.env.example"))?;

    // 2. The plan, and what would stop the deploy.
    print_plan(&pending, &functions, &secrets);
    let mut blockers = Vec::new();
    let destructive: Vec<&Finding> = pending
        .iter()
        .flat_map(|m| m.statements.iter().filter(|s| s.destructive.is_some()))
        .collect();
    if !destructive.is_empty() && !env.allow_destructive && !args.allow_destructive {
        blockers.push(format!(
            "{} destructive statement(s) and {name} does not allow them; rewrite them as \
             expand/contract migrations, or pass --allow-destructive after checking the plan",
            destructive.len()
        ));
    }
    let publish = Publish::new(name, env, &functions, &secrets);
    if let Err(why) = publish.ready() {
        blockers.push(why);
    }
    if args.dry_run {
        for b in &blockers {
            println!("would refuse: {b}");
        }
        println!("dry run: nothing was changed");
        return Ok(());
    }
    if let Some(first) = blockers.into_iter().next() {
        bail!("{first}; nothing was changed");
    }

    // 3. Protected environments: confirmation, then a dump to roll back by hand from.
    if env.protected {
        confirm(name, args.yes)?;
        let dir = args
            .artifacts_dir
            .clone()
            .unwrap_or_else(|| paths::project_root().join("target/deploy"))
            .join(format!(
                "{name}-{}",
                chrono::Utc::now().format("%Y%m%dT%H%M%S%3fZ")
            ));
        backup(&target.url, &dir)?;
    }

    // 4. Migrate over the session connection.
    let report = crate::commands::migrate::run(
        &target.url,
        &migrate::Options {
            dir: migrations_dir.clone(),
            dry_run: false,
            include_all: false,
            compat: false,
        },
    )?;
    println!("migrations applied: {}", report.applied.len());

    // 5. Functions and secrets.
    publish.run()?;

    // 6. Smoke check.
    smoke_ledger(&target.url, &migrations_dir)?;
    publish.smoke()?;
    println!("deploy to {name}: done");
    Ok(())
}

/// The database a deploy talks to, checked before anything connects.
struct Target {
    url: String,
}

impl Target {
    fn resolve(name: &str, env: &Environment, env_file: &Path) -> Result<Target> {
        if !is_project_ref(&env.project_ref) {
            bail!(
                "{name} has no valid project_ref in {} (20 lowercase letters, from the project's \
                 dashboard URL); create the project as docs/deploy.md says and set it",
                env_file.display()
            );
        }
        if env.db_host.is_empty() {
            bail!(
                "{name} has no db_host in {}; set it to db.{}.supabase.co or the project's \
                 session pooler host",
                env_file.display(),
                env.project_ref
            );
        }
        let url = match std::env::var(&env.db_url_env) {
            Ok(url) if !url.trim().is_empty() => url,
            _ => bail!(
                "{var} is not set; export the direct or session-pooler connection string of \
                 {name} (Dashboard → Connect), e.g. {var}='postgresql://postgres.{r}:PASSWORD@\
                 {host}:5432/postgres'; in CI add it as the repository secret {var}",
                var = env.db_url_env,
                r = env.project_ref,
                host = env.db_host
            ),
        };
        refuse_transaction_pooler(&url)?;
        let config = postgres::Config::from_str(&url)
            .with_context(|| format!("{} is not a valid database URL", env.db_url_env))?;
        let host = match config.get_hosts() {
            [postgres::config::Host::Tcp(h)] => h.clone(),
            _ => bail!("{} must name exactly one TCP host", env.db_url_env),
        };
        if host != env.db_host {
            bail!(
                "{} points at {host} but {name} deploys to {} ({}); is it another \
                 environment's URL?",
                env.db_url_env,
                env.db_host,
                env_file.display()
            );
        }
        // On the shared Supavisor host the user names the project: `postgres.<ref>`.
        if host.ends_with(".pooler.supabase.com") {
            let user = config.get_user().unwrap_or_default();
            if !user.ends_with(&format!(".{}", env.project_ref)) {
                bail!(
                    "{} logs in as `{user}` on the shared pooler, which is not project {}; use \
                     `postgres.{}`",
                    env.db_url_env,
                    env.project_ref,
                    env.project_ref
                );
            }
        }
        Ok(Target { url })
    }
}

fn is_project_ref(s: &str) -> bool {
    s.len() == 20 && s.bytes().all(|b| b.is_ascii_lowercase())
}

/// Transaction pooling hands each transaction a different server connection, so the migrator's
/// advisory lock and its `set` commands would not hold across statements.
pub fn refuse_transaction_pooler(url: &str) -> Result<()> {
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or("");
    let pgbouncer = query.split('&').any(|kv| {
        kv.split_once('=')
            .is_some_and(|(k, v)| k.eq_ignore_ascii_case("pgbouncer") && v == "true")
    });
    let config = postgres::Config::from_str(&without_param(url, "pgbouncer"))
        .with_context(|| format!("invalid database URL {}", db::redact(url)))?;
    let port_6543 = config.get_ports().contains(&6543);
    if pgbouncer || port_6543 {
        bail!(
            "{} is a transaction-pooler URL ({}); migrations need a session connection because \
             advisory locks and `set` do not survive transaction pooling: use the direct \
             connection (db.<ref>.supabase.co:5432) or the session pooler (port 5432)",
            db::redact(url),
            if pgbouncer {
                "pgbouncer=true"
            } else {
                "port 6543"
            }
        );
    }
    Ok(())
}

/// `url` without the query parameter `key` (which the driver would not accept).
fn without_param(url: &str, key: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_string();
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|kv| !kv.split('=').next().unwrap_or("").eq_ignore_ascii_case(key))
        .collect();
    if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    }
}

/// `[remotes.<name>]` of supabase/config.toml, when present, must name the same project.
fn check_config_remote(name: &str, env: &Environment, config: &Path) -> Result<()> {
    let Ok(text) = std::fs::read_to_string(config) else {
        return Ok(());
    };
    let value: toml::Value =
        toml::from_str(&text).with_context(|| format!("invalid {}", config.display()))?;
    let remote_ref = value
        .get("remotes")
        .and_then(|r| r.get(name))
        .and_then(|r| r.get("project_id"))
        .and_then(|p| p.as_str());
    match remote_ref {
        Some(r) if r != env.project_ref => bail!(
            "{} says [remotes.{name}] project_id = \"{r}\" but environments.toml says {}; make \
             them agree",
            config.display(),
            env.project_ref
        ),
        _ => Ok(()),
    }
}

/// A pending migration with its statements classified.
pub struct Pending {
    pub version: String,
    pub path: PathBuf,
    pub statements: Vec<Finding>,
}

/// One statement of a pending migration.
pub struct Finding {
    /// `create table`, `alter table`, `insert`, ...
    pub kind: String,
    /// Why it can lose data or fail on existing rows, when it can.
    pub destructive: Option<String>,
    /// The statement's start, for the plan.
    pub excerpt: String,
}

fn read_pending(dir: &Path, versions: &[String]) -> Result<Vec<Pending>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    versions
        .iter()
        .map(|v| {
            let prefix = format!("{v}_");
            let path = files
                .iter()
                .find(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".sql"))
                })
                .with_context(|| format!("no file for migration {v} in {}", dir.display()))?
                .clone();
            let sql = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            Ok(Pending {
                version: v.clone(),
                path,
                statements: classify_sql(&sql),
            })
        })
        .collect()
}

fn print_plan(pending: &[Pending], functions: &[String], secrets: &SecretNames) {
    println!("plan:");
    if pending.is_empty() {
        println!("  migrations: none pending");
    } else {
        println!("  migrations ({} pending):", pending.len());
    }
    for m in pending {
        let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
        for s in &m.statements {
            *kinds.entry(s.kind.as_str()).or_default() += 1;
        }
        let summary: Vec<String> = kinds
            .iter()
            .map(|(k, n)| {
                if *n == 1 {
                    k.to_string()
                } else {
                    format!("{k} ×{n}")
                }
            })
            .collect();
        let file = m.path.file_name().unwrap_or_default().to_string_lossy();
        println!("    {file}: {}", summary.join(", "));
        for s in &m.statements {
            if let Some(why) = &s.destructive {
                println!("      DESTRUCTIVE ({why}): {}", s.excerpt);
            }
        }
    }
    if functions.is_empty() {
        println!("  functions: none (no supabase/functions/<name>/index.ts)");
    } else {
        println!("  functions to build and deploy: {}", functions.join(", "));
    }
    if secrets.all.is_empty() {
        println!("  secrets: none (no supabase/functions/.env.example)");
    } else {
        let settable = secrets.settable();
        println!(
            "  secrets to set when present in the environment: {}",
            settable.join(", ")
        );
    }
}

/// Runs squawk on the pending files; each file runs in one transaction, as migrate applies it.
fn lint(pending: &[Pending]) -> Result<()> {
    if pending.is_empty() {
        println!("preflight: squawk: nothing pending to lint");
        return Ok(());
    }
    pytools::ensure_python_tools()?;
    let status = Command::new(pytools::bin("squawk"))
        .arg("--assume-in-transaction")
        .args(pending.iter().map(|p| &p.path))
        .current_dir(paths::project_root())
        .status()
        .context("cannot run squawk")?;
    if !status.success() {
        bail!(
            "preflight: squawk found problems in the pending migrations (above); fix them, or \
             justify each with a `-- squawk-ignore <rule>` comment in place"
        );
    }
    Ok(())
}

/// Asks for the environment's name in a terminal; elsewhere only `--yes` confirms.
fn confirm(name: &str, yes: bool) -> Result<()> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        bail!(
            "{name} is protected and this is not a terminal: pass --yes (in CI, once the \
             `{name}` environment's reviewers approved the run); nothing was changed"
        );
    }
    eprint!("{name} is protected. Type `{name}` to deploy: ");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    if line.trim() != name {
        bail!("not confirmed; nothing was changed");
    }
    Ok(())
}

/// Saves a schema-only dump and the ledger rows to `dir`. Data is the platform's point-in-time
/// recovery's job; this is the schema to compare with or repair from.
fn backup(url: &str, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let schema = dir.join("schema.sql");
    let config = postgres::Config::from_str(url).context("invalid database URL")?;
    let pg_dump = Path::new(crate::cluster::PG_BIN).join("pg_dump");
    if !pg_dump.exists() {
        bail!(
            "{} is missing; install PostgreSQL 15's client (apt-get install -y \
             postgresql-client-15)",
            pg_dump.display()
        );
    }
    let mut cmd = Command::new(&pg_dump);
    cmd.args(["--schema-only", "--no-password", "--file"])
        .arg(&schema);
    if let [postgres::config::Host::Tcp(h)] = config.get_hosts() {
        cmd.arg("--host").arg(h);
    }
    if let Some(port) = config.get_ports().first() {
        cmd.arg("--port").arg(port.to_string());
    }
    if let Some(user) = config.get_user() {
        cmd.arg("--username").arg(user);
    }
    cmd.arg("--dbname")
        .arg(config.get_dbname().unwrap_or("postgres"));
    // The password goes through the environment, never the command line (visible in `ps`).
    if let Some(pw) = config.get_password() {
        cmd.env("PGPASSWORD", String::from_utf8_lossy(pw).as_ref());
    }
    let sslmode = match config.get_ssl_mode() {
        postgres::config::SslMode::Disable => "disable",
        postgres::config::SslMode::Require => "require",
        _ => "prefer",
    };
    cmd.env("PGSSLMODE", sslmode);
    crate::progress::step(
        &format!("pg_dump --schema-only → {}", schema.display()),
        || crate::process::run_quiet(&mut cmd),
    )?;

    let mut client = db::connect(url)?;
    let rows = client.query(
        "select coalesce(json_agg(json_build_object('version', version, 'name', name, \
         'statements', statements) order by version), '[]')::text \
         from supabase_migrations.schema_migrations \
         where to_regclass('supabase_migrations.schema_migrations') is not null",
        &[],
    );
    let ledger = match rows {
        Ok(rows) => rows[0].get::<_, String>(0),
        // A database never migrated has no ledger yet.
        Err(e) if e.code() == Some(&postgres::error::SqlState::UNDEFINED_TABLE) => "[]".into(),
        Err(e) => return Err(e).context("cannot read the migration ledger"),
    };
    std::fs::write(dir.join("ledger.json"), ledger)?;
    println!("saved the schema and the ledger to {}", dir.display());
    Ok(())
}

/// Every local version must be in the remote ledger after the deploy.
fn smoke_ledger(url: &str, dir: &Path) -> Result<()> {
    let (applied, pending) = migrate::status(url, dir)?;
    if !pending.is_empty() {
        bail!(
            "smoke check: the ledger lacks {}; run `cargo xtask migration list --db-url ...` to \
             see why",
            pending.join(", ")
        );
    }
    println!(
        "smoke check: the ledger lists all {} local versions",
        applied.len()
    );
    Ok(())
}

/// The functions to deploy: `functions/<name>/index.ts`, without `_shared`-style folders.
pub fn list_functions(dir: &Path) -> Result<Vec<String>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('_') || name.starts_with('.') {
            continue;
        }
        if entry.path().join("index.ts").is_file() {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// The secrets of `supabase/functions/.env.example`: `NAME=` lines are required on the project,
/// commented `# NAME=` lines are optional.
#[derive(Debug, Default)]
pub struct SecretNames {
    pub path: PathBuf,
    /// Every listed name (required and optional).
    pub all: Vec<String>,
    pub required: Vec<String>,
}

impl SecretNames {
    pub fn read(path: &Path) -> Result<SecretNames> {
        let mut names = SecretNames {
            path: path.to_path_buf(),
            ..SecretNames::default()
        };
        let Ok(text) = std::fs::read_to_string(path) else {
            return Ok(names);
        };
        for line in text.lines() {
            let line = line.trim();
            let (optional, rest) = match line.strip_prefix('#') {
                Some(rest) => (true, rest.trim_start()),
                None => (false, line),
            };
            let rest = rest.strip_prefix("export ").unwrap_or(rest);
            let Some((name, _)) = rest.split_once('=') else {
                continue;
            };
            let name = name.trim();
            let is_name = !name.is_empty()
                && name.starts_with(|c: char| c.is_ascii_uppercase())
                && name
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            if !is_name || names.all.iter().any(|n| n == name) {
                continue;
            }
            names.all.push(name.to_string());
            if !optional {
                names.required.push(name.to_string());
            }
        }
        Ok(names)
    }

    /// Names `supabase secrets set` accepts: `SUPABASE_*` ones are provided by the platform.
    pub fn settable(&self) -> Vec<String> {
        self.all
            .iter()
            .filter(|n| !n.starts_with("SUPABASE_"))
            .cloned()
            .collect()
    }
}

/// Step 5: functions and secrets through the pinned Supabase CLI.
struct Publish<'a> {
    env_name: &'a str,
    project_ref: &'a str,
    functions: &'a [String],
    secrets: &'a SecretNames,
}

impl<'a> Publish<'a> {
    fn new(
        env_name: &'a str,
        env: &'a Environment,
        functions: &'a [String],
        secrets: &'a SecretNames,
    ) -> Self {
        Publish {
            env_name,
            project_ref: &env.project_ref,
            functions,
            secrets,
        }
    }

    fn has_work(&self) -> bool {
        !self.functions.is_empty() || !self.secrets.settable().is_empty()
    }

    fn cli(&self) -> PathBuf {
        prereq::node_bin("supabase")
    }

    /// The commands this step runs, as a person would type them.
    fn commands(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.functions.is_empty() {
            out.push("cargo xtask functions build --release".to_string());
            out.push(format!(
                "node_modules/.bin/supabase functions deploy {} --project-ref {} --use-api",
                self.functions.join(" "),
                self.project_ref
            ));
        }
        if !self.secrets.settable().is_empty() {
            out.push(format!(
                "node_modules/.bin/supabase secrets set --env-file <file with {}> --project-ref {}",
                self.secrets.settable().join(", "),
                self.project_ref
            ));
        }
        out
    }

    /// Why this step would fail, checked before anything changes.
    fn ready(&self) -> std::result::Result<(), String> {
        if !self.has_work() {
            return Ok(());
        }
        let how = || {
            self.commands()
                .iter()
                .map(|c| format!("\n  {c}"))
                .collect::<String>()
        };
        if !self.cli().exists() {
            return Err(format!(
                "the Supabase CLI is missing ({}): run `npm ci`, then deploy the functions \
                 with:{}",
                self.cli().display(),
                how()
            ));
        }
        if std::env::var("SUPABASE_ACCESS_TOKEN").map_or(true, |t| t.is_empty()) {
            return Err(format!(
                "SUPABASE_ACCESS_TOKEN is not set, so the functions of {} cannot be deployed: \
                 create a token at https://supabase.com/dashboard/account/tokens (in CI: the \
                 repository secret SUPABASE_ACCESS_TOKEN), export it and run:{}",
                self.env_name,
                how()
            ));
        }
        Ok(())
    }

    fn run(&self) -> Result<()> {
        if !self.has_work() {
            println!("functions: nothing to deploy");
            return Ok(());
        }
        if let Err(why) = self.ready() {
            bail!(why);
        }
        let root = paths::project_root();
        if !self.functions.is_empty() {
            crate::functions::run(crate::functions::FunctionsCommand::Build { release: true })?;
            let mut cmd = Command::new(self.cli());
            cmd.args(["functions", "deploy"])
                .args(self.functions)
                .args(["--project-ref", self.project_ref, "--use-api"])
                .current_dir(&root);
            run_cli("supabase functions deploy", &mut cmd)?;
        }
        let present: Vec<(String, String)> = self
            .secrets
            .settable()
            .into_iter()
            .filter_map(|n| match std::env::var(&n) {
                Ok(v) if !v.is_empty() => Some((n, v)),
                _ => None,
            })
            .collect();
        if !present.is_empty() {
            let file = SecretFile::write(&present)?;
            let mut cmd = Command::new(self.cli());
            cmd.args(["secrets", "set", "--env-file"])
                .arg(&file.0)
                .args(["--project-ref", self.project_ref])
                .current_dir(&root);
            run_cli(
                &format!(
                    "supabase secrets set ({})",
                    present
                        .iter()
                        .map(|(n, _)| n.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                &mut cmd,
            )?;
        }
        Ok(())
    }

    /// Every required secret exists on the project, and each function answers its CORS
    /// preflight.
    fn smoke(&self) -> Result<()> {
        if !self.has_work() {
            return Ok(());
        }
        let out = Command::new(self.cli())
            .args(["secrets", "list", "--project-ref", self.project_ref])
            .args(["--output", "json"])
            .current_dir(paths::project_root())
            .output()
            .context("cannot run supabase secrets list")?;
        if !out.status.success() {
            bail!(
                "smoke check: supabase secrets list failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let listed: serde_json::Value = serde_json::from_slice(&out.stdout)
            .context("smoke check: unexpected output of supabase secrets list")?;
        let names: Vec<&str> = listed
            .as_array()
            .map(|a| a.iter().filter_map(|s| s["name"].as_str()).collect())
            .unwrap_or_default();
        let missing: Vec<&String> = self
            .secrets
            .required
            .iter()
            .filter(|n| !n.starts_with("SUPABASE_") && !names.contains(&n.as_str()))
            .collect();
        if !missing.is_empty() {
            bail!(
                "smoke check: project {} lacks the secrets {}; set them in the environment (CI: \
                 repository secrets) and deploy again",
                self.project_ref,
                missing
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        for f in self.functions {
            let url = format!("https://{}.supabase.co/functions/v1/{f}", self.project_ref);
            let out = Command::new("curl")
                .args([
                    "--silent",
                    "--show-error",
                    "--max-time",
                    "20",
                    "--request",
                    "OPTIONS",
                ])
                .args(["--output", "/dev/null", "--write-out", "%{http_code}"])
                .args(["--header", "Origin: https://example.com"])
                .args(["--header", "Access-Control-Request-Method: POST"])
                .arg(&url)
                .output()
                .context("cannot run curl for the functions' smoke check")?;
            let code = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if !code.starts_with('2') {
                bail!("smoke check: OPTIONS {url} answered {code}; see the function's logs");
            }
            println!("smoke check: {f} answers its preflight ({code})");
        }
        Ok(())
    }
}

fn run_cli(what: &str, cmd: &mut Command) -> Result<()> {
    crate::progress::step(what, || crate::process::run_quiet(cmd))
}

/// A 0600 `.env` file in the temp dir, removed when dropped.
struct SecretFile(PathBuf);

impl SecretFile {
    fn write(pairs: &[(String, String)]) -> Result<SecretFile> {
        use std::os::unix::fs::OpenOptionsExt;
        let path =
            std::env::temp_dir().join(format!("moha-deploy-secrets-{}.env", std::process::id()));
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        let file = SecretFile(path);
        for (name, value) in pairs {
            // Double quotes with escapes keep newlines and `#` inside values (dotenv rules).
            let escaped = value
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            writeln!(f, "{name}=\"{escaped}\"")?;
        }
        Ok(file)
    }
}

impl Drop for SecretFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

// ---------------------------------------------------------------------------------------------
// Statement kinds. The file splits as the Supabase CLI splits it (`migrate::split`); each
// statement's tokens are enough to read its keywords. It is not a parser, so it flags by keyword
// patterns.

/// Classifies every statement of a migration file; comment-only statements are left out.
pub fn classify_sql(sql: &str) -> Vec<Finding> {
    split::split(sql)
        .into_iter()
        .filter_map(|stmt| {
            let tokens = stmt.tokens();
            if tokens.is_empty() {
                return None;
            }
            let words: Vec<&str> = tokens
                .iter()
                .map(|t| match t {
                    Token::Word(w) => w.as_str(),
                    Token::Literal => "\u{0}",
                    Token::Punct(_) => "\u{1}",
                })
                .collect();
            let excerpt: String = stmt.text.split_whitespace().collect::<Vec<_>>().join(" ");
            let excerpt = if excerpt.chars().count() > 100 {
                format!("{}…", excerpt.chars().take(100).collect::<String>())
            } else {
                excerpt
            };
            Some(Finding {
                kind: kind(&words),
                destructive: destructive(&tokens, &words),
                excerpt,
            })
        })
        .collect()
}

/// `create table`, `alter table`, `create function`, `insert`, `grant`, `do`, ...
fn kind(words: &[&str]) -> String {
    let Some(&verb) = words.first() else {
        return "empty".into();
    };
    match verb {
        "create" | "alter" | "drop" | "comment" => {
            let fillers = [
                "or",
                "replace",
                "unique",
                "temp",
                "temporary",
                "unlogged",
                "recursive",
                "trusted",
                "procedural",
                "constraint",
                "default",
                "global",
                "local",
                "on",
            ];
            let mut rest = words[1..].iter().skip_while(|w| fillers.contains(w));
            match rest.next() {
                Some(
                    &two @ ("materialized" | "foreign" | "event" | "access" | "text" | "operator"),
                ) => match rest.next() {
                    Some(next) => format!("{verb} {two} {next}"),
                    None => format!("{verb} {two}"),
                },
                Some(obj) if !obj.starts_with('\u{0}') && !obj.starts_with('\u{1}') => {
                    format!("{verb} {obj}")
                }
                _ => verb.to_string(),
            }
        }
        _ => verb.to_string(),
    }
}

/// Why a statement can lose data or fail on existing rows: drops of tables, schemas, columns,
/// column type changes, `set not null`, truncate, delete without `where`, any `cascade` drop.
fn destructive(tokens: &[Token], words: &[&str]) -> Option<String> {
    let at = |i: usize| words.get(i).copied().unwrap_or("");
    match (at(0), at(1)) {
        ("drop", obj @ ("table" | "schema" | "database" | "materialized" | "type" | "domain")) => {
            return Some(format!("drop {obj}"));
        }
        ("truncate", _) => return Some("truncate".into()),
        ("delete", _) if !words.contains(&"where") => return Some("delete without where".into()),
        ("drop", _) if words.contains(&"cascade") => return Some("drop ... cascade".into()),
        _ => {}
    }
    if !(at(0) == "alter" && at(1) == "table") {
        return None;
    }
    // Walk the alter table actions at parenthesis depth 0.
    let mut depth = 0i32;
    for (i, t) in tokens.iter().enumerate() {
        match t {
            Token::Punct('(') => depth += 1,
            Token::Punct(')') => depth -= 1,
            _ => {}
        }
        if depth != 0 {
            continue;
        }
        match words[i] {
            "drop" => {
                let next = at(i + 1);
                let not_a_column = [
                    "constraint",
                    "default",
                    "not",
                    "identity",
                    "expression",
                    "trigger",
                    "policy",
                    "rule",
                ];
                if next == "column" {
                    return Some("drop column".into());
                }
                // `alter table t drop c` drops column c; `alter column c drop ...` does not.
                if !not_a_column.contains(&next) && at(i.wrapping_sub(2)) != "column" {
                    return Some("drop column".into());
                }
            }
            "type" if at(i.wrapping_sub(1)) != "column" && i >= 2 => {
                let alter_column = (at(i - 2) == "alter" || at(i.wrapping_sub(3)) == "alter")
                    || (at(i - 1) == "data" && at(i - 2) == "set");
                if alter_column {
                    return Some("column type change".into());
                }
            }
            "set" if at(i + 1) == "not" && at(i + 2) == "null" => {
                return Some("set not null on an existing column".into());
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(sql: &str) -> Vec<(String, Option<String>)> {
        classify_sql(sql)
            .into_iter()
            .map(|f| (f.kind, f.destructive))
            .collect()
    }

    #[test]
    fn splits_past_quotes_comments_and_dollar_bodies() {
        let sql = "-- a; comment\ncreate table t (a text default ';');\n\
                   create or replace function f() returns int language sql as $f$ select 1; $f$;\n\
                   /* x; /* nested; */ */ insert into t values ('a''b;');\n";
        let got = kinds(sql);
        assert_eq!(
            got,
            vec![
                ("create table".into(), None),
                ("create function".into(), None),
                ("insert".into(), None),
            ]
        );
    }

    #[test]
    fn splits_as_the_cli_does_and_leaves_out_comment_only_statements() {
        let sql = "create function h() returns int language sql\nbegin atomic\n  select 1;\n  \
                   delete from t;\nend;\n-- drop table x;\n/* truncate t; */;\nselect 2;\n\
                   -- trailing comment\n";
        let got = classify_sql(sql);
        assert_eq!(got.len(), 2);
        assert_eq!(
            (got[0].kind.as_str(), got[0].destructive.as_deref()),
            ("create function", None)
        );
        assert_eq!(
            got[0].excerpt,
            "create function h() returns int language sql begin atomic select 1; delete from t; end"
        );
        assert_eq!(got[1].kind, "select");
        let long = format!("select '{}'", "x".repeat(200));
        let excerpt = &classify_sql(&long)[0].excerpt;
        assert!(
            excerpt.ends_with('…') && excerpt.chars().count() == 101,
            "{excerpt}"
        );
    }

    #[test]
    fn flags_destructive_statements() {
        let flagged = |sql: &str| kinds(sql)[0].1.clone();
        assert_eq!(
            flagged("drop table public.leads").as_deref(),
            Some("drop table")
        );
        assert_eq!(
            flagged("drop schema crm cascade").as_deref(),
            Some("drop schema")
        );
        assert_eq!(
            flagged("alter table t drop column c").as_deref(),
            Some("drop column")
        );
        assert_eq!(
            flagged("alter table t drop c").as_deref(),
            Some("drop column")
        );
        assert_eq!(
            flagged("alter table t alter column c type bigint").as_deref(),
            Some("column type change")
        );
        assert_eq!(
            flagged("alter table t alter c set data type bigint").as_deref(),
            Some("column type change")
        );
        assert_eq!(
            flagged("alter table t alter column c set not null").as_deref(),
            Some("set not null on an existing column")
        );
        assert_eq!(flagged("truncate t").as_deref(), Some("truncate"));
        assert_eq!(
            flagged("delete from t").as_deref(),
            Some("delete without where")
        );
        assert_eq!(
            flagged("drop function f() cascade").as_deref(),
            Some("drop ... cascade")
        );
        assert_eq!(
            flagged("alter table \"x;y\" drop column c").as_deref(),
            Some("drop column")
        );
        assert_eq!(
            flagged("/* a; comment */ drop table \"a;b\"").as_deref(),
            Some("drop table")
        );
    }

    #[test]
    fn leaves_safe_statements_alone() {
        for sql in [
            "alter table t add column type text",
            "alter table t alter column c drop not null",
            "alter table t alter column c drop default",
            "alter table t drop constraint t_pk",
            "alter table t enable row level security",
            "alter table t add column c int not null default 0",
            "drop policy p on t",
            "drop function f(int)",
            "drop index i",
            "delete from t where id = 1",
            "create table t (id int not null, kind text)",
            "comment on table t is 'drop table x; truncate'",
            "select 'drop table q; truncate t'",
            "select $tag$drop table z; truncate t$tag$, $1",
            "create function g() returns void language plpgsql as $$ begin drop table x; \
             delete from y; end $$",
            "-- drop table x;\n/* truncate t; /* nested; */ */ select 1",
            "alter table t add column \"drop\" text",
        ] {
            assert_eq!(kinds(sql)[0].1, None, "{sql}");
        }
    }

    #[test]
    fn refuses_transaction_pooler_urls() {
        let err = refuse_transaction_pooler(
            "postgresql://postgres.abc:pw@aws-0-eu-west-1.pooler.supabase.com:6543/postgres",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("port 6543") && !err.contains(":pw@"), "{err}");
        let err = refuse_transaction_pooler(
            "postgresql://postgres:pw@db.x.supabase.co/postgres?pgbouncer=true",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("pgbouncer=true"), "{err}");
        refuse_transaction_pooler("postgresql://postgres:pw@db.x.supabase.co:5432/postgres")
            .unwrap();
    }

    #[test]
    fn reads_required_and_optional_secret_names() {
        let dir = std::env::temp_dir().join(format!("moha-env-example-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join(".env.example");
        std::fs::write(
            &file,
            "# AI providers\nANTHROPIC_API_KEY=\nexport GEMINI_API_KEY=x\n# JWKS_URL=https://...\n\
             SUPABASE_URL=http://127.0.0.1:54321\n# Get a key at https://example.com\n",
        )
        .unwrap();
        let names = SecretNames::read(&file).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            names.all,
            [
                "ANTHROPIC_API_KEY",
                "GEMINI_API_KEY",
                "JWKS_URL",
                "SUPABASE_URL"
            ]
        );
        assert_eq!(
            names.required,
            ["ANTHROPIC_API_KEY", "GEMINI_API_KEY", "SUPABASE_URL"]
        );
        assert_eq!(
            names.settable(),
            ["ANTHROPIC_API_KEY", "GEMINI_API_KEY", "JWKS_URL"]
        );
    }
}
