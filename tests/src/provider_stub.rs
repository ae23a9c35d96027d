//! A loopback HTTP server that speaks the wire formats the edge functions call: Anthropic's
//! Messages API, Gemini `generateContent` (text and inline images), the Instagram Graph API and
//! TikTok's API v2, with pagination. It records every request and fails on demand (a status,
//! a hang past the caller's timeout, a malformed body, a dropped connection).
//!
//! Point the functions at it with the base URLs of [`ProviderStub::env`].

use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

/// The APIs the stub serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Api {
    Anthropic,
    Gemini,
    Instagram,
    TikTok,
}

/// What the stub does instead of answering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// An error status with the provider's error body (429 carries `retry-after: 0`).
    Status(u16),
    /// No answer for this long, then the connection closes.
    Hang(Duration),
    /// 200 with a body that is not the provider's format.
    Malformed,
    /// The connection closes at once, as when the provider is unreachable.
    Drop,
    /// 200 in the provider's format, with usage, but text only: a billed answer the caller
    /// cannot use (an image model's refusal). Other APIs answer as usual.
    TextOnly,
    /// 200 in Anthropic's format, with usage, whose text is this one: a billed answer that is
    /// well-formed on the wire but that a later step may refuse (a NUL character no PostgreSQL
    /// text takes, a JSON object without the field asked for). Other APIs answer as usual.
    Answer(String),
    /// A token refresh refused as the platform refuses it: Instagram's 400 OAuthException code
    /// 190 (session expired), TikTok's 400 `invalid_grant`. Other requests answer as usual.
    TokenRefused,
    /// The platform's "who is this" (`/me`, TikTok's user info) names another account than the
    /// stub's usual one, as when someone authorises the studio's app with their own account.
    OtherAccount,
}

/// One request as the stub saw it.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    /// Path and query.
    pub target: String,
    /// Lowercased names.
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

impl Call {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// A social account's content as the stub serves it; every list is served in pages of two.
#[derive(Debug, Clone, Default)]
pub struct SocialFixture {
    /// (id, text, sender id, RFC 3339 time)
    pub messages: Vec<(String, String, String, String)>,
    /// (id, text, sender id, RFC 3339 time), comments on the account's one post.
    pub comments: Vec<(String, String, String, String)>,
    /// (metric, value, RFC 3339 end time)
    pub insights: Vec<(String, f64, String)>,
}

#[derive(Default)]
struct State {
    calls: Vec<(Api, Call)>,
    faults: BTreeMap<Api, VecDeque<Fault>>,
    always: BTreeMap<Api, Fault>,
    social: SocialFixture,
}

/// A 1×1 transparent PNG: the image the stub's image model returns.
pub const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae,
    0x42, 0x60, 0x82,
];

pub struct ProviderStub {
    pub url: String,
    state: Arc<Mutex<State>>,
}

impl ProviderStub {
    pub fn start() -> ProviderStub {
        let listener = TcpListener::bind("127.0.0.1:0").expect("the stub binds a loopback port");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let base = url.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let state = shared.clone();
                let base = base.clone();
                std::thread::spawn(move || {
                    let _ = serve(stream, &state, &base);
                });
            }
        });
        ProviderStub { url, state }
    }

    /// The variables that point the functions at the stub, with test keys.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("ANTHROPIC_BASE_URL", format!("{}/anthropic", self.url)),
            ("ANTHROPIC_API_KEY", "sk-ant-stub-key".into()),
            ("GEMINI_BASE_URL", format!("{}/gemini", self.url)),
            ("GEMINI_API_KEY", "gemini-stub-key".into()),
            ("INSTAGRAM_GRAPH_URL", format!("{}/ig/v21.0", self.url)),
            ("TIKTOK_API_URL", format!("{}/tiktok", self.url)),
            ("INSTAGRAM_OAUTH_URL", format!("{}/ig", self.url)),
            ("INSTAGRAM_AUTH_URL", format!("{}/ig-web", self.url)),
            ("INSTAGRAM_CLIENT_ID", "ig-stub-client-id".into()),
            ("INSTAGRAM_CLIENT_SECRET", "ig-stub-client-secret".into()),
            ("TIKTOK_AUTH_URL", format!("{}/tiktok-web", self.url)),
            ("TIKTOK_CLIENT_KEY", "tt-stub-client-key".into()),
            ("TIKTOK_CLIENT_SECRET", "tt-stub-client-secret".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// The next requests to `api` meet these faults, one each, in order.
    pub fn fail_next(&self, api: Api, faults: &[Fault]) {
        let mut s = self.state.lock().unwrap();
        s.faults
            .entry(api)
            .or_default()
            .extend(faults.iter().cloned());
    }

    /// Every request to `api` meets `fault` until it is cleared with `None`.
    pub fn fail_always(&self, api: Api, fault: Option<Fault>) {
        let mut s = self.state.lock().unwrap();
        match fault {
            Some(f) => s.always.insert(api, f),
            None => s.always.remove(&api),
        };
    }

    pub fn set_social(&self, fixture: SocialFixture) {
        self.state.lock().unwrap().social = fixture;
    }

    pub fn calls(&self, api: Api) -> Vec<Call> {
        let s = self.state.lock().unwrap();
        s.calls
            .iter()
            .filter(|(a, _)| *a == api)
            .map(|(_, c)| c.clone())
            .collect()
    }

    /// Forgets recorded calls, queued faults and fixtures.
    pub fn reset(&self) {
        *self.state.lock().unwrap() = State::default();
    }
}

