//! The local stack's pg_net worker (issue 17). On hosted, pg_net's C background worker takes the
//! requests `net.http_post` / `net.http_get` queue in `net.http_request_queue`, sends them, and
//! writes each answer to `net._http_response`. Debian has no pg_net, so the compat layer provides
//! the SQL side (`xtask/sql/pg_net.sql`) and this worker does the rest, as a client session named
//! `pg_net worker`: it sends requests to 127.0.0.1 (or `localhost`) only, over plain HTTP, and
//! answers anything else with an error row, so nothing leaves the machine. Like pg_net, it deletes
//! answers older than `pg_net.ttl` (6 hours).
//!
//! `cargo xtask up` runs it as a background process (`cargo xtask net-worker`); tests run it in a
//! thread ([`NetWorker::start`]).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use postgres::fallible_iterator::FallibleIterator;
use serde_json::{Map, Value};

use crate::infra::db;

/// `application_name` of the worker's session (`net.check_worker_is_up()` looks for it).
pub const APPLICATION_NAME: &str = "pg_net worker";

/// Requests taken per round, as pg_net's `pg_net.batch_size` default.
const BATCH: i64 = 200;

/// pg_net's `pg_net.ttl` default.
const TTL: &str = "6 hours";

/// The largest answer kept, so a runaway body cannot fill the response table.
const MAX_BODY: usize = 8 << 20;

/// One queued request.
#[derive(Debug, Clone)]
pub struct Request {
    pub id: i64,
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub timeout: Duration,
}

/// What is written to `net._http_response`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Answer {
    pub status_code: Option<i32>,
    pub content_type: Option<String>,
    pub headers: Value,
    pub content: Option<String>,
    pub timed_out: bool,
    pub error_msg: Option<String>,
}

impl Answer {
    fn error(msg: impl Into<String>) -> Answer {
        Answer {
            headers: Value::Null,
            error_msg: Some(msg.into()),
            ..Answer::default()
        }
    }
}

