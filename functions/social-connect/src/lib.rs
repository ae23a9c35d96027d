//! `social-connect`: connects the studio's Instagram or TikTok account through the platform's
//! OAuth authorisation-code flow (issue 20).
//!
//! - `POST {"platform": "instagram" | "tiktok", "account_id"?: uuid}` with an Admin's access
//!   token: `public.begin_social_connect` makes a single-use state (256 random bits from the
//!   database, kept by its SHA-256, 10 minutes), and the answer is the platform's authorise URL.
//!   `account_id` names an account to reconnect (after `needs_reconnect`).
//! - `GET ?code=...&state=...`: the platform's redirect. The state is taken first
//!   (`public.consume_social_connect`: unknown, used or expired is 403), so a forged or replayed
//!   callback never reaches the platform; then the code is exchanged, the platform says whose
//!   account it is, and `public.connect_social_account` stores the tokens encrypted. A reconnect
//!   that authorised a different platform account than the one connected is refused (409), so a
//!   callback cannot swap the studio's account for someone else's.
//!
//! `verify_jwt = false`: the redirect carries no JWT; the start verifies the Admin's token here.
//! Every database step runs as `service_role`, the only role the token functions allow.

pub mod oauth;

use moha_edge::auth::{self, Caller};
use moha_edge::db::{query_opt, DbError};
use moha_edge::http::query_param;
use moha_edge::validate;
use moha_edge::{
    DbRole, Env, Error, Host, HttpRequest, Method, Request, Response, Result, Secret, Tx,
};
use serde::Deserialize;
use serde_json::{json, Value};

#[cfg(target_arch = "wasm32")]
moha_edge::export_handler!(crate::handle);

const BEGIN: &str = "select public.begin_social_connect($1::text::public.social_platform, \
     $2::uuid, $3::uuid) as state";
const CONSUME: &str = "select platform::text as platform, account_id::text as account_id, \
     created_by::text as created_by from public.consume_social_connect($1::text)";
const CONNECT: &str = "select public.connect_social_account($1::text::public.social_platform, \
     $2::text, $3::text, $4::uuid, $5::uuid, $6::text, $7::integer, $8::text, $9::integer)::text \
     as account_id";
const LOG_ERROR: &str = "insert into public.error_logs (service, error_message, context) \
     values ('social-connect', $1, $2::text::jsonb)";

/// How long a state is good for (`begin_social_connect`).
const STATE_SECONDS: i64 = 600;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Start {
    platform: String,
    #[serde(default)]
    account_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Flow {
    platform: String,
    account_id: Option<String>,
    created_by: String,
}

/// What a finished exchange gives.
struct Granted {
    username: String,
    platform_user_id: String,
    access_token: String,
    expires_in: i64,
    refresh_token: Option<String>,
    refresh_expires_in: Option<i64>,
}

pub async fn handle(req: Request, env: &Env, host: &impl Host) -> Result<Response> {
    match req.method {
        Method::Post => start(&req, env, host).await,
        Method::Get => callback(&req, env, host).await,
        other => Err(Error::MethodNotAllowed(other.as_str().to_string())),
    }
}

/// The token functions' refusals as HTTP answers.
fn refused(e: DbError) -> Error {
    match e.sqlstate.as_deref() {
        Some("PT403") => Error::Forbidden(e.message),
        Some("PT409") => Error::Conflict(e.message),
        Some("P0002") => Error::NotFound(e.message),
        _ => e.into(),
    }
}

fn platform_of(p: &str) -> Result<&'static str> {
    match p {
        "instagram" => Ok("instagram"),
        "tiktok" => Ok("tiktok"),
        _ => Err(Error::BadRequest(
            "platform must be instagram or tiktok".into(),
        )),
    }
}

fn redirect_uri(env: &Env) -> Result<String> {
    if let Ok(url) = env.var("SOCIAL_CONNECT_REDIRECT_URL") {
        return Ok(url.to_string());
    }
    let base = env.var("SUPABASE_URL")?;
    Ok(format!(
        "{}/functions/v1/social-connect",
        base.trim_end_matches('/')
    ))
}

/// The app's client id and secret for a platform.
fn client(env: &Env, platform: &str) -> Result<(String, Secret)> {
    let (id, secret) = match platform {
        "instagram" => ("INSTAGRAM_CLIENT_ID", "INSTAGRAM_CLIENT_SECRET"),
        _ => ("TIKTOK_CLIENT_KEY", "TIKTOK_CLIENT_SECRET"),
    };
    Ok((env.var(id)?.to_string(), env.secret(secret)?))
}

