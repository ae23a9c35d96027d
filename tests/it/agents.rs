//! Outside agents from the attacker's side (issue 16): the Admin's token functions, tokens that
//! stop working the moment they are revoked, expire or their agent is suspended, scopes that
//! cannot be widened, and proposals that only a human with the matching permission can turn into
//! an action, once. Sessions are opened as PostgREST opens them (`set local role` + claims);
//! refusals are asserted by SQLSTATE.

use std::sync::{Arc, Barrier};

use moha_tests::cluster;
use moha_tests::personas::{self, agent, persona};
use postgres::{Client, Transaction};
use serde_json::{json, Value};

const CRM_AGENT: &str = "1a000000-0000-4000-a000-000000000001";
const CRM_TOKEN: &str = "1b000000-0000-4000-a000-000000000001";
const STUDIO_AGENT: &str = "1a000000-0000-4000-a000-000000000002";
const ADMIN_DRAFT: &str = "14000000-0000-4000-a000-000000000003";
const LEAD_OF_SALES_A: &str = "16000000-0000-4000-a000-000000000001";
const DENIED: &str = "42501";

fn seeded() -> (moha_tests::TestDb, Client) {
    let db = cluster().migrated_db();
    let mut c = db.connect();
    personas::create(&mut c, true).unwrap_or_else(|e| panic!("{e:#}"));
    (db, c)
}

fn sqlstate(e: postgres::Error) -> String {
    e.code()
        .map(|c| c.code().to_string())
        .unwrap_or_else(|| e.to_string())
}

fn claims(name: &str) -> Value {
    personas::claims(persona(name))
}

