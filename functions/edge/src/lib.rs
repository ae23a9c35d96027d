//! Shared glue for the Rust edge functions, in the spirit of workers-rs: a handler is
//! `async fn handle(req: Request, env: &Env, host: &impl Host) -> Result<Response>`.
//!
//! Architecture invariant: this crate knows no database driver and runs no process. The
//! database, outgoing HTTP and time are host interfaces ([`Db`], [`Http`], [`Clock`]) that Deno
//! implements in JavaScript (see [`wasm`]) and tests implement natively.

pub mod ai;
pub mod auth;
pub mod db;
pub mod env;
pub mod error;
pub mod http;
pub mod retry;
pub mod storage;
pub mod validate;
#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use db::{Db, DbError, DbRole, Row, Tx};
pub use env::{Env, Secret};
pub use error::{Error, Result};
pub use http::{Clock, Http, HttpError, HttpRequest, HttpResponse, Method, Request, Response};

/// Everything a handler may ask of its host.
pub trait Host: Db + Http + Clock {
    /// A random seed for retry jitter, fresh per call.
    fn seed(&self) -> u64;
    /// The JWKS cache that lives as long as the host's instance.
    fn jwks_cache(&self) -> &auth::JwksCache;
}

/// Turns a handler's result into the response sent: errors become their JSON body, and every
/// response carries the CORS headers.
pub fn respond(result: Result<Response>) -> Response {
    validate::with_cors(result.unwrap_or_else(Error::into_response))
}
