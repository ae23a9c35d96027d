//! The edge functions end to end: real Deno behind the local gateway (xtask/gateway/main.ts), a
//! migrated database with the personas, Storage through the gateway with the real
//! `storage.objects` policies, and the loopback provider stub in place of Anthropic, Gemini,
//! Instagram and TikTok.
//!
//! The tests share one gateway and one stub, and take turns (`turn()`), because a fault set on
//! the stub is seen by every function.

use std::time::Duration;

use moha_tests::gateway::{
    anon_key, execute, expired_token, fixture, forged_token, http, invoke, legacy_token,
    publishable_key, query_one, secret_key, service_key, token, turn, Reply,
};
use moha_tests::personas;
use moha_tests::provider_stub::{Api, Fault, SocialFixture, PNG};
use moha_tests::support;
use serde_json::{json, Value};

fn upload(bearer: &str, bucket: &str, name: &str, bytes: &[u8]) -> Reply {
    let auth = format!("Bearer {bearer}");
    http(
        "POST",
        &format!("/storage/v1/object/{bucket}/{name}"),
        &[("authorization", &auth), ("content-type", "image/png")],
        bytes,
    )
}

fn download(bearer: &str, bucket: &str, name: &str) -> Reply {
    let auth = format!("Bearer {bearer}");
    http(
        "GET",
        &format!("/storage/v1/object/{bucket}/{name}"),
        &[("authorization", &auth)],
        b"",
    )
}

/// A queued render job of `persona` whose input image is uploaded through Storage as them.
fn render_job(persona: &str, input: &str, style: &str) -> String {
    let user = personas::id(persona);
    let name = format!("{user}/{input}");
    let up = upload(&token(persona), "renders", &name, PNG);
    assert!(
        up.status == 200 || up.status == 409,
        "{} {}",
        up.status,
        String::from_utf8_lossy(&up.body)
    );
    let row = query_one(
        "insert into public.render_requests (user_id, input_file_path, model) \
         values ($1::text::uuid, $2, 'gemini-2.5-flash-image') returning id::text",
        &[&user, &name],
    );
    let id: String = row.get(0);
    fixture()
        .db
        .connect()
        .execute(
            "insert into public.render_parameters (request_id, style, lighting) \
             values ($1::text::uuid, $2, 'warm evening')",
            &[&id, &style],
        )
        .unwrap();
    id
}

fn job_state(id: &str) -> (String, i32, i64) {
    let row = query_one(
        "select r.status::text, r.attempts, \
         (select count(*) from public.render_results x where x.request_id = r.id) \
         from public.render_requests r where r.id = $1::text::uuid",
        &[&id],
    );
    (row.get(0), row.get(1), row.get(2))
}

#[test]
fn render_succeeds_and_the_output_is_the_owners_only() {
    let _turn = turn();
    let f = fixture();
    let id = render_job("client", "room-a.png", "Japandi");
    let r = invoke(
        "process-render-request",
        Some(&token("client")),
        &json!({"request_id": id}),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let out = r.json();
    let user = personas::id("client");
    let expected = format!("{user}/{id}/output.png");
    assert_eq!(out["status"], "succeeded");
    assert_eq!(out["output_file_path"], expected.as_str());
    assert_eq!(out["fallback"], false);
    // One run, counted before the model was called.
    assert_eq!(job_state(&id), ("succeeded".into(), 1, 1));

    // The provider got the input image and the prompt built from the parameters, with its key.
    let calls = f.stub.calls(Api::Gemini);
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].headers.get("x-goog-api-key").map(String::as_str),
        Some("gemini-stub-key")
    );
    let sent = calls[0].json();
    let text = sent["contents"][0]["parts"][0]["text"].as_str().unwrap();
    assert!(
        text.contains("Style: Japandi") && text.contains("Lighting: warm evening"),
        "{text}"
    );
    assert!(sent["contents"][0]["parts"][1]["inline_data"]["data"].is_string());

    // Result row, usage, notification and audit trail.
    let row = query_one(
        "select (select cost_tokens from public.render_results where request_id = $1::text::uuid), \
                (select count(*) from public.notifications where user_id = $2::text::uuid and kind = 'render_finished'), \
                (select coalesce(sum(tokens), 0)::bigint from public.agent_usage where agent = 'render' and user_id = $2::text::uuid), \
                (select count(*) from public.audit_logs where table_name = 'public.render_results' and actor_kind = 'agent')",
        &[&id, &user],
    );
    assert_eq!(row.get::<_, i32>(0), 2590);
    assert!(row.get::<_, i64>(1) >= 1);
    assert!(row.get::<_, i64>(2) >= 2590);
    assert!(row.get::<_, i64>(3) >= 1);

    // The output is in the owner's folder: the owner reads it, another client cannot.
    let mine = download(&token("client"), "renders", &expected);
    assert_eq!((mine.status, mine.body.as_slice()), (200, PNG));
    assert!(
        mine.head.contains("content-type: image/png"),
        "{}",
        mine.head
    );
    assert_eq!(
        download(&token("client2"), "renders", &expected).status,
        404
    );

    // Called again: the stored result, no second render.
    let again = invoke(
        "process-render-request",
        Some(&token("client")),
        &json!({"request_id": id}),
    );
    assert_eq!(again.status, 200);
    assert_eq!(again.json()["output_file_path"], expected.as_str());
    assert_eq!(f.stub.calls(Api::Gemini).len(), 1);
}

