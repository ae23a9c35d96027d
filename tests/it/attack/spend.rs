//! Class 1, AI spend taken without being charged. Every model call the provider stub receives
//! must be in `agent_usage` (one request and its tokens), whatever happens after it; a job that
//! keeps failing after the call ends `failed` after a bounded number of runs; an owner who may
//! not spend (a sign-up no one linked to a client record, staff without render:create) gets no
//! model call at all.
//!
//! These drive the real render function through the gateway, with the stub as the image model.

use moha_tests::gateway::{fixture, http, invoke, now, query_one, service_key, token, turn, Reply};
use moha_tests::personas;
use moha_tests::provider_stub::{Api, Fault, PNG};
use serde_json::{json, Value};
use xtask::jwt;

use super::common::{issued_claims, sign_up};

/// Runs a render job may make before it ends `failed` (process-render-request's
/// `MAX_ATTEMPTS`).
const MAX_RUNS: usize = 5;
/// Tokens the stub's image model reports per answer (1290 in, 1300 out).
const TOKENS_PER_CALL: i64 = 2590;
const FUNCTION: &str = "process-render-request";

/// A signed access token for `user_id`, with the claims the real hook issues.
fn token_for(user_id: &str) -> String {
    let mut claims = issued_claims(&mut fixture().db.connect(), user_id);
    claims["exp"] = json!(now() + 600);
    jwt::sign_hs256(&claims, jwt::LOCAL_JWT_SECRET)
}

/// A fresh sign-up, as open sign-up makes one (a Client, linked to nothing).
fn fresh_sign_up(label: &str) -> (String, String) {
    let email = format!("{label}-{}@attacker.test", now_nanos());
    let id = sign_up(&mut fixture().db.connect(), &email);
    let t = token_for(&id);
    (id, t)
}

/// A sign-up staff then linked to a client record: a portal client who may render. Their own
/// limit row keeps the counts of each test apart.
fn linked_client(label: &str) -> (String, String) {
    let (id, t) = fresh_sign_up(label);
    let mut c = fixture().db.connect();
    c.execute(
        "insert into public.clients (name, user_id) values ($1, $2::text::uuid)",
        &[&label, &id],
    )
    .unwrap();
    c.execute(
        "insert into public.agent_limits (agent, scope, user_id, max_requests) \
         values ('render', 'user', $1::text::uuid, 100)",
        &[&id],
    )
    .unwrap();
    (id, t)
}

fn now_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

fn upload(bearer: &str, name: &str, bytes: &[u8]) -> Reply {
    let auth = format!("Bearer {bearer}");
    http(
        "POST",
        &format!("/storage/v1/object/renders/{name}"),
        &[("authorization", &auth), ("content-type", "image/png")],
        bytes,
    )
}

fn download(bearer: &str, name: &str) -> Reply {
    let auth = format!("Bearer {bearer}");
    http(
        "GET",
        &format!("/storage/v1/object/renders/{name}"),
        &[("authorization", &auth)],
        b"",
    )
}

/// The owner uploads an input image to their folder; the job is queued for it (as `postgres`:
/// who may queue is the insert policy's business, this class is about what a queued job costs).
fn queued_job(owner: &str, owner_token: &str) -> String {
    let input = format!("{owner}/input-{}.png", now_nanos());
    let up = upload(owner_token, &input, PNG);
    assert_eq!(up.status, 200, "{}", up.text());
    let id: String = query_one(
        "insert into public.render_requests (user_id, input_file_path, model) \
         values ($1::text::uuid, $2, 'gemini-2.5-flash-image') returning id::text",
        &[&owner, &input],
    )
    .get(0);
    id
}

fn run(bearer: &str, id: &str) -> Reply {
    invoke(FUNCTION, Some(bearer), &json!({ "request_id": id }))
}

/// Requests and tokens charged to `user` for renders.
fn charged(user: &str) -> (i64, i64) {
    let row = query_one(
        "select coalesce(sum(request_count), 0)::bigint, coalesce(sum(tokens), 0)::bigint \
         from public.agent_usage where agent = 'render' and user_id = $1::text::uuid",
        &[&user],
    );
    (row.get(0), row.get(1))
}

