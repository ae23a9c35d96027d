//! `fetch-social-updates {account_id}`: pulls one Instagram or TikTok account's messages,
//! comments and insights, stores the new ones, and scores their sentiment.
//!
//! Callers: Sales or Admin users (RLS on `social_accounts` decides who sees the account), or a
//! schedule with the service key. The account's token is decrypted by
//! `public.social_account_token`, executable by `service_role` alone, in a transaction of its
//! own; it is only ever put in an `Authorization` header. Writes run as `ai_agent` under a
//! per-account lock, deduplicated by the platform's id, so repeated and concurrent runs store
//! each message once. Messages the model has not scored yet (new ones, or ones left over when
//! it was down or the `social` agent was over its limit) are scored into `social_sentiment`, one
//! model call (and one count against the limits) per batch.

pub mod platforms;
pub mod sql;

use moha_edge::ai::{Anthropic, MessagesRequest, Pricing};
use moha_edge::auth::{self, Caller};
use moha_edge::db::{query_as, query_opt};
use moha_edge::retry::{RetryPolicy, Retryable, SplitMix64};
use moha_edge::validate;
use moha_edge::{
    DbRole, Env, Error, Host, HttpRequest, Method, Request, Response, Result, Secret, Tx,
};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::platforms::{ApiError, Item, Metric, MAX_PAGES};

#[cfg(target_arch = "wasm32")]
moha_edge::export_handler!(crate::handle);

/// A small fast model: sentiment needs no more.
const SENTIMENT_MODEL: &str = "claude-haiku-4-5";
/// Messages scored per call at most.
const SCORE_BATCH: i64 = 50;
const SENTIMENT_SYSTEM: &str = "You score the sentiment of social media messages sent to an \
interior-design studio, from -1 (very negative) to 1 (very positive). Answer with a JSON array \
of objects {\"id\": <id>, \"score\": <number>} and nothing else.";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    account_id: String,
}

#[derive(Debug, Deserialize)]
struct Account {
    id: String,
    platform: String,
}

#[derive(Debug, Deserialize)]
struct Unscored {
    id: String,
    received_at: String,
    content: String,
}

pub async fn handle(req: Request, env: &Env, host: &impl Host) -> Response {
    if req.method == Method::Options {
        return validate::preflight();
    }
    moha_edge::respond(run(req, env, host).await)
}

/// A failed call to a social API.
#[derive(Debug)]
struct FetchError {
    status: Option<u16>,
    message: String,
}

impl Retryable for FetchError {
    fn is_retryable(&self) -> bool {
        self.status.is_none_or(|s| s == 429 || s >= 500)
    }
}

async fn fetch(host: &impl Host, req: &HttpRequest) -> Result<Vec<u8>> {
    let mut rng = SplitMix64::new(host.seed());
    RetryPolicy::default()
        .run(host, &mut rng, |_| async {
            match host.fetch(req.clone()).await {
                Ok(r) if r.is_success() => Ok(r.body),
                Ok(r) => Err(FetchError {
                    status: Some(r.status),
                    message: format!("answered {}", r.status),
                }),
                Err(e) => Err(FetchError {
                    status: None,
                    message: e.to_string(),
                }),
            }
        })
        .await
        .map_err(|(e, attempts)| {
            Error::Upstream(format!(
                "social API {} after {attempts} attempts",
                e.message
            ))
        })
}

fn api(e: ApiError) -> Error {
    Error::Upstream(e.0)
}

async fn run(req: Request, env: &Env, host: &impl Host) -> Result<Response> {
    validate::require_post(&req)?;
    let caller = auth::caller(&req, env, host).await?;
    let input: Input = validate::json_body(&req)?;
    let id = validate::uuid("account_id", &input.account_id)?.to_string();

    let role = match caller {
        Caller::User { .. } => DbRole::Authenticated,
        Caller::Service { .. } => DbRole::AiAgent,
    };
    let tx = host.begin(role, caller.claims()).await?;
    let account: Option<Account> = query_opt(&tx, sql::LOAD_ACCOUNT, &[json!(id)]).await?;
    tx.commit().await?;
    let account = account.ok_or_else(|| Error::NotFound("social account not found".into()))?;

    let tx = host.begin(DbRole::ServiceRole, caller.claims()).await?;
    let token: Option<Value> = query_opt(&tx, sql::TOKEN, &[json!(id)]).await?;
    tx.commit().await?;
    let token = token
        .and_then(|r| r.get("token").and_then(Value::as_str).map(Secret::new))
        .ok_or_else(|| {
            Error::Conflict("the account has no access token; connect it again".into())
        })?;

    let pulled = match account.platform.as_str() {
        "instagram" => instagram(env, host, &token).await,
        "tiktok" => tiktok(env, host, &token).await,
        other => Err(Error::Internal(format!("unknown platform {other}"))),
    };
    let tx = host.begin(DbRole::AiAgent, caller.claims()).await?;
    let (items, metrics) = match pulled {
        Ok(p) => p,
        Err(e) => {
            let context = json!({ "account_id": account.id }).to_string();
            tx.query(sql::LOG_ERROR, &[json!(e.to_string()), json!(context)])
                .await?;
            tx.commit().await?;
            return Err(e);
        }
    };
    match store(&tx, env, host, &account, &items, &metrics).await {
        Ok(resp) => {
            tx.commit().await?;
            Ok(resp)
        }
        Err(e) => {
            tx.rollback().await?;
            Err(e)
        }
    }
}

