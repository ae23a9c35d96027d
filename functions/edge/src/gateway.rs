//! The local gateway's decisions, made with the functions' own verification path
//! ([`crate::auth::present`]): Supabase's relay check for functions with `verify_jwt`, who calls
//! Storage, and Storage's signed-URL tokens. `xtask/gateway/main.ts` calls them through
//! `functions/gateway-auth`, this code compiled to wasm, so the gateway and the functions cannot
//! disagree about a token or a key.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::auth::{
    anon_claims, audience_matches, parse_jwks, present, service_claims, verify_token, ApiKeys,
    Credentials, Jwk, JwtError, KeySet, Presented, VerifiedTokens,
};
use crate::env::Secret;

/// What the gateway is started with (xtask/src/gateway.rs writes it).
#[derive(Deserialize)]
struct Config {
    /// The legacy HS256 secret; also signs Storage's signed URLs.
    jwt_secret: Option<String>,
    /// The public JWKS the gateway serves.
    jwks: Value,
    /// `{"default": "sb_publishable_..."}`, as hosted names keys.
    publishable_keys: Map<String, Value>,
    secret_keys: Map<String, Value>,
    /// The `aud` of users' tokens.
    audience: String,
}

/// A refusal, in the fields both of the gateway's error shapes need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    pub status: u16,
    pub error: &'static str,
    pub message: String,
}

impl Refusal {
    fn new(status: u16, error: &'static str, message: impl Into<String>) -> Self {
        Refusal {
            status,
            error,
            message: message.into(),
        }
    }
}

/// The message of a refused API key (Supabase's API gateway says "Invalid API key").
fn api_key_message(e: &JwtError) -> &'static str {
    match e {
        JwtError::SecretKeyInBrowser => "Forbidden use of secret API key in browser",
        _ => "Invalid API key",
    }
}

/// The keys and rules one gateway checks requests with.
pub struct Gateway {
    secret: Option<Secret>,
    jwks: Vec<Jwk>,
    api: ApiKeys,
    audience: String,
    verified: VerifiedTokens,
}

impl Gateway {
    /// From the gateway's JSON config (see `Config`).
    pub fn from_json(config: &str) -> Result<Gateway, String> {
        let c: Config =
            serde_json::from_str(config).map_err(|e| format!("bad gateway auth config: {e}"))?;
        let jwks = parse_jwks(&c.jwks.to_string()).ok_or("the gateway's JWKS is malformed")?;
        let named = |m: &Map<String, Value>| {
            ApiKeys::parse_named(Some(&Value::Object(m.clone()).to_string()))
        };
        Ok(Gateway {
            secret: c.jwt_secret.filter(|s| !s.is_empty()).map(Secret::new),
            jwks,
            api: ApiKeys {
                publishable: named(&c.publishable_keys),
                secret: named(&c.secret_keys),
            },
            audience: c.audience,
            verified: VerifiedTokens::default(),
        })
    }

