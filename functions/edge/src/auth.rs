//! Verifying the caller's bearer JWT: HS256 with the project's secret, ES256 and RS256 through
//! the project's JWKS (cached), with `exp`, `nbf` and `aud` checked. Who the caller is
//! comes from here; what they may do comes from the database (RLS), never from
//! `user_metadata`.

use std::cell::RefCell;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Sha256;
use uuid::Uuid;

use crate::env::{Env, Secret};
use crate::error::Error;
use crate::http::{Clock, Http, HttpRequest, Request};

/// How long fetched keys are trusted before they are fetched again.
const JWKS_TTL_MS: u64 = 10 * 60 * 1000;
/// An unknown `kid` triggers a refetch (key rotation), but not more often than this.
const JWKS_MIN_REFETCH_MS: u64 = 30 * 1000;

/// Why a token was refused. Every variant becomes a 401.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("missing bearer token; send Authorization: Bearer <access token>")]
    Missing,
    #[error("malformed token")]
    Malformed,
    #[error("token algorithm {0} is not accepted")]
    Algorithm(String),
    #[error("token signing key is unknown")]
    UnknownKey,
    #[error("token signature is invalid")]
    BadSignature,
    #[error("token has expired; sign in again")]
    Expired,
    #[error("token is not valid yet")]
    NotYetValid,
    #[error("token audience is not {0}")]
    Audience(String),
    #[error("token does not name a signed-in user")]
    NotAUser,
}

impl From<JwtError> for Error {
    fn from(e: JwtError) -> Self {
        Error::Unauthorized(e.to_string())
    }
}

/// Who is calling.
#[derive(Debug, Clone, PartialEq)]
pub enum Caller {
    /// A signed-in user; `claims` go to the database as `request.jwt.claims`.
    User { id: Uuid, claims: Value },
    /// The project's service role (scheduled jobs, other backends).
    Service { claims: Value },
}

impl Caller {
    pub fn claims(&self) -> &Value {
        match self {
            Caller::User { claims, .. } | Caller::Service { claims } => claims,
        }
    }
}

/// Where keys come from and what a token must say.
#[derive(Debug, Clone)]
pub struct JwtConfig {
    /// The project's HS256 secret (`JWT_SECRET`); without it HS256 tokens are refused.
    pub hs256_secret: Option<Secret>,
    /// The JWKS endpoint for ES256/RS256 (`JWKS_URL`, else Supabase Auth's under
    /// `SUPABASE_URL`).
    pub jwks_url: Option<String>,
    /// Expected `aud` of user tokens.
    pub audience: String,
}

impl JwtConfig {
    pub fn from_env(env: &Env) -> Self {
        let jwks_url = env.var("JWKS_URL").map(str::to_string).ok().or_else(|| {
            env.var("SUPABASE_URL").ok().map(|base| {
                format!(
                    "{}/auth/v1/.well-known/jwks.json",
                    base.trim_end_matches('/')
                )
            })
        });
        JwtConfig {
            hs256_secret: env.optional_secret("JWT_SECRET"),
            jwks_url,
            audience: env.var_or("JWT_AUDIENCE", "authenticated").to_string(),
        }
    }
}

/// One key of a JWKS document (RFC 7517); unknown members are ignored, as the RFC requires.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Jwk {
    pub kty: String,
    #[serde(default)]
    pub kid: Option<String>,
    #[serde(default)]
    pub alg: Option<String>,
    #[serde(default)]
    pub crv: Option<String>,
    #[serde(default)]
    pub x: Option<String>,
    #[serde(default)]
    pub y: Option<String>,
    #[serde(default)]
    pub n: Option<String>,
    #[serde(default)]
    pub e: Option<String>,
}

#[derive(Debug, Deserialize)]
struct JwkSet {
    keys: Vec<Jwk>,
}

struct Cached {
    keys: Vec<Jwk>,
    fetched_ms: u64,
}

/// The JWKS of the project, kept between requests of one instance.
#[derive(Default)]
pub struct JwksCache {
    state: RefCell<Option<Cached>>,
}

impl JwksCache {
    fn lookup(&self, kid: Option<&str>, alg: &str, now_ms: u64) -> Option<Jwk> {
        let state = self.state.borrow();
        let cached = state.as_ref()?;
        if now_ms.saturating_sub(cached.fetched_ms) > JWKS_TTL_MS {
            return None;
        }
        select_key(&cached.keys, kid, alg).cloned()
    }

