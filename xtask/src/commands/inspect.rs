//! `cargo xtask inspect`: what the backend is doing (issue 21).
//!
//! - `inspect db <REPORT>` runs the pinned Supabase CLI's `supabase inspect db <REPORT>` with
//!   `--db-url` (no Docker), on the local stack or an environment of `supabase/environments.toml`.
//!   Its queries are the CLI's own; `outliers`, `calls` and `db-stats` read pg_stat_statements in
//!   schema `extensions`, which the local stack and the test clusters preload as hosted does.
//! - `inspect` alone prints the project's own reports (render queue, AI usage against limits,
//!   fallback rate, errors, cron jobs, partitions, leads) as tables, `--json` for machines, and
//!   `--html FILE` writes them with charts of the history the database keeps (`html`).
//!
//! Every report runs in one read-only transaction as the URL's role (`postgres` on hosted and
//! locally), so inspecting can never change the database.

use std::fmt::Write as _;
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use postgres::Row;
use serde_json::{json, Map, Value};

use crate::commands::{audit, stack};
use crate::infra::{db, paths, prereq};

pub mod html;

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct InspectArgs {
    #[command(subcommand)]
    command: Option<InspectCommand>,
    #[command(flatten)]
    target: Target,
    /// Print the reports as JSON instead of tables.
    #[arg(long, conflicts_with = "html")]
    json: bool,
    /// Write the reports and charts of the history the database keeps (last 30 days) as one
    /// self-contained HTML page.
    #[arg(long, value_name = "FILE")]
    html: Option<std::path::PathBuf>,
    /// Only these reports (comma-separated): render-queue, ai-usage, ai-limits, fallback,
    /// errors, cron, partitions, leads.
    #[arg(long, value_delimiter = ',', value_name = "REPORTS")]
    only: Vec<String>,
}

#[derive(clap::Subcommand)]
enum InspectCommand {
    /// Run the pinned Supabase CLI's `supabase inspect db <REPORT>` with --db-url (db-stats,
    /// outliers, calls, locks, blocking, long-running-queries, bloat, index-stats, table-stats,
    /// vacuum-stats, role-stats, replication-slots, traffic-profile, ...; `cache-hit` is
    /// deprecated in favour of db-stats).
    Db {
        /// The CLI's report name.
        report: String,
        #[command(flatten)]
        target: Target,
        /// Print the CLI's JSON (`--output-format json`).
        #[arg(long)]
        json: bool,
    },
}

/// Which database: `--db-url`, or `--env`, or $SUPABASE_DB_URL / $DATABASE_URL, or the local
/// stack.
#[derive(clap::Args, Clone)]
pub struct Target {
    /// Database URL (the direct or session connection, as postgres); defaults to
    /// $SUPABASE_DB_URL, then $DATABASE_URL, then the local stack.
    #[arg(long, value_name = "URL", conflicts_with = "env")]
    db_url: Option<String>,
    /// Environment of supabase/environments.toml (dev, staging, production): the URL is read
    /// from the variable the environment names, as `cargo xtask deploy` does.
    #[arg(long = "env", value_name = "NAME")]
    env: Option<String>,
}

impl Target {
    fn resolve(&self) -> Result<String> {
        if let Some(url) = &self.db_url {
            return Ok(url.clone());
        }
        if let Some(name) = &self.env {
            return audit::env_url(name);
        }
        for var in ["SUPABASE_DB_URL", "DATABASE_URL"] {
            if let Ok(url) = std::env::var(var) {
                if !url.trim().is_empty() {
                    return Ok(url);
                }
            }
        }
        stack::ensure_running_url()
    }
}

