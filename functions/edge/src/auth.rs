//! Who is calling. A request proves it with a bearer JWT (HS256 with the project's legacy
//! secret, or any key of the project's JWKS: ES256, RS256, or an HS256 `oct` key) or with an API
//! key in `apikey` (publishable or secret, or a legacy JWT key). `exp` is required, `nbf` and `aud`
//! are checked. This is the one verification path: the functions call it, and the local gateway
//! runs the same code compiled to wasm (`functions/gateway-auth`, see [`crate::gateway`]). Who the
//! caller is comes from here; what they may do comes from the database (RLS), never from
//! `user_metadata`.

use std::cell::RefCell;
use std::collections::HashMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::env::{Env, Secret};
use crate::error::Error;
use crate::http::{Clock, Http, HttpRequest, Request};

/// How long fetched keys are trusted before they are fetched again.
const JWKS_TTL_MS: u64 = 10 * 60 * 1000;
/// An unknown `kid` triggers a refetch (key rotation), but not more often than this.
const JWKS_MIN_REFETCH_MS: u64 = 30 * 1000;

/// Why a request was refused. Every variant becomes a 401.
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
    #[error("token has no expiry (exp)")]
    NoExpiry,
    #[error("token is not valid yet")]
    NotYetValid,
    #[error("token audience is not {0}")]
    Audience(String),
    #[error("token does not name a signed-in user")]
    NotAUser,
    #[error("invalid API key")]
    InvalidApiKey,
    #[error("secret API keys cannot be used from a browser; call from a server")]
    SecretKeyInBrowser,
}

impl JwtError {
    /// Whether the API key, rather than a token, was refused.
    pub fn is_api_key(&self) -> bool {
        matches!(self, JwtError::InvalidApiKey | JwtError::SecretKeyInBrowser)
    }
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
    /// The project's service role (scheduled jobs, other backends): a secret API key, or the
    /// legacy `service_role` key.
    Service { claims: Value },
}

impl Caller {
    pub fn claims(&self) -> &Value {
        match self {
            Caller::User { claims, .. } | Caller::Service { claims } => claims,
        }
    }
}

/// The project's API keys, by name, as hosted passes them to functions: JSON objects in
/// `SUPABASE_PUBLISHABLE_KEYS` and `SUPABASE_SECRET_KEYS` (`{"default": "sb_secret_..."}`).
#[derive(Debug, Clone, Default)]
pub struct ApiKeys {
    pub publishable: Vec<Secret>,
    pub secret: Vec<Secret>,
}

/// What an `apikey` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ApiKeyKind {
    Publishable,
    Secret,
    /// Shaped like a new key (`sb_...`) but not one of the project's.
    Unknown,
}

/// New API keys are opaque strings with this prefix; legacy ones are JWTs.
pub fn is_new_api_key(value: &str) -> bool {
    value.starts_with("sb_")
}