    fn may_refetch(&self, now_ms: u64) -> bool {
        match &*self.state.borrow() {
            None => true,
            Some(c) => now_ms.saturating_sub(c.fetched_ms) >= JWKS_MIN_REFETCH_MS,
        }
    }

    async fn refresh(&self, url: &str, http: &impl Http, now_ms: u64) -> Result<(), Error> {
        let resp = http
            .fetch(HttpRequest::get(url).timeout_ms(5_000))
            .await
            .map_err(|e| Error::Upstream(format!("cannot fetch JWKS: {e}")))?;
        if !resp.is_success() {
            return Err(Error::Upstream(format!("JWKS answered {}", resp.status)));
        }
        let set: JwkSet = serde_json::from_slice(&resp.body)
            .map_err(|e| Error::Upstream(format!("JWKS is malformed: {e}")))?;
        *self.state.borrow_mut() = Some(Cached {
            keys: set.keys,
            fetched_ms: now_ms,
        });
        Ok(())
    }
}

fn select_key<'a>(keys: &'a [Jwk], kid: Option<&str>, alg: &str) -> Option<&'a Jwk> {
    let kty = if alg == "ES256" { "EC" } else { "RSA" };
    keys.iter().find(|k| {
        k.kty == kty
            && k.alg.as_deref().is_none_or(|a| a == alg)
            && (kid.is_none() || k.kid.as_deref() == kid)
    })
}

#[derive(Debug, Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
}

struct Parts<'a> {
    header: Header,
    signing_input: &'a str,
    claims: Value,
    signature: Vec<u8>,
}

fn split(token: &str) -> Result<Parts<'_>, JwtError> {
    let (signing_input, sig_b64) = token.rsplit_once('.').ok_or(JwtError::Malformed)?;
    let (header_b64, claims_b64) = signing_input.split_once('.').ok_or(JwtError::Malformed)?;
    let decode = |s: &str| URL_SAFE_NO_PAD.decode(s).map_err(|_| JwtError::Malformed);
    let header: Header =
        serde_json::from_slice(&decode(header_b64)?).map_err(|_| JwtError::Malformed)?;
    let claims: Value =
        serde_json::from_slice(&decode(claims_b64)?).map_err(|_| JwtError::Malformed)?;
    if !claims.is_object() {
        return Err(JwtError::Malformed);
    }
    Ok(Parts {
        header,
        signing_input,
        claims,
        signature: decode(sig_b64)?,
    })
}

fn b64_field(v: &Option<String>) -> Result<Vec<u8>, JwtError> {
    let s = v.as_deref().ok_or(JwtError::UnknownKey)?;
    URL_SAFE_NO_PAD.decode(s).map_err(|_| JwtError::UnknownKey)
}

fn verify_hs256(secret: &Secret, input: &str, sig: &[u8]) -> Result<(), JwtError> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()).expect("hmac takes any key");
    mac.update(input.as_bytes());
    // Constant-time comparison.
    mac.verify_slice(sig).map_err(|_| JwtError::BadSignature)
}

fn verify_es256(key: &Jwk, input: &str, sig: &[u8]) -> Result<(), JwtError> {
    use p256::ecdsa::signature::Verifier;
    use p256::ecdsa::{Signature, VerifyingKey};
    if key.crv.as_deref() != Some("P-256") {
        return Err(JwtError::UnknownKey);
    }
    let (x, y) = (b64_field(&key.x)?, b64_field(&key.y)?);
    if x.len() != 32 || y.len() != 32 {
        return Err(JwtError::UnknownKey);
    }
    let point = p256::EncodedPoint::from_affine_coordinates(
        p256::FieldBytes::from_slice(&x),
        p256::FieldBytes::from_slice(&y),
        false,
    );
    let vk = VerifyingKey::from_encoded_point(&point).map_err(|_| JwtError::UnknownKey)?;
    // JWS carries ECDSA signatures as r || s (RFC 7518 §3.4), not DER.
    let sig = Signature::from_slice(sig).map_err(|_| JwtError::BadSignature)?;
    vk.verify(input.as_bytes(), &sig)
        .map_err(|_| JwtError::BadSignature)
}

