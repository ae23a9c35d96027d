//! `cargo xtask token --persona NAME` or `--user EMAIL`: a signed access token for calling the
//! local stack (gateway, functions, Storage) as a user, with the claims Supabase Auth puts in
//! its access tokens. Signed as the stack signs them: ES256 with its current signing key
//! (`.local/signing_keys.json`, whose public half the gateway serves as the JWKS). `--legacy`
//! signs HS256 with the legacy secret instead (`JWT_SECRET` of `supabase/functions/.env`, else the
//! local stack's), which the stack still accepts as hosted does.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use sql::moha::personas::USERS;
use sql::moha::security::PERSONAS;

use crate::infra::db;
use crate::{gateway, jwt, keys};

#[derive(clap::Args)]
pub struct TokenArgs {
    /// A persona of the security model (client, client2, designer, sales_a, sales_b, admin,
    /// anon, service_role, ai_agent); signed-in personas are the users of supabase/seed.sql.
    #[arg(long, required_unless_present = "user", conflicts_with = "user")]
    pub persona: Option<String>,
    /// The email of a user of the running stack's auth.users.
    #[arg(long, value_name = "EMAIL")]
    pub user: Option<String>,
    /// Database to look the user up in (with --user); defaults to the local stack.
    #[arg(long, value_name = "URL", requires = "user")]
    pub db_url: Option<String>,
    /// Lifetime in seconds (Supabase Auth's default is an hour).
    #[arg(long, default_value_t = 3600)]
    pub expires_in: i64,
    /// Sign HS256 with the legacy JWT secret instead of ES256 with the signing key.
    #[arg(long)]
    pub legacy: bool,
}

/// An `auth.users` row, as far as the access token tells of it.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthUser {
    pub id: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub app_metadata: Value,
    pub user_metadata: Value,
    pub is_anonymous: bool,
}

pub fn run(args: &TokenArgs) -> Result<()> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs() as i64;
    let claims = match (&args.persona, &args.user) {
        (Some(name), _) => persona_claims(name, now, args.expires_in)?,
        (None, Some(email)) => {
            let url = match &args.db_url {
                Some(u) => u.clone(),
                None => crate::commands::stack::ensure_running_url()?,
            };
            let user = lookup(&url, email)?;
            access_token_hook(&url, &user.id, user_claims(&user, now, args.expires_in))?
        }
        (None, None) => bail!("pass --persona NAME or --user EMAIL"),
    };
    let token = if args.legacy {
        let secret = gateway::function_secrets()?
            .remove("JWT_SECRET")
            .context("no JWT_SECRET")?;
        jwt::sign_hs256(&claims, &secret)
    } else {
        keys::local()?.sign(&claims)?
    };
    println!("{token}");
    Ok(())
}

/// The claims for a persona: a seeded user's access token, or an API key's claims for the
/// personas that are database roles (`anon`, `service_role`, `ai_agent`).
pub fn persona_claims(name: &str, now: i64, expires_in: i64) -> Result<Value> {
    if let Some(u) = USERS.iter().find(|u| u.persona == name) {
        let mut claims = user_claims(
            &AuthUser {
                id: u.id.into(),
                email: Some(u.email.into()),
                phone: None,
                app_metadata: json!({ "provider": "email", "providers": ["email"] }),
                user_metadata: json!({ "full_name": u.full_name }),
                is_anonymous: false,
            },
            now,
            expires_in,
        );
        // What `authz.custom_access_token_hook` sets for the persona's RBAC role (a unit test
        // in `sql` keeps the personas and the hook's rule in step; `--user` runs the hook).
        if let Some(p) = PERSONAS.iter().find(|p| p.name == name) {
            claims["role"] = json!(p.db_role);
        }
        return Ok(claims);
    }
    match PERSONAS.iter().find(|p| p.name == name) {
        Some(p) => Ok(json!({
            "iss": "supabase-demo",
            "role": p.db_role,
            "iat": now,
            "exp": now + expires_in,
        })),
        None => {
            let names: Vec<&str> = PERSONAS.iter().map(|p| p.name).collect();
            bail!("no persona {name}; choose one of {}", names.join(", "))
        }
    }
}

