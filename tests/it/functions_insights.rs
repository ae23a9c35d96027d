//! generate-ai-insights end to end: real Deno behind the local gateway, a migrated database with
//! the personas, and the loopback provider stub in place of Anthropic (see
//! `moha_tests::gateway`).
//!
//! Each test takes its turn ([`turn`]) and starts without insights limits or templates, so the
//! fallback a test sees is the one it set up.

use std::sync::MutexGuard;

use moha_tests::gateway::{
    anon_key, execute, expired_token, fixture, forged_token, http, invoke, query_one, service_key,
    token, Reply,
};
use moha_tests::personas;
use moha_tests::provider_stub::{Api, Fault};
use serde_json::{json, Value};

const FUNCTION: &str = "generate-ai-insights";

/// The insights agent's default template, as the `default_prompts` migration ships it.
const TEMPLATE: &str = sql::moha::default_prompts::INSIGHTS_TEMPLATE;

fn turn() -> MutexGuard<'static, ()> {
    let guard = moha_tests::gateway::turn();
    execute(
        "delete from public.agent_limits where agent = 'insights'; \
         delete from public.prompt_templates where agent = 'insights'",
    );
    guard
}

fn insights(bearer: Option<&str>, table: &str) -> Reply {
    invoke(FUNCTION, bearer, &json!({ "table_name": table }))
}

