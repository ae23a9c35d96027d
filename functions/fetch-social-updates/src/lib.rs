//! `fetch-social-updates {account_id}`: will pull messages, comments and insights of one
//! Instagram or TikTok account. Input checks and authentication are in place; the API parsing
//! and the upserts are the next step of issue 5.

use moha_edge::auth;
use moha_edge::validate;
use moha_edge::{Env, Error, Host, Method, Request, Response, Result};
use serde::Deserialize;

#[cfg(target_arch = "wasm32")]
moha_edge::export_handler!(crate::handle);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    account_id: String,
}

pub async fn handle(req: Request, env: &Env, host: &impl Host) -> Response {
    if req.method == Method::Options {
        return validate::preflight();
    }
    moha_edge::respond(run(req, env, host).await)
}

async fn run(req: Request, env: &Env, host: &impl Host) -> Result<Response> {
    validate::require_post(&req)?;
    auth::caller(&req, env, host).await?;
    let input: Input = validate::json_body(&req)?;
    validate::uuid("account_id", &input.account_id)?;
    Err(Error::Internal(
        "fetch-social-updates is not built yet".into(),
    ))
}
