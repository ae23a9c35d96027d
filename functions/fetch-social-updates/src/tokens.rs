//! Renewing the platforms' tokens before they expire (issue 20), as plain functions over
//! requests and bodies.
//!
//! - Instagram (API with Instagram Login): a long-lived token (about 60 days) is renewed with
//!   `GET graph.instagram.com/refresh_access_token?grant_type=ig_refresh_token` once it is at
//!   least a day old; the answer is `{"access_token", "token_type", "expires_in"}`. The token is
//!   sent in the `Authorization` header, never in the URL, so no log of a URL holds it.
//! - TikTok (Login Kit): `POST open.tiktokapis.com/v2/oauth/token/` with
//!   `grant_type=refresh_token`, the client key and secret, form-encoded; the answer carries a
//!   new access token and a rotated refresh token (the old one stops working), each with its
//!   lifetime in seconds.
//!
//! A refusal is the platform saying the grant is gone (revoked, expired, the password changed):
//! only a new authorisation helps, so the account is marked `needs_reconnect`. Anything else
//! (a 5xx, a timeout, a malformed answer) is tried again on the next run.

use moha_edge::{HttpRequest, Method, Secret};
use serde_json::Value;

/// A renewed token as the platform gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Renewed {
    pub access_token: String,
    pub expires_in: i64,
    /// TikTok rotates it; Instagram has none.
    pub refresh_token: Option<String>,
    pub refresh_expires_in: Option<i64>,
}

/// Why a renewal did not give a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The platform refused the grant: the account must be connected again.
    Refused(String),
    /// Worth another try later.
    Transient(String),
}

/// The Graph API's root without its version (`https://graph.instagram.com/v21.0` →
/// `https://graph.instagram.com`): the refresh endpoint is not versioned.
pub fn ig_root(graph_base: &str) -> &str {
    let base = graph_base.trim_end_matches('/');
    match base.rsplit_once('/') {
        Some((root, v))
            if v.starts_with('v') && v[1..].chars().all(|c| c.is_ascii_digit() || c == '.') =>
        {
            root
        }
        _ => base,
    }
}

pub fn ig_refresh(graph_base: &str, token: &Secret) -> HttpRequest {
    HttpRequest::get(format!(
        "{}/refresh_access_token?grant_type=ig_refresh_token",
        ig_root(graph_base)
    ))
    .header("authorization", format!("Bearer {}", token.expose()))
    .timeout_ms(15_000)
}

pub fn tt_refresh(
    base: &str,
    client_key: &str,
    client_secret: &Secret,
    refresh: &Secret,
) -> HttpRequest {
    let body = form(&[
        ("client_key", client_key),
        ("client_secret", client_secret.expose()),
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh.expose()),
    ]);
    HttpRequest {
        method: Method::Post,
        url: format!("{}/v2/oauth/token/", base.trim_end_matches('/')),
        headers: vec![(
            "content-type".into(),
            "application/x-www-form-urlencoded".into(),
        )],
        body: body.into_bytes(),
        timeout_ms: 15_000,
    }
}

