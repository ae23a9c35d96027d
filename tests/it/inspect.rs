//! `cargo xtask inspect` (issue 21): the Supabase CLI's `inspect db` reports run through the
//! wrapper with `--db-url` on a cluster laid out like hosted (pg_stat_statements preloaded, in
//! schema `extensions`), and the project's own reports show a known state of the backend
//! (`moha_tests::observability`) as tables and JSON.

use std::process::Command;

use moha_tests::support;
use moha_tests::{cluster, observability};
use serde_json::Value;
use xtask::inspect::{self, Report};

fn cli(args: &[&str]) -> Command {
    support::xtask_cli(env!("CARGO_BIN_EXE_xtask-cli"), args)
}

/// (success, stdout, stderr)
fn run(cmd: &mut Command) -> (bool, String, String) {
    let r = support::run(cmd);
    (r.ok, r.stdout, r.stderr)
}

fn by_name<'a>(reports: &'a [Report], name: &str) -> &'a Report {
    reports
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("no report {name}"))
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("{v} is not a number"))
}

#[test]
fn pg_stat_statements_is_preloaded_in_schema_extensions_as_on_hosted() {
    let db = cluster().migrated_db();
    let mut c = db.connect();
    let preload: String = c
        .query_one("show shared_preload_libraries", &[])
        .unwrap()
        .get(0);
    assert!(preload.contains("pg_stat_statements"), "{preload}");
    let schema: String = c
        .query_one(
            "select extnamespace::regnamespace::text from pg_extension where extname = 'pg_stat_statements'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(schema, "extensions");
    // postgres reads every role's statements (pg_read_all_stats through pg_monitor), as on hosted.
    let seen: i64 = c
        .query_one(
            "select count(*) from extensions.pg_stat_statements where query like '%shared_preload%'",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(seen >= 1);
}

/// The CLI's own queries, unchanged: outliers and db-stats read pg_stat_statements (they failed
/// with `relation "extensions.pg_stat_statements" does not exist` before the compat layer
/// created it).
#[test]
fn the_supabase_cli_inspect_db_reports_run_through_the_wrapper() {
    let db = cluster().migrated_db();
    // The slowest statement of the cluster, so the outliers report (top 10 by time) shows it.
    db.connect()
        .batch_execute("select pg_sleep(1), count(*) from public.leads")
        .unwrap();
    for report in ["outliers", "calls", "db-stats", "table-stats", "locks"] {
        let out = inspect::cli_inspect(&db.url(), report, true)
            .unwrap_or_else(|e| panic!("{report}: {e:#}"));
        let json: Value = serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("{report} printed no JSON ({e}): {out}"));
        assert!(json["rows"].is_array(), "{report}: {json}");
    }
    let outliers: Value =
        serde_json::from_str(&inspect::cli_inspect(&db.url(), "outliers", true).unwrap()).unwrap();
    assert!(
        outliers["rows"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r.to_string().contains("public.leads")),
        "{outliers}"
    );
    // Through the command line, as a table.
    let (ok, stdout, stderr) = run(&mut cli(&[
        "inspect",
        "db",
        "table-stats",
        "--db-url",
        &db.url(),
    ]));
    assert!(ok, "{stderr}");
    assert!(stdout.contains("public.leads"), "{stdout}");
    // A report the CLI does not have fails, with the CLI's reason and the exit status.
    let (ok, _, stderr) = run(&mut cli(&[
        "inspect",
        "db",
        "no-such-report",
        "--db-url",
        &db.url(),
    ]));
    assert!(!ok);
    assert!(
        stderr.contains("supabase inspect db no-such-report failed"),
        "{stderr}"
    );
}

#[test]
fn project_reports_show_the_state_of_the_backend() {
    let db = cluster().migrated_db();
    observability::create(&mut db.connect()).unwrap();
    let reports = inspect::project_reports(&db.url(), &[]).unwrap();
    let names: Vec<&str> = reports.iter().map(|r| r.name).collect();
    assert_eq!(names, inspect::REPORTS);

    let queue = by_name(&reports, "render-queue");
    let queued = queue.row("queued").unwrap();
    assert_eq!(queued["jobs"], 2);
    assert_eq!(queued["due_now"], 2);
    assert!(f(&queued["oldest_age_seconds"]) >= observability::STUCK_QUEUED_AGE_MIN_SECONDS);
    assert_eq!(queue.row("processing").unwrap()["jobs"], 1);
    assert_eq!(queue.row("succeeded").unwrap()["jobs"], 0);
    assert!(queue.row("succeeded").unwrap()["oldest_age_seconds"].is_null());

    let usage = by_name(&reports, "ai-usage");
    let render = usage.row("render").unwrap();
    assert_eq!(render["requests"], observability::RENDER_CALLS);
    assert_eq!(render["tokens"], observability::RENDER_TOKENS);
    assert!((f(&render["usd"]) - 0.25).abs() < 1e-9);
    assert!((f(&render["highest_limit_used"]) - 0.9).abs() < 1e-9);
    let insights = usage.row("insights").unwrap();
    assert_eq!(insights["requests"], observability::INSIGHTS_CALLS);
    assert!((f(&insights["highest_limit_used"]) - 0.8).abs() < 1e-9);

    let limits = by_name(&reports, "ai-limits");
    let render = limits.row("render").unwrap();
    assert_eq!(
        (
            &render["scope"],
            &render["max_requests"],
            &render["requests"]
        ),
        (&Value::from("global"), &Value::from(10), &Value::from(9))
    );
    assert!((f(&render["tokens_used"]) - 0.5).abs() < 1e-9);

    let fallback = by_name(&reports, "fallback").row("last hour").unwrap();
    assert_eq!(
        (&fallback["results"], &fallback["fallbacks"]),
        (&3.into(), &2.into())
    );
    assert!((f(&fallback["rate"]) - 2.0 / 3.0).abs() < 1e-9);

    let errors = by_name(&reports, "errors");
    let leads = errors.row("assign-leads").unwrap();
    assert_eq!(
        (&leads["last_5m"], &leads["last_24h"]),
        (&3.into(), &3.into())
    );
    let render = errors.row("process-render-request").unwrap();
    assert_eq!(
        (&render["last_5m"], &render["last_24h"]),
        (&0.into(), &1.into())
    );

    // No pg_cron in a test database (it lives in cron.database_name's only): said, not hidden.
    let cron = by_name(&reports, "cron");
    assert!(cron.rows.is_empty());
    assert_eq!(
        cron.notes,
        ["no scheduler: pg_cron is not installed in this database"]
    );

    let leads = by_name(&reports, "leads");
    let all = leads.row("all").unwrap();
    assert_eq!(
        (&all["created_30d"], &all["unassigned"]),
        (&3.into(), &1.into())
    );
    // Time to assign: 3 h (assigned when inserted) and 1 h (assigned now), from the audit trail.
    assert!((f(&all["median_to_assign_seconds"]) - 2.0 * 3600.0).abs() < 5.0);
    assert!((f(&leads.row("referral").unwrap()["median_to_assign_seconds"]) - 3600.0).abs() < 5.0);
    assert!(leads.row("website").unwrap()["median_to_assign_seconds"].is_null());
    assert!(
        leads.notes[0].starts_with("1 lead(s) unassigned in all"),
        "{:?}",
        leads.notes
    );
}

#[test]
fn partitions_ahead_are_counted_from_the_bounds() {
    let db = cluster().migrated_db();
    let mut c = db.connect();
    let ahead = || -> usize {
        let r = inspect::project_reports(&db.url(), &["partitions".into()]).unwrap();
        r[0].column("ahead")
            .iter()
            .filter(|v| v.as_bool() == Some(true))
            .count()
    };
    let before = ahead();
    // A month far ahead, named unlike the job's partitions: the bounds count, not the name.
    c.batch_execute(
        "create table private.inbox_far_future partition of public.social_messages
           for values from ('2031-01-01 00:00:00+00') to ('2031-02-01 00:00:00+00')",
    )
    .unwrap();
    assert_eq!(ahead(), before + 1);
    let r = inspect::project_reports(&db.url(), &["partitions".into()]).unwrap();
    let far = r[0].row("private.inbox_far_future").unwrap();
    assert_eq!(far["from"], "2031-01-01T00:00:00Z");
    assert!(
        r[0].notes[0].contains("0 row(s) in the default partition"),
        "{:?}",
        r[0].notes
    );
}

/// Where pg_cron is (the cron database), the jobs the migrations scheduled are listed with their
/// last runs and how many of them failed in a row.
#[test]
fn cron_jobs_and_their_last_runs_where_the_scheduler_is() {
    let db = moha_tests::cron_db();
    let mut admin = db.connect_admin();
    // The scheduler stays out of the way of the runs written here.
    admin
        .batch_execute(
            "update cron.job set active = false;
             insert into cron.job_run_details (jobid, runid, job_pid, database, username, command, status, return_message, start_time, end_time)
             select j.jobid, nextval('cron.runid_seq'), 1, 'postgres', 'postgres', j.command, s.status, s.message,
                    now() - s.ago, now() - s.ago + interval '2 seconds'
               from cron.job j,
                    (values ('succeeded', 'ok', interval '3 days'), ('failed', 'boom 1', interval '2 days'),
                            ('failed', 'boom 2', interval '1 day')) s(status, message, ago)
              where j.jobname = 'moha-purge'
              order by s.ago desc;",
        )
        .unwrap();
    let reports = inspect::project_reports(&db.url(), &["cron".into()]).unwrap();
    let cron = &reports[0];
    let purge = cron.row("moha-purge").unwrap();
    assert_eq!(purge["consecutive_failures"], 2);
    assert_eq!(purge["last_status"], "failed");
    assert_eq!(purge["last_message"], "boom 2");
    assert_eq!(purge["active"], false);
    assert!((f(&purge["last_duration_seconds"]) - 2.0).abs() < 1e-6);
    let names: Vec<&str> = cron
        .column("job")
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for job in sql::moha::operations::jobs() {
        assert!(
            names.contains(&job.name),
            "{} not listed: {names:?}",
            job.name
        );
    }
}

/// Through the command line on an environment of supabase/environments.toml: readable tables,
/// and JSON with every report.
#[test]
fn the_command_reads_an_environment_and_prints_tables_or_json() {
    let db = cluster().migrated_db();
    observability::create(&mut db.connect()).unwrap();
    let (ok, stdout, stderr) =
        run(cli(&["inspect", "--env", "dev", "--json"]).env("DEV_DB_URL", db.url()));
    assert!(ok, "{stderr}");
    let json: Value = serde_json::from_str(&stdout).unwrap();
    let names: Vec<&str> = json["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, inspect::REPORTS);
    let queue = &json["reports"][0];
    assert_eq!(queue["columns"][2]["unit"], "seconds");
    assert_eq!(queue["rows"][0]["status"], "queued");

    let (ok, stdout, stderr) = run(cli(&["inspect", "--env", "dev"]).env("DEV_DB_URL", db.url()));
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("Render queue by status (render-queue)"),
        "{stdout}"
    );
    assert!(stdout.contains("no scheduler"), "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("queued") && l.contains("20 min")),
        "{stdout}"
    );

    // The environment's variable unset: refused, naming it.
    let (ok, _, stderr) = run(&mut cli(&["inspect", "--env", "dev"]));
    assert!(!ok);
    assert!(stderr.contains("DEV_DB_URL is not set"), "{stderr}");
    let (ok, _, stderr) = run(&mut cli(&[
        "inspect",
        "--only",
        "nope",
        "--db-url",
        &db.url(),
    ]));
    assert!(!ok);
    assert!(stderr.contains("unknown report nope"), "{stderr}");
}

/// `--html FILE`: one self-contained page whose four charts of the database's history draw in
/// headless Chromium, bar for bar, with nothing fetched from anywhere.
#[test]
fn the_html_page_draws_its_charts_in_chromium() {
    let db = cluster().migrated_db();
    let mut c = db.connect();
    observability::create(&mut c).unwrap();
    let client = moha_tests::personas::id("client");
    c.batch_execute(&format!(
        "insert into public.agent_usage (agent, user_id, window_start, request_count, tokens, cost)
         select 'render', null, date_trunc('day', now(), 'UTC') - d * interval '1 day', 10 + d, 1000, 0.5
           from generate_series(1, 5) d;
         update public.render_requests set status = 'succeeded', completed_at = now() - interval '2 days'
          where id = '21000000-0000-4000-a000-000000000003';
         insert into public.render_requests (user_id, input_file_path, status, created_at, completed_at) values
           ('{client}', '{client}/in.png', 'failed', now() - interval '4 days', now() - interval '3 days'),
           ('{client}', '{client}/in.png', 'succeeded', now() - interval '4 days', now() - interval '3 days');
         insert into public.leads (client_name, source, created_at)
         select 'old lead ' || i, 'walk_in', now() - interval '4 days' from generate_series(1, 3) i;"
    ))
    .unwrap();
    let charts = inspect::html::history(&db.url()).unwrap();
    let ids: Vec<&str> = charts.iter().map(|c| c.id).collect();
    assert_eq!(ids, ["ai-calls", "ai-spend", "renders", "leads"]);
    let renders = &charts[2];
    let names: Vec<&str> = renders.series.iter().map(|(n, _)| n.as_str()).collect();
    // The job with cached results counts as a fallback; the plain success as succeeded.
    assert_eq!(names, ["failed", "fallback", "succeeded"]);
    assert_eq!(
        charts[0].series.iter().find(|s| s.0 == "render").unwrap().1[29],
        9.0
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.html");
    let (ok, _, stderr) = run(&mut cli(&[
        "inspect",
        "--html",
        file.to_str().unwrap(),
        "--db-url",
        &db.url(),
    ]));
    assert!(ok, "{stderr}");
    let page = std::fs::read_to_string(&file).unwrap();
    assert!(
        !page.contains(":postgres@"),
        "the page names the database, never its password"
    );

    let seen = inspect::html::check(&file).unwrap();
    assert_eq!(seen.errors, Vec::<String>::new());
    assert_eq!(
        seen.requests,
        Vec::<String>::new(),
        "a self-contained page fetches nothing"
    );
    assert_eq!(seen.charts.len(), 4);
    for (chart, drawn) in charts.iter().zip(&seen.charts) {
        assert_eq!(drawn.id, chart.id);
        assert!(drawn.width > 300.0 && drawn.height > 100.0, "{drawn:?}");
        assert!(chart.segments() > 0, "{}", chart.id);
        assert_eq!(
            (drawn.bars, drawn.expected),
            (chart.segments(), chart.segments()),
            "{}",
            chart.id
        );
        let legend: Vec<&str> = chart.series.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(drawn.legend, legend, "{}", chart.id);
    }
    let with_rows = inspect::project_reports(&db.url(), &[])
        .unwrap()
        .iter()
        .filter(|r| !r.rows.is_empty())
        .count();
    assert_eq!(seen.tables, with_rows);

    // The check is live: bars that do not draw are seen missing.
    let broken = dir.path().join("broken.html");
    std::fs::write(
        &broken,
        page.replace(
            "<rect class=\"bar\"",
            "<rect class=\"bar\" display=\"none\"",
        ),
    )
    .unwrap();
    let seen = inspect::html::check(&broken).unwrap();
    assert!(
        seen.charts.iter().all(|c| c.bars == 0 && c.expected > 0),
        "{:?}",
        seen.charts
    );
}