async fn instagram(
    env: &Env,
    host: &impl Host,
    token: &Secret,
) -> Result<(Vec<Item>, Vec<Metric>)> {
    let base = env
        .var_or("INSTAGRAM_GRAPH_URL", "https://graph.instagram.com/v21.0")
        .trim_end_matches('/')
        .to_string();
    let me = fetch(host, &platforms::ig_get(platforms::ig_me(&base), token)).await?;
    let ig_id = platforms::graph_id(&me).map_err(api)?;
    let mut items = Vec::new();
    let mut url = Some(platforms::ig_conversations(&base, &ig_id));
    for _ in 0..MAX_PAGES {
        let Some(u) = url.take() else { break };
        let (threads, next) =
            platforms::graph_page(&fetch(host, &platforms::ig_get(u, token)).await?, &base)
                .map_err(api)?;
        items.extend(platforms::ig_messages(&threads));
        url = next;
    }
    let media = fetch(
        host,
        &platforms::ig_get(platforms::ig_media(&base, &ig_id), token),
    )
    .await?;
    let (media, _) = platforms::graph_page(&media, &base).map_err(api)?;
    for media_id in platforms::ig_media_ids(&media).into_iter().take(MAX_PAGES) {
        let mut url = Some(platforms::ig_comments(&base, &media_id));
        for _ in 0..MAX_PAGES {
            let Some(u) = url.take() else { break };
            let (comments, next) =
                platforms::graph_page(&fetch(host, &platforms::ig_get(u, token)).await?, &base)
                    .map_err(api)?;
            items.extend(platforms::ig_comment_items(&comments));
            url = next;
        }
    }
    let insights = fetch(
        host,
        &platforms::ig_get(platforms::ig_insights(&base, &ig_id), token),
    )
    .await?;
    let (data, _) = platforms::graph_page(&insights, &base).map_err(api)?;
    Ok((items, platforms::ig_metrics(&data)))
}

async fn tiktok(env: &Env, host: &impl Host, token: &Secret) -> Result<(Vec<Item>, Vec<Metric>)> {
    let base = env
        .var_or("TIKTOK_API_URL", "https://open.tiktokapis.com")
        .trim_end_matches('/')
        .to_string();
    let mut videos = Vec::new();
    let mut cursor = None;
    for _ in 0..MAX_PAGES {
        let data = platforms::tt_data(
            &fetch(host, &platforms::tt_video_list(&base, token, cursor)).await?,
        )
        .map_err(api)?;
        let (page, next) = platforms::tt_page(&data, "videos");
        videos.extend(page);
        cursor = next;
        if cursor.is_none() {
            break;
        }
    }
    let (ids, mut metrics) = platforms::tt_videos(&videos);
    let mut items = Vec::new();
    for video in ids.iter().take(MAX_PAGES) {
        let mut cursor = None;
        for _ in 0..MAX_PAGES {
            let data = platforms::tt_data(
                &fetch(
                    host,
                    &platforms::tt_comment_list(&base, token, video, cursor),
                )
                .await?,
            )
            .map_err(api)?;
            let (page, next) = platforms::tt_page(&data, "comments");
            items.extend(platforms::tt_comment_items(&page));
            cursor = next;
            if cursor.is_none() {
                break;
            }
        }
    }
    let user = platforms::tt_data(&fetch(host, &platforms::tt_user_info(&base, token)).await?)
        .map_err(api)?;
    metrics.extend(platforms::tt_user_metrics(&user));
    Ok((items, metrics))
}

async fn store(
    tx: &impl Tx,
    env: &Env,
    host: &impl Host,
    account: &Account,
    items: &[Item],
    metrics: &[Metric],
) -> Result<Response> {
    tx.query(sql::LOCK_ACCOUNT, &[json!(account.id)]).await?;
    let mut new_messages = 0;
    for item in items {
        let rows = tx
            .query(
                sql::INSERT_MESSAGE,
                &[
                    json!(account.id),
                    json!(item.kind),
                    json!(item.content),
                    json!(item.sender_id),
                    json!(item.external_id),
                    json!(item.received_at),
                ],
            )
            .await?;
        new_messages += rows.len();
    }
    let mut new_metrics = 0;
    for m in metrics {
        let rows = tx
            .query(
                sql::INSERT_METRIC,
                &[
                    json!(account.id),
                    json!(m.name),
                    json!(m.value.to_string()),
                    json!(m.recorded_at),
                ],
            )
            .await?;
        new_metrics += rows.len();
    }
    let (scored, deferred) = match score(tx, env, host, account).await? {
        Sentiment::Scored(n) => (n, None),
        Sentiment::Deferred(why) => (0, Some(why)),
    };
    Ok(Response::json(
        200,
        &json!({
            "account_id": account.id, "platform": account.platform,
            "messages_seen": items.len(), "messages_new": new_messages,
            "metrics_new": new_metrics, "sentiment_scored": scored,
            "sentiment_fallback": deferred.is_some(),
            "sentiment_deferred": deferred.map(Deferred::as_str),
        }),
    ))
}

