//! Issue 20, section 1: what the AI agents need to be priced, limited and queued.
//!
//! - `agent_limits.max_cost`: a spend cap in US dollars per window, next to the request and
//!   token caps. `increment_agent_counter` refuses a call once the window's spend has reached
//!   it, or, when the caller names the least the call will cost (`reserve_cost`: a render is
//!   billed for its image whatever else happens), when that would take the spend past it.
//! - Lead scoring with a model, queued: inserting a lead or writing a note queues the lead in
//!   `private.lead_score_queue` (statement triggers, so a bulk load costs one insert per
//!   statement); `assign-leads {"score_queued": true}`, called by the `moha-score-leads` job,
//!   takes a batch with `claim_lead_scoring` and writes each model score to `lead_scoring`, which
//!   `update_lead_score` blends in (30%). `assign-leads` queues a lead whose model score is
//!   stale (`queue_lead_scoring`).

use super::*;

/// The schedule that drains the lead-scoring queue.
pub const SCORE_LEADS: &str = "moha-score-leads";

fn queue() -> Name {
    private("lead_score_queue")
}

fn trigger(table: &Name, name: &str, event: Event, function: &str) -> Change {
    Change::CreateTrigger(Trigger {
        name: name.into(),
        table: table.clone(),
        timing: Timing::After,
        events: vec![event],
        level: Level::StatementWithRows,
        function: private(function),
        args: vec![],
    })
}

/// The release's Supabase Cron job.
pub fn jobs() -> Vec<Job> {
    vec![Job {
        name: SCORE_LEADS,
        schedule: "* * * * *",
        command: JobCommand::CallFunction {
            function: "assign-leads",
            body: r#"{"score_queued": true}"#,
        },
        comment: "Scores the queued leads with the model (assign-leads' score_queued drain).",
    }]
}

