//! Supabase Cron (issue 17): the model's jobs are exactly pg_cron's, scheduling is idempotent,
//! each job's command runs, and a scheduled call's failure reaches `error_logs`.
//!
//! The job list is read from the one database of the cluster where pg_cron lives
//! (`cron.database_name`, `TestCluster::cron_db`); the scheduler runs there for real.

use std::collections::BTreeSet;
use std::io::Write;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use moha_tests::{cluster, TestDb};
use postgres::error::SqlState;
use postgres::Client;
use sql::moha::operations::{self, VAULT_PROJECT_URL, VAULT_SCHEDULED_CALL_SECRET};
use sql::{render, Catalog, Change};

const SECRET: &str = "test-scheduled-call-secret-0123456789abcdef";

fn model_jobs() -> BTreeSet<(String, String, String)> {
    let catalog = Catalog::from_releases(&sql::moha::releases()).unwrap();
    catalog
        .jobs
        .iter()
        .map(|j| {
            (
                j.name.to_string(),
                j.schedule.to_string(),
                render::job_command(j).unwrap(),
            )
        })
        .collect()
}

fn cron_jobs(c: &mut Client) -> BTreeSet<(String, String, String)> {
    c.query(
        "select jobname::text, schedule, command from cron.job \
          where username = 'postgres' and active and database = current_database()",
        &[],
    )
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1), r.get(2)))
    .collect()
}

fn store_secrets(c: &mut Client, url: &str) {
    xtask::schedules::store_vault_secret(c, VAULT_PROJECT_URL, url).unwrap();
    xtask::schedules::store_vault_secret(c, VAULT_SCHEDULED_CALL_SECRET, SECRET).unwrap();
}

/// A loopback server answering every request with `status` (until the process exits).
fn answering(status: u16) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            // Read the whole request first: closing with bytes unread sends a TCP reset,
            // and the worker would log that instead of the status.
            let _ = xtask::http::read_request(&mut s, &mut Vec::new());
            let body = format!("{{\"code\":\"status_{status}\"}}");
            let _ = write!(
                s,
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < Duration::from_secs(30), "{what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn schedule_logs(c: &mut Client) -> Vec<(String, serde_json::Value)> {
    c.query(
        "select error_message, context from public.error_logs where service = 'schedule' order by id",
        &[],
    )
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect()
}

