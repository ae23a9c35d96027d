//! Protected environments: a schema-only dump and the ledger before the deploy changes anything.

use std::path::Path;
use std::process::Command;
use std::str::FromStr;

use anyhow::{bail, Context, Result};

use crate::infra::db;

/// Saves a schema-only dump and the ledger rows to `dir`. Data is the platform's point-in-time
/// recovery's job; this is the schema to compare with or repair from.
pub(super) fn backup(url: &str, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let schema = dir.join("schema.sql");
    let config = postgres::Config::from_str(url).context("invalid database URL")?;
    let pg_dump = Path::new(crate::infra::cluster::PG_BIN).join("pg_dump");
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
    crate::infra::progress::step(
        &format!("pg_dump --schema-only → {}", schema.display()),
        || crate::infra::process::run_quiet(&mut cmd),
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