/// A worker running in a thread of this process; dropping it stops it.
pub struct NetWorker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl NetWorker {
    /// Starts serving `db_url`'s queue (the connection is made before this returns).
    pub fn start(db_url: &str) -> Result<NetWorker> {
        let client = connect(db_url)?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let url = db_url.to_string();
        let thread = std::thread::spawn(move || {
            if let Err(e) = serve(client, &url, &flag) {
                eprintln!("pg_net worker stopped: {e:#}");
            }
        });
        Ok(NetWorker {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for NetWorker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn connect(db_url: &str) -> Result<postgres::Client> {
    let mut client = db::connect(db_url)?;
    client.batch_execute(&format!(
        "set application_name = '{APPLICATION_NAME}'; listen pg_net_wake"
    ))?;
    Ok(client)
}

/// `cargo xtask net-worker`: serves until the process is stopped, reconnecting when the
/// database goes away (a restart, `cargo xtask reset`).
pub fn run_forever(db_url: &str) -> Result<()> {
    let stop = AtomicBool::new(false);
    loop {
        match connect(db_url) {
            Ok(client) => {
                if let Err(e) = serve(client, db_url, &stop) {
                    eprintln!("pg_net worker: {e:#}; reconnecting");
                }
            }
            Err(e) => eprintln!("pg_net worker: {e:#}; retrying"),
        }
        std::thread::sleep(Duration::from_secs(2));
    }
}

fn serve(mut client: postgres::Client, db_url: &str, stop: &AtomicBool) -> Result<()> {
    let mut last_ttl = Instant::now() - Duration::from_secs(3600);
    while !stop.load(Ordering::Relaxed) {
        let taken = take(&mut client)?;
        if !taken.is_empty() {
            // Each request in its own thread, answers written by each as it finishes, so a slow
            // function (a drain) holds up no other answer.
            for r in taken {
                let url = db_url.to_string();
                std::thread::spawn(move || {
                    let answer = send(&r);
                    if let Err(e) = record(&url, r.id, &answer) {
                        eprintln!("pg_net worker: cannot record the answer to {}: {e:#}", r.id);
                    }
                });
            }
            continue;
        }
        if last_ttl.elapsed() > Duration::from_secs(60) {
            client.execute(
                &format!("delete from net._http_response where created < now() - interval '{TTL}'"),
                &[],
            )?;
            last_ttl = Instant::now();
        }
        // Wait for net.wake() (sent on commit), or poll again within a second.
        let mut notes = client.notifications();
        let _woken = notes.timeout_iter(Duration::from_secs(1)).next()?;
    }
    Ok(())
}

/// Takes (deletes) up to [`BATCH`] queued requests, oldest first.
fn take(client: &mut postgres::Client) -> Result<Vec<Request>> {
    let rows = client.query(
        "delete from net.http_request_queue q
          where q.id in (select id from net.http_request_queue order by id limit $1 for update skip locked)
         returning q.id, q.method::text, q.url, q.headers, q.body, q.timeout_milliseconds",
        &[&BATCH],
    )?;
    let mut out: Vec<Request> = rows
        .iter()
        .map(|r| {
            let headers: Option<Value> = r.get(3);
            let headers = match headers {
                Some(Value::Object(m)) => m
                    .into_iter()
                    .map(|(k, v)| {
                        let v = match v {
                            Value::String(s) => s,
                            other => other.to_string(),
                        };
                        (k, v)
                    })
                    .collect(),
                _ => Vec::new(),
            };
            let timeout_ms: i32 = r.get(5);
            Request {
                id: r.get(0),
                method: r.get::<_, String>(1).to_ascii_uppercase(),
                url: r.get(2),
                headers,
                body: r.get::<_, Option<Vec<u8>>>(4).unwrap_or_default(),
                timeout: Duration::from_millis(timeout_ms.max(1) as u64),
            }
        })
        .collect();
    out.sort_by_key(|r| r.id);
    Ok(out)
}

fn record(db_url: &str, id: i64, a: &Answer) -> Result<()> {
    let mut client = db::connect(db_url)?;
    client.execute(
        "insert into net._http_response
           (id, status_code, content_type, headers, content, timed_out, error_msg)
         values ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &id,
            &a.status_code,
            &a.content_type,
            &(!a.headers.is_null()).then_some(&a.headers),
            &a.content,
            &a.timed_out,
            &a.error_msg,
        ],
    )?;
    Ok(())
}

/// `http://127.0.0.1:<port>/<path>` (or `localhost`) → the address and the request target.
pub fn loopback_target(url: &str) -> Result<(SocketAddr, String, String), String> {
    let refuse =
        || format!("the local pg_net worker sends requests to http://127.0.0.1 only, not to {url}");
    let rest = url.strip_prefix("http://").ok_or_else(refuse)?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (h, p.parse::<u16>().map_err(|_| refuse())?),
        None => (authority, 80),
    };
    if host != "127.0.0.1" && host != "localhost" {
        return Err(refuse());
    }
    Ok((
        SocketAddr::from(([127, 0, 0, 1], port)),
        authority.to_string(),
        path.to_string(),
    ))
}

/// Sends one request and reads the whole answer (HTTP/1.1, `connection: close`).
pub fn send(r: &Request) -> Answer {
    let (addr, authority, target) = match loopback_target(&r.url) {
        Ok(t) => t,
        Err(msg) => return Answer::error(msg),
    };
    let deadline = Instant::now() + r.timeout;
    let timed_out = |e: &std::io::Error| {
        matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ) || Instant::now() >= deadline
    };
    let mut stream = match TcpStream::connect_timeout(&addr, r.timeout) {
        Ok(s) => s,
        Err(e) => {
            let mut a = Answer::error(format!("Couldn't connect to server: {e}"));
            a.timed_out = timed_out(&e);
            return a;
        }
    };
    let _ = stream.set_read_timeout(Some(r.timeout));
    let _ = stream.set_write_timeout(Some(r.timeout));
    let mut head = format!(
        "{} {target} HTTP/1.1\r\nhost: {authority}\r\nconnection: close\r\ncontent-length: {}\r\n",
        r.method,
        r.body.len()
    );
    for (k, v) in &r.headers {
        let lower = k.to_ascii_lowercase();
        if matches!(lower.as_str(), "host" | "connection" | "content-length")
            || k.contains(['\r', '\n', ':'])
            || v.contains(['\r', '\n'])
        {
            continue;
        }
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let sent = stream
        .write_all(head.as_bytes())
        .and_then(|_| stream.write_all(&r.body));
    if let Err(e) = sent {
        let mut a = Answer::error(format!("Failed sending data to the peer: {e}"));
        a.timed_out = timed_out(&e);
        return a;
    }
    match read_answer(&mut BufReader::new(stream)) {
        Ok(a) => a,
        Err(e) => {
            let mut a = Answer::error(format!("Failure when receiving data from the peer: {e}"));
            a.timed_out = timed_out(&e);
            if a.timed_out {
                a.error_msg = Some(format!("Timeout of {} ms reached", r.timeout.as_millis()));
            }
            a
        }
    }
}

fn read_answer(reader: &mut impl BufRead) -> std::io::Result<Answer> {
    let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status: i32 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("no HTTP status line"))?;
    let mut headers = Map::new();
    let (mut length, mut chunked) = (None, false);
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let Some((k, v)) = l.split_once(':') else {
            continue;
        };
        let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_string());
        if k == "content-length" {
            length = v.parse::<usize>().ok();
        }
        if k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked") {
            chunked = true;
        }
        headers.insert(k, Value::String(v));
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| bad("bad chunk size"))?;
            if size == 0 {
                break;
            }
            let mut chunk = vec![0; size];
            reader.read_exact(&mut chunk)?;
            body.extend_from_slice(&chunk[..chunk.len().min(MAX_BODY.saturating_sub(body.len()))]);
            line.clear();
            reader.read_line(&mut line)?;
        }
    } else if let Some(n) = length {
        let mut limited = reader.take(n.min(MAX_BODY) as u64);
        limited.read_to_end(&mut body)?;
    } else {
        reader.take(MAX_BODY as u64).read_to_end(&mut body)?;
    }
    Ok(Answer {
        status_code: Some(status),
        content_type: headers
            .get("content-type")
            .and_then(|v| v.as_str())
            .map(String::from),
        headers: Value::Object(headers),
        content: Some(String::from_utf8_lossy(&body).into_owned()),
        timed_out: false,
        error_msg: None,
    })
}