/// Equality whose time does not depend on where two keys of one length differ.
fn same_key(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl ApiKeys {
    /// The values of a JSON object of named keys; anything else gives none (fail closed).
    pub fn parse_named(json: Option<&str>) -> Vec<Secret> {
        json.and_then(|j| serde_json::from_str::<serde_json::Map<String, Value>>(j).ok())
            .map(|m| {
                m.values()
                    .filter_map(Value::as_str)
                    .filter(|k| is_new_api_key(k))
                    .map(Secret::new)
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn from_env(env: &Env) -> Self {
        ApiKeys {
            publishable: Self::parse_named(env.var("SUPABASE_PUBLISHABLE_KEYS").ok()),
            secret: Self::parse_named(env.var("SUPABASE_SECRET_KEYS").ok()),
        }
    }

    fn kind(&self, key: &str) -> ApiKeyKind {
        // Every key is compared, so the time taken does not say which list matched.
        let in_list = |list: &[Secret]| {
            list.iter()
                .fold(false, |hit, k| same_key(k.expose(), key) | hit)
        };
        let (public, secret) = (in_list(&self.publishable), in_list(&self.secret));
        match (public, secret) {
            (_, true) => ApiKeyKind::Secret,
            (true, false) => ApiKeyKind::Publishable,
            _ => ApiKeyKind::Unknown,
        }
    }
}

/// The keys tokens may be signed with.
#[derive(Clone, Copy)]
pub struct KeySet<'a> {
    /// The project's legacy HS256 secret (`JWT_SECRET`); without it, HS256 needs an `oct` key.
    pub hs256_secret: Option<&'a Secret>,
    pub jwks: &'a [Jwk],
    /// Tokens this instance has verified already, if it keeps them.
    pub verified: Option<&'a VerifiedTokens>,
}

/// At most this many verified tokens are kept; a full cache starts over.
const MAX_VERIFIED: usize = 1024;

/// Tokens an instance has verified, so that a session's repeated calls with one access token
/// cost a hash instead of a signature check (ES256 in wasm takes milliseconds). An entry is
/// found by the token's SHA-256 and holds its claims and a digest of the key that verified it;
/// a hit still needs that same key in the current set (a key that left the JWKS, or another
/// key under its `kid`, verifies nothing) and rechecks `exp` and `nbf`. Only tokens that
/// verified are ever stored.
/// A token's SHA-256 → the digest of the key that verified it, and its claims.
type Verified = HashMap<[u8; 32], ([u8; 32], Value)>;

#[derive(Default)]
pub struct VerifiedTokens {
    map: RefCell<Verified>,
}

impl VerifiedTokens {
    fn get(&self, token: &[u8; 32], key: &[u8; 32]) -> Option<Value> {
        let map = self.map.borrow();
        let (k, claims) = map.get(token)?;
        (k == key).then(|| claims.clone())
    }

    fn insert(&self, token: [u8; 32], key: [u8; 32], claims: &Value) {
        let mut map = self.map.borrow_mut();
        if map.len() >= MAX_VERIFIED {
            map.clear();
        }
        map.insert(token, (key, claims.clone()));
    }
}

/// Where keys come from and what a token must say.
#[derive(Debug, Clone)]
pub struct JwtConfig {
    /// The project's legacy HS256 secret (`JWT_SECRET`); without it legacy tokens are refused.
    pub hs256_secret: Option<Secret>,
    /// The key set itself (`SUPABASE_JWKS`, which hosted gives every function), if given.
    pub jwks: Vec<Jwk>,
    /// A JWKS endpoint (`JWKS_URL`, else Supabase Auth's under `SUPABASE_URL`), fetched and
    /// cached for a token whose key `jwks` lacks: a key made after the function started.
    pub jwks_url: Option<String>,
    /// Expected `aud` of user tokens.
    pub audience: String,
    pub api_keys: ApiKeys,
}

/// A JWKS document: `{"keys": [...]}`, or the bare array some tools write.
pub fn parse_jwks(json: &str) -> Option<Vec<Jwk>> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Doc {
        Set { keys: Vec<Jwk> },
        Bare(Vec<Jwk>),
    }
    match serde_json::from_str::<Doc>(json).ok()? {
        Doc::Set { keys } | Doc::Bare(keys) => Some(keys),
    }
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
            // A malformed set gives no keys: the endpoint is asked instead.
            jwks: env
                .var("SUPABASE_JWKS")
                .ok()
                .and_then(parse_jwks)
                .unwrap_or_default(),
            jwks_url,
            audience: env.var_or("JWT_AUDIENCE", "authenticated").to_string(),
            api_keys: ApiKeys::from_env(env),
        }
    }
}

/// One key of a JWKS document (RFC 7517); unknown members are ignored, as the RFC requires.
#[derive(Clone, Serialize, Deserialize)]
pub struct Jwk {
    pub kty: String,
    #[serde(default)]
    pub kid: Option<String>,
    #[serde(default)]
    pub alg: Option<String>,
    #[serde(default, rename = "use")]
    pub use_: Option<String>,
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
    /// The shared secret of an `oct` (HS256) key: only ever in a private key set.
    #[serde(default)]
    pub k: Option<String>,
}

impl std::fmt::Debug for Jwk {
    // `k` is a secret; the rest is public.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jwk")
            .field("kty", &self.kty)
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Deserialize)]
struct JwkSet {
    keys: Vec<Jwk>,
}

struct Cached {
    keys: Vec<Jwk>,
    fetched_ms: u64,
}

/// The JWKS of the project, kept between requests of one instance, with the tokens the
/// instance has verified.
#[derive(Default)]
pub struct JwksCache {
    state: RefCell<Option<Cached>>,
    verified: VerifiedTokens,
}

