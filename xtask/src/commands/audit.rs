//! `cargo xtask audit digest | verify`: tamper evidence for `public.audit_logs`, kept outside the
//! database.
//!
//! Nothing inside the database stops its owner from rewriting the audit log: `postgres` owns
//! `audit_logs`, so it can disable the `append_only` trigger, and on PostgreSQL 15 its CREATEROLE
//! lets it take any non-superuser role, so a different owner role would not stop it either; a hash
//! chain stored in the database could be recomputed by the same owner. What can be had is
//! detection: `digest` appends to a file outside the database a running hash over every audit row
//! up to an id, and `verify` recomputes the hash from the live rows and checks every stored digest.
//! The file has to live where the database owner cannot rewrite it (CI artifacts, the backup
//! manifests), otherwise the owner can rewrite both.
//!
//! The chain: `h_0 = sha256(GENESIS_TAG)`, `h_n = sha256(h_{n-1} || canonical(row_n))` over the
//! rows in id order ([`encode_row`] is the canonical form). Each digest continues the chain of the
//! previous digest in its file, so taking one reads only the rows added since; `verify` reads the
//! whole log once. A digest also stores intermediate checkpoints (every `--checkpoint-every`
//! rows), so a failure is narrowed to the id range between the last checkpoint that matches and
//! the first that does not. (The chain is sequential, so the first failing checkpoint is found by
//! one pass; there is nothing to gain from bisecting it.)

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use clap::Subcommand;
use postgres::{Client, Transaction};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest as _, Sha256};

use crate::commands::{deploy, stack};
use crate::infra::{db, paths};

/// The table the digests cover.
pub const TABLE: &str = "public.audit_logs";
/// Version of the digest file's records and of the canonical encoding.
pub const FORMAT: u32 = 1;
/// Hashed to make `h_0`, so a chain of this format cannot be confused with any other hash.
pub const GENESIS_TAG: &[u8] = b"moha-interiors public.audit_logs digest chain v1";
/// Rows fetched per round trip while streaming the log.
const FETCH_ROWS: i32 = 1000;
/// Session advisory lock key that serialises digests of one database ("mohaaudt").
const DIGEST_LOCK: i64 = 0x6d6f_6861_6175_6474;
/// How often to look again whether the writers a digest waits for have finished.
const POLL: Duration = Duration::from_millis(100);

/// Session settings that fix PostgreSQL's text output of every type, so the canonical form of a
/// row does not depend on the client's or the server's defaults.
const PINNED_SETTINGS: &str = "set local timezone = 'UTC'; \
     set local datestyle = 'ISO, YMD'; \
     set local intervalstyle = 'postgres'; \
     set local extra_float_digits = 1; \
     set local bytea_output = 'hex'; \
     set local lc_monetary = 'C'; \
     set local statement_timeout = 0";

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Append a digest of public.audit_logs (a running SHA-256 over every row up to an id) to a
    /// file outside the database. Read-only: one repeatable-read transaction that streams the
    /// rows added since the file's last digest; audited writes are never blocked. Take one
    /// periodically (e.g. hourly, and before every deploy or backup) and keep the file where
    /// the database owner cannot change it.
    Digest(DigestArgs),
    /// Recompute the hash of the live public.audit_logs and check it against every digest of a
    /// digest file; on a mismatch, name the first digest that fails and the narrowest id range
    /// its checkpoints allow, and exit with status 2.
    Verify(VerifyArgs),
}

/// Which database: `--db-url`, or `--env`, or $SUPABASE_DB_URL / $DATABASE_URL, or the local
/// stack.
#[derive(clap::Args)]
pub struct TargetArgs {
    /// Database URL, as a role that reads every audit row (the owner, postgres); defaults to
    /// $SUPABASE_DB_URL, then $DATABASE_URL, then the local stack. Use the direct or session
    /// connection (port 5432), not the transaction pooler.
    #[arg(long, value_name = "URL", conflicts_with = "env")]
    pub db_url: Option<String>,
    /// Environment of supabase/environments.toml (dev, staging, production): the URL is read
    /// from the variable the environment names, as `cargo xtask deploy` does.
    #[arg(long = "env", value_name = "NAME")]
    pub env: Option<String>,
}

#[derive(clap::Args)]
pub struct DigestArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Digest file to append to (JSON Lines, one digest a line); default
    /// .local/audit-digests/<env, `local`, or host_port_database>.jsonl. For a hosted project,
    /// keep it with the backup manifests or as a CI artifact, out of the database owner's reach.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Store an intermediate checkpoint every N rows, so `verify` can narrow a mismatch to N
    /// rows.
    #[arg(long, value_name = "N", default_value_t = 1000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub checkpoint_every: u64,
    /// Seconds to wait for open transactions that may still commit audit rows with ids the
    /// digest would cover, before giving up.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub max_wait: u64,
    /// Print the appended digest as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Digest file to check; the same default as `audit digest --out`.
    #[arg(long, value_name = "FILE")]
    pub digests: Option<PathBuf>,
    /// Check digests that were taken on another database (e.g. the live log of a restored
    /// copy); refused by default, so a wrong file is not reported as tampering.
    #[arg(long)]
    pub allow_other_database: bool,
    /// Print the report as JSON (also on a mismatch).
    #[arg(long)]
    pub json: bool,
}

/// The database a digest was taken on: enough to refuse checking one database's digests against
/// another, never a credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DbIdentity {
    /// `current_database()`.
    pub name: String,
    /// The database's oid (changes when the database is recreated or restored elsewhere).
    pub oid: i64,
    /// The cluster's system identifier, when the role may read it (`pg_control_system()`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_identifier: Option<String>,
    /// `host:port` of the URL (no user, no password).
    pub server: String,
}

impl DbIdentity {
    /// The same database: name and oid, and the cluster when both sides know it. The server
    /// address is not compared, since one database can be reached by several names.
    pub fn same_database(&self, other: &DbIdentity) -> bool {
        self.name == other.name
            && self.oid == other.oid
            && match (&self.system_identifier, &other.system_identifier) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            }
    }

    fn describe(&self) -> String {
        format!("`{}` (oid {}) on {}", self.name, self.oid, self.server)
    }
}

