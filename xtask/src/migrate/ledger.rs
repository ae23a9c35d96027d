//! The ledger: the Supabase CLI's `supabase_migrations.schema_migrations`, written with the CLI's
//! own statements (`pkg/migration/history.go`) so either tool can deploy, plus our checksum
//! companion table beside it (the CLI's columns stay untouched).

use std::collections::BTreeMap;

use super::error::MigrateError;
use super::session::Session;

// The Supabase CLI's statements, verbatim.
pub const SET_LOCK_TIMEOUT: &str = "SET lock_timeout = '4s'";
pub const CREATE_VERSION_SCHEMA: &str = "CREATE SCHEMA IF NOT EXISTS supabase_migrations";
pub const CREATE_VERSION_TABLE: &str =
    "CREATE TABLE IF NOT EXISTS supabase_migrations.schema_migrations (version text NOT NULL PRIMARY KEY)";
pub const ADD_STATEMENTS_COLUMN: &str =
    "ALTER TABLE supabase_migrations.schema_migrations ADD COLUMN IF NOT EXISTS statements text[]";
pub const ADD_NAME_COLUMN: &str =
    "ALTER TABLE supabase_migrations.schema_migrations ADD COLUMN IF NOT EXISTS name text";
pub const INSERT_MIGRATION_VERSION: &str =
    "INSERT INTO supabase_migrations.schema_migrations(version, name, statements) VALUES($1, $2, $3)";
pub const DELETE_MIGRATION_VERSION: &str =
    "DELETE FROM supabase_migrations.schema_migrations WHERE version = ANY($1)";

// Ours.

/// `migration repair --status applied` on a version that already has a row rewrites it.
pub const UPSERT_MIGRATION_VERSION: &str = "INSERT INTO supabase_migrations.schema_migrations(version, name, statements) \
     VALUES($1, $2, $3) ON CONFLICT (version) DO UPDATE SET name = excluded.name, statements = excluded.statements";

/// Whether the CLI's table exists with all three columns (then we need not, and as a non-owner
/// could not, run the CLI's `ALTER TABLE`s).
pub const LEDGER_COLUMNS: &str = "select count(*)::int from pg_catalog.pg_attribute \
     where attrelid = to_regclass('supabase_migrations.schema_migrations') \
       and attname in ('version', 'statements', 'name') and not attisdropped";

/// The checksum companion. `statements_sha256` identifies the ledger row the checksum was taken
/// with: if another tool rewrote that row since, the checksum is stale and not trusted.
/// RLS is on like on every table of the project; nothing but the migrating owner reads it.
pub const CREATE_CHECKSUM_TABLE: &str = "do $$ begin
  if to_regclass('supabase_migrations.schema_migrations_checksums') is null then
    create table supabase_migrations.schema_migrations_checksums (
      version text primary key,
      checksum text not null,
      statements_sha256 text not null,
      applied_at timestamptz not null default now()
    );
    comment on table supabase_migrations.schema_migrations_checksums is
      'sha256 of each applied migration file, kept by cargo xtask migrate beside the Supabase CLI''s schema_migrations';
    alter table supabase_migrations.schema_migrations_checksums enable row level security;
  end if;
end $$";

pub const UPSERT_CHECKSUM: &str = "insert into supabase_migrations.schema_migrations_checksums \
     (version, checksum, statements_sha256) values ($1, $2, $3) \
     on conflict (version) do update set checksum = excluded.checksum, \
       statements_sha256 = excluded.statements_sha256, applied_at = now()";

pub const DELETE_CHECKSUMS: &str =
    "delete from supabase_migrations.schema_migrations_checksums where version = any($1)";

/// Reads the ledger whatever columns an older CLI left (a missing column reads as NULL).
pub const SELECT_LEDGER: &str = "select m.version, \
       case when jsonb_typeof(to_jsonb(m) -> 'statements') = 'array' \
            then array(select jsonb_array_elements_text(to_jsonb(m) -> 'statements')) end as statements \
     from supabase_migrations.schema_migrations m order by m.version";

