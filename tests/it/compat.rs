//! The Supabase compatibility layer (`xtask/sql/compat.sql`): the auth helpers read the claims
//! exactly as Supabase's do, the storage path helpers return Supabase's results, and roles,
//! ownership, RLS and grants are those of a hosted project.

use moha_tests::{cluster, TestDb};
use postgres::error::SqlState;
use postgres::Client;

const USER_A: &str = "2b6f2c3e-6a0e-4c83-9d2e-3f3b7b2f8a11";
const USER_B: &str = "9d0c4a57-1e7b-4f35-8a3c-6b2d0e9f4c22";

/// One value of `sql` (a single-column, single-row query) as text; `None` for SQL NULL.
fn text(client: &mut Client, sql: &str) -> Option<String> {
    client.query_one(sql, &[]).unwrap().get(0)
}

fn flag(client: &mut Client, sql: &str) -> bool {
    client.query_one(sql, &[]).unwrap().get(0)
}

fn compat() -> (TestDb, Client) {
    let db = cluster().compat_db();
    let client = db.connect();
    (db, client)
}

#[test]
fn auth_uid_reads_sub_from_the_claims_json() {
    let (_db, mut c) = compat();
    c.batch_execute(&format!(
        "set request.jwt.claims = '{{\"sub\": \"{USER_A}\", \"role\": \"authenticated\"}}'"
    ))
    .unwrap();
    assert_eq!(
        text(&mut c, "select auth.uid()::text").as_deref(),
        Some(USER_A)
    );
}

#[test]
fn auth_uid_prefers_the_legacy_sub_setting() {
    let (_db, mut c) = compat();
    c.batch_execute(&format!(
        "set request.jwt.claims = '{{\"sub\": \"{USER_A}\"}}'; \
         set request.jwt.claim.sub = '{USER_B}'"
    ))
    .unwrap();
    assert_eq!(
        text(&mut c, "select auth.uid()::text").as_deref(),
        Some(USER_B)
    );
}

#[test]
fn auth_uid_is_null_without_claims() {
    let (_db, mut c) = compat();
    assert_eq!(text(&mut c, "select auth.uid()::text"), None);
    assert_eq!(text(&mut c, "select auth.jwt()::text"), None);
    assert_eq!(text(&mut c, "select auth.role()"), None);
}

#[test]
fn auth_uid_treats_empty_settings_as_unset() {
    let (_db, mut c) = compat();
    c.batch_execute("set request.jwt.claims = ''; set request.jwt.claim.sub = ''")
        .unwrap();
    assert_eq!(text(&mut c, "select auth.uid()::text"), None);
    assert_eq!(text(&mut c, "select auth.jwt()::text"), None);
    // A claims object without `sub` (an anon key) gives no user either.
    c.batch_execute("set request.jwt.claims = '{\"role\": \"anon\"}'")
        .unwrap();
    assert_eq!(text(&mut c, "select auth.uid()::text"), None);
}

#[test]
fn auth_uid_rejects_malformed_claims_like_supabase() {
    // Supabase casts without guarding, so garbage is an error, never a silent NULL.
    let (_db, mut c) = compat();
    c.batch_execute("set request.jwt.claims = 'not json'")
        .unwrap();
    let err = c.query_one("select auth.uid()", &[]).unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::INVALID_TEXT_REPRESENTATION));

    let (_db, mut c) = compat();
    c.batch_execute("set request.jwt.claim.sub = 'not-a-uuid'")
        .unwrap();
    let err = c.query_one("select auth.uid()", &[]).unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::INVALID_TEXT_REPRESENTATION));
}

#[test]
fn auth_role_email_and_jwt_read_the_claims() {
    let (_db, mut c) = compat();
    c.batch_execute(&format!(
        "set request.jwt.claims = '{{\"sub\": \"{USER_A}\", \"role\": \"authenticated\", \
         \"email\": \"ana@moha.example\", \"app_metadata\": {{\"role\": \"Designer\"}}}}'"
    ))
    .unwrap();
    assert_eq!(
        text(&mut c, "select auth.role()").as_deref(),
        Some("authenticated")
    );
    assert_eq!(
        text(&mut c, "select auth.email()").as_deref(),
        Some("ana@moha.example")
    );
    assert_eq!(
        text(&mut c, "select auth.jwt() -> 'app_metadata' ->> 'role'").as_deref(),
        Some("Designer")
    );
    assert_eq!(
        text(&mut c, "select pg_typeof(auth.jwt())::text").as_deref(),
        Some("jsonb")
    );
    // The legacy per-claim settings win, as in Supabase.
    c.batch_execute("set request.jwt.claim.role = 'service_role'")
        .unwrap();
    assert_eq!(
        text(&mut c, "select auth.role()").as_deref(),
        Some("service_role")
    );
}

