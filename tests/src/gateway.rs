//! End-to-end plumbing for the edge-function tests: one local gateway per test module (real Deno,
//! the functions built to wasm by `gateway::start`) on a migrated database with the personas,
//! the loopback provider stub in place of the AI and social APIs, and a small HTTP client.
//!
//! The tests of a module share the gateway and the stub, and take turns ([`turn`]), because a
//! fault set on the stub is seen by every function. Modules do not share them: each asserts exact
//! counts and rows of its own database and stub.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use xtask::keys::{self, SigningKeys};
use xtask::{cluster, jwt};

use crate::personas;
use crate::provider_stub::ProviderStub;
use crate::TestDb;

pub struct Fixture {
    pub db: TestDb,
    pub stub: ProviderStub,
    _gateway: xtask::gateway::Gateway,
    pub port: u16,
    /// The keys the gateway's JWKS holds; the first signs users' tokens.
    pub signing_keys: SigningKeys,
    turn: Mutex<()>,
}

/// The calling test module's gateway, database and stub, started on first use. The module is
/// the caller's file (`tests/it/<module>.rs`, or the folder `tests/it/<module>/`); every function
/// here that reaches the fixture is `#[track_caller]`, so the caller is the test, not a helper.
#[track_caller]
pub fn fixture() -> &'static Fixture {
    type Slot = &'static OnceLock<Fixture>;
    static FIXTURES: Mutex<BTreeMap<String, Slot>> = Mutex::new(BTreeMap::new());
    thread_local! {
        // The module this thread last asked for: a helper passed as a function value
        // (`.map(token)`) is called from the standard library, which names no module.
        static LAST: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
    }
    let file = std::panic::Location::caller().file().replace('\\', "/");
    let module = match file.rsplit_once("/it/") {
        Some((_, rest)) => {
            let m = rest
                .split('/')
                .next()
                .unwrap_or(rest)
                .trim_end_matches(".rs");
            LAST.with(|l| *l.borrow_mut() = Some(m.to_string()));
            m.to_string()
        }
        None => LAST.with(|l| l.borrow().clone()).unwrap_or_else(|| {
            panic!(
                "gateway::fixture() called from {file}: a helper between the test and the \
                 fixture lacks #[track_caller]"
            )
        }),
    };
    let slot: Slot = *FIXTURES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(module)
        .or_insert_with(|| Box::leak(Box::new(OnceLock::new())));
    // Started outside the map's lock: a gateway takes seconds and other modules need theirs.
    slot.get_or_init(start_fixture)
}

fn start_fixture() -> Fixture {
    let db = crate::cluster().migrated_db();
    personas::create(&mut db.connect(), false).unwrap();
    let stub = ProviderStub::start();
    let state = tempfile::tempdir().unwrap().keep();
    let mut secrets = xtask::gateway::function_secrets().unwrap();
    secrets.insert("JWT_SECRET".into(), jwt::LOCAL_JWT_SECRET.into());
    secrets.extend(stub.env());
    secrets.insert(
        xtask::metrics::SECRET_VAR.into(),
        crate::observability::METRICS_SECRET.into(),
    );
    let port = cluster::free_port().unwrap();
    let signing_keys = SigningKeys::generate().unwrap();
    let gateway = xtask::gateway::start(&xtask::gateway::Options {
        port,
        db_url: db.url(),
        state_dir: state.clone(),
        storage_dir: state.join("storage"),
        secrets,
        exit_with_parent: true,
        signing_keys: signing_keys.clone(),
    })
    .unwrap_or_else(|e| panic!("{e:#}"));
    Fixture {
        db,
        stub,
        _gateway: gateway,
        port,
        signing_keys,
        turn: Mutex::new(()),
    }
}

/// Holds the module's stub for one test, with its recorded calls and faults cleared.
#[track_caller]
pub fn turn() -> MutexGuard<'static, ()> {
    let f = fixture();
    let guard = f.turn.lock().unwrap_or_else(|e| e.into_inner());
    f.stub.reset();
    guard
}