pub fn run(args: InspectArgs) -> Result<()> {
    match args.command {
        Some(InspectCommand::Db {
            report,
            target,
            json,
        }) => {
            let out = cli_inspect(&target.resolve()?, &report, json)?;
            print!("{out}");
            Ok(())
        }
        None => {
            let url = args.target.resolve()?;
            let reports = project_reports(&url, &args.only)?;
            if let Some(file) = &args.html {
                let charts = html::history(&url)?;
                let (host, port, dbname) = audit::server_of(&url)?;
                let page = html::page(&reports, &charts, &format!("{host}:{port}/{dbname}"));
                std::fs::write(file, page)
                    .with_context(|| format!("cannot write {}", file.display()))?;
                eprintln!("wrote {}", file.display());
            } else if args.json {
                println!("{}", serde_json::to_string_pretty(&to_json(&reports))?);
            } else {
                print!("{}", to_text(&reports));
            }
            Ok(())
        }
    }
}

/// The URL as the Supabase CLI needs it: a loopback server without TLS must say so
/// (`sslmode=disable`), as the README's `--db-url` examples do.
fn cli_url(url: &str) -> Result<String> {
    let (host, _, _) = audit::server_of(url)?;
    let loopback = matches!(host.as_str(), "127.0.0.1" | "localhost" | "::1");
    if !loopback || url.contains("sslmode=") {
        return Ok(url.to_string());
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    Ok(format!("{url}{sep}sslmode=disable"))
}

/// `supabase inspect db <report> --db-url <url>` with the pinned CLI; its standard output.
pub fn cli_inspect(url: &str, report: &str, json: bool) -> Result<String> {
    if report.starts_with('-') || report.is_empty() {
        bail!("name a report of `supabase inspect db` (e.g. db-stats, outliers)");
    }
    prereq::ensure_node_modules()?;
    let url = cli_url(url)?;
    let mut cmd = Command::new(prereq::node_bin("supabase"));
    cmd.args(["inspect", "db", report, "--db-url", &url])
        .current_dir(paths::project_root())
        .stdin(Stdio::null())
        // The CLI's own update check and telemetry stay off.
        .env("DO_NOT_TRACK", "1");
    if json {
        cmd.args(["--output-format", "json"]);
    }
    let out = cmd
        .output()
        .context("cannot run the Supabase CLI (node_modules/.bin/supabase)")?;
    if !out.status.success() {
        // The CLI may echo its arguments; the password never reaches our output.
        let redact = |s: &[u8]| {
            String::from_utf8_lossy(s)
                .replace(&url, &db::redact(&url))
                .trim_end()
                .to_string()
        };
        bail!(
            "supabase inspect db {report} failed ({}):\n{}{}",
            out.status,
            redact(&out.stdout),
            redact(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// How a column's values are read and shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Count,
    /// A duration in seconds (float8), shown as "3 h 5 min".
    Seconds,
    Usd,
    /// 0..1 (float8), shown as a percentage.
    Ratio,
    /// An RFC 3339 UTC timestamp, formatted by the query.
    Time,
    Bool,
}

impl Kind {
    fn unit(self) -> Option<&'static str> {
        match self {
            Kind::Seconds => Some("seconds"),
            Kind::Usd => Some("usd"),
            Kind::Ratio => Some("ratio"),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Col {
    pub key: &'static str,
    pub title: &'static str,
    pub kind: Kind,
}

const fn col(key: &'static str, title: &'static str, kind: Kind) -> Col {
    Col { key, title, kind }
}

/// One report: a table with notes.
#[derive(Debug, Clone)]
pub struct Report {
    pub name: &'static str,
    pub title: &'static str,
    pub columns: Vec<Col>,
    pub rows: Vec<Vec<Value>>,
    pub notes: Vec<String>,
}

impl Report {
    /// The value of `key` in every row.
    pub fn column(&self, key: &str) -> Vec<&Value> {
        let i = self
            .columns
            .iter()
            .position(|c| c.key == key)
            .unwrap_or_else(|| panic!("report {} has no column {key}", self.name));
        self.rows.iter().map(|r| &r[i]).collect()
    }

    /// The row whose first column is `first`.
    pub fn row(&self, first: &str) -> Option<Map<String, Value>> {
        self.rows
            .iter()
            .find(|r| r[0].as_str() == Some(first))
            .map(|r| {
                self.columns
                    .iter()
                    .zip(r)
                    .map(|(c, v)| (c.key.to_string(), v.clone()))
                    .collect()
            })
    }
}

/// The project's reports, in order.
pub const REPORTS: &[&str] = &[
    "render-queue",
    "ai-usage",
    "ai-limits",
    "fallback",
    "errors",
    "cron",
    "partitions",
    "leads",
];

/// Runs the project's reports (all, or those in `only`) in one read-only transaction.
pub fn project_reports(url: &str, only: &[String]) -> Result<Vec<Report>> {
    if let Some(bad) = only.iter().find(|r| !REPORTS.contains(&r.as_str())) {
        bail!("unknown report {bad}: choose from {}", REPORTS.join(", "));
    }
    let mut client = db::connect(url)?;
    let mut tx = client.transaction()?;
    tx.batch_execute(
        "set transaction read only; set local statement_timeout = '60s'; set local timezone = 'UTC'",
    )?;
    let mut out = Vec::new();
    for &name in REPORTS {
        if !only.is_empty() && !only.iter().any(|o| o == name) {
            continue;
        }
        let report = match name {
            "render-queue" => render_queue(&mut tx),
            "ai-usage" => ai_usage(&mut tx),
            "ai-limits" => ai_limits(&mut tx),
            "fallback" => fallback(&mut tx),
            "errors" => errors(&mut tx),
            "cron" => cron(&mut tx),
            "partitions" => partitions(&mut tx),
            "leads" => leads(&mut tx),
            _ => unreachable!("REPORTS lists {name}"),
        }
        .with_context(|| format!("report {name}"))?;
        out.push(report);
    }
    tx.rollback()?;
    Ok(out)
}

/// Reads `rows` into values by the columns' kinds (the query casts each column accordingly).
fn values(columns: &[Col], rows: &[Row]) -> Result<Vec<Vec<Value>>> {
    rows.iter()
        .map(|r| {
            columns
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    Ok(match c.kind {
                        Kind::Text | Kind::Time => r.try_get::<_, Option<String>>(i)?.into(),
                        Kind::Count => r.try_get::<_, Option<i64>>(i)?.into(),
                        Kind::Seconds | Kind::Usd | Kind::Ratio => r
                            .try_get::<_, Option<f64>>(i)?
                            .and_then(serde_json::Number::from_f64)
                            .map_or(Value::Null, Value::Number),
                        Kind::Bool => r.try_get::<_, Option<bool>>(i)?.into(),
                    })
                })
                .collect::<Result<Vec<Value>, postgres::Error>>()
                .map_err(Into::into)
        })
        .collect()
}

fn report(
    tx: &mut postgres::Transaction,
    name: &'static str,
    title: &'static str,
    columns: &[Col],
    sql: &str,
) -> Result<Report> {
    let rows = tx.query(sql, &[])?;
    Ok(Report {
        name,
        title,
        columns: columns.to_vec(),
        rows: values(columns, &rows)?,
        notes: Vec::new(),
    })
}

/// An RFC 3339 UTC timestamp of a `timestamptz` expression, in SQL.
macro_rules! iso {
    ($e:literal) => {
        concat!(
            "to_char((",
            $e,
            ") at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
        )
    };
}

fn render_queue(tx: &mut postgres::Transaction) -> Result<Report> {
    const COLS: &[Col] = &[
        col("status", "status", Kind::Text),
        col("jobs", "jobs", Kind::Count),
        col("oldest_age_seconds", "oldest (age)", Kind::Seconds),
        col("due_now", "due now", Kind::Count),
        col("created_24h", "created in 24 h", Kind::Count),
        col("max_attempts", "most runs", Kind::Count),
    ];
    report(
        tx,
        "render-queue",
        "Render queue by status",
        COLS,
        "select s.status::text,
                count(r.id)::bigint,
                case when s.status in ('queued', 'pending', 'processing')
                     then extract(epoch from now() - min(r.created_at))::float8 end,
                case when s.status = 'queued'
                     then count(r.id) filter (where r.retry_at is null or r.retry_at <= now())::bigint end,
                count(r.id) filter (where r.created_at > now() - interval '24 hours')::bigint,
                max(r.attempts)::bigint
           from unnest(enum_range(null::public.render_status)) s(status)
           left join public.render_requests r on r.status = s.status
          group by s.status
          order by s.status",
    )
    .map(|mut r| {
        r.notes.push(
            "A queued job older than 15 minutes fires MohaRenderQueueStuck; a queued job waits \
             for its retry time (due now counts those whose time has come)."
                .into(),
        );
        r
    })
}

/// Today's usage of each agent: the rows of its global limit's windows when it has one (every
/// call counts there), else its per-user rows (a call without a limit counts in its user's
/// row of the day). The metrics function counts the same way (a test compares them).
const AI_USAGE_TODAY: &str = "
    select u.agent,
           sum(u.request_count)::bigint as requests,
           sum(u.tokens)::bigint as tokens,
           sum(u.cost)::float8 as usd
      from public.agent_usage u
     where u.window_start >= date_trunc('day', now(), 'UTC')
       and u.project_id is null
       and (u.user_id is null
            or not exists (select 1 from public.agent_limits g where g.agent = u.agent and g.scope = 'global'))
     group by u.agent";

fn ai_usage(tx: &mut postgres::Transaction) -> Result<Report> {
    const COLS: &[Col] = &[
        col("agent", "agent", Kind::Text),
        col("requests", "calls today", Kind::Count),
        col("tokens", "tokens today", Kind::Count),
        col("usd", "USD today", Kind::Usd),
        col("highest_limit_used", "most of a limit used", Kind::Ratio),
    ];
    let sql = format!(
        "with today as ({AI_USAGE_TODAY}), limits as ({AI_LIMITS}),
              agents as (select agent from today union select agent from limits)
         select a.agent, coalesce(t.requests, 0), coalesce(t.tokens, 0), coalesce(t.usd, 0),
                (select max(greatest(l.requests_used, coalesce(l.tokens_used, 0))) from limits l
                  where l.agent = a.agent)
           from agents a left join today t on t.agent = a.agent
          order by a.agent"
    );
    report(
        tx,
        "ai-usage",
        "AI calls, tokens and USD by agent today (UTC)",
        COLS,
        &sql,
    )
    .map(|mut r| {
        r.notes.push(
            "An agent with a global limit is counted in that limit's windows, others in their \
             per-user rows. Spend above 80% of a limit fires MohaAiSpendNearLimit."
                .into(),
        );
        r
    })
}

/// Every limit with the most of it used in its current window: for a default row of a scope
/// (no user, no project), the highest share any user (project) without a row of their own used.
const AI_LIMITS: &str = "
    select l.agent, l.scope::text as scope,
           coalesce(l.user_id::text, l.project_id::text) as subject,
           l.max_requests::bigint as max_requests, l.max_tokens::bigint as max_tokens,
           l.window_seconds::bigint as window_seconds,
           coalesce(max(u.request_count), 0)::bigint as requests,
           coalesce(max(u.tokens), 0)::bigint as tokens,
           case when l.max_requests = 0 then 1
                else coalesce(max(u.request_count), 0)::float8 / l.max_requests end as requests_used,
           case when l.max_tokens is null then null when l.max_tokens = 0 then 1
                else coalesce(max(u.tokens), 0)::float8 / l.max_tokens end as tokens_used
      from public.agent_limits l
      left join public.agent_usage u
        on u.agent = l.agent
       and u.window_start = to_timestamp(floor(extract(epoch from now()) / l.window_seconds) * l.window_seconds)
       and case l.scope
             when 'global' then u.user_id is null and u.project_id is null
             when 'user' then u.project_id is null and u.user_id is not null
                  and (u.user_id = l.user_id
                       or (l.user_id is null and not exists (
                             select 1 from public.agent_limits o
                              where o.agent = l.agent and o.scope = 'user' and o.user_id = u.user_id)))
             else u.user_id is null and u.project_id is not null
                  and (u.project_id = l.project_id
                       or (l.project_id is null and not exists (
                             select 1 from public.agent_limits o
                              where o.agent = l.agent and o.scope = 'project' and o.project_id = u.project_id)))
           end
     group by l.id";

fn ai_limits(tx: &mut postgres::Transaction) -> Result<Report> {
    const COLS: &[Col] = &[
        col("agent", "agent", Kind::Text),
        col("scope", "scope", Kind::Text),
        col("subject", "user/project", Kind::Text),
        col("window_seconds", "window", Kind::Seconds),
        col("max_requests", "max calls", Kind::Count),
        col("requests", "calls (most)", Kind::Count),
        col("requests_used", "calls used", Kind::Ratio),
        col("max_tokens", "max tokens", Kind::Count),
        col("tokens", "tokens (most)", Kind::Count),
        col("tokens_used", "tokens used", Kind::Ratio),
    ];
    let sql = format!(
        "select agent, scope, coalesce(subject, 'default'), window_seconds::float8, max_requests,
                requests, requests_used, max_tokens, tokens, tokens_used
           from ({AI_LIMITS}) l order by agent, scope, subject nulls first"
    );
    report(
        tx,
        "ai-limits",
        "AI limits in their current window",
        COLS,
        &sql,
    )
}

fn fallback(tx: &mut postgres::Transaction) -> Result<Report> {
    const COLS: &[Col] = &[
        col("window", "window", Kind::Text),
        col("results", "render results", Kind::Count),
        col("fallbacks", "from the cache (fallback)", Kind::Count),
        col("rate", "fallback rate", Kind::Ratio),
    ];
    report(
        tx,
        "fallback",
        "Fallback rate of the render agent",
        COLS,
        "select w.label, count(r.id)::bigint, count(r.id) filter (where r.is_fallback)::bigint,
                (count(r.id) filter (where r.is_fallback))::float8 / nullif(count(r.id), 0)
           from (values (1, 'last hour', interval '1 hour'), (2, 'last 24 hours', interval '24 hours'),
                        (3, 'last 7 days', interval '7 days')) w(n, label, span)
           left join public.render_results r on r.created_at > now() - w.span
          group by w.n, w.label order by w.n",
    )
    .map(|mut r| {
        r.notes.push(
            "Only renders record their fallbacks in the database (render_results.is_fallback); \
             above 50% for 10 minutes fires MohaFallbackRateHigh."
                .into(),
        );
        r
    })
}

fn errors(tx: &mut postgres::Transaction) -> Result<Report> {
    const COLS: &[Col] = &[
        col("service", "service", Kind::Text),
        col("last_5m", "5 min", Kind::Count),
        col("last_hour", "1 h", Kind::Count),
        col("last_24h", "24 h", Kind::Count),
        col("last_7d", "7 d", Kind::Count),
        col("last_at", "last", Kind::Time),
        col("last_message", "last message", Kind::Text),
    ];
    let sql = format!(
        "select e.service,
                count(*) filter (where e.created_at > now() - interval '5 minutes')::bigint,
                count(*) filter (where e.created_at > now() - interval '1 hour')::bigint,
                count(*) filter (where e.created_at > now() - interval '24 hours')::bigint,
                count(*)::bigint,
                {},
                left((array_agg(e.error_message order by e.created_at desc))[1], 100)
           from public.error_logs e
          where e.created_at > now() - interval '7 days'
          group by e.service
          order by max(e.created_at) desc",
        iso!("max(e.created_at)")
    );
    report(tx, "errors", "Errors by service (last 7 days)", COLS, &sql)
}

fn cron(tx: &mut postgres::Transaction) -> Result<Report> {
    const COLS: &[Col] = &[
        col("job", "job", Kind::Text),
        col("schedule", "schedule", Kind::Text),
        col("active", "active", Kind::Bool),
        col("last_start", "last run", Kind::Time),
        col("last_status", "status", Kind::Text),
        col("last_duration_seconds", "took", Kind::Seconds),
        col("consecutive_failures", "failed in a row", Kind::Count),
        col("last_message", "message", Kind::Text),
    ];
    let present: bool = tx
        .query_one("select to_regclass('cron.job') is not null", &[])?
        .get(0);
    if !present {
        return Ok(Report {
            name: "cron",
            title: "Cron jobs and their last runs",
            columns: COLS.to_vec(),
            rows: Vec::new(),
            notes: vec!["no scheduler: pg_cron is not installed in this database".into()],
        });
    }
    let sql = format!(
        "select j.jobname::text, j.schedule, j.active, {}, d.status,
                extract(epoch from d.end_time - d.start_time)::float8,
                coalesce(array_position(f.statuses, 'succeeded') - 1, cardinality(f.statuses), 0)::bigint,
                left(d.return_message, 100)
           from cron.job j
           left join lateral (
             select r.start_time, r.end_time, r.status, r.return_message from cron.job_run_details r
              where r.jobid = j.jobid order by r.runid desc limit 1) d on true
           left join lateral (
             select array_agg(x.status order by x.runid desc) as statuses from (
               select r.runid, r.status from cron.job_run_details r
                where r.jobid = j.jobid and r.status in ('succeeded', 'failed')
                order by r.runid desc limit 10) x) f on true
          order by j.jobname",
        iso!("d.start_time")
    );
    let mut r = report(tx, "cron", "Cron jobs and their last runs", COLS, &sql)?;
    r.notes.push(
        "Failed in a row counts back at most 10 finished runs; two fire MohaCronJobFailing.".into(),
    );
    Ok(r)
}

fn partitions(tx: &mut postgres::Transaction) -> Result<Report> {
    const COLS: &[Col] = &[
        col("partition", "partition", Kind::Text),
        col("from", "from", Kind::Time),
        col("to", "to", Kind::Time),
        col("ahead", "ahead of this month", Kind::Bool),
        col("rows", "rows (estimate)", Kind::Count),
    ];
    let sql = format!(
        "with p as (
           select c.oid::regclass::text as name,
                  (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \\(''([^'']+)''\\)'))[1]::timestamptz as lo,
                  (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \\(''([^'']+)''\\)'))[1]::timestamptz as hi,
                  greatest(c.reltuples, 0)::bigint as est
             from pg_inherits i join pg_class c on c.oid = i.inhrelid
            where i.inhparent = 'public.social_messages'::regclass)
         select p.name, {}, {}, p.lo >= date_trunc('month', now(), 'UTC') + interval '1 month', p.est
           from p order by p.lo nulls last",
        iso!("p.lo"),
        iso!("p.hi")
    );
    let mut r = report(
        tx,
        "partitions",
        "Partitions of social_messages",
        COLS,
        &sql,
    )?;
    let ahead = r
        .column("ahead")
        .iter()
        .filter(|v| v.as_bool() == Some(true))
        .count();
    // The default partition catches rows no month partition covers; up to 1000 are counted.
    let default: Option<(String, String)> = tx
        .query_opt(
            "select n.nspname::text, c.relname::text
               from pg_inherits i join pg_class c on c.oid = i.inhrelid
               join pg_namespace n on n.oid = c.relnamespace
              where i.inhparent = 'public.social_messages'::regclass
                and pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT'",
            &[],
        )?
        .map(|row| (row.get(0), row.get(1)));
    let in_default: i64 = match default {
        Some((schema, name)) => tx
            .query_one(
                &format!(
                    "select count(*) from (select 1 from {}.{} limit 1000) x",
                    sql::quote::ident(&schema)?,
                    sql::quote::ident(&name)?
                ),
                &[],
            )?
            .get(0),
        None => 0,
    };
    r.notes.push(format!(
        "{ahead} month(s) partitioned ahead of the current one (fewer than 2 fires \
         MohaPartitionsRunningOut); {} row(s) in the default partition.",
        if in_default >= 1000 {
            "1000+".to_string()
        } else {
            in_default.to_string()
        }
    ));
    Ok(r)
}

fn leads(tx: &mut postgres::Transaction) -> Result<Report> {
    const COLS: &[Col] = &[
        col("source", "source", Kind::Text),
        col("created_30d", "created in 30 d", Kind::Count),
        col("unassigned", "still unassigned", Kind::Count),
        col(
            "median_to_assign_seconds",
            "median time to assign",
            Kind::Seconds,
        ),
        col("p90_to_assign_seconds", "p90 time to assign", Kind::Seconds),
    ];
    // When a lead was assigned: its first audit row (insert or update) with an assignee.
    let mut r = report(
        tx,
        "leads",
        "Leads of the last 30 days: unassigned and time to assign",
        COLS,
        "with recent as (
           select l.id, l.source, l.created_at, l.assigned_to,
                  (select min(a.\"timestamp\") from public.audit_logs a
                    where a.table_name = 'public.leads' and a.record_id = l.id::text
                      and a.new_values ->> 'assigned_to' is not null) as assigned_at
             from public.leads l
            where l.created_at > now() - interval '30 days'),
         timed as (
           select r.*, case when r.assigned_at is not null
                            then greatest(extract(epoch from r.assigned_at - r.created_at), 0)::float8 end as to_assign
             from recent r)
         select coalesce(source::text, 'all'), count(*)::bigint,
                count(*) filter (where assigned_to is null)::bigint,
                percentile_cont(0.5) within group (order by to_assign),
                percentile_cont(0.9) within group (order by to_assign)
            from timed
          group by rollup (source)
          order by source nulls first",
    )?;
    let row = tx.query_one(
        "select count(*)::bigint, extract(epoch from now() - min(l.created_at))::float8
           from public.leads l where l.assigned_to is null",
        &[],
    )?;
    let (n, oldest): (i64, Option<f64>) = (row.get(0), row.get(1));
    r.notes.push(match oldest {
        Some(s) => format!(
            "{n} lead(s) unassigned in all; the oldest has waited {}.",
            human_seconds(s)
        ),
        None => "No lead is unassigned.".into(),
    });
    Ok(r)
}

/// "45 s", "12 min", "3 h 5 min", "2 d 4 h".
pub fn human_seconds(s: f64) -> String {
    let s = s.max(0.0).round() as u64;
    match s {
        0..=99 => format!("{s} s"),
        100..=5999 => format!("{} min", s / 60),
        6000..=172_799 if s % 3600 < 60 => format!("{} h", s / 3600),
        6000..=172_799 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ if s % 86_400 < 3600 => format!("{} d", s / 86_400),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

/// A value as the tables show it.
pub fn show(kind: Kind, v: &Value) -> String {
    if v.is_null() {
        return "—".into();
    }
    match kind {
        Kind::Seconds => v.as_f64().map(human_seconds).unwrap_or_default(),
        Kind::Usd => format!("${:.4}", v.as_f64().unwrap_or_default()),
        Kind::Ratio => format!("{:.1}%", v.as_f64().unwrap_or_default() * 100.0),
        Kind::Bool => if v.as_bool() == Some(true) {
            "yes"
        } else {
            "no"
        }
        .into(),
        Kind::Text | Kind::Time => v.as_str().unwrap_or_default().to_string(),
        Kind::Count => v.to_string(),
    }
}

fn right_aligned(kind: Kind) -> bool {
    matches!(kind, Kind::Count | Kind::Seconds | Kind::Usd | Kind::Ratio)
}

/// The reports as readable tables.
pub fn to_text(reports: &[Report]) -> String {
    let mut out = String::new();
    for r in reports {
        let _ = writeln!(out, "\n{} ({})", r.title, r.name);
        let cells: Vec<Vec<String>> = r
            .rows
            .iter()
            .map(|row| {
                r.columns
                    .iter()
                    .zip(row)
                    .map(|(c, v)| show(c.kind, v))
                    .collect()
            })
            .collect();
        let widths: Vec<usize> = r
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                cells
                    .iter()
                    .map(|row| row[i].chars().count())
                    .chain([c.title.chars().count()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |values: Vec<String>| -> String {
            let parts: Vec<String> = values
                .iter()
                .zip(&r.columns)
                .zip(&widths)
                .map(|((v, c), w)| {
                    if right_aligned(c.kind) {
                        format!("{v:>w$}")
                    } else {
                        format!("{v:<w$}")
                    }
                })
                .collect();
            format!("  {}", parts.join(" │ ").trim_end())
        };
        if !r.rows.is_empty() {
            let _ = writeln!(
                out,
                "{}",
                line(r.columns.iter().map(|c| c.title.to_string()).collect())
            );
            let rule: Vec<String> = widths.iter().map(|w| "─".repeat(*w)).collect();
            let _ = writeln!(out, "  {}", rule.join("─┼─"));
            for row in cells {
                let _ = writeln!(out, "{}", line(row));
            }
        } else if r.notes.is_empty() {
            let _ = writeln!(out, "  (nothing)");
        }
        for n in &r.notes {
            let _ = writeln!(out, "  · {n}");
        }
    }
    out
}

/// The reports for machines: `{"reports": [{"name", "title", "columns", "rows", "notes"}]}`,
/// each row an object by column key; durations in seconds, money in USD, ratios 0..1.
pub fn to_json(reports: &[Report]) -> Value {
    let reports: Vec<Value> = reports
        .iter()
        .map(|r| {
            let rows: Vec<Value> = r
                .rows
                .iter()
                .map(|row| {
                    Value::Object(
                        r.columns
                            .iter()
                            .zip(row)
                            .map(|(c, v)| (c.key.to_string(), v.clone()))
                            .collect(),
                    )
                })
                .collect();
            let columns: Vec<Value> = r
                .columns
                .iter()
                .map(|c| json!({ "key": c.key, "title": c.title, "unit": c.kind.unit() }))
                .collect();
            json!({ "name": r.name, "title": r.title, "columns": columns, "rows": rows, "notes": r.notes })
        })
        .collect();
    json!({ "reports": reports })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(human_seconds(42.4), "42 s");
        assert_eq!(human_seconds(900.0), "15 min");
        assert_eq!(human_seconds(3.0 * 3600.0 + 300.0), "3 h 5 min");
        assert_eq!(human_seconds(2.0 * 86_400.0 + 4.0 * 3600.0), "2 d 4 h");
        assert_eq!(human_seconds(86_400.0), "24 h");
        assert_eq!(human_seconds(7.0 * 86_400.0), "7 d");
        assert_eq!(human_seconds(-3.0), "0 s");
    }

    #[test]
    fn the_cli_gets_sslmode_disable_for_loopback_only() {
        assert_eq!(
            cli_url("postgresql://postgres:pw@127.0.0.1:54322/postgres").unwrap(),
            "postgresql://postgres:pw@127.0.0.1:54322/postgres?sslmode=disable"
        );
        let hosted = "postgresql://postgres:pw@db.abcdefghijklmnopqrst.supabase.co:5432/postgres";
        assert_eq!(cli_url(hosted).unwrap(), hosted);
        let chosen = "postgresql://postgres:pw@localhost:5432/postgres?sslmode=require";
        assert_eq!(cli_url(chosen).unwrap(), chosen);
    }

    #[test]
    fn tables_align_numbers_right_and_show_empty_cells() {
        let r = Report {
            name: "t",
            title: "T",
            columns: vec![
                col("a", "name", Kind::Text),
                col("b", "n", Kind::Count),
                col("c", "share", Kind::Ratio),
            ],
            rows: vec![
                vec![json!("x"), json!(5), json!(0.5)],
                vec![json!("longer"), json!(12), Value::Null],
            ],
            notes: vec!["a note".into()],
        };
        let text = to_text(&[r]);
        assert!(text.contains("  x      │  5 │ 50.0%"), "{text}");
        assert!(text.contains("  longer │ 12 │     —"), "{text}");
        assert!(text.contains("  · a note"), "{text}");
    }
}