impl JwksCache {
    /// The cached keys while they are fresh.
    fn keys(&self, now_ms: u64) -> Option<Vec<Jwk>> {
        let state = self.state.borrow();
        let cached = state.as_ref()?;
        (now_ms.saturating_sub(cached.fetched_ms) <= JWKS_TTL_MS).then(|| cached.keys.clone())
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

/// The key for a token's `alg` and `kid`: the key type must be the algorithm's own, so public
/// key material is never used as an HMAC secret (algorithm confusion), and an asymmetric token
/// must name its key.
fn select_key<'a>(keys: &'a [Jwk], kid: Option<&str>, alg: &str) -> Option<&'a Jwk> {
    let kty = match alg {
        "ES256" => "EC",
        "RS256" => "RSA",
        "HS256" => "oct",
        _ => return None,
    };
    let kid = kid?;
    keys.iter().find(|k| {
        k.kty == kty
            && k.kid.as_deref() == Some(kid)
            && k.alg.as_deref().is_none_or(|a| a == alg)
            && k.use_.as_deref().is_none_or(|u| u == "sig")
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

/// Signs `claims` (a JSON object's text, kept byte for byte) as an HS256 JWT with `secret`: the
/// one HS256 signer, [`verify_hmac`]'s other side. The local gateway signs Storage's signed
/// URLs with it ([`crate::gateway::Gateway::sign`]).
pub fn sign_hs256(claims: &str, secret: &[u8]) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("hmac takes any key");
    mac.update(input.as_bytes());
    format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

fn verify_hmac(secret: &[u8], input: &str, sig: &[u8]) -> Result<(), JwtError> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("hmac takes any key");
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

/// The key that must have signed a token.
enum Signer<'a> {
    Jwk(&'a Jwk),
    Secret(&'a Secret),
}

impl Signer<'_> {
    /// A digest of the key material, so a cached verification is used with the same key only.
    fn digest(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        match self {
            Signer::Jwk(k) => {
                for part in [&k.crv, &k.x, &k.y, &k.n, &k.e, &k.k] {
                    h.update(part.as_deref().unwrap_or("").as_bytes());
                    h.update([0]);
                }
                h.update(k.kty.as_bytes());
            }
            Signer::Secret(s) => {
                h.update(b"legacy secret\0");
                h.update(s.expose().as_bytes());
            }
        }
        h.finalize().into()
    }

    fn verify(&self, alg: &str, input: &str, sig: &[u8]) -> Result<(), JwtError> {
        match (self, alg) {
            (Signer::Secret(s), _) => verify_hmac(s.expose().as_bytes(), input, sig),
            (Signer::Jwk(k), "HS256") => {
                let secret = URL_SAFE_NO_PAD
                    .decode(k.k.as_deref().ok_or(JwtError::UnknownKey)?)
                    .map_err(|_| JwtError::UnknownKey)?;
                verify_hmac(&secret, input, sig)
            }
            (Signer::Jwk(k), "ES256") => verify_es256(k, input, sig),
            (Signer::Jwk(k), _) => verify_rs256(k, input, sig),
        }
    }
}

/// The key a token's header asks for. HS256 is checked only against symmetric keys: an `oct`
/// key of the set that the token names, else the legacy secret. Never against public key
/// material, which closes the classic algorithm-confusion attack.
fn signer<'a>(header: &Header, keys: KeySet<'a>) -> Result<Signer<'a>, JwtError> {
    let alg = header.alg.as_str();
    let kid = header.kid.as_deref();
    match alg {
        "HS256" => match select_key(keys.jwks, kid, alg) {
            Some(key) => Ok(Signer::Jwk(key)),
            None => keys
                .hs256_secret
                .map(Signer::Secret)
                .ok_or_else(|| JwtError::Algorithm(alg.into())),
        },
        "ES256" | "RS256" => select_key(keys.jwks, kid, alg)
            .map(Signer::Jwk)
            .ok_or(JwtError::UnknownKey),
        other => Err(JwtError::Algorithm(other.into())),
    }
}

/// `exp` is required and must be in the future; `nbf`, when present, reached.
fn check_time(claims: &Value, now_s: i64) -> Result<(), JwtError> {
    let exp = match claims.get("exp") {
        None => return Err(JwtError::NoExpiry),
        Some(v) => v.as_i64().ok_or(JwtError::Malformed)?,
    };
    if now_s >= exp {
        return Err(JwtError::Expired);
    }
    if let Some(nbf) = claims.get("nbf") {
        if now_s < nbf.as_i64().ok_or(JwtError::Malformed)? {
            return Err(JwtError::NotYetValid);
        }
    }
    Ok(())
}

/// Verifies `token`'s signature with `keys` and its time claims: `exp` is required and must be
/// in the future, `nbf` (when present) reached. Returns the claims; who they name is for the
/// caller of this function to decide.
pub fn verify_token(token: &str, keys: KeySet<'_>, now_s: i64) -> Result<Value, JwtError> {
    let parts = split(token)?;
    let signer = signer(&parts.header, keys)?;
    let Some(cache) = keys.verified else {
        signer.verify(&parts.header.alg, parts.signing_input, &parts.signature)?;
        check_time(&parts.claims, now_s)?;
        return Ok(parts.claims);
    };
    let (id, key): ([u8; 32], [u8; 32]) =
        (Sha256::digest(token.as_bytes()).into(), signer.digest());
    if let Some(claims) = cache.get(&id, &key) {
        check_time(&claims, now_s)?;
        return Ok(claims);
    }
    signer.verify(&parts.header.alg, parts.signing_input, &parts.signature)?;
    check_time(&parts.claims, now_s)?;
    cache.insert(id, key, &parts.claims);
    Ok(parts.claims)
}

/// Whether `claims` carry `audience` in `aud`; `None` when there is no `aud` at all.
pub fn audience_matches(claims: &Value, audience: &str) -> Option<bool> {
    match claims.get("aud") {
        None => None,
        Some(Value::String(a)) => Some(a == audience),
        Some(Value::Array(list)) => Some(list.iter().any(|a| a.as_str() == Some(audience))),
        Some(_) => Some(false),
    }
}

/// Says who verified claims name, for a function: a user (their role one of the users' roles,
/// the expected audience, a UUID `sub`) or the service role (Supabase's legacy service key
/// carries no audience).
fn caller_from_claims(claims: Value, audience: &str) -> Result<Caller, JwtError> {
    let aud_ok = audience_matches(&claims, audience);
    let role = claims.get("role").and_then(Value::as_str).unwrap_or("");
    match (role, aud_ok) {
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

/// The credentials of a request, as Supabase's API gateway reads them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Credentials<'a> {
    /// The token of `Authorization: Bearer <token>`.
    pub bearer: Option<&'a str>,
    /// The `apikey` header.
    pub apikey: Option<&'a str>,
    /// Whether a browser sent the request.
    pub browser: bool,
}

fn parse_bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
        .filter(|t| !t.is_empty())
}

impl<'a> Credentials<'a> {
    /// From the request's headers, `header` looking one up by its lowercase name.
    pub fn from_headers(header: impl Fn(&str) -> Option<&'a str>) -> Self {
        // Hosted refuses secret keys from browsers by their User-Agent (every browser's starts
        // with "Mozilla/"). A page can set a User-Agent in some browsers, but never Origin or
        // Sec-Fetch-* (forbidden headers), which browsers send and servers do not: those
        // count too, so this is stricter than hosted, never looser.
        let browser = header("user-agent")
            .is_some_and(|ua| ua.trim_start().starts_with("Mozilla/"))
            || header("origin").is_some()
            || header("sec-fetch-mode").is_some()
            || header("sec-fetch-site").is_some();
        Credentials {
            bearer: header("authorization").and_then(parse_bearer),
            apikey: header("apikey").map(str::trim).filter(|k| !k.is_empty()),
            browser,
        }
    }

