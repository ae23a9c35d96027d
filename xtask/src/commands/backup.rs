//! `cargo xtask backup` and `cargo xtask restore` (issue 17): the studio's own copy of what it
//! owns, beside hosted's daily backups and point-in-time recovery (`docs/operations.md`).
//!
//! A backup is one consistent snapshot of the database (a repeatable-read transaction whose
//! snapshot every `pg_dump` imports, and in which the manifest's counts and checksums are
//! computed): the data of the project's schemas (`public` and the model's own), the Auth rows
//! people need to sign in again (`auth.users`, `auth.identities` where it exists), the tables
//! the partition upkeep archived, and every Storage object, fetched through the Storage API as
//! bytes with its metadata. The audit log's digest (`cargo xtask audit digest`) is taken first and
//! kept in the manifest. With `--recipient`, everything is one `age`-encrypted tar.
//!
//! A restore goes into an empty project or local stack: the target's migrations are brought to
//! the backup's versions, the data is loaded in one transaction with triggers off
//! (`session_replication_role = replica`, which hosted lets `postgres` set), Storage objects are
//! uploaded through the Storage API (which creates their rows), and the result is checked against
//! the manifest: every table's count and checksum, every object's bytes, the audit digest.

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use postgres::Client;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::commands::audit;
use crate::infra::{db, paths, prereq, progress};

/// The manifest's format.
pub const FORMAT: u32 = 1;

/// Settings every checksum is computed under, so row text is the same on any server.
const PINNED: &str = "set timezone = 'UTC'; set datestyle = 'ISO, YMD'; \
     set intervalstyle = 'postgres'; set extra_float_digits = 1; set bytea_output = 'hex'; \
     set statement_timeout = 0";

/// Auth tables whose rows let people sign in again (those that exist are backed up).
const AUTH_TABLES: &[&str] = &["auth.users", "auth.identities"];

#[derive(clap::Args)]
pub struct Target {
    /// Database URL, as `postgres` (direct or session-pooler connection, port 5432); defaults to
    /// $SUPABASE_DB_URL, then $DATABASE_URL, then the local stack.
    #[arg(long, value_name = "URL", conflicts_with = "env")]
    pub db_url: Option<String>,
    /// Environment of supabase/environments.toml: the URL from the variable it names, the API
    /// URL from its project ref.
    #[arg(long = "env", value_name = "NAME")]
    pub env: Option<String>,
    /// The project's API URL for the Storage API (default: https://<ref>.supabase.co for --env,
    /// http://127.0.0.1:54321 for the local stack).
    #[arg(long, value_name = "URL")]
    pub api_url: Option<String>,
    /// A secret API key or the service-role key for the Storage API (default:
    /// $SUPABASE_SECRET_KEY, then $SUPABASE_SERVICE_ROLE_KEY, then the local stack's).
    #[arg(long, value_name = "KEY")]
    pub service_key: Option<String>,
    /// Folder of pg_dump, pg_restore and psql (default: the newest /usr/lib/postgresql/*/bin
    /// that can talk to the server).
    #[arg(long, value_name = "DIR")]
    pub pg_bin: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct BackupArgs {
    #[command(flatten)]
    pub target: Target,
    /// An empty or new folder for the backup.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Encrypt the backup to this age recipient (`age1...`, or an SSH public key); repeatable.
    #[arg(long = "recipient", value_name = "RECIPIENT")]
    pub recipients: Vec<String>,
}

#[derive(clap::Args)]
pub struct RestoreArgs {
    /// The backup's folder.
    pub dir: PathBuf,
    #[command(flatten)]
    pub target: Target,
    /// The age identity file that decrypts an encrypted backup.
    #[arg(long, value_name = "FILE")]
    pub identity: Option<PathBuf>,
    /// Empty a non-empty target first: its Storage objects through the Storage API, its Auth
    /// users and the project's tables by SQL, its archived partitions dropped (what hosted
    /// allows `postgres`).
    #[arg(long)]
    pub force: bool,
}

/// One table's rows, as the manifest records them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableSum {
    pub table: String,
    pub rows: i64,
    /// md5 over the md5 of each row's text, in primary-key order.
    pub checksum: String,
}

/// One Storage object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectEntry {
    pub bucket: String,
    pub name: String,
    pub size: u64,
    pub sha256: String,
    pub content_type: Option<String>,
    pub cache_control: Option<String>,
    /// Recorded, not restored: Storage sets the owner from the uploader's token.
    pub owner_id: Option<String>,
    pub user_metadata: Option<serde_json::Value>,
}

/// A file of the backup with its checksum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSum {
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    /// The snapshot's time, UTC, by the database's clock.
    pub taken_at: String,
    /// `host:port/database` of the source (no credentials).
    pub source: String,
    pub server_version: String,
    pub pg_dump_version: String,
    /// Applied migration versions at the snapshot.
    pub migrations: Vec<String>,
    /// Months (`YYYY_MM`) of the attached partitions of `social_messages`.
    pub partitions: Vec<String>,
    pub tables: Vec<TableSum>,
    pub objects: Vec<ObjectEntry>,
    /// Rows of `storage.objects` whose bytes the Storage API does not have (404): nothing to
    /// restore (a restore recreates rows only by uploading bytes).
    #[serde(default)]
    pub missing_objects: Vec<ObjectEntry>,
    pub files: Vec<FileSum>,
    /// The audit log's digest taken just before the snapshot (`cargo xtask audit digest`).
    pub audit_digest: audit::DigestRecord,
}

