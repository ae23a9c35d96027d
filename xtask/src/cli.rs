//! `cargo xtask`: one binary, one `match` over subcommands.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand, ValueEnum};

use crate::commands::stack;
use crate::infra::paths;
use crate::migrate;

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "Moha Interiors on Supabase, kept as code: local stack, migrations, generation, tests",
    version
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the local stack (PostgreSQL on 127.0.0.1:54322 + Supabase compat layer), migrate it
    /// and print its URL and keys. Installs missing prerequisites with apt when run as root.
    Up(stack::UpArgs),
    /// Stop the local stack, keeping its data.
    Down,
    /// Recreate the local database from migrations and seed (like `supabase db reset`).
    Reset,
    /// Show whether the stack runs, its URL, keys and migrations.
    Status {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Apply pending migrations from supabase/migrations.
    Migrate(MigrateArgs),
    /// Create, list and repair migrations (like `supabase migration`).
    #[command(subcommand)]
    Migration(MigrationCommand),
    /// Render supabase/migrations (and other generated files) from the `sql` model.
    Generate {
        /// Fail when a committed file differs from what the model renders; write nothing.
        #[arg(long)]
        check: bool,
    },
    /// Render one kind of generated file: `types` (supabase-js `Database` type) or `diagram`
    /// (docs/schema.svg, rendered in headless Chromium).
    #[command(subcommand)]
    Gen(GenCommand),
    /// Build the Rust edge functions to WebAssembly.
    #[command(subcommand)]
    Functions(crate::commands::functions::FunctionsCommand),
    /// Deploy migrations, edge functions and secrets to an environment of
    /// supabase/environments.toml (plan first; production asks for confirmation).
    Deploy(crate::commands::deploy::DeployArgs),
    /// Run the whole test suite: fmt, clippy, unit, snapshot and database tests.
    Test,
    /// Print a signed access token for a persona or a user of the local stack.
    Token(crate::commands::token::TokenArgs),
    /// The local stack's JWT signing keys (.local/signing_keys.json): show, rotate, revoke.
    #[command(subcommand)]
    Keys(crate::commands::keys::KeysCommand),
    /// Outside agents: `agent create NAME --scopes ... [--ttl 30d]` prints an API token for the
    /// local stack's `mcp` endpoint.
    #[command(subcommand)]
    Agent(crate::commands::agent::AgentCommand),
    /// Measure the speed targets (ratios in one run) and append them to docs/benchmarks.md.
    Bench(crate::commands::bench::BenchArgs),
    /// Run the coverage-guided fuzz targets of fuzz/ (cargo-fuzz, libFuzzer) and report
    /// executions and crashes per target. Not part of `test`.
    Fuzz(crate::commands::fuzz::FuzzArgs),
    /// Tamper evidence for the audit trail: append a digest of public.audit_logs to a file kept
    /// outside the database, or verify the live log against the stored digests.
    #[command(subcommand)]
    Audit(crate::commands::audit::AuditCommand),
    /// A consistent, restorable backup of what the studio owns: the project's data, the Auth
    /// rows to sign in again, Storage objects (through the Storage API), a manifest with counts,
    /// checksums and the audit digest; encrypted with age when a recipient is given.
    Backup(crate::commands::backup::BackupArgs),
    /// Restore a backup into an empty project or local stack, then check it against its
    /// manifest (counts, checksums, object bytes, audit digest).
    Restore(crate::commands::backup::RestoreArgs),
    /// What the backend is doing: the project's reports (render queue, AI usage against
    /// limits, fallback rate, errors, cron jobs, partitions, leads), or with `db <REPORT>` the
    /// pinned Supabase CLI's `inspect db` reports, on the local stack or an environment.
    Inspect(crate::commands::inspect::InspectArgs),
    /// The local stack's pg_net worker: sends the requests net.http_post queues (to 127.0.0.1
    /// only) and records the answers. `up` runs it in the background.
    #[command(hide = true)]
    NetWorker {
        #[arg(long, value_name = "URL")]
        db_url: String,
    },
}

#[derive(clap::Args)]
struct DbArgs {
    /// Database URL; defaults to $SUPABASE_DB_URL, then $DATABASE_URL, then the local stack.
    #[arg(long, value_name = "URL")]
    db_url: Option<String>,
}

#[derive(clap::Args)]
struct MigrateArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Print the plan (versions, names, statement counts) and change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Install the Supabase compatibility layer when the database lacks the `auth` schema
    /// (plain PostgreSQL only; never use against a Supabase project).
    #[arg(long)]
    compat: bool,
    /// Apply local migrations older than the newest applied one (the Supabase CLI's flag).
    #[arg(long)]
    include_all: bool,
    /// Directory of migration files.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