/// The job's status and attempts, its results, its error-log rows and the audit rows of its
/// runs (updates of the job's row by the agent: per run, the claim, the count and the ending).
fn trail(id: &str) -> (String, i32, i64, i64, i64) {
    let row = query_one(
        "select r.status::text, r.attempts, \
           (select count(*) from public.render_results x where x.request_id = r.id), \
           (select count(*) from public.error_logs e where e.service = 'process-render-request' \
              and e.context->>'request_id' = $1), \
           (select count(*) from public.audit_logs a where a.table_name = 'public.render_requests' \
              and a.actor_kind = 'agent' and a.record_id = $1) \
         from public.render_requests r where r.id = $1::text::uuid",
        &[&id],
    );
    (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4))
}

/// The job's last error message, for failure messages.
fn why(id: &str) -> String {
    query_one(
        "select coalesce(error_message, '') from public.render_requests where id = $1::text::uuid",
        &[&id],
    )
    .get(0)
}

fn statuses(replies: &[Reply]) -> Vec<(u16, Value)> {
    replies
        .iter()
        .map(|r| {
            let body = r.json();
            let what = body
                .get("status")
                .or_else(|| body.get("code"))
                .cloned()
                .unwrap_or(Value::Null);
            (r.status, what)
        })
        .collect()
}

/// Lets a re-queued job's retry time pass, as the clock would.
fn make_due(id: &str) {
    fixture()
        .db
        .connect()
        .execute(
            "update public.render_requests set retry_at = now() - interval '1 second' \
             where id = $1::text::uuid and retry_at is not null",
            &[&id],
        )
        .unwrap();
}

/// (a) A client plants an object at their job's output path, so that writing the output as
/// them (an upsert their policies refuse) fails after the model has answered, then calls again
/// and again. Every model call is charged, and the job runs once.
#[test]
fn a_planted_output_does_not_buy_free_model_calls() {
    let _turn = turn();
    let f = fixture();
    let (client, t) = linked_client("planter");
    let id = queued_job(&client, &t);
    let output = format!("{client}/{id}/output.png");
    let planted = upload(&t, &output, b"planted, not a render");
    assert_eq!(planted.status, 200, "{}", planted.text());

    let replies: Vec<Reply> = (0..4).map(|_| run(&t, &id)).collect();
    let calls = f.stub.calls(Api::Gemini).len() as i64;
    assert_eq!(
        charged(&client),
        (calls, calls * TOKENS_PER_CALL),
        "every model call is charged ({calls} calls; replies {:?})",
        statuses(&replies)
    );
    assert_eq!(calls, 1, "one model call for one job: {}", why(&id));
    assert_eq!(
        statuses(&replies),
        vec![(200, json!("succeeded")); 4],
        "the run succeeds, the repeats answer with its result"
    );
    let (status, attempts, results, errors, audited) = trail(&id);
    assert_eq!(
        (status.as_str(), attempts, results, errors, audited),
        ("succeeded", 1, 1, 0, 3)
    );
    // The function wrote the output itself: the render replaced the planted object.
    let got = download(&t, &output);
    assert_eq!((got.status, got.body.as_slice()), (200, PNG));
}

/// (b) A Designer replays a client's queued job, whose output the Designer's own access could
/// never write, again and again: charged to the owner, run once.
#[test]
fn a_designer_replaying_a_clients_job_is_charged_and_runs_once() {
    let _turn = turn();
    let f = fixture();
    let (client, t) = linked_client("replayed");
    let id = queued_job(&client, &t);
    let designer = token("designer");

    let replies: Vec<Reply> = (0..3).map(|_| run(&designer, &id)).collect();
    let calls = f.stub.calls(Api::Gemini).len() as i64;
    assert_eq!(
        charged(&client),
        (calls, calls * TOKENS_PER_CALL),
        "every model call is charged to the job's owner ({calls} calls; replies {:?})",
        statuses(&replies)
    );
    assert_eq!(calls, 1, "{}", why(&id));
    assert_eq!(statuses(&replies), vec![(200, json!("succeeded")); 3]);
    // Nothing was charged to the Designer.
    assert_eq!(charged(personas::id("designer")), (0, 0));
    let (status, attempts, results, errors, audited) = trail(&id);
    assert_eq!(
        (status.as_str(), attempts, results, errors, audited),
        ("succeeded", 1, 1, 0, 3)
    );
    assert_eq!(
        download(&t, &format!("{client}/{id}/output.png"))
            .body
            .as_slice(),
        PNG
    );
}