/// One line of a digest file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DigestRecord {
    pub format: u32,
    pub table: String,
    /// The snapshot's time, UTC, from the database's clock.
    pub taken_at: String,
    pub database: DbIdentity,
    /// The columns [`encode_row`] encodes, in order (the table's columns when the digest was
    /// taken; a column added later is covered from the next digest on).
    pub columns: Vec<String>,
    /// The previous digest's `up_to_id` (this one continues its chain); null for the first.
    pub after_id: Option<i64>,
    /// Every row with `id <= up_to_id` is covered.
    pub up_to_id: i64,
    /// Rows covered by the chain up to `up_to_id`, all digests so far.
    pub rows: u64,
    /// `h_rows`, hex.
    pub hash: String,
    /// Intermediate states inside `(after_id, up_to_id]`, in id order.
    pub checkpoints: Vec<Checkpoint>,
}

/// The chain's state after the row with id `up_to_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    pub up_to_id: i64,
    pub rows: u64,
    pub hash: String,
}

// -------------------------------------------------------------------------------------------------
// Pure logic: the canonical encoding, the chain, building and checking digests.

/// Appends `canonical(row)` to `out`: for each column, in `columns` order, the name's length (u64
/// big-endian) and bytes, then `0` for null, or `1`, the value's length (u64 big-endian) and its
/// bytes, the value being PostgreSQL's text output under [`PINNED_SETTINGS`]. Every part is
/// length-prefixed, so two different rows never encode the same.
pub fn encode_row(out: &mut Vec<u8>, columns: &[String], values: &[Option<&str>]) {
    assert_eq!(columns.len(), values.len(), "one value per column");
    for (name, value) in columns.iter().zip(values) {
        encode_field(out, name, *value);
    }
}

/// One column of [`encode_row`].
fn encode_field(out: &mut Vec<u8>, name: &str, value: Option<&str>) {
    out.extend_from_slice(&(name.len() as u64).to_be_bytes());
    out.extend_from_slice(name.as_bytes());
    match value {
        None => out.push(0),
        Some(v) => {
            out.push(1);
            out.extend_from_slice(&(v.len() as u64).to_be_bytes());
            out.extend_from_slice(v.as_bytes());
        }
    }
}

/// The running hash and the number of rows it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    pub hash: [u8; 32],
    pub rows: u64,
}

impl Chain {
    /// `h_0`.
    pub fn genesis() -> Chain {
        Chain {
            hash: Sha256::digest(GENESIS_TAG).into(),
            rows: 0,
        }
    }

    /// Resumes from a stored state.
    pub fn resume(hash_hex: &str, rows: u64) -> Result<Chain> {
        let bytes = hex::decode(hash_hex).with_context(|| format!("invalid hash {hash_hex:?}"))?;
        let hash = bytes
            .try_into()
            .map_err(|_| anyhow!("invalid hash {hash_hex:?}: not 32 bytes"))?;
        Ok(Chain { hash, rows })
    }

    /// `h_n = sha256(h_{n-1} || canonical(row_n))`.
    pub fn push(&mut self, canonical: &[u8]) {
        let mut h = Sha256::new();
        h.update(self.hash);
        h.update(canonical);
        self.hash = h.finalize().into();
        self.rows += 1;
    }

    pub fn hex(&self) -> String {
        hex::encode(self.hash)
    }
}

/// Builds the next digest from the previous one's state and the rows after it, in id order.
pub struct Builder {
    columns: Vec<String>,
    chain: Chain,
    every: u64,
    since_checkpoint: u64,
    last_id: Option<i64>,
    checkpoints: Vec<Checkpoint>,
    buf: Vec<u8>,
}

impl Builder {
    pub fn new(columns: Vec<String>, start: Chain, checkpoint_every: u64) -> Builder {
        Builder {
            columns,
            chain: start,
            every: checkpoint_every.max(1),
            since_checkpoint: 0,
            last_id: None,
            checkpoints: Vec::new(),
            buf: Vec::new(),
        }
    }

    /// Adds the row `id` (its values in the builder's column order). Ids must increase.
    pub fn push(&mut self, id: i64, values: &[Option<&str>]) {
        assert!(
            !matches!(self.last_id, Some(last) if last >= id),
            "rows in id order"
        );
        self.buf.clear();
        encode_row(&mut self.buf, &self.columns, values);
        self.chain.push(&self.buf);
        self.last_id = Some(id);
        self.since_checkpoint += 1;
        if self.since_checkpoint == self.every {
            self.since_checkpoint = 0;
            self.checkpoints.push(Checkpoint {
                up_to_id: id,
                rows: self.chain.rows,
                hash: self.chain.hex(),
            });
        }
    }

    /// The chain's final state (covering ids up to `up_to_id`) and the checkpoints before it.
    pub fn finish(mut self, up_to_id: i64) -> (Chain, Vec<Checkpoint>) {
        // A checkpoint on the last row says what the digest itself says.
        if self
            .checkpoints
            .last()
            .is_some_and(|c| c.rows == self.chain.rows)
        {
            self.checkpoints.pop();
        }
        debug_assert!(!matches!(self.last_id, Some(id) if id > up_to_id));
        (self.chain, self.checkpoints)
    }
}

/// Checks that the records of a file form one chain: formats, table, each continuing the previous
/// one, checkpoints in range and in order.
pub fn check_records(records: &[DigestRecord]) -> Result<()> {
    let mut prev: Option<&DigestRecord> = None;
    for (i, r) in records.iter().enumerate() {
        let n = i + 1;
        if r.format != FORMAT {
            bail!(
                "digest {n} has format {}, this tool reads {FORMAT}",
                r.format
            );
        }
        if r.table != TABLE {
            bail!("digest {n} covers {}, not {TABLE}", r.table);
        }
        if !r.columns.iter().any(|c| c == "id") {
            bail!("digest {n} does not encode the id column");
        }
        Chain::resume(&r.hash, r.rows).with_context(|| format!("digest {n}"))?;
        let expected_after = prev.map(|p| p.up_to_id);
        if r.after_id != expected_after {
            bail!(
                "digest {n} continues the chain after id {}, but the digest before it ends at {} \
                 (digests were removed, reordered or merged from two files)",
                show_id(r.after_id),
                show_id(expected_after)
            );
        }
        if let Some(p) = prev {
            if r.rows < p.rows {
                bail!(
                    "digest {n} covers fewer rows ({}) than digest {i} ({})",
                    r.rows,
                    p.rows
                );
            }
        }
        let mut low = r.after_id;
        let mut rows = prev.map_or(0, |p| p.rows);
        for c in &r.checkpoints {
            Chain::resume(&c.hash, c.rows).with_context(|| format!("digest {n}"))?;
            if low.is_some_and(|l| c.up_to_id <= l) || c.up_to_id > r.up_to_id || c.rows < rows {
                bail!(
                    "digest {n} has a checkpoint out of order (id {})",
                    c.up_to_id
                );
            }
            low = Some(c.up_to_id);
            rows = c.rows;
        }
        if r.after_id.is_some_and(|a| r.up_to_id < a) || r.rows < rows {
            bail!("digest {n} ends before it starts (id {})", r.up_to_id);
        }
        prev = Some(r);
    }
    Ok(())
}

