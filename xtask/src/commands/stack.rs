//! The local stack: a Supabase-compatible PostgreSQL on 127.0.0.1:54322 without Docker.
//! `up`, `down`, `reset`, `status`.

use std::fs;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::infra::cluster::{Cluster, SUPERUSER};
use crate::infra::{db, paths, prereq, progress};
use crate::{commands, compat, migrate};

/// Supabase's local database port.
pub const DEFAULT_PORT: u16 = 54322;

#[derive(clap::Args)]
pub struct UpArgs {
    /// Do not install missing prerequisites; print the install command and fail instead.
    #[arg(long)]
    pub no_install: bool,
    /// Port for PostgreSQL (default 54322, Supabase's local db port).
    #[arg(long)]
    pub port: Option<u16>,
}

/// What `up` remembers between runs (`.local/stack.json`).
#[derive(Serialize, Deserialize)]
struct Settings {
    port: u16,
}

fn settings_path() -> PathBuf {
    paths::local_dir().join("stack.json")
}

fn load_port() -> u16 {
    fs::read_to_string(settings_path())
        .ok()
        .and_then(|t| serde_json::from_str::<Settings>(&t).ok())
        .map(|s| s.port)
        .unwrap_or(DEFAULT_PORT)
}

fn save_port(port: u16) -> Result<()> {
    fs::create_dir_all(paths::local_dir())?;
    fs::write(
        settings_path(),
        serde_json::to_string_pretty(&Settings { port })?,
    )?;
    Ok(())
}

fn local_cluster(port: u16) -> Cluster {
    Cluster::new(paths::local_dir().join("db"), port, true)
}

fn migrate_options() -> migrate::Options {
    migrate::Options {
        dir: paths::migrations_dir(),
        dry_run: false,
        include_all: false,
        compat: false,
    }
}

pub fn up(args: &UpArgs) -> Result<()> {
    if args.no_install {
        prereq::require_apt()?;
    } else {
        prereq::ensure_apt()?;
    }
    prereq::ensure_node_modules()?;
    let port = args.port.unwrap_or_else(load_port);
    let cluster = local_cluster(port);
    start_and_migrate(&cluster)?;
    save_port(port)?;
    print_info(&cluster)?;
    let db_url = cluster.url("postgres", "postgres");
    crate::gateway::up(&db_url)?;
    progress::step("starting the pg_net worker", || {
        crate::net_worker::up(&db_url)
    })?;
    Ok(())
}

/// What the scheduled jobs read from Vault: the local API URL and the scheduled-call secret
/// (the gateway gives the functions the same secret).
fn store_schedule_secrets(cluster: &Cluster) -> Result<()> {
    progress::step("storing the schedules' secrets in Vault", || {
        crate::schedules::store_local_secrets(
            &cluster.url("postgres", "postgres"),
            &format!("http://127.0.0.1:{}", crate::gateway::DEFAULT_PORT),
            &crate::schedules::local_secret()?,
        )
    })
}

/// Creates (first time) or starts the cluster, installs the compat layer, migrates, and seeds
/// a new database. Fast when everything is already up.
pub(crate) fn start_and_migrate(cluster: &Cluster) -> Result<()> {
    let created = !cluster.exists();
    if created {
        ensure_port_free(cluster.port)?;
        progress::step("creating the cluster (initdb)", || cluster.init())?;
    }
    // A cluster made before Supabase Cron (or pg_stat_statements) gets them preloaded (a restart
    // loads them).
    let cron_added = !created && cluster.ensure_cron_conf()?;
    if cron_added && cluster.is_running() {
        progress::step(
            "restarting PostgreSQL to load the preloaded libraries",
            || cluster.restart(),
        )?;
    }
    if !cluster.is_running() {
        ensure_port_free(cluster.port)?;
        progress::step(
            &format!("starting PostgreSQL on 127.0.0.1:{}", cluster.port),
            || cluster.start(),
        )?;
    }
    if created {
        progress::step("creating roles as on hosted Supabase", || {
            cluster.bootstrap_roles()
        })?;
    }
    progress::step("installing the Supabase compatibility layer", || {
        let mut admin = db::connect(&cluster.url(SUPERUSER, "postgres"))?;
        compat::install(&mut admin)
    })?;
    commands::migrate::run(&cluster.url("postgres", "postgres"), &migrate_options()).map_err(|e| {
        // Before a release, editing migrations in place is normal; the local stack then only
        // needs rebuilding.
        match e.downcast_ref::<commands::migrate::Hinted>().map(|h| h.error()) {
            Some(migrate::MigrateError::Modified { .. } | migrate::MigrateError::MissingLocal { .. }) => e.context(
                "the local stack was migrated from other files; `cargo xtask reset` rebuilds it from \
                 the current migrations and seed (its data is replaced)",
            ),
            _ => e,
        }
    })?;
    if created {
        seed(cluster)?;
    }
    store_schedule_secrets(cluster)?;
    Ok(())
}

