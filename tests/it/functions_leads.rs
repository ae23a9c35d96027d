//! assign-leads end to end: real Deno behind the local gateway, a migrated database with the
//! personas, and the loopback provider stub in place of Anthropic (see `moha_tests::gateway`).
//!
//! The rationale written with an assignment: the model's paragraph (sent facts only, no personal
//! data), retried through provider errors, the deterministic fallback when the model is down or
//! the `leads` agent is over its limit, and one model call and one note however many duplicate
//! calls race. Each test takes its turn and starts without `leads` limits; which Sales user gets
//! a lead depends on the others' workload, so the tests check the owner the function reports.

use std::sync::MutexGuard;

use moha_tests::gateway::{execute, fixture, invoke, query_one, service_key, token, Reply};
use moha_tests::personas;
use moha_tests::provider_stub::{Api, Fault};
use serde_json::{json, Value};

const FUNCTION: &str = "assign-leads";
/// What the stub's model answers to a lead prompt.
const STUB_RATIONALE: &str = "Referred client with a clear budget.";

fn turn() -> MutexGuard<'static, ()> {
    let guard = moha_tests::gateway::turn();
    execute("delete from public.agent_limits where agent = 'leads'");
    guard
}

/// A new lead with contact details that must never reach the model.
fn new_lead(name: &str, email: &str, phone: &str) -> String {
    query_one(
        "insert into public.leads (client_name, email, phone, source) \
         values ($1, $2, $3, 'referral') returning id::text",
        &[&name, &email, &phone],
    )
    .get(0)
}

fn assign(lead: &str) -> Reply {
    invoke(FUNCTION, Some(&token("admin")), &json!({ "lead_id": lead }))
}