#[test]
fn auth_functions_are_stable_sql_with_an_empty_search_path() {
    let (_db, mut c) = compat();
    let rows = c
        .query(
            "select p.proname::text, p.provolatile::text, l.lanname::text, \
                    pg_get_function_result(p.oid), p.proconfig::text, pg_get_userbyid(p.proowner)::text \
             from pg_proc p join pg_language l on l.oid = p.prolang \
             where p.pronamespace = 'auth'::regnamespace order by 1",
            &[],
        )
        .unwrap();
    let got: Vec<(String, String, String, String, String, String)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5)))
        .collect();
    let want = |name: &str, result: &str| {
        (
            name.to_string(),
            "s".to_string(),
            "sql".to_string(),
            result.to_string(),
            "{\"search_path=\\\"\\\"\"}".to_string(),
            "supabase_auth_admin".to_string(),
        )
    };
    assert_eq!(
        got,
        vec![
            want("email", "text"),
            want("jwt", "jsonb"),
            want("role", "text"),
            want("uid", "uuid"),
        ]
    );
}

#[test]
fn storage_path_helpers_match_supabase() {
    let (_db, mut c) = compat();
    let row = c
        .query_one(
            "select storage.foldername('a/b/c.png'), storage.filename('a/b/c.png'), \
                    storage.extension('a/b/c.png'), storage.foldername('c.png'), \
                    storage.extension('folder/README'), storage.extension('a/b.tar.gz')",
            &[],
        )
        .unwrap();
    assert_eq!(row.get::<_, Vec<String>>(0), vec!["a", "b"]);
    assert_eq!(row.get::<_, String>(1), "c.png");
    assert_eq!(row.get::<_, String>(2), "png");
    assert_eq!(row.get::<_, Vec<String>>(3), Vec::<String>::new());
    assert_eq!(row.get::<_, String>(4), "README");
    assert_eq!(row.get::<_, String>(5), "gz");
}

#[test]
fn storage_objects_derive_path_tokens_from_the_name() {
    let (_db, mut c) = compat();
    c.batch_execute(
        "insert into storage.buckets (id, name) values ('renders', 'renders'); \
         insert into storage.objects (bucket_id, name) values ('renders', 'u1/r/out.png')",
    )
    .unwrap();
    let row = c
        .query_one(
            "select path_tokens, (select public from storage.buckets) from storage.objects",
            &[],
        )
        .unwrap();
    assert_eq!(row.get::<_, Vec<String>>(0), vec!["u1", "r", "out.png"]);
    assert!(!row.get::<_, bool>(1), "buckets are private by default");
    let dup = c
        .batch_execute(
            "insert into storage.objects (bucket_id, name) values ('renders', 'u1/r/out.png')",
        )
        .unwrap_err();
    assert_eq!(dup.code(), Some(&SqlState::UNIQUE_VIOLATION));
}

#[test]
fn api_roles_have_supabase_attributes() {
    let (_db, mut c) = compat();
    let rows = c
        .query(
            "select rolname::text, rolcanlogin, rolinherit, rolbypassrls, rolsuper \
             from pg_roles \
             where rolname in ('anon', 'authenticated', 'service_role', 'authenticator') \
             order by 1",
            &[],
        )
        .unwrap();
    let got: Vec<(String, bool, bool, bool, bool)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
        .collect();
    // name, login, inherit, bypassrls, superuser
    assert_eq!(
        got,
        vec![
            ("anon".into(), false, true, false, false),
            ("authenticated".into(), false, true, false, false),
            ("authenticator".into(), true, false, false, false),
            ("service_role".into(), false, true, true, false),
        ]
    );
    for role in ["anon", "authenticated", "service_role"] {
        assert!(
            flag(
                &mut c,
                &format!("select pg_has_role('authenticator', '{role}', 'member')")
            ),
            "authenticator is not granted {role}"
        );
    }
}