pub fn release() -> Release {
    let limits = public("agent_limits");
    let mut changes = vec![
        Change::AddColumn {
            table: limits.clone(),
            column: Column::new("max_cost", SqlType::Numeric { precision: 12, scale: 6 })
                .comment("US dollars per window; null: no spend limit. A call is refused once the window's spend reaches it, or when its known least cost would pass it; zero or less allows nothing."),
        },
        Change::CreateFunction(
            Function::new(
                private("agent_limits_at"),
                Returns::Table(vec![
                    ("scope".into(), enum_type("agent_scope")),
                    ("max_requests".into(), SqlType::Integer),
                    ("max_tokens".into(), SqlType::BigInt),
                    ("max_cost".into(), SqlType::AnyNumeric),
                    ("window_seconds".into(), SqlType::Integer),
                    ("window_start".into(), SqlType::Timestamptz),
                    ("key_user".into(), SqlType::Uuid),
                    ("key_project".into(), SqlType::Uuid),
                ]),
                include_str!("sql/agent_limits_at.sql"),
            )
            .arg(Arg::new("agent", SqlType::Text))
            .arg(Arg::new("user_id", SqlType::Uuid))
            .arg(Arg::new("project_id", SqlType::Uuid))
            .arg(Arg::new("at", SqlType::Timestamptz))
            .volatility(Volatility::Stable)
            .comment("The counter rows a call counts in: one per scope whose agent_limits row applies (with its limits, max_cost included), or, when none does, the user's row of the day (no limits)."),
        ),
        // Same result type as before: create or replace keeps it; its body now reads the above.
        Change::CreateFunction(
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
                include_str!("sql/agent_limit_windows_v2.sql"),
            )
            .arg(Arg::new("agent", SqlType::Text))
            .arg(Arg::new("user_id", SqlType::Uuid))
            .arg(Arg::new("project_id", SqlType::Uuid))
            .arg(Arg::new("at", SqlType::Timestamptz))
            .volatility(Volatility::Stable)
            .comment("agent_limits_at without max_cost."),
        ),
        Change::CreateFunction(
            Function::new(
                public("increment_agent_counter"),
                Returns::Type(SqlType::Integer),
                include_str!("sql/increment_agent_counter_reserve.sql"),
            )
            .arg(Arg::new("agent", SqlType::Text))
            .arg(Arg::new("user_id", SqlType::Uuid))
            .arg(Arg::new("project_id", SqlType::Uuid))
            .arg(Arg::new("reserve_cost", SqlType::AnyNumeric))
            .security_definer()
            .execute(&["service_role", AI_AGENT])
            .comment("Counts one call of an agent against agent_limits for the current window (requests, tokens and spend); reserve_cost is the least the call will cost in US dollars, refused (PT429) when it would take the spend past max_cost. Returns the remaining request allowance (null: unlimited)."),
        ),
        Change::CreateFunction(
            Function::new(
                public("increment_agent_counter"),
                Returns::Type(SqlType::Integer),
                include_str!("sql/increment_agent_counter_v2.sql"),
            )
            .arg(Arg::new("agent", SqlType::Text))
            .arg(Arg::new("user_id", SqlType::Uuid))
            .arg(Arg::new("project_id", SqlType::Uuid).default(Expr::Null))
            .security_definer()
            .execute(&["service_role", AI_AGENT])
            .comment("Counts one call of an agent (render, insights, leads, social) against agent_limits for the current window (requests, tokens, spend); returns the remaining allowance (null: unlimited) or fails with SQLSTATE PT429. user_id may be null for scheduled jobs."),
        ),
        Change::CreateFunction(
            Function::new(
                public("increment_render_counter"),
                Returns::Type(SqlType::Integer),
                include_str!("sql/increment_render_counter_reserve.sql"),
            )
            .arg(Arg::new("user_id", SqlType::Uuid))
            .arg(Arg::new("project_id", SqlType::Uuid))
            .arg(Arg::new("reserve_cost", SqlType::AnyNumeric))
            .security_definer()
            .execute(&["service_role", AI_AGENT])
            .comment("Counts one render against agent_limits (user, project, global) with the least it will cost (reserve_cost, US dollars); PT429 over a limit, PT403 when the user may not spend on renders."),
        ),
        Change::CreateFunction(
            Function::new(
                public("increment_render_counter"),
                Returns::Type(SqlType::Integer),
                include_str!("sql/increment_render_counter_v2.sql"),
            )
            .arg(Arg::new("user_id", SqlType::Uuid))
            .arg(Arg::new("project_id", SqlType::Uuid).default(Expr::Null))
            .security_definer()
            .execute(&["service_role", AI_AGENT])
            .comment("Counts one render against agent_limits for the current window; returns the remaining allowance (null: unlimited) or fails with SQLSTATE PT429. Fails with PT403 when the user may not spend on renders: a Client needs a linked client record, staff need render:create."),
        ),
    ];

    // The lead-scoring queue: one row per lead waiting for a model score.
    changes.push(Change::CreateTable(
        Table::new(queue())
            .comment(
                "Leads waiting for a model score (assign-leads' score_queued drain), oldest first.",
            )
            .column(uuid("lead_id").not_null())
            .column(ts("queued_at").not_null().default(Expr::Sql("now()")))
            .primary_key(&["lead_id"])
            .foreign_key(&["lead_id"], crm::leads(), &["id"], OnDelete::Cascade),
    ));
    changes.push(index(&queue(), &["queued_at"]));
    for (name, body, comment) in [
        (
            "queue_new_leads",
            include_str!("sql/queue_new_leads.sql"),
            "Queues inserted leads for a model score.",
        ),
        (
            "queue_noted_leads",
            include_str!("sql/queue_noted_leads.sql"),
            "Queues the leads of inserted notes for a model score.",
        ),
        (
            "queue_renoted_leads",
            include_str!("sql/queue_renoted_leads.sql"),
            "Queues the leads of notes whose text changed for a model score.",
        ),
    ] {
        changes.push(Change::CreateFunction(
            Function::new(private(name), Returns::Trigger, body)
                .security_definer()
                .comment(comment),
        ));
    }
    changes.push(trigger(
        &crm::leads(),
        "queue_score_insert",
        Event::Insert,
        "queue_new_leads",
    ));
    let notes = public("lead_notes");
    changes.push(trigger(
        &notes,
        "queue_score_insert",
        Event::Insert,
        "queue_noted_leads",
    ));
    changes.push(trigger(
        &notes,
        "queue_score_update",
        Event::Update,
        "queue_renoted_leads",
    ));
    changes.push(Change::CreateFunction(
        Function::new(
            public("claim_lead_scoring"),
            Returns::Table(vec![("lead_id".into(), SqlType::Uuid)]),
            include_str!("sql/claim_lead_scoring.sql"),
        )
        .arg(Arg::new("batch", SqlType::Integer))
        .security_definer()
        .execute(&["service_role", AI_AGENT])
        .comment("Takes up to batch (1-50) leads off the scoring queue, oldest first, skipping rows another drain holds; they are gone once the caller commits."),
    ));
    changes.push(Change::CreateFunction(
        Function::new(
            public("queue_lead_scoring"),
            Returns::Type(SqlType::Boolean),
            include_str!("sql/queue_lead_scoring.sql"),
        )
        .arg(Arg::new("lead_id", SqlType::Uuid))
        .security_definer()
        .execute(&["service_role", AI_AGENT])
        .comment("Queues the lead for a model score when its latest one is stale (none, older than its newest note, or older than 30 days); true when queued."),
    ));
    changes.extend(jobs().into_iter().map(Change::Schedule));
    Release {
        version: "20250601002400",
        name: "lead_ai",
        summary: "Spend limits (agent_limits.max_cost, reserve_cost), the lead-scoring queue and its schedule.",
        changes,
    }
}
