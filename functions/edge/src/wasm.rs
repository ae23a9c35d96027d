//! The wasm side of the host: the JavaScript object `supabase/functions/_shared/host.ts` makes
//! (postgres.js for the database, `fetch` for HTTP) seen through [`Db`], [`Http`] and [`Clock`],
//! and [`export_handler!`](crate::export_handler) which exports a function's handler to Deno.

use std::cell::OnceCell;

use js_sys::{Reflect, Uint8Array};
use serde::Deserialize;
use serde_json::Value;
use wasm_bindgen::prelude::*;

use crate::auth::JwksCache;
use crate::db::{Db, DbError, DbRole, Row, Tx};
use crate::env::Env;
use crate::http::{Clock, Http, HttpError, HttpRequest, HttpResponse, Method, Request, Response};
use crate::Host;

#[wasm_bindgen]
extern "C" {
    /// The host object built by `_shared/host.ts`.
    #[derive(Clone)]
    pub type JsHost;

    #[wasm_bindgen(method, catch, js_name = begin)]
    async fn js_begin(this: &JsHost, role: String, claims: String) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method, catch, js_name = query)]
    async fn js_query(
        this: &JsHost,
        tx: f64,
        sql: String,
        params: String,
    ) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method, catch, js_name = commit)]
    async fn js_commit(this: &JsHost, tx: f64) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method, catch, js_name = rollback)]
    async fn js_rollback(this: &JsHost, tx: f64) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method, catch, js_name = fetch)]
    async fn js_fetch(this: &JsHost, request: String, body: Vec<u8>) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method, js_name = now)]
    fn js_now(this: &JsHost) -> f64;
    #[wasm_bindgen(method, catch, js_name = sleep)]
    async fn js_sleep(this: &JsHost, ms: f64) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method, js_name = seed)]
    fn js_seed(this: &JsHost) -> f64;
}

thread_local! {
    // One wasm instance serves many requests; the JWKS is shared between them.
    static JWKS: OnceCell<&'static JwksCache> = const { OnceCell::new() };
}

fn str_prop(v: &JsValue, name: &str) -> Option<String> {
    Reflect::get(v, &JsValue::from_str(name))
        .ok()
        .and_then(|p| p.as_string())
}

fn db_error(e: JsValue) -> DbError {
    let message = str_prop(&e, "message")
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "database call failed".into());
    DbError::new(str_prop(&e, "code").as_deref(), message).with_hint(str_prop(&e, "hint"))
}

pub struct WasmHost {
    js: JsHost,
    jwks: &'static JwksCache,
}

#[derive(Clone)]
pub struct WasmTx {
    js: JsHost,
    id: f64,
}

impl Db for WasmHost {
    type Tx = WasmTx;

    async fn begin(&self, role: DbRole, claims: &Value) -> Result<WasmTx, DbError> {
        let id = self
            .js
            .js_begin(role.name(claims).to_string(), claims.to_string())
            .await
            .map_err(db_error)?
            .as_f64()
            .ok_or_else(|| DbError::new(None, "host returned no transaction id"))?;
        Ok(WasmTx {
            js: self.js.clone(),
            id,
        })
    }
}

impl Tx for WasmTx {
    async fn query(&self, sql: &'static str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        let rows = self
            .js
            .js_query(
                self.id,
                sql.to_string(),
                Value::from(params.to_vec()).to_string(),
            )
            .await
            .map_err(db_error)?
            .as_string()
            .ok_or_else(|| DbError::new(None, "host returned no rows"))?;
        serde_json::from_str(&rows).map_err(|e| DbError::new(None, format!("bad rows: {e}")))
    }

    async fn commit(self) -> Result<(), DbError> {
        self.js.js_commit(self.id).await.map_err(db_error)?;
        Ok(())
    }

    async fn rollback(self) -> Result<(), DbError> {
        self.js.js_rollback(self.id).await.map_err(db_error)?;
        Ok(())
    }
}

