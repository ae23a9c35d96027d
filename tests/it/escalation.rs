//! Escalation attempts, each of which must be refused: what an attacker holding a valid
//! session (or none) would try. Every attempt runs as PostgREST would run it and is rolled back.

use moha_tests::personas::{self, act_as, act_as_with, claims, id, persona};
use moha_tests::{cluster, TestDb};
use postgres::types::ToSql;
use postgres::Client;

const CLIENT2_PROJECT: &str = "12000000-0000-4000-a000-000000000002";
const CLIENT2_RENDER: &str = "15000000-0000-4000-a000-000000000002";
const LEAD_A: &str = "16000000-0000-4000-a000-000000000001";
const DESIGNER_DRAFT: &str = "14000000-0000-4000-a000-000000000002";

fn seeded() -> (TestDb, Client) {
    let db = cluster().migrated_db();
    let mut c = db.connect();
    personas::create(&mut c, true).unwrap_or_else(|e| panic!("{e:#}"));
    (db, c)
}

/// Runs `sql` as `who` (with `claims`, or the persona's own) and rolls back: the number of rows
/// affected or returned, or the SQLSTATE.
fn attempt_with(
    c: &mut Client,
    who: &str,
    claims: Option<serde_json::Value>,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<u64, String> {
    let p = persona(who);
    let mut tx = c.transaction().unwrap();
    match claims {
        Some(cl) => act_as_with(&mut tx, p, &cl).unwrap(),
        None => act_as(&mut tx, p).unwrap(),
    }
    let r = if sql.trim_start().starts_with("select") {
        tx.query(sql, params).map(|rows| rows.len() as u64)
    } else {
        tx.execute(sql, params)
    };
    tx.rollback().unwrap();
    r.map_err(|e| {
        e.code()
            .map(|c| c.code().to_string())
            .unwrap_or_else(|| e.to_string())
    })
}

fn attempt(
    c: &mut Client,
    who: &str,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<u64, String> {
    attempt_with(c, who, None, sql, params)
}

/// The SQLSTATE of every refusal here: no privilege, or a policy's check (PostgreSQL reports
/// both as 42501). Any other error (an undefined column, a typo) is a broken test, not a refusal.
const REFUSED: &str = "42501";

/// Refused outright: 42501 (no privilege, or a policy's check).
#[track_caller]
fn refused(r: Result<u64, String>, what: &str) {
    assert_eq!(r, Err(REFUSED.to_string()), "{what}: expected a refusal");
}

/// Refused either way: by privilege or a policy's check (42501) or by row filtering (no rows).
#[track_caller]
fn denied(r: Result<u64, String>, what: &str) {
    assert!(
        r == Ok(0) || r == Err(REFUSED.to_string()),
        "{what}: expected a refusal, got {r:?}"
    );
}

/// Refused by row filtering: the statement succeeds and touches nothing.
#[track_caller]
fn nothing(r: Result<u64, String>, what: &str) {
    assert_eq!(r, Ok(0), "{what}");
}

#[test]
fn nobody_but_an_admin_changes_a_role() {
    let (_db, mut c) = seeded();
    let to_admin = "update public.users set role_id = (select id from public.roles where name = 'Admin') where id = $1::text::uuid";
    for who in ["client", "designer", "sales_a"] {
        refused(
            attempt(&mut c, who, to_admin, &[&id(who)]),
            &format!("{who} promotes themselves"),
        );
    }
    // Another user's role: only an Admin's database role may write the column at all.
    refused(
        attempt(&mut c, "sales_a", to_admin, &[&id("sales_b")]),
        "sales_a promotes sales_b",
    );
    // An Admin may.
    assert_eq!(attempt(&mut c, "admin", to_admin, &[&id("sales_a")]), Ok(1));
    // Email belongs to Auth: not updatable even on one's own row.
    refused(
        attempt(
            &mut c,
            "client",
            "update public.users set email = 'x@evil.test' where id = $1::text::uuid",
            &[&id("client")],
        ),
        "client changes their email",
    );
}

#[test]
fn rows_owned_by_someone_else_cannot_be_created() {
    let (_db, mut c) = seeded();
    let victim = id("client2");
    refused(
        attempt(&mut c, "client", "insert into public.user_sessions (user_id, session_token, expires_at) values ($1::text::uuid, 'stolen', now() + interval '1 day')", &[&victim]),
        "session for someone else",
    );
    refused(
        attempt(&mut c, "designer", "insert into public.blog_posts (title, slug, author_id) values ('x', 'x', $1::text::uuid)", &[&id("admin")]),
        "post authored by someone else",
    );
    refused(
        attempt(&mut c, "client", "insert into public.render_requests (user_id, input_file_path, model) values ($1::text::uuid, 'x', 'x')", &[&victim]),
        "render request for someone else",
    );
    refused(
        attempt(
            &mut c,
            "client",
            "insert into public.render_parameters (request_id, style) values ($1::text::uuid, 'x')",
            &[&CLIENT2_RENDER],
        ),
        "parameters on someone else's render",
    );
    refused(
        attempt(&mut c, "sales_b", "insert into public.lead_notes (lead_id, note, created_by) values ($1::text::uuid, 'x', $2::text::uuid)", &[&LEAD_A, &id("sales_b")]),
        "note on another Sales user's lead",
    );
    refused(
        attempt(&mut c, "sales_a", "insert into public.lead_notes (lead_id, note, created_by) values ($1::text::uuid, 'x', $2::text::uuid)", &[&LEAD_A, &id("sales_b")]),
        "note in someone else's name",
    );
    refused(
        attempt(&mut c, "client", "insert into public.notifications (user_id, kind, title) values ($1::text::uuid, 'x', 'phish')", &[&victim]),
        "notification to someone else",
    );
}

#[test]
fn sales_cannot_reassign_leads_or_touch_scores() {
    let (_db, mut c) = seeded();
    refused(
        attempt(
            &mut c,
            "sales_a",
            "update public.leads set assigned_to = $2::text::uuid where id = $1::text::uuid",
            &[&LEAD_A, &id("sales_b")],
        ),
        "hand a lead to sales_b",
    );
    refused(
        attempt(
            &mut c,
            "sales_a",
            "update public.leads set assigned_to = null where id = $1::text::uuid",
            &[&LEAD_A],
        ),
        "unassign a lead",
    );
    refused(
        attempt(
            &mut c,
            "sales_b",
            "update public.leads set assigned_to = $2::text::uuid where id = $1::text::uuid",
            &[&LEAD_A, &id("sales_b")],
        ),
        "take sales_a's lead",
    );
    refused(
        attempt(
            &mut c,
            "sales_a",
            "update public.leads set score = 100 where id = $1::text::uuid",
            &[&LEAD_A],
        ),
        "set the AI score",
    );
    refused(
        attempt(&mut c, "sales_a", "insert into public.lead_scoring (lead_id, score, model) values ($1::text::uuid, 100, 'me')", &[&LEAD_A]),
        "write a score",
    );
    // The status is theirs to change.
    assert_eq!(
        attempt(
            &mut c,
            "sales_a",
            "update public.leads set status = 'qualified' where id = $1::text::uuid",
            &[&LEAD_A]
        ),
        Ok(1)
    );
}

#[test]
fn other_clients_data_is_invisible() {
    let (_db, mut c) = seeded();
    nothing(
        attempt(
            &mut c,
            "client",
            "select 1 from public.projects where id = $1::text::uuid",
            &[&CLIENT2_PROJECT],
        ),
        "client2's project",
    );
    nothing(
        attempt(
            &mut c,
            "client",
            "select 1 from public.project_images where project_id = $1::text::uuid",
            &[&CLIENT2_PROJECT],
        ),
        "client2's project images",
    );
    nothing(
        attempt(
            &mut c,
            "client",
            "select 1 from public.render_requests where id = $1::text::uuid",
            &[&CLIENT2_RENDER],
        ),
        "client2's render",
    );
    nothing(
        attempt(
            &mut c,
            "client",
            "select 1 from public.render_results where request_id = $1::text::uuid",
            &[&CLIENT2_RENDER],
        ),
        "client2's render result",
    );
    nothing(
        attempt(
            &mut c,
            "client",
            "select 1 from storage.objects where name like $1 || '%'",
            &[&CLIENT2_PROJECT],
        ),
        "client2's project media",
    );
    nothing(
        attempt(
            &mut c,
            "client",
            "select 1 from storage.objects where bucket_id = 'renders' and name like $1 || '%'",
            &[&id("client2")],
        ),
        "client2's renders",
    );
    // Joining through a readable table does not widen access either.
    // (Refused outright now: a Client reads no project's client_id, see the public face.)
    denied(
        attempt(&mut c, "client", "select 1 from public.clients c join public.projects p on p.client_id = c.id where c.user_id = $1::text::uuid", &[&id("client2")]),
        "join through clients",
    );
}

#[test]
fn storage_writes_stay_inside_ones_own_folder() {
    let (_db, mut c) = seeded();
    let me = id("client");
    let other = id("client2");
    let insert = "insert into storage.objects (bucket_id, name) values ('renders', $1)";
    assert_eq!(
        attempt(&mut c, "client", insert, &[&format!("{me}/ok.png")]),
        Ok(1)
    );
    for name in [
        format!("{other}/x.png"),
        format!("{me}/../{other}/x.png"),
        format!("{me}/./x.png"),
        format!("{me}//x.png"),
        format!("/{me}/x.png"),
        format!("{me}/%2e%2e/{other}/x.png"),
        format!("{me}%2F..%2F{other}%2Fx.png"),
        format!("{me}\\..\\{other}\\x.png"),
        format!("{me}/x\n.png"),
        me.to_string(),
        "x.png".to_string(),
    ] {
        refused(
            attempt(&mut c, "client", insert, &[&name]),
            &format!("upload {name:?}"),
        );
    }
    // Moving one's own object into someone else's folder: owners may move renders within
    // their own folder (issue 19's move), and the policy's check refuses any other target.
    let rename = "update storage.objects set name = $2 where bucket_id = 'renders' and name = $1";
    assert_eq!(
        attempt(
            &mut c,
            "client",
            rename,
            &[&format!("{me}/client.png"), &format!("{other}/client.png")],
        ),
        Err("42501".to_string()),
        "rename into client2's folder"
    );
    assert_eq!(
        attempt(
            &mut c,
            "client",
            rename,
            &[&format!("{me}/client.png"), &format!("{me}/moved.png")],
        ),
        Ok(1),
        "rename within one's own folder"
    );
    // Another bucket's path convention cannot be borrowed: a renders folder named like a
    // project gives no access to project-media.
    refused(
        attempt(
            &mut c,
            "client",
            "insert into storage.objects (bucket_id, name) values ('project-media', $1)",
            &[&format!("{CLIENT2_PROJECT}/x.png")],
        ),
        "upload into project-media",
    );
}

#[test]
fn anon_reads_only_published_media_and_cannot_list_buckets() {
    let (_db, mut c) = seeded();
    let rows: Vec<String> = {
        let mut tx = c.transaction().unwrap();
        act_as(&mut tx, persona("anon")).unwrap();
        let r = tx
            .query(
                "select bucket_id || ':' || name from storage.objects order by 1",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        tx.rollback().unwrap();
        r
    };
    assert_eq!(
        rows,
        // The public buckets' stale copies (under an unpublished project and a draft) are not
        // among them.
        [
            "blog-media:14000000-0000-4000-a000-000000000001/published.jpg",
            "blog-public:14000000-0000-4000-a000-000000000001/published.jpg",
            "portfolio-public:12000000-0000-4000-a000-000000000003/published.jpg",
            "project-media:12000000-0000-4000-a000-000000000003/published.jpg",
        ]
    );
    nothing(
        attempt(&mut c, "anon", "select 1 from storage.buckets", &[]),
        "anon lists buckets",
    );
    nothing(
        attempt(
            &mut c,
            "anon",
            "select 1 from storage.objects where name like $1 || '%'",
            &[&DESIGNER_DRAFT],
        ),
        "anon reads draft post media",
    );
}

#[test]
fn audit_logs_are_append_only_even_for_admins() {
    let (_db, mut c) = seeded();
    for who in ["admin", "service_role"] {
        refused(
            attempt(
                &mut c,
                who,
                "update public.audit_logs set action = 'tampered'",
                &[],
            ),
            &format!("{who} updates audit logs"),
        );
        refused(
            attempt(&mut c, who, "delete from public.audit_logs", &[]),
            &format!("{who} deletes audit logs"),
        );
        refused(
            attempt(&mut c, who, "truncate public.audit_logs", &[]),
            &format!("{who} truncates audit logs"),
        );
        refused(
            attempt(&mut c, who, "insert into public.audit_logs (table_name, action, actor_kind, actor_role) values ('x', 'forged', 'human', 'x')", &[]),
            &format!("{who} forges an audit row"),
        );
    }
    // Even the owner's maintenance role cannot rewrite history.
    let e = c
        .execute("update public.audit_logs set action = 'tampered'", &[])
        .unwrap_err();
    assert_eq!(e.code().map(|c| c.code()), Some("42501"));
}

#[test]
fn access_tokens_are_readable_by_no_api_role() {
    let (_db, mut c) = seeded();
    for who in ["anon", "sales_a", "admin", "service_role", "ai_agent"] {
        refused(
            attempt(
                &mut c,
                who,
                "select access_token from public.social_accounts",
                &[],
            ),
            &format!("{who} selects access_token"),
        );
        refused(
            attempt(&mut c, who, "select * from public.social_accounts", &[]),
            &format!("{who} selects *"),
        );
        refused(
            attempt(&mut c, who, "select s from public.social_accounts s", &[]),
            &format!("{who} selects the whole row"),
        );
    }
    // Nor can it be overwritten (e.g. to point the integration at an attacker's account).
    refused(
        attempt(
            &mut c,
            "admin",
            "update public.social_accounts set access_token = 'x'::bytea",
            &[],
        ),
        "admin overwrites a token",
    );
    for who in ["anon", "sales_a", "admin", "ai_agent"] {
        refused(
            attempt(
                &mut c,
                who,
                "select public.social_account_token('17000000-0000-4000-a000-000000000001')",
                &[],
            ),
            &format!("{who} calls social_account_token"),
        );
    }
}

#[test]
fn anon_executes_no_security_definer_function() {
    let db = cluster().migrated_db();
    let mut c = db.connect();
    let exposed: Vec<String> = c
        .query(
            "select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace \
             where p.prosecdef and n.nspname in ('public', 'private', 'authz') \
               and has_function_privilege('anon', p.oid, 'execute')",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(exposed.is_empty(), "anon may execute: {exposed:?}");
    for call in [
        "select authz.is_admin()",
        "select authz.current_role_name()",
        "select authz.has_role('Admin')",
        "select authz.has_permission('blog', 'publish')",
    ] {
        refused(attempt(&mut c, "anon", call, &[]), call);
    }
    // Authenticated users may run exactly the five policy helpers among definer functions:
    // they only answer questions about the caller, and live in `authz`, which the Data API
    // does not expose.
    let mut for_users: Vec<String> = c
        .query(
            "select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace \
             where p.prosecdef and n.nspname in ('public', 'private', 'authz') \
               and has_function_privilege('authenticated', p.oid, 'execute') order by 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    for_users.sort();
    assert_eq!(
        for_users,
        [
            "authz.current_role_name()",
            "authz.has_permission(text,text)",
            "authz.has_role(text)",
            "authz.is_admin()",
            "authz.own_projects()",
        ]
    );
}

#[test]
fn forged_metadata_and_role_claims_grant_nothing() {
    let (_db, mut c) = seeded();
    let client = persona("client");
    let mut forged = claims(client);
    // user_metadata is the user's to edit; app_metadata is server-set but we also check that a
    // role placed there is not trusted without the database's own record.
    forged["user_metadata"] = serde_json::json!({ "role": "Admin", "is_admin": true });
    forged["app_metadata"]["role"] = serde_json::json!("Admin");
    forged["role"] = serde_json::json!("service_role");
    for (sql, what) in [
        ("select 1 from public.audit_logs", "audit logs"),
        ("select 1 from public.users where id <> (select auth.uid())", "other users"),
        ("select 1 from public.leads", "leads"),
        ("select 1 from public.projects where not is_published and id <> '12000000-0000-4000-a000-000000000001'", "other projects"),
    ] {
        denied(attempt_with(&mut c, "client", Some(forged.clone()), sql, &[]), what);
    }
    assert_eq!(
        attempt_with(
            &mut c,
            "client",
            Some(forged),
            "select 1 where (select authz.is_admin())",
            &[]
        ),
        Ok(0)
    );
}

#[test]
fn role_and_permission_checks_cannot_be_sidestepped() {
    let (_db, mut c) = seeded();
    // A Designer lacks blog:publish: neither a new published post nor publishing their draft.
    refused(
        attempt(&mut c, "designer", "insert into public.blog_posts (title, slug, author_id, status, published_at) values ('x', 'x', $1::text::uuid, 'published', now())", &[&id("designer")]),
        "designer inserts a published post",
    );
    refused(
        attempt(&mut c, "designer", "update public.blog_posts set status = 'published', published_at = now() where id = $1::text::uuid", &[&DESIGNER_DRAFT]),
        "designer publishes their draft",
    );
    // Only an Admin links an account to a client record (`clients.user_id`): a Sales user
    // cannot link one to themselves (tests/it/attack/ownership.rs tries the fresh sign-up).
    refused(
        attempt(&mut c, "sales_a", "update public.clients set user_id = (select auth.uid()) where id = '11000000-0000-4000-a000-000000000002'", &[]),
        "sales_a links client2's record to themselves",
    );
    // Clients cancel their render but cannot mark it done, retarget it, or reopen it.
    for (sql, what) in [
        ("update public.render_requests set status = 'succeeded' where id = '15000000-0000-4000-a000-000000000001'", "mark own render succeeded"),
        ("update public.render_requests set input_file_path = 'x' where id = '15000000-0000-4000-a000-000000000001'", "change own render's input"),
        ("update public.render_requests set user_id = (select auth.uid()) where id = '15000000-0000-4000-a000-000000000002'", "take over client2's render"),
        ("insert into public.render_requests (user_id, input_file_path, model, status) values ((select auth.uid()), 'x', 'x', 'succeeded')", "insert a finished render"),
        ("delete from public.clients", "delete client records"),
    ] {
        denied(attempt(&mut c, "client", sql, &[]), what);
    }
    assert_eq!(
        attempt(&mut c, "client", "update public.render_requests set status = 'cancelled' where id = '15000000-0000-4000-a000-000000000001'", &[]),
        Ok(1)
    );
    // Truncate bypasses RLS, so no API role may truncate anything.
    for who in ["anon", "client", "admin", "service_role", "ai_agent"] {
        refused(
            attempt(&mut c, who, "truncate public.projects cascade", &[]),
            &format!("{who} truncates"),
        );
    }
    // The agent writes results but cannot read people's sessions or change roles.
    refused(
        attempt(
            &mut c,
            "ai_agent",
            "select 1 from public.user_sessions",
            &[],
        ),
        "agent reads sessions",
    );
    refused(
        attempt(
            &mut c,
            "ai_agent",
            "update public.users set role_id = role_id",
            &[],
        ),
        "agent updates users",
    );
}
