//! The effective access matrix equals the declared one. On a migrated database with the
//! personas and demo data, every persona tries select, insert, update and delete on every table
//! (as PostgREST would: `set local role` + `request.jwt.claims`, rolled back after each probe).
//! The outcome is snapshotted as a readable table, and any disagreement with
//! `sql::moha::security::matrix()` fails the test.

use moha_tests::cluster;
use moha_tests::effective::{self, InsertProbe, Report, Target};
use moha_tests::personas::{self, id};
use postgres::Client;
use sql::access::{declared, Action};
use sql::moha::security::{matrix, permissions, CAPABILITIES, PERSONAS, RBAC_AUDIENCES};
use std::collections::BTreeSet;

const CLIENT_PROJECT: &str = "12000000-0000-4000-a000-000000000001";
const CLIENT2_PROJECT: &str = "12000000-0000-4000-a000-000000000002";
const DESIGNER_DRAFT: &str = "14000000-0000-4000-a000-000000000002";
const ADMIN_DRAFT: &str = "14000000-0000-4000-a000-000000000003";
// Drafts of authors the demo posts leave out (`effective::PROBE_ROWS`).
const CLIENT_DRAFT: &str = "14000000-0000-4000-a000-000000000004";
const CLIENT2_DRAFT: &str = "14000000-0000-4000-a000-000000000005";
const SALES_A_DRAFT: &str = "14000000-0000-4000-a000-000000000006";
const SALES_B_DRAFT: &str = "14000000-0000-4000-a000-000000000007";
const CLIENT_RENDER: &str = "15000000-0000-4000-a000-000000000001";
const CLIENT2_RENDER: &str = "15000000-0000-4000-a000-000000000002";
const DESIGNER_RENDER: &str = "15000000-0000-4000-a000-000000000003";
const SALES_A_RENDER: &str = "15000000-0000-4000-a000-000000000005";
const SALES_B_RENDER: &str = "15000000-0000-4000-a000-000000000006";
const ADMIN_RENDER: &str = "15000000-0000-4000-a000-000000000007";
const LEAD_A: &str = "16000000-0000-4000-a000-000000000001";
const LEAD_B: &str = "16000000-0000-4000-a000-000000000002";

/// Another signed-in user than `persona` (for "someone else's row").
fn other_user(persona: &str) -> String {
    match persona {
        "client" => id("client2"),
        "designer" => id("admin"),
        _ => id("client"),
    }
    .to_string()
}

fn own_user(persona: &str) -> Option<String> {
    personas::user(persona).map(|u| u.id.to_string())
}

/// The user whose rows `persona` writes as its own: itself, or an agent's owner (the admin owns
/// both demo agents).
fn acting_for(persona: &str) -> Option<String> {
    own_user(persona).or_else(|| personas::agent(persona).map(|_| id("admin").to_string()))
}

fn owned(sql: &str, own: Option<&str>, foreign: &str) -> InsertProbe {
    InsertProbe::Owned {
        sql: sql.into(),
        own: own.map(String::from),
        foreign: foreign.into(),
    }
}