/// Where `cargo xtask up`'s worker keeps its pid and log.
fn pid_file() -> std::path::PathBuf {
    crate::infra::paths::local_dir().join("net-worker.pid")
}

/// The pid of the local stack's worker, if it runs (checked against its command line).
pub fn running_pid() -> Option<u32> {
    let pid: u32 = std::fs::read_to_string(pid_file())
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    String::from_utf8_lossy(&cmdline)
        .contains("net-worker")
        .then_some(pid)
}

/// `cargo xtask up`: starts the worker for `db_url` unless it runs.
pub fn up(db_url: &str) -> Result<()> {
    use std::os::unix::process::CommandExt;
    if running_pid().is_some() {
        return Ok(());
    }
    let dir = crate::infra::paths::local_dir();
    std::fs::create_dir_all(&dir)?;
    let log = std::fs::File::create(dir.join("net-worker.log"))?;
    let child = std::process::Command::new(std::env::current_exe()?)
        .args(["net-worker", "--db-url", db_url])
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0)
        .spawn()
        .context("cannot start the pg_net worker")?;
    std::fs::write(pid_file(), child.id().to_string())?;
    Ok(())
}

/// `cargo xtask down`: stops the worker.
pub fn down() -> Result<()> {
    if let Some(pid) = running_pid() {
        std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()?;
    }
    let _ = std::fs::remove_file(pid_file());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_urls_are_sent() {
        let (addr, authority, target) =
            loopback_target("http://127.0.0.1:54321/functions/v1/x?a=1").unwrap();
        assert_eq!(addr.port(), 54321);
        assert_eq!(authority, "127.0.0.1:54321");
        assert_eq!(target, "/functions/v1/x?a=1");
        assert!(loopback_target("http://localhost:8000").is_ok());
        for url in [
            "https://127.0.0.1:54321/x",
            "http://example.com/x",
            "http://127.0.0.1.example.com/x",
            "http://10.0.0.1:80/x",
            "http://127.0.0.1:notaport/x",
        ] {
            assert!(loopback_target(url).is_err(), "{url}");
        }
        let a = send(&Request {
            id: 1,
            method: "GET".into(),
            url: "http://example.com/".into(),
            headers: vec![],
            body: vec![],
            timeout: Duration::from_secs(1),
        });
        assert!(a.status_code.is_none());
        assert!(a.error_msg.unwrap().contains("127.0.0.1 only"));
    }

    #[test]
    fn reads_plain_and_chunked_answers() {
        let plain = b"HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}";
        let a = read_answer(&mut &plain[..]).unwrap();
        assert_eq!(a.status_code, Some(202));
        assert_eq!(a.content_type.as_deref(), Some("application/json"));
        assert_eq!(a.content.as_deref(), Some("{}"));
        let chunked =
            b"HTTP/1.1 500 Oops\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        let a = read_answer(&mut &chunked[..]).unwrap();
        assert_eq!(a.status_code, Some(500));
        assert_eq!(a.content.as_deref(), Some("abcde"));
    }
}