    fn keys(&self) -> KeySet<'_> {
        KeySet {
            hs256_secret: self.secret.as_ref(),
            jwks: &self.jwks,
            verified: Some(&self.verified),
        }
    }

    /// Supabase's check before a function with `verify_jwt` runs: any valid JWT of the project
    /// (the legacy anon key included), or an API key of the project, which the platform turns
    /// into a short-lived token of its role.
    pub fn relay(&self, creds: &Credentials<'_>, now_s: i64) -> Result<(), Refusal> {
        match present(creds, self.keys(), &self.api, now_s) {
            Ok(Presented::Nothing) => Err(Refusal::new(
                401,
                "Unauthorized",
                "Missing authorization header",
            )),
            Ok(_) => Ok(()),
            Err(e) if e.is_api_key() => Err(Refusal::new(401, "Unauthorized", api_key_message(&e))),
            Err(_) => Err(Refusal::new(401, "Unauthorized", "Invalid JWT")),
        }
    }

    /// Who calls Storage, as the role Storage switches to and the claims it sets: a token's
    /// own (it needs the users' audience, or no audience and an API key's role), the
    /// publishable key as `anon`, a secret key as `service_role`. A token the project signed for
    /// another audience is not a Storage credential.
    pub fn storage(&self, creds: &Credentials<'_>, now_s: i64) -> Result<(String, Value), Refusal> {
        let invalid = || {
            Refusal::new(
                400,
                "InvalidJWT",
                "invalid signature, expired token or wrong audience",
            )
        };
        match present(creds, self.keys(), &self.api, now_s) {
            Ok(Presented::Token(claims)) => {
                let role = claims
                    .get("role")
                    .and_then(Value::as_str)
                    .unwrap_or("anon")
                    .to_string();
                let ok = match audience_matches(&claims, &self.audience) {
                    None => role == "anon" || role == "service_role",
                    Some(ok) => ok,
                };
                if ok {
                    Ok((role, claims))
                } else {
                    Err(invalid())
                }
            }
            Ok(Presented::Publishable) => Ok(("anon".into(), anon_claims())),
            Ok(Presented::Secret) => Ok(("service_role".into(), service_claims())),
            Ok(Presented::Nothing) => Err(Refusal::new(
                400,
                "Error",
                "headers must have required property 'authorization'",
            )),
            Err(e) if e.is_api_key() => Err(Refusal::new(401, "Unauthorized", api_key_message(&e))),
            Err(_) => Err(invalid()),
        }
    }

    /// Whether `token` is a signed URL this gateway issued for `object` (`<bucket>/<name>`):
    /// signed with the gateway's own secret, an `exp` in the future, `scope: "download"`, no
    /// audience and this object's `url`, as current Storage issues them.
    pub fn signed_url(&self, token: &str, object: &str, now_s: i64) -> bool {
        self.signed(token, object, "download", now_s).is_some()
    }

    /// The claims of a signed upload URL this gateway issued for `object` (`scope: "upload"`,
    /// as [`Gateway::signed_url`] otherwise): the `owner` and `upsert` it was issued with.
    /// `None` for any other token, so a token for one path never uploads to another.
    pub fn signed_upload(&self, token: &str, object: &str, now_s: i64) -> Option<Value> {
        self.signed(token, object, "upload", now_s)
    }

    /// Signs `claims` (a JSON object's text) with the gateway's own secret, as Storage signs
    /// its signed URLs; [`Gateway::signed_url`] and [`Gateway::signed_upload`] check them.
    pub fn sign(&self, claims: &str) -> Result<String, String> {
        let secret = self
            .secret
            .as_ref()
            .ok_or("the gateway has no JWT secret to sign with")?;
        match serde_json::from_str::<Value>(claims) {
            Ok(Value::Object(_)) => Ok(crate::auth::sign_hs256(claims, secret.expose().as_bytes())),
            _ => Err("claims must be a JSON object".into()),
        }
    }

    fn signed(&self, token: &str, object: &str, scope: &str, now_s: i64) -> Option<Value> {
        let own = KeySet {
            hs256_secret: self.secret.as_ref(),
            jwks: &[],
            verified: None,
        };
        let c = verify_token(token, own, now_s).ok()?;
        let ok = c.get("aud").is_none()
            && c.get("scope").and_then(Value::as_str) == Some(scope)
            && c.get("url").and_then(Value::as_str) == Some(object);
        ok.then_some(c)
    }

    /// [`Gateway::relay`] over the request's headers as JSON (`[[name, value], ...]`, names in
    /// lowercase): `{"ok": true}` or `{"ok": false, "status", "error", "message"}`.
    pub fn relay_json(&self, headers: &str, now_s: f64) -> String {
        with_headers(headers, |creds| {
            self.relay(creds, now_s as i64).map(|()| json!({}))
        })
    }

    /// [`Gateway::storage`] over the request's headers as JSON: `{"ok": true, "role",
    /// "claims"}` or a refusal.
    pub fn storage_json(&self, headers: &str, now_s: f64) -> String {
        with_headers(headers, |creds| {
            self.storage(creds, now_s as i64)
                .map(|(role, claims)| json!({ "role": role, "claims": claims }))
        })
    }
}

fn with_headers(
    headers: &str,
    decide: impl FnOnce(&Credentials<'_>) -> Result<Value, Refusal>,
) -> String {
    let headers: Vec<(String, String)> = match serde_json::from_str(headers) {
        Ok(h) => h,
        Err(e) => {
            let r = Refusal::new(400, "Error", format!("bad request headers: {e}"));
            return refusal_json(&r);
        }
    };
    let creds = Credentials::from_headers(|name| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    });
    match decide(&creds) {
        Ok(mut v) => {
            v["ok"] = json!(true);
            v.to_string()
        }
        Err(r) => refusal_json(&r),
    }
}