/// How to name a row, how to update it harmlessly, and what to insert, per table.
fn shape(
    table: &str,
    persona: &str,
    intern_role: &str,
) -> (&'static str, &'static str, InsertProbe) {
    let ownerless = |s: &str| InsertProbe::Ownerless(s.into());
    let my_project = match persona {
        "client" => Some(CLIENT_PROJECT),
        "client2" => Some(CLIENT2_PROJECT),
        _ => None,
    };
    let their_project = if persona == "client" {
        CLIENT2_PROJECT
    } else {
        CLIENT_PROJECT
    };
    let my_post = match persona {
        "client" => Some(CLIENT_DRAFT),
        "client2" => Some(CLIENT2_DRAFT),
        "designer" => Some(DESIGNER_DRAFT),
        "sales_a" => Some(SALES_A_DRAFT),
        "sales_b" => Some(SALES_B_DRAFT),
        "admin" => Some(ADMIN_DRAFT),
        _ => None,
    };
    let their_post = if persona == "designer" {
        ADMIN_DRAFT
    } else {
        DESIGNER_DRAFT
    };
    let my_render = match persona {
        "client" => Some(CLIENT_RENDER),
        "client2" => Some(CLIENT2_RENDER),
        "designer" => Some(DESIGNER_RENDER),
        "sales_a" => Some(SALES_A_RENDER),
        "sales_b" => Some(SALES_B_RENDER),
        "admin" => Some(ADMIN_RENDER),
        _ => None,
    };
    let their_render = if persona == "client" {
        CLIENT2_RENDER
    } else {
        CLIENT_RENDER
    };
    let my_lead = match persona {
        "sales_a" => Some(LEAD_A),
        "sales_b" => Some(LEAD_B),
        _ => None,
    };
    let their_lead = if persona == "sales_a" { LEAD_B } else { LEAD_A };
    let me = own_user(persona);
    let mine = acting_for(persona);
    let them = other_user(persona);
    match table {
        "users" => ("full_name", "full_name = full_name", owned(
            "insert into public.users (id, role_id) select $1::text::uuid, r.id from public.roles r where r.name = 'Client'",
            me.as_deref(), &them)),
        "roles" => ("name", "description = description", ownerless(
            "insert into public.roles (name) values ('Probe')")),
        "permissions" => ("id", "action = action", InsertProbe::Ownerless(format!(
            "insert into public.permissions (role_id, resource, action) values ('{intern_role}', 'probe', 'read')"))),
        "user_sessions" => ("session_token", "expires_at = expires_at", owned(
            "insert into public.user_sessions (user_id, session_token, expires_at) values ($1::text::uuid, 'probe ' || $1, now() + interval '1 hour')",
            me.as_deref(), &them)),
        "clients" => ("name", "name = name", ownerless(
            "insert into public.clients (name) values ('probe client')")),
        "projects" => ("title", "title = title", ownerless(
            "insert into public.projects (title) values ('probe project')")),
        "project_images" => ("file_path", "caption = caption", owned(
            "insert into public.project_images (project_id, file_path, order_index) values ($1::text::uuid, 'probe', 99)",
            my_project, their_project)),
        "project_tags" => ("tag", "tag = tag", owned(
            "insert into public.project_tags (project_id, tag) values ($1::text::uuid, 'probe')",
            my_project, their_project)),
        "blog_categories" => ("name", "name = name", ownerless(
            "insert into public.blog_categories (name, slug) values ('probe', 'probe')")),
        "blog_posts" => ("slug", "title = title", owned(
            "insert into public.blog_posts (title, slug, author_id) values ('Probe', 'probe-post', $1::text::uuid)",
            mine.as_deref(), &them)),
        "blog_tags" => ("tag", "tag = tag", owned(
            "insert into public.blog_tags (post_id, tag) values ($1::text::uuid, 'probe')",
            my_post, their_post)),
        "blog_media" => ("file_path", "is_featured = is_featured", owned(
            "insert into public.blog_media (post_id, file_path) values ($1::text::uuid, 'probe')",
            my_post, their_post)),
        "render_requests" => ("input_file_path", "status = 'cancelled'", owned(
            "insert into public.render_requests (user_id, input_file_path) values ($1::text::uuid, 'probe')",
            mine.as_deref(), &them)),
        "render_parameters" => ("style", "style = style", owned(
            "insert into public.render_parameters (request_id, style) values ($1::text::uuid, 'probe')",
            my_render, their_render)),
        "render_results" => ("output_file_path", "model_used = model_used", owned(
            "insert into public.render_results (request_id, output_file_path, model_used) values ($1::text::uuid, 'probe', 'probe')",
            my_render, their_render)),
        "leads" => ("client_name", "status = status", ownerless(
            "insert into public.leads (client_name) values ('probe lead')")),
        // An agent writes notes on any lead it reads, but unsigned: its "own" note names no
        // author, "someone else's" is signed as a user.
        "lead_notes" if persona.starts_with("agent_") => ("note", "note = note", owned(
            "insert into public.lead_notes (lead_id, note, created_by) values ('16000000-0000-4000-a000-000000000003', 'probe', nullif($1, '')::uuid)",
            Some(""), personas::id("sales_a"))),
        "lead_notes" => ("note", "note = note", owned(
            if me.is_some() {
                "insert into public.lead_notes (lead_id, note, created_by) values ($1::text::uuid, 'probe', (select auth.uid()))"
            } else {
                // Without a user (ai_agent, service_role) the note has no author; ai_agent has
                // no access to schema auth, so it names no caller.
                "insert into public.lead_notes (lead_id, note, created_by) values ($1::text::uuid, 'probe', null)"
            },
            my_lead, their_lead)),
        "lead_scoring" => ("rationale", "rationale = rationale", owned(
            "insert into public.lead_scoring (lead_id, score, model) values ($1::text::uuid, 50, 'probe')",
            my_lead, their_lead)),
        "social_accounts" => ("username", "username = username", ownerless(
            "insert into public.social_accounts (platform, username) values ('tiktok', 'probe')")),
        "social_messages" => ("content", "status = status", ownerless(
            "insert into public.social_messages (account_id, message_type, content) values ('17000000-0000-4000-a000-000000000001', 'comment', 'probe')")),
        "social_analytics" => ("metric_type", "value = value", ownerless(
            "insert into public.social_analytics (account_id, metric_type, value) values ('17000000-0000-4000-a000-000000000001', 'probe', 1)")),
        "social_sentiment" => ("model_used", "model_used = model_used", ownerless(
            "insert into public.social_sentiment (message_id, message_received_at, sentiment_score, model_used) values ('18000000-0000-4000-a000-000000000001', '2025-01-15 10:00:00+00', 0, 'probe')")),
        "notifications" => ("title", "read_at = now()", owned(
            "insert into public.notifications (user_id, kind, title) values ($1::text::uuid, 'probe', 'probe')",
            me.as_deref(), &them)),
        "audit_logs" => ("id", "action = action", ownerless(
            "insert into public.audit_logs (table_name, action, actor_kind, actor_role) values ('probe', 'probe', 'human', 'probe')")),
        "error_logs" => ("service", "service = service", ownerless(
            "insert into public.error_logs (service, error_message) values ('probe', 'probe')")),
        "agent_usage" => ("agent", "tokens = tokens", ownerless(
            "insert into public.agent_usage (agent, window_start) values ('probe', now())")),
        "agent_limits" => ("agent", "max_requests = max_requests", ownerless(
            "insert into public.agent_limits (agent, scope, max_requests) values ('probe', 'global', 1)")),
        "ai_cache" => ("model", "hits = hits", ownerless(
            "insert into public.ai_cache (prompt_hash, model, response) values (repeat('b', 64), 'probe', '{}')")),
        "prompt_templates" => ("name", "template = template", ownerless(
            "insert into public.prompt_templates (name, agent, template) values ('probe', 'probe', 'x')")),
        // Updating is deciding: the policy admits a decision by the caller, never a pending row.
        // service_role has no uid and decides as the admin (a decision names its decider).
        "agent_proposals" => ("action::text || ' ' || status::text",
            "status = 'rejected', decided_by = coalesce((select auth.uid()), '00000000-0000-4000-a000-000000000ad1'), decided_at = now()", owned(
            // Each agent proposes on a target it reads: the studio agent reads its owner's posts,
            // not leads.
            if persona == "agent_studio" {
                "insert into public.agent_proposals (agent_id, action, target_id) \
                 values ($1::text::uuid, 'publish_post', '14000000-0000-4000-a000-000000000003')"
            } else {
                "insert into public.agent_proposals (agent_id, action, target_id, payload) \
                 values ($1::text::uuid, 'set_lead_status', '16000000-0000-4000-a000-000000000001', '{\"status\": \"won\"}')"
            },
            personas::agent(persona).map(|a| a.agent_id),
            if persona == "agent_crm" { "1a000000-0000-4000-a000-000000000002" } else { "1a000000-0000-4000-a000-000000000001" })),
        "agents" => ("name", "description = description", ownerless(
            "insert into public.agents (name, owner_id) values ('probe-agent', '00000000-0000-4000-a000-000000000ad1')")),
        "api_tokens" => ("label", "label = label", ownerless(
            "insert into public.api_tokens (agent_id, label, prefix, token_hash, scopes, expires_at) \
             values ('1a000000-0000-4000-a000-000000000001', 'probe', 'moha_probe', repeat('c', 64), '{leads:read}', now() + interval '1 day')")),
        // One row (its key is `true`): an insert that gets past access control meets the key.
        "operations_settings" => ("id::text", "read_notifications_kept = read_notifications_kept", ownerless(
            "insert into public.operations_settings (id) values (true)")),
        other => panic!("no probe shape for table {other}; add one to access_matrix.rs"),
    }
}

