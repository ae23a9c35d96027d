//! Class 4: a security-definer function steered by the caller's temporary objects. Unless
//! `search_path` names `pg_temp`, PostgreSQL searches the session's temporary schema *first* for
//! relation and type names, even with `search_path = ''`. A caller who may execute a definer
//! function can put a temp table (with triggers) or a temp domain (with a check constraint) where
//! the function expects its own object, and have that code run as the function's owner.

use std::collections::{BTreeMap, BTreeSet};

use super::common::*;
use moha_tests::personas;
use postgres::Client;
use serde_json::{json, Value};
use sql::moha::security::PERSONAS;
use sql::quote;

const ACCOUNT: &str = "17000000-0000-4000-a000-000000000001";
const LEAD_OF_SALES_A: &str = "16000000-0000-4000-a000-000000000001";
const UNASSIGNED_LEAD: &str = "16000000-0000-4000-a000-000000000003";
const CLIENT: &str = "00000000-0000-4000-a000-000000000c01";
const CLIENT_PROJECT: &str = "12000000-0000-4000-a000-000000000001";
const SALES_A: &str = "00000000-0000-4000-a000-000000000a51";
const ADMIN: &str = "00000000-0000-4000-a000-000000000ad1";
const CRM_AGENT: &str = "1a000000-0000-4000-a000-000000000001";
const CRM_TOKEN: &str = "1b000000-0000-4000-a000-000000000001";
/// sha-256 hex of the crm agent's demo token (sql::moha::personas::AGENTS).
const CRM_TOKEN_SHA256: &str = "20cf9f4dcae9e7f691d71901d8b69ff500dbb1dd365796fbb0a969722f5e45f7";

/// The schemas whose functions and relations are the project's.
const OURS: &str = "('public', 'private', 'authz', 'agent_auth')";

/// What the attacker's trigger does when it fires: record who it runs as, read the secrets,
/// delete the oldest audit row (disabling the append-only trigger, which the owner may do).
const STEAL: &str = "
create temporary table social_messages_moving (like public.social_messages);
create function pg_temp.steal() returns trigger language plpgsql as $$
declare
  v_secret pg_catalog.text;
  v_deleted pg_catalog.int8;
begin
  begin
    select pg_catalog.string_agg(s.secret, ',') into v_secret from private.secrets s;
  exception when insufficient_privilege then v_secret := null;
  end;
  begin
    alter table public.audit_logs disable trigger user;
    delete from public.audit_logs where id = (select pg_catalog.min(a.id) from public.audit_logs a);
    get diagnostics v_deleted = row_count;
    alter table public.audit_logs enable trigger user;
  exception when others then v_deleted := null;
  end;
  insert into probe.fired values (current_user, v_secret, v_deleted);
  return null;
end $$;
create trigger steal after insert or delete on pg_temp.social_messages_moving
  for each statement execute function pg_temp.steal();
";

