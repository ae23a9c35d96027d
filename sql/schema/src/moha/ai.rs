//! AI guardrails (limits, usage, cache, prompt templates) and AI 3D rendering.

use super::*;

pub fn render_requests() -> Name {
    public("render_requests")
}

pub fn release() -> Release {
    let limits = public("agent_limits");
    let usage = public("agent_usage");
    let mut changes = vec![
        create_enum("agent_scope", &["user", "project", "global"]),
        create_enum(
            "render_status",
            &[
                "queued",
                "pending",
                "processing",
                "succeeded",
                "failed",
                "cancelled",
            ],
        ),
    ];
    changes.extend(table(
        Table::new(limits.clone())
            .comment("Per-agent limits per user, project or globally. A row without user_id/project_id is the scope's default.")
            .column(uuid_pk())
            .column(text("agent").not_null().comment("e.g. render, social, leads."))
            .column(Column::new("scope", enum_type("agent_scope")).not_null())
            .column(uuid("user_id"))
            .column(uuid("project_id"))
            .column(
                Column::new("max_requests", SqlType::Integer)
                    .not_null()
                    .lint_ignore("prefer-bigint-over-int", "a request cap per window, set by an admin; not an id or a counter"),
            )
            .column(Column::new("max_tokens", SqlType::BigInt).comment("Null: no token limit."))
            .column(
                Column::new("window_seconds", SqlType::Integer)
                    .not_null()
                    .default(Expr::Int(86400))
                    .lint_ignore("prefer-bigint-over-int", "a window length in seconds: 2^31 s is 68 years"),
            )
            .column(created_at())
            .column(updated_at())
            .primary_key(&["id"])
            .unique_nulls_not_distinct(&["agent", "scope", "user_id", "project_id"])
            .foreign_key(&["user_id"], rbac::users(), &["id"], OnDelete::Cascade)
            .foreign_key(&["project_id"], portfolio::projects(), &["id"], OnDelete::Cascade)
            .check(
                "scope",
                Expr::Sql(
                    "(scope = 'global' and user_id is null and project_id is null) or (scope = 'user' and project_id is null) or (scope = 'project' and user_id is null)",
                ),
            )
            .check("max", Expr::Sql("max_requests >= 0 and (max_tokens is null or max_tokens >= 0)"))
            .check("window", Expr::Sql("window_seconds > 0")),
        Audit::Yes,
    ));
    changes.push(index(&limits, &["user_id"]));
    changes.push(index(&limits, &["project_id"]));
    changes.extend(table(
        Table::new(usage.clone())
            .comment("Requests, tokens and cost per agent, user or project, and window: the counters behind agent_limits.")
            .column(Column::new("id", SqlType::BigInt).identity())
            .column(text("agent").not_null())
            .column(uuid("user_id"))
            .column(uuid("project_id"))
            .column(ts("window_start").not_null())
            .column(
                Column::new("request_count", SqlType::Integer)
                    .not_null()
                    .default(Expr::Int(0))
                    .lint_ignore("prefer-bigint-over-int", "counts one window, capped by the integer max_requests; an unlimited day overflows only above 24,000 calls a second"),
            )
            .column(Column::new("tokens", SqlType::BigInt).not_null().default(Expr::Int(0)))
            .column(Column::new("cost", SqlType::Numeric { precision: 12, scale: 6 }).not_null().default(Expr::Int(0)))
            .column(updated_at())
            .primary_key(&["id"])
            .unique_nulls_not_distinct(&["agent", "user_id", "project_id", "window_start"])
            .foreign_key(&["user_id"], rbac::users(), &["id"], OnDelete::Cascade)
            .foreign_key(&["project_id"], portfolio::projects(), &["id"], OnDelete::Cascade)
            .check("counts", Expr::Sql("request_count >= 0 and tokens >= 0 and cost >= 0")),
        Audit::No,
    ));
    changes.push(index(&usage, &["user_id"]));
    changes.push(index(&usage, &["project_id"]));
    changes.extend(table(
        Table::new(public("ai_cache"))
            .comment("Cached AI responses by prompt hash: the fallback when a quota is exhausted.")
            .column(uuid_pk())
            .column(
                text("prompt_hash")
                    .not_null()
                    .comment("sha-256 hex of the normalised prompt."),
            )
            .column(text("model").not_null())
            .column(Column::new("response", SqlType::Jsonb).not_null())
            .column(
                Column::new("hits", SqlType::BigInt)
                    .not_null()
                    .default(Expr::Int(0)),
            )
            .column(created_at())
            .column(ts("expires_at"))
            .primary_key(&["id"])
            .unique(&["prompt_hash", "model"])
            .check("prompt_hash", Expr::Sql("prompt_hash ~ '^[0-9a-f]{64}$'")),
        Audit::No,
    ));
    changes.push(index(&public("ai_cache"), &["expires_at"]));
    changes.extend(table(
        Table::new(public("prompt_templates"))
            .comment("Prompt templates; the default per agent is used when AI quota is exhausted or no custom prompt exists.")
            .column(uuid_pk())
            .column(text("name").not_null())
            .column(text("agent").not_null())
            .column(
                Column::new("version", SqlType::Integer)
                    .not_null()
                    .default(Expr::Int(1))
                    .lint_ignore("prefer-bigint-over-int", "a template version number, raised by hand"),
            )
            .column(text("template").not_null())
            .column(Column::new("is_default", SqlType::Boolean).not_null().default(Expr::Bool(false)))
            .column(created_at())
            .column(updated_at())
            .primary_key(&["id"])
            .unique(&["name", "version"]),
        Audit::Yes,
    ));
    changes.push(Change::CreateIndex(
        Index::on(&public("prompt_templates"), &["agent"])
            .named("prompt_templates_one_default_idx")
            .unique()
            .r#where(Expr::Sql("is_default")),
    ));

    changes.extend(table(
        Table::new(render_requests())
            .comment("AI 3D rendering jobs.")
            .column(uuid_pk())
            .column(uuid("user_id").not_null().default(Expr::Sql("auth.uid()")))
            .column(uuid("project_id"))
            .column(text("input_file_path").not_null())
            .column(
                text("model")
                    .not_null()
                    .default(Expr::text(super::security::RENDER_MODELS[0]).cast(SqlType::Text)),
            )
            .column(
                Column::new("status", enum_type("render_status"))
                    .not_null()
                    .default(enum_value("render_status", "queued")),
            )
            .column(text("error_message"))
            .column(created_at())
            .column(updated_at())
            .column(ts("completed_at"))
            .primary_key(&["id"])
            .foreign_key(&["user_id"], rbac::users(), &["id"], OnDelete::Cascade)
            .foreign_key(
                &["project_id"],
                portfolio::projects(),
                &["id"],
                OnDelete::SetNull,
            )
            .check(
                "completed",
                Expr::Sql("completed_at is null or status in ('succeeded', 'failed', 'cancelled')"),
            ),
        Audit::Yes,
    ));
    changes.push(index(&render_requests(), &["user_id"]));
    changes.push(index(&render_requests(), &["project_id"]));
    changes.push(Change::CreateIndex(
        Index::on(&render_requests(), &["status", "created_at"])
            .named("render_requests_queue_idx")
            .r#where(Expr::Sql("status in ('queued', 'pending', 'processing')")),
    ));
    changes.extend(table(
        Table::new(public("render_results"))
            .comment("Outputs of render jobs from Claude/Gemini, with their cost.")
            .column(uuid_pk())
            .column(uuid("request_id").not_null())
            .column(text("output_file_path").not_null())
            .column(
                Column::new("cost_tokens", SqlType::Integer)
                    .not_null()
                    .default(Expr::Int(0))
                    .lint_ignore(
                        "prefer-bigint-over-int",
                        "tokens of one render result: millions at most, never billions",
                    ),
            )
            .column(text("model_used").not_null())
            .column(
                Column::new(
                    "cost_usd",
                    SqlType::Numeric {
                        precision: 12,
                        scale: 6,
                    },
                )
                .not_null()
                .default(Expr::Int(0)),
            )
            .column(created_at())
            .primary_key(&["id"])
            .foreign_key(
                &["request_id"],
                render_requests(),
                &["id"],
                OnDelete::Cascade,
            )
            .check("cost", Expr::Sql("cost_tokens >= 0 and cost_usd >= 0")),
        Audit::Yes,
    ));
    changes.push(index(&public("render_results"), &["request_id"]));
    changes.extend(table(
        Table::new(public("render_parameters"))
            .comment("Structured inputs of a render job's prompt (one set per request).")
            .column(uuid_pk())
            .column(uuid("request_id").not_null())
            .column(text("style"))
            .column(text("furnishings"))
            .column(text("lighting"))
            .column(text("walls"))
            .column(text("flooring"))
            .column(text("exterior"))
            .column(
                Column::new("extra", SqlType::Jsonb)
                    .not_null()
                    .default(Expr::Sql("'{}'::jsonb")),
            )
            .primary_key(&["id"])
            .unique(&["request_id"])
            .foreign_key(
                &["request_id"],
                render_requests(),
                &["id"],
                OnDelete::Cascade,
            ),
        Audit::Yes,
    ));
    changes.push(Change::CreateFunction(
        Function::new(
            private("agent_limit_windows"),
            Returns::Table(vec![
                ("scope".into(), enum_type("agent_scope")),
                ("max_requests".into(), SqlType::Integer),
                ("max_tokens".into(), SqlType::BigInt),
                ("window_seconds".into(), SqlType::Integer),
                ("window_start".into(), SqlType::Timestamptz),
                ("key_user".into(), SqlType::Uuid),
                ("key_project".into(), SqlType::Uuid),
            ]),
            include_str!("sql/agent_limit_windows.sql"),
        )
        .arg(Arg::new("agent", SqlType::Text))
        .arg(Arg::new("user_id", SqlType::Uuid))
        .arg(Arg::new("project_id", SqlType::Uuid))
        .arg(Arg::new("at", SqlType::Timestamptz))
        .volatility(Volatility::Stable)
        .comment("The counter rows a call counts in: one per scope whose agent_limits row applies (with its limits), or, when none does, the user's row of the day (no limits)."),
    ));
    changes.push(Change::CreateFunction(
        Function::new(
            public("increment_agent_counter"),
            Returns::Type(SqlType::Integer),
            include_str!("sql/increment_agent_counter.sql"),
        )
        .arg(Arg::new("agent", SqlType::Text))
        .arg(Arg::new("user_id", SqlType::Uuid))
        .arg(Arg::new("project_id", SqlType::Uuid).default(Expr::Null))
        .security_definer()
        .execute(&["service_role", AI_AGENT])
        .comment("Counts one call of an agent (render, insights, leads, social) against agent_limits for the current window; returns the remaining allowance (null: unlimited) or fails with SQLSTATE PT429. user_id may be null for scheduled jobs."),
    ));
    changes.push(Change::CreateFunction(
        Function::new(
            public("record_agent_usage"),
            Returns::Void,
            include_str!("sql/record_agent_usage.sql"),
        )
        .arg(Arg::new("agent", SqlType::Text))
        .arg(Arg::new("user_id", SqlType::Uuid))
        .arg(Arg::new("project_id", SqlType::Uuid))
        .arg(Arg::new("tokens", SqlType::BigInt))
        .arg(Arg::new("cost", SqlType::AnyNumeric).default(Expr::Int(0)))
        .security_definer()
        .execute(&["service_role", AI_AGENT])
        .comment("Adds a finished call's tokens and cost to the counter rows increment_agent_counter counted it in, so max_tokens limits see them."),
    ));
    changes.push(Change::CreateFunction(
        Function::new(
            public("increment_render_counter"),
            Returns::Type(SqlType::Integer),
            include_str!("sql/increment_render_counter.sql"),
        )
        .arg(Arg::new("user_id", SqlType::Uuid))
        .arg(Arg::new("project_id", SqlType::Uuid).default(Expr::Null))
        .security_definer()
        .execute(&["service_role", AI_AGENT])
        .comment("Counts one render against agent_limits for the current window; returns the remaining allowance (null: unlimited) or fails with SQLSTATE PT429. Fails with PT403 when the user may not spend on renders: a Client needs a linked client record, staff need render:create."),
    ));
    Release {
        version: "20250601000400",
        name: "ai",
        summary: "AI guardrails (limits, usage, cache, prompt templates) and 3D rendering jobs.",
        changes,
    }
}
