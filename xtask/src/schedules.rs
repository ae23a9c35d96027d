//! The local stack's side of Supabase Cron (issue 17): the Vault secrets scheduled calls read
//! (`project_url`, `scheduled_call_secret`), the same secret for the functions
//! (`SCHEDULED_CALL_SECRET`), and the jobs as `cargo xtask status` shows them.

use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;

use anyhow::{Context, Result};
use postgres::Client;
use serde::Serialize;

use crate::infra::paths;
use sql::moha::operations::{VAULT_PROJECT_URL, VAULT_SCHEDULED_CALL_SECRET};

/// The functions' variable holding the scheduled-call secret.
pub const SECRET_VAR: &str = "SCHEDULED_CALL_SECRET";

/// 32 random bytes, hex (64 characters).
pub fn random_secret() -> Result<String> {
    let mut bytes = [0u8; 32];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("cannot read /dev/urandom")?;
    Ok(hex::encode(bytes))
}

/// The local stack's scheduled-call secret: `SCHEDULED_CALL_SECRET` from
/// `supabase/functions/.env` when set, else one made on first use and kept in
/// `.local/scheduled-call-secret` (owner-only).
pub fn local_secret() -> Result<String> {
    if let Some(v) = crate::function_env::function_secrets()?.get(SECRET_VAR) {
        return Ok(v.clone());
    }
    let path = paths::local_dir().join("scheduled-call-secret");
    if let Ok(v) = fs::read_to_string(&path) {
        if !v.trim().is_empty() {
            return Ok(v.trim().to_string());
        }
    }
    fs::create_dir_all(paths::local_dir())?;
    let secret = random_secret()?;
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

/// Creates or updates a Vault secret by name, as `postgres` would on hosted.
pub fn store_vault_secret(client: &mut Client, name: &str, value: &str) -> Result<()> {
    let existing = client.query_opt(
        "select id::text from vault.secrets where name = $1",
        &[&name],
    )?;
    let stored = match existing {
        Some(row) => {
            let id: String = row.get(0);
            client.query(
                "select vault.update_secret($1::text::uuid, $2)",
                &[&id, &value],
            )
        }
        None => client.query(
            "select vault.create_secret($1, $2, 'set by cargo xtask')",
            &[&value, &name],
        ),
    };
    stored.with_context(|| format!("cannot store the Vault secret {name}"))?;
    Ok(())
}

/// What the local stack's jobs need in Vault: the API URL the functions answer on, and the
/// scheduled-call secret.
pub fn store_local_secrets(db_url: &str, api_url: &str, secret: &str) -> Result<()> {
    let mut client = crate::infra::db::connect(db_url)?;
    store_vault_secret(&mut client, VAULT_PROJECT_URL, api_url)?;
    store_vault_secret(&mut client, VAULT_SCHEDULED_CALL_SECRET, secret)?;
    ensure_social_token_key(&mut client)
}

/// The key social accounts' tokens are encrypted with (`social_token_key`, issue 20): made once,
/// at random, and never replaced here, since a new key cannot read tokens stored under the old
/// one (rotating it re-encrypts them: docs/operations.md).
pub fn ensure_social_token_key(client: &mut Client) -> Result<()> {
    let name = sql::moha::social_tokens::VAULT_SOCIAL_TOKEN_KEY;
    let exists: bool = client
        .query_one(
            "select exists (select 1 from vault.secrets where name = $1)",
            &[&name],
        )?
        .get(0);
    if !exists {
        store_vault_secret(client, name, &random_secret()?)?;
    }
    Ok(())
}

/// One job as `status` shows it.
#[derive(Debug, Serialize)]
pub struct JobStatus {
    pub name: String,
    pub schedule: String,
    pub active: bool,
    pub last_start: Option<String>,
    pub last_status: Option<String>,
    pub last_message: Option<String>,
}

/// The jobs of `cron.job` with their last run; empty without pg_cron.
pub fn jobs(client: &mut Client) -> Result<Vec<JobStatus>> {
    let has_cron: bool = client
        .query_one(
            "select exists (select from pg_extension where extname = 'pg_cron')",
            &[],
        )?
        .get(0);
    if !has_cron {
        return Ok(Vec::new());
    }
    let rows = client.query(
        "select j.jobname::text, j.schedule, j.active,
                to_char(d.start_time at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC',
                d.status, d.return_message
           from cron.job j
           left join lateral (
             select r.start_time, r.status, r.return_message from cron.job_run_details r
              where r.jobid = j.jobid order by r.runid desc limit 1) d on true
          order by j.jobid",
        &[],
    )?;
    Ok(rows
        .iter()
        .map(|r| JobStatus {
            name: r.get::<_, Option<String>>(0).unwrap_or_default(),
            schedule: r.get(1),
            active: r.get(2),
            last_start: r.get(3),
            last_status: r.get(4),
            last_message: r.get(5),
        })
        .collect())
}

/// Failures the watch job wrote in the last 24 hours.
pub fn recent_failures(client: &mut Client) -> Result<i64> {
    Ok(client
        .query_one(
            "select count(*) from public.error_logs
              where service = 'schedule' and created_at > now() - interval '24 hours'",
            &[],
        )?
        .get(0))
}

/// The lines `cargo xtask status` prints about the schedules.
pub fn print(client: &mut Client) -> Result<()> {
    let jobs = jobs(client)?;
    if jobs.is_empty() {
        println!("jobs: none (pg_cron is not in this database)");
        return Ok(());
    }
    println!("jobs (Supabase Cron, UTC):");
    for j in &jobs {
        let last = match (&j.last_start, &j.last_status) {
            (Some(t), Some(s)) => {
                let msg = j.last_message.as_deref().unwrap_or("");
                let msg: String = msg.chars().take(60).collect();
                format!("last run {t}: {s} {msg}")
            }
            _ => "not run yet".into(),
        };
        println!(
            "  {:<24} {:<13} {}{}",
            j.name,
            j.schedule,
            if j.active { "" } else { "(inactive) " },
            last
        );
    }
    let failures = recent_failures(client)?;
    println!("scheduled-job failures in error_logs (24 h): {failures}");
    match crate::net_worker::running_pid() {
        Some(pid) => println!("pg_net worker: running (pid {pid})"),
        None => println!("pg_net worker: stopped (scheduled calls wait in net.http_request_queue)"),
    }
    Ok(())
}