/// Runs `supabase/seed.sql` as `postgres`, as `supabase db reset` does.
fn seed(cluster: &Cluster) -> Result<()> {
    let path = paths::supabase_dir().join("seed.sql");
    let Ok(sql) = fs::read_to_string(&path) else {
        return Ok(());
    };
    progress::step("seeding (supabase/seed.sql)", || {
        let mut client = db::connect(&cluster.url("postgres", "postgres"))?;
        client
            .batch_execute(&sql)
            .with_context(|| format!("{} failed", path.display()))
    })
}

pub fn down() -> Result<()> {
    crate::gateway::down()?;
    crate::net_worker::down()?;
    let cluster = local_cluster(load_port());
    if !cluster.is_running() {
        eprintln!("the local stack is not running");
        return Ok(());
    }
    progress::step("stopping PostgreSQL (data kept)", || cluster.stop())
}

/// Recreates the `postgres` database from the compat layer, migrations and seed.
pub fn reset() -> Result<()> {
    let cluster = local_cluster(load_port());
    if !cluster.exists() {
        return up(&UpArgs {
            no_install: false,
            port: None,
        });
    }
    if !cluster.is_running() {
        progress::step("starting PostgreSQL", || cluster.start())?;
    }
    progress::step("recreating database postgres", || {
        let mut admin = db::connect(&cluster.url(SUPERUSER, "template1"))?;
        // Separate statements: DROP DATABASE refuses to run inside a multi-statement batch.
        admin.batch_execute("drop database if exists postgres with (force)")?;
        admin.batch_execute("create database postgres owner postgres")?;
        Ok(())
    })?;
    progress::step("installing the Supabase compatibility layer", || {
        let mut admin = db::connect(&cluster.url(SUPERUSER, "postgres"))?;
        compat::install(&mut admin)
    })?;
    commands::migrate::run(&cluster.url("postgres", "postgres"), &migrate_options())?;
    seed(&cluster)?;
    store_schedule_secrets(&cluster)?;
    // Dropping the database ended pg_cron's scheduler (a terminated background worker is not
    // started again): a restart brings it back.
    progress::step("restarting PostgreSQL (pg_cron's scheduler)", || {
        cluster.restart()
    })?;
    print_info(&cluster)?;
    Ok(())
}

/// What `status` shows.
struct Status {
    cluster: Cluster,
    running: bool,
    url: String,
    applied: Vec<String>,
    pending: Vec<String>,
    jobs: Vec<crate::schedules::JobStatus>,
}

fn read_status() -> Result<Status> {
    let cluster = local_cluster(load_port());
    let running = cluster.is_running();
    let url = cluster.url("postgres", "postgres");
    let (applied, pending) = if running {
        migrate::status(&url, &paths::migrations_dir())?
    } else {
        (Vec::new(), Vec::new())
    };
    let jobs = if running {
        crate::schedules::jobs(&mut db::connect(&url)?)?
    } else {
        Vec::new()
    };
    Ok(Status {
        cluster,
        running,
        url,
        applied,
        pending,
        jobs,
    })
}

/// `status --json`.
pub fn status_json() -> Result<()> {
    let s = read_status()?;
    let value = serde_json::json!({
        "jobs": s.jobs,
        "net_worker_pid": crate::net_worker::running_pid(),
        "running": s.running,
        "db_url": s.url,
        "keys": local_keys_json(),
        "applied": s.applied,
        "pending": s.pending,
    });
    println!("{}", serde_json::to_string_pretty(&value)?);
    Ok(())
}

/// `status`.
pub fn status_text() -> Result<()> {
    let Status {
        cluster,
        running,
        url,
        applied,
        pending,
        ..
    } = read_status()?;
    if !running {
        println!("local stack: stopped (start it with `cargo xtask up`)");
        return Ok(());
    }
    println!("local stack: running");
    print_info(&cluster)?;
    crate::gateway::print_status();
    println!(
        "migrations: {} applied, {} pending",
        applied.len(),
        pending.len()
    );
    for v in &pending {
        println!("  pending {v}");
    }
    crate::schedules::print(&mut db::connect(&url)?)?;
    Ok(())
}

/// The local stack's URL, creating and starting it when needed (for commands without
/// `--db-url`).
pub fn ensure_running_url() -> Result<String> {
    let cluster = local_cluster(load_port());
    if !cluster.exists() {
        eprintln!("no --db-url given and no local stack: starting it (cargo xtask up)");
        up(&UpArgs {
            no_install: false,
            port: None,
        })?;
    } else if !cluster.is_running() {
        progress::step("starting the local stack", || cluster.start())?;
    }
    Ok(cluster.url("postgres", "postgres"))
}

fn print_info(cluster: &Cluster) -> Result<()> {
    println!();
    println!(
        "                   DB URL: {}",
        cluster.url("postgres", "postgres")
    );
    print_local_keys()
}