/// Where the live log first differs from a digest file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    /// 1-based number of the failing digest in its file.
    pub digest: usize,
    pub taken_at: String,
    /// The difference is among the ids in `(after_id, up_to_id]` (after_id null: from the start).
    pub after_id: Option<i64>,
    pub up_to_id: i64,
    /// Rows the chain covered at `up_to_id`: as digested, and as found now.
    pub expected_rows: u64,
    pub found_rows: u64,
    pub expected_hash: String,
    pub found_hash: String,
    /// Whether `up_to_id` is the digest's own end (else an intermediate checkpoint).
    pub at_digest_end: bool,
}

impl Mismatch {
    pub fn kind(&self) -> String {
        let (e, f) = (self.expected_rows, self.found_rows);
        match f.cmp(&e) {
            std::cmp::Ordering::Less => format!(
                "{} row{} fewer than digested: deleted",
                e - f,
                if e - f == 1 { "" } else { "s" }
            ),
            std::cmp::Ordering::Greater => format!(
                "{} row{} more than digested: inserted afterwards under an old id",
                f - e,
                if f - e == 1 { "" } else { "s" }
            ),
            std::cmp::Ordering::Equal => {
                "as many rows as digested, different content: edited or replaced".into()
            }
        }
    }

    pub fn range(&self) -> String {
        match self.after_id {
            Some(a) => format!("ids {}..={}", a.saturating_add(1), self.up_to_id),
            None => format!("ids ..={}", self.up_to_id),
        }
    }
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the audit log does not match digest {} (taken {}): the first difference is among \
             {} ({}); expected {} rows with hash {}, found {} with hash {}",
            self.digest,
            self.taken_at,
            self.range(),
            self.kind(),
            self.expected_rows,
            short(&self.expected_hash),
            self.found_rows,
            short(&self.found_hash)
        )
    }
}

impl std::error::Error for Mismatch {}

/// One state a digest file promises: after the row `up_to_id`, `rows` rows and `hash`.
#[derive(Debug, Clone)]
struct Boundary {
    digest: usize,
    up_to_id: i64,
    rows: u64,
    hash: String,
    at_digest_end: bool,
}

/// Replays the live rows (in id order, up to the last digest's `up_to_id`) against a file's
/// digests and stops at the first state that differs.
pub struct Verifier<'a> {
    records: &'a [DigestRecord],
    boundaries: Vec<Boundary>,
    next: usize,
    /// Every column any digest encodes, in first-seen order: what to select.
    columns: Vec<String>,
    /// For each digest, the position in `columns` of each of its columns.
    picks: Vec<Vec<usize>>,
    chain: Chain,
    last_matched: Option<i64>,
    buf: Vec<u8>,
}

impl<'a> Verifier<'a> {
    /// `records` must have passed [`check_records`].
    pub fn new(records: &'a [DigestRecord]) -> Verifier<'a> {
        let mut columns: Vec<String> = Vec::new();
        let mut picks = Vec::new();
        let mut boundaries = Vec::new();
        for (i, r) in records.iter().enumerate() {
            let pick = r
                .columns
                .iter()
                .map(|c| match columns.iter().position(|k| k == c) {
                    Some(p) => p,
                    None => {
                        columns.push(c.clone());
                        columns.len() - 1
                    }
                })
                .collect();
            picks.push(pick);
            for c in &r.checkpoints {
                boundaries.push(Boundary {
                    digest: i + 1,
                    up_to_id: c.up_to_id,
                    rows: c.rows,
                    hash: c.hash.clone(),
                    at_digest_end: false,
                });
            }
            boundaries.push(Boundary {
                digest: i + 1,
                up_to_id: r.up_to_id,
                rows: r.rows,
                hash: r.hash.clone(),
                at_digest_end: true,
            });
        }
        Verifier {
            records,
            boundaries,
            next: 0,
            columns,
            picks,
            chain: Chain::genesis(),
            last_matched: None,
            buf: Vec::new(),
        }
    }

    /// The columns to select, in the order [`Verifier::push`] expects their values.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The highest id any digest covers (None: the file has no digest).
    pub fn up_to_id(&self) -> Option<i64> {
        self.boundaries.last().map(|b| b.up_to_id)
    }

    /// Feeds the live row `id` (values in [`Verifier::columns`] order); rows must come in id
    /// order and only up to [`Verifier::up_to_id`].
    pub fn push(&mut self, id: i64, values: &[Option<&str>]) -> Result<(), Box<Mismatch>> {
        self.settle(|b| b.up_to_id < id)?;
        let Some(b) = self.boundaries.get(self.next) else {
            return Ok(()); // beyond every digest: not covered
        };
        let record = &self.records[b.digest - 1];
        self.buf.clear();
        for (name, &p) in record.columns.iter().zip(&self.picks[b.digest - 1]) {
            encode_field(&mut self.buf, name, values[p]);
        }
        self.chain.push(&self.buf);
        Ok(())
    }

    /// After the last row: checks the remaining states. Returns the chain that matched the last
    /// digest.
    pub fn finish(mut self) -> Result<Chain, Box<Mismatch>> {
        self.settle(|_| true)?;
        Ok(self.chain)
    }

    fn settle(&mut self, due: impl Fn(&Boundary) -> bool) -> Result<(), Box<Mismatch>> {
        while let Some(b) = self.boundaries.get(self.next) {
            if !due(b) {
                break;
            }
            if self.chain.rows != b.rows || self.chain.hex() != b.hash {
                return Err(Box::new(Mismatch {
                    digest: b.digest,
                    taken_at: self.records[b.digest - 1].taken_at.clone(),
                    after_id: self.last_matched,
                    up_to_id: b.up_to_id,
                    expected_rows: b.rows,
                    found_rows: self.chain.rows,
                    expected_hash: b.hash.clone(),
                    found_hash: self.chain.hex(),
                    at_digest_end: b.at_digest_end,
                }));
            }
            self.last_matched = Some(b.up_to_id);
            self.next += 1;
        }
        Ok(())
    }
}

/// Parses a digest file's text (JSON Lines; blank lines ignored).
pub fn parse_records(text: &str, file: &Path) -> Result<Vec<DigestRecord>> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l)
                .with_context(|| format!("{} line {}: not a digest record", file.display(), i + 1))
        })
        .collect()
}

