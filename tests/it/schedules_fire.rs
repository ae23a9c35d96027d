//! Supabase Cron for real (issue 17): in the cluster's cron database, with the gateway serving the
//! functions and the local pg_net worker sending what `net.http_post` queues, a render queued
//! over its limit runs after its retry time with nobody calling the drain: pg_cron fires the
//! `moha-drain-renders` job at a minute boundary. One test waits for one or two boundaries.

use std::time::{Duration, Instant};

use moha_tests::personas;
use moha_tests::provider_stub::{Api, ProviderStub, PNG};
use postgres::Client;
use serde_json::{json, Value};
use sql::moha::operations::{VAULT_PROJECT_URL, VAULT_SCHEDULED_CALL_SECRET};
use xtask::{cluster, jwt};

const SECRET: &str = "fire-test-scheduled-call-secret-0123456789abcdef";

struct Reply {
    status: u16,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

fn http(port: u16, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    let r = moha_tests::gateway::http_at(port, "POST", path, headers, body);
    Reply {
        status: r.status,
        body: r.body,
    }
}

fn invoke(port: u16, name: &str, bearer: &str, body: &Value) -> Reply {
    let auth = format!("Bearer {bearer}");
    http(
        port,
        &format!("/functions/v1/{name}"),
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        body.to_string().as_bytes(),
    )
}

fn token(persona: &str) -> String {
    let mut claims = personas::claims(personas::persona(persona));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    claims["exp"] = json!(now + 900);
    jwt::sign_hs256(&claims, jwt::LOCAL_JWT_SECRET)
}

fn state(c: &mut Client, id: &str) -> (String, i32) {
    let r = c
        .query_one(
            "select status::text, attempts from public.render_requests where id = $1::text::uuid",
            &[&id],
        )
        .unwrap();
    (r.get(0), r.get(1))
}

fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "{what} within {limit:?}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn pg_cron_drains_a_render_queued_over_its_limit_after_its_retry_time() {
    let db = moha_tests::cron_db();
    let mut c = db.connect();
    personas::create(&mut c, false).unwrap();
    let stub = ProviderStub::start();
    let state_dir = tempfile::tempdir().unwrap().keep();
    let mut secrets = xtask::gateway::function_secrets().unwrap();
    secrets.insert("JWT_SECRET".into(), jwt::LOCAL_JWT_SECRET.into());
    secrets.insert(xtask::schedules::SECRET_VAR.into(), SECRET.into());
    secrets.extend(stub.env());
    let port = cluster::free_port().unwrap();
    let _gateway = xtask::gateway::start(&xtask::gateway::Options {
        port,
        db_url: db.url(),
        state_dir: state_dir.clone(),
        storage_dir: state_dir.join("storage"),
        secrets,
        exit_with_parent: true,
        signing_keys: xtask::keys::SigningKeys::generate().unwrap(),
    })
    .unwrap_or_else(|e| panic!("{e:#}"));
    xtask::schedules::store_vault_secret(
        &mut c,
        VAULT_PROJECT_URL,
        &format!("http://127.0.0.1:{port}"),
    )
    .unwrap();
    xtask::schedules::store_vault_secret(&mut c, VAULT_SCHEDULED_CALL_SECRET, SECRET).unwrap();
    let _worker = xtask::net_worker::NetWorker::start(&db.url()).unwrap();
    // A job that fails, to see pg_cron's own failures reach error_logs.
    c.batch_execute("select cron.schedule('test-fails', '* * * * *', 'select 1/0')")
        .unwrap();

    // The scheduled-call secret opens the scheduled entry points only.
    let r = invoke(
        port,
        "process-render-request",
        SECRET,
        &json!({"request_id": "00000000-0000-4000-8000-000000000000"}),
    );
    assert_eq!(
        (r.status, r.json()["code"].clone()),
        (403, json!("forbidden"))
    );
    let r = invoke(
        port,
        "generate-ai-insights",
        SECRET,
        &json!({"table": "leads"}),
    );
    assert_eq!(r.status, 401, "{}", String::from_utf8_lossy(&r.body));
    let r = invoke(
        port,
        "fetch-social-updates",
        SECRET,
        &json!({"account_id": "00000000-0000-4000-8000-000000000000"}),
    );
    assert_eq!(
        (r.status, r.json()["code"].clone()),
        (404, json!("not_found"))
    );

