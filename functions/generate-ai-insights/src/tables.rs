//! The allow-list: each table that may be summarised, with its constant aggregate and sample
//! statements (names from issue 3's schema). Aggregates are ordered, so the same data gives the
//! same prompt (and cache key) and the same template summary.

use moha_edge::Error;
use serde_json::Value;

use crate::pii;

pub const SYSTEM: &str = "You are an analyst for an interior-design studio. Summarise trends \
in the aggregates in at most five short bullet points. Never guess personal data.";

/// Rows sent as a sample, at most.
pub const SAMPLE_ROWS: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsightTable {
    Leads,
    RenderRequests,
    SocialMessages,
    SocialAnalytics,
}

impl InsightTable {
    pub const ALL: [InsightTable; 4] = [
        InsightTable::Leads,
        InsightTable::RenderRequests,
        InsightTable::SocialMessages,
        InsightTable::SocialAnalytics,
    ];

    pub fn name(self) -> &'static str {
        match self {
            InsightTable::Leads => "leads",
            InsightTable::RenderRequests => "render_requests",
            InsightTable::SocialMessages => "social_messages",
            InsightTable::SocialAnalytics => "social_analytics",
        }
    }

    /// Anything but an allow-listed name is a 400 that lists the allowed ones.
    pub fn parse(name: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|t| t.name() == name)
            .ok_or_else(|| {
                let allowed: Vec<_> = Self::ALL.iter().map(|t| t.name()).collect();
                Error::BadRequest(format!("table_name must be one of: {}", allowed.join(", ")))
            })
    }

    pub fn aggregate_sql(self) -> &'static str {
        match self {
            InsightTable::Leads => {
                "select status::text as status, source::text as source, \
                count(*) as leads, round(avg(score), 1) as avg_score \
                from public.leads where created_at > now() - interval '90 days' \
                group by 1, 2 order by 3 desc, 1, 2"
            }
            InsightTable::RenderRequests => {
                "select status::text as status, model, count(*) as jobs \
                from public.render_requests where created_at > now() - interval '90 days' \
                group by 1, 2 order by 3 desc, 1, 2"
            }
            InsightTable::SocialMessages => {
                "select message_type, status::text as status, \
                date_trunc('week', received_at)::date::text as week, count(*) as messages \
                from public.social_messages where received_at > now() - interval '90 days' \
                group by 1, 2, 3 order by 3, 4 desc, 1, 2"
            }
            InsightTable::SocialAnalytics => {
                "select metric_type, \
                date_trunc('week', recorded_at)::date::text as week, sum(value) as total \
                from public.social_analytics where recorded_at > now() - interval '90 days' \
                group by 1, 2 order by 2, 1"
            }
        }
    }

    pub fn sample_sql(self) -> &'static str {
        match self {
            InsightTable::Leads => {
                "select status::text as status, source::text as source, score \
                from public.leads order by created_at desc, id limit 20"
            }
            InsightTable::RenderRequests => {
                "select status::text as status, model \
                from public.render_requests order by created_at desc, id limit 20"
            }
            InsightTable::SocialMessages => {
                "select message_type, left(content, 200) as content \
                from public.social_messages order by received_at desc, id limit 20"
            }
            InsightTable::SocialAnalytics => {
                "select metric_type, value, recorded_at::text as recorded_at \
                from public.social_analytics order by recorded_at desc, id limit 20"
            }
        }
    }
}

/// The prompt: aggregates in full, the sample bounded and already scrubbed.
pub fn prompt(
    table: InsightTable,
    aggregates: &[moha_edge::Row],
    sample: &[moha_edge::Row],
) -> String {
    let sample: Vec<Value> = sample
        .iter()
        .take(SAMPLE_ROWS)
        .cloned()
        .map(Value::Object)
        .collect();
    format!(
        "Table: {}\nAggregates (last 90 days):\n{}\nRecent sample ({} rows, personal data removed):\n{}",
        table.name(),
        Value::from(aggregates.iter().cloned().map(Value::Object).collect::<Vec<_>>()),
        sample.len(),
        pii::scrub(&Value::from(sample).to_string()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_allow_listed_tables_are_accepted() {
        assert_eq!(InsightTable::parse("leads").unwrap(), InsightTable::Leads);
        for bad in [
            "users",
            "audit_logs",
            "leads; drop table leads",
            "LEADS",
            "public.leads",
            "",
        ] {
            let e = InsightTable::parse(bad).unwrap_err();
            assert_eq!(e.status(), 400, "{bad}");
            assert!(e.to_string().contains("social_analytics"));
        }
    }

    #[test]
    fn every_statement_reads_its_own_table_only_and_is_bounded() {
        for t in InsightTable::ALL {
            let from = format!("from public.{} ", t.name());
            assert!(t.aggregate_sql().contains(&from), "{t:?}");
            assert!(t.sample_sql().contains(&from), "{t:?}");
            assert!(
                t.sample_sql().ends_with(&format!("limit {SAMPLE_ROWS}")),
                "{t:?}"
            );
        }
    }

    #[test]
    fn prompt_never_carries_contact_details() {
        let row = |v: Value| v.as_object().unwrap().clone();
        let sample = pii::scrub_rows(vec![row(serde_json::json!({
            "content": "call me on +44 20 7946 0958 or mail ana@example.com", "email": "x@y.z"
        }))]);
        let p = prompt(InsightTable::SocialMessages, &[], &sample);
        assert!(
            !p.contains("7946") && !p.contains("example.com") && !p.contains("x@y.z"),
            "{p}"
        );
    }
}