#[test]
fn cron_holds_exactly_the_models_jobs_scheduling_is_idempotent_and_each_command_runs() {
    let db = moha_tests::cron_db();
    let mut c = db.connect();
    let want = model_jobs();
    assert_eq!(
        want.iter().map(|j| j.0.as_str()).collect::<Vec<_>>().len(),
        sql::moha::scheduled_jobs().len()
    );
    assert_eq!(cron_jobs(&mut c), want);
    // Only the model's jobs, owned by postgres as hosted's migrations make them.
    let all: i64 = c
        .query_one("select count(*) from cron.job", &[])
        .unwrap()
        .get(0);
    assert_eq!(all as usize, want.len());

    // The release again changes nothing (cron.schedule by name is an upsert).
    let ids = |c: &mut Client| -> Vec<i64> {
        c.query("select jobid from cron.job order by jobid", &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    };
    let before = ids(&mut c);
    let release = sql::moha::releases()
        .into_iter()
        .find(|r| r.name == "schedules")
        .unwrap();
    c.batch_execute(&render::release(&release).unwrap())
        .unwrap();
    assert_eq!(ids(&mut c), before);
    assert_eq!(cron_jobs(&mut c), want);

    // A job removed from the model is unscheduled by a later release; unscheduling twice is a
    // no-op; scheduling it again brings it back.
    let unschedule = render::change(&Change::Unschedule(operations::PURGE)).unwrap();
    c.batch_execute(&unschedule).unwrap();
    c.batch_execute(&unschedule).unwrap();
    assert!(!cron_jobs(&mut c).iter().any(|j| j.0 == operations::PURGE));
    let purge = operations::jobs()
        .into_iter()
        .find(|j| j.name == operations::PURGE)
        .unwrap();
    c.batch_execute(&render::change(&Change::Schedule(purge)).unwrap())
        .unwrap();
    assert_eq!(cron_jobs(&mut c), want);

    // Each job's command runs as the scheduler runs it (as postgres). Calls go to a port where
    // nothing answers: queuing them is the job's part.
    store_secrets(&mut c, &answering(200));
    for (name, _, command) in &want {
        c.batch_execute(command)
            .unwrap_or_else(|e| panic!("job {name}: {command}: {e}"));
    }

    // A run pg_cron saw fail reaches error_logs once (the watch job may get there first).
    let runid: i64 = c
        .query_one(
            "insert into cron.job_run_details \
               (jobid, runid, status, return_message, start_time, end_time) \
             select jobid, 1000000, 'failed', 'ERROR:  boom', now(), now() from cron.job \
              where jobname = 'moha-purge' returning runid",
            &[],
        )
        .unwrap()
        .get(0);
    c.batch_execute("select private.watch_schedules(); select private.watch_schedules();")
        .unwrap();
    let logged: Vec<String> = c
        .query(
            "select error_message from public.error_logs               where service = 'schedule' and context ->> 'runid' = $1",
            &[&runid.to_string()],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(logged, ["moha-purge: ERROR:  boom"]);
}

#[test]
fn a_failed_scheduled_call_lands_in_error_logs_once() {
    let db: TestDb = cluster().migrated_db();
    let mut c = db.connect();

    // Without the Vault secrets a call fails with its own SQLSTATE and a hint.
    let err = c
        .batch_execute(
            "select private.call_edge_function('j', 'process-render-request', '{\"drain\": true}')",
        )
        .unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::NO_DATA_FOUND));

    store_secrets(&mut c, &answering(500));
    c.batch_execute(
        "select private.call_edge_function('moha-drain-renders', 'process-render-request', '{\"drain\": true}')",
    )
    .unwrap();
    // The queued request carries the narrow secret, never the service key.
    let auth: String = c
        .query_one(
            "select headers ->> 'Authorization' from net.http_request_queue",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(auth, format!("Bearer {SECRET}"));

    // pg_cron would count the job as succeeded: the request is only queued. The answer decides.
    let worker = xtask::net_worker::NetWorker::start(&db.url()).unwrap();
    wait_for("the worker records the answer", || {
        c.query_one("select count(*) from net._http_response", &[])
            .unwrap()
            .get::<_, i64>(0)
            == 1
    });
    let logged: i32 = c
        .query_one("select private.watch_schedules()", &[])
        .unwrap()
        .get(0);
    assert_eq!(logged, 1);
    let logs = schedule_logs(&mut c);
    assert_eq!(
        logs[0].0,
        "moha-drain-renders: process-render-request answered 500"
    );
    assert_eq!(logs[0].1["status"], 500);
    assert_eq!(logs[0].1["response"], "{\"code\":\"status_500\"}");
    // Judged once.
    let again: i32 = c
        .query_one("select private.watch_schedules()", &[])
        .unwrap()
        .get(0);
    assert_eq!(again, 0);

    // A URL off this machine is never sent: the worker answers with an error, which is logged.
    store_secrets(&mut c, "http://example.com");
    c.batch_execute(
        "select private.call_edge_function('moha-fetch-social', 'fetch-social-updates', '{}')",
    )
    .unwrap();
    wait_for("the worker refuses the request", || {
        c.query_one("select count(*) from net._http_response", &[])
            .unwrap()
            .get::<_, i64>(0)
            == 2
    });
    c.batch_execute("select private.watch_schedules()").unwrap();
    let logs = schedule_logs(&mut c);
    assert!(
        logs[1]
            .0
            .starts_with("moha-fetch-social: fetch-social-updates ")
            && logs[1].0.contains("127.0.0.1 only"),
        "{logs:?}"
    );
    drop(worker);

    // A call nobody answers is logged once its time is long past.
    c.batch_execute(
        "select private.call_edge_function('moha-drain-renders', 'process-render-request', '{}'); \
         update private.scheduled_calls set queued_at = now() - interval '16 minutes' \
          where judged_at is null",
    )
    .unwrap();
    c.batch_execute("select private.watch_schedules()").unwrap();
    let logs = schedule_logs(&mut c);
    assert_eq!(
        logs[2].0,
        "moha-drain-renders: process-render-request no answer within 15 minutes"
    );
}

#[test]
fn the_migration_leaves_jobs_out_where_pg_cron_cannot_live() {
    // Template copies are not the cron database: pg_cron is not there and nothing failed.
    let db = cluster().migrated_db();
    let mut c = db.connect();
    let has_cron: bool = c
        .query_one(
            "select exists (select from pg_extension where extname = 'pg_cron')",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(!has_cron);
    // Watch and purge still run there (they skip what pg_cron would hold).
    c.batch_execute("select private.watch_schedules(); select private.purge();")
        .unwrap();
}

#[test]
fn the_purge_deletes_what_expired_and_keeps_the_rest() {
    let db = cluster().migrated_db();
    let mut c = db.connect();
    moha_tests::personas::create(&mut c, false).unwrap();
    let user = moha_tests::personas::id("client");
    c.execute(
        "insert into public.ai_cache (prompt_hash, model, response, expires_at) values
           (repeat('a', 64), 'm', '{}', now() - interval '1 minute'),
           (repeat('b', 64), 'm', '{}', now() + interval '1 day'),
           (repeat('c', 64), 'm', '{}', null);
         ",
        &[],
    )
    .unwrap();
    c.execute(
        "insert into public.notifications (user_id, kind, title, read_at, created_at) values
           ($1::text::uuid, 'k', 'read long ago', now() - interval '31 days', now() - interval '40 days'),
           ($1::text::uuid, 'k', 'read lately', now() - interval '1 day', now() - interval '40 days'),
           ($1::text::uuid, 'k', 'unread', null, now() - interval '400 days')",
        &[&user],
    )
    .unwrap();
    c.execute(
        "insert into public.user_sessions (user_id, session_token, expires_at) values
           ($1::text::uuid, repeat('d', 64), now() - interval '1 minute'),
           ($1::text::uuid, repeat('e', 64), now() + interval '1 hour')",
        &[&user],
    )
    .unwrap();
    c.execute(
        "insert into public.agent_usage (agent, window_start) values
           ('render', now() - interval '401 days'), ('render', now() - interval '1 day')",
        &[],
    )
    .unwrap();
    let counts: serde_json::Value = c.query_one("select private.purge()", &[]).unwrap().get(0);
    let left = |c: &mut Client, sql: &str| -> Vec<String> {
        c.query(sql, &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    };
    assert_eq!(
        left(
            &mut c,
            "select coalesce(expires_at::text, 'never') from public.ai_cache order by prompt_hash"
        )
        .len(),
        2
    );
    assert_eq!(
        left(
            &mut c,
            "select title from public.notifications order by title"
        ),
        ["read lately", "unread"]
    );
    assert_eq!(
        left(
            &mut c,
            "select left(session_token, 1) from public.user_sessions"
        ),
        ["e"]
    );
    assert_eq!(
        left(
            &mut c,
            "select agent from public.agent_usage where window_start < now() - interval '400 days'"
        )
        .len(),
        0
    );
    assert_eq!(counts["user_sessions"], 1, "{counts}");
}