fn verify_rs256(key: &Jwk, input: &str, sig: &[u8]) -> Result<(), JwtError> {
    use rsa::pkcs1v15::{Signature, VerifyingKey};
    use rsa::signature::Verifier;
    let n = rsa::BigUint::from_bytes_be(&b64_field(&key.n)?);
    let e = rsa::BigUint::from_bytes_be(&b64_field(&key.e)?);
    let pk = rsa::RsaPublicKey::new(n, e).map_err(|_| JwtError::UnknownKey)?;
    let vk = VerifyingKey::<Sha256>::new(pk);
    let sig = Signature::try_from(sig).map_err(|_| JwtError::BadSignature)?;
    vk.verify(input.as_bytes(), &sig)
        .map_err(|_| JwtError::BadSignature)
}

/// Checks the time and audience claims and says who the caller is.
fn check_claims(claims: Value, audience: &str, now_s: i64) -> Result<Caller, JwtError> {
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or(JwtError::Malformed)?;
    if now_s >= exp {
        return Err(JwtError::Expired);
    }
    if let Some(nbf) = claims.get("nbf").and_then(Value::as_i64) {
        if now_s < nbf {
            return Err(JwtError::NotYetValid);
        }
    }
    let aud_ok = match claims.get("aud") {
        None => None,
        Some(Value::String(a)) => Some(a == audience),
        Some(Value::Array(list)) => Some(list.iter().any(|a| a.as_str() == Some(audience))),
        Some(_) => Some(false),
    };
    let role = claims.get("role").and_then(Value::as_str).unwrap_or("");
    match (role, aud_ok) {
        // Supabase's service key carries no audience.
        ("service_role", None | Some(true)) => Ok(Caller::Service { claims }),
        (_, Some(false)) => Err(JwtError::Audience(audience.to_string())),
        (r, Some(true)) if crate::db::USER_ROLES.contains(&r) => {
            let id = claims
                .get("sub")
                .and_then(Value::as_str)
                .and_then(|s| Uuid::parse_str(s).ok())
                .ok_or(JwtError::NotAUser)?;
            Ok(Caller::User { id, claims })
        }
        (_, None) if crate::db::USER_ROLES.contains(&role) => {
            Err(JwtError::Audience(audience.to_string()))
        }
        _ => Err(JwtError::NotAUser),
    }
}

/// Verifies `token` with the given keys only (no fetching): the pure core of [`authenticate`].
pub fn verify(
    token: &str,
    config: &JwtConfig,
    keys: &[Jwk],
    now_s: i64,
) -> Result<Caller, JwtError> {
    let parts = split(token)?;
    verify_parts(&parts, config, |kid, alg| {
        select_key(keys, kid, alg).cloned()
    })?;
    check_claims(parts.claims, &config.audience, now_s)
}

fn verify_parts(
    parts: &Parts<'_>,
    config: &JwtConfig,
    key_for: impl FnOnce(Option<&str>, &str) -> Option<Jwk>,
) -> Result<(), JwtError> {
    let alg = parts.header.alg.as_str();
    match alg {
        // An HS256 token is checked only against the shared secret, never against public key
        // material, which closes the classic algorithm-confusion attack.
        "HS256" => {
            let secret = config
                .hs256_secret
                .as_ref()
                .ok_or_else(|| JwtError::Algorithm(alg.into()))?;
            verify_hs256(secret, parts.signing_input, &parts.signature)
        }
        "ES256" | "RS256" => {
            let key = key_for(parts.header.kid.as_deref(), alg).ok_or(JwtError::UnknownKey)?;
            if alg == "ES256" {
                verify_es256(&key, parts.signing_input, &parts.signature)
            } else {
                verify_rs256(&key, parts.signing_input, &parts.signature)
            }
        }
        other => Err(JwtError::Algorithm(other.into())),
    }
}

/// The caller of `req`, with the keys configured in `env` and the host's JWKS cache.
pub async fn caller(req: &Request, env: &Env, host: &impl crate::Host) -> Result<Caller, Error> {
    authenticate(req, &JwtConfig::from_env(env), host.jwks_cache(), host).await
}

