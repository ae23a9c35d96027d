//! The Instagram Graph API and TikTok API v2 (Login Kit user-token endpoints only) as this
//! function reads them: which requests to make and how to read each page. Plain functions over
//! bodies, tested without a network.

use moha_edge::{HttpRequest, Secret};
use serde::Deserialize;
use serde_json::{json, Value};

/// Pages followed per list at most, so a misbehaving API cannot keep a call running.
pub const MAX_PAGES: usize = 10;

/// A message or comment as stored in `social_messages`.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub external_id: String,
    /// `direct_message` or `comment`.
    pub kind: &'static str,
    pub content: String,
    pub sender_id: Option<String>,
    /// RFC 3339 (Instagram) or seconds since the epoch (TikTok), as text.
    pub received_at: String,
}

/// A metric for `social_analytics`; `recorded_at` None means today.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub name: String,
    pub value: f64,
    pub recorded_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError(pub String);

fn bearer(req: HttpRequest, token: &Secret) -> HttpRequest {
    req.header("authorization", format!("Bearer {}", token.expose()))
        .timeout_ms(15_000)
}

// ------------------------------------------------------------------------------ Instagram

pub fn ig_get(url: String, token: &Secret) -> HttpRequest {
    bearer(HttpRequest::get(url), token)
}

pub fn ig_me(base: &str) -> String {
    format!("{base}/me?fields=id,username")
}

pub fn ig_conversations(base: &str, ig_id: &str) -> String {
    format!(
        "{base}/{ig_id}/conversations?platform=instagram&fields=messages%7Bid,message,from,created_time%7D"
    )
}

pub fn ig_media(base: &str, ig_id: &str) -> String {
    format!("{base}/{ig_id}/media?fields=id,caption,timestamp")
}

pub fn ig_comments(base: &str, media_id: &str) -> String {
    format!("{base}/{media_id}/comments?fields=id,text,timestamp,from")
}

pub fn ig_insights(base: &str, ig_id: &str) -> String {
    format!("{base}/{ig_id}/insights?metric=reach,follower_count&period=day")
}

#[derive(Deserialize)]
struct GraphPage {
    #[serde(default)]
    data: Vec<Value>,
    #[serde(default)]
    paging: Option<Paging>,
}

#[derive(Deserialize)]
struct Paging {
    #[serde(default)]
    next: Option<String>,
}

/// A Graph API list page: its items and the next page's URL. A `next` outside `base` is
/// ignored, so a page cannot send the token elsewhere.
pub fn graph_page(body: &[u8], base: &str) -> Result<(Vec<Value>, Option<String>), ApiError> {
    let page: GraphPage = serde_json::from_slice(body)
        .map_err(|e| ApiError(format!("instagram page is malformed: {e}")))?;
    let next = page
        .paging
        .and_then(|p| p.next)
        .filter(|n| n.starts_with(&format!("{base}/")));
    Ok((page.data, next))
}

pub fn graph_id(body: &[u8]) -> Result<String, ApiError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError(format!("instagram answer is malformed: {e}")))?;
    v.get("id")
        .and_then(Value::as_str)
        .filter(|id| id.bytes().all(|b| b.is_ascii_digit()))
        .map(str::to_string)
        .ok_or_else(|| ApiError("instagram /me has no numeric id".into()))
}

