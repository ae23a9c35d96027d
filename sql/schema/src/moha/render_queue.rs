//! What the render edge function needs to queue and retry jobs, and to mark fallback results
//! (issue 5): `render_requests.retry_at` and `attempts`, `render_results.is_fallback`.
//!
//! One result per request is guaranteed by the function's claim (the job's row lock and status
//! move), not by a unique constraint: adding one to an existing table needs a concurrent index
//! build, which a transactional migration cannot do. Due jobs are found through the existing
//! partial index `render_requests_queue_idx` (status, created_at).

use super::*;

pub fn release() -> Release {
    let requests = ai::render_requests();
    let changes = vec![
        Change::AddColumn {
            table: requests.clone(),
            column: ts("retry_at").comment(
                "When a queued job may run again (over its limit, or the provider down); null: now.",
            ),
        },
        Change::AddColumn {
            table: requests.clone(),
            column: Column::new("attempts", SqlType::Integer)
                .not_null()
                .default(Expr::Int(0))
                .lint_ignore(
                    "prefer-bigint-over-int",
                    "runs of one job, five at most; it sets the retry backoff",
                )
                .comment("Runs made, each a charged model call, counted before the call; the retry delay doubles with each, and the job fails after five."),
        },
        // The agent moves these (re-queue, count runs). Its update privilege may be per column,
        // named by the security release before these columns existed, so they are granted here.
        Change::Grant(Grant {
            privileges: vec![Privilege::Update],
            object: GrantObject::Columns(requests.clone(), vec!["retry_at".into(), "attempts".into()]),
            roles: vec![AI_AGENT.into()],
            revoke: false,
        }),
        Change::AddColumn {
            table: public("render_results"),
            column: Column::new("is_fallback", SqlType::Boolean)
                .not_null()
                .default(Expr::Bool(false))
                .comment("True when the output is a cached answer used because the provider failed."),
        },
    ];
    Release {
        version: "20250601000800",
        name: "render_queue",
        summary: "Render job retry time and attempts; fallback flag on render results.",
        changes,
    }
}