fn seeded() -> (moha_tests::TestDb, Client) {
    let db = cluster().migrated_db();
    let mut c = db.connect();
    personas::create(&mut c, true).unwrap_or_else(|e| panic!("{e:#}"));
    (db, c)
}

#[test]
fn effective_table_access_equals_the_declared_matrix() {
    let db = cluster().migrated_db();
    let mut c = db.connect();
    effective::seed(&mut c).unwrap_or_else(|e| panic!("{e:#}"));
    let intern: String = c
        .query_one(
            "select id::text from public.roles where name = 'Intern'",
            &[],
        )
        .unwrap()
        .get(0);
    let mut report = Report::default();
    for t in matrix() {
        let (label, update_set, _) = shape(&t.table.name, "anon", &intern);
        let target = Target {
            name: t.table.name.clone(),
            from: sql::render::name(&t.table).unwrap(),
            scope: "true".into(),
            label: label.into(),
            update_set: update_set.into(),
        };
        let universe = effective::universe(&mut c, &target);
        assert!(!universe.is_empty(), "{} has no demo rows", t.table);
        report.target(&target, &universe);
        for p in PERSONAS {
            let (_, _, insert) = shape(&t.table.name, p.name, &intern);
            let entries = effective::reachable(p, &t.entries);
            let results: Vec<_> = Action::ALL
                .into_iter()
                .map(|a| {
                    let o = effective::probe(&mut c, p, &target, a, &insert, &universe);
                    (a, declared(&t.table.name, &entries, p, a), o)
                })
                .collect();
            report.line(&target, p, &results, &universe);
        }
    }
    assert!(
        report.mismatches.is_empty(),
        "effective access differs from the declared matrix:\n{}\n\nfull report:\n{}",
        report.mismatches.join("\n"),
        report.text
    );
    insta::assert_snapshot!("effective_matrix", report.text);
}

