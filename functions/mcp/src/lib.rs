//! `mcp`: the Model Context Protocol endpoint for outside agents, over Streamable HTTP (JSON-RPC
//! 2.0 in POST bodies, one JSON answer per request, no SSE, no sessions: stateless, which every
//! revision allows).
//!
//! A request is checked in this order, each refusal with its HTTP status and a JSON-RPC error:
//! the `Origin` (403 unless allowed, against DNS rebinding), the method (405: no GET stream), the
//! `MCP-Protocol-Version` header (400 when unsupported), the body (413, 415, 400 parse error),
//! then the bearer API token, by its SHA-256, through `agent_auth.admit` (401 for unknown,
//! revoked, expired and suspended-agent tokens). The same statement counts every request under
//! the agent's own name (`agent:<name>` per minute, `agent:<name>:day`) with
//! `increment_agent_counter`, in the check's short transaction, committed before the work runs
//! (so the counter rows are locked only for the count, and a failing tool is still counted);
//! over a limit the answer is 429 with `Retry-After` and nothing runs. The work runs in a second
//! transaction as `moha_agent` with claims naming the agent, the token and its scopes, so the
//! database's policies decide every row; a tool that fails is undone (a savepoint in a batch,
//! the transaction when alone).

pub mod sql;
pub mod tools;

use moha_edge::db::query_opt;
use moha_edge::{Cors, DbError, DbRole, Env, Host, IntoResponse, Method, Request, Response, Tx};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::tools::{Caller, ToolError};

#[cfg(target_arch = "wasm32")]
moha_edge::export_handler!(crate::handle, crate::CORS);

/// CORS only for the exact origins of `MCP_ALLOWED_ORIGINS` (comma-separated; without it, no
/// browser origin is allowed); other clients send no Origin.
pub const CORS: Cors = Cors::Origins {
    var: "MCP_ALLOWED_ORIGINS",
    allow_headers:
        "authorization, content-type, accept, mcp-protocol-version, mcp-session-id, last-event-id",
};

