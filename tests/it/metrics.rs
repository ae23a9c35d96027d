//! `public.backend_metrics()` (issue 21): the business and health metrics of a known state of the
//! backend (`moha_tests::observability`), who may call it, and the same figures as the inspect
//! reports.

use std::collections::BTreeMap;

use moha_tests::{cluster, observability};
use postgres::error::SqlState;
use postgres::Client;
use sql::moha::observability::{Source, METRICS, METRICS_READER};

/// (metric, labels as `k=v,...` sorted) → value
type Samples = BTreeMap<(String, String), f64>;

fn samples(c: &mut Client) -> Samples {
    c.query(
        "select metric, labels::text, value::float8 from public.backend_metrics()",
        &[],
    )
    .unwrap()
    .iter()
    .map(|r| {
        let labels: serde_json::Value = serde_json::from_str(r.get::<_, &str>(1)).unwrap();
        let labels = labels
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap()))
            .collect::<Vec<_>>()
            .join(",");
        ((r.get::<_, String>(0), labels), r.get::<_, f64>(2))
    })
    .collect()
}

fn get(s: &Samples, metric: &str, labels: &str) -> f64 {
    *s.get(&(metric.to_string(), labels.to_string()))
        .unwrap_or_else(|| panic!("no sample {metric}{{{labels}}} in {s:#?}"))
}

#[test]
fn the_metrics_of_a_known_state() {
    let db = cluster().migrated_db();
    let mut c = db.connect();
    observability::create(&mut c).unwrap();
    let s = samples(&mut c);

    assert_eq!(get(&s, "moha_render_jobs", "status=queued"), 2.0);
    assert_eq!(get(&s, "moha_render_jobs", "status=pending"), 0.0);
    assert_eq!(get(&s, "moha_render_jobs", "status=processing"), 1.0);
    let stuck = get(&s, "moha_render_jobs_oldest_age_seconds", "status=queued");
    assert!(
        (observability::STUCK_QUEUED_AGE_MIN_SECONDS
            ..observability::STUCK_QUEUED_AGE_MIN_SECONDS + 60.0)
            .contains(&stuck),
        "{stuck}"
    );
    assert_eq!(
        get(&s, "moha_render_jobs_oldest_age_seconds", "status=pending"),
        0.0
    );
    assert_eq!(
        get(&s, "moha_render_results_last_hour", "fallback=true"),
        2.0
    );
    assert_eq!(
        get(&s, "moha_render_results_last_hour", "fallback=false"),
        1.0
    );

    assert_eq!(
        get(&s, "moha_ai_requests_today", "agent=render"),
        observability::RENDER_CALLS as f64
    );
    assert_eq!(
        get(&s, "moha_ai_tokens_today", "agent=render"),
        observability::RENDER_TOKENS as f64
    );
    assert_eq!(get(&s, "moha_ai_cost_usd_today", "agent=render"), 0.25);
    assert_eq!(
        get(&s, "moha_ai_requests_today", "agent=insights"),
        observability::INSIGHTS_CALLS as f64
    );
    assert_eq!(get(&s, "moha_ai_cost_usd_today", "agent=insights"), 0.1);
    assert_eq!(
        get(
            &s,
            "moha_ai_limit_used_ratio",
            "agent=render,limit=requests,scope=global"
        ),
        0.9
    );
    assert_eq!(
        get(
            &s,
            "moha_ai_limit_used_ratio",
            "agent=render,limit=tokens,scope=global"
        ),
        0.5
    );
    assert_eq!(
        get(
            &s,
            "moha_ai_limit_used_ratio",
            "agent=insights,limit=requests,scope=user"
        ),
        0.8
    );
    // insights has no token limit: no series for one.
    assert!(!s.contains_key(&(
        "moha_ai_limit_used_ratio".into(),
        "agent=insights,limit=tokens,scope=user".into()
    )));

    assert_eq!(get(&s, "moha_errors_recent", "service=assign-leads"), 3.0);
    assert_eq!(
        get(&s, "moha_errors_recent", "service=process-render-request"),
        0.0
    );
    // No pg_cron in a test database: said by a metric, and no job series.
    assert_eq!(get(&s, "moha_cron_present", ""), 0.0);
    assert!(!s.keys().any(|(m, _)| m.starts_with("moha_cron_job")));

    assert_eq!(get(&s, "moha_leads_unassigned", ""), 1.0);
    let oldest = get(&s, "moha_leads_unassigned_oldest_age_seconds", "");
    assert!(
        (2.0 * 3600.0..2.0 * 3600.0 + 60.0).contains(&oldest),
        "{oldest}"
    );

    // The names are the catalog's (the function-side one aside), and nothing else.
    for (m, _) in s.keys() {
        let def = METRICS
            .iter()
            .find(|d| d.name == m)
            .unwrap_or_else(|| panic!("{m} is not in sql::moha::observability::METRICS"));
        assert_eq!(def.source, Source::Database, "{m}");
    }
}

