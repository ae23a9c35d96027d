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

// Issue 13: the layout Supabase's own platform tests (supabase/postgres `migrations/tests`) check
// on a hosted database, one test per difference compat had. The facts come from supabase/postgres'
// init scripts and migrations; the assertions are ours.

/// One boolean from `sql` on `client`.
fn flag(client: &mut postgres::Client, sql: &str) -> bool {
    client
        .query_one(sql, &[])
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get(0)
}

/// One text value (or NULL) from `sql` on `client`.
fn text(client: &mut postgres::Client, sql: &str) -> Option<String> {
    client
        .query_one(sql, &[])
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get(0)
}

/// Gap 0: hosted sets `supabase_admin`'s search path to `"$user", public, auth, extensions`
/// (supabase/postgres post-setup), so the platform suite's `select no_plan()` and PostGIS types
/// resolve without a schema for it.
#[test]
fn supabase_admin_searches_public_auth_and_extensions() {
    let db = cluster().compat_db();
    let mut admin = db.connect_admin();
    assert_eq!(
        text(&mut admin, "select current_setting('search_path')").as_deref(),
        Some("\"$user\", public, auth, extensions")
    );
    // The setting is the role's own (every database), as `alter role ... set` leaves it.
    assert_eq!(
        text(
            &mut admin,
            "select array_to_string(setconfig, ';') from pg_db_role_setting \
             where setrole = 'supabase_admin'::regrole and setdatabase = 0"
        )
        .as_deref(),
        Some("search_path=\"$user\", public, auth, extensions")
    );
    assert!(flag(
        &mut admin,
        "select to_regprocedure('no_plan()') is not null \
            and to_regtype('geography') is not null \
            and to_regprocedure('uid()') is not null"
    ));
}

