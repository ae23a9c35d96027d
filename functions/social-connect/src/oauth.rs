//! The platforms' OAuth authorisation-code flows as plain functions over URLs and bodies.
//!
//! - Instagram (API with Instagram Login): the Admin is sent to `www.instagram.com/oauth/authorize`;
//!   the code comes back to the redirect URI and is exchanged at `api.instagram.com/oauth/access_token`
//!   for a short-lived token, then at `graph.instagram.com/access_token`
//!   (`grant_type=ig_exchange_token`) for a long-lived one (60 days). Instagram has no PKCE.
//! - TikTok (Login Kit for Web): `www.tiktok.com/v2/auth/authorize/`, then `POST
//!   open.tiktokapis.com/v2/oauth/token/` (`grant_type=authorization_code`). TikTok asks for PKCE
//!   only from mobile and desktop apps; a web app proves itself with its client secret, which
//!   never leaves this function.
//!
//! Both flows carry `state`: 256 random bits from the database, kept by its hash and taken once.

use moha_edge::http::{form_encode, percent_encode};
use moha_edge::{HttpRequest, Method, Secret};
use serde_json::Value;

pub const IG_SCOPES: &str = "instagram_business_basic,instagram_business_manage_messages,instagram_business_manage_comments";
pub const TT_SCOPES: &str = "user.info.basic,user.info.profile,user.info.stats,video.list";

/// Where the Admin is sent to authorise the studio's app.
pub fn authorize_url(
    platform: &str,
    auth_base: &str,
    client_id: &str,
    redirect_uri: &str,
    state: &str,
) -> String {
    let base = auth_base.trim_end_matches('/');
    match platform {
        "instagram" => format!(
            "{base}/oauth/authorize?{}",
            form_encode(&[
                ("client_id", client_id),
                ("redirect_uri", redirect_uri),
                ("response_type", "code"),
                ("scope", IG_SCOPES),
                ("state", state),
            ])
        ),
        _ => format!(
            "{base}/v2/auth/authorize/?{}",
            form_encode(&[
                ("client_key", client_id),
                ("redirect_uri", redirect_uri),
                ("response_type", "code"),
                ("scope", TT_SCOPES),
                ("state", state),
            ])
        ),
    }
}

fn form_post(url: String, pairs: &[(&str, &str)]) -> HttpRequest {
    HttpRequest {
        method: Method::Post,
        url,
        headers: vec![(
            "content-type".into(),
            "application/x-www-form-urlencoded".into(),
        )],
        body: form_encode(pairs).into_bytes(),
        timeout_ms: 15_000,
    }
}

/// Instagram's code for a short-lived token.
pub fn ig_code_exchange(
    oauth_base: &str,
    client_id: &str,
    secret: &Secret,
    redirect_uri: &str,
    code: &str,
) -> HttpRequest {
    form_post(
        format!("{}/oauth/access_token", oauth_base.trim_end_matches('/')),
        &[
            ("client_id", client_id),
            ("client_secret", secret.expose()),
            ("grant_type", "authorization_code"),
            ("redirect_uri", redirect_uri),
            ("code", code),
        ],
    )
}

/// The short-lived token for a long-lived one. Instagram takes the secret in the query; the
/// token goes in the header.
pub fn ig_long_lived(graph_root: &str, secret: &Secret, short: &Secret) -> HttpRequest {
    HttpRequest::get(format!(
        "{}/access_token?grant_type=ig_exchange_token&client_secret={}",
        graph_root.trim_end_matches('/'),
        percent_encode(secret.expose())
    ))
    .header("authorization", format!("Bearer {}", short.expose()))
    .timeout_ms(15_000)
}

pub fn ig_me(graph_base: &str, token: &Secret) -> HttpRequest {
    HttpRequest::get(format!(
        "{}/me?fields=user_id,username",
        graph_base.trim_end_matches('/')
    ))
    .header("authorization", format!("Bearer {}", token.expose()))
    .timeout_ms(15_000)
}

pub fn tt_code_exchange(
    api_base: &str,
    client_key: &str,
    secret: &Secret,
    redirect_uri: &str,
    code: &str,
) -> HttpRequest {
    form_post(
        format!("{}/v2/oauth/token/", api_base.trim_end_matches('/')),
        &[
            ("client_key", client_key),
            ("client_secret", secret.expose()),
            ("code", code),
            ("grant_type", "authorization_code"),
            ("redirect_uri", redirect_uri),
        ],
    )
}

pub fn tt_me(api_base: &str, token: &Secret) -> HttpRequest {
    HttpRequest::get(format!(
        "{}/v2/user/info/?fields=open_id,username,display_name",
        api_base.trim_end_matches('/')
    ))
    .header("authorization", format!("Bearer {}", token.expose()))
    .timeout_ms(15_000)
}

/// A string or a number as text (Instagram's `user_id` comes as either).
pub fn id_text(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

pub fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

pub fn seconds(v: &Value, key: &str) -> Option<i64> {
    let n = v.get(key)?;
    n.as_i64()
        .or_else(|| n.as_str().and_then(|s| s.parse().ok()))
        .filter(|s| *s > 0)
}

/// A username as stored: the platform's handle, bounded, without control characters.
pub fn username(raw: &str) -> Option<String> {
    let u = raw.trim();
    (!u.is_empty() && u.chars().count() <= 100 && !u.chars().any(char::is_control))
        .then(|| u.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorize_urls_carry_the_state_and_no_secret() {
        let ig = authorize_url(
            "instagram",
            "https://www.instagram.com/",
            "123",
            "https://x.supabase.co/functions/v1/social-connect",
            "s1",
        );
        assert_eq!(
            ig,
            "https://www.instagram.com/oauth/authorize?client_id=123&redirect_uri=https%3A%2F%2Fx.supabase.co%2Ffunctions%2Fv1%2Fsocial-connect&response_type=code&scope=instagram_business_basic%2Cinstagram_business_manage_messages%2Cinstagram_business_manage_comments&state=s1"
        );
        let tt = authorize_url("tiktok", "https://www.tiktok.com", "ck", "https://r", "s2");
        assert!(tt.starts_with("https://www.tiktok.com/v2/auth/authorize/?client_key=ck&"));
        assert!(tt.ends_with("&state=s2"));
        let r = tt_code_exchange("https://t", "ck", &Secret::new("cs"), "https://r", "c&d");
        assert_eq!(
            String::from_utf8(r.body).unwrap(),
            "client_key=ck&client_secret=cs&code=c%26d&grant_type=authorization_code&redirect_uri=https%3A%2F%2Fr"
        );
        let r = ig_long_lived("https://g", &Secret::new("s/x"), &Secret::new("short"));
        assert!(!r.url.contains("short"));
    }

    #[test]
    fn ids_and_usernames_are_read_strictly() {
        let v = serde_json::json!({"user_id": 17841400000000001u64, "open_id": "o-1", "username": " moha "});
        assert_eq!(id_text(&v, "user_id").as_deref(), Some("17841400000000001"));
        assert_eq!(id_text(&v, "open_id").as_deref(), Some("o-1"));
        assert_eq!(username(" moha ").as_deref(), Some("moha"));
        assert_eq!(username("a\nb"), None);
        assert_eq!(username(&"x".repeat(101)), None);
    }
}