fn as_postgrest(tx: &mut Transaction<'_>, claims: &Value) {
    let role = claims["role"].as_str().unwrap();
    assert!(role.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_'));
    tx.batch_execute(&format!("set local role {role}")).unwrap();
    tx.execute(
        "select pg_catalog.set_config('request.jwt.claims', $1, true)",
        &[&claims.to_string()],
    )
    .unwrap();
}

/// Runs `sql` as `claims` and commits when it succeeds; the first row's first column as text.
fn run(c: &mut Client, claims: &Value, sql: &str) -> Result<Option<String>, String> {
    let mut tx = c.transaction().unwrap();
    as_postgrest(&mut tx, claims);
    match tx.query(sql, &[]) {
        Ok(rows) => {
            tx.commit().unwrap();
            Ok(rows.first().and_then(|r| r.try_get::<_, String>(0).ok()))
        }
        Err(e) => Err(sqlstate(e)),
    }
}

fn one(c: &mut Client, sql: &str) -> String {
    c.query_one(sql, &[]).unwrap().get(0)
}

/// The SHA-256 hex of a token, as the mcp function computes it (here by PostgreSQL).
fn sha256_hex(c: &mut Client, token: &str) -> String {
    c.query_one(
        "select encode(sha256(convert_to($1, 'UTF8')), 'hex')",
        &[&token],
    )
    .unwrap()
    .get(0)
}

fn outcome(c: &mut Client, token: &str) -> String {
    let hash = sha256_hex(c, token);
    run(
        c,
        &json!({"role": "moha_agent"}),
        &format!("select outcome from agent_auth.authenticate('{hash}')"),
    )
    .unwrap()
    .unwrap()
}

#[test]
fn admins_issue_tokens_within_the_agents_scopes_and_lifetime_and_only_the_hash_is_kept() {
    let (_db, mut c) = seeded();
    let admin = claims("admin");
    let row = run(
        &mut c,
        &admin,
        &format!(
            "select token || ' ' || token_id::text || ' ' || (expires_at - now() > interval '89 days 23 hours')::text \
               from agent_auth.create_token('{CRM_AGENT}', 'ide', '{{leads:read}}')"
        ),
    )
    .unwrap()
    .unwrap();
    let parts: Vec<&str> = row.split(' ').collect();
    let (token, id, ninety_days) = (parts[0], parts[1], parts[2]);
    assert_eq!(
        ninety_days, "true",
        "the default lifetime is the agent's maximum"
    );
    let body = token.strip_prefix("moha_").expect("moha_ prefix");
    assert_eq!(body.len(), 43, "32 random bytes, base64url");
    // Only the hash is stored, nowhere the token (the audit row redacts even the hash).
    let stored = one(
        &mut c,
        &format!("select token_hash from public.api_tokens where id = '{id}'"),
    );
    assert_eq!(stored, sha256_hex(&mut c, token));
    let leaked: i64 = c
        .query_one(
            "select count(*) from public.audit_logs where new_values::text like '%' || $1 || '%' \
                or new_values::text like '%' || $2 || '%'",
            &[&body, &stored],
        )
        .unwrap()
        .get(0);
    assert_eq!(leaked, 0);
    assert_eq!(outcome(&mut c, token), "ok");

    // A scope outside the agent's allowed set, a lifetime over its maximum, no scope at all.
    for (scopes, ttl) in [
        ("{users:edit}", "null"),
        ("{leads:read,blog_posts:create}", "null"),
        ("{}", "null"),
        ("{leads:read}", "'91 days'"),
        ("{leads:read}", "'-1 day'"),
    ] {
        let r = run(
            &mut c,
            &admin,
            &format!(
                "select token from agent_auth.create_token('{CRM_AGENT}', 'x', '{scopes}', {ttl})"
            ),
        );
        assert_eq!(r, Err("22023".into()), "{scopes} {ttl}");
    }
    // Nobody but an Admin's role may call the functions; a forged role claim changes nothing.
    for who in [
        "sales_a",
        "designer",
        "client",
        "agent_crm",
        "ai_agent",
        "anon",
    ] {
        let r = run(
            &mut c,
            &claims(who),
            &format!(
                "select token from agent_auth.create_token('{CRM_AGENT}', 'x', '{{leads:read}}')"
            ),
        );
        assert_eq!(r, Err(DENIED.into()), "{who}");
    }
    let mut demoted = claims("sales_a");
    demoted["role"] = json!("moha_admin");
    let r = run(
        &mut c,
        &demoted,
        &format!("select token from agent_auth.create_token('{CRM_AGENT}', 'x', '{{leads:read}}')"),
    );
    assert_eq!(
        r,
        Err(DENIED.into()),
        "the database's record decides who is an Admin"
    );
    // An agent may only be allowed the agent vocabulary.
    let r = run(
        &mut c,
        &admin,
        &format!(
            "update public.agents set allowed_scopes = '{{users:edit}}' where id = '{CRM_AGENT}'"
        ),
    );
    assert_eq!(r, Err("22023".into()));
}

#[test]
fn revoked_expired_rotated_and_suspended_tokens_stop_at_the_next_statement() {
    let (_db, mut c) = seeded();
    let admin = claims("admin");
    let crm = agent("agent_crm").unwrap();
    let leads = "select count(*)::text from public.leads";
    assert_eq!(
        run(&mut c, &claims("agent_crm"), leads).unwrap().unwrap(),
        "3"
    );

    // Rotation: a new token with the same scopes, the old one dead at once.
    let new = run(
        &mut c,
        &admin,
        &format!("select token from agent_auth.rotate_token('{CRM_TOKEN}')"),
    )
    .unwrap()
    .unwrap();
    assert_eq!(outcome(&mut c, crm.token), "revoked");
    assert_eq!(outcome(&mut c, &new), "ok");
    // The old token's claims, still held by a client, read nothing any more.
    assert_eq!(
        run(&mut c, &claims("agent_crm"), leads).unwrap().unwrap(),
        "0"
    );
    let r = run(
        &mut c,
        &admin,
        &format!("select token from agent_auth.rotate_token('{CRM_TOKEN}')"),
    );
    assert_eq!(
        r,
        Err("55000".into()),
        "a revoked token cannot be rotated back to life"
    );

    let new_hash = sha256_hex(&mut c, &new);
    let new_id = one(
        &mut c,
        &format!("select id::text from public.api_tokens where token_hash = '{new_hash}'"),
    );
    let mut new_claims = claims("agent_crm");
    new_claims["token_id"] = json!(new_id);
    assert_eq!(run(&mut c, &new_claims, leads).unwrap().unwrap(), "3");
    // Suspending the agent stops every token of it.
    c.execute(
        "update public.agents set status = 'suspended' where id = $1::text::uuid",
        &[&CRM_AGENT],
    )
    .unwrap();
    assert_eq!(outcome(&mut c, &new), "suspended");
    assert_eq!(run(&mut c, &new_claims, leads).unwrap().unwrap(), "0");
    c.execute(
        "update public.agents set status = 'active' where id = $1::text::uuid",
        &[&CRM_AGENT],
    )
    .unwrap();
    // Narrowing the agent narrows its live tokens.
    c.execute(
        "update public.agents set allowed_scopes = array_remove(allowed_scopes, 'leads:read') where id = $1::text::uuid",
        &[&CRM_AGENT],
    )
    .unwrap();
    assert_eq!(run(&mut c, &new_claims, leads).unwrap().unwrap(), "0");
    // Expiry.
    c.execute(
        "update public.api_tokens set created_at = now() - interval '2 days', expires_at = now() - interval '1 second' where id = $1::text::uuid",
        &[&new_id],
    )
    .unwrap();
    assert_eq!(outcome(&mut c, &new), "expired");
    // Revoking is idempotent, and unknown tokens are unknown.
    run(
        &mut c,
        &admin,
        &format!("select agent_auth.revoke_token('{new_id}')::text"),
    )
    .unwrap();
    assert_eq!(outcome(&mut c, "moha_never-issued"), "unknown");

    // Claims naming a token that is not the agent's own give nothing either.
    let mut forged = claims("agent_studio");
    forged["agent_id"] = json!(CRM_AGENT);
    assert_eq!(run(&mut c, &forged, leads).unwrap().unwrap(), "0");
    // A scope in the claims that the token does not hold gives nothing.
    let mut wider = claims("agent_studio");
    wider["scopes"] = json!(["leads:read"]);
    assert_eq!(run(&mut c, &wider, leads).unwrap().unwrap(), "0");
}

#[test]
fn last_used_at_is_written_at_most_once_a_minute() {
    let (_db, mut c) = seeded();
    let crm = agent("agent_crm").unwrap();
    let writes = |c: &mut Client| -> i64 {
        c.query_one(
            "select count(*) from public.audit_logs where table_name = 'public.api_tokens' \
               and action = 'update' and record_id = $1",
            &[&CRM_TOKEN],
        )
        .unwrap()
        .get(0)
    };
    for _ in 0..5 {
        assert_eq!(outcome(&mut c, crm.token), "ok");
    }
    assert_eq!(writes(&mut c), 1);
    c.execute(
        "update public.api_tokens set last_used_at = now() - interval '61 seconds' where id = $1::text::uuid",
        &[&CRM_TOKEN],
    )
    .unwrap();
    assert_eq!(outcome(&mut c, crm.token), "ok");
    assert_eq!(
        writes(&mut c),
        3,
        "the test's own update, then one more use"
    );
}

#[test]
fn no_user_holds_the_agent_role_and_no_users_token_names_moha_agent() {
    let (_db, mut c) = seeded();
    let sales_a = personas::id("sales_a");
    let r = run(
        &mut c,
        &claims("admin"),
        &format!(
            "update public.users set role_id = (select id from public.roles where name = 'Agent') where id = '{sales_a}'"
        ),
    );
    assert_eq!(r, Err(DENIED.into()));
    let r = c.execute(
        "update public.users set role_id = (select id from public.roles where name = 'Agent') where id = $1::text::uuid",
        &[&sales_a],
    );
    assert_eq!(
        r.map_err(sqlstate),
        Err(DENIED.into()),
        "not even the owner"
    );
}

#[test]
fn an_agents_writes_are_audited_as_the_agent_with_its_token() {
    let (_db, mut c) = seeded();
    run(
        &mut c,
        &claims("agent_crm"),
        &format!(
            "insert into public.lead_notes (lead_id, note, created_by) values ('{LEAD_OF_SALES_A}', 'called back', null)"
        ),
    )
    .unwrap();
    let row = c
        .query_one(
            "select actor_kind::text, actor_role, agent_id::text, token_id::text, performed_by::text \
               from public.audit_logs where table_name = 'public.lead_notes' and action = 'insert' \
              order by id desc limit 1",
            &[],
        )
        .unwrap();
    let got: (
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
    ) = (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4));
    assert_eq!(
        got,
        (
            "agent".into(),
            "moha_agent".into(),
            Some(CRM_AGENT.into()),
            Some(CRM_TOKEN.into()),
            None
        )
    );
    // Signed as a user, or without the scope: refused.
    let r = run(
        &mut c,
        &claims("agent_crm"),
        &format!(
            "insert into public.lead_notes (lead_id, note, created_by) values ('{LEAD_OF_SALES_A}', 'x', '{}')",
            personas::id("sales_a")
        ),
    );
    assert_eq!(r, Err(DENIED.into()));
    let r = run(
        &mut c,
        &claims("agent_studio"),
        &format!(
            "insert into public.lead_notes (lead_id, note, created_by) values ('{LEAD_OF_SALES_A}', 'x', null)"
        ),
    );
    assert_eq!(r, Err(DENIED.into()));
}