/// Fails with who holds `port` and how to pick another one.
fn ensure_port_free(port: u16) -> Result<()> {
    if TcpListener::bind(("127.0.0.1", port)).is_ok() {
        return Ok(());
    }
    let holder = Command::new("ss")
        .args(["-H", "-ltnp", &format!("sport = :{port}")])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
        .and_then(|line| describe_holder(&line))
        .unwrap_or_else(|| "another program".to_string());
    bail!(
        "port {port} is taken by {holder}; stop it, or choose another port with \
         `cargo xtask up --port {}`",
        port + 1
    )
}

/// `users:(("python3",pid=14718,fd=3))` from `ss -ltnp` → `python3 (pid 14718)`.
fn describe_holder(ss_line: &str) -> Option<String> {
    let users = ss_line.split("users:").nth(1)?;
    let name = users.split('"').nth(1)?;
    let pid = users
        .split("pid=")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .unwrap_or("?");
    Some(format!("{name} (pid {pid})"))
}

/// The JWKS URL of the local gateway.
pub fn local_jwks_url() -> String {
    format!(
        "http://127.0.0.1:{}/auth/v1/.well-known/jwks.json",
        crate::gateway::DEFAULT_PORT
    )
}

/// The keys of the local stack as `up` and `status` print them: the current ones, as the
/// pinned CLI's `supabase start` prints them, then the legacy ones, labelled.
pub fn local_summary(signing: &crate::keys::SigningKeys) -> String {
    let secret = crate::jwt::LOCAL_JWT_SECRET;
    [
        format!(
            "          Publishable key: {}",
            crate::keys::LOCAL_PUBLISHABLE_KEY
        ),
        format!(
            "               Secret key: {}",
            crate::keys::LOCAL_SECRET_KEY
        ),
        format!(
            "      Signing key (ES256): {} (JWKS: {})",
            signing.current().kid,
            local_jwks_url()
        ),
        format!("      JWT secret (legacy): {secret}"),
        format!(
            "        anon key (legacy): {}",
            crate::jwt::api_key("anon", secret)
        ),
        format!(
            "service_role key (legacy): {}",
            crate::jwt::api_key("service_role", secret)
        ),
    ]
    .join("\n")
}

/// Prints [`local_summary`] for the stack's keys.
pub fn print_local_keys() -> Result<()> {
    println!("{}", local_summary(&crate::keys::local()?));
    Ok(())
}

/// The same for `status --json`.
pub fn local_keys_json() -> serde_json::Value {
    let secret = crate::jwt::LOCAL_JWT_SECRET;
    serde_json::json!({
        "publishable_key": crate::keys::LOCAL_PUBLISHABLE_KEY,
        "secret_key": crate::keys::LOCAL_SECRET_KEY,
        "jwks_url": local_jwks_url(),
        "legacy": {
            "jwt_secret": secret,
            "anon_key": crate::jwt::api_key("anon", secret),
            "service_role_key": crate::jwt::api_key("service_role", secret),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{SigningKeys, LOCAL_PUBLISHABLE_KEY, LOCAL_SECRET_KEY};

    #[test]
    fn current_keys_come_first_and_legacy_ones_are_labelled() {
        let keys = SigningKeys::generate().unwrap();
        let text = local_summary(&keys);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].ends_with(LOCAL_PUBLISHABLE_KEY), "{text}");
        assert!(lines[1].ends_with(LOCAL_SECRET_KEY), "{text}");
        assert!(lines[2].contains(&keys.current().kid), "{text}");
        for (line, value) in lines[3..].iter().zip([
            crate::jwt::LOCAL_JWT_SECRET.to_string(),
            crate::jwt::api_key("anon", crate::jwt::LOCAL_JWT_SECRET),
            crate::jwt::api_key("service_role", crate::jwt::LOCAL_JWT_SECRET),
        ]) {
            assert!(
                line.contains("(legacy): ") && line.ends_with(&value),
                "{line}"
            );
        }
        assert_eq!(lines.len(), 6);
        let json = local_keys_json();
        assert_eq!(json["secret_key"], LOCAL_SECRET_KEY);
        assert!(json["legacy"]["anon_key"]
            .as_str()
            .unwrap()
            .starts_with("eyJ"));
        assert!(
            json.get("anon_key").is_none(),
            "legacy keys sit under `legacy`"
        );
    }

    use super::describe_holder;

    #[test]
    fn names_the_process_holding_a_port() {
        let line = r#"LISTEN 0 5 127.0.0.1:54322 0.0.0.0:* users:(("python3",pid=14718,fd=3))"#;
        assert_eq!(
            describe_holder(line).as_deref(),
            Some("python3 (pid 14718)")
        );
        assert_eq!(describe_holder("LISTEN 0 5 127.0.0.1:54322"), None);
    }
}
