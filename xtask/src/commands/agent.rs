//! `cargo xtask agent create NAME --scopes a:read,b:create [--ttl 30d] [--owner EMAIL]`: an
//! outside agent with one API token for the local stack (or `--db-url`). The token is made by
//! `agent_auth.create_token` as the owner, an Admin by the database's record (the same check a
//! hosted Admin meets), and printed once; only its SHA-256 is stored.

use anyhow::{bail, Context, Result};
use serde_json::json;

use crate::infra::db;

#[derive(clap::Subcommand)]
pub enum AgentCommand {
    /// Create (or reuse) an agent and print a new API token for it.
    Create(CreateArgs),
}

#[derive(clap::Args)]
pub struct CreateArgs {
    /// The agent's name (lowercase letters, digits and `-`); reused when it exists.
    pub name: String,
    /// Scopes, comma-separated: rows of the Agent role in public.permissions, e.g.
    /// leads:read,lead_notes:create.
    #[arg(long, value_delimiter = ',', required = true)]
    pub scopes: Vec<String>,
    /// Lifetime, e.g. 30d, 12h (default: the agent's maximum, 90 days).
    #[arg(long)]
    pub ttl: Option<String>,
    /// The owning Admin's email (default: the seeded admin persona).
    #[arg(long, default_value = "admin@moha.test")]
    pub owner: String,
    /// Database URL; defaults to the local stack.
    #[arg(long, value_name = "URL")]
    pub db_url: Option<String>,
}

pub fn run(cmd: AgentCommand) -> Result<()> {
    match cmd {
        AgentCommand::Create(args) => {
            let url = match &args.db_url {
                Some(u) => u.clone(),
                None => crate::commands::stack::ensure_running_url()?,
            };
            let issued = create(&url, &args)?;
            eprintln!(
                "agent {} ({}), token {} expires {}; scopes: {}",
                args.name,
                issued.agent_id,
                issued.prefix,
                issued.expires_at,
                args.scopes.join(", ")
            );
            eprintln!("shown once; the database keeps only its SHA-256");
            println!("{}", issued.token);
            Ok(())
        }
    }
}

pub struct Issued {
    pub agent_id: String,
    pub token: String,
    pub prefix: String,
    pub expires_at: String,
}

/// `30d`, `12h`, `90m` as an interval PostgreSQL reads.
pub fn ttl_interval(ttl: &str) -> Result<String> {
    let (n, unit) = ttl.split_at(ttl.len().saturating_sub(1));
    let n: u32 = n
        .parse()
        .with_context(|| format!("--ttl {ttl}: use a number and d, h or m, e.g. 30d"))?;
    let unit = match unit {
        "d" => "days",
        "h" => "hours",
        "m" => "minutes",
        _ => bail!("--ttl {ttl}: use a number and d, h or m, e.g. 30d"),
    };
    Ok(format!("{n} {unit}"))
}

/// Creates the agent when missing (allowed exactly `scopes` more) and a token, as the owner.
pub fn create(url: &str, args: &CreateArgs) -> Result<Issued> {
    let ttl = args.ttl.as_deref().map(ttl_interval).transpose()?;
    let mut c = db::connect(url)?;
    let owner: String = c
        .query_opt(
            "select id::text from auth.users where lower(email) = lower($1)",
            &[&args.owner],
        )?
        .with_context(|| format!("no user {} in auth.users", args.owner))?
        .get(0);
    let claims = json!({"sub": owner, "role": "moha_admin", "aud": "authenticated"});
    let mut tx = c.transaction()?;
    // As the owner through the Admin's role: the functions check the database's own record.
    tx.batch_execute("set local role moha_admin")?;
    tx.execute(
        "select pg_catalog.set_config('request.jwt.claims', $1, true)",
        &[&claims.to_string()],
    )?;
    let agent: String = tx
        .query_one(
            "insert into public.agents (name, owner_id, allowed_scopes) values ($1, $2::text::uuid, $3) \
             on conflict (name) do update \
               set allowed_scopes = (select array_agg(distinct s order by s) \
                                       from unnest(agents.allowed_scopes || excluded.allowed_scopes) s) \
             returning id::text",
            &[&args.name, &owner, &args.scopes],
        )
        .context("creating the agent (is the owner an Admin, and are the scopes agent scopes?)")?
        .get(0);
    let row = tx
        .query_one(
            "select token, prefix, expires_at::text from agent_auth.create_token($1::text::uuid, $2, $3, $4::text::interval)",
            &[&agent, &"cargo xtask agent create", &args.scopes, &ttl],
        )
        .context("agent_auth.create_token refused")?;
    let issued = Issued {
        agent_id: agent,
        token: row.get(0),
        prefix: row.get(1),
        expires_at: row.get(2),
    };
    tx.commit()?;
    Ok(issued)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_read_as_intervals() {
        assert_eq!(ttl_interval("30d").unwrap(), "30 days");
        assert_eq!(ttl_interval("12h").unwrap(), "12 hours");
        assert!(ttl_interval("30").is_err());
        assert!(ttl_interval("d").is_err());
        assert!(ttl_interval("1w").is_err());
    }
}
