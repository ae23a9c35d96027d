//! Clients for the AI providers with their real wire formats: Anthropic's Messages API and
//! Google's Gemini `generateContent` (text and inline images, both ways). Building a request and
//! reading a response are plain functions, so they are tested without a network.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::env::{Env, Secret};
use crate::error::Error;
use crate::http::{Http, HttpError, HttpRequest, HttpResponse};
use crate::retry::Retryable;

pub const ANTHROPIC_VERSION: &str = "2023-06-01";
const AI_TIMEOUT_MS: u64 = 60_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    #[error("{provider} answered {status}: {message}")]
    Status {
        provider: &'static str,
        status: u16,
        message: String,
        retry_after_ms: Option<u64>,
    },
    #[error("{provider} did not answer in time")]
    Timeout { provider: &'static str },
    #[error("cannot reach {provider}: {message}")]
    Network {
        provider: &'static str,
        message: String,
    },
    #[error("{provider} sent a response that cannot be read: {message}")]
    Malformed {
        provider: &'static str,
        message: String,
    },
}

impl Retryable for ProviderError {
    fn is_retryable(&self) -> bool {
        match self {
            // 408 timeout, 409 Anthropic's lock conflict, 429 rate limit, 5xx server errors
            // (529 is Anthropic's "overloaded").
            ProviderError::Status { status, .. } => {
                matches!(status, 408 | 409 | 429) || *status >= 500
            }
            ProviderError::Timeout { .. } | ProviderError::Network { .. } => true,
            // A garbled body from a healthy status is a provider bug: fall back, do not hammer.
            ProviderError::Malformed { .. } => false,
        }
    }

    fn retry_after_ms(&self) -> Option<u64> {
        match self {
            ProviderError::Status { retry_after_ms, .. } => *retry_after_ms,
            _ => None,
        }
    }
}

impl From<ProviderError> for Error {
    fn from(e: ProviderError) -> Self {
        Error::Upstream(e.to_string())
    }
}

/// A transport failure as the provider's error, for callers that send a built request
/// themselves (with their own timeout).
pub fn transport(provider: &'static str, e: HttpError) -> ProviderError {
    match e {
        HttpError::Timeout => ProviderError::Timeout { provider },
        HttpError::Network(message) => ProviderError::Network { provider, message },
    }
}

/// Reads an error body's message without echoing arbitrary bytes back.
fn error_message(body: &[u8]) -> String {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let msg = v
        .pointer("/error/message")
        .and_then(Value::as_str)
        .unwrap_or("no error message");
    msg.chars().take(300).collect()
}

fn check_status(provider: &'static str, resp: &HttpResponse) -> Result<(), ProviderError> {
    if resp.is_success() {
        return Ok(());
    }
    let retry_after_ms = resp
        .header("retry-after")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|s| s.saturating_mul(1000));
    Err(ProviderError::Status {
        provider,
        status: resp.status,
        message: error_message(&resp.body),
        retry_after_ms,
    })
}

fn parse_body<T: for<'de> Deserialize<'de>>(
    provider: &'static str,
    resp: &HttpResponse,
) -> Result<T, ProviderError> {
    serde_json::from_slice(&resp.body).map_err(|e| ProviderError::Malformed {
        provider,
        message: e.to_string(),
    })
}

/// The key under which an answer is cached in `ai_cache` for fallback.
pub fn cache_key(provider: &str, model: &str, prompt: &str) -> String {
    let mut h = Sha256::new();
    for part in [provider, model, prompt] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

/// An image as providers carry it: base64 with its MIME type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineImage {
    pub mime_type: String,
    pub data_base64: String,
}

/// Token counts of one call, for `agent_usage` and `render_results.cost_tokens`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

/// US dollars per million tokens, as providers price them, for `agent_usage.cost`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pricing {
    pub input_per_mtok: f64,
    pub output_per_mtok: f64,
}