/// The default digest file's name for a target: letters, digits, `.`, `_` and `-` only.
pub fn file_label(raw: &str) -> String {
    let s: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() {
        "default".into()
    } else {
        s
    }
}

/// `host:port` of a URL, for the digest's identity and the default file name (no credentials).
pub fn server_of(url: &str) -> Result<(String, u16, String)> {
    let config = postgres::Config::from_str(url)
        .with_context(|| format!("invalid database URL {}", db::redact(url)))?;
    let host = match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let dbname = config
        .get_dbname()
        .map(str::to_string)
        .or_else(|| config.get_user().map(str::to_string))
        .unwrap_or_else(|| "postgres".into());
    Ok((host, port, dbname))
}

fn show_id(id: Option<i64>) -> String {
    id.map_or_else(|| "none (the start)".into(), |i| i.to_string())
}

fn short(hash: &str) -> &str {
    hash.get(..16).unwrap_or(hash)
}

// -------------------------------------------------------------------------------------------------
// The commands.

/// The command's entry point.
pub fn run(cmd: AuditCommand) -> Result<()> {
    match cmd {
        AuditCommand::Digest(args) => digest(&args),
        AuditCommand::Verify(args) => verify(&args),
    }
}

/// A resolved target: its URL (never printed unredacted) and the default file's label.
struct Target {
    url: String,
    label: String,
}

fn resolve(args: &TargetArgs) -> Result<Target> {
    if let Some(url) = &args.db_url {
        return Ok(Target {
            label: url_label(url)?,
            url: url.clone(),
        });
    }
    if let Some(name) = &args.env {
        return Ok(Target {
            url: env_url(name)?,
            label: file_label(name),
        });
    }
    for var in ["SUPABASE_DB_URL", "DATABASE_URL"] {
        if let Ok(url) = std::env::var(var) {
            if !url.trim().is_empty() {
                return Ok(Target {
                    label: url_label(&url)?,
                    url,
                });
            }
        }
    }
    Ok(Target {
        url: stack::ensure_running_url()?,
        label: "local".into(),
    })
}

fn url_label(url: &str) -> Result<String> {
    let (host, port, dbname) = server_of(url)?;
    Ok(file_label(&format!("{host}_{port}_{dbname}")))
}

/// The URL of an environment of supabase/environments.toml, from the variable it names.
pub fn env_url(name: &str) -> Result<String> {
    let file = paths::supabase_dir().join("environments.toml");
    let envs = deploy::load_environments(&file)?;
    let Some(env) = envs.get(name) else {
        bail!(
            "unknown environment `{name}`; choose one of {} ({})",
            envs.keys().cloned().collect::<Vec<_>>().join(", "),
            file.display()
        );
    };
    let url = match std::env::var(&env.db_url_env) {
        Ok(url) if !url.trim().is_empty() => url,
        _ => bail!(
            "{} is not set; export the direct or session connection string of {name} (the same \
             variable `cargo xtask deploy --env {name}` reads)",
            env.db_url_env
        ),
    };
    if !env.db_host.is_empty() {
        let (host, _, _) = server_of(&url)?;
        if host != env.db_host {
            bail!(
                "{} points at {host} but {name} is {} ({}); is it another environment's URL?",
                env.db_url_env,
                env.db_host,
                file.display()
            );
        }
    }
    Ok(url)
}

fn default_file(label: &str) -> PathBuf {
    paths::local_dir()
        .join("audit-digests")
        .join(format!("{label}.jsonl"))
}

fn identity(client: &mut Client, url: &str) -> Result<DbIdentity> {
    let row = client
        .query_one(
            "select pg_catalog.current_database()::text, d.oid::bigint, \
               case when pg_catalog.has_function_privilege('pg_catalog.pg_control_system()', 'execute') \
                 then (select c.system_identifier::text from pg_catalog.pg_control_system() c) end \
               from pg_catalog.pg_database d where d.datname = pg_catalog.current_database()",
            &[],
        )
        .context("reading the database's identity")?;
    let (host, port, _) = server_of(url)?;
    Ok(DbIdentity {
        name: row.get(0),
        oid: row.get(1),
        system_identifier: row.get(2),
        server: format!("{host}:{port}"),
    })
}

/// Refuses a role for which row-level security hides audit rows: its digest would silently
/// cover only what it may see.
fn check_reads_everything(client: &mut Client) -> Result<()> {
    let filtered: bool = client
        .query_one(
            "select pg_catalog.row_security_active('public.audit_logs'::regclass)",
            &[],
        )
        .context("reading public.audit_logs (is the schema migrated?)")?
        .get(0);
    if filtered {
        bail!(
            "row-level security filters {TABLE} for this role, so a digest would cover only the \
             rows it may see; connect as the table's owner (postgres) or a BYPASSRLS role"
        );
    }
    Ok(())
}

/// The file's records, or none when it does not exist yet.
fn read_records(file: &mut File, path: &Path) -> Result<Vec<DigestRecord>> {
    let mut text = String::new();
    for line in BufReader::new(&mut *file).lines() {
        let line = line.with_context(|| format!("cannot read {}", path.display()))?;
        text.push_str(&line);
        text.push('\n');
    }
    let records = parse_records(&text, path)?;
    check_records(&records)
        .with_context(|| format!("{} is not a valid digest file", path.display()))?;
    Ok(records)
}

/// Opens a transaction that reads one consistent snapshot and writes nothing, with the text
/// output of every type pinned.
fn snapshot(client: &mut Client) -> Result<Transaction<'_>> {
    let mut tx = client
        .build_transaction()
        .isolation_level(postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()?;
    tx.batch_execute(PINNED_SETTINGS)?;
    Ok(tx)
}