/// A model answer the function cannot use (text only, as a refusal comes back) is billed by the
/// provider. Each run is charged and logged, the job backs off, and after `MAX_RUNS` runs it
/// ends `failed`: the owner's calls cannot turn it into a free loop.
#[test]
fn an_unusable_answer_is_charged_and_the_job_ends_failed() {
    let _turn = turn();
    let f = fixture();
    let (client, t) = linked_client("refused");
    let id = queued_job(&client, &t);
    f.stub.fail_always(Api::Gemini, Some(Fault::TextOnly));

    let mut replies = Vec::new();
    for _ in 0..MAX_RUNS + 2 {
        replies.push(run(&t, &id));
        make_due(&id);
    }
    let calls = f.stub.calls(Api::Gemini).len() as i64;
    f.stub.fail_always(Api::Gemini, None);
    assert_eq!(
        charged(&client),
        (calls, calls * TOKENS_PER_CALL),
        "every model call is charged ({calls} calls; replies {:?})",
        statuses(&replies)
    );
    assert_eq!(calls, MAX_RUNS as i64, "the runs are bounded: {}", why(&id));
    let mut expected = vec![(202, json!("queued")); MAX_RUNS - 1];
    expected.push((502, json!("upstream_error")));
    expected.extend([(409, json!("conflict")), (409, json!("conflict"))]);
    assert_eq!(statuses(&replies), expected);
    let (status, attempts, results, errors, audited) = trail(&id);
    assert_eq!(
        (
            status.as_str(),
            attempts as usize,
            results,
            errors as usize,
            audited as usize
        ),
        ("failed", MAX_RUNS, 0, MAX_RUNS, 3 * MAX_RUNS),
        "each run is counted, logged and audited"
    );

    // Called again before its retry time, a re-queued job does not run: the backoff holds.
    let again = queued_job(&client, &t);
    f.stub.fail_always(Api::Gemini, Some(Fault::TextOnly));
    let first = run(&t, &again);
    let second = run(&t, &again);
    f.stub.fail_always(Api::Gemini, None);
    assert_eq!(
        statuses(&[first, second]),
        vec![(202, json!("queued")), (202, json!("queued"))]
    );
    assert_eq!(f.stub.calls(Api::Gemini).len() as i64, calls + 1);
    assert_eq!(charged(&client), (calls + 1, (calls + 1) * TOKENS_PER_CALL));
}

/// (c) Sign-up is open: a fresh account (a Client no one linked to a client record) and a staff
/// member without render:create get no model call, however their job got queued and whoever
/// runs it. The job ends `failed`, uncharged.
#[test]
fn an_owner_who_may_not_spend_gets_no_model_call() {
    let _turn = turn();
    let f = fixture();
    let (mallory, t) = fresh_sign_up("mallory");
    let id = queued_job(&mallory, &t);

    let mut replies: Vec<Reply> = (0..2).map(|_| run(&t, &id)).collect();
    // Nor through a Designer replaying it.
    replies.push(run(&token("designer"), &id));
    assert_eq!(
        f.stub.calls(Api::Gemini).len(),
        0,
        "no model call (replies {:?})",
        statuses(&replies)
    );
    assert_eq!(statuses(&replies), vec![(403, json!("forbidden")); 3]);
    // Nor on the schedule (which may run other tests' due jobs, but not this one).
    let drained = invoke(FUNCTION, Some(&service_key()), &json!({ "drain": true }));
    assert_eq!(drained.status, 200, "{}", drained.text());
    assert!(
        !drained.json()["drained"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["request_id"] == id.as_str()),
        "{}",
        drained.text()
    );
    f.stub.reset();
    assert_eq!(charged(&mallory), (0, 0));
    let (status, attempts, results, _, _) = trail(&id);
    assert_eq!((status.as_str(), attempts, results), ("failed", 0, 0));

    // A Sales user has no render:create.
    let sales = personas::id("sales_a");
    let sales_token = token("sales_a");
    let job = queued_job(sales, &sales_token);
    let r = run(&sales_token, &job);
    assert_eq!(statuses(&[r]), vec![(403, json!("forbidden"))]);
    assert_eq!(f.stub.calls(Api::Gemini).len(), 0);
    assert_eq!(trail(&job).0, "failed");

    // Linked by staff, the same account may render its job.
    fixture()
        .db
        .connect()
        .execute(
            "insert into public.clients (name, user_id) values ('now a client', $1::text::uuid)",
            &[&mallory],
        )
        .unwrap();
    let r = run(&t, &id);
    assert_eq!(statuses(&[r]), vec![(200, json!("succeeded"))]);
    assert_eq!(f.stub.calls(Api::Gemini).len(), 1);
    assert_eq!(charged(&mallory), (1, TOKENS_PER_CALL));
}