pub const SELECT_CHECKSUMS: &str =
    "select version, checksum, statements_sha256 from supabase_migrations.schema_migrations_checksums";

pub const LEDGER_EXISTS: &str =
    "select to_regclass('supabase_migrations.schema_migrations') is not null, \
            to_regclass('supabase_migrations.schema_migrations_checksums') is not null";

/// A session-level advisory lock serialises migrators on one database (advisory locks are per
/// database). The key is "SUPAMIGR" in ASCII; any constant works as long as every migrator uses it.
pub const LOCK_KEY: i64 = 0x5355_5041_4d49_4752;
pub const TRY_LOCK: &str = "select pg_try_advisory_lock($1)";
pub const LOCK: &str = "select pg_advisory_lock($1)";
pub const UNLOCK: &str = "select pg_advisory_unlock($1)";

/// One row of `schema_migrations`.
#[derive(Debug, Clone)]
pub struct Applied {
    pub version: String,
    /// NULL in rows written by very old CLI versions.
    pub statements: Option<Vec<String>>,
}

#[derive(Debug, Clone)]
pub struct Checksum {
    pub checksum: String,
    pub statements_sha256: String,
}

/// What the database has recorded.
#[derive(Debug, Default)]
pub struct Ledger {
    pub applied: Vec<Applied>,
    pub checksums: BTreeMap<String, Checksum>,
    /// The CLI's table exists with its three columns.
    pub cli_table_ready: bool,
    pub checksum_table_ready: bool,
}

fn db(what: &'static str) -> impl FnOnce(tokio_postgres::Error) -> MigrateError {
    move |source| MigrateError::Db {
        what,
        error: source,
    }
}

/// Reads the ledger without creating anything.
pub fn read(session: &Session) -> Result<Ledger, MigrateError> {
    let row = session
        .query(LEDGER_EXISTS, &[])
        .map_err(db("reading the migration ledger"))?
        .remove(0);
    let (has_ledger, has_checksums): (bool, bool) = (row.get(0), row.get(1));
    let mut ledger = Ledger::default();
    if has_ledger {
        let columns: i32 = session
            .query(LEDGER_COLUMNS, &[])
            .map_err(db("reading the migration ledger"))?[0]
            .get(0);
        ledger.cli_table_ready = columns == 3;
        ledger.applied = session
            .query(SELECT_LEDGER, &[])
            .map_err(db("reading supabase_migrations.schema_migrations"))?
            .iter()
            .map(|r| Applied {
                version: r.get(0),
                statements: r.get(1),
            })
            .collect();
    }
    ledger.checksum_table_ready = has_checksums;
    if has_checksums {
        ledger.checksums = session
            .query(SELECT_CHECKSUMS, &[])
            .map_err(db(
                "reading supabase_migrations.schema_migrations_checksums",
            ))?
            .iter()
            .map(|r| {
                (
                    r.get(0),
                    Checksum {
                        checksum: r.get(1),
                        statements_sha256: r.get(2),
                    },
                )
            })
            .collect();
    }
    Ok(ledger)
}

/// Creates what is missing: the CLI's table (with the CLI's own batch) and our checksum table.
pub fn ensure(session: &Session, ledger: &Ledger) -> Result<(), MigrateError> {
    if !ledger.cli_table_ready {
        let batch = [
            SET_LOCK_TIMEOUT,
            CREATE_VERSION_SCHEMA,
            CREATE_VERSION_TABLE,
            ADD_STATEMENTS_COLUMN,
            ADD_NAME_COLUMN,
            // The CLI's lock timeout is for creating the table only.
            "RESET lock_timeout",
        ]
        .join(";\n");
        session
            .batch(&batch)
            .map_err(db("creating supabase_migrations.schema_migrations"))?;
    }
    if !ledger.checksum_table_ready {
        session.batch(CREATE_CHECKSUM_TABLE).map_err(db(
            "creating supabase_migrations.schema_migrations_checksums",
        ))?;
    }
    Ok(())
}
