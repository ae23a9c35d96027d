//! The Supabase compatibility layer for plain PostgreSQL. (Being written.)

use anyhow::Result;
use postgres::Client;

/// Installs the layer; `client` is connected as a superuser (`supabase_admin` on our clusters).
pub fn install(_client: &mut Client) -> Result<()> {
    anyhow::bail!("the compatibility layer is not written yet")
}

/// The database already looks like Supabase (it has the `auth` schema).
pub fn is_installed(client: &mut Client) -> Result<bool> {
    let row = client.query_one("select exists (select from pg_namespace where nspname = 'auth')", &[])?;
    Ok(row.get(0))
}
