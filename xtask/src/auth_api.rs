//! The settings of the local Auth API (`xtask/gateway/authApi.ts`, issue 19), read from the
//! `[auth]` table of `supabase/config.toml` with the defaults the Supabase CLI gives, and the
//! private key that signs access tokens.
//!
//! The gateway signs: it gets the current signing key's private JWK in its config file (mode
//! 0600, beside the database password it already holds), and Deno's WebCrypto signs ES256. The
//! wasm checks (`functions/gateway-auth`) only verify, so the functions never link a signer.

use anyhow::{bail, Context, Result};
use serde::Serialize;

use crate::keys::SigningKey;

/// What `authApi.ts` is configured with (`AuthSettings` there).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AuthSettings {
    /// The private JWK of the key that signs access tokens.
    pub signing_key: serde_json::Value,
    pub issuer: String,
    pub jwt_expiry: i64,
    pub refresh_token_rotation: bool,
    pub refresh_token_reuse_interval: i64,
    pub enable_signup: bool,
    pub email_signup: bool,
    pub email_autoconfirm: bool,
    pub anonymous_sign_ins: bool,
    pub site_url: String,
    /// `"schema"."function"` of the custom access token hook, when enabled.
    pub access_token_hook: Option<String>,
    pub access_token_hook_uri: Option<String>,
    pub minimum_password_length: i64,
}

/// A plain lowercase SQL identifier: the hook's name goes into a statement unquoted.
fn identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// The hook function of `pg-functions://<database>/<schema>/<function>`, quoted.
fn hook_function(uri: &str) -> Result<String> {
    let Some(rest) = uri.strip_prefix("pg-functions://") else {
        bail!("auth.hook.custom_access_token.uri {uri:?}: the local stack runs pg-functions:// hooks only");
    };
    match rest.split('/').collect::<Vec<_>>()[..] {
        [_db, schema, function] if identifier(schema) && identifier(function) => {
            Ok(format!("\"{schema}\".\"{function}\""))
        }
        _ => bail!("auth.hook.custom_access_token.uri {uri:?} is not pg-functions://<database>/<schema>/<function> with plain names"),
    }
}

/// The Auth settings of `config_toml` (the CLI's defaults where a key is absent), tokens issued
/// by `api_url`'s `/auth/v1` and signed with `key`.
pub fn settings(config_toml: &str, api_url: &str, key: &SigningKey) -> Result<AuthSettings> {
    let doc: toml::Table = config_toml
        .parse()
        .context("supabase/config.toml is not TOML")?;
    let empty = toml::Table::new();
    let auth = doc.get("auth").and_then(|v| v.as_table()).unwrap_or(&empty);
    let table = |t: &toml::Table, k: &str| -> toml::Table {
        t.get(k)
            .and_then(|v| v.as_table())
            .cloned()
            .unwrap_or_default()
    };
    let email = table(auth, "email");
    let hook = table(&table(auth, "hook"), "custom_access_token");
    let boolean =
        |t: &toml::Table, k: &str, d: bool| t.get(k).and_then(|v| v.as_bool()).unwrap_or(d);
    let int = |t: &toml::Table, k: &str, d: i64| t.get(k).and_then(|v| v.as_integer()).unwrap_or(d);
    let hook_uri = boolean(&hook, "enabled", false)
        .then(|| hook.get("uri").and_then(|v| v.as_str()).map(str::to_string))
        .flatten();
    let jwt_expiry = int(auth, "jwt_expiry", 3600);
    if !(30..=604_800).contains(&jwt_expiry) {
        bail!("auth.jwt_expiry {jwt_expiry} is outside 30..=604800 seconds, as the Supabase CLI requires");
    }
    Ok(AuthSettings {
        signing_key: serde_json::to_value(key)?,
        issuer: format!("{api_url}/auth/v1"),
        jwt_expiry,
        refresh_token_rotation: boolean(auth, "enable_refresh_token_rotation", true),
        refresh_token_reuse_interval: int(auth, "refresh_token_reuse_interval", 10),
        enable_signup: boolean(auth, "enable_signup", true),
        email_signup: boolean(&email, "enable_signup", true),
        email_autoconfirm: !boolean(&email, "enable_confirmations", false),
        anonymous_sign_ins: boolean(auth, "enable_anonymous_sign_ins", false),
        site_url: auth
            .get("site_url")
            .and_then(|v| v.as_str())
            .unwrap_or("http://127.0.0.1:3000")
            .to_string(),
        access_token_hook: hook_uri.as_deref().map(hook_function).transpose()?,
        access_token_hook_uri: hook_uri,
        minimum_password_length: int(auth, "minimum_password_length", 6),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_project_config_gives_the_hook_and_the_session_rules() {
        let text = std::fs::read_to_string(crate::infra::paths::supabase_dir().join("config.toml"))
            .unwrap();
        let key = SigningKey::generate().unwrap();
        let s = settings(&text, "http://127.0.0.1:54321", &key).unwrap();
        assert_eq!(
            s.access_token_hook.as_deref(),
            Some("\"authz\".\"custom_access_token_hook\"")
        );
        assert_eq!(
            (
                s.jwt_expiry,
                s.refresh_token_rotation,
                s.refresh_token_reuse_interval
            ),
            (3600, true, 10)
        );
        assert!(s.enable_signup && s.email_signup && s.email_autoconfirm);
        assert_eq!(s.issuer, "http://127.0.0.1:54321/auth/v1");
        assert_eq!(s.signing_key["kid"], key.kid.as_str());
        assert!(s.signing_key["d"].is_string());
    }

    #[test]
    fn hook_names_are_plain_identifiers() {
        assert!(hook_function("pg-functions://postgres/authz/custom_access_token_hook").is_ok());
        for bad in [
            "pg-functions://postgres/authz/hook();drop table x",
            "pg-functions://postgres/Authz/hook",
            "pg-functions://postgres/authz",
            "https://example.com/hook",
        ] {
            assert!(hook_function(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn absent_keys_take_the_cli_defaults() {
        let key = SigningKey::generate().unwrap();
        let s = settings("", "http://x", &key).unwrap();
        assert_eq!(s.access_token_hook, None);
        assert_eq!((s.jwt_expiry, s.minimum_password_length), (3600, 6));
        assert!(s.email_autoconfirm);
    }
}
