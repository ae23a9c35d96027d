//! The backend runs itself (issue 17): Supabase Cron jobs that drain the render queue, walk the
//! social accounts, keep the inbox's partitions ahead, archive old projects and purge what
//! expires; scheduled calls of edge functions through pg_net with a narrow secret from Vault;
//! every failure in `error_logs`. `docs/operations.md` explains the design.

use super::*;

/// The jobs live with the release that schedules them.
pub use super::schedules::jobs;

/// Where retired partitions of the inbox go.
pub const ARCHIVE: &str = "archive";

pub fn settings() -> Name {
    public("operations_settings")
}

/// The job names, as `cron.job.jobname` holds them.
pub const DRAIN_RENDERS: &str = "moha-drain-renders";
pub const FETCH_SOCIAL: &str = "moha-fetch-social";
pub const PARTITION_UPKEEP: &str = "moha-partition-upkeep";
pub const ARCHIVE_PROJECTS: &str = "moha-archive-projects";
pub const PURGE: &str = "moha-purge";
pub const WATCH: &str = "moha-watch";

/// The Vault secrets scheduled calls read (`vault.decrypted_secrets.name`).
pub const VAULT_PROJECT_URL: &str = "project_url";
pub const VAULT_SCHEDULED_CALL_SECRET: &str = "scheduled_call_secret";

fn interval(name: &str, default: &'static str, comment: &str) -> Column {
    Column::new(name, SqlType::Interval)
        .not_null()
        .default(Expr::Sql(default))
        .comment(comment)
}

