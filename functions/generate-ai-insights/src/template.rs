//! The last fallback: a summary written from the aggregates by the insights agent's default
//! `prompt_templates` row, without a model. Deterministic: the same aggregates and template give
//! the same text.
//!
//! Placeholders are `{{name}}`, as in the render templates:
//! - `{{table}}`: the table's name;
//! - `{{period}}`: the period the aggregates cover;
//! - `{{groups}}`: how many aggregate rows there are;
//! - `{{aggregates}}`: one line per aggregate row, `- column: value, ...`, in the SQL's order.

use moha_edge::Row;
use serde_json::Value;

use crate::tables::InsightTable;

/// The period every aggregate statement covers.
pub const PERIOD: &str = "last 90 days";

/// Aggregate rows written out at most; the rest are counted.
pub const MAX_LINES: usize = 30;

/// The longest value a cell contributes.
const MAX_VALUE_CHARS: usize = 80;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("the insights template has an unknown placeholder {{{{{0}}}}}; use table, period, groups or aggregates")]
    UnknownPlaceholder(String),
    #[error("the insights template has an unclosed placeholder; close it with }}}}")]
    Unclosed,
}

fn cell(value: &Value) -> String {
    let text = match value {
        Value::Null => "none".to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    one_line.chars().take(MAX_VALUE_CHARS).collect()
}

/// The aggregate rows as lines, bounded by [`MAX_LINES`].
pub fn lines(aggregates: &[Row]) -> String {
    if aggregates.is_empty() {
        return format!("- no rows in the {PERIOD}");
    }
    let mut out: Vec<String> = aggregates
        .iter()
        .take(MAX_LINES)
        .map(|row| {
            let cells: Vec<String> = row
                .iter()
                .map(|(k, v)| format!("{k}: {}", cell(v)))
                .collect();
            format!("- {}", cells.join(", "))
        })
        .collect();
    if aggregates.len() > MAX_LINES {
        out.push(format!(
            "- and {} more groups",
            aggregates.len() - MAX_LINES
        ));
    }
    out.join("\n")
}

/// Fills the template. Values are inserted as they are and never scanned again, so a value
/// cannot open a placeholder of its own.
pub fn render(
    template: &str,
    table: InsightTable,
    aggregates: &[Row],
) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(template.len() + 64 * aggregates.len().min(MAX_LINES));
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or(TemplateError::Unclosed)?;
        match after[..end].trim() {
            "table" => out.push_str(table.name()),
            "period" => out.push_str(PERIOD),
            "groups" => out.push_str(&aggregates.len().to_string()),
            "aggregates" => out.push_str(&lines(aggregates)),
            other => return Err(TemplateError::UnknownPlaceholder(other.to_string())),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rows(v: Value) -> Vec<Row> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_object().unwrap().clone())
            .collect()
    }

    #[test]
    fn renders_every_placeholder_from_the_aggregates_in_their_order() {
        let agg = rows(json!([
            {"status": "new", "source": "referral", "leads": "3", "avg_score": "55.0"},
            {"status": "won", "source": "instagram", "leads": "1", "avg_score": null},
        ]));
        let out = render(
            "{{table}} ({{ period }}), {{groups}} groups:\n{{aggregates}}",
            InsightTable::Leads,
            &agg,
        )
        .unwrap();
        assert_eq!(
            out,
            "leads (last 90 days), 2 groups:\n\
             - status: new, source: referral, leads: 3, avg_score: 55.0\n\
             - status: won, source: instagram, leads: 1, avg_score: none"
        );
        // Deterministic: the same input gives the same text.
        assert_eq!(
            out,
            render(
                "{{table}} ({{ period }}), {{groups}} groups:\n{{aggregates}}",
                InsightTable::Leads,
                &agg
            )
            .unwrap()
        );
    }

    #[test]
    fn lines_are_bounded_and_values_cannot_open_placeholders() {
        let many: Vec<Row> = (0..MAX_LINES + 5)
            .map(|i| {
                json!({"metric_type": "reach", "total": i})
                    .as_object()
                    .unwrap()
                    .clone()
            })
            .collect();
        let out = lines(&many);
        assert_eq!(out.lines().count(), MAX_LINES + 1);
        assert!(out.ends_with("- and 5 more groups"), "{out}");
        let sneaky = rows(json!([{"message_type": "{{table}}\nsecond line", "messages": 1}]));
        let out = render("{{aggregates}}", InsightTable::SocialMessages, &sneaky).unwrap();
        assert_eq!(out, "- message_type: {{table}} second line, messages: 1");
        assert_eq!(lines(&[]), "- no rows in the last 90 days");
    }

    #[test]
    fn broken_templates_are_errors() {
        assert_eq!(
            render("{{owner_email}}", InsightTable::Leads, &[]),
            Err(TemplateError::UnknownPlaceholder("owner_email".into()))
        );
        assert_eq!(
            render("{{table", InsightTable::Leads, &[]),
            Err(TemplateError::Unclosed)
        );
        assert_eq!(
            render("no placeholders", InsightTable::Leads, &[]).unwrap(),
            "no placeholders"
        );
    }
}
