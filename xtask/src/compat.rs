//! The Supabase compatibility layer for plain PostgreSQL: roles, `extensions`, `auth`, `storage`,
//! `realtime`, `graphql_public`, grants, default privileges and the realtime publication as
//! hosted Supabase has them (see `sql/compat.sql`; item by item in `docs/fidelity.md`).
//! Installed by the local stack and the test harness; never on a real Supabase database.

use anyhow::{Context, Result};
use postgres::Client;

/// The layer's SQL, idempotent.
const SQL: &str = include_str!("../sql/compat.sql");

/// Supabase Cron, pg_net and Vault (issue 17), idempotent. pg_cron is real wherever it can be
/// created; pg_net and Vault are installed only on servers without their packages (the
/// migrations create the extensions where they exist, as on hosted).
pub const CRON_SQL: &str = include_str!("../sql/compat_cron.sql");
pub const PG_NET_SQL: &str = include_str!("../sql/pg_net.sql");
pub const VAULT_SQL: &str = include_str!("../sql/supabase_vault.sql");
/// What the Realtime service creates in a project's database (`realtime.messages`, `topic()`,
/// `send()`, `broadcast_changes()`), issue 18; hosted always has them.
pub const REALTIME_SQL: &str = include_str!("../sql/realtime.sql");
/// Superuser-only parameters hosted lets `postgres` set (supautils), issue 17.
pub const SETTINGS_SQL: &str = include_str!("../sql/compat_settings.sql");

/// Installs (or re-asserts) the layer in one transaction; `client` is connected as a superuser
/// (`supabase_admin` on our clusters) to the application database.
pub fn install(client: &mut Client) -> Result<()> {
    let mut tx = client.transaction()?;
    tx.batch_execute(SQL).map_err(|e| {
        let detail = e
            .as_db_error()
            .map(|db| format!("{}: {}", db.code().code(), db.message()))
            .unwrap_or_else(|| e.to_string());
        anyhow::anyhow!("installing the Supabase compatibility layer failed ({detail}); it needs a superuser connection (supabase_admin) to a database whose cluster has the role postgres")
    })?;
    install_scheduling(&mut tx)?;
    tx.batch_execute(REALTIME_SQL)
        .context("installing Realtime's objects (xtask/sql/realtime.sql)")?;
    tx.commit()
        .context("cannot commit the Supabase compatibility layer")?;
    Ok(())
}

/// The database already looks like Supabase (it has the `auth` schema).
pub fn is_installed(client: &mut Client) -> Result<bool> {
    let row = client.query_one(
        "select exists (select from pg_namespace where nspname = 'auth')",
        &[],
    )?;
    Ok(row.get(0))
}

/// pg_cron where it can live, and pg_net and Vault where the server has no package for them.
fn install_scheduling(tx: &mut postgres::Transaction<'_>) -> Result<()> {
    tx.batch_execute(CRON_SQL)
        .context("installing pg_cron (xtask/sql/compat_cron.sql)")?;
    tx.batch_execute(SETTINGS_SQL)
        .context("granting hosted's settable parameters (xtask/sql/compat_settings.sql)")?;
    for (extension, sql, file) in [
        ("pg_net", PG_NET_SQL, "pg_net.sql"),
        ("supabase_vault", VAULT_SQL, "supabase_vault.sql"),
    ] {
        let packaged: bool = tx
            .query_one(
                "select exists (select from pg_available_extensions where name = $1)",
                &[&extension],
            )?
            .get(0);
        if !packaged {
            tx.batch_execute(sql)
                .with_context(|| format!("installing {extension} (xtask/sql/{file})"))?;
        }
    }
    Ok(())
}