fn refusal_json(r: &Refusal) -> String {
    json!({ "ok": false, "status": r.status, "error": r.error, "message": r.message }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::tests::{hs256, user_claims, NOW};

    const SECRET: &str = "super-secret-jwt-token-with-at-least-32-characters-long";
    const PUBLISHABLE: &str = "sb_publishable_test-key-000000000000";
    const SECRET_KEY: &str = "sb_secret_test-key-0000000000000000";

    fn gateway() -> Gateway {
        Gateway::from_json(
            &json!({
                "jwt_secret": SECRET,
                "jwks": {"keys": []},
                "publishable_keys": {"default": PUBLISHABLE},
                "secret_keys": {"default": SECRET_KEY},
                "audience": "authenticated",
            })
            .to_string(),
        )
        .unwrap()
    }

    fn headers(pairs: &[(&str, &str)]) -> String {
        serde_json::to_string(pairs).unwrap()
    }

    fn answer(s: String) -> Value {
        serde_json::from_str(&s).unwrap()
    }

    #[test]
    fn the_relay_takes_tokens_and_keys_and_names_what_is_wrong() {
        let g = gateway();
        let user = hs256(&user_claims(), SECRET);
        let bearer = format!("Bearer {user}");
        for ok in [
            headers(&[("authorization", &bearer)]),
            headers(&[("apikey", PUBLISHABLE)]),
            headers(&[
                ("apikey", SECRET_KEY),
                ("authorization", &format!("Bearer {SECRET_KEY}")),
            ]),
        ] {
            assert_eq!(answer(g.relay_json(&ok, NOW as f64))["ok"], true, "{ok}");
        }
        let refused = |h: String| {
            let a = answer(g.relay_json(&h, NOW as f64));
            assert_eq!(
                (a["ok"].clone(), a["status"].clone()),
                (json!(false), json!(401))
            );
            a["message"].as_str().unwrap().to_string()
        };
        assert_eq!(refused(headers(&[])), "Missing authorization header");
        assert_eq!(
            refused(headers(&[("authorization", "Bearer x.y.z")])),
            "Invalid JWT"
        );
        assert_eq!(
            refused(headers(&[("apikey", "sb_secret_other")])),
            "Invalid API key"
        );
        assert_eq!(
            refused(headers(&[
                ("apikey", SECRET_KEY),
                ("origin", "https://app.example")
            ])),
            "Forbidden use of secret API key in browser"
        );
    }

    #[test]
    fn storage_callers_and_their_roles() {
        let g = gateway();
        let call = |h: &[(&str, &str)]| answer(g.storage_json(&headers(h), NOW as f64));
        let a = call(&[("apikey", PUBLISHABLE)]);
        assert_eq!(
            (a["role"].clone(), a["claims"].clone()),
            (json!("anon"), anon_claims())
        );
        let a = call(&[("apikey", SECRET_KEY)]);
        assert_eq!(a["role"], "service_role");
        let user = format!("Bearer {}", hs256(&user_claims(), SECRET));
        let a = call(&[("authorization", &user), ("apikey", PUBLISHABLE)]);
        assert_eq!(a["role"], "authenticated");
        // Another audience, and no audience for a user's role.
        let mut other = user_claims();
        other["aud"] = json!("someone-else");
        let mut none = user_claims();
        none.as_object_mut().unwrap().remove("aud");
        for claims in [other, none] {
            let t = format!("Bearer {}", hs256(&claims, SECRET));
            let a = call(&[("authorization", &t)]);
            assert_eq!(
                (a["status"].clone(), a["error"].clone()),
                (json!(400), json!("InvalidJWT"))
            );
        }
        let a = call(&[]);
        assert_eq!(a["status"], 400);
        let a = call(&[("apikey", SECRET_KEY), ("user-agent", "Mozilla/5.0")]);
        assert_eq!(a["status"], 401);
    }

    #[test]
    fn signed_urls_are_the_gateways_own_for_one_object() {
        let g = gateway();
        let url = json!({"url": "renders/a/b.png", "scope": "download", "exp": NOW + 60});
        assert!(g.signed_url(&hs256(&url, SECRET), "renders/a/b.png", NOW));
        assert!(!g.signed_url(&hs256(&url, SECRET), "renders/a/c.png", NOW));
        assert!(!g.signed_url(&hs256(&url, SECRET), "renders/a/b.png", NOW + 60));
        let mut with_aud = url.clone();
        with_aud["aud"] = json!("authenticated");
        assert!(!g.signed_url(&hs256(&with_aud, SECRET), "renders/a/b.png", NOW));
        // A user's token is not a signed URL.
        assert!(!g.signed_url(&hs256(&user_claims(), SECRET), "renders/a/b.png", NOW));
    }

    #[test]
    fn the_gateway_signs_what_it_checks_byte_for_byte_as_a_plain_hs256_jwt() {
        let g = gateway();
        let url =
            json!({"url": "renders/a/b.png", "scope": "download", "iat": NOW, "exp": NOW + 60});
        let token = g.sign(&url.to_string()).unwrap();
        assert_eq!(token, hs256(&url, SECRET));
        assert!(g.signed_url(&token, "renders/a/b.png", NOW));
        assert!(g.sign("[1]").is_err());
        let unkeyed = Gateway::from_json(
            &json!({"jwks": {"keys": []}, "publishable_keys": {}, "secret_keys": {}, "audience": "authenticated"})
                .to_string(),
        )
        .unwrap();
        assert!(unkeyed.sign(&url.to_string()).is_err());
    }

    #[test]
    fn signed_uploads_are_for_one_object_and_never_downloads() {
        let g = gateway();
        let up = json!({"url": "renders/a/b.png", "scope": "upload", "owner": "a", "upsert": false, "exp": NOW + 60});
        let token = hs256(&up, SECRET);
        let claims = g.signed_upload(&token, "renders/a/b.png", NOW).unwrap();
        assert_eq!(
            (claims["owner"].clone(), claims["upsert"].clone()),
            (json!("a"), json!(false))
        );
        assert!(g.signed_upload(&token, "renders/a/c.png", NOW).is_none());
        assert!(g
            .signed_upload(&token, "renders/a/b.png", NOW + 60)
            .is_none());
        // One scope is never the other.
        assert!(!g.signed_url(&token, "renders/a/b.png", NOW));
        let down = json!({"url": "renders/a/b.png", "scope": "download", "exp": NOW + 60});
        assert!(g
            .signed_upload(&hs256(&down, SECRET), "renders/a/b.png", NOW)
            .is_none());
    }
}