fn propose(c: &mut Client, who: &str, action: &str, target: &str, payload: Value) -> String {
    run(
        c,
        &claims(who),
        &format!(
            "insert into public.agent_proposals (id, action, target_id, payload) \
             values (gen_random_uuid(), '{action}', '{target}', '{payload}') returning id::text"
        ),
    )
    .unwrap_or_else(|e| panic!("{who} proposing {action}: {e}"))
    .unwrap()
}

fn post_status(c: &mut Client) -> String {
    one(
        c,
        &format!("select status::text from public.blog_posts where id = '{ADMIN_DRAFT}'"),
    )
}

#[test]
fn a_proposal_runs_only_for_a_human_with_the_permission_and_only_once() {
    let (db, mut c) = seeded();
    let id = propose(
        &mut c,
        "agent_studio",
        "publish_post",
        ADMIN_DRAFT,
        json!({"rationale": "ready"}),
    );
    // The people who may decide were told: Admins for publishing.
    let told: Vec<String> = c
        .query(
            "select u.email::text from public.notifications n join public.users u on u.id = n.user_id \
              where n.kind = 'agent_proposal' and n.body like '%' || $1 || '%' order by 1",
            &[&id],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(told, ["admin@moha.test"]);
    // Without blog:publish the proposal is not even visible, so not decidable.
    for who in ["designer", "sales_a", "client"] {
        let r = run(
            &mut c,
            &claims(who),
            &format!("select public.decide_agent_proposal('{id}', true)::text"),
        );
        assert_eq!(r, Err(DENIED.into()), "{who}");
    }
    // Nor can the agent decide its own proposal, or write a decision directly.
    let r = run(
        &mut c,
        &claims("agent_studio"),
        &format!("select public.decide_agent_proposal('{id}', true)::text"),
    );
    assert_eq!(r, Err(DENIED.into()));
    let r = run(
        &mut c,
        &claims("agent_studio"),
        &format!("update public.agent_proposals set status = 'approved' where id = '{id}'"),
    );
    assert_eq!(r, Err(DENIED.into()));
    assert_eq!(post_status(&mut c), "draft");

    // Two Admins approve at the same moment: the action runs once.
    let barrier = Arc::new(Barrier::new(2));
    let results: Vec<Result<Option<String>, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let barrier = barrier.clone();
                let url = db.url();
                let id = id.clone();
                s.spawn(move || {
                    let mut c = xtask::db::connect(&url).unwrap();
                    let mut tx = c.transaction().unwrap();
                    as_postgrest(&mut tx, &claims("admin"));
                    barrier.wait();
                    let r = tx.query(
                        &format!("select public.decide_agent_proposal('{id}', true)::text"),
                        &[],
                    );
                    match r {
                        Ok(rows) => {
                            tx.commit().unwrap();
                            Ok(rows[0].get(0))
                        }
                        Err(e) => Err(sqlstate(e)),
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut results = results;
    results.sort();
    assert_eq!(
        results,
        [Ok(Some("approved".into())), Err("55000".into())],
        "one approval runs, the other finds it decided"
    );
    assert_eq!(post_status(&mut c), "published");
    let publications: i64 = c
        .query_one(
            "select count(*) from public.audit_logs where table_name = 'public.blog_posts' \
               and record_id = $1 and action = 'update'",
            &[&ADMIN_DRAFT],
        )
        .unwrap()
        .get(0);
    assert_eq!(publications, 1, "the post was updated once");
    // The decision is audited as the human who made it.
    let decision = c
        .query_one(
            "select actor_kind::text, performed_by::text, new_values ->> 'status' from public.audit_logs \
              where table_name = 'public.agent_proposals' and record_id = $1 and action = 'update'",
            &[&id],
        )
        .unwrap();
    let got: (String, String, String) = (decision.get(0), decision.get(1), decision.get(2));
    assert_eq!(
        got,
        (
            "human".into(),
            personas::id("admin").into(),
            "approved".into()
        )
    );
}

#[test]
fn a_rejection_runs_nothing_and_an_expired_proposal_runs_nothing() {
    let (_db, mut c) = seeded();
    let id = propose(
        &mut c,
        "agent_crm",
        "set_lead_status",
        LEAD_OF_SALES_A,
        json!({"status": "lost"}),
    );
    // Sales and Admins may decide lead status; sales_a is told.
    let told: i64 = c
        .query_one(
            "select count(*) from public.notifications where kind = 'agent_proposal' and body like '%' || $1 || '%'",
            &[&id],
        )
        .unwrap()
        .get(0);
    assert_eq!(told, 3, "two Sales users and the Admin");
    let status = run(
        &mut c,
        &claims("sales_a"),
        &format!("select public.decide_agent_proposal('{id}', false, 'not yet')::text"),
    )
    .unwrap();
    assert_eq!(status.as_deref(), Some("rejected"));
    let lead = one(
        &mut c,
        &format!("select status::text from public.leads where id = '{LEAD_OF_SALES_A}'"),
    );
    assert_eq!(lead, "new", "a rejection changes nothing");
    let audited: i64 = c
        .query_one(
            "select count(*) from public.audit_logs where table_name = 'public.agent_proposals' \
               and record_id = $1 and new_values ->> 'status' = 'rejected'",
            &[&id],
        )
        .unwrap()
        .get(0);
    assert_eq!(audited, 1);

    let late = propose(
        &mut c,
        "agent_crm",
        "set_lead_status",
        LEAD_OF_SALES_A,
        json!({"status": "won"}),
    );
    c.execute(
        "update public.agent_proposals set expires_at = now() - interval '1 second' where id = $1::text::uuid",
        &[&late],
    )
    .unwrap();
    let status = run(
        &mut c,
        &claims("admin"),
        &format!("select public.decide_agent_proposal('{late}', true)::text"),
    )
    .unwrap();
    assert_eq!(status.as_deref(), Some("expired"));
    let lead = one(
        &mut c,
        &format!("select status::text from public.leads where id = '{LEAD_OF_SALES_A}'"),
    );
    assert_eq!(lead, "new");
    // sales_b may decide lead status in general but cannot reach sales_a's lead: the action
    // runs under the approver's own policies, so the approval fails and nothing changes.
    let other = propose(
        &mut c,
        "agent_crm",
        "set_lead_status",
        LEAD_OF_SALES_A,
        json!({"status": "won"}),
    );
    let r = run(
        &mut c,
        &claims("sales_b"),
        &format!("select public.decide_agent_proposal('{other}', true)::text"),
    );
    assert_eq!(r, Err(DENIED.into()));
}

#[test]
fn agents_cannot_propose_decided_foreign_or_invisible_things() {
    let (_db, mut c) = seeded();
    let cases = [
        // Already approved.
        (
            "agent_crm",
            format!("insert into public.agent_proposals (action, target_id, payload, status) values ('set_lead_status', '{LEAD_OF_SALES_A}', '{{\"status\": \"won\"}}', 'approved')"),
        ),
        // In another agent's name.
        (
            "agent_crm",
            format!("insert into public.agent_proposals (agent_id, action, target_id, payload) values ('{STUDIO_AGENT}', 'set_lead_status', '{LEAD_OF_SALES_A}', '{{\"status\": \"won\"}}')"),
        ),
        // About a lead it cannot read (the studio agent has no leads:read).
        (
            "agent_studio",
            format!("insert into public.agent_proposals (action, target_id, payload) values ('set_lead_status', '{LEAD_OF_SALES_A}', '{{\"status\": \"won\"}}')"),
        ),
        // A post it cannot read.
        (
            "agent_crm",
            format!("insert into public.agent_proposals (action, target_id) values ('publish_post', '{ADMIN_DRAFT}')"),
        ),
    ];
    for (who, sql) in cases {
        assert_eq!(run(&mut c, &claims(who), &sql), Err(DENIED.into()), "{sql}");
    }
    // A malformed payload is refused by the table itself.
    let r = run(
        &mut c,
        &claims("agent_crm"),
        &format!("insert into public.agent_proposals (action, target_id, payload) values ('set_lead_status', '{LEAD_OF_SALES_A}', '{{\"status\": \"deleted\"}}')"),
    );
    assert_eq!(r, Err("23514".into()));
}