/// Gap 1: `graphql_public`, which our `config.toml` exposes, exists as hosted lays it out
/// without pg_graphql: owned by `supabase_admin`, usable by the API roles, with the
/// placeholder `graphql()` answering that pg_graphql is not enabled.
#[test]
fn graphql_public_exists_as_on_hosted() {
    let db = cluster().compat_db();
    let mut c = db.connect();
    assert_eq!(
        text(
            &mut c,
            "select pg_get_userbyid(nspowner)::text from pg_namespace where nspname = 'graphql_public'"
        )
        .as_deref(),
        Some("supabase_admin")
    );
    for role in ["postgres", "anon", "authenticated", "service_role"] {
        assert!(
            flag(
                &mut c,
                &format!("select has_schema_privilege('{role}', 'graphql_public', 'usage')")
            ),
            "{role} lacks usage on graphql_public"
        );
        assert!(!flag(
            &mut c,
            &format!("select has_schema_privilege('{role}', 'graphql_public', 'create')")
        ));
    }
    c.batch_execute("set role anon").unwrap();
    let answer: serde_json::Value = c
        .query_one(
            "select graphql_public.graphql(query => '{ __typename }')",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(
        answer,
        serde_json::json!({"errors": [{"message": "pg_graphql extension is not enabled."}]})
    );
    c.batch_execute("reset role").unwrap();
    // What supabase_admin adds there later (pg_graphql's objects) reaches the API roles.
    db.connect_admin()
        .batch_execute("create table graphql_public.probe (id int)")
        .unwrap();
    for role in ["postgres", "anon", "authenticated", "service_role"] {
        assert!(flag(
            &mut c,
            &format!("select has_table_privilege('{role}', 'graphql_public.probe', 'select')")
        ));
    }
}

/// Every schema `[api] schemas` of `supabase/config.toml` exposes exists locally.
#[test]
fn every_schema_the_api_exposes_exists() {
    let path = xtask::paths::supabase_dir().join("config.toml");
    let config = std::fs::read_to_string(&path).unwrap();
    let line = config
        .split("\n[api]")
        .nth(1)
        .and_then(|api| {
            api.lines()
                .take_while(|l| !l.starts_with('['))
                .find(|l| l.trim_start().starts_with("schemas"))
        })
        .unwrap_or_else(|| panic!("{} sets no [api] schemas", path.display()));
    let schemas: Vec<String> = line
        .split_once('=')
        .unwrap()
        .1
        .trim()
        .trim_matches(|c| c == '[' || c == ']')
        .split(',')
        .map(|s| s.trim().trim_matches('"').to_string())
        .filter(|s| !s.is_empty())
        .collect();
    assert!(schemas.contains(&"graphql_public".to_string()));
    let db = cluster().compat_db();
    let mut c = db.connect();
    for schema in &schemas {
        assert!(
            flag(
                &mut c,
                &format!("select exists (select from pg_namespace where nspname = '{schema}')")
            ),
            "config.toml exposes schema {schema}, which does not exist"
        );
    }
}

/// Gap 2: schema `realtime` as hosted's init lays it out (the Realtime server adds its tables):
/// owned by `supabase_admin`, usable by postgres (re-grantable) and the API roles, and what
/// `supabase_admin` creates there belongs to postgres too.
#[test]
fn realtime_schema_exists_as_on_hosted() {
    let db = cluster().compat_db();
    let mut c = db.connect();
    assert_eq!(
        text(
            &mut c,
            "select pg_get_userbyid(nspowner)::text from pg_namespace where nspname = 'realtime'"
        )
        .as_deref(),
        Some("supabase_admin")
    );
    assert!(flag(
        &mut c,
        "select has_schema_privilege('postgres', 'realtime', 'usage with grant option')"
    ));
    for role in ["anon", "authenticated", "service_role"] {
        assert!(flag(
            &mut c,
            &format!("select has_schema_privilege('{role}', 'realtime', 'usage')")
        ));
    }
    for role in ["postgres", "anon", "authenticated", "service_role"] {
        assert!(!flag(
            &mut c,
            &format!("select has_schema_privilege('{role}', 'realtime', 'create')")
        ));
    }
    db.connect_admin()
        .batch_execute(
            "create table realtime.probe (id bigint generated always as identity); \
             create function realtime.probe_fn() returns int language sql as 'select 1'; \
             revoke execute on function realtime.probe_fn() from public;",
        )
        .unwrap();
    assert!(flag(
        &mut c,
        "select has_table_privilege('postgres', 'realtime.probe', 'select, insert, update, delete') \
            and has_sequence_privilege('postgres', 'realtime.probe_id_seq', 'usage') \
            and has_function_privilege('postgres', 'realtime.probe_fn()', 'execute')"
    ));
    assert!(!flag(
        &mut c,
        "select has_table_privilege('anon', 'realtime.probe', 'select')"
    ));
}

/// Gaps 3 and 4: hosted grants `pg_read_all_data` and `pg_signal_backend` to postgres
/// (supabase/postgres 20240606060239), and `pg_monitor` (20230306081037).
#[test]
fn postgres_holds_hosteds_predefined_roles() {
    let db = cluster().compat_db();
    let mut c = db.connect();
    for role in ["pg_read_all_data", "pg_signal_backend", "pg_monitor"] {
        assert!(
            flag(
                &mut c,
                &format!("select pg_has_role('postgres', '{role}', 'member')")
            ),
            "postgres is not a member of {role}"
        );
    }
    // pg_read_all_data: postgres reads a table in a schema it was given nothing on.
    db.connect_admin()
        .batch_execute(
            "create schema hidden; create table hidden.t (x int); insert into hidden.t values (7)",
        )
        .unwrap();
    assert_eq!(
        c.query_one("select x from hidden.t", &[])
            .unwrap()
            .get::<_, i32>(0),
        7
    );
    // pg_signal_backend: postgres cancels another role's query.
    let mut other = xtask::db::connect(&cluster().url("authenticator", &db.name)).unwrap();
    let pid: i32 = other
        .query_one("select pg_backend_pid()", &[])
        .unwrap()
        .get(0);
    let sent: bool = c
        .query_one("select pg_cancel_backend($1)", &[&pid])
        .unwrap_or_else(|e| panic!("postgres cannot signal authenticator's backend: {e}"))
        .get(0);
    assert!(sent);
}

/// Gap 5: `storage.migrations`, the Storage server's migration ledger, as hosted creates it:
/// owned by supabase_storage_admin, row level security on, no privilege for the API roles.
#[test]
fn storage_migrations_table_exists_as_on_hosted() {
    let db = cluster().compat_db();
    let mut c = db.connect();
    let rows = c
        .query(
            "select a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull \
             from pg_attribute a where a.attrelid = to_regclass('storage.migrations') \
               and a.attnum > 0 and not a.attisdropped order by a.attnum",
            &[],
        )
        .unwrap();
    let got: Vec<(String, String, bool)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        got,
        vec![
            ("id".into(), "integer".into(), true),
            ("name".into(), "character varying(100)".into(), true),
            ("hash".into(), "character varying(40)".into(), true),
            (
                "executed_at".into(),
                "timestamp without time zone".into(),
                false
            ),
        ]
    );
    assert_eq!(
        text(
            &mut c,
            "select pg_get_userbyid(relowner)::text from pg_class where oid = 'storage.migrations'::regclass"
        )
        .as_deref(),
        Some("supabase_storage_admin")
    );
    assert!(flag(
        &mut c,
        "select relrowsecurity from pg_class where oid = 'storage.migrations'::regclass"
    ));
    for role in ["anon", "authenticated", "service_role"] {
        assert!(!flag(
            &mut c,
            &format!(
                "select has_table_privilege('{role}', 'storage.migrations', 'select') \
                     or has_table_privilege('{role}', 'storage.migrations', 'insert')"
            )
        ));
    }
}

