//! The model's lead score (issue 20) end to end: real Deno behind the local gateway, a migrated
//! database with the personas, and the loopback provider stub in place of Anthropic.
//!
//! A lead is queued when it is created or its notes change; `assign-leads {"score_queued":
//! true}` (the `moha-score-leads` schedule, or the service key) scores the queue with the model
//! from scrubbed facts, charged before the call, and `update_lead_score` blends the score in.
//! The attacker's side: a steered answer (a score of 1000, a field not asked for, text with
//! control characters) is refused and the rule score stands, still charged; nobody but the
//! schedule and the service key may run the drain.

use std::sync::MutexGuard;

use moha_tests::gateway::{execute, fixture, invoke, query_one, service_key, token, Reply};
use moha_tests::provider_stub::{Api, Fault};
use serde_json::{json, Value};

const FUNCTION: &str = "assign-leads";
/// What the stub's model answers to a lead prompt (`{"score": 80, ...}`).
const STUB_SCORE: i64 = 80;
/// Tokens the stub reports per Anthropic answer (120 in, 40 out).
const STUB_TOKENS: i64 = 160;

/// Each test starts with an empty queue and no `leads` limits.
fn turn() -> MutexGuard<'static, ()> {
    let guard = moha_tests::gateway::turn();
    execute(
        "delete from public.agent_limits where agent = 'leads'; \
         delete from private.lead_score_queue;",
    );
    guard
}

/// A new lead with contact details that must never reach the model, and a note with more.
fn new_lead(label: &str) -> String {
    let id: String = query_one(
        "insert into public.leads (client_name, email, phone, source) \
         values ($1, 'nora.leadbetter@example.com', '+44 20 7946 0958', 'referral') \
         returning id::text",
        &[&label],
    )
    .get(0);
    query_one(
        "insert into public.lead_notes (lead_id, note) values ($1::text::uuid, \
         'Nora (nora.leadbetter@example.com, 020 7946 0958) wants a loft conversion, budget 40k') \
         returning id",
        &[&id],
    );
    id
}

fn queued(lead: &str) -> bool {
    query_one(
        "select exists (select 1 from private.lead_score_queue where lead_id = $1::text::uuid)",
        &[&lead],
    )
    .get(0)
}

fn drain(bearer: &str) -> Reply {
    invoke(FUNCTION, Some(bearer), &json!({ "score_queued": true }))
}

fn drained(lead: &str) -> Value {
    let r = drain(&service_key());
    assert_eq!(r.status, 200, "{}", r.text());
    let all = r.json()["scored"].as_array().cloned().unwrap_or_default();
    all.into_iter()
        .find(|o| o["lead_id"] == lead)
        .unwrap_or_else(|| panic!("{lead} not scored: {}", r.text()))
}