/// The revisions served, newest first: those the pinned TypeScript SDK (1.32.2) negotiates.
/// 2024-11-05 clients used the older HTTP+SSE transport; one that speaks Streamable HTTP anyway
/// is answered the same way.
pub const SUPPORTED_VERSIONS: &[&str] = &["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];
pub const LATEST_VERSION: &str = "2025-11-25";
/// What a server assumes without an `MCP-Protocol-Version` header (transport spec).
pub const DEFAULT_VERSION: &str = "2025-03-26";
/// Revisions that allow JSON-RPC batches (2025-06-18 removed them).
const BATCHING: &[&str] = &["2025-03-26", "2024-11-05"];

pub const SERVER_NAME: &str = "moha-interiors";
const MAX_BODY: usize = moha_edge::validate::MAX_BODY_BYTES;
/// At most this many messages in one batch.
const MAX_BATCH: usize = 16;

// JSON-RPC 2.0 error codes, and the server-defined ones (-32000 to -32099) this function uses.
const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
const METHOD_NOT_FOUND: i64 = -32601;
const INVALID_PARAMS: i64 = -32602;
const INTERNAL_ERROR: i64 = -32603;
const UNAUTHORIZED: i64 = -32001;
const FORBIDDEN: i64 = -32003;
const RATE_LIMITED: i64 = -32029;

fn rpc_error(id: &Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

fn rpc_result(id: &Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

/// An answer that ends the request early, with its HTTP status.
pub struct Refusal {
    status: u16,
    body: Value,
    headers: Vec<(String, String)>,
}

impl Refusal {
    fn new(status: u16, id: &Value, code: i64, message: &str) -> Self {
        Refusal {
            status,
            body: rpc_error(id, code, message),
            headers: Vec::new(),
        }
    }

    fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut r = Response::json(self.status, &self.body);
        r.headers.extend(self.headers);
        r
    }
}

impl From<DbError> for Refusal {
    fn from(_: DbError) -> Self {
        Refusal::new(
            500,
            &Value::Null,
            INTERNAL_ERROR,
            "database error; try again later",
        )
    }
}

/// The origin rule of [`CORS`].
fn origin_allowed(origin: &str, env: &Env) -> bool {
    CORS.allows(origin, env)
}

/// The token's SHA-256 in hex, or `None` when the header holds no token of the API token shape
/// (`moha_` + 43 base64url characters): such a token is never looked up.
pub fn token_hash(req: &Request) -> Option<String> {
    let token = req.bearer_token()?;
    let body = token.strip_prefix("moha_")?;
    let shaped = body.len() == 43
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    shaped.then(|| hex::encode(Sha256::digest(token.as_bytes())))
}

#[derive(Deserialize)]
struct Authenticated {
    outcome: String,
    token_id: Option<String>,
    agent_id: Option<String>,
    agent_name: Option<String>,
    owner_id: Option<String>,
    scopes: Option<Vec<String>>,
    retry_after: Option<i64>,
}

/// The id to answer with when a request is refused before it is dispatched.
fn first_id(body: &Value) -> Value {
    match body {
        Value::Object(m) => m.get("id").cloned().unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

pub async fn handle(req: Request, env: &Env, host: &impl Host) -> Result<Response, Refusal> {
    if req
        .header("origin")
        .is_some_and(|o| !origin_allowed(o, env))
    {
        return Err(Refusal::new(
            403,
            &Value::Null,
            FORBIDDEN,
            "origin not allowed",
        ));
    }
    if req.method != Method::Post {
        // No server-initiated stream (GET) and no sessions to end (DELETE).
        return Err(Refusal::new(
            405,
            &Value::Null,
            INVALID_REQUEST,
            "method not allowed: send JSON-RPC messages with POST",
        )
        .header("allow", "POST, OPTIONS"));
    }
    let version = match req.header("mcp-protocol-version") {
        None => DEFAULT_VERSION.to_string(),
        Some(v) if SUPPORTED_VERSIONS.contains(&v.trim()) => v.trim().to_string(),
        Some(_) => {
            return Err(Refusal::new(
                400,
                &Value::Null,
                INVALID_REQUEST,
                &format!(
                    "unsupported MCP-Protocol-Version; supported: {}",
                    SUPPORTED_VERSIONS.join(", ")
                ),
            ))
        }
    };
    if req.body.len() > MAX_BODY {
        return Err(Refusal::new(
            413,
            &Value::Null,
            INVALID_REQUEST,
            "request body over 1 MiB",
        ));
    }
    let content_type = req.header("content-type").unwrap_or("");
    if !content_type
        .to_ascii_lowercase()
        .starts_with("application/json")
    {
        return Err(Refusal::new(
            415,
            &Value::Null,
            INVALID_REQUEST,
            "send JSON-RPC as Content-Type: application/json",
        ));
    }
    let body: Value = serde_json::from_slice(&req.body).map_err(|_| {
        Refusal::new(
            400,
            &Value::Null,
            PARSE_ERROR,
            "parse error: the body is not JSON",
        )
    })?;

    let unauthorized = |message: &str| {
        Refusal::new(401, &first_id(&body), UNAUTHORIZED, message).header(
            "www-authenticate",
            "Bearer realm=\"mcp\", error=\"invalid_token\"",
        )
    };
    let Some(hash) = token_hash(&req) else {
        return Err(unauthorized(
            "an API token is required: Authorization: Bearer moha_...",
        ));
    };
    let requests = request_count(&body);
    // Committed before the work runs: the counter rows are locked only for the count, and a
    // failing tool is still counted. A refused token's check wrote nothing worth keeping.
    let admitted = host
        .transaction(
            DbRole::Agent,
            &json!({"role": "moha_agent"}),
            |check| async move {
                match admit(&check, &hash, requests).await {
                    Ok(Admission::Admitted(c)) => Ok(c),
                    Ok(refused) => Err(Ok(refused)),
                    Err(e) => Err(Err(e)),
                }
            },
        )
        .await?;
    let caller = match admitted {
        Ok(c) => c,
        Err(Err(e)) => return Err(e.into()),
        Err(Ok(Admission::Limited(seconds))) => {
            return Err(Refusal::new(
                429,
                &first_id(&body),
                RATE_LIMITED,
                &format!("this agent's request limit is reached; retry after {seconds} s"),
            )
            .header("retry-after", seconds.to_string()));
        }
        Err(Ok(_)) => {
            return Err(unauthorized(
                "the API token is unknown, revoked or expired, or its agent is suspended",
            ));
        }
    };
    if requests == 0 && body.is_object() {
        // Notifications and responses only: nothing to run.
        return Ok(Response {
            status: 202,
            headers: Vec::new(),
            body: Vec::new(),
        });
    }
    // A single message whose tool failed is rolled back, its answer kept.
    let answer = host
        .transaction(DbRole::Agent, &caller.claims(), |tx| {
            let (caller, version, body) = (&caller, &version, &body);
            async move {
                match process(&tx, caller, version, body).await {
                    Ok(a) if failed_alone(body, a.as_ref()) => Err(Ok(a)),
                    Ok(a) => Ok(a),
                    Err(refusal) => Err(Err(refusal)),
                }
            }
        })
        .await?;
    let answer = match answer {
        Ok(a) | Err(Ok(a)) => a,
        Err(Err(refusal)) => return Err(refusal),
    };
    Ok(match answer {
        None => Response {
            status: 202,
            headers: Vec::new(),
            body: Vec::new(),
        },
        Some(v) => Response::json(200, &v),
    })
}

/// A single message whose tool failed: its writes are undone with the transaction.
fn failed_alone(body: &Value, answer: Option<&Value>) -> bool {
    !body.is_array()
        && answer
            .and_then(|a| a.pointer("/result/isError"))
            .and_then(Value::as_bool)
            .unwrap_or(false)
}

enum Admission {
    Admitted(Caller),
    /// Unknown, revoked, expired, or its agent suspended.
    Refused,
    /// Over a limit: the seconds to wait.
    Limited(i64),
}

/// Checks the token by hash and counts `requests` under the agent's names, in one statement.
async fn admit(tx: &impl Tx, hash: &str, requests: usize) -> Result<Admission, DbError> {
    let a: Option<Authenticated> =
        query_opt(tx, sql::ADMIT, &[json!(hash), json!(requests)]).await?;
    let Some(a) = a else {
        return Ok(Admission::Refused);
    };
    if a.outcome == "limited" {
        return Ok(Admission::Limited(a.retry_after.unwrap_or(60).max(1)));
    }
    if a.outcome != "ok" {
        return Ok(Admission::Refused);
    }
    let (Some(token_id), Some(agent_id), Some(agent_name), Some(owner_id), Some(scopes)) =
        (a.token_id, a.agent_id, a.agent_name, a.owner_id, a.scopes)
    else {
        return Ok(Admission::Refused);
    };
    Ok(Admission::Admitted(Caller {
        agent_id,
        agent_name,
        owner_id,
        token_id,
        scopes,
    }))
}

/// One JSON-RPC message or a batch; `None` when nothing needs an answer (notifications and
/// responses only: 202).
async fn process(
    tx: &impl Tx,
    caller: &Caller,
    version: &str,
    body: &Value,
) -> Result<Option<Value>, Refusal> {
    match body {
        Value::Array(items) => {
            if !BATCHING.contains(&version) {
                return Ok(Some(rpc_error(
                    &Value::Null,
                    INVALID_REQUEST,
                    "JSON-RPC batches are not part of this protocol revision",
                )));
            }
            if items.is_empty() || items.len() > MAX_BATCH {
                return Ok(Some(rpc_error(
                    &Value::Null,
                    INVALID_REQUEST,
                    "a batch holds 1 to 16 messages",
                )));
            }
            let mut out = Vec::new();
            for item in items {
                if let Some(answer) = message(tx, caller, version, item, true).await? {
                    out.push(answer);
                }
            }
            Ok((!out.is_empty()).then_some(Value::Array(out)))
        }
        single => message(tx, caller, version, single, false).await,
    }
}

async fn message(
    tx: &impl Tx,
    caller: &Caller,
    version: &str,
    msg: &Value,
    batch: bool,
) -> Result<Option<Value>, Refusal> {
    let Some(m) = msg.as_object() else {
        return Ok(Some(rpc_error(
            &Value::Null,
            INVALID_REQUEST,
            "a message is a JSON object",
        )));
    };
    if m.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Ok(Some(rpc_error(
            &first_id(msg),
            INVALID_REQUEST,
            "jsonrpc must be \"2.0\"",
        )));
    }
    let id = m.get("id");
    let method = m.get("method");
    match (method, id) {
        // A notification (initialized, cancelled, ...) or a response to us: accepted, no answer.
        (Some(Value::String(_)), None) => Ok(None),
        (None, Some(_)) if m.contains_key("result") || m.contains_key("error") => Ok(None),
        (Some(Value::String(method)), Some(id)) => {
            if !(id.is_string() || id.is_i64() || id.is_u64()) {
                return Ok(Some(rpc_error(
                    &Value::Null,
                    INVALID_REQUEST,
                    "id must be a string or an integer",
                )));
            }
            let params = m.get("params").cloned().unwrap_or(Value::Null);
            if !(params.is_null() || params.is_object()) {
                return Ok(Some(rpc_error(
                    id,
                    INVALID_PARAMS,
                    "params must be an object",
                )));
            }
            Ok(Some(
                request(tx, caller, version, id, method, &params, batch).await?,
            ))
        }
        _ => Ok(Some(rpc_error(
            &first_id(msg),
            INVALID_REQUEST,
            "not a JSON-RPC request, notification or response",
        ))),
    }
}

/// The JSON-RPC requests (messages with a method and an id) in a body: what is counted.
fn request_count(body: &Value) -> usize {
    let is_request = |m: &Value| m.get("method").is_some() && m.get("id").is_some();
    match body {
        Value::Array(items) => items.iter().filter(|m| is_request(m)).count(),
        one => usize::from(is_request(one)),
    }
}

async fn request(
    tx: &impl Tx,
    caller: &Caller,
    version: &str,
    id: &Value,
    method: &str,
    params: &Value,
    batch: bool,
) -> Result<Value, Refusal> {
    Ok(match method {
        "initialize" => {
            let asked = params.get("protocolVersion").and_then(Value::as_str);
            let Some(asked) = asked else {
                return Ok(rpc_error(
                    id,
                    INVALID_PARAMS,
                    "initialize needs protocolVersion",
                ));
            };
            // The client's revision when supported, else the newest (the client decides).
            let chosen = if SUPPORTED_VERSIONS.contains(&asked) {
                asked
            } else {
                LATEST_VERSION
            };
            let _ = version;
            rpc_result(
                id,
                json!({
                    "protocolVersion": chosen,
                    "capabilities": {"tools": {"listChanged": false}},
                    "serverInfo": {"name": SERVER_NAME, "title": "Moha Interiors studio", "version": env!("CARGO_PKG_VERSION")},
                    "instructions": format!(
                        "Tools for the studio's daily work, limited to this token's scopes ({}). Irreversible or client-facing actions are proposals a human approves. {}",
                        caller.scopes.join(", "),
                        tools::NOTICE
                    ),
                }),
            )
        }
        "ping" => rpc_result(id, json!({})),
        "tools/list" => {
            let listed: Vec<Value> = tools::TOOLS
                .iter()
                .filter(|t| caller.may_use(t))
                .map(tools::describe)
                .collect();
            rpc_result(id, json!({"tools": listed}))
        }
        "tools/call" => {
            let name = params.get("name").and_then(Value::as_str);
            let Some(tool) = name.and_then(tools::find).filter(|t| caller.may_use(t)) else {
                // Absent from tools/list, so unknown to this token.
                return Ok(rpc_error(
                    id,
                    INVALID_PARAMS,
                    &format!("unknown tool: {}", name.unwrap_or("(none)")),
                ));
            };
            let arguments = params
                .get("arguments")
                .cloned()
                .unwrap_or_else(|| json!({}));
            rpc_result(id, call_tool(tx, caller, tool, &arguments, batch).await?)
        }
        _ => rpc_error(id, METHOD_NOT_FOUND, &format!("method not found: {method}")),
    })
}

/// A tool's result: its structured content and the same as text; a failure is reported with
/// `isError` and undone: in a batch by a savepoint, alone by rolling the transaction back
/// (`handle`), which saves the savepoint's two round trips on every call.
async fn call_tool(
    tx: &impl Tx,
    caller: &Caller,
    tool: &tools::Tool,
    arguments: &Value,
    batch: bool,
) -> Result<Value, Refusal> {
    let checked = if !arguments.is_object() {
        Err(ToolError("arguments must be an object".into()))
    } else if arguments.to_string().len() > tools::MAX_ARGUMENTS {
        Err(ToolError(format!(
            "arguments over {} bytes",
            tools::MAX_ARGUMENTS
        )))
    } else {
        Ok(())
    };
    let outcome = match checked {
        Err(e) => Err(e),
        Ok(()) if !batch => tools::call(tx, caller, tool, arguments).await,
        Ok(()) => {
            tx.query(sql::SAVEPOINT_TOOL, &[]).await?;
            let r = tools::call(tx, caller, tool, arguments).await;
            if r.is_ok() {
                tx.query(sql::RELEASE_TOOL, &[]).await?;
            } else {
                tx.query(sql::ROLLBACK_TOOL, &[]).await?;
            }
            r
        }
    };
    Ok(match outcome {
        Ok(structured) => json!({
            "content": [{"type": "text", "text": structured.to_string()}],
            "structuredContent": structured,
            "isError": false,
        }),
        Err(ToolError(message)) => json!({
            "content": [{"type": "text", "text": message}],
            "isError": true,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_api_token_shaped_bearers_are_hashed() {
        let token = format!("moha_{}", "a".repeat(43));
        let req =
            Request::new(Method::Post, "/").with_header("authorization", format!("Bearer {token}"));
        assert_eq!(
            token_hash(&req).unwrap(),
            hex::encode(Sha256::digest(token.as_bytes()))
        );
        for bad in [
            "Bearer eyJhbGciOiJIUzI1NiJ9.e30.x".to_string(),
            format!("Bearer moha_{}", "a".repeat(42)),
            format!("Bearer moha_{}!", "a".repeat(42)),
            format!("Basic moha_{}", "a".repeat(43)),
        ] {
            let req = Request::new(Method::Post, "/").with_header("authorization", bad.clone());
            assert_eq!(token_hash(&req), None, "{bad}");
        }
    }

    #[test]
    fn origins_are_allowed_only_by_exact_match() {
        let env = Env::from_pairs([(
            "MCP_ALLOWED_ORIGINS",
            "https://a.example, http://localhost:6274",
        )]);
        assert!(origin_allowed("https://a.example", &env));
        assert!(origin_allowed("http://localhost:6274", &env));
        assert!(!origin_allowed("https://a.example.evil", &env));
        assert!(!origin_allowed(
            "https://evil.example",
            &Env::from_pairs([("X", "y")])
        ));
    }

    #[test]
    fn the_newest_revision_is_supported_and_the_default_is_the_specs() {
        assert_eq!(SUPPORTED_VERSIONS[0], LATEST_VERSION);
        assert!(SUPPORTED_VERSIONS.contains(&DEFAULT_VERSION));
    }

    #[test]
    fn refusals_before_the_database_answer_with_their_status() {
        struct NoDb;
        impl moha_edge::Db for NoDb {
            type Tx = NoTx;
            async fn begin(&self, _: DbRole, _: &Value) -> Result<NoTx, DbError> {
                panic!("no database before the token is checked")
            }
        }
        #[derive(Clone)]
        struct NoTx;
        impl Tx for NoTx {
            async fn query(
                &self,
                _: &'static str,
                _: &[Value],
            ) -> Result<Vec<moha_edge::Row>, DbError> {
                unreachable!()
            }
            async fn commit(self) -> Result<(), DbError> {
                unreachable!()
            }
            async fn rollback(self) -> Result<(), DbError> {
                unreachable!()
            }
        }
        impl moha_edge::Http for NoDb {
            async fn fetch(
                &self,
                _: moha_edge::HttpRequest,
            ) -> Result<moha_edge::HttpResponse, moha_edge::HttpError> {
                unreachable!()
            }
        }
        impl moha_edge::Clock for NoDb {
            fn now_ms(&self) -> u64 {
                0
            }
            async fn sleep(&self, _: u64) {}
        }
        impl Host for NoDb {
            fn seed(&self) -> u64 {
                0
            }
            fn jwks_cache(&self) -> &moha_edge::auth::JwksCache {
                unreachable!()
            }
        }
        let env = Env::from_pairs([("X", "y")]);
        let post = |body: &str| {
            Request::new(Method::Post, "/")
                .with_header("content-type", "application/json")
                .with_body(body.as_bytes().to_vec())
        };
        let ping = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
        let cases = [
            (
                post(ping).with_header("origin", "https://evil.example"),
                403,
            ),
            (Request::new(Method::Get, "/"), 405),
            (
                post(ping).with_header("mcp-protocol-version", "1900-01-01"),
                400,
            ),
            (post("{"), 400),
            (
                Request::new(Method::Post, "/")
                    .with_header("content-type", "text/plain")
                    .with_body(ping.as_bytes().to_vec()),
                415,
            ),
            (post(ping), 401),
            (
                post(ping).with_header("authorization", "Bearer moha_short"),
                401,
            ),
        ];
        for (req, status) in cases {
            let r = pollster::block_on(moha_edge::serve::answer(CORS, req, &env, |req| {
                handle(req, &env, &NoDb)
            }));
            assert_eq!(r.status, status, "{}", String::from_utf8_lossy(&r.body));
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            assert_eq!(body["jsonrpc"], "2.0");
            assert!(body["error"]["code"].is_i64());
        }
    }
}
