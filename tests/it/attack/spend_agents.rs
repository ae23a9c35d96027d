//! Class 1 in the other AI functions: assign-leads (the rationale), generate-ai-insights (the
//! summary) and fetch-social-updates (sentiment). Each test makes a step after the model call
//! fail: the model's answer refused by a later write, or a write refused outright. Every call the
//! stub received must then be in `agent_usage` (one request and the stub's 120 + 40 tokens), and
//! repeating the request must not turn into a loop of model calls.
//!
//! These drive the real functions through the gateway, with the stub as Claude. A refused write
//! is a trigger the test plants as the owner, standing in for any constraint or policy that
//! refuses it; each is scoped to the test's own rows and dropped when the test ends.

use moha_tests::gateway::{execute, fixture, invoke, query_one, token, turn, Reply};
use moha_tests::personas;
use moha_tests::provider_stub::{Api, Fault, SocialFixture};
use serde_json::{json, Value};

/// Tokens the stub's Claude reports per answer (120 in, 40 out).
const TOKENS_PER_CALL: i64 = 160;

/// Drops what a test planted, however the test ends.
struct Planted(&'static str);

impl Drop for Planted {
    fn drop(&mut self) {
        execute(self.0);
    }
}

fn now_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// Requests and tokens counted for `agent`, for `user` (all rows when `None`).
fn usage(agent: &str, user: Option<&str>) -> (i64, i64) {
    let row = query_one(
        "select coalesce(sum(request_count), 0)::bigint, coalesce(sum(tokens), 0)::bigint \
         from public.agent_usage where agent = $1 \
         and ($2::text is null or user_id = $2::text::uuid)",
        &[&agent, &user],
    );
    (row.get(0), row.get(1))
}

fn since(before: (i64, i64), after: (i64, i64)) -> (i64, i64) {
    (after.0 - before.0, after.1 - before.1)
}

fn model_calls() -> i64 {
    fixture().stub.calls(Api::Anthropic).len() as i64
}

/// Status and `code` (errors) of each reply, for assertions and failure messages.
fn statuses(replies: &[Reply]) -> Vec<(u16, Value)> {
    replies
        .iter()
        .map(|r| {
            let body: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
            (r.status, body.get("code").cloned().unwrap_or(Value::Null))
        })
        .collect()
}

fn error_logs(service: &str, key: &str, id: &str) -> i64 {
    query_one(
        "select count(*) from public.error_logs where service = $1 and context->>$2 = $3",
        &[&service, &key, &id],
    )
    .get(0)
}

// ---------------------------------------------------------------- assign-leads

fn new_lead(name: &str) -> String {
    query_one(
        "insert into public.leads (client_name, email, source) \
         values ($1, 'attack-lead@example.com', 'referral') returning id::text",
        &[&name],
    )
    .get(0)
}

fn assign(lead: &str) -> Reply {
    invoke(
        "assign-leads",
        Some(&token("admin")),
        &json!({ "lead_id": lead }),
    )
}

/// The lead's notes, notifications and `assign` agent actions.
fn lead_trail(lead: &str) -> (Vec<String>, i64, i64) {
    let mut c = fixture().db.connect();
    let notes = c
        .query(
            "select note from public.lead_notes where lead_id = $1::text::uuid",
            &[&lead],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let row = c
        .query_one(
            "select (select count(*) from public.notifications \
                      where kind = 'lead_assigned' and data->>'lead_id' = $1), \
                    (select count(*) from public.audit_logs where table_name = 'public.leads' \
                      and record_id = $1 and action = 'assign' and actor_kind = 'agent')",
            &[&lead],
        )
        .unwrap();
    (notes, row.get(0), row.get(1))
}

/// Claude's rationale holds a NUL character (valid JSON: `\u0000`), which no PostgreSQL text
/// column takes, so the note carrying it cannot be written after the model has answered. The
/// call is charged once; the lead is assigned once, with the rule-based note; calling again
/// asks the model nothing.
#[test]
fn a_rationale_that_cannot_be_stored_is_charged_and_asked_for_once() {
    let _turn = turn();
    let admin = personas::id("admin");
    let lead = new_lead("Unstorable Rationale");
    let before = usage("leads", Some(admin));
    fixture().stub.fail_always(
        Api::Anthropic,
        Some(Fault::Answer(
            r#"{"rationale": "Referred client\u0000 with a clear budget."}"#.into(),
        )),
    );

    let replies: Vec<Reply> = (0..3).map(|_| assign(&lead)).collect();
    let calls = model_calls();
    fixture().stub.fail_always(Api::Anthropic, None);
    assert_eq!(
        since(before, usage("leads", Some(admin))),
        (calls, calls * TOKENS_PER_CALL),
        "every model call is charged ({calls} calls; replies {:?})",
        statuses(&replies)
    );
    assert_eq!(calls, 1, "one model call for one assignment");
    assert_eq!(statuses(&replies), vec![(200, Value::Null); 3]);
    let first = replies[0].json();
    assert_eq!(first["rationale_fallback"], true, "{first}");
    let owner = &first["assigned_to"];
    assert!(replies.iter().all(|r| r.json()["assigned_to"] == *owner));
    let (notes, notified, audited) = lead_trail(&lead);
    assert_eq!((notes.len(), notified, audited), (1, 1, 1), "{notes:?}");
    assert!(
        notes[0]
            .contains("Rationale (fallback, rule-based; the model's answer could not be stored)"),
        "{}",
        notes[0]
    );
    assert_eq!(error_logs("assign-leads", "lead_id", &lead), 1);
}

/// Claude answers (and bills) without the rationale asked for. The rule-based note is written,
/// and the call is charged with its tokens all the same.
#[test]
fn an_unusable_rationale_is_charged() {
    let _turn = turn();
    let admin = personas::id("admin");
    let lead = new_lead("Unusable Rationale");
    let before = usage("leads", Some(admin));
    fixture()
        .stub
        .fail_next(Api::Anthropic, &[Fault::Answer(r#"{"score": 80}"#.into())]);

    let reply = assign(&lead);
    let calls = model_calls();
    assert_eq!(
        since(before, usage("leads", Some(admin))),
        (calls, calls * TOKENS_PER_CALL),
        "every model call is charged ({calls} calls; reply {})",
        reply.text()
    );
    assert_eq!(calls, 1);
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["rationale_fallback"], true);
    let (notes, notified, audited) = lead_trail(&lead);
    assert_eq!((notes.len(), notified, audited), (1, 1, 1), "{notes:?}");
    assert!(
        notes[0].contains("Rationale (fallback, rule-based; the model's answer was unusable)"),
        "{}",
        notes[0]
    );
    assert_eq!(error_logs("assign-leads", "lead_id", &lead), 1);
}

/// The assignee's notification is refused. It does not depend on the model's answer, so it is
/// written before the model is asked: a refusal costs no model call, however often the lead is
/// assigned again.
#[test]
fn a_refused_notification_costs_no_model_call() {
    let _turn = turn();
    let admin = personas::id("admin");
    let lead = new_lead("Refused Notification");
    // The lead's id comes from the database: a uuid, safe to write into the trigger.
    execute(&format!(
        "create schema if not exists attack_faults; \
         create or replace function attack_faults.refuse_notification() returns trigger \
         language plpgsql as $$ begin \
           if new.data->>'lead_id' = '{lead}' then \
             raise exception 'notification refused (attack test)'; \
           end if; \
           return new; \
         end $$; \
         create trigger attack_refuse_notification before insert on public.notifications \
           for each row execute function attack_faults.refuse_notification();"
    ));
    let _planted = Planted(
        "drop trigger if exists attack_refuse_notification on public.notifications; \
         drop function if exists attack_faults.refuse_notification()",
    );
    let before = usage("leads", Some(admin));

    let replies: Vec<Reply> = (0..2).map(|_| assign(&lead)).collect();
    let calls = model_calls();
    assert_eq!(
        since(before, usage("leads", Some(admin))),
        (calls, calls * TOKENS_PER_CALL),
        "every model call is charged ({calls} calls; replies {:?})",
        statuses(&replies)
    );
    assert_eq!(
        calls, 0,
        "the notification is refused before the model is asked"
    );
    assert_eq!(statuses(&replies), vec![(500, json!("database_error")); 2]);
    let assigned: Option<String> = query_one(
        "select assigned_to::text from public.leads where id = $1::text::uuid",
        &[&lead],
    )
    .get(0);
    assert_eq!(assigned, None, "nothing of the refused assignment stays");
}

// ---------------------------------------------------------------- generate-ai-insights

/// Claude's summary holds a NUL character, which `jsonb` refuses, so the summary cannot be
/// cached after the model has answered. Each call is charged and the failure logged; the Admin
/// still gets the summary that was paid for.
#[test]
fn a_summary_that_cannot_be_cached_is_charged() {
    let _turn = turn();
    let admin = personas::id("admin");
    let summary = "- Leads are up.\u{0}";
    let errors = "select count(*) from public.error_logs where service = 'generate-ai-insights'";
    let logged: i64 = query_one(errors, &[]).get(0);
    let before = usage("insights", Some(admin));
    fixture()
        .stub
        .fail_always(Api::Anthropic, Some(Fault::Answer(summary.into())));

    let replies: Vec<Reply> = (0..2)
        .map(|_| {
            invoke(
                "generate-ai-insights",
                Some(&token("admin")),
                &json!({ "table_name": "leads" }),
            )
        })
        .collect();
    let calls = model_calls();
    fixture().stub.fail_always(Api::Anthropic, None);
    assert_eq!(
        since(before, usage("insights", Some(admin))),
        (calls, calls * TOKENS_PER_CALL),
        "every model call is charged ({calls} calls; replies {:?})",
        statuses(&replies)
    );
    assert_eq!(calls, 2, "one model call per request");
    assert_eq!(statuses(&replies), vec![(200, Value::Null); 2]);
    for r in &replies {
        let out = r.json();
        assert_eq!(
            (&out["summary"], &out["source"], &out["fallback"]),
            (&json!(summary), &json!("model"), &json!(false)),
            "{out}"
        );
    }
    assert_eq!(query_one(errors, &[]).get::<_, i64>(0) - logged, 2);
}

// ---------------------------------------------------------------- fetch-social-updates

/// The message whose sentiment the planted trigger refuses.
const REFUSED: &str = "refuse my sentiment";

/// A connected Instagram account with an encrypted token, as an Admin connects one.
fn social_account() -> String {
    let mut c = fixture().db.connect();
    c.batch_execute(
        "insert into private.secrets (name, secret) values ('social_token_key', 'test-social-key') \
         on conflict (name) do nothing",
    )
    .unwrap();
    let id: String = c
        .query_one(
            "insert into public.social_accounts (platform, username) \
             values ('instagram', $1) returning id::text",
            &[&format!("moha.spend-{}", now_nanos())],
        )
        .unwrap()
        .get(0);
    let mut tx = c.transaction().unwrap();
    tx.batch_execute("set local role service_role").unwrap();
    tx.execute(
        "select public.set_social_account_token($1::text::uuid, $2)",
        &[&id, &"ig-spend-token"],
    )
    .unwrap();
    tx.commit().unwrap();
    id
}

fn pull(account: &str) -> Reply {
    invoke(
        "fetch-social-updates",
        Some(&token("admin")),
        &json!({ "account_id": account }),
    )
}

/// `messages_new` and `sentiment_scored` of each reply (null for an error).
fn pulled(replies: &[Reply]) -> Vec<(u16, Value, Value)> {
    replies
        .iter()
        .map(|r| {
            let body: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
            (
                r.status,
                body.get("messages_new").cloned().unwrap_or(Value::Null),
                body.get("sentiment_scored").cloned().unwrap_or(Value::Null),
            )
        })
        .collect()
}

/// The sentiment of one message is refused after the model has scored the batch. The call is
/// charged once; the other messages keep their scores; later runs store the refused one from
/// the paid answer instead of asking the model again.
#[test]
fn a_refused_sentiment_is_charged_and_not_asked_for_again() {
    let _turn = turn();
    let f = fixture();
    let at = |h: u8| format!("2025-07-01T{h:02}:00:00Z");
    let sender = || "5151".to_string();
    f.stub.set_social(SocialFixture {
        messages: vec![
            (
                "s1".into(),
                "I love the new kitchen".into(),
                sender(),
                at(9),
            ),
            ("s2".into(), REFUSED.into(), sender(), at(10)),
            ("s3".into(), "bad delivery".into(), sender(), at(11)),
        ],
        ..SocialFixture::default()
    });
    let account = social_account();
    execute(&format!(
        "create schema if not exists attack_faults; \
         create or replace function attack_faults.refuse_sentiment() returns trigger \
         language plpgsql as $$ begin \
           if exists (select 1 from public.social_messages m where m.id = new.message_id \
                      and m.received_at = new.message_received_at and m.content = '{REFUSED}') then \
             raise exception 'sentiment refused (attack test)'; \
           end if; \
           return new; \
         end $$; \
         create trigger attack_refuse_sentiment before insert on public.social_sentiment \
           for each row execute function attack_faults.refuse_sentiment();"
    ));
    let planted = Planted(
        "drop trigger if exists attack_refuse_sentiment on public.social_sentiment; \
         drop function if exists attack_faults.refuse_sentiment()",
    );
    let before = usage("social", None);

    let replies: Vec<Reply> = (0..2).map(|_| pull(&account)).collect();
    let calls = model_calls();
    assert_eq!(
        since(before, usage("social", None)),
        (calls, calls * TOKENS_PER_CALL),
        "every model call is charged ({calls} calls; replies {:?})",
        pulled(&replies)
    );
    assert_eq!(calls, 1, "the batch is scored once");
    assert_eq!(
        pulled(&replies),
        vec![(200, json!(3), json!(2)), (200, json!(0), json!(0))]
    );
    assert_eq!(
        error_logs("fetch-social-updates", "account_id", &account),
        2
    );

    // Accepted again, the refused score is stored from the answer already paid for.
    drop(planted);
    let again = pull(&account);
    assert_eq!(pulled(&[again]), vec![(200, json!(0), json!(1))]);
    assert_eq!(model_calls(), 1);
    assert_eq!(since(before, usage("social", None)), (1, TOKENS_PER_CALL));
    let scored: i64 = query_one(
        "select count(*) from public.social_sentiment s join public.social_messages m \
           on m.id = s.message_id and m.received_at = s.message_received_at \
         where m.account_id = $1::text::uuid",
        &[&account],
    )
    .get(0);
    assert_eq!(scored, 3);
}
