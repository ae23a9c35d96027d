//! The local stack's side of the `metrics` function (issue 21): its bearer secret, and a scrape
//! of it as Prometheus makes one.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::infra::paths;

/// The functions' variable holding the metrics bearer secret.
pub const SECRET_VAR: &str = "METRICS_SECRET";

/// The local stack's metrics secret: `METRICS_SECRET` from `supabase/functions/.env` when set,
/// else one made on first use and kept in `.local/metrics-secret` (owner-only).
pub fn local_secret() -> Result<String> {
    if let Some(v) = crate::function_env::function_secrets()?.get(SECRET_VAR) {
        return Ok(v.clone());
    }
    let path = secret_file();
    if let Ok(v) = fs::read_to_string(&path) {
        if !v.trim().is_empty() {
            return Ok(v.trim().to_string());
        }
    }
    fs::create_dir_all(paths::local_dir())?;
    let secret = crate::schedules::random_secret()?;
    fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .and_then(|mut f| f.write_all(secret.as_bytes()))
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(secret)
}

/// Where the local stack keeps its metrics secret (for Prometheus's `credentials_file`).
pub fn secret_file() -> std::path::PathBuf {
    paths::local_dir().join("metrics-secret")
}

/// `GET /functions/v1/metrics` on a local gateway with the bearer secret: the status and body.
pub fn scrape(port: u16, secret: &str) -> Result<(u16, String)> {
    let reply = crate::infra::http::Request::new("GET", "/functions/v1/metrics")
        .bearer(secret)
        .read_timeout(Duration::from_secs(60))
        .send(port)
        .with_context(|| format!("cannot connect to the gateway on 127.0.0.1:{port}"))?;
    let Some((head, body)) = reply.raw.split_once("\r\n\r\n") else {
        bail!("the gateway answered without a complete response");
    };
    let status = reply.status;
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        bail!("a chunked answer from the gateway, which sends whole bodies");
    }
    Ok((status, body.to_string()))
}