fn read_call(stream: &TcpStream) -> std::io::Result<Call> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let mut headers = BTreeMap::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h)?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body)?;
    Ok(Call {
        method,
        target,
        headers,
        body,
    })
}

fn respond(mut stream: &TcpStream, status: u16, headers: &[(&str, &str)], body: &[u8]) {
    let mut head = format!(
        "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
}

fn serve(stream: TcpStream, state: &Mutex<State>, base: &str) -> std::io::Result<()> {
    let call = read_call(&stream)?;
    let path = call
        .target
        .split('?')
        .next()
        .unwrap_or_default()
        .to_string();
    let api = if path.starts_with("/anthropic/") {
        Api::Anthropic
    } else if path.starts_with("/gemini/") {
        Api::Gemini
    } else if path.starts_with("/ig/") {
        Api::Instagram
    } else if path.starts_with("/tiktok/") {
        Api::TikTok
    } else {
        respond(&stream, 404, &[], b"{}");
        return Ok(());
    };
    let (fault, social) = {
        let mut s = state.lock().unwrap();
        s.calls.push((api, call.clone()));
        let queued = s.faults.get_mut(&api).and_then(VecDeque::pop_front);
        (
            queued.or_else(|| s.always.get(&api).cloned()),
            s.social.clone(),
        )
    };
    let json_ct = [("content-type", "application/json")];
    match fault {
        Some(Fault::Drop) => return Ok(()),
        Some(Fault::Hang(d)) => {
            std::thread::sleep(d);
            return Ok(());
        }
        Some(Fault::Malformed) => {
            respond(&stream, 200, &json_ct, b"{\"unexpected\": tru");
            return Ok(());
        }
        Some(Fault::TextOnly) if api == Api::Gemini => {
            let body = gemini(&call.json(), false);
            respond(&stream, 200, &json_ct, body.to_string().as_bytes());
            return Ok(());
        }
        Some(Fault::Answer(text)) if api == Api::Anthropic => {
            let body = anthropic_message(&call.json(), &text);
            respond(&stream, 200, &json_ct, body.to_string().as_bytes());
            return Ok(());
        }
        Some(Fault::Status(code)) => {
            let body = match api {
                Api::Anthropic => {
                    json!({"type": "error", "error": {"type": "api_error", "message": "stub failure"}})
                }
                Api::Gemini => {
                    json!({"error": {"code": code, "message": "stub failure", "status": "UNAVAILABLE"}})
                }
                Api::Instagram => {
                    json!({"error": {"message": "stub failure", "type": "OAuthException", "code": 2}})
                }
                Api::TikTok => {
                    json!({"error": {"code": "internal_error", "message": "stub failure", "log_id": "stub"}})
                }
            };
            let mut headers = json_ct.to_vec();
            if code == 429 {
                headers.push(("retry-after", "0"));
            }
            respond(&stream, code, &headers, body.to_string().as_bytes());
            return Ok(());
        }
        Some(Fault::TokenRefused) if is_token_refresh(&path) => {
            let body = if api == Api::Instagram {
                json!({"error": {
                    "message": "Error validating access token: Session has expired on Monday, 30-Nov-26 10:00:00 PST.",
                    "type": "OAuthException", "code": 190, "error_subcode": 463, "fbtrace_id": "AstubTrace"}})
            } else {
                json!({"error": "invalid_grant",
                       "error_description": "Refresh token is invalid or expired.",
                       "log_id": "202611301000000000STUB"})
            };
            respond(&stream, 400, &json_ct, body.to_string().as_bytes());
            return Ok(());
        }
        Some(Fault::OtherAccount) if path == "/tiktok/v2/oauth/token/" => {
            // TikTok names the authorised account in the token answer itself.
            let body = json!({"access_token": "act.other", "expires_in": 86_400, "open_id": "other-open-id",
                              "refresh_expires_in": 31_536_000, "refresh_token": "rft.other",
                              "scope": "user.info.basic", "token_type": "Bearer"});
            respond(&stream, 200, &json_ct, body.to_string().as_bytes());
            return Ok(());
        }
        Some(Fault::OtherAccount) if path == "/ig/v21.0/me" || path == "/tiktok/v2/user/info/" => {
            let body = if api == Api::Instagram {
                json!({"id": "17841499999999999", "user_id": "17841499999999999", "username": "someone.else"})
            } else {
                json!({"data": {"user": {"open_id": "other-open-id", "username": "someone.else",
                                         "display_name": "Someone Else", "follower_count": 1,
                                         "likes_count": 1, "video_count": 1}}, "error": {"code": "ok", "message": "", "log_id": "stub"}})
            };
            respond(&stream, 200, &json_ct, body.to_string().as_bytes());
            return Ok(());
        }
        Some(Fault::TextOnly | Fault::Answer(_) | Fault::TokenRefused | Fault::OtherAccount)
        | None => {}
    }
    if path == "/ig/oauth/access_token" || path == "/ig/access_token" {
        let (status, body) = instagram_code_exchange(&call, &path);
        respond(&stream, status, &json_ct, body.to_string().as_bytes());
        return Ok(());
    }
    if is_token_refresh(&path) {
        let body = token_refresh(&call, &path);
        respond(&stream, 200, &json_ct, body.to_string().as_bytes());
        return Ok(());
    }
    let body = match api {
        Api::Anthropic => anthropic(&call.json()),
        Api::Gemini => gemini(&call.json(), true),
        Api::Instagram => instagram(&call, &path, &social, base),
        Api::TikTok => tiktok(&call, &path, &social),
    };
    respond(&stream, 200, &json_ct, body.to_string().as_bytes());
    Ok(())
}

/// Instagram's two steps from an authorisation code: `POST api.instagram.com/oauth/access_token`
/// (a short-lived token for the code `stub-code`) and `GET graph.instagram.com/access_token`
/// (`ig_exchange_token`: a long-lived one), with Instagram's error body for a wrong code.
fn instagram_code_exchange(call: &Call, path: &str) -> (u16, Value) {
    if path == "/ig/oauth/access_token" {
        let form = String::from_utf8_lossy(&call.body).into_owned();
        let ok = form.contains("code=stub-code")
            && form.contains("grant_type=authorization_code")
            && form.contains("client_id=ig-stub-client-id")
            && form.contains("client_secret=ig-stub-client-secret");
        if !ok {
            return (
                400,
                json!({"error_type": "OAuthException", "code": 400,
                                "error_message": "Invalid authorization code"}),
            );
        }
        (
            200,
            json!({"data": [{"access_token": "IGQ-short-lived", "user_id": "17841400000000001",
                               "permissions": "instagram_business_basic"}]}),
        )
    } else {
        let ok = call.target.contains("grant_type=ig_exchange_token")
            && call.target.contains("client_secret=ig-stub-client-secret")
            && call.headers.get("authorization").map(String::as_str)
                == Some("Bearer IGQ-short-lived");
        if !ok {
            return (
                400,
                json!({"error": {"message": "Invalid OAuth access token.",
                                          "type": "OAuthException", "code": 190, "fbtrace_id": "stub"}}),
            );
        }
        (
            200,
            json!({"access_token": "IGQ-long-lived", "token_type": "bearer", "expires_in": 5_183_944}),
        )
    }
}

fn is_token_refresh(path: &str) -> bool {
    path == "/ig/refresh_access_token" || path == "/tiktok/v2/oauth/token/"
}

/// A refresh as the platforms answer it: Instagram's new long-lived token (60 days), TikTok's
/// new access token with a rotated refresh token. Each new token names the old one's length and
/// a counter, so tests can tell which one was stored.
fn token_refresh(call: &Call, path: &str) -> Value {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    if path.starts_with("/ig/") {
        json!({"access_token": format!("IGQ-renewed-{n}"), "token_type": "bearer", "expires_in": 5_183_944})
    } else {
        let form = String::from_utf8_lossy(&call.body).into_owned();
        if form.contains("grant_type=authorization_code") {
            if !form.contains("code=stub-code") {
                return json!({"error": "invalid_grant", "error_description": "Authorization code is expired.", "log_id": "stub"});
            }
            return json!({"access_token": "act.connected", "expires_in": 86_400, "open_id": "stub-open-id",
                          "refresh_expires_in": 31_536_000, "refresh_token": "rft.connected",
                          "scope": "user.info.basic,user.info.profile,user.info.stats,video.list", "token_type": "Bearer"});
        }
        let ok = form.contains("grant_type=refresh_token")
            && form.contains("client_key=tt-stub-client-key")
            && form.contains("client_secret=tt-stub-client-secret");
        if !ok {
            return json!({"error": "invalid_request", "error_description": "missing or wrong parameters", "log_id": "stub"});
        }
        json!({"access_token": format!("act.renewed-{n}"), "expires_in": 86_400, "open_id": "stub-open-id",
               "refresh_expires_in": 31_536_000, "refresh_token": format!("rft.rotated-{n}"),
               "scope": "user.info.basic,user.info.stats,video.list", "token_type": "Bearer"})
    }
}

/// The user turn's text of a Messages request.
fn message_text(req: &Value) -> String {
    req.pointer("/messages/0/content")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("text").and_then(Value::as_str))
        .collect()
}