impl Pricing {
    /// Anthropic's list prices.
    pub const CLAUDE_HAIKU_4_5: Pricing = Pricing {
        input_per_mtok: 1.0,
        output_per_mtok: 5.0,
    };
    pub const CLAUDE_SONNET_4_5: Pricing = Pricing {
        input_per_mtok: 3.0,
        output_per_mtok: 15.0,
    };
    /// Google's list prices for Gemini 2.5 Flash Image (ai.google.dev/gemini-api/docs/pricing):
    /// text and image input $0.30, output $30 per million tokens, an image up to 1024x1024
    /// being 1290 output tokens ($0.039).
    pub const GEMINI_2_5_FLASH_IMAGE: Pricing = Pricing {
        input_per_mtok: 0.30,
        output_per_mtok: 30.0,
    };

    /// A price from a deployment's variable (`None` when unset: `default`). Callers read the
    /// variable by its literal name, so the check against `.env.example` sees it.
    pub fn price(name: &str, value: Option<&str>, default: f64) -> Result<f64, Error> {
        match value {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|p| p.is_finite() && *p >= 0.0)
                .ok_or_else(|| {
                    Error::Internal(format!(
                        "{name} must be a non-negative number of US dollars per million tokens"
                    ))
                }),
        }
    }

    /// The cost of one call in US dollars, with the six decimal places of `agent_usage.cost`.
    pub fn cost_usd(&self, usage: Usage) -> String {
        let usd = (usage.input_tokens as f64 * self.input_per_mtok
            + usage.output_tokens as f64 * self.output_per_mtok)
            / 1_000_000.0;
        format!("{usd:.6}")
    }
}

// ---------------------------------------------------------------- Anthropic Messages API

pub struct Anthropic {
    base_url: String,
    api_key: Secret,
}

/// A `POST /v1/messages` call with one user turn (text, optionally with an image).
#[derive(Debug, Clone)]
pub struct MessagesRequest {
    pub model: String,
    pub max_tokens: u32,
    pub system: Option<String>,
    pub text: String,
    pub image: Option<InlineImage>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MessagesResponse {
    pub model: String,
    pub text: String,
    pub stop_reason: Option<String>,
    pub usage: Usage,
}

#[derive(Deserialize)]
struct WireMessage {
    model: String,
    content: Vec<WireContent>,
    #[serde(default)]
    stop_reason: Option<String>,
    usage: WireUsage,
}

#[derive(Deserialize)]
struct WireContent {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    text: Option<String>,
}

#[derive(Deserialize)]
struct WireUsage {
    input_tokens: u64,
    output_tokens: u64,
}

impl Anthropic {
    pub const PROVIDER: &'static str = "anthropic";

    pub fn new(base_url: impl Into<String>, api_key: Secret) -> Self {
        Anthropic {
            base_url: base_url.into().trim_end_matches('/').to_string(),
            api_key,
        }
    }

    /// `ANTHROPIC_BASE_URL` (default the public API) and the `ANTHROPIC_API_KEY` secret.
    pub fn from_env(env: &Env) -> Result<Self, Error> {
        Ok(Anthropic::new(
            env.var_or("ANTHROPIC_BASE_URL", "https://api.anthropic.com"),
            env.secret("ANTHROPIC_API_KEY")?,
        ))
    }

    pub fn build(&self, req: &MessagesRequest) -> HttpRequest {
        let mut content = Vec::new();
        if let Some(img) = &req.image {
            content.push(json!({
                "type": "image",
                "source": {"type": "base64", "media_type": img.mime_type, "data": img.data_base64},
            }));
        }
        content.push(json!({"type": "text", "text": req.text}));
        let mut body = json!({
            "model": req.model,
            "max_tokens": req.max_tokens,
            "messages": [{"role": "user", "content": content}],
        });
        if let Some(system) = &req.system {
            body["system"] = json!(system);
        }
        HttpRequest::post_json(format!("{}/v1/messages", self.base_url), &body)
            .header("x-api-key", self.api_key.expose())
            .header("anthropic-version", ANTHROPIC_VERSION)
            .timeout_ms(AI_TIMEOUT_MS)
    }