impl Http for WasmHost {
    async fn fetch(&self, req: HttpRequest) -> Result<HttpResponse, HttpError> {
        let meta = serde_json::json!({
            "method": req.method.as_str(),
            "url": req.url,
            "headers": req.headers,
            "timeout_ms": req.timeout_ms,
        });
        let resp =
            self.js
                .js_fetch(meta.to_string(), req.body)
                .await
                .map_err(|e| match str_prop(&e, "name").as_deref() {
                    Some("TimeoutError") => HttpError::Timeout,
                    _ => HttpError::Network(
                        str_prop(&e, "message").unwrap_or_else(|| "fetch failed".into()),
                    ),
                })?;
        let status = Reflect::get(&resp, &JsValue::from_str("status"))
            .ok()
            .and_then(|s| s.as_f64())
            .ok_or_else(|| HttpError::Network("host response has no status".into()))?;
        let headers = str_prop(&resp, "headers")
            .and_then(|h| serde_json::from_str(&h).ok())
            .unwrap_or_default();
        let body = Reflect::get(&resp, &JsValue::from_str("body"))
            .map(|b| Uint8Array::new(&b).to_vec())
            .unwrap_or_default();
        Ok(HttpResponse {
            status: status as u16,
            headers,
            body,
        })
    }
}

impl Clock for WasmHost {
    fn now_ms(&self) -> u64 {
        self.js.js_now() as u64
    }

    async fn sleep(&self, ms: u64) {
        // A failed timer only shortens the wait.
        let _ = self.js.js_sleep(ms as f64).await;
    }
}

impl Host for WasmHost {
    fn seed(&self) -> u64 {
        self.js.js_seed() as u64
    }

    fn jwks_cache(&self) -> &JwksCache {
        self.jwks
    }
}

#[derive(Deserialize)]
struct Meta {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
}

/// One call from Deno, decoded.
pub struct Invocation {
    pub request: Request,
    pub env: Env,
    pub host: WasmHost,
}

impl Invocation {
    /// `meta` is `{"method", "url", "headers": [[name, value], ...]}` and `env` a JSON object
    /// of strings, as `_shared/serve.ts` sends them.
    pub fn new(meta: &str, body: Vec<u8>, env: &str, js: JsHost) -> Result<Invocation, String> {
        let meta: Meta =
            serde_json::from_str(meta).map_err(|e| format!("bad request meta: {e}"))?;
        let env: std::collections::BTreeMap<String, String> =
            serde_json::from_str(env).map_err(|e| format!("bad env: {e}"))?;
        let jwks = JWKS.with(|c| *c.get_or_init(|| Box::leak(Box::default())));
        Ok(Invocation {
            request: Request {
                method: Method::parse(&meta.method),
                url: meta.url,
                headers: meta
                    .headers
                    .into_iter()
                    .map(|(k, v)| (k.to_ascii_lowercase(), v))
                    .collect(),
                body,
            },
            env: Env::from_pairs(env),
            host: WasmHost { js, jwks },
        })
    }
}

/// The response as `_shared/serve.ts` turns it into a `Response`.
pub fn finish(resp: Response) -> String {
    serde_json::json!({
        "status": resp.status,
        "headers": resp.headers,
        "body": String::from_utf8_lossy(&resp.body),
    })
    .to_string()
}

/// The answer when the glue itself cannot decode what Deno sent (a host bug, not user input).
pub fn glue_failure(message: &str) -> String {
    finish(crate::error::Error::Internal(message.to_string()).into_response())
}

/// Exports `$handler` (an `async fn(Request, &Env, &impl Host) -> Result<Response, E>` with
/// `E:` [`IntoResponse`](crate::IntoResponse)) as the module's `handle(meta, body, env, host)`
/// for `_shared/serve.ts`, answered through [`serve::answer`](crate::serve::answer) with the
/// function's [`Cors`](crate::Cors) (`Cors::Any` when not given).
#[macro_export]
macro_rules! export_handler {
    ($handler:path) => {
        $crate::export_handler!($handler, $crate::Cors::Any);
    };
    ($handler:path, $cors:expr) => {
        mod wasm_entry {
            // Exported as `handle`; the Rust name differs so it cannot clash with `$handler`.
            #[::wasm_bindgen::prelude::wasm_bindgen(js_name = handle)]
            pub async fn entry(
                meta: String,
                body: Vec<u8>,
                env: String,
                host: $crate::wasm::JsHost,
            ) -> String {
                match $crate::wasm::Invocation::new(&meta, body, &env, host) {
                    Ok(inv) => {
                        let (env, host) = (&inv.env, &inv.host);
                        $crate::wasm::finish(
                            $crate::serve::answer($cors, inv.request, env, move |req| {
                                $handler(req, env, host)
                            })
                            .await,
                        )
                    }
                    Err(e) => $crate::wasm::glue_failure(&e),
                }
            }
        }
    };
}