// ------------------------------------------------------------------------------------ helpers

fn resolve_url(t: &Target) -> Result<(String, Option<String>)> {
    if let Some(name) = &t.env {
        return Ok((audit::env_url(name)?, Some(name.clone())));
    }
    if let Some(url) = &t.db_url {
        return Ok((url.clone(), None));
    }
    for var in ["SUPABASE_DB_URL", "DATABASE_URL"] {
        if let Ok(url) = std::env::var(var) {
            if !url.is_empty() {
                return Ok((url, None));
            }
        }
    }
    Ok((crate::commands::stack::ensure_running_url()?, None))
}

/// The Storage API's URL and key for the target.
fn api(t: &Target, env: Option<&str>) -> Result<(String, String)> {
    let url = match (&t.api_url, env) {
        (Some(u), _) => u.clone(),
        (None, Some(name)) => {
            let envs = crate::commands::deploy::load_environments(
                &paths::supabase_dir().join("environments.toml"),
            )?;
            let e = envs
                .get(name)
                .with_context(|| format!("no environment {name} in supabase/environments.toml"))?;
            format!("https://{}.supabase.co", e.project_ref)
        }
        (None, None) => format!("http://127.0.0.1:{}", crate::gateway::DEFAULT_PORT),
    };
    let key = match &t.service_key {
        Some(k) => k.clone(),
        None => ["SUPABASE_SECRET_KEY", "SUPABASE_SERVICE_ROLE_KEY"]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|k| !k.is_empty()))
            .or_else(|| (env.is_none()).then(|| crate::keys::LOCAL_SECRET_KEY.to_string()))
            .context(
                "no key for the Storage API: pass --service-key or set SUPABASE_SECRET_KEY \
                 (Dashboard → Project Settings → API Keys)",
            )?,
    };
    Ok((url, key))
}

/// `major` of `server_version_num`.
fn major_of(version_num: i32) -> i32 {
    version_num / 10000
}

/// The major version a PostgreSQL program prints (`pg_dump (PostgreSQL) 15.18 (Debian ...)`).
fn tool_major(program: &Path) -> Result<(i32, String)> {
    let out = Command::new(program)
        .arg("--version")
        .output()
        .with_context(|| format!("cannot run {}", program.display()))?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let major = text
        .split_whitespace()
        .find_map(|w| w.split('.').next().and_then(|m| m.parse::<i32>().ok()))
        .with_context(|| format!("cannot read a version from `{text}`"))?;
    Ok((major, text))
}

/// The exact words to install the client a server of major `major` needs.
pub fn client_hint(major: i32) -> String {
    format!(
        "install the PostgreSQL {major} client from the PostgreSQL apt repository: \
         `apt-get install -y postgresql-common && /usr/share/postgresql-common/pgdg/apt.postgresql.org.sh -y \
         && apt-get install -y postgresql-client-{major}` (it lands in /usr/lib/postgresql/{major}/bin, \
         which is found), or pass --pg-bin with a folder holding pg_dump {major} or newer"
    )
}