#[test]
fn postgres_can_set_role_to_each_api_role() {
    let (_db, mut c) = compat();
    for role in ["anon", "authenticated", "service_role"] {
        c.batch_execute(&format!("set role {role}")).unwrap();
        assert_eq!(
            text(&mut c, "select current_user::text").as_deref(),
            Some(role)
        );
        c.batch_execute("reset role").unwrap();
    }
}

#[test]
fn authenticator_logs_in_and_switches_to_api_roles() {
    let db = cluster().compat_db();
    let mut c = xtask::db::connect(&cluster().url("authenticator", &db.name)).unwrap();
    // NOINHERIT: without `set role` authenticator has none of the API roles' privileges.
    let err = c
        .query_one("select count(*) from storage.objects", &[])
        .unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::INSUFFICIENT_PRIVILEGE));
    c.batch_execute("set role authenticated").unwrap();
    let n: i64 = c
        .query_one("select count(*) from storage.objects", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 0);
}

#[test]
fn default_privileges_expose_what_postgres_creates_in_public() {
    let (_db, mut c) = compat();
    c.batch_execute(
        "create table public.projects (id bigint generated always as identity primary key, title text); \
         create function public.answer() returns int language sql set search_path = '' as 'select 42'",
    )
    .unwrap();
    for role in ["anon", "authenticated", "service_role"] {
        for privilege in ["select", "insert", "update", "delete"] {
            assert!(
                flag(
                    &mut c,
                    &format!(
                        "select has_table_privilege('{role}', 'public.projects', '{privilege}')"
                    )
                ),
                "{role} lacks {privilege} on a new public table"
            );
        }
        assert!(flag(
            &mut c,
            &format!("select has_sequence_privilege('{role}', 'public.projects_id_seq', 'usage')")
        ));
        assert!(flag(
            &mut c,
            &format!("select has_function_privilege('{role}', 'public.answer()', 'execute')")
        ));
        assert!(flag(
            &mut c,
            &format!("select has_schema_privilege('{role}', 'public', 'usage')")
        ));
    }
    c.batch_execute("set role anon").unwrap();
    let n: i64 = c
        .query_one("select count(*) from public.projects", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 0);
}

#[test]
fn auth_and_storage_are_owned_as_on_supabase() {
    let (_db, mut c) = compat();
    let rows = c
        .query(
            "select n.nspname || '.' || c.relname, pg_get_userbyid(c.relowner)::text, c.relrowsecurity \
             from pg_class c join pg_namespace n on n.oid = c.relnamespace \
             where c.relkind = 'r' and n.nspname in ('auth', 'storage') order by 1",
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
            ("auth.identities".into(), "supabase_auth_admin".into(), true),
            (
                "auth.mfa_amr_claims".into(),
                "supabase_auth_admin".into(),
                true
            ),
            (
                "auth.refresh_tokens".into(),
                "supabase_auth_admin".into(),
                true
            ),
            ("auth.sessions".into(), "supabase_auth_admin".into(), true),
            ("auth.users".into(), "supabase_auth_admin".into(), true),
            (
                "storage.buckets".into(),
                "supabase_storage_admin".into(),
                true
            ),
            (
                "storage.migrations".into(),
                "supabase_storage_admin".into(),
                true
            ),
            (
                "storage.objects".into(),
                "supabase_storage_admin".into(),
                true
            ),
        ]
    );
    assert_eq!(
        text(
            &mut c,
            "select pg_get_userbyid(nspowner)::text from pg_namespace where nspname = 'auth'"
        )
        .as_deref(),
        Some("supabase_auth_admin")
    );
    assert_eq!(
        text(
            &mut c,
            "select pg_get_userbyid(nspowner)::text from pg_namespace where nspname = 'storage'"
        )
        .as_deref(),
        Some("supabase_storage_admin")
    );
}

