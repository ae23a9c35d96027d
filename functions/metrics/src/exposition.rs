//! The Prometheus text exposition format, version 0.0.4: for each metric of the catalog a
//! `# HELP` and a `# TYPE` line, then its samples `name{label="value",...} value`, one per line,
//! each line ending in `\n`. HELP text escapes `\` and newlines; label values escape `\`, `"` and
//! newlines. Datadog's OpenMetrics check reads the same format.

use std::fmt::Write as _;

use serde_json::Value;
use sql::moha::observability::{Metric, Source, METRICS};

/// What a scrape is told it gets.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// One row of `public.backend_metrics()`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub metric: String,
    /// Label names and values, in the order the JSON object gave them.
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

impl Sample {
    /// A row as the function selects it: `metric`, `labels` (a JSON object as text) and `value`
    /// (a number as text).
    pub fn from_row(row: &Value) -> Result<Sample, String> {
        let metric = row["metric"]
            .as_str()
            .ok_or("a sample without a metric name")?
            .to_string();
        let labels: Value = serde_json::from_str(row["labels"].as_str().unwrap_or("{}"))
            .map_err(|e| format!("{metric}: labels are not JSON: {e}"))?;
        let labels = labels
            .as_object()
            .ok_or_else(|| format!("{metric}: labels are not an object"))?
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), v)
            })
            .collect();
        let value = match &row["value"] {
            Value::String(s) => s.parse::<f64>().ok(),
            Value::Number(n) => n.as_f64(),
            _ => None,
        }
        .ok_or_else(|| format!("{metric}: the value is not a number"))?;
        Ok(Sample {
            metric,
            labels,
            value,
        })
    }
}

fn escape_help(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\n', "\\n")
}

fn escape_label(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// A value as Prometheus parses it: the shortest decimal that reads back the same (Rust's
/// `Display` for `f64`), and `NaN`/`+Inf`/`-Inf` spelt the Go way.
pub fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{v}")
    }
}

fn labels(def: &Metric, given: &[(String, String)]) -> String {
    // The catalog's label order first, so the output is the same for the same state.
    let mut ordered: Vec<&(String, String)> = def
        .labels
        .iter()
        .filter_map(|l| given.iter().find(|(k, _)| k == l))
        .collect();
    let mut rest: Vec<&(String, String)> = given
        .iter()
        .filter(|(k, _)| !def.labels.contains(&k.as_str()))
        .collect();
    rest.sort();
    ordered.extend(rest);
    if ordered.is_empty() {
        return String::new();
    }
    let inner: Vec<String> = ordered
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v)))
        .collect();
    format!("{{{}}}", inner.join(","))
}

/// The page: every metric of the catalog in its order, with its samples; `collect_seconds` is
/// the function's own `moha_metrics_collect_duration_seconds`. Samples of a name the catalog
/// does not know are left out (the catalog is the contract; a test keeps the SQL to it).
pub fn render(samples: &[Sample], collect_seconds: f64) -> String {
    let mut out = String::new();
    for def in METRICS {
        let _ = writeln!(out, "# HELP {} {}", def.name, escape_help(def.help));
        let _ = writeln!(out, "# TYPE {} gauge", def.name);
        if def.source == Source::Function {
            let _ = writeln!(out, "{} {}", def.name, number(collect_seconds));
            continue;
        }
        for s in samples.iter().filter(|s| s.metric == def.name) {
            let _ = writeln!(
                out,
                "{}{} {}",
                def.name,
                labels(def, &s.labels),
                number(s.value)
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample(m: &str, labels: &[(&str, &str)], v: f64) -> Sample {
        Sample {
            metric: m.into(),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            value: v,
        }
    }

    #[test]
    fn every_metric_gets_help_and_type_and_its_samples() {
        let page = render(
            &[
                sample("moha_render_jobs", &[("status", "queued")], 2.0),
                sample(
                    "moha_ai_limit_used_ratio",
                    &[
                        ("scope", "global"),
                        ("limit", "tokens"),
                        ("agent", "render"),
                    ],
                    0.9,
                ),
                sample("moha_unknown", &[], 1.0),
            ],
            0.0125,
        );
        for m in METRICS {
            assert!(
                page.contains(&format!("# TYPE {} gauge\n", m.name)),
                "{}",
                m.name
            );
            assert!(page.contains(&format!("# HELP {} ", m.name)), "{}", m.name);
        }
        assert!(
            page.contains("\nmoha_render_jobs{status=\"queued\"} 2\n"),
            "{page}"
        );
        // Labels in the catalog's order, whatever order the JSON had.
        assert!(
            page.contains(
                "\nmoha_ai_limit_used_ratio{agent=\"render\",scope=\"global\",limit=\"tokens\"} 0.9\n"
            ),
            "{page}"
        );
        assert!(page.contains("\nmoha_metrics_collect_duration_seconds 0.0125\n"));
        assert!(!page.contains("moha_unknown"));
        assert!(page.ends_with('\n'));
    }

    #[test]
    fn label_values_and_help_are_escaped() {
        let page = render(
            &[sample(
                "moha_errors_recent",
                &[("service", "a \"quoted\"\\path\nnext")],
                3.0,
            )],
            0.0,
        );
        assert!(
            page.contains("moha_errors_recent{service=\"a \\\"quoted\\\"\\\\path\\nnext\"} 3\n"),
            "{page}"
        );
        assert_eq!(escape_help("a\\b\nc"), "a\\\\b\\nc");
    }

    #[test]
    fn numbers_read_back_exactly() {
        assert_eq!(number(2.0), "2");
        assert_eq!(number(0.1), "0.1");
        assert_eq!(number(1_893_715_200.0), "1893715200");
        assert_eq!(number(f64::NAN), "NaN");
        assert_eq!(number(f64::INFINITY), "+Inf");
        assert_eq!(number(f64::NEG_INFINITY), "-Inf");
    }

    #[test]
    fn rows_are_read_as_the_function_selects_them() {
        let s = Sample::from_row(&json!({
            "metric": "moha_ai_cost_usd_today",
            "labels": "{\"agent\": \"render\"}",
            "value": "0.250000"
        }))
        .unwrap();
        assert_eq!(
            s,
            sample("moha_ai_cost_usd_today", &[("agent", "render")], 0.25)
        );
        assert!(Sample::from_row(&json!({"metric": "x", "labels": "{}", "value": "abc"})).is_err());
        assert!(Sample::from_row(&json!({"metric": "x", "labels": "[]", "value": "1"})).is_err());
    }
}