/// A toy model: sentiment requests get a score per message from a word list, lead requests a
/// score with a rationale, anything else a fixed summary.
fn anthropic(req: &Value) -> Value {
    let system = req
        .get("system")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let text = message_text(req);
    let answer = if system.contains("sentiment") {
        let items: Vec<Value> = text
            .find('[')
            .and_then(|at| serde_json::from_str(&text[at..]).ok())
            .unwrap_or_default();
        let scores: Vec<Value> = items
            .iter()
            .map(|m| {
                let t = m["text"].as_str().unwrap_or_default().to_lowercase();
                let score = if t.contains("love") || t.contains("great") {
                    0.9
                } else if t.contains("bad") || t.contains("hate") {
                    -0.8
                } else {
                    0.0
                };
                json!({"id": m["id"], "score": score})
            })
            .collect();
        Value::from(scores).to_string()
    } else if system.contains("lead") {
        json!({"score": 80, "rationale": "Referred client with a clear budget."}).to_string()
    } else {
        "- Instagram leads convert best.\n- Render volume is steady.".to_string()
    };
    anthropic_message(req, &answer)
}

/// A Messages API answer with `text` and the stub's usage (120 in, 40 out).
fn anthropic_message(req: &Value, answer: &str) -> Value {
    json!({
        "id": "msg_stub", "type": "message", "role": "assistant",
        "model": req.get("model").cloned().unwrap_or(Value::Null),
        "content": [{"type": "text", "text": answer}],
        "stop_reason": "end_turn", "stop_sequence": null,
        "usage": {"input_tokens": 120, "output_tokens": 40},
    })
}

