//! P10: what one call of `public.backend_metrics()` costs on the benchmark data set (issue 21).
//!
//! One throwaway cluster; the data set lives in its `postgres` database, the one pg_cron serves,
//! so the scheduler's part is measured too (jobs inactive, 14 days of run history). 1M leads
//! over 50 Sales users (1% unassigned), 1M audit rows, 10M social messages over 20 accounts in
//! monthly partitions, and a studio's worth of the rest: 10k render jobs and results, 100k error
//! rows over 8 services, 400 days of agent usage. Timed as the `metrics_reader` role, as the
//! metrics function calls it: median and p95 of 50 calls after 5 to warm up.

use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};

use super::{median, percentile, Figure};
use crate::infra::cluster::{Throwaway, CRON_DATABASE, SUPERUSER};
use crate::infra::{db, paths};
use crate::{compat, migrate};

const LEADS: i64 = 1_000_000;
const AUDIT_ROWS: i64 = 1_000_000;
const MESSAGES: i64 = 10_000_000;
const CHUNK: i64 = 1_000_000;
const RUNS: usize = 50;

pub(super) fn p10_metrics() -> Result<(Vec<Figure>, String)> {
    eprintln!(
        "==> P10: backend_metrics() on {LEADS} leads, {AUDIT_ROWS} audit rows, {MESSAGES} social messages"
    );
    let t = Throwaway::start()?;
    let url = t.cluster.url("postgres", CRON_DATABASE);
    compat::install(&mut db::connect(&t.cluster.url(SUPERUSER, CRON_DATABASE))?)?;
    migrate::run_quietly(
        &url,
        &migrate::Options {
            dir: paths::migrations_dir(),
            dry_run: false,
            include_all: false,
            compat: false,
        },
    )?;
    let load_start = Instant::now();
    load(&t, &url)?;
    let load_took = load_start.elapsed();

    let mut c = db::connect(&url)?;
    c.batch_execute("set role metrics_reader")?;
    let call =
        c.prepare("select metric, labels::text, value::text from public.backend_metrics()")?;
    for _ in 0..5 {
        c.query(&call, &[])?;
    }
    let mut times = Vec::with_capacity(RUNS);
    let mut rows = 0;
    for _ in 0..RUNS {
        let start = Instant::now();
        rows = c.query(&call, &[])?.len();
        times.push(start.elapsed());
    }
    // The figures must be those of the data, or the timing means nothing.
    let mut sample = |metric: &str, labels: &str| -> Result<f64> {
        let row = c
            .query_opt(
                "select value::float8 from public.backend_metrics() where metric = $1 and labels::text = $2",
                &[&metric, &labels],
            )?
            .with_context(|| format!("no sample {metric} {labels}"))?;
        Ok(row.get(0))
    };
    ensure!(
        sample("moha_leads_unassigned", "{}")? == (LEADS / 100) as f64,
        "unassigned leads"
    );
    ensure!(sample("moha_cron_present", "{}")? == 1.0, "pg_cron");
    ensure!(
        sample(
            "moha_cron_job_consecutive_failures",
            r#"{"job": "moha-purge"}"#
        )? == 2.0,
        "cron failures"
    );
    let unread: f64 = c
        .query_one(
            "select sum(value)::float8 from public.backend_metrics() where metric = 'moha_social_unread_messages_last_day'",
            &[],
        )?
        .get(0);
    c.batch_execute("reset role")?;
    let expected_unread: i64 = c
        .query_one(
            "select count(*) from public.social_messages where status = 'unread' and received_at > now() - interval '1 day'",
            &[],
        )?
        .get(0);
    ensure!(
        (unread - expected_unread as f64).abs() < 50.0,
        "unread messages: {unread} vs {expected_unread}"
    );
    let plan = inner_plan(&mut c)?;

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    Ok((
        vec![
            Figure {
                id: "P10",
                what: format!(
                    "backend_metrics() as metrics_reader ({rows} samples) on {LEADS} leads, {AUDIT_ROWS} audit rows, {MESSAGES} social messages, 14 days of cron history, median of {RUNS}"
                ),
                value: format!(
                    "{:.2} ms (p95 {:.2} ms)",
                    ms(median(times.clone())),
                    ms(percentile(times, 0.95))
                ),
                target: "≤ 50 ms",
            },
            Figure {
                id: "P10",
                what: "load its data set (triggers off) and analyze".into(),
                value: format!("{:.0} s", load_took.as_secs_f64()),
                target: "—",
            },
        ],
        format!("P10 plan of backend_metrics()'s statement (EXPLAIN ANALYZE, as the owner):\n{plan}"),
    ))
}

/// The function's statement explained: its body between `return query` and the end, run as the
/// owner (the function is a definer).
fn inner_plan(c: &mut postgres::Client) -> Result<String> {
    let body = include_str!("../../../../sql/schema/src/moha/sql/backend_metrics.sql");
    let start = body
        .find("return query")
        .context("backend_metrics.sql has its return query")?
        + "return query".len();
    let end = body.rfind("end").context("and its end")?;
    let statement = body[start..end].trim().trim_end_matches(';');
    c.batch_execute("set search_path = pg_catalog, pg_temp")?;
    let lines: Vec<String> = c
        .query(
            &format!("explain (analyze, buffers, costs off, timing off, summary on) {statement}"),
            &[],
        )?
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect();
    c.batch_execute("reset search_path")?;
    Ok(lines.join("\n"))
}

