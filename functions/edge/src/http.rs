//! Incoming requests and responses, outgoing HTTP, and time: the host's side of the world.

use std::fmt;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
    Options,
    Head,
    Other,
}

impl Method {
    pub fn parse(s: &str) -> Method {
        match s.to_ascii_uppercase().as_str() {
            "GET" => Method::Get,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "PATCH" => Method::Patch,
            "DELETE" => Method::Delete,
            "OPTIONS" => Method::Options,
            "HEAD" => Method::Head,
            _ => Method::Other,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
            Method::Head => "HEAD",
            Method::Other => "OTHER",
        }
    }
}

/// Header names are kept lowercase, so lookups are exact.
fn find<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Header names whose values are credentials; `Debug` never prints their values.
const SENSITIVE_HEADERS: &[&str] = &[
    "authorization",
    "apikey",
    "x-api-key",
    "x-goog-api-key",
    "cookie",
];

struct RedactedHeaders<'a>(&'a [(String, String)]);

impl fmt::Debug for RedactedHeaders<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(k, v)| {
                let sensitive = SENSITIVE_HEADERS.iter().any(|s| k.eq_ignore_ascii_case(s));
                (k, if sensitive { "[redacted]" } else { v.as_str() })
            }))
            .finish()
    }
}

/// A request to the function.
#[derive(Clone)]
pub struct Request {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &RedactedHeaders(&self.headers))
            .field("body_len", &self.body.len())
            .finish()
    }
}

impl Request {
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        Request {
            method,
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_ascii_lowercase(), value.into()));
        self
    }

    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        find(&self.headers, name)
    }

    /// The token of an `Authorization: Bearer <token>` header.
    pub fn bearer_token(&self) -> Option<&str> {
        let value = self.header("authorization")?;
        let (scheme, token) = value.split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then_some(token.trim())
            .filter(|t| !t.is_empty())
    }
}

/// A response from the function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn json(status: u16, value: &impl Serialize) -> Self {
        Response {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: serde_json::to_vec(value).expect("serialising a response cannot fail"),
        }
    }

    pub fn text(status: u16, text: &str) -> Self {
        Response {
            status,
            headers: vec![("content-type".into(), "text/plain; charset=utf-8".into())],
            body: text.as_bytes().to_vec(),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        find(&self.headers, name)
    }
}

/// An outgoing HTTP request (to an AI provider, a social API, Storage).
#[derive(Clone)]
pub struct HttpRequest {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The host aborts the request after this long and reports [`HttpError::Timeout`].
    pub timeout_ms: u64,
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &RedactedHeaders(&self.headers))
            .field("body_len", &self.body.len())
            .finish()
    }
}

impl HttpRequest {
    pub const DEFAULT_TIMEOUT_MS: u64 = 30_000;

    pub fn get(url: impl Into<String>) -> Self {
        HttpRequest {
            method: Method::Get,
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
            timeout_ms: Self::DEFAULT_TIMEOUT_MS,
        }
    }

    pub fn post_json(url: impl Into<String>, body: &impl Serialize) -> Self {
        HttpRequest {
            method: Method::Post,
            url: url.into(),
            headers: vec![("content-type".into(), "application/json".into())],
            body: serde_json::to_vec(body).expect("serialising a request cannot fail"),
            timeout_ms: Self::DEFAULT_TIMEOUT_MS,
        }
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_ascii_lowercase(), value.into()));
        self
    }

    pub fn timeout_ms(mut self, ms: u64) -> Self {
        self.timeout_ms = ms;
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        find(&self.headers, name)
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    #[error("request timed out")]
    Timeout,
    #[error("network error: {0}")]
    Network(String),
}

#[allow(async_fn_in_trait)]
pub trait Http {
    async fn fetch(&self, req: HttpRequest) -> Result<HttpResponse, HttpError>;
}

#[allow(async_fn_in_trait)]
pub trait Clock {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;
    async fn sleep(&self, ms: u64);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_token_is_found_case_insensitively() {
        let r = Request::new(Method::Post, "/").with_header("Authorization", "bearer abc.def");
        assert_eq!(r.bearer_token(), Some("abc.def"));
        let r = Request::new(Method::Post, "/").with_header("authorization", "Basic abc");
        assert_eq!(r.bearer_token(), None);
        let r = Request::new(Method::Post, "/").with_header("authorization", "Bearer ");
        assert_eq!(r.bearer_token(), None);
    }

    #[test]
    fn debug_output_redacts_credentials() {
        let r = HttpRequest::get("https://api.example/x")
            .header("x-api-key", "sk-secret")
            .header("accept", "application/json");
        let shown = format!("{r:?}");
        assert!(!shown.contains("sk-secret"), "{shown}");
        assert!(shown.contains("application/json"));
        let req = Request::new(Method::Post, "/").with_header("authorization", "Bearer t0ken");
        assert!(!format!("{req:?}").contains("t0ken"));
    }
}

/// `application/x-www-form-urlencoded` (and query strings): unreserved bytes as they are, the
/// rest percent-encoded.
pub fn form_encode(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

pub fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A query parameter of `url`, percent-decoded (`+` is a space); None when absent or not UTF-8.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1.split('#').next()?;
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (percent_decode(k)? == name)
            .then(|| percent_decode(v))
            .flatten()
    })
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod form_tests {
    use super::*;

    #[test]
    fn forms_encode_and_queries_decode() {
        assert_eq!(
            form_encode(&[("a b", "x&y=z"), ("k", "ü")]),
            "a%20b=x%26y%3Dz&k=%C3%BC"
        );
        let url = "https://h/p?code=AQ%2Fx+y&state=abc&empty=&code2#frag";
        assert_eq!(query_param(url, "code").as_deref(), Some("AQ/x y"));
        assert_eq!(query_param(url, "state").as_deref(), Some("abc"));
        assert_eq!(query_param(url, "empty").as_deref(), Some(""));
        assert_eq!(query_param(url, "missing"), None);
        assert_eq!(query_param("https://h/p?x=%zz", "x"), None);
        assert_eq!(query_param("https://h/p", "x"), None);
    }
}