/// Gap 6: `storage.search()`, the function the Storage server lists a folder with: folders of
/// the level first, then the files at it, filtered by prefix and search text, under RLS.
#[test]
fn storage_search_lists_a_folder_like_the_storage_server() {
    let db = cluster().compat_db();
    let mut c = db.connect();
    assert_eq!(
        text(
            &mut c,
            "select pg_get_function_identity_arguments('storage.search'::regproc)"
        )
        .as_deref(),
        Some(
            "prefix text, bucketname text, limits integer, levels integer, offsets integer, \
             search text, sortcolumn text, sortorder text"
        )
    );
    c.batch_execute(
        "insert into storage.buckets (id, name) values ('renders', 'renders'), ('other', 'other'); \
         insert into storage.objects (bucket_id, name, metadata) values \
           ('renders', 'b.png', '{\"size\": 1}'), \
           ('renders', 'a.png', '{\"size\": 2}'), \
           ('renders', 'u1/r1/out.png', null), \
           ('renders', 'u1/notes.txt', null), \
           ('renders', 'u2/x.png', null), \
           ('other', 'c.png', null)",
    )
    .unwrap();
    let list = |c: &mut postgres::Client, sql: &str| -> Vec<(String, bool)> {
        c.query(sql, &[])
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .iter()
            .map(|r| {
                (
                    r.get::<_, String>(0),
                    r.get::<_, Option<String>>(1).is_some(),
                )
            })
            .collect()
    };
    // Top level: folders u1, u2 (no id), then files a.png, b.png.
    assert_eq!(
        list(
            &mut c,
            "select name, id::text from storage.search('', 'renders')"
        ),
        vec![
            ("u1".into(), false),
            ("u2".into(), false),
            ("a.png".into(), true),
            ("b.png".into(), true)
        ]
    );
    // Level 2 under u1/: folder r1, file notes.txt.
    assert_eq!(
        list(
            &mut c,
            "select name, id::text from storage.search('u1/', 'renders', levels => 2)"
        ),
        vec![("r1".into(), false), ("notes.txt".into(), true)]
    );
    // Search text narrows by name after the prefix (case-insensitive); sort and paging.
    assert_eq!(
        list(
            &mut c,
            "select name, id::text from storage.search('', 'renders', search => 'A')"
        ),
        vec![("a.png".into(), true)]
    );
    assert_eq!(
        list(
            &mut c,
            "select name, id::text from storage.search('', 'renders', sortorder => 'desc')"
        ),
        vec![
            ("u2".into(), false),
            ("u1".into(), false),
            ("b.png".into(), true),
            ("a.png".into(), true)
        ]
    );
    assert_eq!(
        list(
            &mut c,
            "select name, id::text from storage.search('', 'renders', limits => 2, offsets => 1)"
        ),
        vec![("u2".into(), false), ("a.png".into(), true)]
    );
    // Security invoker: authenticated without a policy sees nothing.
    c.batch_execute("set role authenticated").unwrap();
    assert_eq!(
        list(
            &mut c,
            "select name, id::text from storage.search('', 'renders')"
        ),
        vec![]
    );
}

/// Gap 7: the Storage server logs in as supabase_storage_admin and switches to the caller's
/// role through authenticator (supabase/postgres 20231013070755), not through direct grants.
#[test]
fn supabase_storage_admin_switches_roles_through_authenticator() {
    let db = cluster().compat_db();
    let mut c = db.connect();
    assert!(flag(
        &mut c,
        "select exists (select from pg_auth_members \
                         where roleid = 'authenticator'::regrole \
                           and member = 'supabase_storage_admin'::regrole)"
    ));
    assert!(!flag(
        &mut c,
        "select exists (select from pg_auth_members \
                         where roleid in ('anon'::regrole, 'authenticated'::regrole, 'service_role'::regrole) \
                           and member = 'supabase_storage_admin'::regrole)"
    ));
    for role in ["anon", "authenticated", "service_role"] {
        assert!(flag(
            &mut c,
            &format!("select pg_has_role('supabase_storage_admin', '{role}', 'member')")
        ));
    }
}