/// `may_draw: false` answers in text even when an image was asked for.
fn gemini(req: &Value, may_draw: bool) -> Value {
    use base64::Engine;
    let wants_image = may_draw
        && req
            .pointer("/generationConfig/responseModalities")
            .and_then(Value::as_array)
            .is_some_and(|m| m.iter().any(|v| v == "IMAGE"));
    let mut parts = vec![json!({"text": "Here is the render."})];
    if wants_image {
        parts.push(json!({"inlineData": {
            "mimeType": "image/png",
            "data": base64::engine::general_purpose::STANDARD.encode(PNG),
        }}));
    }
    json!({
        "candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 1290, "candidatesTokenCount": 1300, "totalTokenCount": 2590},
        "modelVersion": "gemini-2.5-flash-image",
    })
}

fn query(target: &str, key: &str) -> Option<String> {
    target
        .split_once('?')?
        .1
        .split('&')
        .find_map(|kv| kv.strip_prefix(&format!("{key}=")).map(str::to_string))
}

/// Page `page` (of two items) with a Graph `paging.next` link while more remain.
fn graph_page(items: Vec<Value>, target: &str, base: &str) -> Value {
    let after: usize = query(target, "after")
        .and_then(|a| a.parse().ok())
        .unwrap_or(0);
    let page: Vec<Value> = items.iter().skip(after).take(2).cloned().collect();
    let mut out = json!({"data": page});
    if after + 2 < items.len() {
        let path = target.split('?').next().unwrap_or_default();
        out["paging"] = json!({
            "cursors": {"before": after.to_string(), "after": (after + 2).to_string()},
            "next": format!("{base}{path}?after={}", after + 2),
        });
    }
    out
}