    // A client's render, queued while they are over their limit: not run, not charged.
    let client = token("client");
    let user = personas::id("client");
    let name = format!("{user}/cron-room.png");
    let auth = format!("Bearer {client}");
    let up = http(
        port,
        &format!("/storage/v1/object/renders/{name}"),
        &[("authorization", &auth), ("content-type", "image/png")],
        PNG,
    );
    assert_eq!(up.status, 200, "{}", String::from_utf8_lossy(&up.body));
    let id: String = c
        .query_one(
            "insert into public.render_requests (user_id, input_file_path, model) \
             values ($1::text::uuid, $2, 'gemini-2.5-flash-image') returning id::text",
            &[&user, &name],
        )
        .unwrap()
        .get(0);
    c.execute(
        "insert into public.render_parameters (request_id, style, lighting) \
         values ($1::text::uuid, 'Cron', 'morning')",
        &[&id],
    )
    .unwrap();
    c.execute(
        "insert into public.agent_limits (agent, scope, user_id, max_requests) \
         values ('render', 'user', $1::text::uuid, 0)",
        &[&user],
    )
    .unwrap();
    let r = invoke(
        port,
        "process-render-request",
        &client,
        &json!({"request_id": id}),
    );
    assert_eq!(
        (r.status, r.json()["status"].clone()),
        (202, json!("queued"))
    );
    assert_eq!(state(&mut c, &id), ("queued".into(), 0));

    // The limit is lifted; the job may run again in a few seconds. Nobody calls the drain.
    c.execute(
        "delete from public.agent_limits where user_id = $1::text::uuid",
        &[&user],
    )
    .unwrap();
    c.execute(
        "update public.render_requests set retry_at = now() + interval '3 seconds' \
          where id = $1::text::uuid",
        &[&id],
    )
    .unwrap();
    let calls_before = stub.calls(Api::Gemini).len();
    wait_for(
        "pg_cron's drain runs the job",
        Duration::from_secs(150),
        || state(&mut c, &id).0 == "succeeded",
    );
    assert_eq!(stub.calls(Api::Gemini).len(), calls_before + 1);

    // pg_cron ran the drain job; its call through pg_net was answered 200 and judged so.
    let ran: i64 = c
        .query_one(
            "select count(*) from cron.job_run_details d join cron.job j using (jobid) \
              where j.jobname = 'moha-drain-renders' and d.status = 'succeeded'",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(ran >= 1);
    wait_for(
        "the drain's answer is recorded",
        Duration::from_secs(30),
        || {
            c.batch_execute("select private.watch_schedules()").unwrap();
            c.query_one(
                "select count(*) from private.scheduled_calls \
              where job = 'moha-drain-renders' and status_code = 200",
                &[],
            )
            .unwrap()
            .get::<_, i64>(0)
                >= 1
        },
    );
    // The failing job's runs are in error_logs, as pg_cron saw them.
    let start = Instant::now();
    loop {
        c.batch_execute("select private.watch_schedules()").unwrap();
        let logged: i64 = c
            .query_one(
                "select count(*) from public.error_logs where service = 'schedule' \
                  and error_message like 'test-fails: %division by zero%'",
                &[],
            )
            .unwrap()
            .get(0);
        if logged >= 1 {
            break;
        }
        if start.elapsed() > Duration::from_secs(90) {
            let runs: Vec<String> = c
                .query(
                    "select format('%s %s %s %s', runid, jobid, status, return_message) \
                       from cron.job_run_details order by runid",
                    &[],
                )
                .unwrap()
                .iter()
                .map(|r| r.get(0))
                .collect();
            let logs: Vec<String> = c
                .query("select error_message from public.error_logs", &[])
                .unwrap()
                .iter()
                .map(|r| r.get(0))
                .collect();
            panic!("the failed run is not logged; runs {runs:#?}; logs {logs:#?}");
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    // No scheduled call failed.
    let failed: i64 = c
        .query_one(
            "select count(*) from private.scheduled_calls where failure is not null",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(failed, 0);
}