/// What the jobs need, created before the security release so the settings table's access is
/// generated from the matrix with every other table's.
pub fn release() -> Release {
    let mut changes = table(
        Table::new(settings())
            .comment("The one row of settings the scheduled jobs read; an Admin changes it.")
            .column(
                Column::new("id", SqlType::Boolean)
                    .not_null()
                    .default(Expr::Bool(true))
                    .comment("Always true: the table has one row."),
            )
            .column(interval(
                "archive_completed_after",
                "'1 year'::interval",
                "Completed projects finished longer ago than this are archived by the nightly job.",
            ))
            .column(interval(
                "read_notifications_kept",
                "'30 days'::interval",
                "Read notifications older than this are deleted by the nightly purge.",
            ))
            .column(interval(
                "agent_usage_kept",
                "'400 days'::interval",
                "agent_usage windows that started longer ago than this are deleted by the nightly purge.",
            ))
            .column(interval(
                "scheduler_history_kept",
                "'14 days'::interval",
                "How long the scheduler's own history is kept (cron.job_run_details, pg_net's responses, judged scheduled calls).",
            ))
            .column(
                Column::new("social_messages_kept_months", SqlType::Integer)
                    .not_null()
                    .default(Expr::Int(24))
                    .lint_ignore("prefer-bigint-over-int", "a number of months, at most 1200")
                    .comment("Monthly partitions of social_messages that ended longer ago than this are detached into schema archive by the daily upkeep (never dropped)."),
            )
            .column(updated_at())
            .primary_key(&["id"])
            .check("one_row", Expr::Sql("id"))
            .check(
                "kept",
                Expr::Sql("archive_completed_after >= '1 day'::interval and read_notifications_kept >= '1 day'::interval and agent_usage_kept >= '31 days'::interval and scheduler_history_kept >= '1 day'::interval and social_messages_kept_months between 3 and 1200"),
            ),
        Audit::Yes,
    );
    changes.push(Change::Insert(Insert {
        table: settings(),
        columns: vec!["id".into()],
        rows: vec![vec![Expr::Bool(true)]],
        conflict_target: vec!["id".into()],
    }));
    changes.push(Change::CreateTable(
        Table::new(private("scheduled_calls"))
            .comment("Edge-function calls the jobs queued through pg_net, until their answer is judged (private.watch_schedules).")
            .column(Column::new("request_id", SqlType::BigInt).not_null().comment("net.http_request_queue.id, then net._http_response.id."))
            .column(text("job").not_null())
            .column(text("function_name").not_null())
            .column(Column::new("payload", SqlType::Jsonb).not_null())
            .column(ts("queued_at").not_null().default(Expr::Sql("now()")))
            .column(ts("judged_at"))
            .column(
                Column::new("status_code", SqlType::Integer)
                    .lint_ignore("prefer-bigint-over-int", "an HTTP status")
                    .comment("The function's HTTP status."),
            )
            .column(text("failure").comment("Why the call failed; null when it succeeded or is not judged yet."))
            .primary_key(&["request_id"]),
    ));
    changes.push(Change::CreateIndex(
        Index::on(&private("scheduled_calls"), &["queued_at"])
            .named("scheduled_calls_unjudged_idx")
            .r#where(Expr::Sql("judged_at is null")),
    ));
    changes.push(Change::CreateTable(
        Table::new(private("social_fetches"))
            .comment("When the schedule last asked fetch-social-updates for each account (the walk's order).")
            .column(uuid("account_id").not_null())
            .column(ts("requested_at").not_null())
            .primary_key(&["account_id"])
            .foreign_key(&["account_id"], social::accounts(), &["id"], OnDelete::Cascade),
    ));
    changes.push(Change::CreateTable(
        Table::new(private("scheduler_watch"))
            .comment("How far private.watch_schedules has read cron.job_run_details.")
            .column(
                Column::new("id", SqlType::Boolean)
                    .not_null()
                    .default(Expr::Bool(true)),
            )
            .column(
                Column::new("last_runid", SqlType::BigInt)
                    .not_null()
                    .default(Expr::Int(0)),
            )
            .primary_key(&["id"])
            .check("one_row", Expr::Sql("id")),
    ));
    changes.push(Change::Insert(Insert {
        table: private("scheduler_watch"),
        columns: vec!["id".into()],
        rows: vec![vec![Expr::Bool(true)]],
        conflict_target: vec!["id".into()],
    }));
    // Retention of the inbox: old monthly partitions are detached into this schema, with the
    // sentiments of their messages, and never dropped. Not exposed; postgres only.
    changes.push(Change::CreateSchema(ARCHIVE.into()));
    changes.push(Change::CreateTable(
        Table::new(Name::new(ARCHIVE, "social_sentiment"))
            .comment(
                "Sentiments of archived social_messages (their partitions are in this schema too).",
            )
            .column(Column::new("id", SqlType::Uuid).not_null())
            .column(uuid("message_id").not_null())
            .column(ts("message_received_at").not_null())
            .column(
                Column::new(
                    "sentiment_score",
                    SqlType::Numeric {
                        precision: 4,
                        scale: 3,
                    },
                )
                .not_null(),
            )
            .column(text("model_used").not_null())
            .column(ts("created_at").not_null())
            .primary_key(&["id"]),
    ));
    changes.push(index(
        &Name::new(ARCHIVE, "social_sentiment"),
        &["message_id", "message_received_at"],
    ));
    changes.push(Change::CreateFunction(
        Function::new(
            private("social_messages_attach"),
            Returns::Type(SqlType::BigInt),
            include_str!("sql/social_messages_attach.sql"),
        )
        .arg(Arg::new("month_start", SqlType::Date))
        .comment("Creates the month's partition of social_messages beside the parent and attaches it (SHARE UPDATE EXCLUSIVE on the parent: reads and writes go on), moving the month's rows out of the default partition with their sentiments; returns the rows moved."),
    ));
    changes.push(Change::CreateFunction(
        Function::new(
            private("social_messages_upkeep"),
            Returns::Type(SqlType::Jsonb),
            include_str!("sql/social_messages_upkeep.sql"),
        )
        .arg(Arg::new("upkeep_at", SqlType::Timestamptz).default(Expr::Sql("now()")))
        .arg(Arg::new("months_ahead", SqlType::Integer).default(Expr::Int(3)))
        .comment("The daily upkeep of social_messages: rows in the default partition move to their month, the current month and months_ahead after it exist with no gap, months past operations_settings.social_messages_kept_months are detached into schema archive; returns what it did."),
    ));
    changes.push(Change::CreateFunction(
        Function::new(
            public("create_social_messages_partitions"),
            Returns::Type(SqlType::Integer),
            include_str!("sql/create_social_messages_partitions_upkeep.sql"),
        )
        .arg(Arg::new("months_ahead", SqlType::Integer).default(Expr::Int(3)))
        .arg(Arg::new("from_month", SqlType::Date).default(Expr::Sql("current_date")))
        .security_definer()
        .execute(&["service_role"])
        .comment("Creates the monthly partitions of social_messages from from_month through months_ahead months later, moving rows of those months out of the default partition with their sentiments; returns how many it created. The moha-partition-upkeep job keeps them ahead daily (private.social_messages_upkeep)."),
    ));
    changes.push(Change::CreateFunction(
        Function::new(
            private("call_edge_function"),
            Returns::Type(SqlType::BigInt),
            include_str!("sql/call_edge_function.sql"),
        )
        .arg(Arg::new("job_name", SqlType::Text))
        .arg(Arg::new("function_name", SqlType::Text))
        .arg(Arg::new("payload", SqlType::Jsonb))
        .comment("POSTs payload to the edge function through pg_net (net.http_post), with the URL and the scheduled-call secret from Vault (project_url, scheduled_call_secret); records the request for private.watch_schedules; returns pg_net's request id."),
    ));
    changes.push(Change::CreateFunction(
        Function::new(
            private("queue_social_fetches"),
            Returns::Type(SqlType::Integer),
            include_str!("sql/queue_social_fetches.sql"),
        )
        .arg(Arg::new("job_name", SqlType::Text))
        .arg(Arg::new("batch", SqlType::Integer).default(Expr::Int(10)))
        .comment("Calls fetch-social-updates for the batch of connected accounts fetched longest ago; returns how many it queued."),
    ));
    changes.push(Change::CreateFunction(
        Function::new(
            private("watch_schedules"),
            Returns::Type(SqlType::Integer),
            include_str!("sql/watch_schedules.sql"),
        )
        .comment("Writes every failed scheduled call (by pg_net's answer) and every failed pg_cron run to error_logs (service 'schedule'); returns how many."),
    ));
    changes.push(Change::CreateFunction(
        Function::new(
            private("archive_projects_job"),
            Returns::Type(SqlType::Integer),
            "\nbegin\n  return public.archive_old_projects(\n    pg_catalog.now() - (select s.archive_completed_after from public.operations_settings s where s.id));\nend\n",
        )
        .comment("archive_old_projects with the cutoff of operations_settings."),
    ));
    changes.push(Change::CreateFunction(
        Function::new(private("purge"), Returns::Type(SqlType::Jsonb), include_str!("sql/purge.sql"))
            .comment("Deletes what has expired (ai_cache, read notifications, old agent_usage windows, expired user_sessions and Auth sessions past their time box, the scheduler's history) by operations_settings; returns the counts."),
    ));
    Release {
        version: "20250601000655",
        name: "operations",
        summary: "Operations settings, the record of scheduled calls and the functions the scheduled jobs run.",
        changes,
    }
}