fn instagram(call: &Call, path: &str, social: &SocialFixture, base: &str) -> Value {
    let rest = path.trim_start_matches("/ig/v21.0/");
    let ig_time = |t: &str| t.replace('Z', "+0000");
    match rest {
        "me" => {
            json!({"id": "17841400000000001", "user_id": "17841400000000001", "username": "moha.interiors"})
        }
        "17841400000000001/conversations" => {
            let threads: Vec<Value> = social
                .messages
                .iter()
                .map(|(id, text, from, at)| {
                    json!({"id": format!("t_{id}"), "messages": {"data": [
                        {"id": id, "message": text, "from": {"id": from, "username": format!("user{from}")}, "created_time": ig_time(at)}
                    ]}})
                })
                .collect();
            graph_page(threads, &call.target, base)
        }
        "17841400000000001/media" => {
            json!({"data": [{"id": "18000000000000001", "caption": "Japandi living room", "timestamp": "2025-06-01T09:00:00+0000"}]})
        }
        "18000000000000001/comments" => {
            let comments: Vec<Value> = social
                .comments
                .iter()
                .map(|(id, text, from, at)| {
                    json!({"id": id, "text": text, "timestamp": ig_time(at), "from": {"id": from, "username": format!("user{from}")}})
                })
                .collect();
            graph_page(comments, &call.target, base)
        }
        "17841400000000001/insights" => {
            let data: Vec<Value> = social
                .insights
                .iter()
                .map(|(name, value, end)| {
                    json!({"name": name, "period": "day", "title": name,
                           "values": [{"value": value, "end_time": ig_time(end)}],
                           "id": format!("17841400000000001/insights/{name}/day")})
                })
                .collect();
            json!({"data": data})
        }
        _ => {
            json!({"error": {"message": format!("unknown path {rest}"), "type": "GraphMethodException", "code": 100}})
        }
    }
}

fn tiktok(call: &Call, path: &str, social: &SocialFixture) -> Value {
    let ok = json!({"code": "ok", "message": "", "log_id": "stub"});
    let cursor = call
        .json()
        .get("cursor")
        .and_then(Value::as_u64)
        .unwrap_or(0) as usize;
    let epoch = |t: &str| chrono_free_epoch(t).unwrap_or(0);
    match path {
        "/tiktok/v2/user/info/" => {
            let followers = social
                .insights
                .iter()
                .find(|(m, _, _)| m == "follower_count")
                .map(|(_, v, _)| *v)
                .unwrap_or(0.0);
            json!({"data": {"user": {"open_id": "stub-open-id", "username": "moha.tiktok", "display_name": "Moha Interiors",
                                     "follower_count": followers as u64, "likes_count": 10, "video_count": 1}}, "error": ok})
        }
        "/tiktok/v2/video/list/" => json!({"data": {
            "videos": [{"id": "7300000000000000001", "title": "Studio tour", "create_time": 1748768400,
                        "like_count": 42, "comment_count": social.comments.len(), "view_count": 900, "share_count": 3}],
            "cursor": 1748768400000u64, "has_more": false}, "error": ok}),
        "/tiktok/v2/research/video/comment/list/" => {
            let comments: Vec<Value> = social
                .comments
                .iter()
                .skip(cursor)
                .take(2)
                .map(|(id, text, _from, at)| {
                    json!({"id": id, "video_id": "7300000000000000001", "text": text, "like_count": 1, "create_time": epoch(at)})
                })
                .collect();
            let has_more = cursor + 2 < social.comments.len();
            json!({"data": {"comments": comments, "cursor": cursor + comments.len(), "has_more": has_more}, "error": ok})
        }
        _ => {
            json!({"data": {}, "error": {"code": "invalid_params", "message": format!("unknown path {path}"), "log_id": "stub"}})
        }
    }
}

/// Seconds since the epoch of `YYYY-MM-DDTHH:MM:SSZ` (the fixtures' format).
fn chrono_free_epoch(t: &str) -> Option<i64> {
    let (date, time) = t.trim_end_matches('Z').split_once('T')?;
    let d: Vec<i64> = date.split('-').filter_map(|p| p.parse().ok()).collect();
    let h: Vec<i64> = time.split(':').filter_map(|p| p.parse().ok()).collect();
    let (y, m, day) = (d.first()?, d.get(1)?, d.get(2)?);
    // Days from civil (Howard Hinnant's algorithm).
    let y = if *m <= 2 { y - 1 } else { *y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h.first()? * 3600 + h.get(1)? * 60 + h.get(2).copied().unwrap_or(0))
}
