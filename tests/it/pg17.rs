//! PostgreSQL 17, the major version new hosted projects run (issue 13): the compat layer and
//! every migration applied, as `postgres`, to a PostgreSQL 17 server from npm (see
//! `moha_tests::pg17`), and the database compared with the same migrations on our
//! PostgreSQL 15. What differs is listed here, asserted, and explained in docs/fidelity.md.

use std::collections::BTreeSet;

use moha_tests::support::{self, Ran};
use moha_tests::{cluster, pg17_cluster, TestDb};
use postgres::error::SqlState;
use postgres::Client;

fn flag(c: &mut Client, sql: &str) -> bool {
    c.query_one(sql, &[])
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get(0)
}

#[test]
fn the_server_is_postgres_17() {
    let db = pg17_cluster().compat_db();
    let n: i32 = db
        .connect()
        .query_one("select current_setting('server_version_num')::int", &[])
        .unwrap()
        .get(0);
    assert!((170000..180000).contains(&n), "server_version_num {n}");
}

/// What a migrated database is made of, one line per fact, in the schemas the migrations own
/// (and `storage`, where they add policies): relations, columns, constraints, indexes, policies,
/// functions, triggers, privileges and default privileges.
fn describe(db: &TestDb) -> BTreeSet<String> {
    let mut c = db.connect();
    c.batch_execute("set search_path = ''").unwrap();
    let queries = [
        // Relations, with RLS and their privileges.
        "select 'relation ' || c.oid::regclass || ' ' || c.relkind::text || ' rls=' || c.relrowsecurity \
                || ' owner=' || pg_get_userbyid(c.relowner) \
           from pg_class c join pg_namespace n on n.oid = c.relnamespace \
          where n.nspname in ('public', 'private', 'authz') and c.relkind in ('r', 'p', 'v', 'm', 'S')",
        "select 'grant ' || c.oid::regclass || ' ' || \
                case a.grantee when 0 then 'PUBLIC' else pg_get_userbyid(a.grantee) end || ' ' || \
                a.privilege_type || case when a.is_grantable then '*' else '' end \
           from pg_class c join pg_namespace n on n.oid = c.relnamespace, aclexplode(c.relacl) a \
          where n.nspname in ('public', 'private', 'authz')",
        "select 'column ' || a.attrelid::regclass || '.' || a.attname || ' ' || \
                format_type(a.atttypid, a.atttypmod) || case when a.attnotnull then ' not null' else '' end || \
                coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '') \
           from pg_attribute a join pg_class c on c.oid = a.attrelid \
           join pg_namespace n on n.oid = c.relnamespace \
           left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum \
          where n.nspname in ('public', 'private', 'authz') and c.relkind in ('r', 'p', 'v') \
            and a.attnum > 0 and not a.attisdropped",
        "select 'column grant ' || a.attrelid::regclass || '.' || a.attname || ' ' || \
                pg_get_userbyid(x.grantee) || ' ' || x.privilege_type \
           from pg_attribute a join pg_class c on c.oid = a.attrelid \
           join pg_namespace n on n.oid = c.relnamespace, aclexplode(a.attacl) x \
          where n.nspname in ('public', 'private', 'authz') and a.attnum > 0",
        "select 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid) \
           from pg_constraint where connamespace in ('public'::regnamespace, 'private'::regnamespace, 'authz'::regnamespace)",
        "select 'index ' || pg_get_indexdef(i.indexrelid) \
           from pg_index i join pg_class c on c.oid = i.indexrelid \
          where c.relnamespace in ('public'::regnamespace, 'private'::regnamespace, 'authz'::regnamespace)",
        "select 'policy ' || schemaname || '.' || tablename || ' ' || policyname || ' ' || permissive || ' ' || \
                roles::text || ' ' || cmd || ' using=' || coalesce(qual, '') || ' check=' || coalesce(with_check, '') \
           from pg_policies where schemaname in ('public', 'private', 'authz', 'storage')",
        "select 'function ' || p.oid::regprocedure || ' returns ' || pg_get_function_result(p.oid) || \
                ' ' || p.provolatile::text || ' definer=' || p.prosecdef || ' config=' || coalesce(p.proconfig::text, '') || \
                ' owner=' || pg_get_userbyid(p.proowner) || ' md5=' || md5(p.prosrc) \
           from pg_proc p where p.pronamespace in ('public'::regnamespace, 'private'::regnamespace, 'authz'::regnamespace)",
        "select 'function grant ' || p.oid::regprocedure || ' ' || \
                case a.grantee when 0 then 'PUBLIC' else pg_get_userbyid(a.grantee) end || ' ' || a.privilege_type \
           from pg_proc p, aclexplode(p.proacl) a \
          where p.pronamespace in ('public'::regnamespace, 'private'::regnamespace, 'authz'::regnamespace)",
        "select 'trigger ' || pg_get_triggerdef(t.oid) from pg_trigger t \
           join pg_class c on c.oid = t.tgrelid \
          where not t.tgisinternal \
            and c.relnamespace in ('public'::regnamespace, 'private'::regnamespace, 'authz'::regnamespace, 'auth'::regnamespace)",
        "select 'default acl ' || pg_get_userbyid(d.defaclrole) || ' ' || coalesce(d.defaclnamespace::regnamespace::text, '*') || \
                ' ' || d.defaclobjtype::text || ' ' || \
                case a.grantee when 0 then 'PUBLIC' else pg_get_userbyid(a.grantee) end || ' ' || a.privilege_type \
           from pg_default_acl d, aclexplode(d.defaclacl) a",
        "select 'role ' || r.rolname || ' super=' || r.rolsuper || ' inherit=' || r.rolinherit || \
                ' login=' || r.rolcanlogin || ' bypassrls=' || r.rolbypassrls \
           from pg_roles r where r.rolname not like 'pg\\_%'",
        "select 'member ' || pg_get_userbyid(m.roleid) || ' > ' || pg_get_userbyid(m.member) || \
                ' admin=' || m.admin_option \
           from pg_auth_members m \
          where pg_get_userbyid(m.roleid) not like 'pg\\_%' or pg_get_userbyid(m.member) = 'postgres'",
        "select 'publication table ' || schemaname || '.' || tablename from pg_publication_tables \
          where pubname = 'supabase_realtime'",
    ];
    let mut lines = BTreeSet::new();
    for q in queries {
        for row in c
            .query(q, &[])
            .unwrap_or_else(|e| panic!("{q}: {:?}", e.as_db_error()))
        {
            let line: Option<String> = row.get(0);
            lines.insert(line.unwrap_or_else(|| panic!("a NULL line from {q}")));
        }
    }
    lines
}