#[derive(Subcommand)]
enum GenCommand {
    /// supabase/functions/_shared/database.types.ts, as `supabase gen types typescript` would.
    Types {
        /// Fail when the committed file differs from what the model renders; write nothing.
        #[arg(long)]
        check: bool,
    },
    /// docs/schema.svg from the Mermaid diagram of docs/schema.md.
    Diagram,
}

#[derive(Subcommand)]
enum MigrationCommand {
    /// Create an empty migration file named <timestamp>_<NAME>.sql.
    New {
        /// Snake-case description, e.g. add_lead_source.
        name: String,
    },
    /// Show local and applied migrations side by side.
    List {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Mark versions as applied or reverted in the ledger without running them.
    Repair {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long, value_enum)]
        status: RepairStatus,
        /// 14-digit versions to repair.
        #[arg(required = true)]
        versions: Vec<String>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum RepairStatus {
    Applied,
    Reverted,
}

/// Entry point shared by the binary (and by tests that drive the CLI in-process).
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            // 2: the check ran and the audit log does not match its digests; 1: anything else.
            if err
                .downcast_ref::<crate::commands::audit::Mismatch>()
                .is_some()
            {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Up(args) => stack::up(&args),
        Command::Down => stack::down(),
        Command::Reset => stack::reset(),
        Command::Status { json: true } => stack::status_json(),
        Command::Status { json: false } => stack::status_text(),
        Command::Migrate(args) => {
            let url = resolve_db_url(args.db.db_url)?;
            let opts = migrate::Options {
                dir: args.dir.unwrap_or_else(paths::migrations_dir),
                dry_run: args.dry_run,
                include_all: args.include_all,
                compat: args.compat,
            };
            crate::commands::migrate::run(&url, &opts).map(drop)
        }
        Command::Migration(MigrationCommand::New { name }) => {
            let path = migrate::new_migration(&paths::migrations_dir(), &name)?;
            println!("created {}", path.display());
            Ok(())
        }
        Command::Migration(MigrationCommand::List { db }) => {
            let url = resolve_db_url(db.db_url)?;
            crate::commands::migrate::list(&url, &paths::migrations_dir())
        }
        Command::Migration(MigrationCommand::Repair {
            db,
            status,
            versions,
        }) => {
            let url = resolve_db_url(db.db_url)?;
            let status = match status {
                RepairStatus::Applied => migrate::RepairStatus::Applied,
                RepairStatus::Reverted => migrate::RepairStatus::Reverted,
            };
            crate::commands::migrate::repair(&url, &paths::migrations_dir(), status, &versions)
        }
        Command::Generate { check: true } => crate::commands::generate::check(),
        Command::Generate { check: false } => crate::commands::generate::write(),
        Command::Gen(GenCommand::Types { check: true }) => crate::commands::generate::check_types(),
        Command::Gen(GenCommand::Types { check: false }) => {
            crate::commands::generate::write_types()
        }
        Command::Gen(GenCommand::Diagram) => crate::diagram::write_svg(),
        Command::Functions(cmd) => crate::commands::functions::run(cmd),
        Command::Deploy(args) => crate::commands::deploy::run(&args),
        Command::Test => crate::commands::test::run(),
        Command::Bench(args) => crate::commands::bench::run(args),
        Command::Fuzz(args) => crate::commands::fuzz::run(args),
        Command::Token(args) => crate::commands::token::run(&args),
        Command::Keys(cmd) => crate::commands::keys::run(cmd),
        Command::Agent(cmd) => crate::commands::agent::run(cmd),
        Command::Audit(cmd) => crate::commands::audit::run(cmd),
        Command::Backup(args) => crate::commands::backup::backup(&args),
        Command::Restore(args) => crate::commands::backup::restore(&args),
        Command::Inspect(args) => crate::commands::inspect::run(args),
        Command::NetWorker { db_url } => crate::net_worker::run_forever(&db_url),
    }
}

/// `--db-url`, else `SUPABASE_DB_URL`, else `DATABASE_URL`, else the local stack (started if
/// needed).
fn resolve_db_url(flag: Option<String>) -> Result<String> {
    if let Some(url) = flag {
        return Ok(url);
    }
    for var in ["SUPABASE_DB_URL", "DATABASE_URL"] {
        if let Ok(url) = std::env::var(var) {
            if !url.is_empty() {
                return Ok(url);
            }
        }
    }
    stack::ensure_running_url()
}