/// The table's columns, in order.
fn live_columns(tx: &mut Transaction<'_>) -> Result<Vec<String>> {
    let rows = tx.query(
        "select a.attname::text from pg_catalog.pg_attribute a \
          where a.attrelid = 'public.audit_logs'::regclass and a.attnum > 0 and not a.attisdropped \
          order by a.attnum",
        &[],
    )?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// `select a.id::bigint, a.<col>::text, ... from public.audit_logs a where <filter> order by
/// a.id`: the primary key's index, in order, nothing sorted in memory.
fn select_rows(columns: &[String], filter: &str) -> Result<String> {
    let list = columns
        .iter()
        .map(|c| Ok(format!("a.{}::text", sql::quote::ident(c)?)))
        .collect::<Result<Vec<_>>>()?;
    Ok(format!(
        "select a.id::bigint, {} from public.audit_logs a where {filter} order by a.id",
        list.join(", ")
    ))
}

/// Streams the rows of `query` (bound to `params`) in batches, calling `each` with the id and the
/// text values; `each` may stop the scan by returning `false`.
fn stream(
    tx: &mut Transaction<'_>,
    query: &str,
    params: &[&(dyn postgres::types::ToSql + Sync)],
    mut each: impl FnMut(i64, &[Option<&str>]) -> bool,
) -> Result<()> {
    let statement = tx.prepare(query)?;
    let portal = tx.bind(&statement, params)?;
    loop {
        let rows = tx.query_portal(&portal, FETCH_ROWS)?;
        let mut values: Vec<Option<&str>> = Vec::new();
        for row in &rows {
            values.clear();
            for i in 1..row.len() {
                values.push(row.get(i));
            }
            if !each(row.get(0), &values) {
                return Ok(());
            }
        }
        if rows.len() < FETCH_ROWS as usize {
            return Ok(());
        }
    }
}

/// The highest id a digest may cover now, once every transaction that could still commit a row
/// at or below it has ended.
///
/// Ids come from the identity sequence when a row is inserted, but rows become visible when their
/// transaction commits, so a transaction holding id 99 can commit after the one holding id 100.
/// A digest up to 100 taken in between would leave 99 out for good, and `verify` would report 99
/// as forged once it commits. So:
///
/// 1. In a statement of its own, read `frontier = max(id)` of the committed rows.
/// 2. In a later statement, list the transactions holding a write lock on `audit_logs`. Every
///    insert takes RowExclusiveLock on the table before it evaluates the id default (the lock is
///    taken when the statement is parsed or its plan revalidated, and COPY takes it before
///    reading) and keeps it until the transaction ends. Any transaction that drew an id below
///    `frontier` drew it before step 1 (the sequence only grows), so if it has not ended, it is
///    in this list.
/// 3. Wait, without taking any lock, until each of them has ended (it left pg_locks). Afterwards
///    every id `<= frontier` is committed or gone for good, so a snapshot taken now sees the
///    final set of rows up to `frontier`; transactions that start later draw ids above it.
///
/// This holds while the sequence hands out ids in order across sessions (`cache 1`, checked) and
/// nobody inserts with `overriding system value` (which is the forgery `verify` reports when it
/// lands below a digest). Writers are never blocked: reading pg_locks takes no lock on the table.
fn settled_frontier(client: &mut Client, max_wait: Duration) -> Result<i64> {
    let cache: Option<i64> = client
        .query_one(
            "select (select s.seqcache from pg_catalog.pg_sequence s \
                      where s.seqrelid = pg_catalog.pg_get_serial_sequence('public.audit_logs', 'id')::regclass)",
            &[],
        )?
        .get(0);
    match cache {
        Some(1) => {}
        Some(n) => bail!(
            "the sequence of {TABLE}.id caches {n} values per session, so ids are not handed out \
             in order across sessions and no id is safe to digest up to; set `cache 1`"
        ),
        None => bail!("{TABLE}.id has no sequence; digests rely on its ids being drawn in order"),
    }
    let frontier: i64 = client
        .query_one(
            "select coalesce(max(id), 0)::bigint from public.audit_logs",
            &[],
        )?
        .get(0);
    const WRITERS: &str = "from pg_catalog.pg_locks l \
         where l.locktype = 'relation' \
           and l.database = (select d.oid from pg_catalog.pg_database d \
                              where d.datname = pg_catalog.current_database()) \
           and l.relation = 'public.audit_logs'::regclass \
           and l.pid is distinct from pg_catalog.pg_backend_pid() \
           and l.mode in ('RowExclusiveLock', 'ShareRowExclusiveLock', 'ExclusiveLock', \
                          'AccessExclusiveLock')";
    let writers: Vec<String> = client
        .query_one(
            &format!("select coalesce(array_agg(distinct l.virtualtransaction), '{{}}') {WRITERS}"),
            &[],
        )?
        .get(0);
    if writers.is_empty() {
        return Ok(frontier);
    }
    let started = Instant::now();
    let mut announced = false;
    loop {
        let pids: Vec<i32> = client
            .query_one(
                &format!(
                    "select coalesce(array_agg(distinct coalesce(l.pid, 0)), '{{}}') {WRITERS} \
                       and l.virtualtransaction = any($1)"
                ),
                &[&writers],
            )?
            .get(0);
        if pids.is_empty() {
            return Ok(frontier);
        }
        if started.elapsed() >= max_wait {
            bail!(
                "after {}s, transactions that were writing {TABLE} when the digest started are \
                 still open (backend pids {}; 0 is a prepared transaction); they may still commit \
                 rows with ids up to {frontier}, so no digest was taken. End them or retry, or \
                 wait longer (--max-wait)",
                max_wait.as_secs(),
                pids.iter()
                    .map(i32::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        if !announced && started.elapsed() >= Duration::from_secs(1) {
            eprintln!(
                "waiting for {} open transaction(s) writing {TABLE} (pids {:?}) to end ...",
                pids.len(),
                pids
            );
            announced = true;
        }
        std::thread::sleep(POLL);
    }
}

fn digest(args: &DigestArgs) -> Result<()> {
    let target = resolve(&args.target)?;
    let path = args
        .out
        .clone()
        .unwrap_or_else(|| default_file(&target.label));
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut client = db::connect(&target.url)?;
    // One digest of a database at a time: two would both continue the same previous digest.
    // A session advisory lock: it takes no lock on audit_logs and ends with the connection.
    client.execute("select pg_catalog.pg_advisory_lock($1)", &[&DIGEST_LOCK])?;
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    let records = read_records(&mut file, &path)?;
    let prev = records.last();
    let identity = identity(&mut client, &target.url)?;
    if let Some(p) = prev {
        if !p.database.same_database(&identity) {
            bail!(
                "{} holds digests of another database ({}), not of {} ({}); pass --out to start a \
                 file for this one",
                path.display(),
                p.database.describe(),
                identity.describe(),
                db::redact(&target.url)
            );
        }
    }
    check_reads_everything(&mut client)?;
    let frontier = settled_frontier(&mut client, Duration::from_secs(args.max_wait))?;
    // Rows deleted at the tail since the last digest must not move the end backwards.
    let up_to_id = prev.map_or(frontier, |p| frontier.max(p.up_to_id));

    let mut tx = snapshot(&mut client)?;
    let taken_at: String = tx
        .query_one(
            "select pg_catalog.to_char(pg_catalog.transaction_timestamp() at time zone 'UTC', \
               'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
            &[],
        )?
        .get(0);
    let columns = live_columns(&mut tx)?;
    if !columns.iter().any(|c| c == "id") {
        bail!("{TABLE} has no id column");
    }
    let start = match prev {
        Some(p) => Chain::resume(&p.hash, p.rows)?,
        None => Chain::genesis(),
    };
    let mut builder = Builder::new(columns.clone(), start, args.checkpoint_every);
    match prev {
        Some(p) => stream(
            &mut tx,
            &select_rows(&columns, "a.id > $1 and a.id <= $2")?,
            &[&p.up_to_id, &up_to_id],
            |id, v| {
                builder.push(id, v);
                true
            },
        )?,
        None => stream(
            &mut tx,
            &select_rows(&columns, "a.id <= $1")?,
            &[&up_to_id],
            |id, v| {
                builder.push(id, v);
                true
            },
        )?,
    }
    tx.commit()?;
    let (chain, checkpoints) = builder.finish(up_to_id);
    let record = DigestRecord {
        format: FORMAT,
        table: TABLE.into(),
        taken_at,
        database: identity,
        columns,
        after_id: prev.map(|p| p.up_to_id),
        up_to_id,
        rows: chain.rows,
        hash: chain.hex(),
        checkpoints,
    };
    let mut line = serde_json::to_string(&record)?;
    line.push('\n');
    // Another machine may have appended meanwhile (the advisory lock covers one database, not
    // one file): never fork the chain.
    let now = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    if parse_records(&now, &path)?.len() != records.len() {
        bail!(
            "another digest was appended to {} meanwhile; nothing written, run again",
            path.display()
        );
    }
    file.write_all(line.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    let number = records.len() + 1;
    if args.json {
        let mut out = serde_json::to_value(&record)?;
        out["digest"] = json!(number);
        out["file"] = json!(path.display().to_string());
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        let new_rows = record.rows - prev.map_or(0, |p| p.rows);
        println!(
            "digest {number} appended to {}: {TABLE} of {} up to id {} ({} rows, {} new), \
             sha256 chain {}, {} checkpoint(s), taken {}",
            path.display(),
            db::redact(&target.url),
            record.up_to_id,
            record.rows,
            new_rows,
            record.hash,
            record.checkpoints.len(),
            record.taken_at
        );
        println!(
            "keep this file where the database owner cannot rewrite it (CI artifacts, backup \
             manifests); check it with `cargo xtask audit verify --digests {}`",
            path.display()
        );
    }
    Ok(())
}

fn verify(args: &VerifyArgs) -> Result<()> {
    let target = resolve(&args.target)?;
    let path = args
        .digests
        .clone()
        .unwrap_or_else(|| default_file(&target.label));
    let mut file =
        File::open(&path).with_context(|| format!("cannot read digests {}", path.display()))?;
    let records = read_records(&mut file, &path)?;
    drop(file);
    let Some(last) = records.last() else {
        bail!(
            "{} holds no digest; take one with `cargo xtask audit digest`",
            path.display()
        );
    };

    let mut client = db::connect(&target.url)?;
    let identity = identity(&mut client, &target.url)?;
    if !args.allow_other_database {
        if let Some((i, r)) = records
            .iter()
            .enumerate()
            .find(|(_, r)| !r.database.same_database(&identity))
        {
            bail!(
                "digest {} of {} was taken on another database, {}, not this one, {} ({}); pass \
                 the digests of this database, or --allow-other-database to check a restored copy",
                i + 1,
                path.display(),
                r.database.describe(),
                identity.describe(),
                db::redact(&target.url)
            );
        }
    }
    check_reads_everything(&mut client)?;

    let mut tx = snapshot(&mut client)?;
    let live: BTreeMap<String, ()> = live_columns(&mut tx)?
        .into_iter()
        .map(|c| (c, ()))
        .collect();
    let mut verifier = Verifier::new(&records);
    if let Some(missing) = verifier.columns().iter().find(|c| !live.contains_key(*c)) {
        bail!(
            "{} encodes the column {missing}, which {TABLE} no longer has; the digests cannot be \
             checked against this schema",
            path.display()
        );
    }
    let columns = verifier.columns().to_vec();
    let mut mismatch = None;
    stream(
        &mut tx,
        &select_rows(&columns, "a.id <= $1")?,
        &[&last.up_to_id],
        |id, v| match verifier.push(id, v) {
            Ok(()) => true,
            Err(m) => {
                mismatch = Some(m);
                false
            }
        },
    )?;
    let result = match mismatch {
        Some(m) => Err(m),
        None => verifier.finish(),
    };
    let uncovered: i64 = tx
        .query_one(
            "select count(*) from public.audit_logs where id > $1",
            &[&last.up_to_id],
        )?
        .get(0);
    tx.commit()?;

    match result {
        Ok(chain) => {
            if args.json {
                let out = json!({
                    "ok": true,
                    "file": path.display().to_string(),
                    "database": identity,
                    "digests": records.len(),
                    "up_to_id": last.up_to_id,
                    "rows": chain.rows,
                    "hash": chain.hex(),
                    "last_taken_at": last.taken_at,
                    "uncovered_rows": uncovered,
                });
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                println!(
                    "verified {} digest{} of {} against {}: {TABLE} up to id {} ({} rows, sha256 \
                     chain {}) is as digested, the last digest taken {}",
                    records.len(),
                    if records.len() == 1 { "" } else { "s" },
                    path.display(),
                    db::redact(&target.url),
                    last.up_to_id,
                    chain.rows,
                    chain.hex(),
                    last.taken_at
                );
                if uncovered > 0 {
                    println!(
                        "{uncovered} row(s) after id {} are not covered by a digest yet (cargo \
                         xtask audit digest)",
                        last.up_to_id
                    );
                }
            }
            Ok(())
        }
        Err(m) => {
            if args.json {
                let mut failure = serde_json::to_value(&m)?;
                failure["range"] = json!(m.range());
                failure["reason"] = json!(m.kind());
                let out = json!({
                    "ok": false,
                    "file": path.display().to_string(),
                    "database": identity,
                    "digests": records.len(),
                    "failure": failure,
                    "uncovered_rows": uncovered,
                });
                println!("{}", serde_json::to_string_pretty(&out)?);
            }
            Err(anyhow::Error::new(*m)).with_context(|| {
                format!(
                    "verifying {} against {}",
                    path.display(),
                    db::redact(&target.url)
                )
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn enc(columns: &[&str], values: &[Option<&str>]) -> Vec<u8> {
        let mut out = Vec::new();
        encode_row(&mut out, &cols(columns), values);
        out
    }

    #[test]
    fn the_encoding_is_injective_on_the_usual_suspects() {
        // Boundaries between values, null against empty, and the column's name all count.
        assert_ne!(
            enc(&["a", "b"], &[Some("xy"), Some("z")]),
            enc(&["a", "b"], &[Some("x"), Some("yz")])
        );
        assert_ne!(enc(&["a"], &[None]), enc(&["a"], &[Some("")]));
        assert_ne!(enc(&["a"], &[Some("1")]), enc(&["b"], &[Some("1")]));
        assert_ne!(
            enc(&["ab"], &[Some("c")]),
            enc(&["a"], &[Some("bc")]),
            "a name cannot run into its value"
        );
        // And it is exactly the documented layout.
        let mut expected = Vec::new();
        expected.extend_from_slice(&2u64.to_be_bytes());
        expected.extend_from_slice(b"id");
        expected.push(1);
        expected.extend_from_slice(&1u64.to_be_bytes());
        expected.extend_from_slice(b"7");
        expected.extend_from_slice(&1u64.to_be_bytes());
        expected.extend_from_slice(b"x");
        expected.push(0);
        assert_eq!(enc(&["id", "x"], &[Some("7"), None]), expected);
    }

    #[test]
    fn the_chain_is_sha256_of_the_previous_hash_and_the_row() {
        let g = Chain::genesis();
        assert_eq!(g.hash, <[u8; 32]>::from(Sha256::digest(GENESIS_TAG)));
        assert_eq!(g.rows, 0);
        let row = enc(&["id"], &[Some("1")]);
        let mut c = g.clone();
        c.push(&row);
        let mut h = Sha256::new();
        h.update(g.hash);
        h.update(&row);
        assert_eq!(c.hash, <[u8; 32]>::from(h.finalize()));
        assert_eq!(c.rows, 1);
        assert_eq!(Chain::resume(&c.hex(), 1).unwrap(), c);
        assert!(Chain::resume("abcd", 1).is_err());
        assert!(Chain::resume("zz", 1).is_err());
    }

    /// A row of the test log: id and one value.
    type Row = (i64, String);

    fn log(ids: impl IntoIterator<Item = i64>) -> Vec<Row> {
        ids.into_iter().map(|i| (i, format!("row {i}"))).collect()
    }

    const COLUMNS: [&str; 2] = ["id", "new_values"];

    /// Takes a digest of the rows of `log` after the file's last digest, up to `up_to_id`.
    fn take(file: &mut Vec<DigestRecord>, log: &[Row], up_to_id: i64, every: u64) {
        let prev = file.last().cloned();
        let start = prev
            .as_ref()
            .map_or_else(Chain::genesis, |p| Chain::resume(&p.hash, p.rows).unwrap());
        let mut b = Builder::new(cols(&COLUMNS), start, every);
        let after = prev.as_ref().map(|p| p.up_to_id);
        for (id, v) in log
            .iter()
            .filter(|(id, _)| !matches!(after, Some(a) if *id <= a) && *id <= up_to_id)
        {
            b.push(*id, &[Some(&id.to_string()), Some(v)]);
        }
        let (chain, checkpoints) = b.finish(up_to_id);
        file.push(DigestRecord {
            format: FORMAT,
            table: TABLE.into(),
            taken_at: format!("t{}", file.len() + 1),
            database: DbIdentity {
                name: "postgres".into(),
                oid: 5,
                system_identifier: None,
                server: "localhost:5432".into(),
            },
            columns: cols(&COLUMNS),
            after_id: after,
            up_to_id,
            rows: chain.rows,
            hash: chain.hex(),
            checkpoints,
        });
    }

    fn check(file: &[DigestRecord], log: &[Row]) -> Result<Chain, Box<Mismatch>> {
        check_records(file).unwrap();
        let mut v = Verifier::new(file);
        assert_eq!(v.columns(), cols(&COLUMNS));
        let up_to = v.up_to_id().unwrap();
        for (id, value) in log.iter().filter(|(id, _)| *id <= up_to) {
            let id_text = id.to_string();
            v.push(*id, &[Some(&id_text), Some(value)])?;
        }
        v.finish()
    }

    #[test]
    fn checkpoints_fall_every_n_rows_and_not_on_the_end() {
        let mut file = Vec::new();
        take(&mut file, &log(1..=6), 6, 2);
        let ids: Vec<i64> = file[0].checkpoints.iter().map(|c| c.up_to_id).collect();
        assert_eq!(ids, [2, 4], "the one on row 6 is the digest itself");
        assert_eq!(file[0].rows, 6);
        take(&mut file, &log(1..=11), 11, 2);
        let ids: Vec<i64> = file[1].checkpoints.iter().map(|c| c.up_to_id).collect();
        assert_eq!(ids, [8, 10]);
        assert_eq!(file[1].after_id, Some(6));
        assert_eq!(file[1].rows, 11);
    }

    #[test]
    fn an_incremental_digest_equals_one_over_the_whole_log() {
        let rows = log([1, 2, 4, 7, 8, 9]);
        let mut two = Vec::new();
        take(&mut two, &rows, 4, 100);
        take(&mut two, &rows, 9, 100);
        let mut one = Vec::new();
        take(&mut one, &rows, 9, 100);
        assert_eq!(two[1].hash, one[0].hash);
        assert_eq!(two[1].rows, 6);
    }

    #[test]
    fn an_untouched_log_and_a_longer_one_verify() {
        let rows = log(1..=20);
        let mut file = Vec::new();
        take(&mut file, &rows, 10, 3);
        take(&mut file, &rows, 20, 3);
        let chain = check(&file, &rows).unwrap();
        assert_eq!(chain.rows, 20);
        assert_eq!(chain.hex(), file[1].hash);
        // Rows after the last digest are not covered, and do not fail it.
        assert!(check(&file, &log(1..=30)).is_ok());
        // A digest with no new rows re-states the previous one.
        take(&mut file, &rows, 20, 3);
        assert_eq!(file[2].hash, file[1].hash);
        assert!(check(&file, &rows).is_ok());
    }

    #[test]
    fn a_deleted_row_is_narrowed_to_its_checkpoint() {
        let rows = log(1..=20);
        let mut file = Vec::new();
        take(&mut file, &rows, 10, 3);
        take(&mut file, &rows, 20, 3);
        let tampered: Vec<Row> = rows.iter().filter(|(id, _)| *id != 14).cloned().collect();
        let m = check(&file, &tampered).unwrap_err();
        assert_eq!(m.digest, 2);
        // Digest 2 has checkpoints at 13, 16, 19: the row is among 14..=16.
        assert_eq!((m.after_id, m.up_to_id), (Some(13), 16));
        assert_eq!((m.expected_rows, m.found_rows), (16, 15));
        assert!(!m.at_digest_end);
        assert!(m.kind().contains("deleted"), "{}", m.kind());
        assert!(m.to_string().contains("digest 2"), "{m}");
        assert_eq!(m.range(), "ids 14..=16");
        // Deleting the last row of the log is seen at the digest's end.
        let m = check(&file, &log(1..=19)).unwrap_err();
        assert_eq!((m.digest, m.after_id, m.up_to_id), (2, Some(19), 20));
        assert!(m.at_digest_end);
    }

    #[test]
    fn an_edited_row_fails_its_digest_with_the_same_count() {
        let rows = log(1..=20);
        let mut file = Vec::new();
        take(&mut file, &rows, 10, 4);
        take(&mut file, &rows, 20, 4);
        let mut tampered = rows.clone();
        tampered[1].1 = "doctored".into();
        let m = check(&file, &tampered).unwrap_err();
        assert_eq!((m.digest, m.after_id, m.up_to_id), (1, None, 4));
        assert_eq!(m.expected_rows, m.found_rows);
        assert!(m.kind().contains("edited"), "{}", m.kind());
        assert_eq!(m.range(), "ids ..=4");
    }

    #[test]
    fn a_row_forged_under_an_unused_id_fails() {
        // Ids 5 and 6 were never committed (rolled back); the owner forges 5 later.
        let rows = log([1, 2, 3, 4, 7, 8, 9, 10]);
        let mut file = Vec::new();
        take(&mut file, &rows, 10, 2);
        let mut forged = rows.clone();
        forged.insert(4, (5, "forged".into()));
        let m = check(&file, &forged).unwrap_err();
        // Checkpoints at 2, 4, 8: the forgery is among 5..=8.
        assert_eq!((m.after_id, m.up_to_id), (Some(4), 8));
        assert_eq!((m.expected_rows, m.found_rows), (6, 7));
        assert!(m.kind().contains("inserted"), "{}", m.kind());
        // Below every id, too.
        let mut forged = rows.clone();
        forged.insert(0, (-1, "forged".into()));
        let m = check(&file, &forged).unwrap_err();
        assert_eq!((m.after_id, m.up_to_id), (None, 2));
    }

    #[test]
    fn a_file_must_be_one_chain() {
        let rows = log(1..=9);
        let mut file = Vec::new();
        take(&mut file, &rows, 3, 2);
        take(&mut file, &rows, 6, 2);
        take(&mut file, &rows, 9, 2);
        assert!(check_records(&file).is_ok());
        let mut gap = file.clone();
        gap.remove(1);
        let err = check_records(&gap).unwrap_err().to_string();
        assert!(
            err.contains("digest 2 continues the chain after id 6"),
            "{err}"
        );
        let mut bad = file.clone();
        bad[0].table = "public.other".into();
        assert!(check_records(&bad).is_err());
        let mut bad = file.clone();
        bad[2].hash = "00".into();
        assert!(check_records(&bad).is_err());
        let mut bad = file.clone();
        bad[1].checkpoints.reverse();
        bad[1].checkpoints.push(Checkpoint {
            up_to_id: 2,
            rows: 2,
            hash: file[0].hash.clone(),
        });
        assert!(check_records(&bad).is_err());
        // Lines round-trip through JSON.
        let text: String = file
            .iter()
            .map(|r| serde_json::to_string(r).unwrap() + "\n")
            .collect();
        assert_eq!(parse_records(&text, Path::new("f")).unwrap(), file);
        let err = parse_records("{}\n", Path::new("f"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("f line 1"), "{err}");
    }

    #[test]
    fn a_column_added_later_is_covered_from_the_next_digest_on() {
        let mut file = Vec::new();
        let rows = log(1..=4);
        take(&mut file, &rows, 4, 10);
        // Digest 2 encodes one more column.
        let prev = file[0].clone();
        let extra = cols(&["id", "new_values", "region"]);
        let mut b = Builder::new(
            extra.clone(),
            Chain::resume(&prev.hash, prev.rows).unwrap(),
            10,
        );
        b.push(5, &[Some("5"), Some("row 5"), Some("eu")]);
        let (chain, checkpoints) = b.finish(5);
        file.push(DigestRecord {
            columns: extra,
            after_id: Some(4),
            up_to_id: 5,
            rows: chain.rows,
            hash: chain.hex(),
            checkpoints,
            ..prev
        });
        let mut v = Verifier::new(&file);
        assert_eq!(v.columns(), cols(&["id", "new_values", "region"]));
        for id in 1..=4i64 {
            // The old rows have the new column too (its default); digest 1 does not encode it.
            let (t, val) = (id.to_string(), format!("row {id}"));
            v.push(id, &[Some(&t), Some(&val), Some("eu")]).unwrap();
        }
        v.push(5, &[Some("5"), Some("row 5"), Some("eu")]).unwrap();
        assert_eq!(v.finish().unwrap().rows, 5);
    }

    #[test]
    fn identities_and_labels() {
        let a = DbIdentity {
            name: "postgres".into(),
            oid: 5,
            system_identifier: Some("7".into()),
            server: "db.x.supabase.co:5432".into(),
        };
        let mut b = a.clone();
        b.server = "other:5432".into();
        assert!(a.same_database(&b), "the address is not the identity");
        b.system_identifier = None;
        assert!(a.same_database(&b));
        b.oid = 6;
        assert!(!a.same_database(&b));
        let mut c = a.clone();
        c.system_identifier = Some("8".into());
        assert!(!a.same_database(&c));

        let url = "postgresql://postgres:s3cret@db.abc.supabase.co:5432/postgres?sslmode=require";
        assert_eq!(url_label(url).unwrap(), "db.abc.supabase.co_5432_postgres");
        let (host, port, _) = server_of(url).unwrap();
        assert_eq!((host.as_str(), port), ("db.abc.supabase.co", 5432));
        assert_eq!(file_label("a/b c:d"), "a_b_c_d");
        assert_eq!(file_label(""), "default");
    }
}