async fn start(req: &Request, env: &Env, host: &impl Host) -> Result<Response> {
    let caller = auth::caller(req, env, host).await?;
    let Caller::User { id: user, .. } = &caller else {
        return Err(Error::Forbidden(
            "an Admin connects accounts with their own session".into(),
        ));
    };
    let input: Start = validate::json_body(req)?;
    let platform = platform_of(&input.platform)?;
    let account = match &input.account_id {
        Some(a) => Some(validate::uuid("account_id", a)?.to_string()),
        None => None,
    };
    let (client_id, _) = client(env, platform)?;
    let redirect = redirect_uri(env)?;
    let params = [json!(platform), json!(account), json!(user.to_string())];
    let row: Option<Value> = host
        .transaction(DbRole::ServiceRole, caller.claims(), |tx| async move {
            query_opt(&tx, BEGIN, &params).await
        })
        .await?
        .map_err(refused)?;
    let state = row
        .and_then(|r| r.get("state").and_then(Value::as_str).map(str::to_string))
        .ok_or_else(|| Error::Internal("no state was made".into()))?;
    let auth_base = match platform {
        "instagram" => env.var_or("INSTAGRAM_AUTH_URL", "https://www.instagram.com"),
        _ => env.var_or("TIKTOK_AUTH_URL", "https://www.tiktok.com"),
    };
    Ok(Response::json(
        200,
        &json!({
            "platform": platform,
            "authorize_url": oauth::authorize_url(platform, auth_base, &client_id, &redirect, &state),
            "expires_in": STATE_SECONDS,
        }),
    ))
}

async fn callback(req: &Request, env: &Env, host: &impl Host) -> Result<Response> {
    let state = query_param(&req.url, "state")
        .filter(|s| !s.is_empty() && s.len() <= 128)
        .ok_or_else(|| Error::BadRequest("the callback has no state".into()))?;
    // The state first: a forged or replayed callback stops here, before any platform call.
    let claims = json!({"role": "service_role", "iss": "moha-social-connect"});
    let flow: Option<Flow> = host
        .transaction(DbRole::ServiceRole, &claims, |tx| async move {
            query_opt(&tx, CONSUME, &[json!(state)]).await
        })
        .await?
        .map_err(refused)?;
    let flow = flow.ok_or_else(|| Error::Forbidden("unknown, used or expired state".into()))?;
    if let Some(denied) = query_param(&req.url, "error") {
        let denied: String = denied.chars().take(100).collect();
        return Err(Error::BadRequest(format!(
            "the account was not authorised ({denied})"
        )));
    }
    let code = query_param(&req.url, "code")
        .filter(|c| !c.is_empty() && c.len() <= 2048)
        .ok_or_else(|| Error::BadRequest("the callback has no code".into()))?;
    let granted = match exchange(env, host, &flow.platform, &code).await {
        Ok(g) => g,
        Err(e) => {
            let context = json!({ "platform": flow.platform, "account_id": flow.account_id });
            let params = [json!(e.to_string()), json!(context.to_string())];
            host.transaction(DbRole::ServiceRole, &claims, |tx| async move {
                tx.query(LOG_ERROR, &params).await
            })
            .await??;
            return Err(e);
        }
    };
    let params = [
        json!(flow.platform),
        json!(granted.username),
        json!(granted.platform_user_id),
        json!(flow.account_id),
        json!(flow.created_by),
        json!(granted.access_token),
        json!(granted.expires_in),
        json!(granted.refresh_token),
        json!(granted.refresh_expires_in),
    ];
    let row: Option<Value> = host
        .transaction(DbRole::ServiceRole, &claims, |tx| async move {
            query_opt(&tx, CONNECT, &params).await
        })
        .await?
        .map_err(refused)?;
    let account = row.and_then(|r| r.get("account_id").cloned());
    Ok(Response::json(
        200,
        &json!({ "connected": true, "platform": flow.platform, "account_id": account,
                 "username": granted.username }),
    ))
}