    pub fn parse(resp: &HttpResponse) -> Result<MessagesResponse, ProviderError> {
        check_status(Self::PROVIDER, resp)?;
        let wire: WireMessage = parse_body(Self::PROVIDER, resp)?;
        let text: String = wire
            .content
            .iter()
            .filter(|c| c.kind == "text")
            .filter_map(|c| c.text.as_deref())
            .collect();
        Ok(MessagesResponse {
            model: wire.model,
            text,
            stop_reason: wire.stop_reason,
            usage: Usage {
                input_tokens: wire.usage.input_tokens,
                output_tokens: wire.usage.output_tokens,
            },
        })
    }

    pub async fn messages(
        &self,
        http: &impl Http,
        req: &MessagesRequest,
    ) -> Result<MessagesResponse, ProviderError> {
        let resp = http
            .fetch(self.build(req))
            .await
            .map_err(|e| transport(Self::PROVIDER, e))?;
        Self::parse(&resp)
    }
}

// ---------------------------------------------------------------- Gemini generateContent

pub struct Gemini {
    base_url: String,
    api_key: Secret,
}

#[derive(Debug, Clone)]
pub struct GenerateRequest {
    pub model: String,
    pub text: String,
    pub images: Vec<InlineImage>,
    /// Ask for an image in the answer (image models such as `gemini-2.5-flash-image`).
    pub want_image: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GenerateResponse {
    pub model: Option<String>,
    pub text: String,
    pub images: Vec<InlineImage>,
    pub finish_reason: Option<String>,
    pub usage: Usage,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireGenerate {
    #[serde(default)]
    candidates: Vec<WireCandidate>,
    #[serde(default)]
    usage_metadata: Option<WireUsageMetadata>,
    #[serde(default)]
    model_version: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireCandidate {
    #[serde(default)]
    content: Option<WireContentParts>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct WireContentParts {
    #[serde(default)]
    parts: Vec<WirePart>,
}

#[derive(Deserialize)]
struct WirePart {
    #[serde(default)]
    text: Option<String>,
    #[serde(default, rename = "inlineData", alias = "inline_data")]
    inline_data: Option<WireBlob>,
}

#[derive(Deserialize)]
struct WireBlob {
    #[serde(rename = "mimeType", alias = "mime_type")]
    mime_type: String,
    data: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireUsageMetadata {
    #[serde(default)]
    prompt_token_count: u64,
    #[serde(default)]
    candidates_token_count: u64,
}

/// Model names go into the URL path, so only plain names are accepted.
fn valid_model(model: &str) -> bool {
    !model.is_empty()
        && model.len() <= 100
        && model
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
}

impl Gemini {
    pub const PROVIDER: &'static str = "gemini";

    pub fn new(base_url: impl Into<String>, api_key: Secret) -> Self {
        Gemini {
            base_url: base_url.into().trim_end_matches('/').to_string(),
            api_key,
        }
    }

    /// `GEMINI_BASE_URL` (default the public API) and the `GEMINI_API_KEY` secret.
    pub fn from_env(env: &Env) -> Result<Self, Error> {
        Ok(Gemini::new(
            env.var_or(
                "GEMINI_BASE_URL",
                "https://generativelanguage.googleapis.com",
            ),
            env.secret("GEMINI_API_KEY")?,
        ))
    }

    pub fn build(&self, req: &GenerateRequest) -> Result<HttpRequest, ProviderError> {
        if !valid_model(&req.model) {
            return Err(ProviderError::Status {
                provider: Self::PROVIDER,
                status: 400,
                message: format!("invalid model name {:?}", req.model),
                retry_after_ms: None,
            });
        }
        let mut parts = vec![json!({"text": req.text})];
        for img in &req.images {
            parts.push(
                json!({"inline_data": {"mime_type": img.mime_type, "data": img.data_base64}}),
            );
        }
        let mut body = json!({"contents": [{"role": "user", "parts": parts}]});
        if req.want_image {
            body["generationConfig"] = json!({"responseModalities": ["TEXT", "IMAGE"]});
        }
        Ok(HttpRequest::post_json(
            format!(
                "{}/v1beta/models/{}:generateContent",
                self.base_url, req.model
            ),
            &body,
        )
        // The key goes in a header, never in the URL, so it cannot end up in a logged URL.
        .header("x-goog-api-key", self.api_key.expose())
        .timeout_ms(AI_TIMEOUT_MS))
    }

    pub fn parse(resp: &HttpResponse) -> Result<GenerateResponse, ProviderError> {
        check_status(Self::PROVIDER, resp)?;
        let wire: WireGenerate = parse_body(Self::PROVIDER, resp)?;
        let candidate =
            wire.candidates
                .into_iter()
                .next()
                .ok_or_else(|| ProviderError::Malformed {
                    provider: Self::PROVIDER,
                    message: "no candidates (the prompt may have been blocked)".into(),
                })?;
        let mut text = String::new();
        let mut images = Vec::new();
        for part in candidate.content.map(|c| c.parts).unwrap_or_default() {
            if let Some(t) = part.text {
                text.push_str(&t);
            }
            if let Some(blob) = part.inline_data {
                images.push(InlineImage {
                    mime_type: blob.mime_type,
                    data_base64: blob.data,
                });
            }
        }
        let usage = wire
            .usage_metadata
            .map(|u| Usage {
                input_tokens: u.prompt_token_count,
                output_tokens: u.candidates_token_count,
            })
            .unwrap_or_default();
        Ok(GenerateResponse {
            model: wire.model_version,
            text,
            images,
            finish_reason: candidate.finish_reason,
            usage,
        })
    }

    pub async fn generate(
        &self,
        http: &impl Http,
        req: &GenerateRequest,
    ) -> Result<GenerateResponse, ProviderError> {
        let resp = http
            .fetch(self.build(req)?)
            .await
            .map_err(|e| transport(Self::PROVIDER, e))?;
        Self::parse(&resp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retry::Retryable;

    fn resp(status: u16, body: Value) -> HttpResponse {
        HttpResponse {
            status,
            headers: vec![],
            body: body.to_string().into_bytes(),
        }
    }

    fn image() -> InlineImage {
        InlineImage {
            mime_type: "image/png".into(),
            data_base64: "iVBORw0KGgo=".into(),
        }
    }

    #[test]
    fn anthropic_request_has_the_documented_shape() {
        let c = Anthropic::new("http://127.0.0.1:9999/", Secret::new("sk-ant-test"));
        let r = c.build(&MessagesRequest {
            model: "claude-sonnet-4-5".into(),
            max_tokens: 512,
            system: Some("You are terse.".into()),
            text: "Summarise".into(),
            image: Some(image()),
        });
        assert_eq!(r.url, "http://127.0.0.1:9999/v1/messages");
        let h = |n: &str| {
            r.headers
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(h("x-api-key"), Some("sk-ant-test"));
        assert_eq!(h("anthropic-version"), Some("2023-06-01"));
        assert_eq!(h("content-type"), Some("application/json"));
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(
            body,
            json!({
                "model": "claude-sonnet-4-5", "max_tokens": 512, "system": "You are terse.",
                "messages": [{"role": "user", "content": [
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
                    {"type": "text", "text": "Summarise"},
                ]}],
            })
        );
    }

    #[test]
    fn anthropic_response_and_errors_are_read() {
        let ok = resp(
            200,
            json!({
                "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
                "content": [{"type": "text", "text": "Leads "}, {"type": "text", "text": "rose."}],
                "stop_reason": "end_turn", "stop_sequence": null,
                "usage": {"input_tokens": 12, "output_tokens": 3},
            }),
        );
        let m = Anthropic::parse(&ok).unwrap();
        assert_eq!(m.text, "Leads rose.");
        assert_eq!(
            m.usage,
            Usage {
                input_tokens: 12,
                output_tokens: 3
            }
        );
        let mut limited = resp(
            429,
            json!({"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}}),
        );
        limited.headers.push(("retry-after".into(), "2".into()));
        let e = Anthropic::parse(&limited).unwrap_err();
        assert!(e.is_retryable());
        assert_eq!(e.retry_after_ms(), Some(2_000));
        assert!(e.to_string().contains("slow down"));
        let overloaded = resp(
            529,
            json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
        );
        assert!(Anthropic::parse(&overloaded).unwrap_err().is_retryable());
        let bad_key = resp(
            401,
            json!({"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}),
        );
        assert!(!Anthropic::parse(&bad_key).unwrap_err().is_retryable());
        let garbled = HttpResponse {
            status: 200,
            headers: vec![],
            body: b"<html>".to_vec(),
        };
        assert!(matches!(
            Anthropic::parse(&garbled),
            Err(ProviderError::Malformed { .. })
        ));
    }

    #[test]
    fn gemini_request_carries_inline_images_and_asks_for_image_output() {
        let c = Gemini::new("http://127.0.0.1:9999", Secret::new("g-key"));
        let r = c
            .build(&GenerateRequest {
                model: "gemini-2.5-flash-image".into(),
                text: "Render this room".into(),
                images: vec![image()],
                want_image: true,
            })
            .unwrap();
        assert_eq!(
            r.url,
            "http://127.0.0.1:9999/v1beta/models/gemini-2.5-flash-image:generateContent"
        );
        assert!(!r.url.contains("g-key"));
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(
            body,
            json!({
                "contents": [{"role": "user", "parts": [
                    {"text": "Render this room"},
                    {"inline_data": {"mime_type": "image/png", "data": "iVBORw0KGgo="}},
                ]}],
                "generationConfig": {"responseModalities": ["TEXT", "IMAGE"]},
            })
        );
        let bad = GenerateRequest {
            model: "../../x".into(),
            text: String::new(),
            images: vec![],
            want_image: false,
        };
        assert!(c.build(&bad).is_err());
    }

    #[test]
    fn gemini_response_yields_text_images_and_usage() {
        let ok = resp(
            200,
            json!({
                "candidates": [{
                    "content": {"role": "model", "parts": [
                        {"text": "Here is the render."},
                        {"inlineData": {"mimeType": "image/png", "data": "AAAA"}},
                    ]},
                    "finishReason": "STOP", "index": 0,
                }],
                "usageMetadata": {"promptTokenCount": 1290, "candidatesTokenCount": 1300, "totalTokenCount": 2590},
                "modelVersion": "gemini-2.5-flash-image",
            }),
        );
        let g = Gemini::parse(&ok).unwrap();
        assert_eq!(g.text, "Here is the render.");
        assert_eq!(
            g.images,
            vec![InlineImage {
                mime_type: "image/png".into(),
                data_base64: "AAAA".into()
            }]
        );
        assert_eq!(
            g.usage,
            Usage {
                input_tokens: 1290,
                output_tokens: 1300
            }
        );
        assert_eq!(g.finish_reason.as_deref(), Some("STOP"));
        let blocked = resp(200, json!({"promptFeedback": {"blockReason": "SAFETY"}}));
        assert!(matches!(
            Gemini::parse(&blocked),
            Err(ProviderError::Malformed { .. })
        ));
        let unavailable = resp(
            503,
            json!({"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}),
        );
        assert!(Gemini::parse(&unavailable).unwrap_err().is_retryable());
    }

    #[test]
    fn cost_follows_the_prices_and_bad_prices_name_their_variable() {
        let usage = Usage {
            input_tokens: 120,
            output_tokens: 40,
        };
        // 120 × $1/M + 40 × $5/M
        assert_eq!(Pricing::CLAUDE_HAIKU_4_5.cost_usd(usage), "0.000320");
        assert_eq!(Pricing::CLAUDE_SONNET_4_5.cost_usd(usage), "0.000960");
        assert_eq!(Pricing::price("X", None, 1.0).unwrap(), 1.0);
        assert_eq!(Pricing::price("X", Some(" 0.8 "), 1.0).unwrap(), 0.8);
        for bad in ["-1", "cheap", "NaN", "inf"] {
            let e = Pricing::price("LEADS_USD_PER_MTOK_OUTPUT", Some(bad), 5.0).unwrap_err();
            assert!(
                e.to_string().contains("LEADS_USD_PER_MTOK_OUTPUT"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn cache_keys_separate_their_parts() {
        assert_ne!(cache_key("a", "bc", "d"), cache_key("a", "b", "cd"));
        assert_eq!(cache_key("a", "b", "c").len(), 64);
    }
}
