//! The default prompt templates the edge functions fall back to without a model (issue 5):
//! shipped by a migration, not the seed, because production needs them as much as the local
//! stack. `on conflict do nothing`, so an Admin's edited template is never overwritten.

use super::*;

/// The insights agent's default: `generate-ai-insights` renders it from the SQL aggregates when
/// the provider is down or the quota is spent and nothing is cached.
pub const INSIGHTS_TEMPLATE: &str = "Summary of {{table}} for the {{period}} ({{groups}} groups; written from the figures without a model):\n{{aggregates}}";

pub fn release() -> Release {
    let changes = vec![Change::Insert(Insert {
        table: public("prompt_templates"),
        columns: vec![
            "name".into(),
            "agent".into(),
            "template".into(),
            "is_default".into(),
        ],
        rows: vec![vec![
            Expr::text("insights default"),
            Expr::text("insights"),
            Expr::text(INSIGHTS_TEMPLATE),
            Expr::Bool(true),
        ]],
        conflict_target: vec![],
    })];
    Release {
        version: "20250601001000",
        name: "default_prompts",
        summary: "The default insights template, the fallback of generate-ai-insights.",
        changes,
    }
}