/// Requests and spend charged under `project` for renders (its project-scope counter rows).
fn project_charged(project: &str) -> (i64, String) {
    let row = query_one(
        "select coalesce(sum(request_count), 0)::bigint, coalesce(sum(cost), 0)::text \
         from public.agent_usage where agent = 'render' and project_id = $1::text::uuid",
        &[&project],
    );
    (row.get(0), row.get(1))
}

/// A job of `owner` for `project`.
fn queued_project_job(owner: &str, owner_token: &str, project: &str) -> String {
    let id = queued_job(owner, owner_token);
    query_one(
        "update public.render_requests set project_id = $2::text::uuid \
         where id = $1::text::uuid returning id::text",
        &[&id, &project],
    );
    id
}

/// (d) Issue 20: a project's render limit holds whoever renders for it. Two linked clients
/// each under their own generous limit queue a render for one project whose limit allows one:
/// the second is re-queued over the limit, with no model call.
#[test]
fn a_project_limit_stops_the_next_render() {
    let _turn = turn();
    let f = fixture();
    let project: String = query_one(
        "insert into public.projects (title) values ('limited project') returning id::text",
        &[],
    )
    .get(0);
    query_one(
        "insert into public.agent_limits (agent, scope, project_id, max_requests) \
         values ('render', 'project', $1::text::uuid, 1) returning id",
        &[&project],
    );
    let (ana, ana_t) = linked_client("project-a");
    let (ben, ben_t) = linked_client("project-b");
    let first = queued_project_job(&ana, &ana_t, &project);
    let second = queued_project_job(&ben, &ben_t, &project);

    let replies = [run(&ana_t, &first), run(&ben_t, &second)];
    assert_eq!(
        statuses(&replies),
        vec![(200, json!("succeeded")), (202, json!("queued"))],
        "{}",
        why(&second)
    );
    assert_eq!(f.stub.calls(Api::Gemini).len(), 1, "no call over the limit");
    assert_eq!(why(&second), "over the render limit");
    assert_eq!(project_charged(&project).0, 1);
    assert_eq!(charged(&ben), (0, 0));
}

/// (e) Issue 20: renders are priced (Gemini 2.5 Flash Image's list prices: the stub's 1290
/// tokens in and 1300 out cost $0.039387), the cost is written to `render_results.cost_usd`
/// and to `agent_usage`, and a render whose image would take the spend past `max_cost` is
/// refused before the call: an attacker's cheap-looking request cannot overspend the budget.
#[test]
fn a_render_that_would_pass_max_cost_is_refused_before_the_call() {
    let _turn = turn();
    let f = fixture();
    let (client, t) = linked_client("spender");
    fixture()
        .db
        .connect()
        .execute(
            "update public.agent_limits set max_cost = 0.05 \
             where agent = 'render' and user_id = $1::text::uuid",
            &[&client],
        )
        .unwrap();
    let first = queued_job(&client, &t);
    let second = queued_job(&client, &t);
    let replies = [run(&t, &first), run(&t, &second)];
    assert_eq!(
        statuses(&replies),
        vec![(200, json!("succeeded")), (202, json!("queued"))],
        "{}",
        why(&second)
    );
    assert_eq!(f.stub.calls(Api::Gemini).len(), 1, "no call past max_cost");
    let row = query_one(
        "select cost_usd::text from public.render_results where request_id = $1::text::uuid",
        &[&first],
    );
    assert_eq!(row.get::<_, String>(0), "0.039387");
    let spent = query_one(
        "select sum(cost)::text from public.agent_usage \
         where agent = 'render' and user_id = $1::text::uuid",
        &[&client],
    );
    assert_eq!(spent.get::<_, String>(0), "0.039387");
    assert_eq!(why(&second), "over the render limit");
}