    pub fn of(req: &'a Request) -> Self {
        Self::from_headers(|name| req.header(name))
    }

    /// The JWT the request relies on: the bearer token, else a legacy (JWT) API key. A new API
    /// key sent as the bearer is not a JWT (Supabase's clients send the key there too).
    pub fn jwt(&self) -> Option<&'a str> {
        match self.bearer {
            Some(b) if !is_new_api_key(b) => Some(b),
            _ => self.apikey.filter(|k| !is_new_api_key(k)),
        }
    }
}

/// What a request proves, before any policy decides what that is worth.
#[derive(Debug, Clone, PartialEq)]
pub enum Presented {
    /// A verified JWT (a user's access token, or a legacy API key); its claims.
    Token(Value),
    /// The project's publishable key, and no token: the anonymous role.
    Publishable,
    /// One of the project's secret keys, and no token: the service role.
    Secret,
    /// No credential at all.
    Nothing,
}

/// Verifies a request's credentials as Supabase's API gateway does. The `apikey`, when it is a
/// new key, must be one of the project's, and a secret key is refused from a browser. A bearer
/// that is a new key counts only when it equals the `apikey`. A JWT (the bearer, else a legacy
/// `apikey`) must verify; then its claims decide, whatever the `apikey`.
pub fn present(
    creds: &Credentials<'_>,
    keys: KeySet<'_>,
    api: &ApiKeys,
    now_s: i64,
) -> Result<Presented, JwtError> {
    if let Some(b) = creds.bearer.filter(|b| is_new_api_key(b)) {
        if creds.apikey != Some(b) {
            return Err(JwtError::InvalidApiKey);
        }
    }
    let kind = match creds.apikey.filter(|k| is_new_api_key(k)) {
        None => None,
        Some(k) => match api.kind(k) {
            ApiKeyKind::Unknown => return Err(JwtError::InvalidApiKey),
            ApiKeyKind::Secret if creds.browser => return Err(JwtError::SecretKeyInBrowser),
            kind => Some(kind),
        },
    };
    if let Some(token) = creds.jwt() {
        return verify_token(token, keys, now_s).map(Presented::Token);
    }
    Ok(match kind {
        Some(ApiKeyKind::Secret) => Presented::Secret,
        Some(_) => Presented::Publishable,
        None => Presented::Nothing,
    })
}

/// The claims a secret key stands for (what the gateway puts in `request.jwt.claims`).
pub fn service_claims() -> Value {
    json!({ "role": "service_role" })
}

/// The claims the publishable key stands for.
pub fn anon_claims() -> Value {
    json!({ "role": "anon" })
}

/// The caller of a function: a user's token, the secret key (or the legacy service key) as the
/// service role. The publishable key and the legacy anon key are not callers.
pub fn caller_of(presented: Presented, audience: &str) -> Result<Caller, JwtError> {
    match presented {
        Presented::Token(claims) => caller_from_claims(claims, audience),
        Presented::Secret => Ok(Caller::Service {
            claims: service_claims(),
        }),
        Presented::Publishable => Err(JwtError::NotAUser),
        Presented::Nothing => Err(JwtError::Missing),
    }
}