/// Gap 8: on hosted, postgres holds every privilege, re-grantable, on the tables, sequences and
/// routines supabase_admin creates in `extensions` (supabase/postgres 20230224042246): an
/// extension's table such as `us_lex` is readable by postgres.
#[test]
fn postgres_holds_what_supabase_admin_creates_in_extensions() {
    let db = cluster().compat_db();
    db.connect_admin()
        .batch_execute(
            "create table extensions.us_lex_probe (id bigint generated always as identity, word text); \
             insert into extensions.us_lex_probe (word) values ('AVENUE'); \
             create function extensions.probe_fn() returns int language sql as 'select 1'; \
             revoke execute on function extensions.probe_fn() from public;",
        )
        .unwrap();
    let mut c = db.connect();
    assert!(flag(
        &mut c,
        "select has_table_privilege('postgres', 'extensions.us_lex_probe', \
                 'select with grant option, insert with grant option, update with grant option, \
                  delete with grant option, truncate with grant option, references with grant option, \
                  trigger with grant option') \
            and has_sequence_privilege('postgres', 'extensions.us_lex_probe_id_seq', \
                 'usage with grant option, select with grant option, update with grant option') \
            and has_function_privilege('postgres', 'extensions.probe_fn()', 'execute with grant option')"
    ));
    c.batch_execute("set role postgres").unwrap();
    assert_eq!(
        text(&mut c, "select word from extensions.us_lex_probe").as_deref(),
        Some("AVENUE")
    );
    // Extension tables created before (PostGIS's spatial_ref_sys) are covered too.
    assert!(flag(
        &mut c,
        "select has_table_privilege('postgres', 'extensions.spatial_ref_sys', 'select with grant option')"
    ));
    // And the API roles get nothing from it.
    assert!(!flag(
        &mut c,
        "select has_table_privilege('anon', 'extensions.us_lex_probe', 'select')"
    ));
}

/// Compat's default privileges are hosted's, no more and no less, for the schemas it lays out
/// (supabase/postgres init scripts and migrations; hosted's `dashboard_user` grantee has no
/// local role and is left out). Narrowing rights on the project's own objects is the
/// migrations' job, never compat's.
#[test]
fn default_privileges_are_hosteds() {
    let db = cluster().compat_db();
    let rows = db
        .connect()
        .query(
            "select pg_get_userbyid(d.defaclrole)::text || ' in ' || coalesce(n.nspname, '*') || ' on ' || \
                    case d.defaclobjtype when 'r' then 'tables' when 'S' then 'sequences' \
                         when 'f' then 'functions' when 'T' then 'types' else 'schemas' end, \
                    array(select case a.grantee when 0 then 'PUBLIC' else pg_get_userbyid(a.grantee)::text end \
                                 || ' ' || a.privilege_type || case when a.is_grantable then '*' else '' end \
                            from aclexplode(d.defaclacl) a) \
             from pg_default_acl d left join pg_namespace n on n.oid = d.defaclnamespace",
            &[],
        )
        .unwrap();
    let mut got: Vec<String> = rows
        .iter()
        .map(|r| {
            let mut items: Vec<String> = r.get(1);
            items.sort();
            format!("{}: {}", r.get::<_, String>(0), items.join(", "))
        })
        .collect();
    got.sort();
    let api = ["anon", "authenticated", "postgres", "service_role"];
    let grants = |grantees: &[&str], privileges: &[&str], grantable: bool| -> String {
        let mut items: Vec<String> = grantees
            .iter()
            .flat_map(|g| {
                privileges
                    .iter()
                    .map(move |p| format!("{g} {p}{}", if grantable { "*" } else { "" }))
            })
            .collect();
        items.sort();
        items.join(", ")
    };
    let table = [
        "DELETE",
        "INSERT",
        "REFERENCES",
        "SELECT",
        "TRIGGER",
        "TRUNCATE",
        "UPDATE",
    ];
    let sequence = ["SELECT", "UPDATE", "USAGE"];
    let function = ["EXECUTE"];
    let mut want = Vec::new();
    for (owner, schema, grantees, grantable) in [
        ("postgres", "public", &api[..], false),
        ("supabase_admin", "public", &api[..], false),
        ("supabase_admin", "graphql_public", &api[..], false),
        ("supabase_admin", "realtime", &["postgres"][..], false),
        ("supabase_admin", "extensions", &["postgres"][..], true),
        ("supabase_auth_admin", "auth", &["postgres"][..], false),
        ("supabase_storage_admin", "storage", &api[..], false),
    ] {
        want.push(format!(
            "{owner} in {schema} on functions: {}",
            grants(grantees, &function, grantable)
        ));
        want.push(format!(
            "{owner} in {schema} on sequences: {}",
            grants(grantees, &sequence, grantable)
        ));
        want.push(format!(
            "{owner} in {schema} on tables: {}",
            grants(grantees, &table, grantable)
        ));
    }
    want.sort();
    assert_eq!(got, want);
}
