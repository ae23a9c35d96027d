//! The environments of `supabase/environments.toml` and the database URL a deploy may use.

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::infra::db;

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

/// The database a deploy talks to, checked before anything connects.
pub(super) struct Target {
    pub(super) url: String,
}

impl Target {
    pub(super) fn resolve(name: &str, env: &Environment, env_file: &Path) -> Result<Target> {
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
pub(super) fn check_config_remote(name: &str, env: &Environment, config: &Path) -> Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
