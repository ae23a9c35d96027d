//! What the backend is doing, as numbers (issue 21): `public.backend_metrics()` gathers the
//! business and health metrics in one statement, for the `metrics` edge function (Prometheus
//! text format) and for dashboards through the service role. `docs/observability.md` lists every
//! metric with its meaning.

use super::*;

/// The role the `metrics` edge function switches to: it may call `public.backend_metrics()` and
/// nothing else of the project.
pub const METRICS_READER: &str = "metrics_reader";

/// Where a metric's samples come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A row of `public.backend_metrics()`.
    Database,
    /// The `metrics` edge function itself.
    Function,
}

/// A metric as Prometheus sees it. Every one is a gauge: each is read from the database's
/// current state, not counted by a process that lives between scrapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metric {
    /// Prometheus naming: `moha_` prefix, base units as suffix (`_seconds`, `_usd`, `_ratio`).
    pub name: &'static str,
    /// The `# HELP` text: what it means and its unit.
    pub help: &'static str,
    pub labels: &'static [&'static str],
    pub source: Source,
}

const fn db(name: &'static str, help: &'static str, labels: &'static [&'static str]) -> Metric {
    Metric {
        name,
        help,
        labels,
        source: Source::Database,
    }
}

/// Every metric the `metrics` function serves, in exposition order. One list for the SQL
/// function (a test compares the names it returns), the function's `# HELP`/`# TYPE` lines, the
/// alert rules (a test checks every name they use) and docs/observability.md.
pub const METRICS: &[Metric] = &[
    db("moha_ai_cost_usd_today", "AI spend today (UTC) in US dollars, by agent.", &["agent"]),
    db(
        "moha_ai_limit_used_ratio",
        "Largest share (0 to 1) of an agent_limits limit used in its current window, by agent, scope (global, user, project) and limit (requests, tokens); for a scope's default limit, the user or project that used the most.",
        &["agent", "scope", "limit"],
    ),
    db("moha_ai_requests_today", "AI calls counted today (UTC), by agent.", &["agent"]),
    db("moha_ai_tokens_today", "AI tokens used today (UTC), by agent.", &["agent"]),
    db(
        "moha_cron_job_active",
        "1 when the pg_cron job is active, else 0, by job.",
        &["job"],
    ),
    db(
        "moha_cron_job_consecutive_failures",
        "How many of the job's most recent finished runs failed in a row, looking back at most 3 runs, by job.",
        &["job"],
    ),
    db(
        "moha_cron_job_last_run_timestamp_seconds",
        "Start of the job's last run, in seconds since the Unix epoch, by job; absent before its first run.",
        &["job"],
    ),
    db(
        "moha_cron_present",
        "1 when pg_cron (Supabase Cron) is installed in this database, else 0: no scheduler.",
        &[],
    ),
    db(
        "moha_errors_recent",
        "Rows written to error_logs in the last 5 minutes, by service (every service that ever logged one).",
        &["service"],
    ),
    db(
        "moha_leads_unassigned",
        "Leads without an assigned Sales user.",
        &[],
    ),
    db(
        "moha_leads_unassigned_oldest_age_seconds",
        "Age in seconds of the oldest unassigned lead; 0 when every lead is assigned.",
        &[],
    ),
    Metric {
        name: "moha_metrics_collect_duration_seconds",
        help: "Seconds the metrics function spent reading these metrics from the database (one call of public.backend_metrics()).",
        labels: &[],
        source: Source::Function,
    },
    db(
        "moha_render_jobs",
        "Render jobs waiting or running, by status (queued, pending, processing).",
        &["status"],
    ),
    db(
        "moha_render_jobs_oldest_age_seconds",
        "Age in seconds of the oldest render job in each status (queued, pending, processing); 0 when there is none.",
        &["status"],
    ),
    db(
        "moha_render_results_last_hour",
        "Render results written in the last hour, by whether they are a fallback from the cache (fallback=\"true\") or a fresh render.",
        &["fallback"],
    ),
    db(
        "moha_social_messages_partitions_ahead",
        "Monthly partitions of social_messages that start after the current month (UTC).",
        &[],
    ),
    db(
        "moha_social_unread_messages_last_day",
        "Inbox messages received in the last 24 hours that are still unread, by platform.",
        &["platform"],
    ),
];