/// The claims Supabase Auth puts in a user's access token after a password sign-in.
pub fn user_claims(u: &AuthUser, now: i64, expires_in: i64) -> Value {
    json!({
        "iss": "http://127.0.0.1:54321/auth/v1",
        "sub": u.id,
        "aud": "authenticated",
        "exp": now + expires_in,
        "iat": now,
        "email": u.email.clone().unwrap_or_default(),
        "phone": u.phone.clone().unwrap_or_default(),
        "app_metadata": u.app_metadata,
        "user_metadata": u.user_metadata,
        "role": "authenticated",
        "aal": "aal1",
        "amr": [{ "method": "password", "timestamp": now }],
        "session_id": session_id(&u.id, now),
        "is_anonymous": u.is_anonymous,
    })
}

/// Runs the project's custom access token hook on `claims` in the database at `url`, as
/// Supabase Auth does before it signs a token: the user's role claim becomes their business
/// role's database role.
pub fn access_token_hook(url: &str, user_id: &str, claims: Value) -> Result<Value> {
    let mut c = db::connect(url)?;
    let event =
        json!({ "user_id": user_id, "claims": claims, "authentication_method": "password" });
    let out: String = c
        .query_one(
            "select authz.custom_access_token_hook($1::text::jsonb)::text",
            &[&event.to_string()],
        )
        .context("authz.custom_access_token_hook failed; is the database migrated?")?
        .get(0);
    let out: Value = serde_json::from_str(&out)?;
    out.get("claims")
        .cloned()
        .context("the access token hook returned no claims")
}

/// A UUID-shaped session id, distinct per user and second (no session row exists behind it).
fn session_id(user: &str, now: i64) -> String {
    let h = hex::encode(Sha256::digest(format!(
        "{user}/{now}/{}",
        std::process::id()
    )));
    format!(
        "{}-{}-4{}-a{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

/// The user with `email` in `auth.users` of the database at `url`.
pub fn lookup(url: &str, email: &str) -> Result<AuthUser> {
    let mut c = db::connect(url)?;
    let row = c
        .query_opt(
            "select id::text, email::text, phone, \
                    coalesce(raw_app_meta_data, '{}')::text, \
                    coalesce(raw_user_meta_data, '{}')::text, is_anonymous \
               from auth.users where lower(email) = lower($1) and deleted_at is null",
            &[&email],
        )
        .with_context(|| format!("cannot read auth.users at {}", db::redact(url)))?;
    let Some(row) = row else {
        bail!(
            "no user {email} in auth.users at {}; list them with \
             `select email from auth.users`, or seed the stack with `cargo xtask reset`",
            db::redact(url)
        );
    };
    Ok(AuthUser {
        id: row.get(0),
        email: row.get(1),
        phone: row.get(2),
        app_metadata: serde_json::from_str(row.get(3))?,
        user_metadata: serde_json::from_str(row.get(4))?,
        is_anonymous: row.get(5),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_persona_token_carries_what_supabase_auth_issues() {
        let c = persona_claims("sales_a", 1_000, 3600).unwrap();
        assert_eq!(c["sub"], "00000000-0000-4000-a000-000000000a51");
        // The role the access token hook gives a Sales user.
        assert_eq!(c["role"], "moha_sales");
        assert_eq!(c["aud"], "authenticated");
        assert_eq!(c["email"], "sales.a@moha.test");
        assert_eq!(c["exp"], 4_600);
        assert_eq!(c["iat"], 1_000);
        assert_eq!(c["is_anonymous"], false);
        assert_eq!(c["app_metadata"]["provider"], "email");
        assert!(c["session_id"].as_str().unwrap().len() == 36);
        assert_eq!(persona_claims("anon", 0, 60).unwrap()["role"], "anon");
        let err = persona_claims("mallory", 0, 60).unwrap_err().to_string();
        assert!(err.contains("choose one of anon, client"), "{err}");
    }
}
