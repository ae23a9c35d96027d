//! The alert rules (issue 21), with Debian's `prometheus` package: `promtool check rules`, the
//! unit tests of `observability/prometheus/alerts_test.yml` (each alert firing and resolving),
//! proof that those tests notice a broken rule, and a real Prometheus scraping the local
//! gateway's `metrics` function that sees a stuck render fire its alert and then resolve.

use std::time::{Duration, Instant};

use moha_tests::gateway::fixture;
use moha_tests::{observability, prometheus};
use serde_json::Value;
use sql::moha::observability::METRICS;

fn rules() -> String {
    std::fs::read_to_string(prometheus::rules_file()).unwrap()
}

#[test]
fn the_rules_pass_promtool_check() {
    let (ok, out) = prometheus::promtool(
        &["check", "rules", prometheus::rules_file().to_str().unwrap()],
        None,
    );
    assert!(ok, "{out}");
    assert!(out.contains("SUCCESS: 7 rules found"), "{out}");
}

#[test]
fn each_alert_fires_and_resolves_in_the_unit_tests() {
    let (ok, out) = prometheus::promtool(
        &[
            "test",
            "rules",
            prometheus::rules_test_file().to_str().unwrap(),
        ],
        None,
    );
    assert!(ok, "{out}");
    let tests = std::fs::read_to_string(prometheus::rules_test_file()).unwrap();
    for alert in alert_names() {
        assert!(
            tests.contains(&format!("alertname: {alert}")),
            "{alert} has no unit test"
        );
    }
}

fn alert_names() -> Vec<String> {
    rules()
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- alert: "))
        .map(str::to_string)
        .collect()
}

/// docs/observability.md lists every alert of the rule file.
#[test]
fn the_docs_list_every_alert() {
    let docs = std::fs::read_to_string(xtask::paths::project_root().join("docs/observability.md"))
        .unwrap();
    for alert in alert_names() {
        assert!(docs.contains(&format!("| `{alert}` |")), "{alert}");
    }
}

/// The unit tests are live: breaking any one rule makes them fail, naming that alert.
#[test]
fn the_unit_tests_notice_a_broken_rule() {
    let breaks = [
        ("MohaRenderQueueStuck", "> 15 * 60", "> 30 * 60"),
        (
            "MohaAiSpendNearLimit",
            "moha_ai_limit_used_ratio > 0.8",
            "moha_ai_limit_used_ratio > 0.9",
        ),
        ("MohaErrorBurst", ">= 10", ">= 20"),
        ("MohaCronJobFailing", ">= 2", ">= 3"),
        ("MohaPartitionsRunningOut", "< 2", "< 1"),
        ("MohaFallbackRateHigh", "for: 10m", "for: 20m"),
        ("MohaMetricsAbsent", "for: 5m", "for: 15m"),
    ];
    assert_eq!(
        breaks.iter().map(|b| b.0.to_string()).collect::<Vec<_>>(),
        alert_names()
    );
    let original = rules();
    let tests = std::fs::read_to_string(prometheus::rules_test_file()).unwrap();
    for (alert, from, to) in breaks {
        assert_eq!(original.matches(from).count(), 1, "{from}");
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("alerts.yml"), original.replace(from, to)).unwrap();
        let test_file = dir.path().join("alerts_test.yml");
        std::fs::write(&test_file, &tests).unwrap();
        let (ok, out) = prometheus::promtool(&["test", "rules", test_file.to_str().unwrap()], None);
        assert!(!ok, "{alert}: the tests pass with `{to}`:\n{out}");
        assert!(
            out.contains(&format!("alertname: {alert}")),
            "{alert}:\n{out}"
        );
    }
}