/// What scoring did this run.
enum Sentiment {
    Scored(usize),
    /// Nothing was scored; the messages wait for the next run.
    Deferred(Deferred),
}

#[derive(Debug, Clone, Copy)]
enum Deferred {
    /// `increment_agent_counter('social', ...)` refused the call.
    OverLimit,
    /// The model failed after the retries.
    ModelUnavailable,
}

impl Deferred {
    fn as_str(self) -> &'static str {
        match self {
            Deferred::OverLimit => "over_limit",
            Deferred::ModelUnavailable => "model_unavailable",
        }
    }
}

/// Scores the account's unscored messages in one model call (a batch of at most
/// [`SCORE_BATCH`]). The call is counted against the `social` agent's limits first, so the quota
/// is one unit per call, whatever the batch's size. Over the limit, or with the model down,
/// nothing is scored or charged and the messages wait for the next run (the fallback).
async fn score(tx: &impl Tx, env: &Env, host: &impl Host, account: &Account) -> Result<Sentiment> {
    let todo: Vec<Unscored> =
        query_as(tx, sql::UNSCORED, &[json!(account.id), json!(SCORE_BATCH)]).await?;
    if todo.is_empty() {
        return Ok(Sentiment::Scored(0));
    }
    tx.query(sql::SAVEPOINT, &[]).await?;
    if let Err(e) = tx.query(sql::COUNT_CALL, &[]).await {
        if e.sqlstate.as_deref() != Some(sql::OVER_LIMIT) {
            return Err(e.into());
        }
        tx.query(sql::ROLLBACK_TO_SAVEPOINT, &[]).await?;
        return Ok(Sentiment::Deferred(Deferred::OverLimit));
    }
    let model = SENTIMENT_MODEL.to_string();
    let list: Vec<Value> = todo
        .iter()
        .map(|m| json!({"id": m.id, "text": m.content.chars().take(500).collect::<String>()}))
        .collect();
    let request = MessagesRequest {
        model: model.clone(),
        max_tokens: 1024,
        system: Some(SENTIMENT_SYSTEM.into()),
        text: format!("Messages:\n{}", Value::from(list)),
        image: None,
    };
    let client = Anthropic::from_env(env)?;
    let mut rng = SplitMix64::new(host.seed());
    let answer = match RetryPolicy::default()
        .run(host, &mut rng, |_| client.messages(host, &request))
        .await
    {
        Ok(a) => a,
        Err((e, attempts)) => {
            // Not charged: the call gave nothing.
            tx.query(sql::ROLLBACK_TO_SAVEPOINT, &[]).await?;
            let context = json!({ "account_id": account.id, "attempts": attempts }).to_string();
            tx.query(sql::LOG_ERROR, &[json!(e.to_string()), json!(context)])
                .await?;
            return Ok(Sentiment::Deferred(Deferred::ModelUnavailable));
        }
    };
    let default = Pricing::CLAUDE_HAIKU_4_5;
    let pricing = Pricing {
        input_per_mtok: Pricing::price(
            "SOCIAL_USD_PER_MTOK_INPUT",
            env.var("SOCIAL_USD_PER_MTOK_INPUT").ok(),
            default.input_per_mtok,
        )?,
        output_per_mtok: Pricing::price(
            "SOCIAL_USD_PER_MTOK_OUTPUT",
            env.var("SOCIAL_USD_PER_MTOK_OUTPUT").ok(),
            default.output_per_mtok,
        )?,
    };
    tx.query(
        sql::LOG_USAGE,
        &[
            json!(answer.usage.input_tokens + answer.usage.output_tokens),
            json!(pricing.cost_usd(answer.usage)),
        ],
    )
    .await?;
    let scores: Vec<Value> = answer
        .text
        .find('[')
        .and_then(|at| serde_json::from_str(&answer.text[at..]).ok())
        .unwrap_or_default();
    let mut scored = 0;
    for m in &todo {
        let Some(score) = scores
            .iter()
            .find(|s| s["id"].as_str() == Some(m.id.as_str()))
            .and_then(|s| s["score"].as_f64())
            .filter(|s| s.is_finite())
        else {
            continue;
        };
        tx.query(
            sql::INSERT_SENTIMENT,
            &[
                json!(m.id),
                json!(m.received_at),
                json!(format!("{:.3}", score.clamp(-1.0, 1.0))),
                json!(model),
            ],
        )
        .await?;
        scored += 1;
    }
    Ok(Sentiment::Scored(scored))
}
