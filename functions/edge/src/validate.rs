//! Input checks every function makes before doing any work: CORS preflight, method, size, and
//! a strictly typed JSON body.

use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::error::Error;
use crate::http::{Method, Request, Response};

/// Largest accepted request body (1 MiB), and the CORS headers of Supabase's examples, added
/// to every response so a browser client can read errors too; both shared with the TypeScript
/// hosts.
pub use crate::facts::{CORS_HEADERS, MAX_BODY_BYTES};

/// The answer to a CORS preflight (`OPTIONS`), as Supabase's examples give it.
pub fn preflight() -> Response {
    with_cors(Response::text(200, "ok"))
}

pub fn with_cors(mut resp: Response) -> Response {
    for (k, v) in CORS_HEADERS {
        if resp.header(k).is_none() {
            resp.headers.push((k.to_string(), v.to_string()));
        }
    }
    resp
}

/// Only `POST` carries a job; anything else is refused with 405.
pub fn require_post(req: &Request) -> Result<(), Error> {
    match req.method {
        Method::Post => Ok(()),
        other => Err(Error::MethodNotAllowed(other.as_str().to_string())),
    }
}

/// Parses the body as `T`. Bodies over [`MAX_BODY_BYTES`] are refused with 413 before parsing;
/// `T` should be `#[serde(deny_unknown_fields)]` so a misspelt field is an error, not ignored.
pub fn json_body<T: DeserializeOwned>(req: &Request) -> Result<T, Error> {
    let declared = req
        .header("content-length")
        .and_then(|v| v.trim().parse::<usize>().ok());
    if req.body.len() > MAX_BODY_BYTES || declared.is_some_and(|n| n > MAX_BODY_BYTES) {
        return Err(Error::PayloadTooLarge {
            limit: MAX_BODY_BYTES,
        });
    }
    if let Some(ct) = req.header("content-type") {
        if !ct
            .trim_start()
            .to_ascii_lowercase()
            .starts_with("application/json")
        {
            return Err(Error::BadRequest(
                "content-type must be application/json".into(),
            ));
        }
    }
    serde_json::from_slice(&req.body)
        .map_err(|e| Error::BadRequest(format!("invalid request body: {e}")))
}

/// Parses a UUID from input, naming the field when it is not one.
pub fn uuid(field: &str, value: &str) -> Result<Uuid, Error> {
    Uuid::parse_str(value)
        .map_err(|_| Error::BadRequest(format!("{field} must be a UUID, got {value:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Job {
        request_id: String,
    }

    fn post(body: &[u8]) -> Request {
        Request::new(Method::Post, "/")
            .with_header("content-type", "application/json")
            .with_body(body)
    }

    #[test]
    fn unknown_fields_and_bad_json_are_400() {
        let e = json_body::<Job>(&post(br#"{"request_id":"x","extra":1}"#)).unwrap_err();
        assert_eq!(e.status(), 400);
        assert!(e.to_string().contains("extra"), "{e}");
        assert_eq!(json_body::<Job>(&post(b"{")).unwrap_err().status(), 400);
        let job: Job = json_body(&post(br#"{"request_id":"x"}"#)).unwrap();
        assert_eq!(job.request_id, "x");
    }

    #[test]
    fn bodies_over_one_mebibyte_are_413() {
        let big = vec![b' '; MAX_BODY_BYTES + 1];
        assert_eq!(json_body::<Job>(&post(&big)).unwrap_err().status(), 413);
        let declared = post(b"{}").with_header("content-length", "2000000");
        assert_eq!(json_body::<Job>(&declared).unwrap_err().status(), 413);
    }

    #[test]
    fn other_content_types_are_refused() {
        let r = Request::new(Method::Post, "/")
            .with_header("content-type", "text/plain")
            .with_body(&br#"{"request_id":"x"}"#[..]);
        assert_eq!(json_body::<Job>(&r).unwrap_err().status(), 400);
    }

    #[test]
    fn method_and_uuid_checks() {
        let get = Request::new(Method::Get, "/");
        assert_eq!(require_post(&get).unwrap_err().status(), 405);
        assert!(uuid("request_id", "8f1c1a8e-3c1b-4f7e-9a57-0d7b1f0c2a11").is_ok());
        let e = uuid("request_id", "1; drop table x").unwrap_err();
        assert_eq!(e.status(), 400);
    }

    #[test]
    fn preflight_matches_supabase_examples() {
        let r = preflight();
        assert_eq!((r.status, r.body.as_slice()), (200, &b"ok"[..]));
        assert_eq!(r.header("access-control-allow-origin"), Some("*"));
        assert_eq!(
            r.header("access-control-allow-headers"),
            Some("authorization, x-client-info, apikey, content-type")
        );
    }
}
