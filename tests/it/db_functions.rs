//! The database functions of the plan, on a migrated throwaway database: render limits under
//! concurrency, audit rows with redaction, partition routing and creation, token encryption,
//! lead scoring and archival.

use std::sync::{Arc, Barrier};

use moha_tests::{cluster, TestDb};
use postgres::Client;

const USER: &str = "11111111-1111-1111-1111-111111111111";

/// A sign-up as Supabase Auth does it; the trigger creates the profile.
fn sign_up(c: &mut Client, id: &str, email: &str) {
    c.execute(
        "insert into auth.users (id, email) values ($1::text::uuid, $2)",
        &[&id, &email],
    )
    .unwrap();
}

/// Staff link the account to a client record: a Client may then spend on renders.
fn link_client(c: &mut Client, id: &str) {
    c.execute(
        "insert into public.clients (name, user_id) values ('linked', $1::text::uuid)",
        &[&id],
    )
    .unwrap();
}

fn sqlstate(e: &postgres::Error) -> String {
    e.code()
        .map(|c| c.code().to_string())
        .unwrap_or_else(|| format!("no SQLSTATE: {e}"))
}

fn as_service_role(c: &mut Client) {
    c.batch_execute("set role service_role; select set_config('request.jwt.claims', '{\"role\":\"service_role\"}', false)")
        .unwrap();
}

#[test]
fn sign_up_creates_a_client_profile() {
    let db = cluster().migrated_db();
    let mut c = db.connect();
    sign_up(&mut c, USER, "o'brien@example.com");
    let row = c
        .query_one(
            "select u.email, r.name from public.users u join public.roles r on r.id = u.role_id where u.id = $1::text::uuid",
            &[&USER],
        )
        .unwrap();
    assert_eq!(
        row.get::<_, Option<String>>(0).as_deref(),
        Some("o'brien@example.com")
    );
    assert_eq!(row.get::<_, String>(1), "Client");
}