fn load(t: &Throwaway, url: &str) -> Result<()> {
    let mut admin = db::connect(&t.cluster.url(SUPERUSER, CRON_DATABASE))?;
    // The scheduler stays out of the measurement; its history is written below.
    admin.batch_execute("update cron.job set active = false")?;
    let mut owner = db::connect(url)?;
    owner.batch_execute(
        "insert into auth.users (id, aud, role, email) \
         select gen_random_uuid(), 'authenticated', 'authenticated', 'sales' || i || '@bench.test' \
           from generate_series(1, 50) i; \
         update public.users set role_id = (select id from public.roles where name = 'Sales') \
          where email like 'sales%@bench.test'; \
         select public.create_social_messages_partitions(15, (current_date - interval '12 months')::date); \
         insert into public.social_accounts (platform, username) \
         select (array['instagram', 'tiktok'])[1 + i % 2]::public.social_platform, 'moha_' || i \
           from generate_series(1, 20) i; \
         insert into public.agent_limits (agent, scope, max_requests, max_tokens) values \
           ('render', 'global', 1000, null), ('insights', 'global', 200, 2000000), \
           ('leads', 'user', 100, null), ('social', 'global', 500, null);",
    )?;
    admin.batch_execute(&format!(
        "set session_replication_role = replica;
         create temp table sales as
           select row_number() over (order by id) - 1 as n, id from public.users where email like 'sales%@bench.test';
         insert into public.leads (client_name, source, assigned_to, status, created_at)
         select 'lead ' || i, (enum_range(null::public.lead_source))[1 + i % 8],
                case when i % 100 = 0 then null else s.id end,
                (enum_range(null::public.lead_status))[1 + (i / 50) % 6],
                now() - (i || ' seconds')::interval
           from generate_series(0, {LEADS} - 1) i join sales s on s.n = i % 50;
         insert into public.audit_logs (table_name, record_id, action, performed_by, actor_kind, actor_role, \"timestamp\", new_values)
         select 'public.leads', i::text, 'insert', null, 'system', 'postgres',
                now() - (i || ' seconds')::interval, jsonb_build_object('n', i)
           from generate_series(1, {AUDIT_ROWS}) i;
         insert into public.render_requests (user_id, input_file_path, status, created_at, completed_at, attempts)
         select s.id, s.id || '/in.png',
                case when i <= 5 then 'queued' when i <= 8 then 'processing' when i % 20 = 0 then 'failed'
                     else 'succeeded' end::public.render_status,
                now() - (i * 259) * interval '1 second',
                case when i > 8 then now() - (i * 259 - 60) * interval '1 second' end, 1
           from generate_series(1, 10000) i join sales s on s.n = i % 50;
         insert into public.render_results (request_id, output_file_path, model_used, is_fallback, created_at)
         select r.id, 'renders/' || r.id || '/output.png', 'gemini', random() < 0.1, r.completed_at
           from public.render_requests r where r.status = 'succeeded';
         insert into public.error_logs (service, error_message, created_at)
         select (array['process-render-request', 'fetch-social-updates', 'generate-ai-insights', 'assign-leads',
                       'mcp', 'schedule', 'metrics', 'storage'])[1 + i % 8],
                'failure ' || i, now() - (i * 26) * interval '1 second'
           from generate_series(1, 100000) i;
         insert into public.agent_usage (agent, user_id, window_start, request_count, tokens, cost)
         select a.agent, null, date_trunc('day', now() - d * interval '1 day', 'UTC'), 300, 400000, 2.5
           from unnest(array['render', 'insights', 'social']) a(agent), generate_series(0, 399) d;
         insert into public.agent_usage (agent, user_id, window_start, request_count, tokens, cost)
         select 'leads', s.id, date_trunc('day', now() - d * interval '1 day', 'UTC'), 40, 20000, 0.1
           from sales s, generate_series(0, 399) d;
         insert into cron.job_run_details (jobid, runid, job_pid, database, username, command, status, return_message, start_time, end_time)
         select j.jobid, nextval('cron.runid_seq'), 1, 'postgres', 'postgres', j.command,
                case when j.jobname = 'moha-purge' and r.n <= 2 then 'failed' else 'succeeded' end, '',
                r.at, r.at + interval '1 second'
           from cron.job j
           cross join lateral (
             select row_number() over (order by g desc) as n, g as at
               from generate_series(now() - interval '14 days', now(),
                      case when j.schedule like '*/5%' then interval '5 minutes'
                           when j.schedule like '* %' then interval '1 minute'
                           else interval '1 day' end) g) r
          order by r.at;
         reset session_replication_role;"
    ))?;
    // 10M messages in chunks, as P7 loads them (5% unread).
    admin.batch_execute("set session_replication_role = replica")?;
    let mut loaded = 0;
    while loaded < MESSAGES {
        let n = CHUNK.min(MESSAGES - loaded);
        admin.execute(
            "with a as (select array_agg(id order by username) ids from public.social_accounts) \
             insert into public.social_messages \
               (account_id, message_type, content, sender_id, external_id, received_at, status) \
             select a.ids[1 + (i % 20)], \
                    (array['direct_message', 'comment', 'mention', 'reply'])[1 + i % 4]::public.message_type, \
                    'Hello, do you design kitchens? message ' || i, 'sender_' || (i % 50000), 'ext_' || i, \
                    now() - make_interval(secs => (i::float8 / $2::float8) * 365 * 86400), \
                    case when random() < 0.05 then 'unread' else 'read' end::public.message_status \
               from a, generate_series($1::bigint + 1, $1::bigint + $3::bigint) i",
            &[&loaded, &(MESSAGES as f64), &n],
        )?;
        loaded += n;
        eprintln!("    {loaded} messages");
    }
    admin.batch_execute(
        "reset session_replication_role;
         analyze public.leads; analyze public.audit_logs; analyze public.social_messages;
         analyze public.render_requests; analyze public.render_results; analyze public.error_logs;
         analyze public.agent_usage; analyze cron.job_run_details; analyze public.users;",
    )?;
    Ok(())
}
