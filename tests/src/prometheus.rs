//! Debian's `prometheus` package in the tests (issue 21): `promtool` to lint the metrics page and
//! to check and unit-test the alert rules, and a real Prometheus server that scrapes the local
//! gateway. A missing package fails the test with the command that installs it; nothing is
//! skipped.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The rule file and its unit tests.
pub fn rules_file() -> PathBuf {
    xtask::paths::project_root().join("observability/prometheus/alerts.yml")
}

pub fn rules_test_file() -> PathBuf {
    xtask::paths::project_root().join("observability/prometheus/alerts_test.yml")
}

/// `/usr/bin/<name>` of Debian's prometheus package; panics with the install command without it.
pub fn bin(name: &str) -> PathBuf {
    let path = PathBuf::from("/usr/bin").join(name);
    assert!(
        path.exists(),
        "{} is missing: Debian's prometheus package provides it; install it with \
         `apt-get install -y --no-install-recommends prometheus` (.ci/run does)",
        path.display()
    );
    path
}

/// Runs promtool with `args` (and `stdin`); (success, stdout + stderr).
pub fn promtool(args: &[&str], stdin: Option<&str>) -> (bool, String) {
    let mut child = Command::new(bin("promtool"))
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// A Prometheus server on a free loopback port with its own storage, stopped when dropped.
pub struct Server {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Server {
    /// Starts Prometheus with `config` (YAML; `{rules}` is replaced by the rule file's path) and
    /// waits until it is ready.
    pub fn start(config: &str) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let port = xtask::cluster::free_port().unwrap();
        let config_path = dir.path().join("prometheus.yml");
        std::fs::write(
            &config_path,
            config.replace("{rules}", &rules_file().display().to_string()),
        )
        .unwrap();
        let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
        let child = Command::new(bin("prometheus"))
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let server = Server {
            child,
            port,
            _dir: dir,
        };
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(60) {
            if let Ok((200, _)) = server.get("/-/ready") {
                return server;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("Prometheus did not become ready:\n{}", server.log());
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("prometheus.log")).unwrap_or_default()
    }

    /// `GET path` on the server's HTTP API: (status, body).
    pub fn get(&self, path: &str) -> anyhow::Result<(u16, String)> {
        let reply = xtask::http::Request::new("GET", path)
            .read_timeout(Duration::from_secs(30))
            .send(self.port)?;
        let body = String::from_utf8_lossy(&reply.body_bytes()?).into_owned();
        Ok((reply.status, body))
    }

    /// `GET path` answered 200 with JSON.
    pub fn api(&self, path: &str) -> Value {
        let (status, body) = self.get(path).unwrap();
        assert_eq!(status, 200, "{path}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