fn ok(r: &Reply) -> Value {
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

fn count(sql: &str) -> i64 {
    query_one(sql, &[]).get(0)
}

fn add_template() {
    fixture()
        .db
        .connect()
        .execute(
            "insert into public.prompt_templates (name, agent, template, is_default) \
             values ('insights default', 'insights', $1, true)",
            &[&TEMPLATE],
        )
        .unwrap();
}

fn forget_cache(table: &str) {
    fixture()
        .db
        .connect()
        .execute(
            "delete from public.ai_cache where response->>'table' = $1",
            &[&table],
        )
        .unwrap();
}

/// The user turn's text of the one request the stub received.
fn sent_prompt(calls: &[moha_tests::provider_stub::Call]) -> String {
    calls[0].json()["messages"][0]["content"][0]["text"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn admin_gets_a_summary_and_the_model_sees_only_aggregates_and_a_scrubbed_sample() {
    let _turn = turn();
    let f = fixture();
    let admin = personas::id("admin");
    // Contact details in the rows: in columns that are never selected, and inside free text.
    execute(
        "insert into public.leads (client_name, email, phone, source, status, score) \
         select 'Nora Leadbetter', 'nora.leadbetter@example.com', '+44 20 7946 0958', 'instagram', 'new', 70 \
         from generate_series(1, 3); \
         insert into public.social_accounts (id, platform, username) \
         values ('5a000000-0000-4000-a000-000000000001', 'instagram', 'moha.insights'); \
         insert into public.social_messages (account_id, message_type, content, sender_id, received_at) \
         select '5a000000-0000-4000-a000-000000000001', 'direct_message', \
                'Call me on +44 20 7946 0958 or mail nora.leadbetter@example.com about the sofa ' || i, \
                'sender-' || i, now() - make_interval(hours => i) \
         from generate_series(1, 25) i",
    );
    let usage = "select coalesce(sum(tokens), 0)::bigint, coalesce(sum(cost), 0)::text \
         from public.agent_usage where agent = 'insights' and user_id = $1::text::uuid";
    let before = query_one(usage, &[&admin]);

    for table in ["social_messages", "leads"] {
        f.stub.reset();
        let out = ok(&insights(Some(&token("admin")), table));
        assert_eq!(out["table"], table);
        assert_eq!(
            (out["fallback"].clone(), out["source"].clone()),
            (json!(false), json!("model"))
        );
        assert!(out["summary"].as_str().unwrap().contains("Instagram leads"));

        let calls = f.stub.calls(Api::Anthropic);
        assert_eq!(calls.len(), 1);
        assert_eq!(
            calls[0].headers.get("x-api-key").map(String::as_str),
            Some("sk-ant-stub-key")
        );
        let body = String::from_utf8_lossy(&calls[0].body).into_owned();
        for secret in ["example.com", "7946", "Leadbetter", "sender-", "nora"] {
            assert!(!body.contains(secret), "{secret} sent to the model: {body}");
        }
        let prompt = sent_prompt(&calls);
        assert!(
            prompt.starts_with(&format!("Table: {table}\nAggregates")),
            "{prompt}"
        );
        // The sample is bounded: the 25 messages are cut to 20.
        let sample: Vec<Value> = serde_json::from_str(prompt.rsplit_once('\n').unwrap().1)
            .unwrap_or_else(|e| panic!("{e}: {prompt}"));
        assert!(!sample.is_empty() && sample.len() <= 20, "{}", sample.len());
        if table == "social_messages" {
            assert_eq!(sample.len(), 20);
            assert!(
                prompt.contains("[phone]") && prompt.contains("[email]"),
                "{prompt}"
            );
        }
    }

    // The summary is cached, its write audited as the agent's action for the Admin, and its
    // tokens (120 in, 40 out per call) and cost logged.
    assert_eq!(
        count(
            "select count(*) from public.ai_cache \
             where response->>'table' in ('leads', 'social_messages') and expires_at > now()"
        ),
        2
    );
    let audited = query_one(
        "select count(*) from public.audit_logs a join public.ai_cache c on a.record_id = c.id::text \
         where a.table_name = 'public.ai_cache' and a.action = 'summarise' and a.actor_kind = 'agent' \
         and a.performed_by = $1::text::uuid and c.response->>'table' = 'leads' \
         and a.new_values->>'prompt_hash' = c.prompt_hash",
        &[&admin],
    );
    assert_eq!(audited.get::<_, i64>(0), 1);
    let after = query_one(usage, &[&admin]);
    assert_eq!(after.get::<_, i64>(0) - before.get::<_, i64>(0), 2 * 160);
    // At the default prices ($3 and $15 per million tokens), to agent_usage.cost's six places.
    let cost = |row: &postgres::Row| row.get::<_, String>(1).parse::<f64>().unwrap();
    assert_eq!(format!("{:.6}", cost(&after) - cost(&before)), "0.001920");
}

#[test]
fn insights_refuse_bad_tokens_non_admins_and_bad_input() {
    let _turn = turn();
    let body = json!({ "table_name": "leads" });
    // The gateway verifies the JWT (verify_jwt = true).
    let missing = invoke(FUNCTION, None, &body);
    assert_eq!(missing.status, 401);
    assert_eq!(missing.json()["message"], "Missing authorization header");
    for bad in [
        forged_token("admin"),
        expired_token("admin"),
        "not-a-jwt".into(),
    ] {
        let r = invoke(FUNCTION, Some(&bad), &body);
        assert_eq!(r.status, 401, "{bad}");
        assert_eq!(r.json()["message"], "Invalid JWT");
    }
    // The anon key passes the gateway but is not a user.
    let r = invoke(FUNCTION, Some(&anon_key()), &body);
    assert_eq!(
        (r.status, r.json()["code"].clone()),
        (401, json!("unauthorized"))
    );

    // Admins only, decided by the database; the service key is not an Admin either.
    let mut refused = vec![service_key()];
    refused.extend(["designer", "sales_a", "client"].map(token));
    for bearer in &refused {
        let r = invoke(FUNCTION, Some(bearer), &body);
        assert_eq!(
            (r.status, r.json()["code"].clone()),
            (403, json!("forbidden")),
            "{}",
            r.text()
        );
    }

    let t = token("admin");
    for bad in [
        json!({"table_name": "users"}),
        json!({"table_name": "audit_logs"}),
        json!({"table_name": "leads; drop table leads"}),
        json!({"table_name": "leads", "columns": ["email"]}),
        json!({}),
    ] {
        let r = invoke(FUNCTION, Some(&t), &bad);
        assert_eq!(
            (r.status, r.json()["code"].clone()),
            (400, json!("bad_request")),
            "{bad}"
        );
    }
    let r = insights(Some(&t), "users");
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("leads, render_requests, social_messages, social_analytics"),
        "{}",
        r.text()
    );

    let auth = format!("Bearer {t}");
    let path = format!("/functions/v1/{FUNCTION}");
    let big = vec![b' '; (1 << 20) + 10];
    let r = http(
        "POST",
        &path,
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        &big,
    );
    assert_eq!(
        (r.status, r.json()["code"].clone()),
        (413, json!("payload_too_large"))
    );
    let r = http("GET", &path, &[("authorization", &auth)], b"");
    assert_eq!(
        (r.status, r.json()["code"].clone()),
        (405, json!("method_not_allowed"))
    );
    assert!(r.head.contains("allow: post, options"), "{}", r.head);
    let r = http("OPTIONS", &path, &[], b"");
    assert_eq!(r.status, 200);
    assert!(r.head.contains("access-control-allow-origin: *"));
    assert_eq!(fixture().stub.calls(Api::Anthropic).len(), 0);
}

#[test]
fn a_provider_500_is_retried_and_then_succeeds() {
    let _turn = turn();
    let f = fixture();
    f.stub.fail_next(Api::Anthropic, &[Fault::Status(500)]);
    let out = ok(&insights(Some(&token("admin")), "render_requests"));
    assert_eq!(
        (out["fallback"].clone(), out["source"].clone()),
        (json!(false), json!("model"))
    );
    assert_eq!(f.stub.calls(Api::Anthropic).len(), 2);
}

#[test]
fn provider_down_falls_back_to_the_cache_then_to_the_default_template() {
    let _turn = turn();
    let f = fixture();
    let admin = token("admin");
    execute(&format!(
        "insert into public.render_requests (user_id, input_file_path, model, status) \
         select '{}', 'x/in.png', 'insights-test-model', 'failed' from generate_series(1, 3)",
        personas::id("client")
    ));
    // A summary made while the provider was up.
    let fresh = ok(&insights(Some(&admin), "render_requests"));
    let errors = "select count(*) from public.error_logs where service = 'generate-ai-insights'";
    let logged = count(errors);

    // Down: three attempts, then the cached summary, marked as such; the failure is logged
    // without the key.
    f.stub.reset();
    f.stub.fail_always(Api::Anthropic, Some(Fault::Drop));
    let out = ok(&insights(Some(&admin), "render_requests"));
    assert_eq!(
        (
            out["fallback"].clone(),
            out["source"].clone(),
            out["reason"].clone()
        ),
        (json!(true), json!("cache"), json!("provider_unavailable"))
    );
    assert_eq!(out["summary"], fresh["summary"]);
    assert!(
        out["generated_at"].as_str().unwrap().ends_with('Z'),
        "{out}"
    );
    assert_eq!(f.stub.calls(Api::Anthropic).len(), 3);
    assert_eq!(count(errors), logged + 1);
    let leaked = count(
        "select count(*) from public.error_logs where service = 'generate-ai-insights' \
         and (error_message like '%sk-ant-stub-key%' or context::text like '%sk-ant-stub-key%')",
    );
    assert_eq!(leaked, 0);

    // Down with nothing cached: the default template, filled from the aggregates.
    forget_cache("render_requests");
    add_template();
    let out = ok(&insights(Some(&admin), "render_requests"));
    assert_eq!(
        (
            out["fallback"].clone(),
            out["source"].clone(),
            out["reason"].clone()
        ),
        (
            json!(true),
            json!("template"),
            json!("provider_unavailable")
        )
    );
    let summary = out["summary"].as_str().unwrap();
    assert!(
        summary.starts_with("Summary of render_requests for the last 90 days ("),
        "{summary}"
    );
    assert!(
        summary
            .lines()
            .any(|l| l == "- status: failed, model: insights-test-model, jobs: 3"),
        "{summary}"
    );
    // The same figures give the same text.
    assert_eq!(
        ok(&insights(Some(&admin), "render_requests"))["summary"],
        summary
    );

    // Nothing to fall back on: a 502 with a stable code.
    execute("delete from public.prompt_templates where agent = 'insights'");
    let r = insights(Some(&admin), "render_requests");
    assert_eq!(
        (r.status, r.json()["code"].clone()),
        (502, json!("upstream_error"))
    );
    f.stub.fail_always(Api::Anthropic, None);
}

#[test]
fn over_the_limit_falls_back_without_calling_the_provider() {
    let _turn = turn();
    let f = fixture();
    let admin_id = personas::id("admin");
    let admin = token("admin");
    // One call per window of ten years: a window that does not end during the test.
    execute(&format!(
        "delete from public.agent_usage where agent = 'insights' and user_id = '{admin_id}'; \
         insert into public.agent_limits (agent, scope, user_id, max_requests, window_seconds) \
         values ('insights', 'user', '{admin_id}', 1, 315360000)"
    ));
    let calls_counted = "select coalesce(sum(request_count), 0)::bigint from public.agent_usage \
         where agent = 'insights' and user_id = $1::text::uuid";
    let fresh = ok(&insights(Some(&admin), "social_analytics"));
    assert_eq!(fresh["source"], "model");
    assert_eq!(query_one(calls_counted, &[&admin_id]).get::<_, i64>(0), 1);
    let window_end: String = query_one(
        "select to_char(to_timestamp((floor(extract(epoch from now()) / 315360000) + 1) * 315360000) \
         at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
        &[],
    )
    .get(0);

    f.stub.reset();
    let out = ok(&insights(Some(&admin), "social_analytics"));
    assert_eq!(
        (
            out["fallback"].clone(),
            out["source"].clone(),
            out["reason"].clone()
        ),
        (json!(true), json!("cache"), json!("over_limit"))
    );
    assert_eq!(out["retry_at"], window_end.as_str());
    assert_eq!(out["summary"], fresh["summary"]);

    forget_cache("social_analytics");
    add_template();
    let out = ok(&insights(Some(&admin), "social_analytics"));
    assert_eq!(
        (
            out["source"].clone(),
            out["reason"].clone(),
            out["retry_at"].clone()
        ),
        (json!("template"), json!("over_limit"), json!(window_end))
    );
    assert!(out["summary"]
        .as_str()
        .unwrap()
        .starts_with("Summary of social_analytics"));

    execute("delete from public.prompt_templates where agent = 'insights'");
    let r = insights(Some(&admin), "social_analytics");
    assert_eq!(
        (r.status, r.json()["code"].clone()),
        (429, json!("too_many_requests"))
    );
    assert!(r.json()["message"].as_str().unwrap().contains(&window_end));

    // The provider was never asked, and the refused calls were not counted.
    assert_eq!(f.stub.calls(Api::Anthropic).len(), 0);
    assert_eq!(query_one(calls_counted, &[&admin_id]).get::<_, i64>(0), 1);
}