/// Every metric a rule reads is one the function serves.
#[test]
fn the_rules_read_only_metrics_the_function_serves() {
    let text = rules();
    let mut used: Vec<&str> = text
        .match_indices("moha_")
        .map(|(i, _)| {
            let rest = &text[i..];
            let end = rest
                .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .collect();
    used.sort();
    used.dedup();
    assert!(used.len() >= 7, "{used:?}");
    for name in used {
        assert!(
            METRICS.iter().any(|m| m.name == name),
            "{name} is not in sql::moha::observability::METRICS"
        );
    }
}

/// The firing alerts Prometheus reports (`/api/v1/alerts`), by name.
fn firing(server: &prometheus::Server) -> Vec<Value> {
    server.api("/api/v1/alerts")["data"]["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["state"] == "firing")
        .cloned()
        .collect()
}

fn wait_for(what: &str, server: &prometheus::Server, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(90) {
        if done() {
            return;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    panic!(
        "{what} within 90 s; alerts: {}\nlog:\n{}",
        server.api("/api/v1/alerts"),
        server.log()
    );
}

/// A real Prometheus scrapes the local gateway's metrics function every second with the bearer
/// secret and evaluates the rule file: a render queued 20 minutes ago makes MohaRenderQueueStuck
/// fire, and running it resolves the alert.
#[test]
fn prometheus_scraping_the_function_fires_and_resolves_the_stuck_queue_alert() {
    let f = fixture();
    let secret_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(secret_file.path(), observability::METRICS_SECRET).unwrap();
    let server = prometheus::Server::start(&format!(
        "global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - {{rules}}
scrape_configs:
  - job_name: moha
    metrics_path: /functions/v1/metrics
    authorization:
      type: Bearer
      credentials_file: {}
    static_configs:
      - targets: ['127.0.0.1:{}']
",
        secret_file.path().display(),
        f.port
    ));
    // Scraped, and calm: no queued job, so nothing about the queue.
    wait_for("a successful scrape", &server, || {
        server.api("/api/v1/query?query=moha_render_jobs%7Bstatus%3D%22queued%22%7D")["data"]
            ["result"]
            .as_array()
            .is_some_and(|r| r.len() == 1 && r[0]["value"][1] == "0")
    });
    let up = server.api("/api/v1/query?query=up");
    assert_eq!(up["data"]["result"][0]["value"][1], "1", "{up}");
    assert!(
        !firing(&server)
            .iter()
            .any(|a| a["labels"]["alertname"] == "MohaRenderQueueStuck"),
        "{:?}",
        firing(&server)
    );

    let client = moha_tests::personas::id("client");
    let mut c = f.db.connect();
    c.batch_execute(&format!(
        "insert into public.render_requests (id, user_id, input_file_path, status, created_at)
         values ('21000000-0000-4000-a000-0000000000e1', '{client}', '{client}/in.png', 'queued',
                 now() - interval '20 minutes')"
    ))
    .unwrap();
    wait_for("MohaRenderQueueStuck firing", &server, || {
        firing(&server)
            .iter()
            .any(|a| a["labels"]["alertname"] == "MohaRenderQueueStuck")
    });
    let alert = firing(&server)
        .into_iter()
        .find(|a| a["labels"]["alertname"] == "MohaRenderQueueStuck")
        .unwrap();
    assert_eq!(alert["labels"]["severity"], "page");
    assert_eq!(alert["labels"]["status"], "queued");
    assert_eq!(alert["labels"]["job"], "moha");
    assert!(
        alert["annotations"]["description"]
            .as_str()
            .unwrap()
            .starts_with("The oldest queued render job is 20m"),
        "{alert}"
    );

    // The job runs: the alert resolves.
    c.batch_execute(
        "update public.render_requests set status = 'succeeded', completed_at = now()
          where id = '21000000-0000-4000-a000-0000000000e1'",
    )
    .unwrap();
    wait_for("MohaRenderQueueStuck resolved", &server, || {
        !server.api("/api/v1/alerts")["data"]["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["labels"]["alertname"] == "MohaRenderQueueStuck")
    });
}