#[test]
fn every_exposed_table_has_rls_and_a_policy_for_each_granted_action() {
    let db = cluster().migrated_db();
    let mut c = db.connect();
    // Exposed schemas: public (and graphql_public, which Supabase reserves and we leave empty).
    let rows = c
        .query(
            "select c.oid::regclass::text, c.relrowsecurity, \
               (select count(*) from pg_policy p where p.polrelid = c.oid)::int, \
               exists (select 1 from pg_policy p where p.polrelid = c.oid and 0 = any(p.polroles)) \
             from pg_class c join pg_namespace n on n.oid = c.relnamespace \
             where n.nspname in ('public', 'graphql_public') and c.relkind in ('r', 'p') \
               and not c.relispartition",
            &[],
        )
        .unwrap();
    assert!(!rows.is_empty());
    let mut problems = Vec::new();
    for r in &rows {
        let (name, rls, policies, to_public): (String, bool, i32, bool) =
            (r.get(0), r.get(1), r.get(2), r.get(3));
        if !rls {
            problems.push(format!("{name}: row level security is off"));
        }
        if policies == 0 {
            problems.push(format!("{name}: no policy (add it to the access matrix)"));
        }
        if to_public {
            problems.push(format!(
                "{name}: a policy applies to public; name its roles"
            ));
        }
    }
    // A privilege without a policy for a role subject to RLS is a sign of drift: the grant
    // says yes and RLS silently says no.
    let drift = c
        .query(
            "select c.oid::regclass::text || ' ' || r.rolname || ' ' || p.priv \
             from pg_class c join pg_namespace n on n.oid = c.relnamespace \
             cross join (values ('anon'), ('authenticated'), ('ai_agent')) r(rolname) \
             cross join (values ('select', 'r'), ('insert', 'a'), ('update', 'w'), ('delete', 'd')) p(priv, cmd) \
             where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relispartition \
               and (has_table_privilege(r.rolname, c.oid, p.priv) \
                    or (p.priv in ('select', 'insert', 'update') and has_any_column_privilege(r.rolname, c.oid, p.priv))) \
               and not exists (select 1 from pg_policy pol where pol.polrelid = c.oid and pol.polcmd in (p.cmd, '*') \
                    and (select oid from pg_roles where rolname = r.rolname) = any(pol.polroles))",
            &[],
        )
        .unwrap();
    for d in drift {
        problems.push(format!(
            "privilege without policy: {}",
            d.get::<_, String>(0)
        ));
    }
    // Truncate, references and trigger bypass or sidestep RLS: no API role holds them.
    let dangerous = c
        .query(
            "select c.oid::regclass::text || ' ' || r.rolname || ' ' || p.priv \
             from pg_class c join pg_namespace n on n.oid = c.relnamespace \
             cross join (values ('anon'), ('authenticated'), ('service_role'), ('ai_agent')) r(rolname) \
             cross join (values ('truncate'), ('references'), ('trigger')) p(priv) \
             where n.nspname = 'public' and c.relkind in ('r', 'p') \
               and has_table_privilege(r.rolname, c.oid, p.priv)",
            &[],
        )
        .unwrap();
    for d in dangerous {
        problems.push(format!("dangerous privilege: {}", d.get::<_, String>(0)));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// `public.permissions` says what the policies grant. The live table is the matrix's derivation
/// (`sql::moha::security::permissions`); and, read from the live catalog, each role's table rows
/// are exactly the (table, command) pairs its database roles hold both a privilege and a policy
/// for, except those whose every policy term needs a permission the role lacks (a Client's
/// `blog_posts` insert needs `blog:create`). The Agent role's rows are the scopes the agent role's
/// policies read.
#[test]
fn the_permissions_table_is_what_the_policies_grant() {
    let db = cluster().migrated_db();
    let mut c = db.connect();
    let live: BTreeSet<(String, String)> = c
        .query(
            "select r.name, p.resource || ':' || p.action from public.permissions p \
               join public.roles r on r.id = p.role_id",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let model: BTreeSet<(String, String)> = permissions()
        .into_iter()
        .map(|(r, p)| (r.to_string(), p))
        .collect();
    assert_eq!(live, model, "the permissions table differs from the matrix");

    let verb = |cmd: &str| match cmd {
        "r" => "read",
        "a" => "create",
        "w" => "edit",
        "d" => "delete",
        other => panic!("policy command {other}"),
    };
    for (role, audiences) in RBAC_AUDIENCES {
        let mut db_roles: Vec<&str> = audiences.iter().map(|a| a.db_role).collect();
        db_roles.dedup();
        // (table:verb) for which one of the role's database roles holds the privilege and a
        // policy of that command.
        let granted: BTreeSet<String> = c
            .query(
                "select c.relname || ':' || p.cmd \
                   from pg_class c join pg_namespace n on n.oid = c.relnamespace \
                   cross join (values ('select', 'r'), ('insert', 'a'), ('update', 'w'), ('delete', 'd')) p(priv, cmd) \
                   cross join unnest($1::text[]) r(rolname) \
                  where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relispartition \
                    and (has_table_privilege(r.rolname, c.oid, p.priv) \
                         or (p.priv <> 'delete' and has_any_column_privilege(r.rolname, c.oid, p.priv))) \
                    and exists (select 1 from pg_policy pol where pol.polrelid = c.oid and pol.polcmd = p.cmd \
                                 and (select oid from pg_roles where rolname = r.rolname) = any(pol.polroles))",
                &[&db_roles],
            )
            .unwrap()
            .iter()
            .map(|r| {
                let s: String = r.get(0);
                let (t, cmd) = s.rsplit_once(':').unwrap();
                format!("{t}:{}", verb(cmd))
            })
            .collect();
        let rows: BTreeSet<String> = live
            .iter()
            .filter(|(r, p)| r == role && !CAPABILITIES.iter().any(|(c, _)| c == p))
            .map(|(_, p)| p.clone())
            .collect();
        let missing: Vec<&String> = rows.difference(&granted).collect();
        assert!(
            missing.is_empty(),
            "{role}: rows no policy grants: {missing:?}"
        );
        let holds = |p: &str| {
            CAPABILITIES
                .iter()
                .any(|(c, roles)| *c == p && roles.contains(role))
        };
        for extra in granted.difference(&rows) {
            let (table, verb_name) = extra.split_once(':').unwrap();
            let action = Action::ALL
                .into_iter()
                .find(|a| a.verb() == verb_name)
                .unwrap();
            let t = matrix()
                .into_iter()
                .find(|t| t.table.name == table)
                .unwrap();
            let gated = t
                .entries
                .iter()
                .filter(|e| e.actions.contains(&action) && audiences.contains(&e.audience))
                .all(|e| match e.access {
                    sql::access::Access::Rule(r) => r.requires.iter().any(|p| !holds(p)),
                    sql::access::Access::All => false,
                });
            assert!(
                gated,
                "{role}: the policies grant {extra}, which the permissions table does not list"
            );
        }
    }
}

/// One Realtime authorisation probe, as Supabase Realtime makes it (its
/// `Tenants.Authorization`): listening (and joining) needs RLS to let the caller select a
/// message of the topic that the server inserted; sending or tracking presence needs RLS to let
/// the caller insert one. `Ok(allowed)`, or the SQLSTATE of a refusal by privilege.
fn topic_probe(
    c: &mut Client,
    p: &sql::access::Persona,
    topic: &str,
    extension: &str,
    action: Action,
) -> Result<bool, String> {
    let mut tx = c.transaction().unwrap();
    let id: String = tx
        .query_one("select gen_random_uuid()::text", &[])
        .unwrap()
        .get(0);
    if action == Action::Select {
        tx.execute(
            "insert into realtime.messages (id, topic, extension) values ($1::text::uuid, $2, $3)",
            &[&id, &topic, &extension],
        )
        .unwrap();
    }
    personas::act_as(&mut tx, p).unwrap();
    tx.execute(
        "select pg_catalog.set_config('realtime.topic', $1, true)",
        &[&topic],
    )
    .unwrap();
    let out = match action {
        Action::Select => tx
            .query_one(
                "select count(*) from realtime.messages where id = $1::text::uuid",
                &[&id],
            )
            .map(|r| r.get::<_, i64>(0) == 1),
        _ => tx
            .execute(
                "insert into realtime.messages (topic, extension) values ($1, $2)",
                &[&topic, &extension],
            )
            .map(|_| true),
    };
    tx.rollback().unwrap();
    out.map_err(|e| {
        let code = e.code().map(|c| c.code().to_string()).unwrap_or_default();
        // RLS refuses an insert with 42501 too; either way, not allowed.
        assert_eq!(code, "42501", "{topic} {extension} as {}: {e}", p.name);
        code
    })
}

/// Every persona's effective Realtime access, topic by topic, equals `security::topics()`: who
/// may join (listen), send, see presence and track presence. Rule-scoped families are probed on
/// the persona's own topic and on someone else's.
#[test]
fn effective_topic_access_equals_the_declared_topics() {
    use sql::access::Declared;
    use sql::moha::security::topics;
    let (_db, mut c) = seeded();
    let account: String = c
        .query_one(
            "select id::text from public.social_accounts order by id limit 1",
            &[],
        )
        .unwrap()
        .get(0);
    let mut text = String::new();
    let mut mismatches = Vec::new();
    for t in topics() {
        let prefix = t.pattern.split(':').next().unwrap();
        let _ = std::fmt::Write::write_fmt(&mut text, format_args!("\n## {}\n", t.pattern));
        for p in PERSONAS {
            // (label, topic, whether it is the persona's own)
            let instances: Vec<(String, String, bool)> = if !t.pattern.contains('<') {
                vec![(String::new(), t.pattern.to_string(), false)]
            } else if prefix == "inbox" {
                vec![(String::new(), format!("inbox:{account}"), false)]
            } else {
                let mut v = Vec::new();
                if let Some(me) = own_user(p.name) {
                    v.push(("own ".to_string(), format!("{prefix}:{me}"), true));
                }
                v.push((
                    "other's ".to_string(),
                    format!("{prefix}:{}", other_user(p.name)),
                    false,
                ));
                v
            };
            let mut cells = Vec::new();
            for (label, topic, own) in &instances {
                for (feature, extension, entries) in [
                    ("broadcast", "broadcast", &t.broadcast),
                    ("presence", "presence", &t.presence),
                ] {
                    for (verb, action) in [("listen", Action::Select), ("send", Action::Insert)] {
                        let verb = match (feature, verb) {
                            ("presence", "listen") => "see presence",
                            ("presence", _) => "track",
                            (_, v) => v,
                        };
                        let got = topic_probe(&mut c, p, topic, extension, action);
                        let expected = match declared(t.pattern, entries, p, action) {
                            Declared::Deny => false,
                            Declared::All => true,
                            // Every topic rule selects the caller's own topic.
                            Declared::Rules(_) => *own,
                        };
                        let cell = match &got {
                            Ok(true) => format!("{label}{verb} ✓"),
                            Ok(false) => format!("{label}{verb} ✗"),
                            Err(code) => format!("{label}{verb} ✗ {code}"),
                        };
                        if got.clone().unwrap_or(false) != expected {
                            mismatches.push(format!(
                                "{} {}: {cell}, declared {}",
                                t.pattern,
                                p.name,
                                if expected { "allowed" } else { "denied" }
                            ));
                        }
                        cells.push(cell);
                    }
                }
            }
            let _ = std::fmt::Write::write_fmt(
                &mut text,
                format_args!("{:<12} {}\n", p.name, cells.join(" | ")),
            );
        }
    }
    assert!(
        mismatches.is_empty(),
        "effective topic access differs from security::topics():\n{}\n\nfull report:\n{text}",
        mismatches.join("\n")
    );
    insta::assert_snapshot!("effective_topics", text);
}