/// The same migrations on 15 and on 17 give the same database, except for what follows; each
/// difference is explained in docs/fidelity.md ("PostgreSQL 17").
#[test]
fn migrations_give_the_same_database_on_17_as_on_15() {
    let on15 = describe(&cluster().migrated_db());
    let on17 = describe(&pg17_cluster().migrated_db());
    let only15: Vec<String> = on15.difference(&on17).cloned().collect();
    let mut only17: Vec<String> = on17.difference(&on15).cloned().collect();

    // 1. The PostGIS stand-in prints geography without its type modifier.
    // 2. On 16 and later, postgres holds the API roles WITH ADMIN OPTION (hosted's
    //    20250605172253, reproduced by compat), which replaces the plain membership.
    assert_eq!(
        only15,
        [
            "column public.projects.location extensions.geography(Point,4326)",
            "column public.projects.site extensions.geography(Polygon,4326)",
            "member anon > postgres admin=false",
            "member authenticated > postgres admin=false",
            "member service_role > postgres admin=false",
        ]
        .map(String::from),
        "only on 15"
    );
    let mut expected17: Vec<String> = [
        "column public.projects.location extensions.geography",
        "column public.projects.site extensions.geography",
        "member anon > postgres admin=true",
        "member authenticated > postgres admin=true",
        "member service_role > postgres admin=true",
    ]
    .map(String::from)
    .to_vec();
    // 3. On 16 and later, creating a role makes its creator a member WITH ADMIN OPTION
    //    (neither inheriting nor able to `set role`: the migrations' own grants do that).
    let catalog = sql::Catalog::from_releases(&sql::moha::releases()).unwrap();
    for role in &catalog.roles {
        expected17.push(format!("member {} > postgres admin=true", role.name));
    }
    // 4. PostgreSQL 17's MAINTAIN privilege is part of ALL on tables: it appears exactly where
    //    a role holds every other table privilege (owners, and `grant all` in default
    //    privileges), and nowhere else.
    let table_privileges = [
        "DELETE",
        "INSERT",
        "REFERENCES",
        "SELECT",
        "TRIGGER",
        "TRUNCATE",
        "UPDATE",
    ];
    for line in &on15 {
        for prefix in ["grant ", "default acl "] {
            if !line.starts_with(prefix) || !line.ends_with(" SELECT") {
                continue;
            }
            let head = line.trim_end_matches(" SELECT");
            if prefix == "default acl " && head.split(' ').nth(4) != Some("r") {
                continue;
            }
            if table_privileges
                .iter()
                .all(|p| on15.contains(&format!("{head} {p}")))
            {
                expected17.push(format!("{head} MAINTAIN"));
            }
        }
    }
    // (The security migration also revokes `maintain` from the default privileges postgres
    // holds in public on 17, so those rows stay as narrow as on 15: no line for them here.)
    expected17.sort();
    only17.sort();
    assert_eq!(only17, expected17, "only on 17");
}