/// Verifies `token` (a bearer token) with the given keys only (no fetching, no API keys): the
/// pure core of [`authenticate`] for a token alone.
pub fn verify(
    token: &str,
    config: &JwtConfig,
    keys: &[Jwk],
    now_s: i64,
) -> Result<Caller, JwtError> {
    let keys = KeySet {
        hs256_secret: config.hs256_secret.as_ref(),
        jwks: keys,
        verified: None,
    };
    caller_from_claims(verify_token(token, keys, now_s)?, &config.audience)
}

/// The caller of `req`, with the keys configured in `env` and the host's JWKS cache.
pub async fn caller(req: &Request, env: &Env, host: &impl crate::Host) -> Result<Caller, Error> {
    authenticate(req, &JwtConfig::from_env(env), host.jwks_cache(), host).await
}

/// Authenticates the request's credentials, fetching the JWKS through the host when an
/// asymmetric token names a key not yet cached.
pub async fn authenticate(
    req: &Request,
    config: &JwtConfig,
    cache: &JwksCache,
    host: &(impl Http + Clock),
) -> Result<Caller, Error> {
    let creds = Credentials::of(req);
    let now_ms = host.now_ms();
    // The given set, unless an asymmetric token names a key it lacks: then the endpoint's
    // (cached; refetched for an unknown kid at most every 30 s).
    let header = creds.jwt().and_then(|t| split(t).ok()).map(|p| p.header);
    let lacks = |keys: &[Jwk]| {
        header.as_ref().is_some_and(|h| {
            (h.alg == "ES256" || h.alg == "RS256")
                && select_key(keys, h.kid.as_deref(), &h.alg).is_none()
        })
    };
    let mut fetched = None;
    if let (true, Some(url)) = (lacks(&config.jwks), &config.jwks_url) {
        let mut keys = cache.keys(now_ms);
        if keys.as_deref().is_none_or(lacks) && cache.may_refetch(now_ms) {
            cache.refresh(url, host, now_ms).await?;
            keys = cache.keys(now_ms);
        }
        fetched = keys;
    }
    let jwks = fetched.as_deref().unwrap_or(&config.jwks);
    let keys = KeySet {
        hs256_secret: config.hs256_secret.as_ref(),
        jwks,
        verified: Some(&cache.verified),
    };
    let now_s = i64::try_from(now_ms / 1000).unwrap_or(i64::MAX);
    let presented = present(&creds, keys, &config.api_keys, now_s)?;
    Ok(caller_of(presented, &config.audience)?)
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
    const PUBLISHABLE: &str = "sb_publishable_test-key-000000000000";
    const SECRET_KEY: &str = "sb_secret_test-key-0000000000000000";

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
            jwks: Vec::new(),
            jwks_url: Some("http://127.0.0.1:54321/auth/v1/.well-known/jwks.json".into()),
            audience: "authenticated".into(),
            api_keys: ApiKeys {
                publishable: vec![Secret::new(PUBLISHABLE)],
                secret: vec![Secret::new(SECRET_KEY)],
            },
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
            Err(JwtError::NoExpiry)
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

    fn es256_signed_by(key: &p256::ecdsa::SigningKey, header: Value, claims: &Value) -> String {
        use p256::ecdsa::signature::Signer;
        let input = signing_input(header, claims);
        let sig: p256::ecdsa::Signature = key.sign(input.as_bytes());
        format!("{input}.{}", b64(&sig.to_bytes()))
    }

    /// Tokens an attacker can make without the private key: each one is refused.
    #[test]
    fn forged_asymmetric_tokens_are_refused() {
        let keys = [ec_jwk("ec-1"), rsa_jwk("rsa-1")];
        let c = config();
        // Signed by another key under the published kid.
        let other = p256::ecdsa::SigningKey::from_slice(&[9u8; 32]).unwrap();
        let head = json!({"alg": "ES256", "typ": "JWT", "kid": "ec-1"});
        assert_eq!(
            verify(
                &es256_signed_by(&other, head, &user_claims()),
                &c,
                &keys,
                NOW
            ),
            Err(JwtError::BadSignature)
        );
        // No kid: an asymmetric token must name its key.
        let head = json!({"alg": "ES256", "typ": "JWT"});
        assert_eq!(
            verify(
                &es256_signed_by(&ec_key(), head, &user_claims()),
                &c,
                &keys,
                NOW
            ),
            Err(JwtError::UnknownKey)
        );
        // ES256 naming the RSA key.
        let head = json!({"alg": "ES256", "typ": "JWT", "kid": "rsa-1"});
        assert_eq!(
            verify(
                &es256_signed_by(&ec_key(), head, &user_claims()),
                &c,
                &keys,
                NOW
            ),
            Err(JwtError::UnknownKey)
        );
        // alg none, with and without the published kid.
        for head in [
            json!({"alg": "none"}),
            json!({"alg": "none", "kid": "ec-1"}),
        ] {
            let none = format!("{}.", signing_input(head, &user_claims()));
            assert!(matches!(
                verify(&none, &c, &keys, NOW),
                Err(JwtError::Algorithm(_))
            ));
        }
        // No exp: a token that never expires is not accepted.
        let mut forever = user_claims();
        forever.as_object_mut().unwrap().remove("exp");
        assert_eq!(
            verify(&es256(&forever, "ec-1"), &c, &keys, NOW),
            Err(JwtError::NoExpiry)
        );
        let mut expired = user_claims();
        expired["exp"] = json!(NOW);
        assert_eq!(
            verify(&es256(&expired, "ec-1"), &c, &keys, NOW),
            Err(JwtError::Expired)
        );
    }

    /// Algorithm confusion: HS256 "signed" with the published public key, in every encoding an
    /// attacker might try, never verifies, whether or not a legacy secret is configured.
    #[test]
    fn hs256_with_the_public_key_bytes_is_refused() {
        let jwk = ec_jwk("ec-1");
        let point = ec_key().verifying_key().to_encoded_point(false);
        let jwk_json = serde_json::to_string(&jwk).unwrap();
        let x_y = [
            URL_SAFE_NO_PAD.decode(jwk.x.as_deref().unwrap()).unwrap(),
            URL_SAFE_NO_PAD.decode(jwk.y.as_deref().unwrap()).unwrap(),
        ]
        .concat();
        let materials: [&[u8]; 3] = [jwk_json.as_bytes(), point.as_bytes(), &x_y];
        let mut without_secret = config();
        without_secret.hs256_secret = None;
        for material in materials {
            let input = signing_input(
                json!({"alg": "HS256", "typ": "JWT", "kid": "ec-1"}),
                &user_claims(),
            );
            let mut mac = Hmac::<Sha256>::new_from_slice(material).unwrap();
            mac.update(input.as_bytes());
            let token = format!("{input}.{}", b64(&mac.finalize().into_bytes()));
            assert_eq!(
                verify(&token, &config(), std::slice::from_ref(&jwk), NOW),
                Err(JwtError::BadSignature)
            );
            assert!(matches!(
                verify(&token, &without_secret, std::slice::from_ref(&jwk), NOW),
                Err(JwtError::Algorithm(_))
            ));
        }
    }

    /// A private key set (hosted's `SUPABASE_JWKS` for a migrated legacy secret, or the CLI's)
    /// may hold an HS256 `oct` key: it verifies HS256 tokens that name it, and nothing else.
    #[test]
    fn oct_keys_verify_only_hs256_tokens_that_name_them() {
        let oct: Jwk = serde_json::from_value(json!({
            "kty": "oct", "kid": "legacy", "alg": "HS256", "k": b64(b"another-shared-secret-of-32-bytes!!"),
        }))
        .unwrap();
        let mut c = config();
        c.hs256_secret = None;
        let input = signing_input(json!({"alg": "HS256", "kid": "legacy"}), &user_claims());
        let mut mac =
            Hmac::<Sha256>::new_from_slice(b"another-shared-secret-of-32-bytes!!").unwrap();
        mac.update(input.as_bytes());
        let token = format!("{input}.{}", b64(&mac.finalize().into_bytes()));
        assert!(verify(&token, &c, std::slice::from_ref(&oct), NOW).is_ok());
        // An ES256 token naming the oct key finds no EC key.
        assert_eq!(
            verify(&es256(&user_claims(), "legacy"), &c, &[oct], NOW),
            Err(JwtError::UnknownKey)
        );
    }

    /// The cache of verified tokens never outlives what it cached: the key leaving the set,
    /// another key under its kid, or the token's exp; and a token that failed is never kept.
    #[test]
    fn verified_tokens_are_reused_only_while_their_key_and_exp_still_hold() {
        let cache = VerifiedTokens::default();
        let (ec, rsa) = ([ec_jwk("ec-1")], [rsa_jwk("ec-1")]);
        let keys = |jwks: &'static [Jwk]| KeySet {
            hs256_secret: None,
            jwks,
            verified: Some(&cache),
        };
        let ec: &'static [Jwk] = Box::leak(Box::new(ec));
        let rsa: &'static [Jwk] = Box::leak(Box::new(rsa));
        let t = es256(&user_claims(), "ec-1");
        assert!(verify_token(&t, keys(ec), NOW).is_ok());
        assert_eq!(cache.map.borrow().len(), 1);
        assert!(verify_token(&t, keys(ec), NOW).is_ok(), "a hit");
        // Revoked: the key has left the set.
        assert_eq!(verify_token(&t, keys(&[]), NOW), Err(JwtError::UnknownKey));
        // Another key under the same kid (RSA here, so the ES256 token finds no key).
        assert_eq!(verify_token(&t, keys(rsa), NOW), Err(JwtError::UnknownKey));
        let point = p256::ecdsa::SigningKey::from_slice(&[9u8; 32])
            .unwrap()
            .verifying_key()
            .to_encoded_point(false);
        let mut other = ec_jwk("ec-1");
        other.x = Some(b64(point.x().unwrap()));
        other.y = Some(b64(point.y().unwrap()));
        let other: &'static [Jwk] = Box::leak(Box::new([other]));
        assert_eq!(
            verify_token(&t, keys(other), NOW),
            Err(JwtError::BadSignature)
        );
        // Past its exp.
        assert_eq!(verify_token(&t, keys(ec), NOW + 60), Err(JwtError::Expired));
        // A forged token is refused every time and never stored.
        let mut forged = t.clone();
        let cut = forged.rfind('.').unwrap();
        forged.replace_range(cut + 1..cut + 3, "AA");
        for _ in 0..2 {
            assert_eq!(
                verify_token(&forged, keys(ec), NOW),
                Err(JwtError::BadSignature)
            );
        }
        assert_eq!(cache.map.borrow().len(), 1);
        // Bounded: a full cache starts over.
        let secret = Secret::new(SECRET);
        let legacy = KeySet {
            hs256_secret: Some(&secret),
            jwks: &[],
            verified: Some(&cache),
        };
        for i in 0..MAX_VERIFIED {
            let mut c = user_claims();
            c["n"] = json!(i);
            verify_token(&hs256(&c, SECRET), legacy, NOW).unwrap();
        }
        assert!(cache.map.borrow().len() <= MAX_VERIFIED);
    }

    // Found by the jwt_verify fuzz target: without serde_json's exact float parsing, a claim
    // read from 11 followed by 123 fours came back one ulp away from what was signed.
    #[test]
    fn verified_claims_are_exactly_the_signed_ones_floats_included() {
        let secret = Secret::new(SECRET);
        let keys = KeySet {
            hs256_secret: Some(&secret),
            jwks: &[],
            verified: None,
        };
        let mut c = user_claims();
        // The fuzzer's number: 11 followed by 123 fours.
        let long = format!("11{}", "4".repeat(123));
        c["f"] = serde_json::from_str::<Value>(&long).unwrap();
        c["g"] = json!(0.1 + 0.2);
        assert_eq!(verify_token(&hs256(&c, SECRET), keys, NOW).unwrap(), c);
    }

    fn creds<'a>(bearer: Option<&'a str>, apikey: Option<&'a str>) -> Credentials<'a> {
        Credentials {
            bearer,
            apikey,
            browser: false,
        }
    }

    fn present_with(creds: &Credentials<'_>, keys: &[Jwk]) -> Result<Presented, JwtError> {
        let c = config();
        let set = KeySet {
            hs256_secret: c.hs256_secret.as_ref(),
            jwks: keys,
            verified: None,
        };
        present(creds, set, &c.api_keys, NOW)
    }

    #[test]
    fn api_keys_stand_for_the_anonymous_and_the_service_role() {
        let caller =
            |c: &Credentials<'_>| present_with(c, &[]).and_then(|p| caller_of(p, "authenticated"));
        assert_eq!(
            present_with(&creds(None, Some(PUBLISHABLE)), &[]),
            Ok(Presented::Publishable)
        );
        assert_eq!(
            caller(&creds(None, Some(PUBLISHABLE))),
            Err(JwtError::NotAUser)
        );
        assert_eq!(
            caller(&creds(None, Some(SECRET_KEY))),
            Ok(Caller::Service {
                claims: json!({"role": "service_role"})
            })
        );
        // supabase-js sends the key as the bearer too: it counts when it equals the apikey.
        assert_eq!(
            present_with(&creds(Some(SECRET_KEY), Some(SECRET_KEY)), &[]),
            Ok(Presented::Secret)
        );
        // A user's token decides, whatever the (valid) apikey.
        let user = hs256(&user_claims(), SECRET);
        for apikey in [PUBLISHABLE, SECRET_KEY] {
            assert!(matches!(
                caller(&creds(Some(&user), Some(apikey))),
                Ok(Caller::User { .. })
            ));
        }
        assert_eq!(caller(&creds(None, None)), Err(JwtError::Missing));
    }

    #[test]
    fn foreign_misplaced_and_browser_secret_keys_are_refused() {
        let user = hs256(&user_claims(), SECRET);
        for c in [
            // Someone else's project's key, or a guess.
            creds(None, Some("sb_secret_N7UND0UgjKTVK-Uodkm0Hg_xSvEMPvz")),
            creds(None, Some("sb_publishable_guess")),
            creds(Some(&user), Some("sb_secret_guess")),
            // A secret key as the bearer, without it (or with another key) as the apikey.
            creds(Some(SECRET_KEY), None),
            creds(Some(SECRET_KEY), Some(PUBLISHABLE)),
        ] {
            assert_eq!(present_with(&c, &[]), Err(JwtError::InvalidApiKey), "{c:?}");
        }
        // A prefix of the real key, and the real key with a character changed.
        let near = format!("{}x", &SECRET_KEY[..SECRET_KEY.len() - 1]);
        for k in [&SECRET_KEY[..SECRET_KEY.len() - 1], near.as_str()] {
            assert_eq!(
                present_with(&creds(None, Some(k)), &[]),
                Err(JwtError::InvalidApiKey)
            );
        }
        // From a browser, by each of the signs a browser gives.
        for (name, value) in [
            (
                "user-agent",
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/140",
            ),
            ("origin", "https://evil.example"),
            ("sec-fetch-mode", "cors"),
            ("sec-fetch-site", "cross-site"),
        ] {
            let headers = [(name, value), ("apikey", SECRET_KEY)];
            let c = Credentials::from_headers(|h| {
                headers.iter().find(|(k, _)| *k == h).map(|(_, v)| *v)
            });
            assert_eq!(
                present_with(&c, &[]),
                Err(JwtError::SecretKeyInBrowser),
                "{name}"
            );
            // The publishable key is meant for browsers.
            let headers = [(name, value), ("apikey", PUBLISHABLE)];
            let c = Credentials::from_headers(|h| {
                headers.iter().find(|(k, _)| *k == h).map(|(_, v)| *v)
            });
            assert_eq!(present_with(&c, &[]), Ok(Presented::Publishable), "{name}");
        }
        // A server's client is not a browser.
        let headers = [("user-agent", "Deno/2.9.6"), ("apikey", SECRET_KEY)];
        let c =
            Credentials::from_headers(|h| headers.iter().find(|(k, _)| *k == h).map(|(_, v)| *v));
        assert_eq!(present_with(&c, &[]), Ok(Presented::Secret));
    }

    #[test]
    fn named_key_lists_parse_like_hosted_and_fail_closed() {
        let keys = ApiKeys::parse_named(Some(r#"{"default": "sb_secret_a", "ci": "sb_secret_b"}"#));
        assert_eq!(keys.len(), 2);
        for bad in [
            None,
            Some("sb_secret_a"),
            Some("[\"sb_secret_a\"]"),
            Some("{"),
        ] {
            assert!(ApiKeys::parse_named(bad).is_empty(), "{bad:?}");
        }
        // A value that is not a new key (an empty one, a JWT) is never an API key.
        assert!(ApiKeys::parse_named(Some(r#"{"default": ""}"#)).is_empty());
        let env = Env::from_pairs([
            ("SUPABASE_SECRET_KEYS", r#"{"default": "sb_secret_a"}"#),
            ("SUPABASE_JWKS", r#"{"keys": []}"#),
            ("SUPABASE_URL", "http://127.0.0.1:54321"),
        ]);
        let c = JwtConfig::from_env(&env);
        assert_eq!(c.api_keys.secret.len(), 1);
        assert!(c.jwks.is_empty());
        assert_eq!(
            c.jwks_url.as_deref(),
            Some("http://127.0.0.1:54321/auth/v1/.well-known/jwks.json")
        );
        let c = JwtConfig::from_env(&Env::from_pairs([("SUPABASE_URL", "http://h/")]));
        assert_eq!(
            c.jwks_url.as_deref(),
            Some("http://h/auth/v1/.well-known/jwks.json")
        );
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

    /// Hosted gives the key set in `SUPABASE_JWKS`; a key made after the function started (a
    /// rotation's new key) is fetched from the endpoint, and the given set is used otherwise.
    #[test]
    fn a_given_key_set_is_used_and_the_endpoint_asked_only_for_a_key_it_lacks() {
        let host = JwksHost {
            body: json!({"keys": [ec_jwk("ec-new")]}).to_string(),
            fetches: Cell::new(0),
            now_ms: Cell::new(NOW as u64 * 1000),
        };
        let cache = JwksCache::default();
        let mut c = config();
        c.jwks = vec![ec_jwk("ec-1")];
        let req = |t: String| {
            Request::new(Method::Post, "/").with_header("authorization", format!("Bearer {t}"))
        };
        let given = req(es256(&user_claims(), "ec-1"));
        pollster::block_on(authenticate(&given, &c, &cache, &host)).unwrap();
        assert_eq!(host.fetches.get(), 0);
        let new = req(es256(&user_claims(), "ec-new"));
        pollster::block_on(authenticate(&new, &c, &cache, &host)).unwrap();
        assert_eq!(host.fetches.get(), 1);
        // A kid neither set holds is refused, and asks the endpoint no more than every 30 s.
        let unknown = req(es256(&user_claims(), "ec-unknown"));
        let e = pollster::block_on(authenticate(&unknown, &c, &cache, &host)).unwrap_err();
        assert_eq!(e.status(), 401);
        assert_eq!(host.fetches.get(), 1);
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