#[test]
fn unread_messages_and_partitions_ahead() {
    let db = cluster().migrated_db();
    let mut c = db.connect();
    let ahead_before = get(
        &samples(&mut c),
        "moha_social_messages_partitions_ahead",
        "",
    );
    c.batch_execute(
        "insert into public.social_accounts (id, platform, username) values
           ('21000000-0000-4000-a000-0000000000b1', 'instagram', 'moha_ig'),
           ('21000000-0000-4000-a000-0000000000b2', 'tiktok', 'moha_tt');
         insert into public.social_messages (account_id, message_type, content, received_at, status) values
           ('21000000-0000-4000-a000-0000000000b1', 'comment', 'new', now() - interval '1 hour', 'unread'),
           ('21000000-0000-4000-a000-0000000000b1', 'comment', 'read', now() - interval '1 hour', 'read'),
           ('21000000-0000-4000-a000-0000000000b1', 'comment', 'old', now() - interval '2 days', 'unread'),
           ('21000000-0000-4000-a000-0000000000b2', 'direct_message', 'hi', now() - interval '5 minutes', 'unread');
         create table private.inbox_far_future partition of public.social_messages
           for values from ('2031-01-01 00:00:00+00') to ('2031-02-01 00:00:00+00');",
    )
    .unwrap();
    let s = samples(&mut c);
    assert_eq!(
        get(
            &s,
            "moha_social_unread_messages_last_day",
            "platform=instagram"
        ),
        1.0
    );
    assert_eq!(
        get(
            &s,
            "moha_social_unread_messages_last_day",
            "platform=tiktok"
        ),
        1.0
    );
    assert_eq!(
        get(&s, "moha_social_messages_partitions_ahead", ""),
        ahead_before + 1.0
    );
    // The same count as the inspect report's.
    let r = xtask::inspect::project_reports(&db.url(), &["partitions".into()]).unwrap();
    let ahead = r[0]
        .column("ahead")
        .iter()
        .filter(|v| v.as_bool() == Some(true))
        .count();
    assert_eq!(ahead as f64, ahead_before + 1.0);
}