#[test]
fn storage_grants_everything_to_the_api_roles_and_rls_decides() {
    let (_db, mut c) = compat();
    for role in ["anon", "authenticated", "service_role", "postgres"] {
        for table in ["storage.buckets", "storage.objects"] {
            for privilege in ["select", "insert", "update", "delete"] {
                assert!(
                    flag(
                        &mut c,
                        &format!("select has_table_privilege('{role}', '{table}', '{privilege}')")
                    ),
                    "{role} lacks {privilege} on {table}"
                );
            }
        }
    }
    // With RLS on and no policy, authenticated sees nothing even though a row exists.
    c.batch_execute(
        "insert into storage.buckets (id, name, public) values ('blog-media', 'blog-media', true); \
         insert into storage.objects (bucket_id, name) values ('blog-media', 'cover.jpg')",
    )
    .unwrap();
    c.batch_execute("set role authenticated").unwrap();
    let n: i64 = c
        .query_one("select count(*) from storage.objects", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 0, "RLS without a policy must hide storage objects");
    c.batch_execute("set role service_role").unwrap();
    let n: i64 = c
        .query_one("select count(*) from storage.objects", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 1, "service_role bypasses RLS");
}

#[test]
fn api_roles_use_auth_but_cannot_read_auth_users() {
    let (_db, mut c) = compat();
    for role in ["anon", "authenticated", "service_role"] {
        assert!(flag(
            &mut c,
            &format!("select has_schema_privilege('{role}', 'auth', 'usage')")
        ));
        assert!(flag(
            &mut c,
            &format!("select has_function_privilege('{role}', 'auth.uid()', 'execute')")
        ));
        assert!(!flag(
            &mut c,
            &format!("select has_table_privilege('{role}', 'auth.users', 'select')")
        ));
    }
}

#[test]
fn extensions_live_in_the_extensions_schema() {
    let (_db, mut c) = compat();
    let rows = c
        .query(
            "select e.extname::text from pg_extension e \
             where e.extnamespace = 'extensions'::regnamespace order by 1",
            &[],
        )
        .unwrap();
    let names: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    for ext in ["pgcrypto", "plpgsql_check", "pgtap", "postgis", "uuid-ossp"] {
        assert!(
            names.contains(&ext.to_string()),
            "{ext} missing from extensions: {names:?}"
        );
    }
    // postgres's search_path includes `extensions`, as on hosted.
    assert_eq!(
        text(
            &mut c,
            "select length(extensions.gen_random_uuid()::text)::text"
        )
        .as_deref(),
        Some("36")
    );
    assert!(flag(
        &mut c,
        "select crypt('secret', gen_salt('bf')) like '$2a$%'"
    ));
}

#[test]
fn realtime_publication_is_empty_and_owned_by_postgres() {
    let (_db, mut c) = compat();
    let row = c
        .query_one(
            "select pg_get_userbyid(pubowner)::text, puballtables, \
                    (select count(*) from pg_publication_tables where pubname = 'supabase_realtime') \
             from pg_publication where pubname = 'supabase_realtime'",
            &[],
        )
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "postgres");
    assert!(!row.get::<_, bool>(1));
    assert_eq!(row.get::<_, i64>(2), 0);
    c.batch_execute(
        "create table public.social_messages (id bigint primary key); \
         alter publication supabase_realtime add table public.social_messages",
    )
    .unwrap();
}

#[test]
fn install_is_idempotent() {
    let db = cluster().empty_db();
    let mut admin = db.connect_admin();
    xtask::compat::install(&mut admin).unwrap();
    assert!(xtask::compat::is_installed(&mut admin).unwrap());
    db.connect()
        .batch_execute(
            "insert into auth.users (id, email) values (gen_random_uuid(), 'ana@moha.example'); \
             insert into storage.buckets (id, name) values ('renders', 'renders'); \
             create policy renders_read on storage.objects for select to authenticated \
               using (bucket_id = 'renders')",
        )
        .unwrap();
    xtask::compat::install(&mut admin).unwrap();
    // A second run keeps data and what migrations added.
    let mut c = db.connect();
    assert!(flag(
        &mut c,
        "select (select count(*) from auth.users) = 1 \
             and (select count(*) from storage.buckets) = 1 \
             and exists (select from pg_policies where policyname = 'renders_read')"
    ));
}

#[test]
fn is_installed_is_false_on_a_plain_database() {
    let db = cluster().empty_db();
    assert!(!xtask::compat::is_installed(&mut db.connect()).unwrap());
}