fn render_limit_race(
    db: &TestDb,
    limit: i32,
    sessions: usize,
    calls_each: usize,
) -> (usize, usize) {
    let barrier = Arc::new(Barrier::new(sessions));
    let handles: Vec<_> = (0..sessions)
        .map(|_| {
            let url = db.url();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let mut c = xtask::db::connect(&url).unwrap();
                as_service_role(&mut c);
                barrier.wait();
                let (mut admitted, mut refused) = (0, 0);
                for _ in 0..calls_each {
                    match c.query_one(
                        "select public.increment_render_counter($1::text::uuid)",
                        &[&USER],
                    ) {
                        Ok(row) => {
                            let remaining: Option<i32> = row.get(0);
                            assert!(
                                remaining.is_some_and(|r| (0..limit).contains(&r)),
                                "remaining {remaining:?}"
                            );
                            admitted += 1;
                        }
                        Err(e) => {
                            assert_eq!(sqlstate(&e), "PT429", "{e}");
                            refused += 1;
                        }
                    }
                }
                (admitted, refused)
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().unwrap())
        .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
}

#[test]
fn increment_render_counter_admits_exactly_the_limit_under_concurrency() {
    let db = cluster().migrated_db();
    let mut c = db.connect();
    sign_up(&mut c, USER, "render@example.com");
    link_client(&mut c, USER);
    let limit = 37;
    c.execute(
        "insert into public.agent_limits (agent, scope, max_requests, window_seconds) values ('render', 'user', $1, 86400)",
        &[&limit],
    )
    .unwrap();
    let (admitted, refused) = render_limit_race(&db, limit, 16, 5);
    assert_eq!(admitted, limit as usize);
    assert_eq!(refused, 16 * 5 - limit as usize);
    let counted: i32 = c
        .query_one(
            "select sum(request_count)::int from public.agent_usage where user_id = $1::text::uuid",
            &[&USER],
        )
        .unwrap()
        .get(0);
    assert_eq!(counted, limit);
}

#[test]
fn increment_render_counter_refuses_callers_without_the_grant() {
    let db = cluster().migrated_db();
    let mut c = db.connect();
    sign_up(&mut c, USER, "r@example.com");
    for role in ["anon", "authenticated"] {
        c.batch_execute(&format!("set role {role}")).unwrap();
        let e = c
            .query_one(
                "select public.increment_render_counter($1::text::uuid)",
                &[&USER],
            )
            .unwrap_err();
        assert_eq!(sqlstate(&e), "42501", "{role}: {e}");
        c.batch_execute("reset role").unwrap();
    }
    as_service_role(&mut c);
    let e = c
        .query_one("select public.increment_render_counter(null)", &[])
        .unwrap_err();
    assert_eq!(sqlstate(&e), "22004");
    let e = c
        .query_one(
            "select public.increment_render_counter(gen_random_uuid())",
            &[],
        )
        .unwrap_err();
    assert_eq!(sqlstate(&e), "P0002");
    // A sign-up no one linked to a client record may not spend.
    let e = c
        .query_one(
            "select public.increment_render_counter($1::text::uuid)",
            &[&USER],
        )
        .unwrap_err();
    assert_eq!(sqlstate(&e), "PT403", "{e}");
}

/// Each agent has its own limits; a scheduled call (no user) is held to the global limit only,
/// and the refusal names the agent.
#[test]
fn increment_agent_counter_keeps_agents_apart_and_counts_scheduled_calls() {
    let db = cluster().migrated_db();
    let mut c = db.connect();
    sign_up(&mut c, USER, "agents@example.com");
    c.batch_execute(
        "insert into public.agent_limits (agent, scope, max_requests, window_seconds) values \
           ('insights', 'user', 2, 86400), ('social', 'global', 3, 86400)",
    )
    .unwrap();
    as_service_role(&mut c);
    let call = |c: &mut Client, agent: &str, user: Option<&str>| {
        c.query_one(
            "select public.increment_agent_counter($1, $2::text::uuid)",
            &[&agent, &user],
        )
        .map(|r| r.get::<_, Option<i32>>(0))
    };
    assert_eq!(call(&mut c, "insights", Some(USER)).unwrap(), Some(1));
    assert_eq!(call(&mut c, "insights", Some(USER)).unwrap(), Some(0));
    let e = call(&mut c, "insights", Some(USER)).unwrap_err();
    assert_eq!(sqlstate(&e), "PT429");
    let message = e.as_db_error().map(|d| d.message()).unwrap_or_default();
    assert!(message.contains("insights limit reached"), "{message}");
    // Renders have no limit here: the insights limit does not touch them.
    assert_eq!(call(&mut c, "render", Some(USER)).unwrap(), None);
    // No user: the user-scoped insights limit does not apply, the global social one does.
    assert_eq!(call(&mut c, "insights", None).unwrap(), None);
    for left in [2, 1, 0] {
        assert_eq!(call(&mut c, "social", None).unwrap(), Some(left));
    }
    assert_eq!(
        sqlstate(&call(&mut c, "social", None).unwrap_err()),
        "PT429"
    );
    assert_eq!(sqlstate(&call(&mut c, "", None).unwrap_err()), "22004");
    let usage: Vec<(String, bool, i32)> = c
        .query(
            "select agent, user_id is null, request_count from public.agent_usage order by 1, 2",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        usage,
        [
            ("insights".to_string(), false, 2),
            ("insights".to_string(), true, 1),
            ("render".to_string(), false, 1),
            ("social".to_string(), true, 3),
        ]
    );
}

#[test]
fn audit_rows_for_insert_update_delete_with_redaction_and_actor() {
    let db = cluster().migrated_db();
    let mut c = db.connect();
    sign_up(&mut c, USER, "a@example.com");
    // A human: a JWT with a subject.
    c.batch_execute(&format!(
        "select set_config('request.jwt.claims', '{{\"sub\":\"{USER}\",\"role\":\"authenticated\"}}', false)"
    ))
    .unwrap();
    let id: String = c
        .query_one(
            "insert into public.social_accounts (platform, username, access_token) values ('instagram', 'moha', 'secret-token'::bytea) returning id::text",
            &[],
        )
        .unwrap()
        .get(0);
    c.execute("update public.social_accounts set username = 'moha2', access_token = 'other'::bytea where id = $1::text::uuid", &[&id])
        .unwrap();
    c.execute(
        "delete from public.social_accounts where id = $1::text::uuid",
        &[&id],
    )
    .unwrap();
    let rows = c
        .query(
            "select action, actor_kind::text, performed_by::text, old_values, new_values from public.audit_logs \
             where table_name = 'public.social_accounts' and record_id = $1 order by id",
            &[&id],
        )
        .unwrap();
    let actions: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(actions, ["insert", "update", "delete"]);
    for r in &rows {
        assert_eq!(r.get::<_, String>(1), "human");
        assert_eq!(r.get::<_, Option<String>>(2).as_deref(), Some(USER));
        for values in [
            r.get::<_, Option<serde_json::Value>>(3),
            r.get::<_, Option<serde_json::Value>>(4),
        ]
        .into_iter()
        .flatten()
        {
            assert_eq!(values["access_token"], "[redacted]", "{values}");
            assert!(
                !values.to_string().contains("secret") && !values.to_string().contains("\\x"),
                "{values}"
            );
        }
    }
    let update = &rows[1];
    assert_eq!(update.get::<_, serde_json::Value>(3)["username"], "moha");
    assert_eq!(update.get::<_, serde_json::Value>(4)["username"], "moha2");

    // An edge function acting for the user as the AI agent role.
    c.batch_execute("select set_config('request.jwt.claims', '', false); set role ai_agent")
        .unwrap();
    let logged: i64 = c
        .query_one(
            "select public.log_audit_action('public.leads', 'x', 'score', $1::text::uuid)",
            &[&USER],
        )
        .unwrap()
        .get(0);
    c.batch_execute("reset role").unwrap();
    let row = c
        .query_one("select actor_kind::text, actor_role, performed_by::text from public.audit_logs where id = $1", &[&logged])
        .unwrap();
    let kind: String = row.get(0);
    assert_eq!(row.get::<_, String>(1), "ai_agent");
    assert_eq!(row.get::<_, Option<String>>(2).as_deref(), Some(USER));
    assert_eq!(kind, "agent");
    c.batch_execute("reset role").unwrap();
    let e = c
        .query_one(
            "select public.log_audit_action('public.x', null, 'Bad Action')",
            &[],
        )
        .unwrap_err();
    assert_eq!(sqlstate(&e), "22023");
    for stmt in [
        "update public.audit_logs set action = 'x'",
        "delete from public.audit_logs",
        "truncate public.audit_logs",
    ] {
        let e = c.batch_execute(stmt).unwrap_err();
        assert_eq!(sqlstate(&e), "42501", "{stmt}: {e}");
    }
}

/// The audit triggers run once per statement: a statement touching many rows writes one audit
/// row per row, each update pairing the row's own old and new values.
#[test]
fn one_statement_over_many_rows_audits_each_row_with_its_own_values() {
    let db = cluster().migrated_db();
    let mut c = db.connect();
    c.batch_execute(
        "insert into public.projects (title, category, status) \
         select 'P' || i, 'residential', 'active' from generate_series(1, 50) i",
    )
    .unwrap();
    c.batch_execute("update public.projects set title = title || '!' where title <> 'P7'")
        .unwrap();
    c.batch_execute("delete from public.projects where title in ('P1!', 'P2!')")
        .unwrap();
    let counts: Vec<(String, i64)> = c
        .query(
            "select action, count(*) from public.audit_logs where table_name = 'public.projects' \
             group by action order by action",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        counts,
        [
            ("delete".to_string(), 2),
            ("insert".to_string(), 50),
            ("update".to_string(), 49)
        ]
    );
    let mismatched: i64 = c
        .query_one(
            "select count(*) from public.audit_logs where table_name = 'public.projects' and action = 'update' \
               and (record_id <> old_values ->> 'id' or record_id <> new_values ->> 'id' \
                    or new_values ->> 'title' <> (old_values ->> 'title') || '!')",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(mismatched, 0);
    // A statement that changes nothing writes nothing.
    c.batch_execute("update public.projects set title = 'x' where false")
        .unwrap();
    let total: i64 = c
        .query_one(
            "select count(*) from public.audit_logs where table_name = 'public.projects'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(total, 101);
}

#[test]
fn social_messages_route_to_monthly_partitions_and_new_ones_take_rows_from_default() {
    let db = cluster().migrated_db();
    let mut c = db.connect();
    let account: String = c
        .query_one("insert into public.social_accounts (platform, username) values ('tiktok', 'moha') returning id::text", &[])
        .unwrap()
        .get(0);
    let insert =
        "insert into public.social_messages (account_id, message_type, content, received_at) \
                  values ($1::text::uuid, 'comment', $2, $3::text::timestamptz)";
    c.execute(insert, &[&account, &"now", &"now"]).unwrap();
    c.execute(insert, &[&account, &"old", &"2020-01-15 12:00:00+00"])
        .unwrap();
    let place = |c: &mut Client, content: &str| -> String {
        c.query_one(
            "select tableoid::regclass::text from public.social_messages where content = $1",
            &[&content],
        )
        .unwrap()
        .get(0)
    };
    let now_partition: String = c
        .query_one(
            "select 'private.social_messages_' || to_char(now() at time zone 'UTC', 'YYYY_MM')",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(place(&mut c, "now"), now_partition);
    assert_eq!(place(&mut c, "old"), "private.social_messages_default");

    as_service_role(&mut c);
    let created: i32 = c
        .query_one(
            "select public.create_social_messages_partitions(1, '2020-01-20')",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(created, 2);
    let again: i32 = c
        .query_one(
            "select public.create_social_messages_partitions(1, '2020-01-20')",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(again, 0);
    c.batch_execute("reset role").unwrap();
    assert_eq!(place(&mut c, "old"), "private.social_messages_2020_01");
    // The move out of the default partition is on the record as one entry, not as a delete and
    // an insert per row (the rows did not change; tests/it/partitions.rs checks them).
    let moves: Vec<String> = c
        .query(
            "select action from public.audit_logs where table_name = 'public.social_messages' \
               and (coalesce(new_values, old_values) ->> 'content' = 'old' \
                    or new_values ->> 'partition' = 'private.social_messages_2020_01') order by id",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(moves, ["insert", "partition_move"]);
    let bounds: String = c
        .query_one("select pg_get_expr(relpartbound, oid) from pg_class where oid = 'private.social_messages_2020_01'::regclass", &[])
        .unwrap()
        .get(0);
    assert_eq!(
        bounds,
        "FOR VALUES FROM ('2020-01-01 00:00:00+00') TO ('2020-02-01 00:00:00+00')"
    );
    let no_rls: i64 = c
        .query_one(
            "select count(*) from pg_inherits i join pg_class c on c.oid = i.inhrelid \
             where i.inhparent = 'public.social_messages'::regclass and not c.relrowsecurity",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(no_rls, 0);
    // An API role cannot reach a partition directly, nor create partitions.
    c.batch_execute("set role authenticated").unwrap();
    let e = c
        .query("select * from private.social_messages_default", &[])
        .unwrap_err();
    assert_eq!(sqlstate(&e), "42501");
    let e = c
        .query("select public.create_social_messages_partitions()", &[])
        .unwrap_err();
    assert_eq!(sqlstate(&e), "42501");
}

#[test]
fn access_tokens_round_trip_encrypted_and_only_for_service_role() {
    let db = cluster().migrated_db();
    let mut c = db.connect();
    let account: String = c
        .query_one("insert into public.social_accounts (platform, username) values ('instagram', 'studio') returning id::text", &[])
        .unwrap()
        .get(0);
    as_service_role(&mut c);
    let e = c
        .execute(
            "select public.set_social_account_token($1::text::uuid, 'tok')",
            &[&account],
        )
        .unwrap_err();
    assert_eq!(sqlstate(&e), "P0002", "a missing key is reported: {e}");
    c.batch_execute("reset role").unwrap();
    c.batch_execute("insert into private.secrets (name, secret) values ('social_token_key', 'test-key-0123456789abcdef')").unwrap();
    as_service_role(&mut c);
    let token = "IGQVJ-it's-a-token-\\-$$";
    c.execute(
        "select public.set_social_account_token($1::text::uuid, $2)",
        &[&account, &token],
    )
    .unwrap();
    let back: String = c
        .query_one(
            "select public.social_account_token($1::text::uuid)",
            &[&account],
        )
        .unwrap()
        .get(0);
    assert_eq!(back, token);
    c.batch_execute("reset role").unwrap();
    let cipher: Vec<u8> = c
        .query_one(
            "select access_token from public.social_accounts where id = $1::text::uuid",
            &[&account],
        )
        .unwrap()
        .get(0);
    assert_ne!(cipher, token.as_bytes());
    assert!(
        !cipher.windows(token.len()).any(|w| w == token.as_bytes()),
        "the token appears in the ciphertext"
    );
    for role in ["anon", "authenticated", "ai_agent"] {
        c.batch_execute(&format!("set role {role}")).unwrap();
        let e = c
            .query_one(
                "select public.social_account_token($1::text::uuid)",
                &[&account],
            )
            .unwrap_err();
        assert_eq!(sqlstate(&e), "42501", "{role}");
        c.batch_execute("reset role").unwrap();
    }
}

#[test]
fn lead_score_is_deterministic_and_uses_the_latest_ai_score() {
    let db = cluster().migrated_db();
    let mut c = db.connect();
    let lead: String = c
        .query_one("insert into public.leads (client_name, source) values ('Ann', 'referral') returning id::text", &[])
        .unwrap()
        .get(0);
    as_service_role(&mut c);
    let score = |c: &mut Client| -> i16 {
        c.query_one("select public.update_lead_score($1::text::uuid)", &[&lead])
            .unwrap()
            .get(0)
    };
    // referral 30 + fresh 20.
    assert_eq!(score(&mut c), 50);
    assert_eq!(score(&mut c), 50);
    c.batch_execute("reset role").unwrap();
    // The same score for the same reasons is recorded once, and the lead is not rewritten.
    let history = |c: &mut Client| -> (i64, i64) {
        let row = c
            .query_one(
                "select (select count(*) from public.lead_scoring where lead_id = $1::text::uuid), \
                        (select count(*) from public.audit_logs where table_name = 'public.leads' \
                           and record_id = $1 and action = 'update')",
                &[&lead],
            )
            .unwrap();
        (row.get(0), row.get(1))
    };
    assert_eq!(history(&mut c), (1, 1));
    c.execute("insert into public.lead_scoring (lead_id, score, model) values ($1::text::uuid, 80, 'claude')", &[&lead]).unwrap();
    c.execute(
        "insert into public.lead_notes (lead_id, note) values ($1::text::uuid, 'called')",
        &[&lead],
    )
    .unwrap();
    as_service_role(&mut c);
    // + 1 recent note (5) + 30% of the AI score 80 (24).
    assert_eq!(score(&mut c), 79);
    c.batch_execute("reset role").unwrap();
    // A new rules-v1 row (the AI row is the test's own): the factors changed.
    assert_eq!(history(&mut c), (3, 2));
    let stored: i16 = c
        .query_one(
            "select score from public.leads where id = $1::text::uuid",
            &[&lead],
        )
        .unwrap()
        .get(0);
    assert_eq!(stored, 79);
    let e = c
        .query_one("select public.update_lead_score(gen_random_uuid())", &[])
        .unwrap_err();
    assert_eq!(sqlstate(&e), "P0002");
}

#[test]
fn archive_old_projects_is_idempotent_and_audited() {
    let db = cluster().migrated_db();
    let mut c = db.connect();
    c.batch_execute(
        "insert into public.projects (title, status, completed_at) values \
           ('old', 'completed', now() - interval '2 years'), \
           ('recent', 'completed', now() - interval '1 month'), \
           ('active', 'active', null)",
    )
    .unwrap();
    as_service_role(&mut c);
    let first: i32 = c
        .query_one("select public.archive_old_projects()", &[])
        .unwrap()
        .get(0);
    let second: i32 = c
        .query_one("select public.archive_old_projects()", &[])
        .unwrap()
        .get(0);
    assert_eq!((first, second), (1, 0));
    let e = c
        .query_one(
            "select public.archive_old_projects(now() + interval '1 day')",
            &[],
        )
        .unwrap_err();
    assert_eq!(sqlstate(&e), "22023");
    c.batch_execute("reset role").unwrap();
    let archived: Vec<String> = c
        .query("select title from public.projects where status = 'archived' and archived_at is not null", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(archived, ["old"]);
    let audit: Vec<(String, String)> = c
        .query(
            "select action, actor_kind::text from public.audit_logs where table_name = 'public.projects' and action in ('update', 'archive') order by id",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        audit,
        [
            ("update".to_string(), "service".to_string()),
            ("archive".to_string(), "service".to_string())
        ]
    );
}

/// The fallback template of generate-ai-insights ships with the migrations (production needs
/// it), as the one default of its agent.
#[test]
fn the_migrations_ship_the_default_insights_template() {
    let db = cluster().migrated_db();
    let mut c = db.connect();
    let rows: Vec<(String, bool)> = c
        .query(
            "select template, is_default from public.prompt_templates where agent = 'insights'",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        rows,
        [(
            sql::moha::default_prompts::INSIGHTS_TEMPLATE.to_string(),
            true
        )]
    );
}

/// Tokens land in the counter rows the calls were counted in, so a `max_tokens` limit refuses
/// the next call once the window's tokens reach it; without a limit they go to the day's row.
#[test]
fn record_agent_usage_feeds_token_limits() {
    let db = cluster().migrated_db();
    let mut c = db.connect();
    sign_up(&mut c, USER, "tokens@example.com");
    c.batch_execute(
        "insert into public.agent_limits (agent, scope, max_requests, max_tokens, window_seconds) \
         values ('insights', 'global', 100, 1000, 3600)",
    )
    .unwrap();
    as_service_role(&mut c);
    let count = |c: &mut Client| {
        c.query_one(
            "select public.increment_agent_counter('insights', $1::text::uuid)",
            &[&USER],
        )
    };
    let record = |c: &mut Client, agent: &str, tokens: i64| {
        c.execute(
            "select public.record_agent_usage($1, $2::text::uuid, null, $3, 0.5)",
            &[&agent, &USER, &tokens],
        )
        .unwrap();
    };
    count(&mut c).unwrap();
    record(&mut c, "insights", 600);
    count(&mut c).unwrap();
    record(&mut c, "insights", 600);
    let e = count(&mut c).unwrap_err();
    assert_eq!(sqlstate(&e), "PT429");
    // No limit for renders: the day's row of the user.
    record(&mut c, "render", 42);
    let rows: Vec<(String, bool, i64, String)> = c
        .query(
            "select agent, user_id is null, tokens, cost::text from public.agent_usage order by agent",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    assert_eq!(
        rows,
        [
            ("insights".to_string(), true, 1200, "1.000000".to_string()),
            ("render".to_string(), false, 42, "0.500000".to_string()),
        ]
    );
    let e = c
        .execute(
            "select public.record_agent_usage('insights', null, null, -1)",
            &[],
        )
        .unwrap_err();
    assert_eq!(sqlstate(&e), "22023");
}