/// One platform call: its JSON body on success, an upstream error without the URL otherwise
/// (a network error's text names the URL, which may hold the client secret).
async fn call(host: &impl Host, who: &str, req: HttpRequest) -> Result<Value> {
    let resp = host
        .fetch(req)
        .await
        .map_err(|_| Error::Upstream(format!("{who}: the platform could not be reached")))?;
    let body: Value = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
    // OAuth errors are a string; the Graph API's an object; TikTok's API always has an
    // `error` object, whose code is `ok` on success.
    let failed = match body.get("error") {
        None | Some(Value::Null) => false,
        Some(e) => e.get("code").and_then(Value::as_str) != Some("ok"),
    };
    if !resp.is_success() || failed {
        let why = body
            .pointer("/error/message")
            .or_else(|| body.get("error_description"))
            .or_else(|| body.get("error_message"))
            .or_else(|| body.get("error"))
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
            .unwrap_or_default();
        let why: String = why.chars().take(200).collect();
        return Err(Error::Upstream(format!(
            "{who} answered {}: {why}",
            resp.status
        )));
    }
    Ok(body)
}

async fn exchange(env: &Env, host: &impl Host, platform: &str, code: &str) -> Result<Granted> {
    let (client_id, secret) = client(env, platform)?;
    let redirect = redirect_uri(env)?;
    let missing = |what: &str| Error::Upstream(format!("{platform}'s answer has no {what}"));
    if platform == "instagram" {
        let oauth_base = env.var_or("INSTAGRAM_OAUTH_URL", "https://api.instagram.com");
        let graph = env.var_or("INSTAGRAM_GRAPH_URL", "https://graph.instagram.com/v21.0");
        let short = call(
            host,
            "instagram",
            oauth::ig_code_exchange(oauth_base, &client_id, &secret, &redirect, code),
        )
        .await?;
        // Instagram answers `{"data": [{"access_token", "user_id", "permissions"}]}` (older
        // apps: the same fields at the top).
        let short = short.pointer("/data/0").cloned().unwrap_or(short);
        let short = oauth::text(&short, "access_token").ok_or_else(|| missing("token"))?;
        let root = graph
            .trim_end_matches('/')
            .rsplit_once('/')
            .filter(|(_, v)| v.starts_with('v'))
            .map_or(graph, |(root, _)| root);
        let long = call(
            host,
            "instagram",
            oauth::ig_long_lived(root, &secret, &Secret::new(short)),
        )
        .await?;
        let access = oauth::text(&long, "access_token").ok_or_else(|| missing("token"))?;
        let expires_in = oauth::seconds(&long, "expires_in").ok_or_else(|| missing("expiry"))?;
        let me = call(
            host,
            "instagram",
            oauth::ig_me(graph, &Secret::new(access.clone())),
        )
        .await?;
        Ok(Granted {
            username: oauth::text(&me, "username")
                .and_then(|u| oauth::username(&u))
                .ok_or_else(|| missing("username"))?,
            platform_user_id: oauth::id_text(&me, "user_id")
                .or_else(|| oauth::id_text(&me, "id"))
                .ok_or_else(|| missing("user id"))?,
            access_token: access,
            expires_in,
            refresh_token: None,
            refresh_expires_in: None,
        })
    } else {
        let api = env.var_or("TIKTOK_API_URL", "https://open.tiktokapis.com");
        let t = call(
            host,
            "tiktok",
            oauth::tt_code_exchange(api, &client_id, &secret, &redirect, code),
        )
        .await?;
        let access = oauth::text(&t, "access_token").ok_or_else(|| missing("token"))?;
        let me = call(
            host,
            "tiktok",
            oauth::tt_me(api, &Secret::new(access.clone())),
        )
        .await?;
        let user = me.pointer("/data/user").cloned().unwrap_or(Value::Null);
        Ok(Granted {
            username: oauth::text(&user, "username")
                .or_else(|| oauth::text(&user, "display_name"))
                .and_then(|u| oauth::username(&u))
                .ok_or_else(|| missing("username"))?,
            platform_user_id: oauth::text(&t, "open_id").ok_or_else(|| missing("open_id"))?,
            access_token: access,
            expires_in: oauth::seconds(&t, "expires_in").ok_or_else(|| missing("expiry"))?,
            refresh_token: Some(
                oauth::text(&t, "refresh_token").ok_or_else(|| missing("refresh token"))?,
            ),
            refresh_expires_in: oauth::seconds(&t, "refresh_expires_in"),
        })
    }
}