fn s(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

/// Messages of the conversation threads on one page.
pub fn ig_messages(threads: &[Value]) -> Vec<Item> {
    threads
        .iter()
        .flat_map(|t| {
            t.pointer("/messages/data")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|m| {
            Some(Item {
                external_id: s(&m, "id")?,
                kind: "direct_message",
                content: s(&m, "message").unwrap_or_default(),
                sender_id: m
                    .pointer("/from/id")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                received_at: s(&m, "created_time")?,
            })
        })
        .collect()
}

pub fn ig_comment_items(comments: &[Value]) -> Vec<Item> {
    comments
        .iter()
        .filter_map(|c| {
            Some(Item {
                external_id: s(c, "id")?,
                kind: "comment",
                content: s(c, "text").unwrap_or_default(),
                sender_id: c
                    .pointer("/from/id")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                received_at: s(c, "timestamp")?,
            })
        })
        .collect()
}

/// Media ids that are plain numbers (they go into a URL path).
pub fn ig_media_ids(media: &[Value]) -> Vec<String> {
    media
        .iter()
        .filter_map(|m| s(m, "id"))
        .filter(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
        .collect()
}

pub fn ig_metrics(data: &[Value]) -> Vec<Metric> {
    data.iter()
        .filter_map(|d| {
            let name = s(d, "name")?;
            Some(
                d.get("values")
                    .and_then(Value::as_array)?
                    .iter()
                    .filter_map(|v| {
                        Some(Metric {
                            name: name.clone(),
                            value: v.get("value").and_then(Value::as_f64)?,
                            recorded_at: s(v, "end_time"),
                        })
                    })
                    .collect::<Vec<_>>(),
            )
        })
        .flatten()
        .collect()
}

// --------------------------------------------------------------------------------- TikTok

pub fn tt_video_list(base: &str, token: &Secret, cursor: Option<u64>) -> HttpRequest {
    let mut body = json!({"max_count": 20});
    if let Some(c) = cursor {
        body["cursor"] = json!(c);
    }
    bearer(
        HttpRequest::post_json(
            format!("{base}/v2/video/list/?fields=id,title,create_time,like_count,comment_count,view_count,share_count"),
            &body,
        ),
        token,
    )
}

pub fn tt_user_info(base: &str, token: &Secret) -> HttpRequest {
    bearer(
        HttpRequest::get(format!(
            "{base}/v2/user/info/?fields=follower_count,likes_count,video_count"
        )),
        token,
    )
}

/// A TikTok answer's `data`, or its error (`error.code` other than `ok`).
pub fn tt_data(body: &[u8]) -> Result<Value, ApiError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError(format!("tiktok answer is malformed: {e}")))?;
    match v.pointer("/error/code").and_then(Value::as_str) {
        Some("ok") => Ok(v.get("data").cloned().unwrap_or(Value::Null)),
        Some(code) => Err(ApiError(format!("tiktok answered {code}"))),
        None => Err(ApiError("tiktok answer has no error object".into())),
    }
}

/// A list page: its items under `key`, and the cursor of the next page when there is one.
pub fn tt_page(data: &Value, key: &str) -> (Vec<Value>, Option<u64>) {
    let items = data
        .get(key)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let more = data.get("has_more").and_then(Value::as_bool) == Some(true);
    let cursor = data.get("cursor").and_then(Value::as_u64);
    (items, if more { cursor } else { None })
}

/// Video ids (digits) and the totals of their counters, as today's metrics.
pub fn tt_videos(videos: &[Value]) -> (Vec<String>, Vec<Metric>) {
    let ids = videos
        .iter()
        .filter_map(|v| s(v, "id"))
        .filter(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
        .collect();
    let metrics = ["view_count", "like_count", "comment_count", "share_count"]
        .iter()
        .map(|k| Metric {
            name: format!("video_{k}"),
            value: videos
                .iter()
                .filter_map(|v| v.get(*k).and_then(Value::as_f64))
                .sum(),
            recorded_at: None,
        })
        .collect();
    (ids, metrics)
}

pub fn tt_user_metrics(data: &Value) -> Vec<Metric> {
    ["follower_count", "likes_count", "video_count"]
        .iter()
        .filter_map(|k| {
            Some(Metric {
                name: k.to_string(),
                value: data
                    .pointer(&format!("/user/{k}"))
                    .and_then(Value::as_f64)?,
                recorded_at: None,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_pages_follow_next_only_within_the_api() {
        let base = "https://graph.facebook.com/v21.0";
        let body = json!({"data": [{"id": "1"}], "paging": {"next": format!("{base}/1/comments?after=x")}});
        let (items, next) = graph_page(body.to_string().as_bytes(), base).unwrap();
        assert_eq!(items.len(), 1);
        assert!(next.is_some());
        let evil = json!({"data": [], "paging": {"next": "https://evil.example/steal"}});
        assert_eq!(
            graph_page(evil.to_string().as_bytes(), base).unwrap().1,
            None
        );
        assert!(graph_page(b"{", base).is_err());
    }

    #[test]
    fn instagram_messages_comments_and_insights_are_read() {
        let threads = [json!({"id": "t1", "messages": {"data": [
            {"id": "m1", "message": "love it", "from": {"id": "42", "username": "a"}, "created_time": "2025-06-01T10:00:00+0000"},
            {"id": "m2", "from": {"id": "43"}},
        ]}})];
        let items = ig_messages(&threads);
        assert_eq!(items.len(), 1, "a message without a time is skipped");
        assert_eq!(items[0].sender_id.as_deref(), Some("42"));
        let metrics = ig_metrics(&[
            json!({"name": "reach", "values": [{"value": 12, "end_time": "2025-06-01T07:00:00+0000"}]}),
        ]);
        assert_eq!(metrics[0].value, 12.0);
        assert_eq!(
            ig_media_ids(&[json!({"id": "123"}), json!({"id": "../x"})]),
            vec!["123"]
        );
    }

    #[test]
    fn tiktok_errors_cursors_and_counters() {
        let ok = json!({"data": {"videos": [{"id": "7", "view_count": 3}], "cursor": 2, "has_more": true}, "error": {"code": "ok"}});
        let data = tt_data(ok.to_string().as_bytes()).unwrap();
        let (items, next) = tt_page(&data, "videos");
        assert_eq!((items.len(), next), (1, Some(2)));
        let err = json!({"data": {}, "error": {"code": "access_token_invalid"}});
        assert!(tt_data(err.to_string().as_bytes()).is_err());
        let (ids, metrics) = tt_videos(&[
            json!({"id": "9", "view_count": 5}),
            json!({"id": "10", "view_count": 7}),
        ]);
        assert_eq!(ids, vec!["9", "10"]);
        assert_eq!(
            metrics[0],
            Metric {
                name: "video_view_count".into(),
                value: 12.0,
                recorded_at: None
            }
        );
    }
}