/// The inspect reports and the metrics count AI usage the same way.
#[test]
fn ai_usage_agrees_with_the_inspect_report() {
    let db = cluster().migrated_db();
    let mut c = db.connect();
    observability::create(&mut c).unwrap();
    // A user-scoped limit for render too, and a second user's call: still one count per call.
    c.batch_execute(&format!(
        "insert into public.agent_limits (agent, scope, max_requests) values ('render', 'user', 100);
         select public.increment_agent_counter('render', '{}', null);",
        moha_tests::personas::id("designer")
    ))
    .unwrap();
    let s = samples(&mut c);
    let reports = xtask::inspect::project_reports(&db.url(), &["ai-usage".into()]).unwrap();
    for agent in ["render", "insights"] {
        let row = reports[0].row(agent).unwrap();
        assert_eq!(
            row["requests"].as_f64().unwrap(),
            get(&s, "moha_ai_requests_today", &format!("agent={agent}")),
            "{agent}"
        );
        assert_eq!(
            row["usd"].as_f64().unwrap(),
            get(&s, "moha_ai_cost_usd_today", &format!("agent={agent}")),
            "{agent}"
        );
    }
    assert_eq!(get(&s, "moha_ai_requests_today", "agent=render"), 10.0);
    // The user scope's default row: the user who used the most in its window (the designer's
    // 1 of 100; the client's calls came before the limit and count in the global row only).
    assert_eq!(
        get(
            &s,
            "moha_ai_limit_used_ratio",
            "agent=render,limit=requests,scope=user"
        ),
        0.01
    );
    assert_eq!(
        get(
            &s,
            "moha_ai_limit_used_ratio",
            "agent=render,limit=requests,scope=global"
        ),
        1.0
    );
}

/// The service role (dashboards) and the metrics role (the metrics function) may call it;
/// nobody else, whatever their token says.
#[test]
fn only_the_service_role_and_the_metrics_role_may_call_it() {
    let db = cluster().migrated_db();
    let mut c = db.connect();
    let call = |c: &mut Client, role: &str| -> Result<u64, postgres::Error> {
        let mut tx = c.transaction().unwrap();
        tx.execute("select set_config('role', $1, true)", &[&role])
            .unwrap();
        let n = tx.query("select * from public.backend_metrics()", &[]);
        n.map(|rows| rows.len() as u64)
    };
    for role in ["service_role", METRICS_READER] {
        assert!(call(&mut c, role).unwrap() > 0, "{role}");
    }
    for role in [
        "anon",
        "authenticated",
        "moha_admin",
        "moha_sales",
        "ai_agent",
        "moha_agent",
    ] {
        let err = call(&mut c, role).expect_err(role);
        assert_eq!(
            err.code(),
            Some(&SqlState::INSUFFICIENT_PRIVILEGE),
            "{role}: {err}"
        );
    }
    // The metrics role reads nothing else: not a table, not the private part.
    for sql in [
        "select count(*) from public.leads",
        "select count(*) from public.error_logs",
        "select * from private.cron_metrics()",
        "select public.increment_agent_counter('render', null, null)",
    ] {
        let mut tx = c.transaction().unwrap();
        tx.execute("select set_config('role', $1, true)", &[&METRICS_READER])
            .unwrap();
        let err = tx.query(sql, &[]).expect_err(sql);
        assert_eq!(
            err.code(),
            Some(&SqlState::INSUFFICIENT_PRIVILEGE),
            "{sql}: {err}"
        );
    }
}

/// Where pg_cron is: the scheduler is present, each job has its series, and two failed runs in
/// a row (after a success) read 2.
#[test]
fn cron_jobs_where_the_scheduler_is() {
    let db = moha_tests::cron_db();
    db.connect_admin()
        .batch_execute(
            "update cron.job set active = false where jobname <> 'moha-purge';
             insert into cron.job_run_details (jobid, runid, job_pid, database, username, command, status, return_message, start_time, end_time)
             select j.jobid, nextval('cron.runid_seq'), 1, 'postgres', 'postgres', j.command, s.status, '',
                    '2030-01-01'::timestamptz + s.at, '2030-01-01'::timestamptz + s.at + interval '1 second'
               from cron.job j,
                    (values ('failed', interval '0 days'), ('succeeded', interval '1 day'),
                            ('failed', interval '2 days'), ('failed', interval '3 days')) s(status, at)
              where j.jobname = 'moha-purge'
              order by s.at;",
        )
        .unwrap();
    let s = samples(&mut db.connect());
    assert_eq!(get(&s, "moha_cron_present", ""), 1.0);
    assert_eq!(
        get(&s, "moha_cron_job_consecutive_failures", "job=moha-purge"),
        2.0
    );
    assert_eq!(get(&s, "moha_cron_job_active", "job=moha-purge"), 1.0);
    assert_eq!(get(&s, "moha_cron_job_active", "job=moha-watch"), 0.0);
    assert_eq!(
        get(
            &s,
            "moha_cron_job_last_run_timestamp_seconds",
            "job=moha-purge"
        ),
        1_893_715_200.0
    );
    for job in sql::moha::operations::jobs() {
        get(&s, "moha_cron_job_active", &format!("job={}", job.name));
    }
}

