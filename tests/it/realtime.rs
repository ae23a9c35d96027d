//! Realtime end to end (issue 18): the local gateway's Realtime endpoint
//! (xtask/gateway/realtime.ts) with the real @supabase/supabase-js (tests/it/realtime_client.ts,
//! run in Deno), a migrated database with the personas, and the database's broadcast triggers
//! (sql::moha::realtime). Messages are asserted as received, never merely as not failing.
//!
//! Attacks from the client's side (`hostile_*`) speak the wire protocol directly through Deno's
//! WebSocket (tests/it/realtime_attack.ts).

use std::sync::MutexGuard;

use moha_tests::gateway::{
    expired_token, fixture, forged_token, now, publishable_key, token, turn,
};
use moha_tests::personas;
use moha_tests::support;
use serde_json::{json, Value};

/// A second Admin, for presence (the personas have one).
const ADMIN2: &str = "00000000-0000-4000-a000-0000000a0d02";

fn db() -> postgres::Client {
    fixture().db.connect()
}

fn setup() -> MutexGuard<'static, ()> {
    let guard = turn();
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let mut c = db();
        c.batch_execute(&format!(
            "insert into auth.users (id, aud, role, email, raw_app_meta_data, raw_user_meta_data) \
               values ('{ADMIN2}', 'authenticated', 'authenticated', 'admin2@moha.test', \
                       '{{\"provider\":\"email\"}}', '{{\"full_name\":\"Abe Admin\"}}') \
               on conflict (id) do nothing; \
             update public.users set role_id = (select id from public.roles where name = 'Admin') \
               where id = '{ADMIN2}'; \
             insert into public.social_accounts (id, platform, username) \
               values ('17000000-0000-4000-a000-0000000000aa', 'instagram', 'moha.realtime') \
               on conflict (id) do nothing;"
        ))
        .unwrap();
    });
    guard
}

/// A persona's claims (or the second Admin's) expiring `exp_in` seconds from now, signed as the
/// stack signs users' tokens.
fn signed(persona: &str, exp_in: i64) -> String {
    let mut claims = if persona == "admin2" {
        let mut c = personas::claims(personas::persona("admin"));
        c["sub"] = json!(ADMIN2);
        c["email"] = json!("admin2@moha.test");
        c
    } else {
        personas::claims(personas::persona(persona))
    };
    claims["exp"] = json!(now() + exp_in);
    fixture().signing_keys.sign(&claims).unwrap()
}