/// Authenticates the request's bearer token, fetching the JWKS through the host when an
/// asymmetric token names a key not yet cached.
pub async fn authenticate(
    req: &Request,
    config: &JwtConfig,
    cache: &JwksCache,
    host: &(impl Http + Clock),
) -> Result<Caller, Error> {
    let token = req.bearer_token().ok_or(JwtError::Missing)?;
    let parts = split(token)?;
    let now_ms = host.now_ms();
    let alg = parts.header.alg.clone();
    let kid = parts.header.kid.clone();
    let mut key = None;
    if alg == "ES256" || alg == "RS256" {
        key = cache.lookup(kid.as_deref(), &alg, now_ms);
        if key.is_none() && cache.may_refetch(now_ms) {
            let url = config.jwks_url.as_deref().ok_or(JwtError::UnknownKey)?;
            cache.refresh(url, host, now_ms).await?;
            key = cache.lookup(kid.as_deref(), &alg, now_ms);
        }
    }
    verify_parts(&parts, config, |_, _| key)?;
    let now_s = i64::try_from(now_ms / 1000).unwrap_or(i64::MAX);
    Ok(check_claims(parts.claims, &config.audience, now_s)?)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::http::{HttpError, HttpResponse, Method};
    use serde_json::json;
    use std::cell::Cell;

    pub const NOW: i64 = 1_800_000_000;
    const SECRET: &str = "super-secret-jwt-token-with-at-least-32-characters-long";
    const USER: &str = "0b7c8f4e-2f59-4a2e-8d5c-3f1e9a6b7c01";

    // A throwaway 2048-bit RSA key made for these tests only.
    const RSA_N: &str = "b74c520dca080c47e93d3af466e5fda7a3edbb995eea4ca6fe6b71fec41aa1e6bb59369a7a4345096e51d7d339ce56f81f2338b616cada76f87dd8ff8c8889ffa1f0b7e8199863c45433aeb7e4626a9f9caeecfcfc893f2f486b3324a880f9f9a4a7826513e2393deb87c968351fe2e7e7da7781f894fa483c88227f25f5eb364993c77c3b964a4a31d6b2ec8f1149586bcb82a5dd812c44eeea7aa330d653d1487643a166134435a3a827723af51d5fb7822d9ae21a8c3d742f21bcb3d11a8974856d05f6a92798828c13f3877663ae443473f626aea4baa3f2a17cd4bfb871769c7e13620cec62fb5e46798a73c2c7461748a2f2a6a2513bf080ec33ecfb5d";
    const RSA_D: &str = "1bb86dd75a84b590c1880a4cb06c1b5c9938c88c85137384b4c8dc8c4e2d85eb1e4dbb6988d07816194a44d4d3b2ee29a791dccf82ea6a382053edf795d20766b2dfb3fc64b48c700258ef952d73a9d2da300534ac5f78400718793b53c56fa88ebb6b87ac4663e846a0ba37a983193e7faca532b17c9c4e44e344ae4c7820ba4accad110a8971e6b8d731c141f1f1c7fdb07d3e4d56beda8c0ac6cf78a077ce2061dc3478542882028d3ed3ac46b03ccacec820d8068984fcac299e377d039ea26727ac0730e5a5bbfc31ed324306a8f3d93c2fba0849dc64a69a6d63f95f6dceba7343a9b359dba3bf9f4f80adf07745d5624927bd62824bc2bf6b841845e9";
    const RSA_P: &str = "f498745418307a7957c0174062721add4b2669e3c063348e43c0384b861bce6e92fc6e8fca6fc307cf77d9f6b0688f69d5b2580f373b1639726037aec91eecbb061a760b587bee10571936f67e03f16880c4be8431f158bc4d35edf909c46e7d55b59e63b5a27ae93caf3e3be973831c5587626da55ae23b2a09d98324ddda55";
    const RSA_Q: &str = "bfd834fd3518f8ae08c884740c758d49f165b5013313bf48331d8776274aa9afa63b051201e7febb077f91bb636f2abe92f5b1ec7f4efa411697292bd4abae1a5128a3ca8bf80f36ba0a71c2dbaf50a30ef3222af71542d5153066b98387f8664d76aa51f2527f8046e32e0d2fba75f7dd4523d0fe526d5eb0350dcdb70834e9";

    fn b64(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    fn signing_input(header: Value, claims: &Value) -> String {
        format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        )
    }

    pub fn hs256(claims: &Value, secret: &str) -> String {
        let input = signing_input(json!({"alg": "HS256", "typ": "JWT"}), claims);
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(input.as_bytes());
        format!("{input}.{}", b64(&mac.finalize().into_bytes()))
    }

    fn ec_key() -> p256::ecdsa::SigningKey {
        p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap()
    }

    fn ec_jwk(kid: &str) -> Jwk {
        let point = ec_key().verifying_key().to_encoded_point(false);
        serde_json::from_value(json!({
            "kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256", "use": "sig",
            "x": b64(point.x().unwrap()), "y": b64(point.y().unwrap()),
        }))
        .unwrap()
    }

    fn es256(claims: &Value, kid: &str) -> String {
        use p256::ecdsa::signature::Signer;
        let input = signing_input(json!({"alg": "ES256", "typ": "JWT", "kid": kid}), claims);
        let sig: p256::ecdsa::Signature = ec_key().sign(input.as_bytes());
        format!("{input}.{}", b64(&sig.to_bytes()))
    }

    fn rsa_key() -> rsa::RsaPrivateKey {
        let h = |s: &str| rsa::BigUint::from_bytes_be(&hex::decode(s).unwrap());
        rsa::RsaPrivateKey::from_components(
            h(RSA_N),
            h("010001"),
            h(RSA_D),
            vec![h(RSA_P), h(RSA_Q)],
        )
        .unwrap()
    }

    fn rs256(claims: &Value, kid: &str) -> String {
        use rsa::signature::{SignatureEncoding, Signer};
        let input = signing_input(json!({"alg": "RS256", "typ": "JWT", "kid": kid}), claims);
        let sk = rsa::pkcs1v15::SigningKey::<Sha256>::new(rsa_key());
        format!("{input}.{}", b64(&sk.sign(input.as_bytes()).to_bytes()))
    }

    fn rsa_jwk(kid: &str) -> Jwk {
        serde_json::from_value(json!({
            "kty": "RSA", "kid": kid, "alg": "RS256",
            "n": b64(&hex::decode(RSA_N).unwrap()), "e": "AQAB",
        }))
        .unwrap()
    }

    fn config() -> JwtConfig {
        JwtConfig {
            hs256_secret: Some(Secret::new(SECRET)),
            jwks_url: Some("http://127.0.0.1:54321/auth/v1/.well-known/jwks.json".into()),
            audience: "authenticated".into(),
        }
    }

    pub fn user_claims() -> Value {
        json!({"sub": USER, "aud": "authenticated", "role": "authenticated", "exp": NOW + 60})
    }

    #[test]
    fn hs256_user_token_is_accepted() {
        let caller = verify(&hs256(&user_claims(), SECRET), &config(), &[], NOW).unwrap();
        assert!(matches!(caller, Caller::User { id, .. } if id.to_string() == USER));
    }

    /// Tokens issued through the access token hook name the user's business role.
    #[test]
    fn business_role_tokens_are_users_and_other_roles_are_not() {
        let mut sales = user_claims();
        sales["role"] = json!("moha_sales");
        let caller = verify(&hs256(&sales, SECRET), &config(), &[], NOW).unwrap();
        assert!(matches!(caller, Caller::User { id, .. } if id.to_string() == USER));
        for role in ["ai_agent", "postgres", "anon"] {
            let mut other = user_claims();
            other["role"] = json!(role);
            assert_eq!(
                verify(&hs256(&other, SECRET), &config(), &[], NOW),
                Err(JwtError::NotAUser),
                "{role}"
            );
        }
    }

    #[test]
    fn bad_signature_expired_and_wrong_audience_are_refused() {
        let c = config();
        let forged = hs256(&user_claims(), "another-secret-another-secret-another");
        assert_eq!(verify(&forged, &c, &[], NOW), Err(JwtError::BadSignature));
        let mut expired = user_claims();
        expired["exp"] = json!(NOW - 1);
        assert_eq!(
            verify(&hs256(&expired, SECRET), &c, &[], NOW),
            Err(JwtError::Expired)
        );
        let mut aud = user_claims();
        aud["aud"] = json!("someone-else");
        assert!(matches!(
            verify(&hs256(&aud, SECRET), &c, &[], NOW),
            Err(JwtError::Audience(_))
        ));
        let mut no_exp = user_claims();
        no_exp.as_object_mut().unwrap().remove("exp");
        assert_eq!(
            verify(&hs256(&no_exp, SECRET), &c, &[], NOW),
            Err(JwtError::Malformed)
        );
        assert_eq!(verify("not-a-jwt", &c, &[], NOW), Err(JwtError::Malformed));
    }

    #[test]
    fn anon_key_and_alg_none_are_refused_service_key_is_a_service_caller() {
        let c = config();
        let anon = json!({"iss": "supabase-demo", "role": "anon", "exp": NOW + 60});
        assert_eq!(
            verify(&hs256(&anon, SECRET), &c, &[], NOW),
            Err(JwtError::NotAUser)
        );
        let service = json!({"iss": "supabase-demo", "role": "service_role", "exp": NOW + 60});
        assert!(matches!(
            verify(&hs256(&service, SECRET), &c, &[], NOW),
            Ok(Caller::Service { .. })
        ));
        let none = format!("{}.", signing_input(json!({"alg": "none"}), &user_claims()));
        assert!(matches!(
            verify(&none, &c, &[], NOW),
            Err(JwtError::Algorithm(_))
        ));
    }

    #[test]
    fn es256_and_rs256_verify_against_the_jwks() {
        let keys = [ec_jwk("ec-1"), rsa_jwk("rsa-1")];
        let c = config();
        assert!(verify(&es256(&user_claims(), "ec-1"), &c, &keys, NOW).is_ok());
        assert!(verify(&rs256(&user_claims(), "rsa-1"), &c, &keys, NOW).is_ok());
        assert_eq!(
            verify(&es256(&user_claims(), "ec-unknown"), &c, &keys, NOW),
            Err(JwtError::UnknownKey)
        );
        // A token re-signed by someone else under a known kid.
        let mut tampered = es256(&user_claims(), "ec-1");
        let cut = tampered.rfind('.').unwrap();
        tampered.replace_range(cut + 1..cut + 3, "AA");
        assert_eq!(
            verify(&tampered, &c, &keys, NOW),
            Err(JwtError::BadSignature)
        );
    }

    #[test]
    fn hs256_token_is_never_checked_against_public_keys() {
        // Algorithm confusion: an attacker signs HS256 with the RSA public modulus as secret.
        let mut c = config();
        c.hs256_secret = None;
        let token = hs256(&user_claims(), RSA_N);
        assert!(matches!(
            verify(&token, &c, &[rsa_jwk("rsa-1")], NOW),
            Err(JwtError::Algorithm(_))
        ));
    }

    struct JwksHost {
        body: String,
        fetches: Cell<u32>,
        now_ms: Cell<u64>,
    }

    impl Http for JwksHost {
        async fn fetch(&self, req: HttpRequest) -> Result<HttpResponse, HttpError> {
            assert_eq!(req.method, Method::Get);
            assert!(
                req.url.ends_with("/auth/v1/.well-known/jwks.json"),
                "{}",
                req.url
            );
            self.fetches.set(self.fetches.get() + 1);
            Ok(HttpResponse {
                status: 200,
                headers: vec![],
                body: self.body.clone().into_bytes(),
            })
        }
    }

    impl Clock for JwksHost {
        fn now_ms(&self) -> u64 {
            self.now_ms.get()
        }
        async fn sleep(&self, _ms: u64) {}
    }

    #[test]
    fn jwks_is_fetched_once_and_refetched_for_an_unknown_kid_at_most_every_30s() {
        let host = JwksHost {
            body: json!({"keys": [ec_jwk("ec-1")]}).to_string(),
            fetches: Cell::new(0),
            now_ms: Cell::new(NOW as u64 * 1000),
        };
        let cache = JwksCache::default();
        let c = config();
        let req = |t: String| {
            Request::new(Method::Post, "/").with_header("authorization", format!("Bearer {t}"))
        };
        let good = req(es256(&user_claims(), "ec-1"));
        for _ in 0..3 {
            pollster::block_on(authenticate(&good, &c, &cache, &host)).unwrap();
        }
        assert_eq!(host.fetches.get(), 1);
        let unknown = req(es256(&user_claims(), "ec-2"));
        let e = pollster::block_on(authenticate(&unknown, &c, &cache, &host)).unwrap_err();
        assert_eq!(e.status(), 401);
        assert_eq!(
            host.fetches.get(),
            1,
            "refetched within the minimum interval"
        );
        host.now_ms.set(host.now_ms.get() + JWKS_MIN_REFETCH_MS);
        let _ = pollster::block_on(authenticate(&unknown, &c, &cache, &host));
        assert_eq!(host.fetches.get(), 2);
        let missing = Request::new(Method::Post, "/");
        let e = pollster::block_on(authenticate(&missing, &c, &cache, &host)).unwrap_err();
        assert_eq!((e.status(), e.code()), (401, "unauthorized"));
    }
}