/// `application/x-www-form-urlencoded`, as `moha_edge::http::form_encode` writes it.
pub fn form(pairs: &[(&str, &str)]) -> String {
    moha_edge::http::form_encode(pairs)
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Seconds as a number, or as a numeric string (some answers quote them).
fn seconds(v: &Value, key: &str) -> Option<i64> {
    let n = v.get(key)?;
    n.as_i64()
        .or_else(|| n.as_str().and_then(|s| s.parse().ok()))
        .filter(|s| *s > 0)
}

/// A refusal's reason, without echoing anything that could be a token.
fn reason(v: &Value) -> String {
    let pick = |s: Option<&str>| s.map(|s| s.chars().take(200).collect::<String>());
    pick(v.pointer("/error/message").and_then(Value::as_str))
        .or_else(|| pick(v.get("error_description").and_then(Value::as_str)))
        .or_else(|| pick(v.get("error").and_then(Value::as_str)))
        .unwrap_or_else(|| "no reason given".into())
}

/// Instagram's answer to a refresh.
pub fn ig_parse(status: u16, body: &[u8]) -> Result<Renewed, Failure> {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    if (200..300).contains(&status) {
        return match (text(&v, "access_token"), seconds(&v, "expires_in")) {
            (Some(access_token), Some(expires_in)) => Ok(Renewed {
                access_token,
                expires_in,
                refresh_token: None,
                refresh_expires_in: None,
            }),
            _ => Err(Failure::Transient(
                "instagram's refresh answer has no token".into(),
            )),
        };
    }
    // Graph errors: {"error": {"message", "type": "OAuthException", "code": 190, ...}}. Code 190
    // (invalid or expired token) and other 4xx OAuth errors need a new authorisation; a
    // throttle (code 4, 17, 32, 613, or HTTP 429) and 5xx do not.
    let code = v.pointer("/error/code").and_then(Value::as_i64);
    let throttled = status == 429 || matches!(code, Some(4 | 17 | 32 | 613));
    if (400..500).contains(&status) && !throttled {
        Err(Failure::Refused(format!("instagram: {}", reason(&v))))
    } else {
        Err(Failure::Transient(format!(
            "instagram answered {status}: {}",
            reason(&v)
        )))
    }
}

/// TikTok's answer to a refresh.
pub fn tt_parse(status: u16, body: &[u8]) -> Result<Renewed, Failure> {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    // OAuth errors: {"error": "invalid_grant", "error_description", "log_id"}, with 200 or 4xx.
    if let Some(err) = v.get("error").and_then(Value::as_str) {
        let msg = format!("tiktok: {err}: {}", reason(&v));
        return Err(match err {
            "invalid_grant"
            | "invalid_request"
            | "access_denied"
            | "invalid_client"
            | "unauthorized_client" => Failure::Refused(msg),
            _ => Failure::Transient(msg),
        });
    }
    if !(200..300).contains(&status) {
        return Err(Failure::Transient(format!("tiktok answered {status}")));
    }
    match (
        text(&v, "access_token"),
        seconds(&v, "expires_in"),
        text(&v, "refresh_token"),
    ) {
        (Some(access_token), Some(expires_in), Some(refresh)) => Ok(Renewed {
            access_token,
            expires_in,
            refresh_token: Some(refresh),
            refresh_expires_in: seconds(&v, "refresh_expires_in"),
        }),
        _ => Err(Failure::Transient(
            "tiktok's refresh answer has no tokens".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_carry_tokens_in_headers_and_form_bodies_only() {
        assert_eq!(
            ig_root("https://graph.instagram.com/v21.0/"),
            "https://graph.instagram.com"
        );
        assert_eq!(ig_root("http://127.0.0.1:9/ig"), "http://127.0.0.1:9/ig");
        let r = ig_refresh("http://127.0.0.1:9/ig/v21.0", &Secret::new("IGQ.tok"));
        assert_eq!(
            r.url,
            "http://127.0.0.1:9/ig/refresh_access_token?grant_type=ig_refresh_token"
        );
        assert!(!r.url.contains("IGQ"));
        let r = tt_refresh(
            "https://open.tiktokapis.com",
            "ck",
            &Secret::new("s&=x"),
            &Secret::new("rft.a b"),
        );
        assert_eq!(r.url, "https://open.tiktokapis.com/v2/oauth/token/");
        assert_eq!(
            String::from_utf8(r.body).unwrap(),
            "client_key=ck&client_secret=s%26%3Dx&grant_type=refresh_token&refresh_token=rft.a%20b"
        );
    }

    #[test]
    fn answers_renew_refuse_or_wait() {
        let ok = br#"{"access_token":"IGQ-new","token_type":"bearer","expires_in":5183944}"#;
        assert_eq!(
            ig_parse(200, ok).unwrap(),
            Renewed {
                access_token: "IGQ-new".into(),
                expires_in: 5183944,
                refresh_token: None,
                refresh_expires_in: None
            }
        );
        let expired = br#"{"error":{"message":"Error validating access token: Session has expired","type":"OAuthException","code":190,"error_subcode":463,"fbtrace_id":"x"}}"#;
        assert!(
            matches!(ig_parse(400, expired), Err(Failure::Refused(m)) if m.contains("Session has expired"))
        );
        let throttled = br#"{"error":{"message":"Application request limit reached","type":"OAuthException","code":4}}"#;
        assert!(matches!(
            ig_parse(400, throttled),
            Err(Failure::Transient(_))
        ));
        assert!(matches!(ig_parse(500, b"{}"), Err(Failure::Transient(_))));
        assert!(matches!(
            ig_parse(200, br#"{"expires_in": 10}"#),
            Err(Failure::Transient(_))
        ));

        let ok = br#"{"access_token":"act.new","expires_in":86400,"open_id":"o","refresh_expires_in":31536000,"refresh_token":"rft.new","scope":"user.info.basic,video.list","token_type":"Bearer"}"#;
        let r = tt_parse(200, ok).unwrap();
        assert_eq!(
            (r.refresh_token.as_deref(), r.refresh_expires_in),
            (Some("rft.new"), Some(31536000))
        );
        let refused = br#"{"error":"invalid_grant","error_description":"Refresh token is invalid or expired.","log_id":"x"}"#;
        assert!(
            matches!(tt_parse(400, refused), Err(Failure::Refused(m)) if m.contains("invalid_grant"))
        );
        assert!(matches!(tt_parse(200, refused), Err(Failure::Refused(_))));
        let busy = br#"{"error":"server_error","error_description":"busy","log_id":"x"}"#;
        assert!(matches!(tt_parse(503, busy), Err(Failure::Transient(_))));
        // An access token without a rotated refresh token is not stored half.
        assert!(matches!(
            tt_parse(200, br#"{"access_token":"a","expires_in":60}"#),
            Err(Failure::Transient(_))
        ));
    }
}