/// Runs `script` in Deno with `vars`; its stdout's JSON.
fn deno(script: &str, vars: &[(&str, String)]) -> Value {
    let f = fixture();
    let mut cmd = support::deno(script);
    cmd.env("GATEWAY_URL", format!("http://127.0.0.1:{}", f.port))
        .env("PUBLISHABLE_KEY", publishable_key())
        .env("DB_URL", f.db.url());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let stdout = support::run_ok(&mut cmd).stdout;
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

fn client(scenario: &str, vars: &[(&str, String)]) -> Value {
    let mut all = vec![("SCENARIO", scenario.to_string())];
    all.extend(vars.iter().cloned());
    deno("realtime_client.ts", &all)
}

fn unauthorized(topic: &str) -> String {
    format!("Unauthorized: You do not have permissions to read from this Channel topic: {topic}")
}

#[test]
fn sales_a_hears_the_assignment_within_a_second_and_sales_b_is_refused() {
    let _t = setup();
    let a = personas::id("sales_a");
    let b = personas::id("sales_b");
    // Sales B carries more open leads, so assign-leads picks Sales A.
    db().batch_execute(&format!(
        "delete from public.agent_limits where agent = 'leads'; \
         update public.leads set assigned_to = null where assigned_to = '{a}'; \
         insert into public.leads (client_name, source, assigned_to) \
           select 'Busy ' || g, 'referral', '{b}' from generate_series(1, 5) g"
    ))
    .unwrap();
    let lead: String = db()
        .query_one(
            "insert into public.leads (client_name, email, phone, source) \
             values ('Rita Realtime', 'rita@example.com', '+15550100', 'referral') returning id::text",
            &[],
        )
        .unwrap()
        .get(0);
    let out = client(
        "leads",
        &[
            ("SALES_A_ID", a.to_string()),
            ("SALES_A_TOKEN", token("sales_a")),
            ("SALES_B_TOKEN", token("sales_b")),
            ("ADMIN_TOKEN", token("admin")),
            ("LEAD_ID", lead.clone()),
        ],
    );
    assert_eq!(out["status"], 200, "{out}");
    assert_eq!(out["assigned_to"], a, "{out}");
    assert_eq!(out["a"]["status"], "SUBSCRIBED", "{out}");
    let msg = &out["a"]["message"];
    assert_eq!(msg["payload"]["id"], lead.as_str(), "{out}");
    assert_eq!(msg["payload"]["assigned_to"], a, "{out}");
    // A list's fields, never the contact details.
    assert!(
        msg["payload"].get("email").is_none() && msg["payload"].get("phone").is_none(),
        "{out}"
    );
    assert_eq!(msg["meta"]["id"].as_str().map(str::len), Some(36), "{out}");
    // Within a second of the assignment (the function answers after committing it).
    let delay = out["delay_after_answer_ms"]
        .as_f64()
        .expect("Sales A got it");
    assert!(
        delay < 1000.0,
        "{delay} ms after the function answered: {out}"
    );
    // The 1.0.0 serializer's client gets the same message.
    assert_eq!(out["a1"]["status"], "SUBSCRIBED", "{out}");
    assert_eq!(
        out["a1"]["message"]["payload"]["id"],
        lead.as_str(),
        "{out}"
    );
    assert_eq!(out["b"]["status"], "CHANNEL_ERROR", "{out}");
    assert_eq!(
        out["b"]["error"],
        unauthorized(&format!("leads:{a}")),
        "{out}"
    );
    // Sending on a topic one may only listen to: dropped (the ack never comes), seen by no one.
    assert_eq!(out["forged_send"], "timed out", "{out}");
    assert_eq!(out["forged_seen"], 0, "{out}");
}

#[test]
fn a_client_hears_their_own_renders_and_nothing_of_another_clients() {
    let _t = setup();
    let me = personas::id("client");
    let out = client(
        "renders",
        &[
            ("CLIENT_ID", me.to_string()),
            ("CLIENT2_ID", personas::id("client2").to_string()),
            ("CLIENT_TOKEN", token("client")),
            ("CLIENT2_TOKEN", token("client2")),
            ("DESIGNER_TOKEN", token("designer")),
        ],
    );
    let id = out["id"].as_str().unwrap();
    assert_eq!(out["mine"]["status"], "SUBSCRIBED", "{out}");
    let got: Vec<Value> = out["mine"]["got"].as_array().unwrap().clone();
    assert_eq!(
        got,
        vec![
            json!(["render_status", id, "queued"]),
            json!(["render_status", id, "processing"]),
            json!(["render_status", id, "succeeded"])
        ],
        "{out}"
    );
    assert_eq!(
        out["payload_keys"],
        json!([
            "completed_at",
            "error_message",
            "id",
            "project_id",
            "status",
            "updated_at"
        ]),
        "{out}"
    );
    assert_eq!(out["theirs"]["status"], "SUBSCRIBED", "{out}");
    assert_eq!(out["theirs"]["got"], json!([]), "{out}");
    assert_eq!(out["peek"]["status"], "CHANNEL_ERROR", "{out}");
    assert_eq!(
        out["peek"]["error"],
        unauthorized(&format!("user:{me}")),
        "{out}"
    );
    assert_eq!(out["reviewer"]["status"], "SUBSCRIBED", "{out}");
    assert_eq!(out["reviewer"]["got"].as_array().unwrap().len(), 3, "{out}");
    assert_eq!(out["client_review"]["status"], "CHANNEL_ERROR", "{out}");
}

#[test]
fn the_inbox_hears_a_message_of_any_months_partition() {
    let _t = setup();
    // This month, two months back and next month (partitions made by the upkeep, or default).
    let at: Vec<String> = db()
        .query(
            "select to_char(d, 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') from unnest(array[ \
               now() at time zone 'utc', (now() - interval '2 months') at time zone 'utc', \
               (now() + interval '1 month') at time zone 'utc']) d",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    db().execute("select public.create_social_messages_partitions(2)", &[])
        .unwrap();
    let out = client(
        "inbox",
        &[
            ("ACCOUNT_ID", "17000000-0000-4000-a000-0000000000aa".into()),
            ("SALES_A_TOKEN", token("sales_a")),
            ("RECEIVED_AT", json!(at).to_string()),
        ],
    );
    assert_eq!(out["status"], "SUBSCRIBED", "{out}");
    let inserted = out["inserted"].as_array().unwrap();
    let got = out["got"].as_array().unwrap();
    assert_eq!(got.len(), 4, "{out}");
    for (i, row) in inserted.iter().enumerate() {
        let id = row.as_str().unwrap().split(' ').next().unwrap();
        assert_eq!(got[i][0], "message_insert", "{out}");
        assert_eq!(got[i][1], id, "{out}");
    }
    let parts: std::collections::BTreeSet<&str> = inserted
        .iter()
        .map(|r| r.as_str().unwrap().split(' ').nth(1).unwrap())
        .collect();
    assert!(parts.len() >= 2, "rows landed in one partition only: {out}");
    // Partition upkeep moved the later message out of the default partition: still one message.
    assert_ne!(
        out["later"]["part"], "private.social_messages_default",
        "{out}"
    );
    assert_eq!(out["later"]["deliveries"], 1, "{out}");
    assert_eq!(
        out["payload_keys"],
        json!([
            "account_id",
            "id",
            "message_type",
            "preview",
            "received_at",
            "sender_id",
            "status"
        ]),
        "{out}"
    );
}

#[test]
fn anon_is_refused_on_every_private_topic() {
    let _t = setup();
    let topics: Vec<String> = vec![
        "inbox:17000000-0000-4000-a000-0000000000aa".into(),
        format!("user:{}", personas::id("client")),
        "renders:review".into(),
        format!("leads:{}", personas::id("sales_a")),
        "leads:all".into(),
        "dashboard:admin".into(),
    ];
    // Every family of the declared topics is probed.
    assert_eq!(topics.len(), sql::moha::security::topics().len());
    let out = client("anon", &[("TOPICS", json!(topics).to_string())]);
    for t in &topics {
        assert_eq!(out[t]["status"], "CHANNEL_ERROR", "{t}: {out}");
        assert_eq!(out[t]["error"], unauthorized(t), "{out}");
    }
}

#[test]
fn an_expired_token_is_disconnected_and_a_refreshed_one_keeps_the_channel() {
    let _t = setup();
    let exp_in = 4;
    let short_exp = now() + exp_in;
    let out = client(
        "expiry",
        &[
            ("CLIENT_ID", personas::id("client").to_string()),
            ("SHORT_TOKEN_A", signed("client", exp_in)),
            ("SHORT_TOKEN_B", signed("client", exp_in)),
            ("SHORT_EXP", short_exp.to_string()),
            ("FRESH_TOKEN", signed("client", 600)),
            ("EXPIRED_TOKEN", expired_token("client")),
            ("FORGED_TOKEN", forged_token("client")),
        ],
    );
    assert_eq!(out["refreshed"]["status"], "SUBSCRIBED", "{out}");
    assert_eq!(out["refreshed"]["state"], "joined", "{out}");
    assert_eq!(out["refreshed"]["got"], json!(["notification"]), "{out}");
    assert_eq!(out["lapsing"]["status"], "SUBSCRIBED", "{out}");
    assert_eq!(out["lapsing"]["state"], "closed", "{out}");
    let system = &out["lapsing"]["got"][0];
    assert_eq!(system["status"], "error", "{out}");
    assert_eq!(system["extension"], "system", "{out}");
    assert!(
        system["message"]
            .as_str()
            .unwrap()
            .starts_with("Token has expired"),
        "{out}"
    );
    assert_eq!(out["lapsing"]["got"].as_array().unwrap().len(), 1, "{out}");
    assert_eq!(out["expired"]["status"], "CHANNEL_ERROR", "{out}");
    assert!(
        out["expired"]["error"]
            .as_str()
            .unwrap()
            .starts_with("InvalidJWTToken: Token has expired"),
        "{out}"
    );
    assert_eq!(out["forged"]["status"], "CHANNEL_ERROR", "{out}");
    assert_eq!(
        out["forged"]["error"], "JwtSignatureError: Failed to validate JWT signature",
        "{out}"
    );
}

#[test]
fn presence_on_the_dashboard_shows_two_signed_in_admins() {
    let _t = setup();
    let out = client(
        "presence",
        &[
            ("ADMIN_ID", personas::id("admin").to_string()),
            ("ADMIN2_ID", ADMIN2.to_string()),
            ("ADMIN_TOKEN", token("admin")),
            ("ADMIN2_TOKEN", signed("admin2", 600)),
            ("SALES_A_TOKEN", token("sales_a")),
        ],
    );
    let mut both = vec![personas::id("admin").to_string(), ADMIN2.to_string()];
    both.sort();
    assert_eq!(out["one"]["status"], "SUBSCRIBED", "{out}");
    assert_eq!(out["one"]["track"], "ok", "{out}");
    assert_eq!(out["two"]["track"], "ok", "{out}");
    assert_eq!(out["one"]["keys"], json!(both), "{out}");
    assert_eq!(out["two"]["keys_before"], json!(both), "{out}");
    assert_eq!(out["two"]["keys_after"], json!([ADMIN2]), "{out}");
    assert_eq!(
        out["two"]["note"], true,
        "client broadcast between Admins: {out}"
    );
    assert_eq!(out["sales"]["status"], "CHANNEL_ERROR", "{out}");
    assert_eq!(
        out["sales"]["error"],
        unauthorized("dashboard:admin"),
        "{out}"
    );
}

#[test]
fn a_burst_of_a_thousand_lead_updates_makes_at_most_two_dashboard_messages() {
    let _t = setup();
    db().batch_execute(
        "insert into public.leads (client_name, source) \
           select 'Burst ' || g, 'website' from generate_series(1, 1000) g",
    )
    .unwrap();
    let out = client(
        "burst",
        &[
            ("ADMIN_TOKEN", token("admin")),
            ("SALES_A_ID", personas::id("sales_a").to_string()),
        ],
    );
    assert_eq!(out["status"], "SUBSCRIBED", "{out}");
    assert_eq!(out["updates"], 1000, "{out}");
    let n = out["messages"].as_u64().unwrap();
    assert!((1..=2).contains(&n), "{n} dashboard messages: {out}");
    let last = &out["last"];
    assert_eq!(
        last["leads_unassigned"].to_string(),
        out["final_unassigned"].as_str().unwrap(),
        "{out}"
    );
    for key in ["render_queue", "ai_cost_usd_today", "errors_recent", "at"] {
        assert!(last.get(key).is_some(), "{key}: {out}");
    }
    // Spread over 50 transactions: at most two messages during the burst, and the flush job's
    // command sends the final counts once (and nothing when they have not changed).
    let spread = &out["spread"];
    let during = spread["messages"].as_u64().unwrap();
    assert!(
        during <= 2,
        "{during} messages during the spread burst: {out}"
    );
    assert_eq!(spread["after_flush"].as_u64().unwrap(), during + 1, "{out}");
    assert_eq!(
        spread["last"]["leads_unassigned"].to_string(),
        spread["final_unassigned"].as_str().unwrap(),
        "{out}"
    );
    assert_eq!(spread["second_flush_sent"], 0, "{out}");
}

#[test]
fn hostile_clients_are_refused_and_the_endpoint_survives_them() {
    let _t = setup();
    let mut admin_claims = personas::claims(personas::persona("admin"));
    admin_claims["exp"] = json!(now() + 600);
    let out = deno(
        "realtime_attack.ts",
        &[
            ("SERVICE_KEY", moha_tests::gateway::service_key()),
            ("ADMIN_TOKEN", token("admin")),
            ("FORGED_ADMIN", forged_token("admin")),
            ("ADMIN_CLAIMS", admin_claims.to_string()),
            ("SALES_A_ID", personas::id("sales_a").to_string()),
            ("SALES_A_TOKEN", token("sales_a")),
            ("SALES_B_TOKEN", token("sales_b")),
        ],
    );
    // Each unparsable frame closes its own socket (1003, unsupported data) and nothing else.
    for case in [
        "not_json",
        "not_array",
        "payload_not_object",
        "truncated_binary",
        "unknown_binary_kind",
        "binary_on_v1",
    ] {
        assert_eq!(out[case]["closed"], 1003, "{case}: {out}");
        assert_eq!(out[case]["gateway_alive"], true, "{case}: {out}");
    }
    let reason = |case: &str| {
        out[case]["response"]["reason"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    for case in [
        "long_topic",
        "forged",
        "unsigned",
        "garbage_token",
        "public_channel",
        "unjoined_broadcast",
    ] {
        assert_eq!(out[case]["status"], "error", "{case}: {out}");
    }
    assert_eq!(
        reason("long_topic"),
        "TopicTooLong: the topic must be at most 255 bytes",
        "{out}"
    );
    assert_eq!(
        reason("forged"),
        "JwtSignatureError: Failed to validate JWT signature",
        "{out}"
    );
    assert_eq!(
        reason("unsigned"),
        "JwtSignatureError: Failed to validate JWT signature",
        "{out}"
    );
    assert_eq!(
        reason("garbage_token"),
        "MalformedJWT: The token provided is not a valid JWT",
        "{out}"
    );
    assert_eq!(
        reason("public_channel"),
        "PrivateOnly: This project only allows private channels",
        "{out}"
    );
    assert_eq!(reason("unjoined_broadcast"), "unmatched topic", "{out}");
    assert_eq!(out["sales_join"]["status"], "ok", "{out}");
    assert_eq!(out["sales_track"]["status"], "error", "{out}");
    // Another user's token on a joined channel: authorisation re-checked, the channel closed.
    let a = personas::id("sales_a");
    assert_eq!(
        out["swap"],
        json!([
            ["system", {"extension": "system", "status": "error",
                        "message": format!("You no longer have permission to read from this Channel topic: leads:{a}"),
                        "channel": format!("leads:{a}")}],
            ["phx_close", {}]
        ]),
        "{out}"
    );
}

/// The compat layer's Realtime objects are the service's (supabase/realtime v2.129.8): the
/// functions with hosted's signatures, `realtime.messages` partitioned by day with RLS and owned
/// by supabase_realtime_admin; `postgres` may add policies on it but not drop or alter it.
#[test]
fn the_compat_layer_mirrors_the_realtime_services_objects() {
    let db = moha_tests::cluster().migrated_db();
    let mut c = db.connect();
    let sigs: Vec<String> = c
        .query(
            "select p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' \
               from pg_proc p where p.pronamespace = 'realtime'::regnamespace \
                and p.proname in ('topic', 'send', 'send_binary', 'broadcast_changes') order by 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        sigs,
        [
            "broadcast_changes(topic_name text, event_name text, operation text, table_name text, table_schema text, new record, old record, level text)",
            "send(payload jsonb, event text, topic text, private boolean)",
            "send_binary(payload bytea, event text, topic text, private boolean)",
            "topic()",
        ]
    );
    let row = c
        .query_one(
            "select pg_get_partkeydef(c.oid), c.relrowsecurity, pg_get_userbyid(c.relowner)::text, \
                    (select count(*) from pg_inherits i where i.inhparent = c.oid)::int \
               from pg_class c where c.oid = 'realtime.messages'::regclass",
            &[],
        )
        .unwrap();
    let (key, rls, owner, parts): (String, bool, String, i32) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    assert_eq!(key, "RANGE (inserted_at)");
    assert!(rls);
    assert_eq!(owner, "supabase_realtime_admin");
    assert!(parts >= 5, "yesterday through three days ahead: {parts}");
    let refused = c.batch_execute("drop table realtime.messages").unwrap_err();
    assert_eq!(refused.code().unwrap().code(), "42501", "{refused}");
    c.batch_execute(
        "create policy probe on realtime.messages for select to authenticated using (false); \
         drop policy probe on realtime.messages",
    )
    .unwrap();
    // send() as a caller whom no policy lets insert: a warning, no message (hosted's behaviour,
    // which is why the project sends from definer functions).
    let mut tx = c.transaction().unwrap();
    tx.batch_execute("set local role anon").unwrap();
    tx.execute(
        "select realtime.send('{}'::jsonb, 'x', 'dashboard:admin', true)",
        &[],
    )
    .unwrap();
    tx.batch_execute("reset role").unwrap();
    let n: i64 = tx
        .query_one(
            "select count(*) from realtime.messages where topic = 'dashboard:admin' and event = 'x'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(n, 0);
}
