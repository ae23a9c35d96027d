//! What every function answers around its handler, in the spirit of workers-rs's
//! `#[event(fetch)]`: the CORS preflight, the CORS headers of its responses, and an error turned
//! into its JSON response. [`export_handler!`](crate::export_handler) runs handlers through
//! [`answer`]; native tests may call it too.

use std::future::Future;

use crate::env::Env;
use crate::error::Error;
use crate::http::{Method, Request, Response};
use crate::validate;

/// An error a handler may return: it knows the response it becomes.
pub trait IntoResponse {
    fn into_response(self) -> Response;
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        Error::into_response(self)
    }
}

/// How a function meets browsers.
#[derive(Debug, Clone, Copy)]
pub enum Cors {
    /// Any origin, as Supabase's examples: a preflight gets 200 "ok", and every response
    /// (errors too) carries [`validate::CORS_HEADERS`].
    Any,
    /// Only the exact origins of the comma-separated variable `var` (none without it): a
    /// preflight gets 204, and a response carries CORS headers (allowing `allow_headers`) only
    /// for a request from an allowed origin.
    Origins {
        var: &'static str,
        allow_headers: &'static str,
    },
    /// No browser client: `OPTIONS` reaches the handler like any other method, and no response
    /// carries CORS headers.
    None,
}

impl Cors {
    /// Whether a request from `origin` may read the response.
    pub fn allows(self, origin: &str, env: &Env) -> bool {
        match self {
            Cors::Any => true,
            Cors::Origins { var, .. } => env
                .var_or(var, "")
                .split(',')
                .map(str::trim)
                .any(|o| !o.is_empty() && o == origin),
            Cors::None => false,
        }
    }
}

/// Answers `req`: the preflight as `cors` says, else `handler`'s response or its error's.
pub async fn answer<E, Fut>(
    cors: Cors,
    req: Request,
    env: &Env,
    handler: impl FnOnce(Request) -> Fut,
) -> Response
where
    E: IntoResponse,
    Fut: Future<Output = Result<Response, E>>,
{
    match cors {
        Cors::Any => validate::with_cors(if req.method == Method::Options {
            validate::preflight()
        } else {
            handler(req).await.unwrap_or_else(E::into_response)
        }),
        Cors::Origins { allow_headers, .. } => {
            let origin = req
                .header("origin")
                .filter(|o| cors.allows(o, env))
                .map(str::to_string);
            let mut resp = if req.method == Method::Options {
                Response::text(204, "")
            } else {
                handler(req).await.unwrap_or_else(E::into_response)
            };
            if let Some(o) = origin {
                resp.headers.extend([
                    ("access-control-allow-origin".to_string(), o),
                    ("vary".to_string(), "Origin".to_string()),
                    (
                        "access-control-allow-headers".to_string(),
                        allow_headers.to_string(),
                    ),
                    (
                        "access-control-allow-methods".to_string(),
                        "POST, OPTIONS".to_string(),
                    ),
                ]);
            }
            resp
        }
        Cors::None => handler(req).await.unwrap_or_else(E::into_response),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(cors: Cors, req: Request, env: &Env) -> Response {
        pollster::block_on(answer(cors, req, env, |_| async {
            Err::<Response, _>(Error::NotFound("nothing here".into()))
        }))
    }

    const ORIGINS: Cors = Cors::Origins {
        var: "ALLOWED",
        allow_headers: "authorization",
    };

    #[test]
    fn any_origin_gets_the_preflight_and_cors_on_errors() {
        let env = Env::default();
        let r = run(Cors::Any, Request::new(Method::Options, "/"), &env);
        assert_eq!((r.status, r.body.as_slice()), (200, &b"ok"[..]));
        let r = run(Cors::Any, Request::new(Method::Post, "/"), &env);
        assert_eq!(r.status, 404);
        assert_eq!(r.header("access-control-allow-origin"), Some("*"));
        let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(body["code"], "not_found");
    }

    #[test]
    fn listed_origins_only_get_cors_headers() {
        let env = Env::from_pairs([("ALLOWED", "https://a.example, http://localhost:6274")]);
        let from = |o: &str| Request::new(Method::Options, "/").with_header("origin", o);
        let r = run(ORIGINS, from("https://a.example"), &env);
        assert_eq!(r.status, 204);
        assert_eq!(
            r.header("access-control-allow-origin"),
            Some("https://a.example")
        );
        let r = run(ORIGINS, from("https://a.example.evil"), &env);
        assert_eq!(r.status, 204);
        assert_eq!(r.header("access-control-allow-origin"), None);
        assert!(!ORIGINS.allows("https://a.example", &Env::default()));
    }

    #[test]
    fn no_browser_leaves_options_to_the_handler() {
        let r = run(
            Cors::None,
            Request::new(Method::Options, "/"),
            &Env::default(),
        );
        assert_eq!(r.status, 404);
        assert_eq!(r.header("access-control-allow-origin"), None);
    }
}
