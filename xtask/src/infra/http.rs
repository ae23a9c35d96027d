//! HTTP/1.1 on loopback, for the local gateway and the stubs benchmarks stand up: one request per
//! connection (`connection: close`), the reply read whole; and reading one whole request on the
//! server side of a stub.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::time::Duration;

use anyhow::{Context, Result};

/// One request to `127.0.0.1`.
pub struct Request<'a> {
    method: &'a str,
    path: &'a str,
    headers: Vec<(&'a str, String)>,
    body: &'a [u8],
    connect_timeout: Option<Duration>,
    read_timeout: Option<Duration>,
}

/// The status and the reply as sent (head and body).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub raw: String,
    /// The reply's bytes as sent (`raw` is their lossy text).
    pub bytes: Vec<u8>,
}

impl Reply {
    /// The head: the status line and the headers.
    pub fn head(&self) -> &str {
        self.raw
            .split_once("\r\n\r\n")
            .map_or(&self.raw, |(h, _)| h)
    }

    /// What follows the head (empty when there is none).
    pub fn body(&self) -> &str {
        self.raw.split_once("\r\n\r\n").map_or("", |(_, b)| b)
    }

    /// The body's bytes, a chunked body decoded.
    pub fn body_bytes(&self) -> Result<Vec<u8>> {
        let split = self
            .bytes
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .context("no end of the head in the reply")?;
        let body = &self.bytes[split + 4..];
        if !self
            .head()
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            return Ok(body.to_vec());
        }
        let mut decoded = Vec::new();
        let mut rest = body;
        loop {
            let line_end = rest
                .windows(2)
                .position(|w| w == b"\r\n")
                .context("a chunk without its size line")?;
            let size = std::str::from_utf8(&rest[..line_end])
                .ok()
                .and_then(|l| usize::from_str_radix(l.trim(), 16).ok())
                .context("a chunk size that is not hex")?;
            if size == 0 {
                return Ok(decoded);
            }
            let start = line_end + 2;
            let chunk = rest
                .get(start..start + size)
                .context("a chunk shorter than its size")?;
            decoded.extend_from_slice(chunk);
            rest = rest.get(start + size + 2..).unwrap_or_default();
        }
    }
}

impl<'a> Request<'a> {
    pub fn new(method: &'a str, path: &'a str) -> Self {
        Request {
            method,
            path,
            headers: Vec::new(),
            body: b"",
            connect_timeout: None,
            read_timeout: None,
        }
    }

    pub fn header(mut self, name: &'a str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", format!("Bearer {token}"))
    }

    /// `body` with `content-type` and `content-length`.
    pub fn body(self, content_type: &'a str, body: &'a [u8]) -> Self {
        self.header("content-type", content_type).bytes(body)
    }

    /// `body` with only `content-length` (any content type is the caller's header).
    pub fn bytes(mut self, body: &'a [u8]) -> Self {
        self.body = body;
        self.header("content-length", body.len().to_string())
    }

    pub fn json(self, body: &'a str) -> Self {
        self.body("application/json", body.as_bytes())
    }

    pub fn connect_timeout(mut self, t: Duration) -> Self {
        self.connect_timeout = Some(t);
        self
    }

    pub fn read_timeout(mut self, t: Duration) -> Self {
        self.read_timeout = Some(t);
        self
    }

    /// Sends the request to `127.0.0.1:port` and reads the reply to the end.
    pub fn send(&self, port: u16) -> Result<Reply> {
        let addr = (Ipv4Addr::LOCALHOST, port).into();
        let mut s = match self.connect_timeout {
            Some(t) => TcpStream::connect_timeout(&addr, t),
            None => TcpStream::connect(addr),
        }
        .with_context(|| format!("cannot connect to 127.0.0.1:{port}"))?;
        s.set_nodelay(true)?;
        s.set_read_timeout(self.read_timeout)?;
        let mut head = format!(
            "{} {} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n",
            self.method, self.path
        );
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        s.write_all(head.as_bytes())?;
        // A server may answer and close before reading a body it refuses: read its answer.
        let _ = s.write_all(self.body);
        let mut out = Vec::new();
        s.read_to_end(&mut out)?;
        let raw = String::from_utf8_lossy(&out).into_owned();
        let status = raw
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .context("no HTTP status in the reply")?;
        Ok(Reply {
            status,
            raw,
            bytes: out,
        })
    }
}

/// Reads one whole request (head and `content-length` body) from `stream` into `pending`, which
/// keeps what follows it for the next call on a keep-alive connection. `None` when the client
/// closed (or failed) first.
pub fn read_request(stream: &mut impl Read, pending: &mut Vec<u8>) -> Option<Vec<u8>> {
    let mut buf = [0u8; 8192];
    let end = loop {
        if let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => pending.extend_from_slice(&buf[..n]),
        }
    };
    let head = String::from_utf8_lossy(&pending[..end]).to_ascii_lowercase();
    let len = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    while pending.len() < end + 4 + len {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => pending.extend_from_slice(&buf[..n]),
        }
    }
    Some(pending.drain(..end + 4 + len).collect())
}

#[cfg(test)]
mod tests {
    use super::read_request;

    #[test]
    fn reads_requests_one_at_a_time() {
        let wire = b"POST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET /b HTTP/1.1\r\n\r\n";
        let mut stream = &wire[..];
        let mut pending = Vec::new();
        let first = read_request(&mut stream, &mut pending).unwrap();
        assert!(first.starts_with(b"POST /a") && first.ends_with(b"\r\n\r\nabc"));
        let second = read_request(&mut stream, &mut pending).unwrap();
        assert_eq!(second, b"GET /b HTTP/1.1\r\n\r\n");
        assert!(read_request(&mut stream, &mut pending).is_none());
    }
}