fn ok(r: &Reply) -> Value {
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

fn notes(lead: &str) -> Vec<String> {
    fixture()
        .db
        .connect()
        .query(
            "select note from public.lead_notes where lead_id = $1::text::uuid order by created_at",
            &[&lead],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

fn count(sql: &str, lead: &str) -> i64 {
    query_one(sql, &[&lead]).get(0)
}

/// Calls made today by the `leads` agent for the Admin, and their tokens and cost.
fn admin_usage() -> (i64, i64, String) {
    let row = query_one(
        "select coalesce(sum(request_count), 0)::bigint, coalesce(sum(tokens), 0)::bigint, \
         coalesce(sum(cost), 0)::text from public.agent_usage \
         where agent = 'leads' and user_id = $1::text::uuid",
        &[&personas::id("admin")],
    );
    (row.get(0), row.get(1), row.get(2))
}

fn is_sales(owner: &Value) -> bool {
    ["sales_a", "sales_b"]
        .iter()
        .any(|p| owner == personas::id(p))
}

#[test]
fn the_model_writes_the_rationale_from_facts_without_personal_data() {
    let _turn = turn();
    let f = fixture();
    let lead = new_lead(
        "Nora Leadbetter",
        "nora.leadbetter@example.com",
        "+44 20 7946 0958",
    );
    let (calls, tokens, _) = admin_usage();

    let out = ok(&assign(&lead));
    assert!(is_sales(&out["assigned_to"]), "{out}");
    assert_eq!(
        (out["rationale"].clone(), out["rationale_fallback"].clone()),
        (json!(STUB_RATIONALE), json!(false))
    );
    let written = notes(&lead);
    assert_eq!(written.len(), 1, "{written:?}");
    assert!(
        written[0].starts_with(&format!(
            "Assigned automatically (score {}). Rationale (claude-haiku-4-5): ",
            out["score"]
        )) && written[0].ends_with(STUB_RATIONALE),
        "{}",
        written[0]
    );

    // The model got the score factors and the lead's source, and nothing that names the client.
    let sent = f.stub.calls(Api::Anthropic);
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].headers.get("x-api-key").map(String::as_str),
        Some("sk-ant-stub-key")
    );
    let body = String::from_utf8_lossy(&sent[0].body).into_owned();
    for personal in [
        "Nora",
        "nora",
        "Leadbetter",
        "example.com",
        "7946",
        "+44",
        lead.as_str(),
    ] {
        assert!(
            !body.contains(personal),
            "{personal} sent to the model: {body}"
        );
    }
    let prompt = sent[0].json()["messages"][0]["content"][0]["text"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        prompt.contains("source: referral") && prompt.contains("source referral +30"),
        "{prompt}"
    );

    // One call counted, its tokens (120 in, 40 out) and cost ($1 and $5 per million) logged.
    let (calls_after, tokens_after, cost) = admin_usage();
    assert_eq!(calls_after - calls, 1);
    assert_eq!(tokens_after - tokens, 160);
    assert!(cost.parse::<f64>().unwrap() >= 0.00032, "{cost}");
    // The assignment is audited once, as the agent's action for the Admin, with its decision.
    let audited = query_one(
        "select count(*), bool_and(new_values->>'rationale_fallback' = 'false') \
         from public.audit_logs where table_name = 'public.leads' and record_id = $1 \
         and action = 'assign' and actor_kind = 'agent' and performed_by = $2::text::uuid",
        &[&lead, &personas::id("admin")],
    );
    assert_eq!(audited.get::<_, i64>(0), 1);
    assert!(audited.get::<_, bool>(1));

    // Called again: the same owner, no second model call, note or notification.
    let again = ok(&invoke(
        FUNCTION,
        Some(&service_key()),
        &json!({ "lead_id": lead }),
    ));
    assert_eq!(again["assigned_to"], out["assigned_to"]);
    assert_eq!(f.stub.calls(Api::Anthropic).len(), 1);
    assert_eq!(notes(&lead).len(), 1);
    assert_eq!(
        count(
            "select count(*) from public.notifications where kind = 'lead_assigned' \
             and data->>'lead_id' = $1",
            &lead
        ),
        1
    );
}

#[test]
fn provider_errors_are_retried_then_the_model_answers() {
    let _turn = turn();
    let f = fixture();
    f.stub
        .fail_next(Api::Anthropic, &[Fault::Status(500), Fault::Status(529)]);
    let lead = new_lead("Retry Lead", "retry@example.com", "+44 20 7946 0001");
    let out = ok(&assign(&lead));
    assert_eq!(out["rationale_fallback"], false, "{out}");
    assert_eq!(f.stub.calls(Api::Anthropic).len(), 3);
    let written = notes(&lead);
    assert!(written[0].ends_with(STUB_RATIONALE), "{written:?}");
}

#[test]
fn provider_down_gives_the_rule_based_rationale_charged_and_logged() {
    let _turn = turn();
    let f = fixture();
    f.stub.fail_always(Api::Anthropic, Some(Fault::Drop));
    let lead = new_lead("Down Lead", "down@example.com", "+44 20 7946 0002");
    let (calls, tokens, _) = admin_usage();
    let out = ok(&assign(&lead));
    assert!(is_sales(&out["assigned_to"]), "{out}");
    assert_eq!(out["rationale_fallback"], true);
    assert!(
        out["rationale"].as_str().unwrap().starts_with(&format!(
            "Rule score {} from source referral +30",
            out["score"]
        )),
        "{out}"
    );
    // Bounded: three attempts, then the fallback.
    assert_eq!(f.stub.calls(Api::Anthropic).len(), 3);
    let written = notes(&lead);
    assert_eq!(written.len(), 1);
    assert!(
        written[0]
            .contains("Rationale (fallback, rule-based; the model is unavailable): Rule score"),
        "{}",
        written[0]
    );
    // Charged before it was made (issue 12): one request, and no tokens, as none came back.
    let (calls_after, tokens_after, _) = admin_usage();
    assert_eq!((calls_after - calls, tokens_after - tokens), (1, 0));
    assert_eq!(
        count(
            "select count(*) from public.error_logs where service = 'assign-leads' \
             and context->>'lead_id' = $1 and (context->>'attempts')::int = 3",
            &lead
        ),
        1
    );
}

#[test]
fn over_the_limit_the_fallback_is_written_without_a_provider_call() {
    let _turn = turn();
    let f = fixture();
    execute(
        "insert into public.agent_limits (agent, scope, max_requests) values ('leads', 'global', 0)",
    );
    let lead = new_lead("Limited Lead", "limited@example.com", "+44 20 7946 0003");
    let (calls, tokens, _) = admin_usage();
    let out = ok(&assign(&lead));
    assert_eq!(out["rationale_fallback"], true, "{out}");
    assert!(f.stub.calls(Api::Anthropic).is_empty());
    let written = notes(&lead);
    assert_eq!(written.len(), 1);
    assert!(
        written[0].contains("Rationale (fallback, rule-based; over the leads agent's limit)"),
        "{}",
        written[0]
    );
    let (calls_after, tokens_after, _) = admin_usage();
    assert_eq!(
        (calls_after, tokens_after),
        (calls, tokens),
        "nothing charged"
    );
}

#[test]
fn duplicate_concurrent_calls_write_one_note_and_call_the_model_once() {
    let _turn = turn();
    let f = fixture();
    let lead = new_lead("Race Lead", "race@example.com", "+44 20 7946 0004");
    let admin = token("admin");
    let body = json!({ "lead_id": lead });
    let replies: Vec<Reply> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| s.spawn(|| invoke(FUNCTION, Some(&admin), &body)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let owners: Vec<Value> = replies
        .iter()
        .map(|r| ok(r)["assigned_to"].clone())
        .collect();
    assert!(is_sales(&owners[0]), "{owners:?}");
    assert!(owners.iter().all(|o| *o == owners[0]), "{owners:?}");
    assert_eq!(f.stub.calls(Api::Anthropic).len(), 1);
    assert_eq!(notes(&lead).len(), 1);
    assert_eq!(
        count(
            "select count(*) from public.notifications where kind = 'lead_assigned' \
             and data->>'lead_id' = $1",
            &lead
        ),
        1
    );
    assert_eq!(
        count(
            "select count(*) from public.audit_logs where table_name = 'public.leads' \
             and record_id = $1 and action = 'assign'",
            &lead
        ),
        1
    );
}