/// The folder of pg_dump/pg_restore/psql that can dump a server of major `server`: `pg_bin`
/// when given (checked), else the newest Debian one at least as new.
pub fn pg_tools(pg_bin: Option<&Path>, server: i32) -> Result<(PathBuf, String)> {
    if let Some(dir) = pg_bin {
        let (major, text) = tool_major(&dir.join("pg_dump"))?;
        if major < server {
            bail!(
                "{} is pg_dump {major}, older than the server's PostgreSQL {server}: pg_dump refuses \
                 servers newer than itself; {}",
                dir.join("pg_dump").display(),
                client_hint(server)
            );
        }
        return Ok((dir.to_path_buf(), text));
    }
    let mut found: Vec<(i32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter_map(|e| {
                    let major = e.file_name().to_str()?.parse::<i32>().ok()?;
                    let bin = e.path().join("bin");
                    bin.join("pg_dump").exists().then_some((major, bin))
                })
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    match found.iter().rev().find(|(m, _)| *m >= server) {
        Some((_, bin)) => {
            let (_, text) = tool_major(&bin.join("pg_dump"))?;
            Ok((bin.clone(), text))
        }
        None => {
            let newest = found
                .last()
                .map(|(m, _)| format!("the newest here is pg_dump {m}"))
                .unwrap_or_else(|| "no pg_dump was found in /usr/lib/postgresql".into());
            bail!(
                "the server runs PostgreSQL {server} and {newest}: pg_dump refuses servers newer than \
                 itself; {}",
                client_hint(server)
            )
        }
    }
}

fn run_tool(cmd: &mut Command, what: &str) -> Result<()> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {what}"))?;
    if !out.status.success() {
        bail!(
            "{what} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

fn sha256_file(path: &Path) -> Result<(u64, String)> {
    let mut f = fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf)?;
        if k == 0 {
            break;
        }
        n += k as u64;
        h.update(&buf[..k]);
    }
    Ok((n, hex::encode(h.finalize())))
}

/// The schemas whose data is the project's: `public` and those the model creates.
pub fn project_schemas() -> Result<Vec<String>> {
    let catalog = sql::Catalog::from_releases(&sql::moha::releases())?;
    let mut s = vec!["public".to_string()];
    s.extend(catalog.schemas.iter().cloned());
    Ok(s)
}

/// Tables the migrations seed (reference data): a target holding only these is empty.
fn seeded_tables() -> Vec<String> {
    let mut out: Vec<String> = sql::moha::releases()
        .iter()
        .flat_map(|r| r.changes.iter())
        .filter_map(|c| match c {
            sql::Change::Insert(i) => Some(i.table.to_string()),
            _ => None,
        })
        .collect();
    // The seed rows of audited tables are audited.
    out.push(audit::TABLE.into());
    out.sort();
    out.dedup();
    out
}

/// The tables of the backup that exist in `client`'s database: ordinary and partitioned tables
/// of `schemas` (partitions are covered by their parent) and the Auth tables.
fn tables(client: &mut Client, schemas: &[String]) -> Result<Vec<String>> {
    let rows = client.query(
        "select n.nspname || '.' || c.relname
           from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
          where c.relkind in ('r', 'p') and not c.relispartition
            and (n.nspname = any($1) or (n.nspname || '.' || c.relname) = any($2))
          order by 1",
        &[&schemas, &AUTH_TABLES],
    )?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Count and checksum of each table (in the caller's transaction and snapshot).
fn checksums(
    client: &mut impl postgres::GenericClient,
    tables: &[String],
) -> Result<Vec<TableSum>> {
    client.batch_execute(PINNED)?;
    let mut out = Vec::new();
    let started = Instant::now();
    for (i, t) in tables.iter().enumerate() {
        let pk: Vec<String> = client
            .query(
                "select a.attname::text from pg_catalog.pg_index x
                   join pg_catalog.pg_attribute a on a.attrelid = x.indrelid and a.attnum = any(x.indkey)
                  where x.indrelid = $1::text::regclass and x.indisprimary
                  order by array_position(x.indkey, a.attnum)",
                &[t],
            )?
            .iter()
            .map(|r| {
                let c: String = r.get(0);
                format!("t.{}", sql::quote::ident(&c).unwrap_or(c))
            })
            .collect();
        let order = if pk.is_empty() {
            "md5(t::text)".to_string()
        } else {
            pk.join(", ")
        };
        let (schema, name) = t.split_once('.').context("a qualified table name")?;
        let rel = format!(
            "{}.{}",
            sql::quote::ident(schema)?,
            sql::quote::ident(name)?
        );
        let row = client.query_one(
            &format!(
                "select count(*), coalesce(md5(string_agg(md5(t::text), '' order by {order})), '') from {rel} t"
            ),
            &[],
        )?;
        out.push(TableSum {
            table: t.clone(),
            rows: row.get(0),
            checksum: row.get(1),
        });
        if started.elapsed().as_secs() >= 2 && (i + 1) % 10 == 0 {
            eprintln!("    checksums {}/{}", i + 1, tables.len());
        }
    }
    Ok(out)
}

/// Runs the Storage job of `xtask/backup/storage.ts`; returns one JSON value per object.
fn storage_job(job: serde_json::Value) -> Result<Vec<serde_json::Value>> {
    prereq::ensure_node_modules()?;
    let script = paths::project_root().join("xtask/backup/storage.ts");
    let mut child = Command::new(prereq::node_bin("deno"))
        .args([
            "run",
            "--no-prompt",
            "--allow-net",
            "--allow-read",
            "--allow-write",
        ])
        .arg(&script)
        .env("DENO_NO_UPDATE_CHECK", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot start deno for the Storage API")?;
    child
        .stdin
        .take()
        .context("deno's stdin")?
        .write_all(serde_json::to_string(&job)?.as_bytes())?;
    let stderr = child.stderr.take().context("deno's stderr")?;
    let progress = std::thread::spawn(move || {
        let mut tail = Vec::new();
        for line in BufReader::new(stderr).lines().map_while(|l| l.ok()) {
            eprintln!("    {line}");
            tail.push(line);
        }
        tail
    });
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .context("deno's stdout")?
        .read_to_string(&mut stdout)?;
    let status = child.wait()?;
    let tail = progress.join().unwrap_or_default();
    if !status.success() {
        bail!("the Storage job failed ({status}):\n{}", tail.join("\n"));
    }
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).context("a line of the Storage job"))
        .collect()
}

fn object_job(
    op: &str,
    api: &(String, String),
    dir: &Path,
    objects: &[ObjectEntry],
) -> serde_json::Value {
    serde_json::json!({
        "op": op,
        "api_url": api.0,
        "key": api.1,
        "dir": dir.display().to_string(),
        "objects": objects.iter().map(|o| serde_json::json!({
            "bucket": o.bucket, "name": o.name,
            "content_type": o.content_type, "cache_control": o.cache_control,
        })).collect::<Vec<_>>(),
    })
}

fn failures(results: &[serde_json::Value]) -> Vec<String> {
    results
        .iter()
        .filter_map(|r| {
            r.get("error").map(|e| {
                format!(
                    "{}/{}: {}",
                    r["bucket"].as_str().unwrap_or("?"),
                    r["name"].as_str().unwrap_or("?"),
                    e.as_str().unwrap_or("")
                )
            })
        })
        .collect()
}

/// The Storage job's results by `(bucket, name)`.
fn by_object(results: &[serde_json::Value]) -> BTreeMap<(String, String), &serde_json::Value> {
    results
        .iter()
        .map(|r| {
            (
                (
                    r["bucket"].as_str().unwrap_or("").to_string(),
                    r["name"].as_str().unwrap_or("").to_string(),
                ),
                r,
            )
        })
        .collect()
}

fn pg_url_source(url: &str) -> String {
    match audit::server_of(url) {
        Ok((host, port, dbname)) => format!("{host}:{port}/{dbname}"),
        Err(_) => db::redact(url),
    }
}

// ------------------------------------------------------------------------------------- backup

pub fn backup(args: &BackupArgs) -> Result<()> {
    let started = Instant::now();
    let (url, env) = resolve_url(&args.target)?;
    crate::commands::deploy::refuse_transaction_pooler(&url)?;
    let api = api(&args.target, env.as_deref())?;
    if args.out.exists() && fs::read_dir(&args.out)?.next().is_some() {
        bail!(
            "{} is not empty; give a new or empty folder",
            args.out.display()
        );
    }
    if !args.recipients.is_empty() {
        require_age()?;
    }
    // Work in a folder beside the output, so nothing half-written is ever called a backup.
    let parent = args
        .out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(parent)?;
    let work = tempfile::Builder::new()
        .prefix(".moha-backup-")
        .tempdir_in(parent)?;
    let dir = work.path();

    let mut client = db::connect(&url)?;
    let server: i32 = client
        .query_one("select current_setting('server_version_num')::int", &[])?
        .get(0);
    let server_version: String = client.query_one("show server_version", &[])?.get(0);
    let (bin, pg_dump_version) = pg_tools(args.target.pg_bin.as_deref(), major_of(server))?;

    // 1. The audit digest first: every row it covers is in the snapshot taken after it.
    let digests = dir.join("audit-digests.jsonl");
    progress::step("audit log digest", || {
        audit::run(audit::AuditCommand::Digest(audit::DigestArgs {
            target: audit::TargetArgs {
                db_url: Some(url.clone()),
                env: None,
            },
            out: Some(digests.clone()),
            checkpoint_every: 1000,
            max_wait: 60,
            json: false,
        }))
    })?;
    let digest_text = fs::read_to_string(&digests)?;
    let audit_digest = audit::parse_records(&digest_text, &digests)?
        .pop()
        .context("the digest file is empty")?;

    // 2. One snapshot for everything: exported, imported by each pg_dump, checksummed here.
    let mut tx = client
        .build_transaction()
        .isolation_level(postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()?;
    let snapshot: String = tx.query_one("select pg_export_snapshot()", &[])?.get(0);
    let taken_at: String = tx
        .query_one(
            "select to_char(transaction_timestamp() at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
            &[],
        )?
        .get(0);
    let migrations: Vec<String> = tx
        .query(
            "select version from supabase_migrations.schema_migrations order by version",
            &[],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let partitions: Vec<String> = tx
        .query(
            "select substr(c.relname, 17) from pg_inherits i join pg_class c on c.oid = i.inhrelid
              where i.inhparent = to_regclass('public.social_messages')
                and c.relname ~ '^social_messages_[0-9]{4}_[0-9]{2}$' order by 1",
            &[],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let schemas = project_schemas()?;
    let existing: Vec<String> = tx
        .query(
            "select nspname::text from pg_namespace where nspname = any($1)",
            &[&schemas],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let table_names = {
        let rows = tx.query(
            "select n.nspname || '.' || c.relname
               from pg_class c join pg_namespace n on n.oid = c.relnamespace
              where c.relkind in ('r', 'p') and not c.relispartition
                and (n.nspname = any($1) or (n.nspname || '.' || c.relname) = any($2))
              order by 1",
            &[&existing, &AUTH_TABLES],
        )?;
        rows.iter()
            .map(|r| r.get::<_, String>(0))
            .collect::<Vec<_>>()
    };
    let tables = progress::step(
        &format!("checksums of {} tables", table_names.len()),
        || checksums(&mut tx, &table_names),
    )?;
    let listed = tx.query(
        "select bucket_id, name, coalesce((metadata ->> 'size')::bigint, 0), metadata ->> 'mimetype',
                metadata ->> 'cacheControl', owner_id, user_metadata
           from storage.objects order by bucket_id, name",
        &[],
    )?;

    let dump = |file: &str, extra: &[String]| -> Result<()> {
        let mut cmd = Command::new(bin.join("pg_dump"));
        cmd.args(["--format=custom", "--no-owner", "--no-privileges"])
            .arg(format!("--snapshot={snapshot}"))
            .arg(format!("--file={}", dir.join(file).display()))
            .args(extra)
            .arg(format!("--dbname={url}"));
        run_tool(&mut cmd, &format!("pg_dump ({file})"))
    };
    let mut data_args = vec![
        "--data-only".to_string(),
        "--load-via-partition-root".to_string(),
    ];
    for s in &existing {
        data_args.push(format!("--schema={s}"));
    }
    progress::step("pg_dump: the project's schemas (data)", || {
        dump("data.dump", &data_args)
    })?;
    let auth_tables: Vec<&String> = table_names
        .iter()
        .filter(|t| AUTH_TABLES.contains(&t.as_str()))
        .collect();
    let mut auth_args = vec!["--data-only".to_string()];
    auth_args.extend(auth_tables.iter().map(|t| format!("--table={t}")));
    progress::step("pg_dump: Auth users and identities (data)", || {
        dump("auth.dump", &auth_args)
    })?;
    // Tables the partition upkeep made in schema archive (not in any migration): their
    // definitions too.
    let archived: Vec<String> = table_names
        .iter()
        .filter(|t| t.starts_with("archive.social_messages_"))
        .cloned()
        .collect();
    if !archived.is_empty() {
        let mut args: Vec<String> = vec!["--schema-only".into()];
        args.extend(archived.iter().map(|t| format!("--table={t}")));
        progress::step("pg_dump: archived partitions (definitions)", || {
            dump("archive.dump", &args)
        })?;
    }
    tx.commit()?;

    // 3. Storage objects, through the Storage API.
    let mut objects: Vec<ObjectEntry> = listed
        .iter()
        .map(|r| ObjectEntry {
            bucket: r.get(0),
            name: r.get::<_, Option<String>>(1).unwrap_or_default(),
            size: r.get::<_, i64>(2).max(0) as u64,
            sha256: String::new(),
            content_type: r.get(3),
            cache_control: r.get(4),
            owner_id: r.get(5),
            user_metadata: r.get(6),
        })
        .collect();
    let mut missing_objects = Vec::new();
    if !objects.is_empty() {
        let results = progress::step(
            &format!("Storage API: downloading {} objects", objects.len()),
            || storage_job(object_job("download", &api, &dir.join("storage"), &objects)),
        )?;
        let absent = |r: &serde_json::Value| {
            r["error"]
                .as_str()
                .is_some_and(|e| e.starts_with("download answered 404"))
        };
        let failed = failures(
            &results
                .iter()
                .filter(|r| !absent(r))
                .cloned()
                .collect::<Vec<_>>(),
        );
        if !failed.is_empty() {
            bail!(
                "{} objects could not be downloaded:\n{}",
                failed.len(),
                failed.join("\n")
            );
        }
        let gone: Vec<(String, String)> = results
            .iter()
            .filter(|r| absent(r))
            .map(|r| {
                (
                    r["bucket"].as_str().unwrap_or("").to_string(),
                    r["name"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        if !gone.is_empty() {
            eprintln!(
                "warning: {} rows of storage.objects have no bytes in Storage (404); they are listed \
                 in the manifest as missing_objects and not restored",
                gone.len()
            );
        }
        let (without, with): (Vec<ObjectEntry>, Vec<ObjectEntry>) = objects
            .into_iter()
            .partition(|o| gone.contains(&(o.bucket.clone(), o.name.clone())));
        missing_objects = without;
        objects = with;
        let by_key = by_object(&results);
        for o in &mut objects {
            let r = by_key
                .get(&(o.bucket.clone(), o.name.clone()))
                .with_context(|| format!("no download result for {}/{}", o.bucket, o.name))?;
            o.sha256 = r["sha256"].as_str().unwrap_or("").to_string();
            o.size = r["size"].as_u64().unwrap_or(o.size);
        }
    }

    // 4. The manifest, with every file's checksum.
    let mut files = Vec::new();
    for name in [
        "data.dump",
        "auth.dump",
        "archive.dump",
        "audit-digests.jsonl",
    ] {
        let p = dir.join(name);
        if p.exists() {
            let (bytes, sha256) = sha256_file(&p)?;
            files.push(FileSum {
                path: name.into(),
                bytes,
                sha256,
            });
        }
    }
    let manifest = Manifest {
        format: FORMAT,
        taken_at,
        source: pg_url_source(&url),
        server_version,
        pg_dump_version,
        migrations,
        partitions,
        tables,
        objects,
        missing_objects,
        files,
        audit_digest,
    };
    fs::write(
        dir.join("manifest.json"),
        serde_json::to_string_pretty(&manifest)?,
    )?;

    // 5. Encrypted (one tar, to every recipient) or as it is; then moved into place.
    fs::create_dir_all(&args.out)?;
    if args.recipients.is_empty() {
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            fs::rename(entry.path(), args.out.join(entry.file_name()))?;
        }
        eprintln!(
            "warning: the backup is not encrypted (no --recipient): it holds Auth password hashes \
             and private.secrets in clear"
        );
    } else {
        progress::step("age: encrypting", || {
            encrypt(dir, &args.out, &args.recipients)
        })?;
    }
    let total: u64 = fs::read_dir(&args.out)?
        .filter_map(|e| e.ok())
        .map(|e| dir_size(&e.path()))
        .sum();
    println!(
        "backup of {} taken {}: {} tables ({} rows), {} Storage objects, {} bytes in {} ({:.1} s)",
        manifest.source,
        manifest.taken_at,
        manifest.tables.len(),
        manifest.tables.iter().map(|t| t.rows).sum::<i64>(),
        manifest.objects.len(),
        total,
        args.out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn dir_size(p: &Path) -> u64 {
    match fs::metadata(p) {
        Ok(m) if m.is_dir() => fs::read_dir(p)
            .map(|d| d.filter_map(|e| e.ok()).map(|e| dir_size(&e.path())).sum())
            .unwrap_or(0),
        Ok(m) => m.len(),
        Err(_) => 0,
    }
}

fn require_age() -> Result<()> {
    if Command::new("age").arg("--version").output().is_ok() {
        return Ok(());
    }
    bail!("age is not installed: apt-get install -y age")
}

/// `tar -C dir -c . | age -r ... -o out/backup.tar.age`.
fn encrypt(dir: &Path, out: &Path, recipients: &[String]) -> Result<()> {
    let mut tar = Command::new("tar")
        .arg("-C")
        .arg(dir)
        .args(["-cf", "-", "."])
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot run tar")?;
    let mut age = Command::new("age");
    for r in recipients {
        age.arg("-r").arg(r);
    }
    let status = age
        .arg("-o")
        .arg(out.join("backup.tar.age"))
        .stdin(tar.stdout.take().context("tar's stdout")?)
        .status()
        .context("cannot run age")?;
    let tar_status = tar.wait()?;
    if !status.success() || !tar_status.success() {
        bail!("encrypting failed (tar {tar_status}, age {status})");
    }
    Ok(())
}

/// `age -d -i identity backup.tar.age | tar -x -C dir`.
fn decrypt(file: &Path, identity: &Path, dir: &Path) -> Result<()> {
    let mut age = Command::new("age")
        .arg("-d")
        .arg("-i")
        .arg(identity)
        .arg(file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run age (apt-get install -y age)")?;
    let status = Command::new("tar")
        .arg("-C")
        .arg(dir)
        .args(["-xf", "-"])
        .stdin(age.stdout.take().context("age's stdout")?)
        .status()
        .context("cannot run tar")?;
    let out = age.wait_with_output()?;
    if !out.status.success() || !status.success() {
        bail!(
            "decrypting {} failed: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

// ------------------------------------------------------------------------------------ restore

pub fn restore(args: &RestoreArgs) -> Result<()> {
    let started = Instant::now();
    let (url, env) = resolve_url(&args.target)?;
    crate::commands::deploy::refuse_transaction_pooler(&url)?;
    let api = api(&args.target, env.as_deref())?;
    let unpacked;
    let dir: &Path = if args.dir.join("backup.tar.age").exists() {
        let identity = args
            .identity
            .as_deref()
            .context("the backup is encrypted: pass --identity with the age identity file")?;
        unpacked = tempfile::tempdir()?;
        progress::step("age: decrypting", || {
            decrypt(&args.dir.join("backup.tar.age"), identity, unpacked.path())
        })?;
        unpacked.path()
    } else {
        &args.dir
    };
    let manifest: Manifest = serde_json::from_str(
        &fs::read_to_string(dir.join("manifest.json"))
            .with_context(|| format!("{} holds no manifest.json", dir.display()))?,
    )
    .context("manifest.json")?;
    if manifest.format != FORMAT {
        bail!(
            "manifest format {} (this xtask reads {FORMAT})",
            manifest.format
        );
    }
    for f in &manifest.files {
        let (bytes, sha256) = sha256_file(&dir.join(&f.path))?;
        if bytes != f.bytes || sha256 != f.sha256 {
            bail!(
                "{} does not match the manifest: the backup is damaged",
                f.path
            );
        }
    }

    let mut client = db::connect(&url)?;
    if !crate::compat::is_installed(&mut client)? {
        bail!(
            "the target has no auth schema: restore into a Supabase project or the local stack \
             (cargo xtask up), not a plain PostgreSQL database"
        );
    }
    let server: i32 = client
        .query_one("select current_setting('server_version_num')::int", &[])?
        .get(0);
    let (bin, _) = pg_tools(args.target.pg_bin.as_deref(), major_of(server))?;

    // 1. An empty target, or one emptied within hosted's rules.
    let schemas = project_schemas()?;
    let present = tables(&mut client, &schemas)?;
    let seeded = seeded_tables();
    let mut holding = Vec::new();
    for t in present.iter().filter(|t| !seeded.contains(t)) {
        let (schema, name) = t.split_once('.').context("a qualified name")?;
        let n: i64 = client
            .query_one(
                &format!(
                    "select count(*) from (select 1 from {}.{} limit 1) x",
                    sql::quote::ident(schema)?,
                    sql::quote::ident(name)?
                ),
                &[],
            )?
            .get(0);
        if n > 0 {
            holding.push(t.clone());
        }
    }
    let objects_there: Vec<ObjectEntry> = client
        .query("select bucket_id, name from storage.objects", &[])?
        .iter()
        .map(|r| ObjectEntry {
            bucket: r.get(0),
            name: r.get::<_, Option<String>>(1).unwrap_or_default(),
            size: 0,
            sha256: String::new(),
            content_type: None,
            cache_control: None,
            owner_id: None,
            user_metadata: None,
        })
        .collect();
    if !objects_there.is_empty() {
        holding.push(format!("storage.objects ({} objects)", objects_there.len()));
    }
    if !holding.is_empty() {
        if !args.force {
            bail!(NotEmpty {
                holding: holding.clone()
            });
        }
        // Archived partitions are the target's data too: the backup's come back in their place.
        client.batch_execute(
            "do $$
             declare t record;
             begin
               for t in select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
                         where n.nspname = 'archive' and c.relkind = 'r'
                           and c.relname ~ '^social_messages_[0-9]{4}_[0-9]{2}'
               loop
                 execute format('drop table archive.%I', t.relname);
               end loop;
             end $$",
        )?;
        if !objects_there.is_empty() {
            let results = progress::step(
                &format!("Storage API: deleting {} objects", objects_there.len()),
                || storage_job(object_job("delete", &api, dir, &objects_there)),
            )?;
            let failed = failures(&results);
            if !failed.is_empty() {
                bail!("objects could not be deleted:\n{}", failed.join("\n"));
            }
        }
    }

    // 2. The schema at the backup's versions, from this checkout's migrations.
    let applied = crate::migrate::status(&url, &paths::migrations_dir())?.0;
    if let Some(v) = applied.iter().find(|v| !manifest.migrations.contains(v)) {
        bail!(
            "the target has migration {v}, which the backup does not: restore into a project at or \
             before the backup's versions ({} … {})",
            manifest.migrations.first().map(String::as_str).unwrap_or("none"),
            manifest.migrations.last().map(String::as_str).unwrap_or("none")
        );
    }
    let files = migration_files(&paths::migrations_dir())?;
    let at_backup = tempfile::tempdir()?;
    for v in &manifest.migrations {
        let (name, path) = files
            .iter()
            .find(|(version, _)| version == v)
            .map(|(_, p)| (p.file_name().map(|n| n.to_owned()), p))
            .with_context(|| {
                format!(
                    "the backup was taken at migration {v}, which this checkout lacks: check out the \
                     commit the backup was taken at"
                )
            })?;
        fs::copy(path, at_backup.path().join(name.context("a file name")?))?;
    }
    progress::step("migrating the target to the backup's versions", || {
        crate::migrate::run_quietly(
            &url,
            &crate::migrate::Options {
                dir: at_backup.path().to_path_buf(),
                dry_run: false,
                include_all: false,
                compat: false,
            },
        )
        .map(drop)
        .map_err(crate::commands::migrate::explain)
    })?;

    // 3. The partitions the source had, so rows land in their months; archived partitions.
    for m in &manifest.partitions {
        client.execute(
            "select private.social_messages_attach(to_date($1, 'YYYY_MM'))",
            &[m],
        )?;
    }
    if dir.join("archive.dump").exists() {
        progress::step("pg_restore: archived partitions (definitions)", || {
            run_tool(
                Command::new(bin.join("pg_restore"))
                    .args(["--no-owner", "--no-privileges", "--exit-on-error"])
                    .arg(format!("--dbname={url}"))
                    .arg(dir.join("archive.dump")),
                "pg_restore (archive.dump)",
            )
        })?;
    }

    // 4. The data, in one transaction with triggers off: the rows are the snapshot's, so no
    //    audit row, sign-up trigger or foreign-key check is to run again.
    let present = tables(&mut client, &schemas)?;
    let wanted: Vec<&String> = present
        .iter()
        .filter(|t| manifest.tables.iter().any(|m| &&m.table == t))
        .collect();
    let truncate = format!(
        "truncate {} restart identity cascade",
        wanted
            .iter()
            .map(|t| {
                let (s, n) = t.split_once('.').unwrap_or(("public", t));
                format!(
                    "{}.{}",
                    sql::quote::ident(s).unwrap_or_default(),
                    sql::quote::ident(n).unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    );
    let script = tempfile::NamedTempFile::new()?;
    for dump in ["data.dump", "auth.dump"] {
        let out = Command::new(bin.join("pg_restore"))
            .args(["--data-only", "--no-owner", "--no-privileges", "-f", "-"])
            .arg(dir.join(dump))
            .output()
            .context("cannot run pg_restore")?;
        if !out.status.success() {
            bail!(
                "pg_restore could not read {dump}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        script.as_file().write_all(&out.stdout)?;
    }
    progress::step("loading the data (one transaction, triggers off)", || {
        run_tool(
            Command::new(bin.join("psql"))
                .args(["--no-psqlrc", "--quiet", "--single-transaction"])
                .args(["-v", "ON_ERROR_STOP=1"])
                .arg(format!("--dbname={url}"))
                .args(["-c", "set session_replication_role = replica"])
                .args(["-c", &truncate])
                .arg("-f")
                .arg(script.path()),
            "psql (loading the data)",
        )
    })?;

    // 5. Storage objects through the Storage API, which creates their rows.
    if !manifest.objects.is_empty() {
        let results = progress::step(
            &format!("Storage API: uploading {} objects", manifest.objects.len()),
            || {
                storage_job(object_job(
                    "upload",
                    &api,
                    &dir.join("storage"),
                    &manifest.objects,
                ))
            },
        )?;
        let failed = failures(&results);
        if !failed.is_empty() {
            bail!(
                "{} objects could not be uploaded:\n{}",
                failed.len(),
                failed.join("\n")
            );
        }
    }

    // 6. The result, against the manifest.
    let report = verify(&url, &api, dir, &manifest)?;
    println!(
        "restored {} into {}: {} tables ({} rows) and {} Storage objects match the manifest; audit \
         digest verified ({:.1} s)",
        manifest.source,
        pg_url_source(&url),
        report.tables,
        report.rows,
        report.objects,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `(version, path)` of each `<14 digits>_<name>.sql` in `dir`.
fn migration_files(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let path = entry?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if let Some((version, _)) = name.strip_suffix(".sql").and_then(|n| n.split_once('_')) {
            if version.len() == 14 && version.bytes().all(|b| b.is_ascii_digit()) {
                out.push((version.to_string(), path.clone()));
            }
        }
    }
    Ok(out)
}

/// A restore refused because the target holds data.
#[derive(Debug)]
pub struct NotEmpty {
    pub holding: Vec<String>,
}

impl std::fmt::Display for NotEmpty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the target is not empty ({}); restore into an empty project, or pass --force to empty \
             it first",
            self.holding.join(", ")
        )
    }
}

impl std::error::Error for NotEmpty {}

struct Verified {
    tables: usize,
    rows: i64,
    objects: usize,
}

/// Checks the restored database and Storage against the manifest.
fn verify(url: &str, api: &(String, String), dir: &Path, manifest: &Manifest) -> Result<Verified> {
    let mut client = db::connect(url)?;
    let names: Vec<String> = manifest.tables.iter().map(|t| t.table.clone()).collect();
    let mut tx = client
        .build_transaction()
        .isolation_level(postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()?;
    let got = progress::step("checking every table against the manifest", || {
        checksums(&mut tx, &names)
    })?;
    tx.commit()?;
    let wrong: Vec<String> = manifest
        .tables
        .iter()
        .zip(&got)
        .filter(|(want, have)| want != have)
        .map(|(want, have)| {
            format!(
                "{}: {} rows {} in the backup, {} rows {} restored",
                want.table, want.rows, want.checksum, have.rows, have.checksum
            )
        })
        .collect();
    if !wrong.is_empty() {
        bail!(
            "the restored tables differ from the manifest:\n{}",
            wrong.join("\n")
        );
    }
    if !manifest.objects.is_empty() {
        let results = progress::step("checking every object's bytes", || {
            storage_job(object_job(
                "verify",
                api,
                &dir.join("storage"),
                &manifest.objects,
            ))
        })?;
        let mut bad = failures(&results);
        // The job answers in the order its workers finish, not in the list's.
        let got = by_object(&results);
        for o in &manifest.objects {
            match got.get(&(o.bucket.clone(), o.name.clone())) {
                Some(r) if r.get("error").is_some() => {}
                Some(r) if r["sha256"].as_str() == Some(o.sha256.as_str()) => {}
                Some(_) => bad.push(format!("{}/{}: bytes differ", o.bucket, o.name)),
                None => bad.push(format!("{}/{}: not checked", o.bucket, o.name)),
            }
        }
        if !bad.is_empty() {
            bail!(
                "restored objects differ from the manifest:\n{}",
                bad.join("\n")
            );
        }
    }
    progress::step("verifying the audit digest", || {
        audit::run(audit::AuditCommand::Verify(audit::VerifyArgs {
            target: audit::TargetArgs {
                db_url: Some(url.to_string()),
                env: None,
            },
            digests: Some(dir.join("audit-digests.jsonl")),
            allow_other_database: true,
            json: false,
        }))
    })?;
    Ok(Verified {
        tables: got.len(),
        rows: got.iter().map(|t| t.rows).sum(),
        objects: manifest.objects.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_hint_names_the_exact_package_and_folder() {
        let hint = client_hint(17);
        assert!(
            hint.contains("apt-get install -y postgresql-client-17"),
            "{hint}"
        );
        assert!(hint.contains("/usr/lib/postgresql/17/bin"), "{hint}");
    }

    #[test]
    fn seeded_tables_are_the_migrations_reference_data() {
        let seeded = seeded_tables();
        for t in [
            "public.roles",
            "public.operations_settings",
            "public.audit_logs",
        ] {
            assert!(seeded.contains(&t.to_string()), "{seeded:?}");
        }
        assert!(!seeded.contains(&"public.leads".to_string()));
    }
}
