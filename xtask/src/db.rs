//! Connecting to PostgreSQL from a URL, with a bounded wait and a useful error.

use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, Result};
use postgres::{Client, Config, NoTls};

/// How long to wait for a server before giving up (the CLI promises an error within 10 s).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Connects to `url` (`postgresql://user:pass@host:port/db?...`).
pub fn connect(url: &str) -> Result<Client> {
    let mut config =
        Config::from_str(url).with_context(|| format!("invalid database URL {}", redact(url)))?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    config.application_name("cargo-xtask");
    config
        .connect(NoTls)
        .with_context(|| format!("cannot connect to {}", redact(url)))
}

/// `url` with its password replaced by `***`, for messages and logs.
pub fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match (authority.rfind('@'), authority.find(':')) {
        (Some(at), Some(colon)) if colon < at => format!(
            "{}{}:***{}",
            &url[..scheme_end + 3],
            &authority[..colon],
            &rest[at..]
        ),
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn redacts_password() {
        assert_eq!(
            redact("postgresql://postgres:s3cret@db.example.co:5432/postgres?sslmode=require"),
            "postgresql://postgres:***@db.example.co:5432/postgres?sslmode=require"
        );
        assert_eq!(
            redact("postgresql://localhost/x"),
            "postgresql://localhost/x"
        );
    }
}