pub fn backend_metrics() -> Name {
    public("backend_metrics")
}

pub fn release() -> Release {
    let metric_row = || {
        Returns::Table(vec![
            ("metric".into(), SqlType::Text),
            ("labels".into(), SqlType::Jsonb),
            ("value".into(), SqlType::AnyNumeric),
        ])
    };
    let changes = vec![
        Change::CreateRole(Role {
            name: METRICS_READER.into(),
            login: false,
            // `postgres` (the functions' SUPABASE_DB_URL) switches to it for the metrics function.
            member_of_granted_to: vec!["postgres".into()],
            inherits: vec![],
        }),
        Change::Grant(Grant {
            privileges: vec![Privilege::Usage],
            object: GrantObject::Schema("public".into()),
            roles: vec![METRICS_READER.into()],
            revoke: false,
        }),
        Change::CreateFunction(
            Function::new(
                private("cron_metrics"),
                metric_row(),
                include_str!("sql/cron_metrics.sql"),
            )
            .volatility(Volatility::Stable)
            .comment("The scheduler's part of backend_metrics: whether pg_cron is here, and per job whether it is active, its last run's start and how many of its last three finished runs failed in a row."),
        ),
        Change::CreateFunction(
            Function::new(
                backend_metrics(),
                metric_row(),
                include_str!("sql/backend_metrics.sql"),
            )
            .volatility(Volatility::Stable)
            .security_definer()
            .execute(&["service_role", METRICS_READER])
            .comment("Business and health metrics in one statement, one row per sample: metric name (Prometheus), labels, value. Render queue, AI usage against limits, fallbacks, errors, cron jobs, partitions ahead, unread messages, unassigned leads; docs/observability.md lists them."),
        ),
    ];
    Release {
        version: "20250601002100",
        name: "observability",
        summary: "backend_metrics(): business and health metrics in one statement, for the metrics function; the metrics_reader role.",
        changes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_names_follow_prometheus_conventions() {
        let mut names: Vec<&str> = METRICS.iter().map(|m| m.name).collect();
        let sorted = {
            let mut s = names.clone();
            s.sort();
            s
        };
        assert_eq!(names, sorted, "METRICS is sorted by name");
        names.dedup();
        assert_eq!(names.len(), METRICS.len(), "duplicate metric");
        for m in METRICS {
            assert!(m.name.starts_with("moha_"), "{}", m.name);
            assert!(
                m.name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{}",
                m.name
            );
            // Gauges: `_total` is for counters.
            assert!(!m.name.ends_with("_total"), "{}", m.name);
            assert!(
                m.help.ends_with('.') && !m.help.contains('\n'),
                "{}",
                m.name
            );
            for l in m.labels {
                assert!(l.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{l}");
            }
        }
    }

    /// docs/observability.md lists every metric with its labels and meaning, as served.
    #[test]
    fn the_docs_list_every_metric() {
        let docs = include_str!("../../../../docs/observability.md");
        for m in METRICS {
            let labels: Vec<String> = m.labels.iter().map(|l| format!("`{l}`")).collect();
            let labels = if labels.is_empty() {
                "—".to_string()
            } else {
                labels.join(", ")
            };
            let row = format!("| `{}` | {labels} | {} |", m.name, m.help);
            assert!(docs.contains(&row), "docs/observability.md lacks:\n{row}");
        }
        let rows = docs.lines().filter(|l| l.starts_with("| `moha_")).count();
        assert_eq!(
            rows,
            METRICS.len(),
            "a metric the catalog does not have is documented"
        );
    }

    /// Every database metric is a name the function's statement writes.
    #[test]
    fn the_sql_names_every_database_metric() {
        let body = concat!(
            include_str!("sql/backend_metrics.sql"),
            include_str!("sql/cron_metrics.sql")
        );
        for m in METRICS {
            let quoted = format!("'{}'", m.name);
            assert_eq!(
                body.contains(&quoted),
                m.source == Source::Database,
                "{}",
                m.name
            );
        }
    }
}