/// On 16 and later a role is granted only by holders of its ADMIN OPTION; the rbac migration
/// grants `authenticated` to the business roles, so postgres needs it, as hosted gives it.
#[test]
fn granting_an_api_role_needs_hosteds_admin_option_on_17() {
    let db = pg17_cluster().compat_db();
    let mut admin = db.connect_admin();
    // Roles are the cluster's: everything happens in a transaction that is rolled back.
    let mut tx = admin.transaction().unwrap();
    tx.batch_execute(
        "set local role postgres; \
         create role probe_role nologin; grant authenticated to probe_role; \
         reset role",
    )
    .unwrap_or_else(|e| panic!("postgres cannot grant authenticated with hosted's rights: {e}"));
    tx.batch_execute(
        "revoke admin option for authenticated from postgres cascade; \
         set local role postgres; create role probe_role2 nologin",
    )
    .unwrap();
    let err = tx
        .batch_execute("grant authenticated to probe_role2")
        .unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::INSUFFICIENT_PRIVILEGE), "{err}");
    tx.rollback().unwrap();
}

/// No API role (nor a business role) holds MAINTAIN on a project table: VACUUM, ANALYZE,
/// REINDEX, CLUSTER, REFRESH and LOCK stay the owner's.
#[test]
fn no_api_role_may_maintain_a_project_table_on_17() {
    let db = pg17_cluster().migrated_db();
    let rows = db
        .connect()
        .query(
            "select r.rolname::text || ' ' || c.oid::regclass::text \
               from pg_class c join pg_namespace n on n.oid = c.relnamespace, pg_roles r \
              where n.nspname in ('public', 'private', 'authz') and c.relkind in ('r', 'p', 'm') \
                and r.rolname in ('anon', 'authenticated', 'service_role', 'ai_agent', \
                                  'moha_admin', 'moha_designer', 'moha_client', 'moha_sales') \
                and has_table_privilege(r.oid, c.oid, 'MAINTAIN')",
            &[],
        )
        .unwrap();
    let found: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(found, Vec::<String>::new());
}

/// The pgTAP suite of `supabase/tests` passes on 17 as on 15.
#[test]
fn pgtap_suite_passes_on_17() {
    let db = pg17_cluster().migrated_db();
    let dir = xtask::paths::supabase_dir().join("tests");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    files.sort();
    let Ran { ok, stdout, stderr } = support::pg_prove(&db.url(), &files);
    assert!(
        ok && stdout.contains("All tests successful")
            && stdout.contains(&format!("Files={}", files.len())),
        "pg_prove failed on PostgreSQL 17:\n{stdout}\n{stderr}"
    );
}

/// Hosted's platform-level refusals hold on 17 too: postgres is no superuser.
#[test]
fn postgres_stays_a_non_superuser_on_17() {
    let db = pg17_cluster().compat_db();
    let mut c = db.connect();
    assert!(!flag(
        &mut c,
        "select rolsuper from pg_roles where rolname = 'postgres'"
    ));
    let err = c
        .batch_execute(
            "create function public.log_ddl() returns event_trigger language plpgsql \
               set search_path = '' as $$ begin end $$; \
             create event trigger log_ddl on ddl_command_end execute function public.log_ddl();",
        )
        .unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::INSUFFICIENT_PRIVILEGE), "{err}");
    assert!(flag(
        &mut c,
        "select count(*) = 2 from pg_extension where extname in ('pgcrypto', 'uuid-ossp') \
            and extnamespace = 'extensions'::regnamespace"
    ));
}

/// Issue 17: the schedules migration creates pg_net and supabase_vault as extensions where the
/// server has their packages (hosted; here the stand-ins of `moha_tests::pg17`), and uses the
/// compat layer's objects where it has none (15): one file, both ways. pg_cron is not on 17:
/// the migration schedules nothing there and says so.
#[test]
fn the_schedules_migration_creates_pg_net_and_vault_as_extensions_where_packaged() {
    let on_17 = pg17_cluster().migrated_db();
    let on_15 = cluster().migrated_db();
    let extensions = |c: &mut Client| -> Vec<String> {
        c.query(
            "select extname::text from pg_extension \
              where extname in ('pg_cron', 'pg_net', 'supabase_vault') order by 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
    };
    assert_eq!(
        extensions(&mut on_17.connect()),
        ["pg_net", "supabase_vault"]
    );
    assert!(extensions(&mut on_15.connect()).is_empty());
    for db in [&on_17, &on_15] {
        let mut c = db.connect();
        c.batch_execute(
            "select vault.create_secret('http://127.0.0.1:1', 'project_url'); \
             select vault.create_secret(repeat('s', 40), 'scheduled_call_secret'); \
             select private.call_edge_function('j', 'f', '{}');",
        )
        .unwrap();
        let queued: i64 = c
            .query_one(
                "select count(*) from net.http_request_queue q join vault.decrypted_secrets s \
                   on q.headers ->> 'Authorization' = 'Bearer ' || s.decrypted_secret \
                  where s.name = 'scheduled_call_secret'",
                &[],
            )
            .unwrap()
            .get(0);
        assert_eq!(queued, 1);
    }
}