/// The instance of issue 12: the partition job's staging table was `create temporary table if
/// not exists social_messages_moving`, so a caller's own table of that name (and its triggers)
/// was used instead, as the function's owner.
#[test]
fn partition_job_ignores_a_callers_temp_table() {
    let (_db, mut c) = seeded();
    c.batch_execute(
        "set timezone = 'UTC';
         set search_path = '';
         insert into private.secrets (name, secret) values ('probe', 'the owner''s secret');
         create schema probe;
         create table probe.fired (who text not null, secret text, audit_rows_deleted bigint);
         grant usage on schema probe to public;
         grant insert on probe.fired to public;",
    )
    .unwrap();
    // Only service_role may run the job (the owner aside): it is the attacker here.
    let may: Vec<String> = c
        .query(
            "select r.rolname::text from pg_catalog.pg_roles r
              where pg_catalog.has_function_privilege(r.oid,
                      'public.create_social_messages_partitions(integer, date)', 'EXECUTE')
                and not r.rolsuper and not pg_catalog.pg_has_role(r.oid, 'postgres', 'USAGE')
              order by 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(may, ["service_role"]);
    // A message that arrived before its month had a partition: it is in the default partition,
    // and the job must move it.
    let message: String = c
        .query_one(
            "insert into public.social_messages (account_id, message_type, content, received_at)
             values ($1::text::uuid, 'direct_message', 'early', '2031-01-15 12:00:00+00')
             returning id::text",
            &[&ACCOUNT],
        )
        .unwrap()
        .get(0);
    let oldest_audit: i64 = c
        .query_one("select pg_catalog.min(id) from public.audit_logs", &[])
        .unwrap()
        .get(0);

    let mut tx = c.transaction().unwrap();
    as_postgrest(&mut tx, &persona_claims("service_role"));
    tx.batch_execute(STEAL).unwrap();
    let created: i32 = tx
        .query_one(
            "select public.create_social_messages_partitions(0, '2031-01-01')",
            &[],
        )
        .unwrap()
        .get(0);
    let staged: i64 = tx
        .query_one(
            "select pg_catalog.count(*) from pg_temp.social_messages_moving",
            &[],
        )
        .unwrap()
        .get(0);
    tx.commit().unwrap();

    let fired: Vec<(String, Option<String>, Option<i64>)> = c
        .query(
            "select who, secret, audit_rows_deleted from probe.fired",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(fired, [], "the caller's trigger ran inside the definer");
    assert_eq!(staged, 0, "rows passed through the caller's table");
    assert_eq!(created, 1);
    // The month's partition is a real table in `private`, attached with the UTC month's bounds.
    let row = c
        .query_one(
            "select n.nspname::text, c.relpersistence::text, c.relrowsecurity,
                    pg_catalog.pg_get_expr(c.relpartbound, c.oid)
               from pg_catalog.pg_inherits i
               join pg_catalog.pg_class c on c.oid = i.inhrelid
               join pg_catalog.pg_namespace n on n.oid = c.relnamespace
              where i.inhparent = 'public.social_messages'::regclass
                and c.relname = 'social_messages_2031_01'",
            &[],
        )
        .unwrap();
    let partition: (String, String, bool, String) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    assert_eq!(
        partition,
        (
            "private".into(),
            "p".into(),
            true,
            "FOR VALUES FROM ('2031-01-01 00:00:00+00') TO ('2031-02-01 00:00:00+00')".into()
        )
    );
    let home: String = c
        .query_one(
            "select tableoid::regclass::text from public.social_messages where id = $1::text::uuid",
            &[&message],
        )
        .unwrap()
        .get(0);
    assert_eq!(home, "private.social_messages_2031_01");
    // The row moved by attaching it with its partition (private.social_messages_attach), which
    // changes no row, so its trail is its insert alone; the oldest audit row is still there.
    let trail: Vec<String> = c
        .query(
            "select action from public.audit_logs
              where table_name = 'public.social_messages' and record_id = $1 order by id",
            &[&message],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(trail, ["insert"]);
    let kept: i64 = c
        .query_one(
            "select pg_catalog.count(*) from public.audit_logs where id = $1",
            &[&oldest_audit],
        )
        .unwrap()
        .get(0);
    assert_eq!(kept, 1);
}

/// How each definer function is called: plausible arguments on the seeded data.
fn calls() -> Vec<(&'static str, String)> {
    let hook_event = json!({
        "user_id": SALES_A,
        "claims": { "sub": SALES_A, "role": "authenticated", "aud": "authenticated" },
    });
    vec![
        (
            "public.log_audit_action",
            format!("select public.log_audit_action('public.leads', '{LEAD_OF_SALES_A}', 'probe')"),
        ),
        ("authz.current_role_name", "select authz.current_role_name()".into()),
        ("authz.is_admin", "select authz.is_admin()".into()),
        ("authz.own_projects", "select id from authz.own_projects()".into()),
        ("authz.has_role", "select authz.has_role('Admin')".into()),
        (
            "authz.has_permission",
            "select authz.has_permission('portfolio', 'create')".into(),
        ),
        (
            "authz.custom_access_token_hook",
            format!("select authz.custom_access_token_hook('{hook_event}')"),
        ),
        (
            "public.increment_agent_counter",
            format!("select public.increment_agent_counter('render', '{CLIENT}', '{CLIENT_PROJECT}')"),
        ),
        (
            "public.record_agent_usage",
            format!("select public.record_agent_usage('render', '{CLIENT}', '{CLIENT_PROJECT}', 10, 0.5)"),
        ),
        (
            "public.increment_render_counter",
            format!("select public.increment_render_counter('{CLIENT}', '{CLIENT_PROJECT}')"),
        ),
        (
            "public.update_lead_score",
            format!("select public.update_lead_score('{LEAD_OF_SALES_A}')"),
        ),
        (
            "public.set_social_account_token",
            format!("select public.set_social_account_token('{ACCOUNT}', 'probe-token')"),
        ),
        (
            "public.social_account_token",
            format!("select public.social_account_token('{ACCOUNT}')"),
        ),
        (
            "authz.agent_has_scope",
            "select authz.agent_has_scope('leads:read')".into(),
        ),
        ("authz.agent_id", "select authz.agent_id()".into()),
        ("authz.agent_owner", "select authz.agent_owner()".into()),
        (
            "agent_auth.create_token",
            format!("select * from agent_auth.create_token('{CRM_AGENT}', 'probe', '{{leads:read}}')"),
        ),
        (
            "agent_auth.list_tokens",
            "select * from agent_auth.list_tokens()".into(),
        ),
        (
            "agent_auth.rotate_token",
            format!("select * from agent_auth.rotate_token('{CRM_TOKEN}')"),
        ),
        (
            "agent_auth.revoke_token",
            format!("select agent_auth.revoke_token('{CRM_TOKEN}')"),
        ),
        (
            "agent_auth.authenticate",
            format!("select * from agent_auth.authenticate('{CRM_TOKEN_SHA256}')"),
        ),
        (
            // The mcp function's admission: the check, then the count (increment_agent_counter).
            "agent_auth.admit",
            format!("select * from agent_auth.admit('{CRM_TOKEN_SHA256}', 2)"),
        ),
        (
            "public.backend_metrics",
            "select * from public.backend_metrics()".into(),
        ),
        (
            // The setup put a message in the default partition for January 2031: the job moves it.
            "public.create_social_messages_partitions",
            "select public.create_social_messages_partitions(0, '2031-01-01')".into(),
        ),
        // Issue 20: the lead-scoring queue, spend limits, social tokens and the connect flow.
        (
            "public.claim_lead_scoring",
            "select * from public.claim_lead_scoring(5)".into(),
        ),
        (
            "public.queue_lead_scoring",
            format!("select public.queue_lead_scoring('{LEAD_OF_SALES_A}')"),
        ),
        (
            "public.social_tokens_due",
            "select * from public.social_tokens_due(5)".into(),
        ),
        (
            "public.store_social_tokens",
            format!("select public.store_social_tokens('{ACCOUNT}', 'probe', 3600, 'probe-refresh', 86400)"),
        ),
        (
            "public.social_account_refresh_token",
            format!("select public.social_account_refresh_token('{ACCOUNT}')"),
        ),
        (
            "public.mark_social_reconnect",
            format!("select public.mark_social_reconnect('{ACCOUNT}', 'probe')"),
        ),
        (
            "public.begin_social_connect",
            format!("select public.begin_social_connect('instagram', null, '{ADMIN}')"),
        ),
        (
            "public.consume_social_connect",
            format!(
                "select * from public.consume_social_connect(\
                   public.begin_social_connect('tiktok', null, '{ADMIN}'))"
            ),
        ),
        (
            "public.connect_social_account",
            format!(
                "select public.connect_social_account('tiktok', 'probe.account', 'probe-open-id', \
                   null, '{ADMIN}', 'probe', 3600, 'probe-refresh', 86400)"
            ),
        ),
    ]
}

/// Trigger functions run for whoever fires them: (function, role, a statement of that role
/// that fires it and changes exactly one row).
fn firings() -> Vec<(&'static str, &'static str, String)> {
    vec![
        (
            "private.audit_statement",
            "service_role",
            format!("update public.leads set client_name = 'probe' where id = '{UNASSIGNED_LEAD}'"),
        ),
        (
            "private.audit_statement",
            "moha_sales",
            format!("update public.leads set client_name = 'probe' where id = '{LEAD_OF_SALES_A}'"),
        ),
        (
            "private.audit_statement",
            "moha_client",
            format!("update public.users set full_name = 'probe' where id = '{CLIENT}'"),
        ),
        (
            "private.notify_proposal_deciders",
            "moha_agent",
            format!(
                "insert into public.agent_proposals (agent_id, action, target_id, payload) \
                 values ('{CRM_AGENT}', 'set_lead_status', '{LEAD_OF_SALES_A}', '{{\"status\": \"won\"}}')"
            ),
        ),
        (
            "private.queue_new_leads",
            "service_role",
            "insert into public.leads (client_name) values ('probe')".into(),
        ),
        (
            "private.queue_noted_leads",
            "moha_sales",
            format!("insert into public.lead_notes (lead_id, note) values ('{LEAD_OF_SALES_A}', 'probe')"),
        ),
        (
            "private.queue_renoted_leads",
            "service_role",
            format!("update public.lead_notes set note = 'probe' where lead_id = '{LEAD_OF_SALES_A}'"),
        ),
        // Realtime's broadcast triggers (issue 18), fired by the roles whose writes send.
        (
            "private.realtime_inbox",
            "moha_sales",
            "update public.social_messages set status = 'read' where content = 'early'".into(),
        ),
        (
            "private.realtime_notification",
            "ai_agent",
            format!("insert into public.notifications (user_id, kind, title) values ('{CLIENT}', 'probe', 'probe')"),
        ),
        (
            "private.realtime_render",
            "ai_agent",
            "update public.render_requests set status = 'processing' where id = '15000000-0000-4000-a000-000000000001'".into(),
        ),
        (
            "private.realtime_lead",
            "moha_sales",
            format!("update public.leads set status = 'contacted' where id = '{LEAD_OF_SALES_A}'"),
        ),
        // Deferred to commit: each job's transaction makes constraints immediate (below).
        (
            "private.realtime_dashboard",
            "moha_sales",
            format!("update public.leads set status = 'qualified' where id = '{LEAD_OF_SALES_A}'"),
        ),
        (
            "private.handle_new_user",
            "supabase_auth_admin",
            "insert into auth.users (instance_id, id, aud, role, email, raw_app_meta_data, \
               raw_user_meta_data, created_at, updated_at) \
             values ('00000000-0000-0000-0000-000000000000', '99000000-0000-4000-a000-000000000001', \
               'authenticated', 'authenticated', 'probe@moha.test', '{}', '{}', pg_catalog.now(), \
               pg_catalog.now())"
                .into(),
        ),
    ]
}

/// The claims a session of `role` carries: a persona of that role, else none.
fn claims_for(role: &str) -> Value {
    if role == "authenticated" {
        // A signed-in user whose token predates the hook's role claim.
        let mut c = persona_claims("client");
        c["role"] = json!("authenticated");
        return c;
    }
    match PERSONAS.iter().find(|p| p.db_role == role) {
        Some(p) => personas::claims(p),
        None => json!({}),
    }
}

struct Definer {
    oid: u32,
    /// `schema.name`.
    name: String,
    trigger: bool,
}

/// Every security-definer function of the project.
fn definers(c: &mut Client) -> Vec<Definer> {
    c.query(
        &format!(
            "select p.oid, n.nspname || '.' || p.proname, p.prorettype = 'pg_catalog.trigger'::pg_catalog.regtype
               from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
              where n.nspname in {OURS} and p.prosecdef
                and not exists (select 1 from pg_catalog.pg_depend d where d.objid = p.oid and d.deptype = 'e')
              order by 2, 1"
        ),
        &[],
    )
    .unwrap()
    .iter()
    .map(|r| Definer {
        oid: r.get(0),
        name: r.get(1),
        trigger: r.get(2),
    })
    .collect()
}

/// The names to plant: every relation of the project schemas, with its columns (so statements
/// written for the real one work on the planted one), and every word of every function body.
/// Words naming a built-in type become temp domains; the rest, temp views.
struct Plants {
    views: BTreeMap<String, Vec<(String, String)>>,
    /// Name, and whether the domain is based on the built-in type of that name (so it works
    /// wherever the type does) rather than on text.
    domains: BTreeMap<String, bool>,
}

fn plants(c: &mut Client) -> Plants {
    let mut views: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for r in c
        .query(
            &format!(
                "select c.relname::text, a.attname::text,
                        -- Types of other schemas (extensions) may not be usable by the planter.
                        case when t.typnamespace in ('pg_catalog'::regnamespace, 'public'::regnamespace)
                             then pg_catalog.format_type(a.atttypid, a.atttypmod) else 'pg_catalog.text' end
                   from pg_catalog.pg_class c
                   join pg_catalog.pg_namespace n on n.oid = c.relnamespace
                   join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
                   join pg_catalog.pg_type t on t.oid = a.atttypid
                  where n.nspname in {OURS} and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S')
                  order by n.nspname, c.relname, a.attnum"
            ),
            &[],
        )
        .unwrap()
    {
        let (rel, col, ty): (String, String, String) = (r.get(0), r.get(1), r.get(2));
        let cols = views.entry(rel).or_default();
        // The first schema's relation of a name wins (public before private, by the order).
        if !cols.iter().any(|(c, _)| *c == col) {
            cols.push((col, ty));
        }
    }
    let bodies: Vec<String> = c
        .query(
            &format!(
                "select p.prosrc from pg_catalog.pg_proc p
                   join pg_catalog.pg_namespace n on n.oid = p.pronamespace
                  where n.nspname in {OURS}"
            ),
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut words = BTreeSet::new();
    for body in &bodies {
        for w in body.split(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_')) {
            let w = w.to_ascii_lowercase();
            if w.len() <= 63 && w.starts_with(|ch: char| ch.is_ascii_alphabetic() || ch == '_') {
                words.insert(w);
            }
        }
    }
    // Reserved and type/function/column-name keywords never reach a name lookup unquoted.
    let keywords: BTreeSet<String> = c
        .query(
            "select word from pg_catalog.pg_get_keywords() where catcode <> 'U'",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    // Built-in type names, and whether a domain can be based on the type itself.
    let builtin_types: BTreeMap<String, bool> = c
        .query(
            "select typname::text, typtype in ('b', 'r', 'm') from pg_catalog.pg_type
              where typnamespace = 'pg_catalog'::regnamespace and typrelid = 0 and typname !~ '^_'",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let mut domains = BTreeMap::new();
    for w in words.difference(&keywords) {
        if let (Some(based), false) = (builtin_types.get(w), views.contains_key(w)) {
            domains.insert(w.clone(), *based);
        } else {
            views.entry(w.clone()).or_default();
        }
    }
    Plants { views, domains }
}

/// The attacker's spies: a function that, when it runs with any rights but the planter's, counts
/// (in a sequence, which no rollback undoes) and records who ran it; and a trigger function
/// calling it. Running as the planter is no escalation: the caller's own statements may meet
/// its own objects (the policies' `auth.uid()` does, being Supabase's, with `search_path = ''`).
fn spies(planter: &str) -> String {
    format!(
        "
create function pg_temp.spy(planted pg_catalog.text) returns pg_catalog.bool language plpgsql as $$
begin
  if current_user <> {planter} then
    perform pg_catalog.nextval('probe.touches');
    insert into probe.touched (planted, who) values (planted, current_user);
  end if;
  return true;
end $$;
create function pg_temp.spy_write() returns trigger language plpgsql as $$
begin
  perform pg_temp.spy(tg_table_name);
  return null;
end $$;
",
        planter = quote::literal(planter).unwrap()
    )
}

/// The planting statements: views first (their column types must resolve to the real types),
/// then the domains that shadow built-in type names.
fn planting(p: &Plants) -> Vec<String> {
    let mut out = Vec::new();
    for (name, cols) in &p.views {
        let n = quote::ident(name).unwrap();
        let select = if cols.is_empty() {
            "1 as planted".to_string()
        } else {
            cols.iter()
                .map(|(c, t)| format!("null::{t} as {}", quote::ident(c).unwrap()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.push(format!(
            "create view pg_temp.{n} as select {select} where pg_temp.spy({});\n\
             create trigger spy instead of insert or update or delete on pg_temp.{n} \
             for each row execute function pg_temp.spy_write();",
            quote::literal(name).unwrap()
        ));
    }
    for (name, based) in &p.domains {
        let n = quote::ident(name).unwrap();
        let base = if *based { n.as_str() } else { "text" };
        out.push(format!(
            "create domain pg_temp.{n} as pg_catalog.{base} check (pg_temp.spy({}));",
            quote::literal(name).unwrap()
        ));
    }
    out
}

fn touches(admin: &mut Client) -> i64 {
    admin
        .query_one(
            "select case when is_called then last_value else 0 end from probe.touches",
            &[],
        )
        .unwrap()
        .get(0)
}

/// Every definer function, called (or fired) by every role that may, after that role planted
/// temp objects under every name the function could look up: none of them may run.
#[test]
fn no_definer_function_touches_a_callers_temp_objects() {
    let (db, mut c) = seeded();
    c.batch_execute(&format!(
        "insert into private.secrets (name, secret) values ('social_token_key', 'probe key');
         insert into public.social_messages (account_id, message_type, content, received_at)
         values ('{ACCOUNT}', 'direct_message', 'early', '2031-01-15 12:00:00+00');
         create schema probe;
         create sequence probe.touches;
         create table probe.touched (planted text not null, who text not null);
         grant usage on schema probe to public;
         grant usage on sequence probe.touches to public;
         grant insert, select on probe.touched to public;"
    ))
    .unwrap();
    let mut admin = db.connect_admin();
    admin.batch_execute("set search_path = ''").unwrap();
    let functions = definers(&mut admin);
    let plant = planting(&plants(&mut admin));

    // What each role runs: the functions it may execute, and the statements firing triggers.
    let mut work: BTreeMap<String, Vec<Job>> = BTreeMap::new();
    let mut unreached = Vec::new();
    for f in &functions {
        if f.trigger {
            let fired: Vec<_> = firings()
                .into_iter()
                .filter(|(name, _, _)| *name == f.name)
                .collect();
            if fired.is_empty() {
                unreached.push(format!("{} (no statement fires it)", f.name));
            }
            for (_, role, sql) in fired {
                work.entry(role.into()).or_default().push(Job {
                    function: f.name.clone(),
                    sql,
                    kind: Kind::Fire,
                });
            }
            continue;
        }
        let (sql, kind) = match calls().into_iter().find(|(name, _)| *name == f.name) {
            Some((_, sql)) => (sql, Kind::Call),
            None => {
                // A function this list does not know yet: called with nulls, which still
                // compiles its declarations; the test fails until it has a real call.
                let args: String = admin
                    .query_one(
                        "select coalesce(pg_catalog.string_agg('null::' || pg_catalog.format_type(a.t, null), ', ' order by a.i), '')
                           from pg_catalog.unnest((select p.proargtypes::pg_catalog.oid[] from pg_catalog.pg_proc p where p.oid = $1))
                                with ordinality a(t, i)",
                        &[&f.oid],
                    )
                    .unwrap()
                    .get(0);
                unreached.push(format!("{} (called with nulls only)", f.name));
                (format!("select {}({args})", f.name), Kind::Nulls)
            }
        };
        let roles: Vec<String> = admin
            .query(
                "select r.rolname::text from pg_catalog.pg_roles r, pg_catalog.pg_proc p
                  where p.oid = $1
                    and pg_catalog.has_function_privilege(r.oid, p.oid, 'EXECUTE')
                    and not r.rolsuper
                    and not pg_catalog.pg_has_role(r.oid, p.proowner, 'USAGE')
                    and r.rolname !~ '^pg_'
                  order by 1",
                &[&f.oid],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert!(!roles.is_empty(), "nobody but its owner may run {}", f.name);
        for role in roles {
            work.entry(role).or_default().push(Job {
                function: f.name.clone(),
                sql: sql.clone(),
                kind,
            });
        }
    }

    let mut findings = Vec::new();
    let mut reached = BTreeSet::new();
    for (role, jobs) in &work {
        // A fresh session per role: PL/pgSQL caches what a function's names resolved to.
        let mut s = db.connect_admin();
        assert!(
            role.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_'),
            "odd role {role}"
        );
        s.batch_execute(&format!(
            "set role {role}; set search_path = pg_catalog, pg_temp; set timezone = 'UTC';"
        ))
        .unwrap();
        s.execute(
            "select pg_catalog.set_config('request.jwt.claims', $1, false)",
            &[&claims_for(role).to_string()],
        )
        .unwrap();
        s.batch_execute(&spies(role)).unwrap();
        // Small batches: each is one transaction, and one holding hundreds of new relations
        // would need as many locks.
        for chunk in plant.chunks(50) {
            s.batch_execute(&chunk.join("\n"))
                .unwrap_or_else(|e| panic!("planting as {role}: {:?}", e.as_db_error()));
        }
        // The caller's own lookups go to its temp objects first, as far as a session can say.
        s.batch_execute("set search_path = pg_temp, public, pg_catalog")
            .unwrap();
        for job in jobs {
            let before = touches(&mut admin);
            let mut tx = s.transaction().unwrap();
            // Triggers deferred to commit fire with the statement, so the rollback below
            // does not skip them.
            tx.batch_execute("set constraints all immediate").unwrap();
            let outcome = tx.execute(job.sql.as_str(), &[]).map_err(sqlstate);
            let seen: Vec<String> = match outcome {
                Ok(_) => tx
                    .query("select planted || ' as ' || who from probe.touched", &[])
                    .unwrap()
                    .iter()
                    .map(|r| r.get(0))
                    .collect(),
                Err(_) => Vec::new(),
            };
            tx.rollback().unwrap();
            let touched = touches(&mut admin) - before;
            let as_expected = match job.kind {
                Kind::Call => outcome.is_ok(),
                Kind::Fire => outcome == Ok(1),
                Kind::Nulls => true,
            };
            if touched != 0 || !as_expected {
                findings.push(format!(
                    "{} as {role}: {outcome:?}, {touched} planted object(s) touched {seen:?}",
                    job.function
                ));
            }
            reached.insert(job.function.clone());
        }
    }
    let all: BTreeSet<String> = functions.iter().map(|f| f.name.clone()).collect();
    assert!(all.contains("public.create_social_messages_partitions"));
    assert_eq!(
        findings,
        Vec::<String>::new(),
        "definer functions ran a caller's temp objects"
    );
    let left: i64 = c
        .query_one("select pg_catalog.count(*) from probe.touched", &[])
        .unwrap()
        .get(0);
    assert_eq!(left, 0);
    assert_eq!(
        unreached,
        Vec::<String>::new(),
        "give these a call in calls() or a statement in firings()"
    );
    assert_eq!(reached, all);
}

#[derive(Clone, Copy)]
enum Kind {
    /// A call with plausible arguments: it must succeed.
    Call,
    /// A statement firing a trigger function: it must change exactly one row.
    Fire,
    /// A call with nulls, for a function not listed yet: any outcome.
    Nulls,
}

struct Job {
    function: String,
    sql: String,
    kind: Kind,
}

/// Every project function pins its `search_path`, with `pg_catalog` first (built-in names
/// resolve there before anywhere else) and `pg_temp` explicitly last (otherwise it is searched
/// first, before `pg_catalog` too).
#[test]
fn every_function_searches_pg_temp_last() {
    let db = moha_tests::cluster().migrated_db();
    let mut c = db.connect();
    let wrong: Vec<String> = c
        .query(
            &format!(
                "select pg_catalog.format('%I.%I(%s) %s', n.nspname, p.proname,
                        pg_catalog.pg_get_function_identity_arguments(p.oid), coalesce(p.proconfig::text, 'no config'))
                   from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
                  where n.nspname in {OURS}
                    and not exists (select 1 from pg_catalog.pg_depend d where d.objid = p.oid and d.deptype = 'e')
                    and not coalesce((
                      select path[1] = 'pg_catalog' and path[pg_catalog.cardinality(path)] = 'pg_temp'
                        from pg_catalog.unnest(p.proconfig) cfg,
                             pg_catalog.string_to_array(pg_catalog.replace(pg_catalog.substr(cfg, 13), ' ', ''), ',') path
                       where cfg like 'search\\_path=%'), false)
                  order by 1"
            ),
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(wrong, Vec::<String>::new());
}