/// The `metrics` edge function through the local gateway: Prometheus text behind its bearer
/// secret, lint-clean for promtool, and nothing for any other credential.
mod function {
    use moha_tests::gateway::{self, fixture, http};
    use moha_tests::{observability, prometheus};

    fn scrape(auth: Option<&str>) -> gateway::Reply {
        let mut headers = Vec::new();
        if let Some(a) = auth {
            headers.push(("authorization", a));
        }
        http("GET", "/functions/v1/metrics", &headers, b"")
    }

    #[test]
    fn serves_prometheus_text_behind_its_secret() {
        let _turn = gateway::turn();
        observability::create_state(&mut fixture().db.connect()).unwrap();
        let r = scrape(Some(&format!("Bearer {}", observability::METRICS_SECRET)));
        assert_eq!(r.status, 200, "{}", r.text());
        assert!(
            r.head
                .contains("content-type: text/plain; version=0.0.4; charset=utf-8"),
            "{}",
            r.head
        );
        let page = r.text();
        assert!(
            page.contains("\nmoha_render_jobs{status=\"queued\"} 2\n"),
            "{page}"
        );
        assert!(
            page.contains("\nmoha_ai_limit_used_ratio{agent=\"render\",scope=\"global\",limit=\"requests\"} 0.9\n"),
            "{page}"
        );
        assert!(
            page.contains("\nmoha_errors_recent{service=\"assign-leads\"} 3\n"),
            "{page}"
        );
        for m in sql::moha::observability::METRICS {
            assert!(page.contains(&format!("# HELP {} ", m.name)), "{}", m.name);
            assert!(
                page.contains(&format!("# TYPE {} gauge\n", m.name)),
                "{}",
                m.name
            );
        }
        let took: f64 = page
            .lines()
            .find_map(|l| l.strip_prefix("moha_metrics_collect_duration_seconds "))
            .unwrap()
            .parse()
            .unwrap();
        assert!((0.0..5.0).contains(&took), "{took}");
        // promtool's lint: HELP and TYPE present, names and units as Prometheus names them.
        let (ok, out) = prometheus::promtool(&["check", "metrics"], Some(&page));
        assert!(ok, "promtool check metrics:\n{out}\n{page}");
    }

    #[test]
    fn any_other_credential_is_refused() {
        let _turn = gateway::turn();
        let service_jwt = gateway::service_key();
        let user = gateway::token("admin");
        for auth in [
            None,
            Some(format!("Bearer {}", gateway::secret_key())),
            Some(format!("Bearer {service_jwt}")),
            Some(format!("Bearer {user}")),
            Some(format!("Bearer {}x", observability::METRICS_SECRET)),
            Some(format!("Basic {}", observability::METRICS_SECRET)),
        ] {
            let r = scrape(auth.as_deref());
            assert_eq!(r.status, 401, "{auth:?}: {}", r.text());
            assert_eq!(r.json()["code"], "unauthorized");
            assert!(
                r.head
                    .contains("www-authenticate: bearer realm=\"metrics\""),
                "{}",
                r.head
            );
        }
        // The secret key as an apikey is not the metrics secret either.
        let r = http(
            "GET",
            "/functions/v1/metrics",
            &[("apikey", gateway::secret_key())],
            b"",
        );
        assert_eq!(r.status, 401);
        let r = http(
            "POST",
            "/functions/v1/metrics",
            &[(
                "authorization",
                &format!("Bearer {}", observability::METRICS_SECRET),
            )],
            b"{}",
        );
        assert_eq!(r.status, 405);
    }
}
