//! `cargo xtask deploy --env NAME [--dry-run] [--yes] [--allow-destructive]`: ships migrations,
//! edge functions and their secrets to one of the environments of `supabase/environments.toml`.
//!
//! Steps: target checks (URL from the environment, no transaction pooler, the configured host)
//! → preflight (`generate --check`, squawk, the ledger refusals of `migrate`) → the plan
//! (statement kinds, destructive ones flagged, functions, secrets) → for protected environments a
//! confirmation and a schema-only dump plus the ledger → migrate → functions and secrets through
//! the Supabase CLI → smoke check (ledger lists every local version, functions answer).

mod backup;
mod classify;
mod env;
mod plan;
mod publish;

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use crate::infra::{db, paths};
use crate::migrate;

pub use classify::{classify_sql, Finding};
pub use env::{load_environments, refuse_transaction_pooler, Check, Environment};
pub use plan::Pending;
pub use publish::{list_functions, SecretNames};

use backup::backup;
use env::{check_config_remote, Target};
use plan::{lint, print_plan, read_pending, smoke_ledger};
use publish::Publish;

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
        crate::commands::generate::check()
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
