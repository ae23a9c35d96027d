//! Errors of a handler. Each maps to a JSON response `{"code": "...", "message": "..."}` with a
//! stable `code` and an HTTP status; a handler never panics for bad input.

use crate::db::DbError;
use crate::http::Response;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("method {0} is not allowed; use POST")]
    MethodNotAllowed(String),
    #[error("request body is larger than {limit} bytes; send a smaller body")]
    PayloadTooLarge { limit: usize },
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooManyRequests(String),
    #[error("configuration variable {0} is missing; set it in the function's environment")]
    Config(String),
    #[error("database error: {0}")]
    Db(#[from] DbError),
    #[error("upstream service failed: {0}")]
    Upstream(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// The stable machine-readable code clients switch on.
    pub fn code(&self) -> &'static str {
        match self {
            Error::BadRequest(_) => "bad_request",
            Error::Unauthorized(_) => "unauthorized",
            Error::Forbidden(_) => "forbidden",
            Error::NotFound(_) => "not_found",
            Error::MethodNotAllowed(_) => "method_not_allowed",
            Error::PayloadTooLarge { .. } => "payload_too_large",
            Error::Conflict(_) => "conflict",
            Error::TooManyRequests(_) => "too_many_requests",
            Error::Config(_) => "config_missing",
            Error::Db(e) if e.is_permission_denied() => "forbidden",
            Error::Db(_) => "database_error",
            Error::Upstream(_) => "upstream_error",
            Error::Internal(_) => "internal_error",
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            Error::BadRequest(_) => 400,
            Error::Unauthorized(_) => 401,
            Error::Forbidden(_) => 403,
            Error::NotFound(_) => 404,
            Error::MethodNotAllowed(_) => 405,
            Error::PayloadTooLarge { .. } => 413,
            Error::Conflict(_) => 409,
            Error::TooManyRequests(_) => 429,
            Error::Db(e) if e.is_permission_denied() => 403,
            Error::Upstream(_) => 502,
            Error::Config(_) | Error::Db(_) | Error::Internal(_) => 500,
        }
    }

    /// What the client is told. Server-side failures get a generic message: database and
    /// upstream details stay in the logs, where they cannot leak schema or provider internals.
    pub fn public_message(&self) -> String {
        match self {
            Error::Db(e) if e.is_permission_denied() => "permission denied".into(),
            Error::Db(_) => "database error; try again later".into(),
            Error::Upstream(_) => "an upstream service failed; try again later".into(),
            Error::Internal(_) => "internal error; try again later".into(),
            other => other.to_string(),
        }
    }

    pub fn into_response(self) -> Response {
        let mut resp = Response::json(
            self.status(),
            &serde_json::json!({ "code": self.code(), "message": self.public_message() }),
        );
        if let Error::MethodNotAllowed(_) = self {
            resp.headers.push(("allow".into(), "POST, OPTIONS".into()));
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(r: &Response) -> serde_json::Value {
        serde_json::from_slice(&r.body).unwrap()
    }

    #[test]
    fn errors_become_json_with_stable_code_and_status() {
        let r = Error::PayloadTooLarge { limit: 1 << 20 }.into_response();
        assert_eq!(r.status, 413);
        assert_eq!(body(&r)["code"], "payload_too_large");
        let r = Error::MethodNotAllowed("GET".into()).into_response();
        assert_eq!(
            (r.status, body(&r)["code"].as_str()),
            (405, Some("method_not_allowed"))
        );
        assert_eq!(r.header("allow"), Some("POST, OPTIONS"));
    }

    #[test]
    fn database_details_are_not_sent_to_the_client() {
        let e = Error::Db(DbError::new(
            Some("23505"),
            "duplicate key in render_results_pkey",
        ));
        let r = e.into_response();
        assert_eq!(r.status, 500);
        assert!(!String::from_utf8_lossy(&r.body).contains("render_results"));
        let denied = Error::Db(DbError::new(
            Some("42501"),
            "permission denied for table leads",
        ));
        assert_eq!((denied.status(), denied.code()), (403, "forbidden"));
    }
}