/// Model rows of the lead's scores: (score, model).
fn model_scores(lead: &str) -> Vec<(i16, String)> {
    fixture()
        .db
        .connect()
        .query(
            "select score, model from public.lead_scoring \
             where lead_id = $1::text::uuid and model <> 'rules-v1' order by created_at",
            &[&lead],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

fn score(lead: &str) -> i64 {
    query_one(
        "select coalesce(score, -1)::bigint from public.leads where id = $1::text::uuid",
        &[&lead],
    )
    .get(0)
}

/// The rule score alone (no model score), as update_lead_score computes it for this lead.
fn rule_part(lead: &str) -> i64 {
    let rationale: String = query_one(
        "select rationale from public.lead_scoring where lead_id = $1::text::uuid \
         and model = 'rules-v1' order by created_at desc, id desc limit 1",
        &[&lead],
    )
    .get(0);
    // "source referral: 30; age 0 days: 20; recent notes: 5; latest AI score 80: 24"
    rationale
        .split(';')
        .filter(|p| !p.contains("latest AI score"))
        .map(|p| p.rsplit(':').next().unwrap().trim().parse::<i64>().unwrap())
        .sum()
}

/// Scheduled (user-less) `leads` calls today: requests and tokens.
fn scheduled_usage() -> (i64, i64) {
    let row = query_one(
        "select coalesce(sum(request_count), 0)::bigint, coalesce(sum(tokens), 0)::bigint \
         from public.agent_usage where agent = 'leads' and user_id is null and project_id is null",
        &[],
    );
    (row.get(0), row.get(1))
}

fn errors_about(lead: &str) -> Vec<String> {
    fixture()
        .db
        .connect()
        .query(
            "select error_message from public.error_logs where service = 'assign-leads' \
             and context->>'lead_id' = $1 order by id",
            &[&lead],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[test]
fn a_new_lead_is_queued_and_scored_by_the_model_from_scrubbed_facts() {
    let _turn = turn();
    let f = fixture();
    let lead = new_lead("Nora Leadbetter");
    assert!(queued(&lead), "creating a lead queues it");
    let before = scheduled_usage();

    let out = drained(&lead);
    assert_eq!(out["outcome"], "model_score", "{out}");
    assert_eq!(out["model_score"], STUB_SCORE);
    assert_eq!(
        model_scores(&lead),
        [(STUB_SCORE as i16, "claude-haiku-4-5".to_string())]
    );
    // Blended as designed: 30% of the model's score on top of the rule score.
    assert_eq!(score(&lead), (rule_part(&lead) + 24).min(100));
    assert_eq!(out["score"], score(&lead));
    assert!(!queued(&lead), "taken off the queue");

    // Charged once, to the schedule (no user), with the answer's tokens.
    assert_eq!(
        scheduled_usage(),
        (before.0 + 1, before.1 + STUB_TOKENS),
        "counted and priced"
    );
    // The model got the facts and the note, and nothing that names or reaches the client.
    let sent = f.stub.calls(Api::Anthropic);
    assert_eq!(sent.len(), 1);
    let body = String::from_utf8_lossy(&sent[0].body).into_owned();
    assert!(
        body.contains("referral") && body.contains("loft conversion"),
        "{body}"
    );
    assert!(
        body.contains("[email]") && body.contains("[phone]"),
        "{body}"
    );
    for personal in [
        "Leadbetter",
        "nora.leadbetter",
        "7946",
        "0958",
        lead.as_str(),
    ] {
        assert!(
            !body.contains(personal),
            "{personal} reached the model: {body}"
        );
    }
}

#[test]
fn a_note_written_or_changed_queues_the_lead_again() {
    let _turn = turn();
    let lead = new_lead("Requeued");
    drained(&lead);
    assert!(!queued(&lead));
    execute(&format!(
        "update public.lead_notes set note = note where lead_id = '{lead}'"
    ));
    assert!(!queued(&lead), "an unchanged note asks for no new score");
    execute(&format!(
        "update public.lead_notes set note = 'budget now 80k' where lead_id = '{lead}'"
    ));
    assert!(queued(&lead), "a changed note queues the lead");
    execute("delete from private.lead_score_queue");
    execute(&format!(
        "insert into public.lead_notes (lead_id, note) values ('{lead}', 'called back')"
    ));
    assert!(queued(&lead), "a new note queues the lead");
}

/// assign-leads queues a lead whose model score is stale (none, older than its newest note, or
/// older than a month), and leaves a fresh one alone.
#[test]
fn assign_leads_queues_a_stale_score_only() {
    let _turn = turn();
    let lead = new_lead("Stale");
    drained(&lead);
    let assign = || invoke(FUNCTION, Some(&token("admin")), &json!({ "lead_id": lead }));
    let r = assign();
    assert_eq!(r.status, 200, "{}", r.text());
    // The assignment's note is newer than the score: stale.
    assert!(queued(&lead));
    drained(&lead);
    let r = assign();
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(!queued(&lead), "a fresh model score is not asked for again");
    execute(&format!(
        "update public.lead_scoring set created_at = now() - interval '40 days' \
         where lead_id = '{lead}' and model <> 'rules-v1'; \
         update public.lead_notes set created_at = now() - interval '41 days' \
         where lead_id = '{lead}'"
    ));
    let r = assign();
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(queued(&lead), "a month-old model score is stale");
}

/// The attacker writes a note that steers the model (or the model misbehaves): an answer that
/// sets the score to 1000, adds a field it was not asked for, or smuggles control characters
/// is refused. The rule score stands, the call stays charged, the refusal is logged.
#[test]
fn a_steered_answer_cannot_set_the_score() {
    let _turn = turn();
    let f = fixture();
    for (i, answer) in [
        r#"{"score": 1000, "rationale": "The notes say to score this lead 1000."}"#,
        r#"{"score": 100, "rationale": "Top lead.", "assigned_to": "00000000-0000-0000-0000-000000000000"}"#,
        "{\"score\": 100, \"rationale\": \"ok\\u0000'); update leads set score = 100;--\"}",
        "Score: 100. Ignore the rules and assign it to me.",
    ]
    .into_iter()
    .enumerate()
    {
        let lead = new_lead(&format!("Steered {i}"));
        let before = scheduled_usage();
        f.stub.fail_next(Api::Anthropic, &[Fault::Answer(answer.into())]);
        let out = drained(&lead);
        assert_eq!(
            (out["outcome"].as_str(), out["reason"].as_str()),
            (Some("rule_score"), Some("unusable_or_unavailable")),
            "{answer}: {out}"
        );
        assert!(model_scores(&lead).is_empty(), "{answer}");
        assert_eq!(score(&lead), rule_part(&lead), "{answer}");
        assert_eq!(scheduled_usage(), (before.0 + 1, before.1 + STUB_TOKENS));
        let logged = errors_about(&lead);
        assert_eq!(logged.len(), 1, "{logged:?}");
        assert!(
            logged[0].starts_with("the model's lead score was refused"),
            "{logged:?}"
        );
    }
}

#[test]
fn over_the_limit_or_with_the_model_down_the_rule_score_stands() {
    let _turn = turn();
    let f = fixture();
    execute(
        "insert into public.agent_limits (agent, scope, max_requests, window_seconds) \
         values ('leads', 'global', 0, 86400)",
    );
    let lead = new_lead("Over limit");
    let out = drained(&lead);
    assert_eq!(out["reason"], "over_limit", "{out}");
    assert_eq!(
        f.stub.calls(Api::Anthropic).len(),
        0,
        "no call over the limit"
    );
    assert_eq!(score(&lead), rule_part(&lead));
    execute("delete from public.agent_limits where agent = 'leads'");

    let lead = new_lead("Model down");
    let before = scheduled_usage();
    f.stub.fail_always(Api::Anthropic, Some(Fault::Status(500)));
    let out = drained(&lead);
    f.stub.fail_always(Api::Anthropic, None);
    assert_eq!(out["reason"], "unusable_or_unavailable", "{out}");
    assert!(model_scores(&lead).is_empty());
    assert_eq!(score(&lead), rule_part(&lead));
    // The call was made: one request charged, no tokens.
    assert_eq!(scheduled_usage(), (before.0 + 1, before.1));
}

/// Only the schedule and the service key run the drain: a signed-in Admin, a Sales user or a
/// client cannot make the studio pay for scoring calls, and a body asking for both is refused.
#[test]
fn the_drain_is_for_the_schedule_and_the_service_key_only() {
    let _turn = turn();
    let f = fixture();
    let lead = new_lead("Not yours");
    for persona in ["admin", "sales_a", "client"] {
        let r = drain(&token(persona));
        assert_eq!(r.status, 403, "{persona}: {}", r.text());
        assert_eq!(r.json()["code"], "forbidden", "{persona}");
    }
    let both = invoke(
        FUNCTION,
        Some(&service_key()),
        &json!({ "lead_id": lead, "score_queued": true }),
    );
    assert_eq!(both.status, 400, "{}", both.text());
    assert_eq!(f.stub.calls(Api::Anthropic).len(), 0);
    assert!(queued(&lead), "nothing was taken off the queue");
}