#[test]
fn render_refuses_bad_tokens_other_users_and_bad_input() {
    let _turn = turn();
    let id = render_job("client", "room-b.png", "Scandi");
    let body = json!({"request_id": id});
    // The function verifies every JWT itself (verify_jwt = false: the drain job's
    // scheduled-call secret is not a JWT, so the relay would refuse it).
    let missing = invoke("process-render-request", None, &body);
    assert_eq!(
        (missing.status, missing.json()["code"].clone()),
        (401, json!("unauthorized"))
    );
    let forged = forged_token("client");
    let expired = expired_token("client");
    for bad in [forged.as_str(), expired.as_str(), "not-a-jwt"] {
        let r = invoke("process-render-request", Some(bad), &body);
        assert_eq!(r.status, 401, "{bad}");
    }
    // The anon key passes the gateway but is not a user: the function refuses it.
    let r = invoke("process-render-request", Some(&anon_key()), &body);
    assert_eq!(
        (r.status, r.json()["code"].clone()),
        (401, json!("unauthorized"))
    );

    // Another client's job does not exist for them (RLS), and nothing ran.
    let r = invoke("process-render-request", Some(&token("client2")), &body);
    assert_eq!(
        (r.status, r.json()["code"].clone()),
        (404, json!("not_found"))
    );
    assert_eq!(job_state(&id), ("queued".into(), 0, 0));
    // A client cannot drain the queue.
    let r = invoke(
        "process-render-request",
        Some(&token("client")),
        &json!({"drain": true}),
    );
    assert_eq!(r.status, 403);

    let t = token("client");
    for bad in [
        json!({"request_id": "not-a-uuid"}),
        json!({"request_id": id, "extra": 1}),
        json!({}),
    ] {
        let r = invoke("process-render-request", Some(&t), &bad);
        assert_eq!(
            (r.status, r.json()["code"].clone()),
            (400, json!("bad_request")),
            "{bad}"
        );
    }
    let auth = format!("Bearer {t}");
    let big = vec![b' '; (1 << 20) + 10];
    let r = http(
        "POST",
        "/functions/v1/process-render-request",
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
    let r = http(
        "GET",
        "/functions/v1/process-render-request",
        &[("authorization", &auth)],
        b"",
    );
    assert_eq!(r.status, 405);
    let r = http("OPTIONS", "/functions/v1/process-render-request", &[], b"");
    assert_eq!(r.status, 200);
    assert!(r.head.contains("access-control-allow-origin: *"));
    assert_eq!(fixture().stub.calls(Api::Gemini).len(), 0);
}

#[test]
fn render_retries_falls_back_queues_and_drains() {
    let _turn = turn();
    let f = fixture();
    let t = token("client");

    // A 500 and a 429, then success: retried within the call.
    f.stub
        .fail_next(Api::Gemini, &[Fault::Status(500), Fault::Status(429)]);
    let first = render_job("client", "room-c.png", "Industrial");
    let r = invoke(
        "process-render-request",
        Some(&t),
        &json!({"request_id": first}),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(f.stub.calls(Api::Gemini).len(), 3);

    // Provider down: the same input and parameters were rendered before, so the cached output
    // is used, marked as fallback, copied into this job's folder, and not charged.
    f.stub.fail_always(Api::Gemini, Some(Fault::Drop));
    let second = render_job("client", "room-c.png", "Industrial");
    let r = invoke(
        "process-render-request",
        Some(&t),
        &json!({"request_id": second}),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["fallback"], true);
    let row = query_one(
        "select is_fallback, cost_tokens from public.render_results where request_id = $1::text::uuid",
        &[&second],
    );
    assert!(row.get::<_, bool>(0));
    assert_eq!(row.get::<_, i32>(1), 0);
    let copied = format!("{}/{second}/output.png", personas::id("client"));
    assert_eq!(download(&t, "renders", &copied).status, 200);

    // Provider down (hanging, then dropping the connection) and nothing cached: queued with a
    // retry time, logged.
    f.stub
        .fail_always(Api::Gemini, Some(Fault::Hang(Duration::from_secs(1))));
    let third = render_job("client", "room-d.png", "Boho");
    let r = invoke(
        "process-render-request",
        Some(&t),
        &json!({"request_id": third}),
    );
    assert_eq!(
        (r.status, r.json()["status"].clone()),
        (202, json!("queued"))
    );
    assert_eq!(job_state(&third), ("queued".into(), 1, 0));
    let logged = query_one(
        "select count(*) from public.error_logs where service = 'process-render-request' \
         and context->>'request_id' = $1",
        &[&third],
    );
    assert_eq!(logged.get::<_, i64>(0), 1);
    f.stub.fail_always(Api::Gemini, None);

    // Over the limit: queued, not run, not charged.
    let user = personas::id("client");
    execute(&format!(
        "insert into public.agent_limits (agent, scope, user_id, max_requests) \
         values ('render', 'user', '{user}', 0)"
    ));
    let fourth = render_job("client", "room-e.png", "Coastal");
    let calls = f.stub.calls(Api::Gemini).len();
    let r = invoke(
        "process-render-request",
        Some(&t),
        &json!({"request_id": fourth}),
    );
    assert_eq!(
        (r.status, r.json()["status"].clone()),
        (202, json!("queued"))
    );
    assert_eq!(job_state(&fourth), ("queued".into(), 0, 0));
    assert_eq!(f.stub.calls(Api::Gemini).len(), calls);

    // The limit is lifted and the retry times pass: a scheduled drain runs both jobs.
    execute(&format!(
        "delete from public.agent_limits where user_id = '{user}'; \
         update public.render_requests set retry_at = now() - interval '1 second' \
         where id in ('{third}', '{fourth}')"
    ));
    let r = invoke(
        "process-render-request",
        Some(&service_key()),
        &json!({"drain": true}),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let drained = r.json()["drained"].as_array().unwrap().clone();
    for id in [&third, &fourth] {
        assert!(
            drained
                .iter()
                .any(|d| d["request_id"] == id.as_str() && d["status"] == "succeeded"),
            "{drained:?}"
        );
        assert_eq!(job_state(id).0, "succeeded");
    }
}

#[test]
fn concurrent_duplicate_render_calls_give_one_result_and_one_charge() {
    let _turn = turn();
    let f = fixture();
    let id = render_job("client2", "room-f.png", "Minimal");
    let t = token("client2");
    let before = query_one(
        "select coalesce(sum(request_count), 0)::bigint from public.agent_usage \
         where agent = 'render' and user_id = $1::text::uuid",
        &[&personas::id("client2")],
    )
    .get::<_, i64>(0);
    let replies: Vec<Reply> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    invoke(
                        "process-render-request",
                        Some(&t),
                        &json!({"request_id": id}),
                    )
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for r in &replies {
        assert!(
            r.status == 200 || r.status == 202,
            "{} {}",
            r.status,
            String::from_utf8_lossy(&r.body)
        );
    }
    assert!(replies.iter().any(|r| r.status == 200));
    assert_eq!(job_state(&id), ("succeeded".into(), 1, 1));
    assert_eq!(f.stub.calls(Api::Gemini).len(), 1);
    let after = query_one(
        "select coalesce(sum(request_count), 0)::bigint from public.agent_usage \
         where agent = 'render' and user_id = $1::text::uuid",
        &[&personas::id("client2")],
    )
    .get::<_, i64>(0);
    assert_eq!(after - before, 1);
}

fn new_lead(name: &str) -> String {
    query_one(
        "insert into public.leads (client_name, email, source) \
         values ($1, 'lead@example.com', 'referral') returning id::text",
        &[&name],
    )
    .get(0)
}

#[test]
fn assign_leads_assigns_to_the_least_loaded_sales_user_once() {
    let _turn = turn();
    // sales_a already carries a hot open lead, so sales_b is the lighter one.
    let busy = new_lead("Busy Lead");
    execute(&format!(
        "update public.leads set assigned_to = '{}', score = 90 where id = '{busy}'",
        personas::id("sales_a")
    ));
    let lead = new_lead("Nora New");
    let admin = token("admin");
    let body = json!({"lead_id": lead});
    let replies: Vec<Reply> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..3)
            .map(|_| s.spawn(|| invoke("assign-leads", Some(&admin), &body)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for r in &replies {
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        assert_eq!(r.json()["assigned_to"], personas::id("sales_b"));
    }
    let row = query_one(
        "select l.assigned_to::text, l.score is not null, \
           (select count(*) from public.lead_notes n where n.lead_id = l.id), \
           (select count(*) from public.notifications n where n.user_id = l.assigned_to and n.kind = 'lead_assigned' and n.data->>'lead_id' = l.id::text), \
           (select count(*) from public.audit_logs a where a.table_name = 'public.leads' and a.record_id = l.id::text and a.action = 'assign' and a.actor_kind = 'agent' and a.performed_by = $2::text::uuid) \
         from public.leads l where l.id = $1::text::uuid",
        &[&lead, &personas::id("admin")],
    );
    assert_eq!(row.get::<_, String>(0), personas::id("sales_b"));
    assert!(row.get::<_, bool>(1));
    assert_eq!(row.get::<_, i64>(2), 1, "one note");
    assert_eq!(row.get::<_, i64>(3), 1, "one notification");
    assert_eq!(row.get::<_, i64>(4), 1, "one audited assignment");

    // sales_a cannot see sales_b's lead, so cannot run the job on it.
    let r = invoke("assign-leads", Some(&token("sales_a")), &body);
    assert_eq!(r.status, 404);
    assert_eq!(invoke("assign-leads", None, &body).status, 401);
    let r = invoke("assign-leads", Some(&admin), &json!({"lead_id": "x"}));
    assert_eq!(r.status, 400);
}

/// A connected account with an encrypted token, as an Admin connects one.
fn social_account(platform: &str, username: &str, token: &str) -> String {
    let mut c = fixture().db.connect();
    c.batch_execute(
        "insert into private.secrets (name, secret) values ('social_token_key', 'test-social-key') \
         on conflict (name) do nothing",
    )
    .unwrap();
    let id: String = c
        .query_one(
            "insert into public.social_accounts (platform, username) \
             values ($1::text::public.social_platform, $2) returning id::text",
            &[&platform, &username],
        )
        .unwrap()
        .get(0);
    let mut tx = c.transaction().unwrap();
    tx.batch_execute("set local role service_role").unwrap();
    tx.execute(
        "select public.set_social_account_token($1::text::uuid, $2)",
        &[&id, &token],
    )
    .unwrap();
    tx.commit().unwrap();
    id
}

fn fixture_social() -> SocialFixture {
    let item = |id: &str, text: &str, at: &str| {
        (
            id.to_string(),
            text.to_string(),
            "4242".to_string(),
            at.to_string(),
        )
    };
    SocialFixture {
        messages: vec![
            item("m1", "I love your kitchens", "2025-06-01T10:00:00Z"),
            item("m2", "What does a render cost?", "2025-06-01T11:00:00Z"),
            item("m3", "bad experience with delivery", "2025-06-02T09:00:00Z"),
        ],
        comments: vec![
            item("c1", "great colours", "2025-06-01T12:00:00Z"),
            item("c2", "where is this sofa from", "2025-06-01T13:00:00Z"),
            item("c3", "love it", "2025-06-03T08:00:00Z"),
        ],
        insights: vec![
            ("reach".into(), 1200.0, "2025-06-01T07:00:00Z".into()),
            (
                "follower_count".into(),
                5300.0,
                "2025-06-01T07:00:00Z".into(),
            ),
        ],
    }
}

fn count(sql: &str, account: &str) -> i64 {
    query_one(sql, &[&account]).get(0)
}

#[test]
fn social_updates_are_pulled_paged_deduplicated_and_scored() {
    let _turn = turn();
    let f = fixture();
    f.stub.set_social(fixture_social());
    let ig = social_account("instagram", "moha.interiors", "ig-secret-token");
    // The first page of comments fails once: retried.
    f.stub.fail_next(Api::Instagram, &[Fault::Status(500)]);
    let r = invoke(
        "fetch-social-updates",
        Some(&token("sales_a")),
        &json!({"account_id": ig}),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let out = r.json();
    assert_eq!(
        (out["messages_new"].clone(), out["metrics_new"].clone()),
        (json!(6), json!(2))
    );
    assert_eq!(out["sentiment_scored"], 6);
    let calls = f.stub.calls(Api::Instagram);
    assert!(calls
        .iter()
        .all(|c| c.headers.get("authorization").map(String::as_str)
            == Some("Bearer ig-secret-token")
            && !c.target.contains("ig-secret-token")));
    // Three threads and three comments, two per page: both lists took two pages.
    assert_eq!(
        calls
            .iter()
            .filter(|c| c.target.contains("/conversations"))
            .count(),
        2
    );
    assert!(
        calls
            .iter()
            .filter(|c| c.target.contains("/comments"))
            .count()
            >= 2
    );
    let messages = "select count(*) from public.social_messages where account_id = $1::text::uuid";
    assert_eq!(count(messages, &ig), 6);
    let loved: f64 = query_one(
        "select s.sentiment_score::float8 from public.social_sentiment s \
         join public.social_messages m on m.id = s.message_id and m.received_at = s.message_received_at \
         where m.account_id = $1::text::uuid and m.external_id = 'm1'",
        &[&ig],
    )
    .get(0);
    assert!(loved > 0.5, "{loved}");

    // Again, concurrently, as the scheduler: nothing new, nothing stored twice, nothing rescored.
    let anthropic = f.stub.calls(Api::Anthropic).len();
    let replies: Vec<Reply> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    invoke(
                        "fetch-social-updates",
                        Some(&service_key()),
                        &json!({"account_id": ig}),
                    )
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for r in &replies {
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        assert_eq!(r.json()["messages_new"], 0);
    }
    assert_eq!(count(messages, &ig), 6);
    assert_eq!(
        count(
            "select count(*) from public.social_analytics where account_id = $1::text::uuid",
            &ig
        ),
        2
    );
    assert_eq!(f.stub.calls(Api::Anthropic).len(), anthropic);

    // Clients may not pull the inbox (their role has no privilege on it); tokens and input are checked.
    let r = invoke(
        "fetch-social-updates",
        Some(&token("client")),
        &json!({"account_id": ig}),
    );
    assert_eq!(r.status, 403);
    let r = invoke("fetch-social-updates", None, &json!({"account_id": ig}));
    assert_eq!(
        (r.status, r.json()["code"].clone()),
        (401, json!("unauthorized"))
    );
    let r = invoke(
        "fetch-social-updates",
        Some(&token("sales_a")),
        &json!({"account": ig}),
    );
    assert_eq!(r.status, 400);
}

/// TikTok through Login Kit user-token endpoints only (issue 20): the video list with its
/// counters and the user's stats. Comments came from the Research API, which a studio may not
/// use, so none are asked for (docs/functions.md, "TikTok: what a studio may call").
#[test]
fn tiktok_reads_videos_and_stats_and_never_the_research_api() {
    let _turn = turn();
    let f = fixture();
    f.stub.set_social(fixture_social());
    let tt = social_account("tiktok", "moha.tiktok", "tt-secret-token");
    let admin = token("admin");
    let r = invoke(
        "fetch-social-updates",
        Some(&admin),
        &json!({"account_id": tt}),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let out = r.json();
    assert_eq!(out["messages_new"], 0, "{out}");
    assert!(out["metrics_new"].as_i64().unwrap() > 0, "{out}");
    let calls = f.stub.calls(Api::TikTok);
    assert!(
        calls.iter().all(|c| !c.target.contains("/research/")),
        "{:?}",
        calls.iter().map(|c| &c.target).collect::<Vec<_>>()
    );
    assert!(calls
        .iter()
        .any(|c| c.target.starts_with("/tiktok/v2/video/list/")));
    assert!(calls
        .iter()
        .any(|c| c.target.starts_with("/tiktok/v2/user/info/")));
}

#[test]
fn scoring_waits_while_the_model_is_down() {
    let _turn = turn();
    let f = fixture();
    f.stub.set_social(fixture_social());
    let ig = social_account("instagram", "moha.waiting", "ig-waiting-token");
    f.stub.fail_always(Api::Anthropic, Some(Fault::Status(500)));
    let admin = token("admin");
    let r = invoke(
        "fetch-social-updates",
        Some(&admin),
        &json!({"account_id": ig}),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let out = r.json();
    let new = out["messages_new"].as_i64().unwrap();
    assert!(new > 0, "{out}");
    assert_eq!(
        (
            out["sentiment_scored"].clone(),
            out["sentiment_fallback"].clone()
        ),
        (json!(0), json!(true))
    );
    assert_eq!(out["sentiment_deferred"], "model_unavailable");
    // The model is back: the next run scores what waited.
    f.stub.fail_always(Api::Anthropic, None);
    let r = invoke(
        "fetch-social-updates",
        Some(&admin),
        &json!({"account_id": ig}),
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        (
            r.json()["messages_new"].clone(),
            r.json()["sentiment_scored"].clone()
        ),
        (json!(0), json!(new))
    );
    assert_eq!(
        count(
            "select count(*) from public.social_sentiment s join public.social_messages m \
             on m.id = s.message_id where m.account_id = $1::text::uuid",
            &ig
        ),
        new
    );
}

/// supabase-js created with the publishable key (the key a web page ships) works with a user's
/// session and is the anonymous role without one; created with the secret key on a server, it is
/// the service role.
#[test]
fn supabase_js_client_uploads_downloads_and_invokes() {
    use base64::Engine;
    let _turn = turn();
    let f = fixture();
    let id = render_job("client", "room-js.png", "Classic");
    let out = support::run_ok(
        support::deno("functions_client.ts")
            .env("GATEWAY_URL", format!("http://127.0.0.1:{}", f.port))
            .env("PUBLISHABLE_KEY", publishable_key())
            .env("SECRET_KEY", secret_key())
            .env("ACCESS_TOKEN", token("client"))
            .env("USER_ID", personas::id("client"))
            .env("OTHER_USER_ID", personas::id("client2"))
            .env("REQUEST_ID", &id)
            .env(
                "PNG_BASE64",
                base64::engine::general_purpose::STANDARD.encode(PNG),
            ),
    );
    let got: Value =
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stdout));
    let own = format!("{}/client-js/input.png", personas::id("client"));
    assert_eq!(got["upload"]["error"], Value::Null, "{got}");
    assert_eq!(got["upload"]["path"], own.as_str());
    assert_eq!(got["upload"]["fullPath"], format!("renders/{own}").as_str());
    assert_eq!(got["download_matches"], true, "{got}");
    assert_eq!(got["signed_matches"], true, "{got}");
    assert!(
        got["foreign_upload_error"]
            .as_str()
            .is_some_and(|m| m.contains("row-level security")),
        "{got}"
    );
    assert_eq!(got["invoke"]["error"], Value::Null, "{got}");
    assert_eq!(got["invoke"]["data"]["status"], "succeeded", "{got}");
    // Without a session: the gateway lets the publishable key through, the function wants a
    // user or the service role, and RLS hides a client's own files from the anonymous role.
    assert_eq!(got["anon_invoke_status"], 401, "{got}");
    assert!(got["anon_download_error"].is_string(), "{got}");
    assert_eq!(got["service_download_matches"], true, "{got}");
    assert_eq!(got["drain"]["error"], Value::Null, "{got}");
    assert!(got["drain"]["data"]["drained"].is_array(), "{got}");
}

/// The API keys as raw headers, as a server sends them: `apikey` alone.
#[test]
fn api_keys_in_the_apikey_header_are_the_anonymous_and_the_service_role() {
    let _turn = turn();
    let client = personas::id("client");
    let name = format!("{client}/keys/private.png");
    let up = http(
        "POST",
        &format!("/storage/v1/object/renders/{name}"),
        &[
            ("authorization", &format!("Bearer {}", token("client"))),
            ("content-type", "image/png"),
            ("x-upsert", "true"),
        ],
        PNG,
    );
    assert_eq!(up.status, 200, "{}", up.text());
    let get = |apikey: &str| {
        http(
            "GET",
            &format!("/storage/v1/object/renders/{name}"),
            &[("apikey", apikey)],
            b"",
        )
    };
    // The secret key bypasses RLS, as service_role; the publishable key is anon, which sees
    // nothing in the private bucket.
    let service = get(secret_key());
    assert_eq!((service.status, service.body.as_slice()), (200, PNG));
    assert_eq!(get(publishable_key()).status, 404);
    // A service call of a function: the secret key alone, through the function's own check
    // (assign-leads verifies every JWT itself); an unknown lead is then the function's own 404.
    let r = http(
        "POST",
        "/functions/v1/assign-leads",
        &[
            ("apikey", secret_key()),
            ("content-type", "application/json"),
        ],
        br#"{"lead_id":"8f1c1a8e-3c1b-4f7e-9a57-0d7b1f0c2a11"}"#,
    );
    assert_eq!(
        (r.status, r.json()["code"].clone()),
        (404, json!("not_found")),
        "{}",
        r.text()
    );
    // The publishable key passes the relay and is refused by the function: not a user.
    let r = http(
        "POST",
        "/functions/v1/assign-leads",
        &[
            ("apikey", publishable_key()),
            ("content-type", "application/json"),
        ],
        br#"{"lead_id":"8f1c1a8e-3c1b-4f7e-9a57-0d7b1f0c2a11"}"#,
    );
    assert_eq!(
        (r.status, r.json()["code"].clone()),
        (401, json!("unauthorized"))
    );
}

/// The JWKS the gateway serves holds the signing keys' public halves only, and an ES256 user
/// token passes the relay, the function and Storage.
#[test]
fn the_jwks_is_public_and_es256_user_tokens_pass() {
    let _turn = turn();
    let jwks = http("GET", "/auth/v1/.well-known/jwks.json", &[], b"").json();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(
        keys[0]["kid"],
        fixture().signing_keys.current().kid.as_str()
    );
    assert_eq!(
        (keys[0]["kty"].clone(), keys[0]["alg"].clone()),
        (json!("EC"), json!("ES256"))
    );
    assert!(
        keys[0].get("d").is_none(),
        "the private key was published: {jwks}"
    );
    let t = token("admin");
    let r = invoke(
        "assign-leads",
        Some(&t),
        &json!({"lead_id": "8f1c1a8e-3c1b-4f7e-9a57-0d7b1f0c2a11"}),
    );
    assert_eq!(
        (r.status, r.json()["code"].clone()),
        (404, json!("not_found")),
        "{}",
        r.text()
    );
}

/// The legacy keys (HS256, signed with the JWT secret) keep working while hosted accepts them:
/// a user's legacy token, the legacy anon key and the legacy service key.
#[test]
fn legacy_keys_still_work() {
    let _turn = turn();
    let id = render_job("client", "room-legacy.png", "Classic");
    let r = invoke(
        "process-render-request",
        Some(&legacy_token("client")),
        &json!({"request_id": id}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let r = invoke(
        "process-render-request",
        Some(&service_key()),
        &json!({"drain": true}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    // The legacy anon key passes the relay but is no user.
    let r = invoke("assign-leads", Some(&anon_key()), &json!({"lead_id": id}));
    assert_eq!(
        (r.status, r.json()["code"].clone()),
        (401, json!("unauthorized"))
    );
}

#[test]
fn gateway_and_function_glue_type_check() {
    for file in [
        "xtask/gateway/main.ts",
        "supabase/functions/_shared/host.ts",
        "supabase/functions/_shared/serve.ts",
        "tests/it/functions_client.ts",
    ] {
        support::deno_check(file);
    }
}

/// Removes the `social` agent's limits when a test ends, however it ends.
struct SocialLimits;

impl Drop for SocialLimits {
    fn drop(&mut self) {
        execute("delete from public.agent_limits where agent = 'social'");
    }
}

#[test]
fn sentiment_waits_while_the_social_agent_is_over_its_limit_then_is_scored() {
    let _turn = turn();
    let f = fixture();
    f.stub.set_social(fixture_social());
    let ig = social_account("instagram", "moha.quota", "ig-quota-token");
    let _limits = SocialLimits;
    // Other tests' unlimited social calls count in the day's row, which is this daily global
    // limit's row too: without this the test passed only when it ran first.
    execute(
        "delete from public.agent_usage where agent = 'social'; \
         insert into public.agent_limits (agent, scope, max_requests) values ('social', 'global', 0)",
    );
    let usage = || {
        let row = query_one(
            "select coalesce(sum(request_count), 0)::bigint, coalesce(sum(tokens), 0)::bigint \
             from public.agent_usage where agent = 'social'",
            &[],
        );
        (row.get::<_, i64>(0), row.get::<_, i64>(1))
    };
    let admin = token("admin");
    let run = || {
        let r = invoke(
            "fetch-social-updates",
            Some(&admin),
            &json!({"account_id": ig}),
        );
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()
    };
    let scored = "select count(*) from public.social_sentiment s join public.social_messages m \
         on m.id = s.message_id where m.account_id = $1::text::uuid";

    // Over the limit: the messages are stored, none is scored, the model is not called.
    let before = usage();
    let out = run();
    assert_eq!(out["messages_new"], 6, "{out}");
    assert_eq!(
        (
            out["sentiment_scored"].clone(),
            out["sentiment_fallback"].clone(),
            out["sentiment_deferred"].clone()
        ),
        (json!(0), json!(true), json!("over_limit"))
    );
    assert!(f.stub.calls(Api::Anthropic).is_empty());
    assert_eq!(
        count(
            "select count(*) from public.social_messages where account_id = $1::text::uuid",
            &ig
        ),
        6
    );
    assert_eq!(count(scored, &ig), 0);
    assert_eq!(usage(), before, "nothing counted");

    // The limit allows one call: the next run scores all six in that one call (one batch, one
    // count) and logs its tokens.
    execute("update public.agent_limits set max_requests = 1 where agent = 'social'");
    let out = run();
    assert_eq!(
        (
            out["messages_new"].clone(),
            out["sentiment_scored"].clone(),
            out["sentiment_deferred"].clone()
        ),
        (json!(0), json!(6), Value::Null)
    );
    assert_eq!(f.stub.calls(Api::Anthropic).len(), 1);
    assert_eq!(count(scored, &ig), 6);
    let after = usage();
    assert_eq!((after.0 - before.0, after.1 - before.1), (1, 160));

    // Nothing is left to score, so no call is made and the spent limit does not matter.
    let out = run();
    assert_eq!(
        (
            out["sentiment_scored"].clone(),
            out["sentiment_fallback"].clone()
        ),
        (json!(0), json!(false))
    );
    assert_eq!(f.stub.calls(Api::Anthropic).len(), 1);
}

/// A browser's CORS preflight reaches every function and is answered 2xx, with the CORS
/// headers except from mcp to an origin it does not allow (metrics, a scrape endpoint, refuses
/// it with 405). The mcp function's 204 once crashed the Deno wrapper (a 204 with a body, even an
/// empty one, is refused by `new Response`), so the browser saw 500 (found by bench P4).
#[test]
fn every_function_answers_a_cors_preflight() {
    for f in xtask::functions::FUNCTIONS {
        let r = http(
            "OPTIONS",
            &format!("/functions/v1/{f}"),
            &[
                ("origin", "http://localhost:3000"),
                ("access-control-request-method", "POST"),
                (
                    "access-control-request-headers",
                    "authorization, content-type",
                ),
            ],
            b"",
        );
        if *f == "metrics" {
            // Prometheus' endpoint: GET with a bearer secret, never from a browser.
            assert_eq!(r.status, 405, "metrics answered the preflight");
            continue;
        }
        assert!(
            (200..300).contains(&r.status),
            "{f} answered the preflight {}: {}",
            r.status,
            String::from_utf8_lossy(&r.body)
        );
        // mcp answers CORS only for the origins of MCP_ALLOWED_ORIGINS (none here): a page
        // elsewhere may not drive an agent's token (DNS rebinding, docs/agents.md).
        assert_eq!(
            r.head.contains("access-control-allow-origin:"),
            *f != "mcp",
            "{f}: CORS headers in {}",
            r.head
        );
    }
}
