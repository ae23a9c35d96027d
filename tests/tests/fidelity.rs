//! Hosted fidelity (issue 7): a migration that passes here must pass on hosted Supabase, so it
//! runs as the same non-superuser `postgres`, with the same rights on `auth`, `storage` and
//! extensions. Each migration body below is applied as `supabase db push` applies a file: as
//! `postgres`, in one transaction.

use moha_tests::{cluster, TestDb};
use postgres::error::SqlState;

/// Applies `sql` as `postgres` in one transaction, as a migration file is applied.
fn apply(db: &TestDb, sql: &str) -> Result<(), postgres::Error> {
    let mut client = db.connect();
    let mut tx = client.transaction()?;
    tx.batch_execute(sql)?;
    tx.commit()
}

/// Applies `sql` and expects PostgreSQL's permission error (SQLSTATE 42501).
fn assert_refused(db: &TestDb, sql: &str) {
    match apply(db, sql) {
        Ok(()) => panic!("a migration only a superuser or owner may run was applied: {sql}"),
        Err(e) => assert_eq!(
            e.code(),
            Some(&SqlState::INSUFFICIENT_PRIVILEGE),
            "{sql}: expected a permission error, got {e}"
        ),
    }
}

#[test]
fn postgres_is_not_a_superuser() {
    let db = cluster().compat_db();
    let row = db
        .connect()
        .query_one(
            "select rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, rolreplication, rolcanlogin \
             from pg_roles where rolname = 'postgres'",
            &[],
        )
        .unwrap();
    assert!(!row.get::<_, bool>(0), "postgres must not be a superuser");
    // The rest of hosted's attributes: CREATEROLE CREATEDB BYPASSRLS REPLICATION LOGIN.
    for i in 1..=5 {
        assert!(row.get::<_, bool>(i), "postgres lacks attribute #{i}");
    }
}

#[test]
fn event_trigger_migration_is_refused() {
    let db = cluster().compat_db();
    assert_refused(
        &db,
        "create function public.log_ddl() returns event_trigger language plpgsql \
           set search_path = '' as $$ begin end $$; \
         create event trigger log_ddl on ddl_command_end execute function public.log_ddl();",
    );
}

#[test]
fn alter_system_is_refused() {
    let db = cluster().compat_db();
    // ALTER SYSTEM cannot run inside a transaction block, so it is sent on its own.
    let err = db
        .connect()
        .batch_execute("alter system set work_mem = '64MB'")
        .unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::INSUFFICIENT_PRIVILEGE), "{err}");
}

#[test]
fn granting_superuser_is_refused() {
    let db = cluster().compat_db();
    assert_refused(&db, "alter role postgres superuser;");
    assert_refused(&db, "create role sneaky superuser;");
}

#[test]
fn untrusted_extension_outside_the_allowed_list_is_refused() {
    let db = cluster().compat_db();
    let available: bool = db
        .connect()
        .query_one(
            "select exists (select from pg_available_extensions where name = 'file_fdw')",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(
        available,
        "file_fdw (postgresql-15 contrib) is not installed"
    );
    assert_refused(
        &db,
        "create extension if not exists file_fdw with schema extensions;",
    );
}

#[test]
fn allowed_extensions_are_no_ops_for_postgres() {
    let db = cluster().compat_db();
    apply(
        &db,
        "create extension if not exists postgis with schema extensions; \
         create extension if not exists pgcrypto with schema extensions; \
         create extension if not exists \"uuid-ossp\" with schema extensions; \
         create extension if not exists pgtap with schema extensions; \
         create extension if not exists plpgsql_check with schema extensions;",
    )
    .unwrap();
    // And usable by postgres, as in a migration that stores project sites.
    apply(
        &db,
        "create table public.sites (id bigint primary key, location extensions.geography(point, 4326)); \
         insert into public.sites values (1, extensions.st_point(55.27, 25.20)::extensions.geography);",
    )
    .unwrap();
}

#[test]
fn trusted_extensions_are_creatable_in_extensions() {
    let db = cluster().compat_db();
    apply(
        &db,
        "create extension if not exists citext with schema extensions;",
    )
    .unwrap();
    let schema: String = db
        .connect()
        .query_one(
            "select extnamespace::regnamespace::text from pg_extension where extname = 'citext'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(schema, "extensions");
}

#[test]
fn storage_policies_and_buckets_can_be_created_by_migrations() {
    // Hosted allows this through supautils' policy_grants; the local layer must allow it too.
    let db = cluster().compat_db();
    apply(
        &db,
        "insert into storage.buckets (id, name, public) values ('renders', 'renders', false) \
           on conflict (id) do nothing; \
         create policy \"renders: owners read\" on storage.objects for select to authenticated \
           using (bucket_id = 'renders' and (storage.foldername(name))[1] = (select auth.uid())::text); \
         alter policy \"renders: owners read\" on storage.objects to authenticated, service_role; \
         drop policy \"renders: owners read\" on storage.objects; \
         create policy \"buckets: read\" on storage.buckets for select using (true);",
    )
    .unwrap();
}

#[test]
fn auth_users_take_foreign_keys_triggers_and_policies() {
    let db = cluster().compat_db();
    apply(
        &db,
        "create table public.profiles ( \
           id uuid primary key references auth.users (id) on delete cascade, full_name text); \
         alter table public.profiles enable row level security; \
         create function public.handle_new_user() returns trigger language plpgsql \
           security definer set search_path = '' as $$ \
           begin insert into public.profiles (id) values (new.id); return new; end $$; \
         create trigger on_auth_user_created after insert on auth.users \
           for each row execute function public.handle_new_user(); \
         insert into auth.users (id, email) values (gen_random_uuid(), 'ana@moha.example');",
    )
    .unwrap();
    // A later migration replaces the trigger, as hosted's drop_trigger_grants allows.
    apply(
        &db,
        "drop trigger if exists on_auth_user_created on auth.users; \
         create trigger on_auth_user_created after insert on auth.users \
           for each row execute function public.handle_new_user();",
    )
    .unwrap();
    let n: i64 = db
        .connect()
        .query_one("select count(*) from public.profiles", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
}

#[test]
fn auth_and_storage_objects_postgres_does_not_own_stay_closed() {
    let db = cluster().compat_db();
    for sql in [
        "alter table storage.objects add column note text;",
        "alter table storage.objects disable row level security;",
        "alter table auth.users add column nickname text;",
        "create index on auth.users (phone);",
        "comment on table storage.buckets is 'mine';",
        "drop table storage.objects;",
        "drop function auth.uid();",
        "create table storage.extra (id int);",
        "create function auth.is_admin() returns boolean language sql set search_path = '' as 'select true';",
        "create or replace function auth.uid() returns uuid language sql set search_path = '' as 'select null::uuid';",
    ] {
        assert_refused(&db, sql);
    }
}

#[test]
fn migrations_run_as_postgres_and_own_what_they_create() {
    // Objects owned by the superuser in `public` would mean a migration ran with rights hosted
    // never gives.
    let db = cluster().migrated_db();
    let rows = db
        .connect()
        .query(
            "select c.relname::text, pg_get_userbyid(c.relowner)::text from pg_class c \
             where c.relnamespace = 'public'::regnamespace and pg_get_userbyid(c.relowner) <> 'postgres'",
            &[],
        )
        .unwrap();
    let foreign: Vec<(String, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert!(
        foreign.is_empty(),
        "public objects not owned by postgres: {foreign:?}"
    );
}