pub struct Reply {
    pub status: u16,
    /// The status line and headers, lowercased.
    pub head: String,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One HTTP/1.1 request to the gateway (chunked replies decoded).
#[track_caller]
pub fn http(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    http_at(fixture().port, method, path, headers, body)
}

/// One HTTP/1.1 request to the gateway on `port` (xtask's loopback client), the head
/// lowercased and a chunked body decoded.
pub fn http_at(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let mut req = xtask::http::Request::new(method, path)
        .read_timeout(Duration::from_secs(120))
        .bytes(body);
    for &(k, v) in headers {
        req = req.header(k, v);
    }
    let reply = req
        .send(port)
        .unwrap_or_else(|e| panic!("{method} {path}: {e:#}"));
    Reply {
        status: reply.status,
        head: reply.head().to_ascii_lowercase(),
        body: reply
            .body_bytes()
            .unwrap_or_else(|e| panic!("{method} {path}: {e:#}")),
    }
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A persona's claims, expiring `exp_in` seconds from now.
fn persona_claims(persona: &str, exp_in: i64) -> Value {
    let mut claims = personas::claims(personas::persona(persona));
    claims["exp"] = json!(now() + exp_in);
    claims
}

/// A signed access token for a persona, as Supabase Auth issues it with an asymmetric signing
/// key: ES256 with the gateway's current key.
#[track_caller]
pub fn token(persona: &str) -> String {
    fixture()
        .signing_keys
        .sign(&persona_claims(persona, 600))
        .unwrap()
}

/// The persona's token signed the legacy way (HS256 with the JWT secret), which the stack
/// still accepts, as hosted does until the legacy secret is revoked.
pub fn legacy_token(persona: &str) -> String {
    jwt::sign_hs256(&persona_claims(persona, 600), jwt::LOCAL_JWT_SECRET)
}

/// The persona's token, expired a minute ago.
#[track_caller]
pub fn expired_token(persona: &str) -> String {
    fixture()
        .signing_keys
        .sign(&persona_claims(persona, -60))
        .unwrap()
}

/// The persona's token with its signature mangled.
#[track_caller]
pub fn forged_token(persona: &str) -> String {
    let good = token(persona);
    let (head, rest) = good.rsplit_once('.').unwrap();
    format!("{head}.{}", rest.chars().rev().collect::<String>())
}

/// The legacy `service_role` key (a JWT).
pub fn service_key() -> String {
    jwt::api_key("service_role", jwt::LOCAL_JWT_SECRET)
}

/// The legacy `anon` key (a JWT).
pub fn anon_key() -> String {
    jwt::api_key("anon", jwt::LOCAL_JWT_SECRET)
}

/// The stack's publishable key (the anonymous role).
pub fn publishable_key() -> &'static str {
    keys::LOCAL_PUBLISHABLE_KEY
}

/// The stack's secret key (the service role).
pub fn secret_key() -> &'static str {
    keys::LOCAL_SECRET_KEY
}

/// `POST /functions/v1/<name>` with a JSON body as `bearer`.
#[track_caller]
pub fn invoke(name: &str, bearer: Option<&str>, body: &Value) -> Reply {
    let auth = bearer.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("content-type", "application/json")];
    if let Some(a) = &auth {
        headers.push(("authorization", a));
    }
    http(
        "POST",
        &format!("/functions/v1/{name}"),
        &headers,
        body.to_string().as_bytes(),
    )
}

/// One row from the fixture's database, as `postgres`.
#[track_caller]
pub fn query_one(sql: &str, params: &[&(dyn postgres::types::ToSql + Sync)]) -> postgres::Row {
    fixture().db.connect().query_one(sql, params).unwrap()
}

/// Runs statements on the fixture's database, as `postgres`.
#[track_caller]
pub fn execute(sql: &str) {
    fixture().db.connect().batch_execute(sql).unwrap();
}
