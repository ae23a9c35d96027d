//! `fetch-social-updates {account_id}`: pulls one Instagram account's messages, comments and
//! insights, or one TikTok account's video and profile counters, stores the new ones, and scores
//! the messages' sentiment. `{refresh_tokens: true}` renews the tokens that expire soon.
//!
//! Callers: Sales or Admin users (RLS on `social_accounts` decides who sees the account), or a
//! schedule with the service key or the scheduled-call secret (the `moha-fetch-social` job's
//! walk of the connected accounts). The account's token is decrypted by
//! `public.social_account_token`, executable by `service_role` alone, in a transaction of its
//! own; it is only ever put in an `Authorization` header. Writes run as `ai_agent` under a
//! per-account lock, deduplicated by the platform's id, so repeated and concurrent runs store
//! each message once. Messages the model has not scored yet (new ones, or ones left over when
//! it was down or the `social` agent was over its limit) are scored into `social_sentiment`, one
//! model call (and one count against the limits) per batch.
//!
//! A model call is charged and logged whatever happens after it: the messages and the call's
//! count commit before the model is asked, the answer's tokens are recorded on their own as
//! soon as it arrives, and the scores are written afterwards, each under its own savepoint. A
//! score that cannot be written is kept in `ai_cache` and written from there by later runs, so
//! the model is not asked (and paid) again for it.

pub mod platforms;
pub mod sql;
pub mod tokens;

use moha_edge::ai::{cache_key, Anthropic, MessagesRequest, Pricing, Usage};
use moha_edge::auth::{self, Caller};
use moha_edge::db::{query_as, query_opt};
use moha_edge::retry::{RetryPolicy, Retryable, SplitMix64};
use moha_edge::schedule;
use moha_edge::validate;
use moha_edge::{DbRole, Env, Error, Host, HttpRequest, Request, Response, Result, Secret, Tx};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::platforms::{ApiError, Item, Metric, MAX_PAGES};

#[cfg(target_arch = "wasm32")]
moha_edge::export_handler!(crate::handle);

/// A small fast model: sentiment needs no more.
const SENTIMENT_MODEL: &str = "claude-haiku-4-5";
/// Messages scored per call at most.
const SCORE_BATCH: i64 = 50;
/// How long a score that could not be written is kept for later runs.
const KEPT_SCORE_DAYS: i64 = 7;
const SENTIMENT_SYSTEM: &str = "You score the sentiment of social media messages sent to an \
interior-design studio, from -1 (very negative) to 1 (very positive). Answer with a JSON array \
of objects {\"id\": <id>, \"score\": <number>} and nothing else.";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    #[serde(default)]
    account_id: Option<String>,
    /// Renew the tokens that expire soon (the `moha-refresh-social-tokens` job, or the service
    /// key).
    #[serde(default)]
    refresh_tokens: bool,
}

#[derive(Debug, Deserialize)]
struct Account {
    id: String,
    platform: String,
}

#[derive(Debug, Clone, Deserialize)]
struct Unscored {
    id: String,
    received_at: String,
    content: String,
}

impl Unscored {
    /// The `ai_cache` key of this message's score.
    fn key(&self) -> String {
        cache_key(
            Anthropic::PROVIDER,
            SENTIMENT_MODEL,
            &format!("sentiment {} {}", self.id, self.received_at),
        )
    }
}

#[derive(Debug, Deserialize)]
struct Kept {
    prompt_hash: String,
    score: f64,
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

pub async fn handle(req: Request, env: &Env, host: &impl Host) -> Result<Response> {
    validate::require_post(&req)?;
    // The walk of the `moha-fetch-social` job calls with the scheduled-call secret; this
    // function has one entry point, so the secret opens it (as the service key does).
    let caller = if schedule::is_scheduled(&req, env) {
        schedule::caller()
    } else {
        auth::caller(&req, env, host).await?
    };
    let input: Input = validate::json_body(&req)?;
    let id = match (input.account_id, input.refresh_tokens) {
        (Some(id), false) => validate::uuid("account_id", &id)?.to_string(),
        (None, true) => {
            // Renewal spends the platforms' grants of every account: the schedule's or the
            // service key's call only.
            if !matches!(caller, Caller::Service { .. }) {
                return Err(Error::Forbidden(
                    "token renewal runs on a schedule with the service key".into(),
                ));
            }
            return refresh_tokens(&caller, env, host).await;
        }
        _ => {
            return Err(Error::BadRequest(
                "send either account_id or refresh_tokens: true".into(),
            ))
        }
    };

    let role = match caller {
        Caller::User { .. } => DbRole::Authenticated,
        Caller::Service { .. } => DbRole::AiAgent,
    };
    let id = id.as_str();
    let account: Option<Account> = host
        .transaction(role, caller.claims(), |tx| async move {
            query_opt(&tx, sql::LOAD_ACCOUNT, &[json!(id)]).await
        })
        .await??;
    let account = account.ok_or_else(|| Error::NotFound("social account not found".into()))?;

    let token: Option<Value> = host
        .transaction(DbRole::ServiceRole, caller.claims(), |tx| async move {
            query_opt(&tx, sql::TOKEN, &[json!(id)]).await
        })
        .await??;
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
    let (items, metrics) = match pulled {
        Ok(p) => p,
        Err(e) => {
            let context = json!({ "account_id": account.id }).to_string();
            let message = e.to_string();
            host.transaction(DbRole::AiAgent, caller.claims(), |tx| async move {
                tx.query(sql::LOG_ERROR, &[json!(message), json!(context)])
                    .await
            })
            .await??;
            return Err(e);
        }
    };
    // 1. The messages, and the charge for the call that scores them, committed first.
    let stored = host
        .transaction(DbRole::AiAgent, caller.claims(), |tx| {
            let (account, items, metrics) = (&account, &items, &metrics);
            async move { store(&tx, env, account, items, metrics).await }
        })
        .await??;
    // 2. and 3.: the call, its usage, the scores.
    let (scored, deferred) = score(&caller, host, &account, stored.scoring).await?;
    Ok(Response::json(
        200,
        &json!({
            "account_id": account.id, "platform": account.platform,
            "messages_seen": items.len(), "messages_new": stored.messages_new,
            "metrics_new": stored.metrics_new, "sentiment_scored": scored,
            "sentiment_fallback": deferred.is_some(),
            "sentiment_deferred": deferred.map(Deferred::as_str),
        }),
    ))
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
    // Comments are not read: TikTok serves them to a studio only through the Research API
    // (non-profit academic research) or the API for Business, neither of which Login Kit's
    // user token may call (docs/functions.md, "TikTok: what a studio may call").
    let (_, mut metrics) = platforms::tt_videos(&videos);
    let items = Vec::new();
    let user = platforms::tt_data(&fetch(host, &platforms::tt_user_info(&base, token)).await?)
        .map_err(api)?;
    metrics.extend(platforms::tt_user_metrics(&user));
    Ok((items, metrics))
}

/// What the first transaction stored and decided.
struct Stored {
    messages_new: usize,
    metrics_new: usize,
    scoring: Scoring,
}

/// The sentiment work of a run, decided before any model call.
struct Scoring {
    /// Scores kept from an earlier paid answer, to write without asking the model.
    kept: Vec<(Unscored, f64)>,
    /// Messages to ask the model about, with the client and prices; the call is charged.
    ask: Option<(Vec<Unscored>, Anthropic, Pricing)>,
    /// Why the model is not asked about the rest, if it is not.
    deferred: Option<Deferred>,
}

async fn store(
    tx: &impl Tx,
    env: &Env,
    account: &Account,
    items: &[Item],
    metrics: &[Metric],
) -> Result<Stored> {
    tx.query(sql::LOCK_ACCOUNT, &[json!(account.id)]).await?;
    let mut messages_new = 0;
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
        messages_new += rows.len();
    }
    let mut metrics_new = 0;
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
        metrics_new += rows.len();
    }
    Ok(Stored {
        messages_new,
        metrics_new,
        scoring: plan(tx, env, account).await?,
    })
}

/// What scoring did this run.
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

/// The account's unscored messages (a batch of at most [`SCORE_BATCH`]): those with a kept
/// score are written from it; the others go to the model in one call, counted against the
/// `social` agent's limits here, so the quota is one unit per call whatever the batch's size.
/// Over the limit, nothing is charged and the messages wait for the next run.
async fn plan(tx: &impl Tx, env: &Env, account: &Account) -> Result<Scoring> {
    let todo: Vec<Unscored> =
        query_as(tx, sql::UNSCORED, &[json!(account.id), json!(SCORE_BATCH)]).await?;
    let keys: Vec<String> = todo.iter().map(Unscored::key).collect();
    let kept: Vec<Kept> = if todo.is_empty() {
        Vec::new()
    } else {
        query_as(
            tx,
            sql::KEPT_SCORES,
            &[
                json!(SENTIMENT_MODEL),
                json!(Value::from(keys.clone()).to_string()),
            ],
        )
        .await?
    };
    let (mut scoring, mut ask) = (
        Scoring {
            kept: Vec::new(),
            ask: None,
            deferred: None,
        },
        Vec::new(),
    );
    for (m, key) in todo.into_iter().zip(keys) {
        match kept.iter().find(|k| k.prompt_hash == key) {
            Some(k) if k.score.is_finite() => scoring.kept.push((m, k.score)),
            _ => ask.push(m),
        }
    }
    if ask.is_empty() {
        return Ok(scoring);
    }
    // The configuration is checked before the charge: a call that cannot be made is not paid.
    let client = Anthropic::from_env(env)?;
    let pricing = pricing(env)?;
    tx.query(sql::SAVEPOINT, &[]).await?;
    if let Err(e) = tx.query(sql::COUNT_CALL, &[]).await {
        if e.sqlstate.as_deref() != Some(sql::OVER_LIMIT) {
            return Err(e.into());
        }
        tx.query(sql::ROLLBACK_TO_SAVEPOINT, &[]).await?;
        scoring.deferred = Some(Deferred::OverLimit);
        return Ok(scoring);
    }
    scoring.ask = Some((ask, client, pricing));
    Ok(scoring)
}

/// The sentiment model's prices: `SOCIAL_USD_PER_MTOK_INPUT` and `_OUTPUT`, each defaulting to
/// Claude Haiku 4.5's list price.
fn pricing(env: &Env) -> Result<Pricing> {
    let default = Pricing::CLAUDE_HAIKU_4_5;
    Ok(Pricing {
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
    })
}

/// Asks the model about the charged batch, records the answer's usage at once, then writes the
/// scores (the kept ones too). Returns how many were written, and why the model's were not.
async fn score(
    caller: &Caller,
    host: &impl Host,
    account: &Account,
    scoring: Scoring,
) -> Result<(usize, Option<Deferred>)> {
    let Scoring {
        kept,
        ask,
        mut deferred,
    } = scoring;
    let mut failures: Vec<String> = Vec::new();
    let mut fresh: Vec<(Unscored, f64)> = Vec::new();
    if let Some((ask, client, pricing)) = ask {
        match ask_model(&client, host, &ask).await {
            Ok((usage, scores)) => {
                if let Err(e) = record_usage(caller, host, pricing, usage).await {
                    failures.push(format!(
                        "the call's usage ({usage:?}) was not recorded: {e}"
                    ));
                }
                fresh = ask
                    .into_iter()
                    .filter_map(|m| {
                        let score = scores
                            .iter()
                            .find(|s| s["id"].as_str() == Some(m.id.as_str()))
                            .and_then(|s| s["score"].as_f64())
                            .filter(|s| s.is_finite())?;
                        Some((m, score.clamp(-1.0, 1.0)))
                    })
                    .collect();
            }
            Err(e) => {
                failures.push(e.to_string());
                deferred = Some(Deferred::ModelUnavailable);
            }
        }
    }
    if kept.is_empty() && fresh.is_empty() && failures.is_empty() {
        return Ok((0, deferred));
    }

    let written = host
        .transaction(DbRole::AiAgent, caller.claims(), |tx| {
            let (kept, fresh, failures) = (&kept, &fresh, &mut failures);
            async move { write_scores(&tx, account, kept, fresh, failures).await }
        })
        .await?;
    let scored = match written {
        Ok(n) => n,
        Err(e) => {
            // Nothing was written: keep every fresh score for the next run.
            failures.push(format!("the scores could not be written: {e}"));
            let (kept, fresh, failures) = (&kept, &fresh, &failures);
            host.transaction(DbRole::AiAgent, caller.claims(), |tx| async move {
                for (m, score) in fresh {
                    keep(&tx, m, *score).await?;
                }
                log(&tx, account, failures, fresh.len() + kept.len()).await
            })
            .await??;
            0
        }
    };
    Ok((scored, deferred))
}

/// The model's scores for `ask`, with the call's usage; bounded retries.
async fn ask_model(
    client: &Anthropic,
    host: &impl Host,
    ask: &[Unscored],
) -> Result<(Usage, Vec<Value>)> {
    let list: Vec<Value> = ask
        .iter()
        .map(|m| json!({"id": m.id, "text": m.content.chars().take(500).collect::<String>()}))
        .collect();
    let request = MessagesRequest {
        model: SENTIMENT_MODEL.to_string(),
        max_tokens: 1024,
        system: Some(SENTIMENT_SYSTEM.into()),
        text: format!("Messages:\n{}", Value::from(list)),
        image: None,
    };
    let mut rng = SplitMix64::new(host.seed());
    let answer = RetryPolicy::default()
        .run(host, &mut rng, |_| client.messages(host, &request))
        .await
        .map_err(|(e, attempts)| Error::Upstream(format!("{e} (after {attempts} attempts)")))?;
    let scores: Vec<Value> = answer
        .text
        .find('[')
        .and_then(|at| serde_json::from_str(&answer.text[at..]).ok())
        .unwrap_or_default();
    Ok((answer.usage, scores))
}

/// The call's tokens and cost, in a transaction of their own.
async fn record_usage(
    caller: &Caller,
    host: &impl Host,
    pricing: Pricing,
    usage: Usage,
) -> Result<()> {
    let params = [
        json!(usage.input_tokens + usage.output_tokens),
        json!(pricing.cost_usd(usage)),
    ];
    host.transaction(DbRole::AiAgent, caller.claims(), |tx| async move {
        tx.query(sql::LOG_USAGE, &params).await
    })
    .await??;
    Ok(())
}

/// Writes each score under its own savepoint, so one refused score keeps no other from being
/// written. A fresh score that is refused is kept for later runs; a kept one stays kept.
/// Failures are logged, once per run.
async fn write_scores(
    tx: &impl Tx,
    account: &Account,
    kept: &[(Unscored, f64)],
    fresh: &[(Unscored, f64)],
    failures: &mut Vec<String>,
) -> Result<usize> {
    tx.query(sql::LOCK_ACCOUNT, &[json!(account.id)]).await?;
    let mut scored = 0;
    let mut refused = 0;
    let all = kept
        .iter()
        .map(|k| (k, true))
        .chain(fresh.iter().map(|f| (f, false)));
    for ((m, score), was_kept) in all {
        tx.query(sql::SCORE_SAVEPOINT, &[]).await?;
        let params = [
            json!(m.id),
            json!(m.received_at),
            json!(format!("{score:.3}")),
            json!(SENTIMENT_MODEL),
        ];
        match tx.query(sql::INSERT_SENTIMENT, &params).await {
            Ok(rows) => {
                tx.query(sql::RELEASE_SCORE_SAVEPOINT, &[]).await?;
                scored += rows.len();
                if was_kept {
                    tx.query(
                        sql::KEPT_SCORE_USED,
                        &[json!(m.key()), json!(SENTIMENT_MODEL)],
                    )
                    .await?;
                }
            }
            Err(e) => {
                tx.query(sql::ROLLBACK_TO_SCORE_SAVEPOINT, &[]).await?;
                refused += 1;
                if failures.len() < 5 {
                    failures.push(format!("the score of message {} was refused: {e}", m.id));
                }
                if !was_kept {
                    keep(tx, m, *score).await?;
                }
            }
        }
    }
    if !failures.is_empty() {
        log(tx, account, failures, refused).await?;
    }
    Ok(scored)
}

/// Keeps a paid score that could not be written, for later runs.
async fn keep(tx: &impl Tx, m: &Unscored, score: f64) -> Result<()> {
    let response = json!({ "message_id": m.id, "score": score }).to_string();
    tx.query(
        sql::KEEP_SCORE,
        &[
            json!(m.key()),
            json!(SENTIMENT_MODEL),
            json!(response),
            json!(KEPT_SCORE_DAYS),
        ],
    )
    .await?;
    Ok(())
}

/// One `error_logs` row for the run's failures.
async fn log(tx: &impl Tx, account: &Account, failures: &[String], refused: usize) -> Result<()> {
    let context = json!({ "account_id": account.id, "scores_refused": refused }).to_string();
    tx.query(
        sql::LOG_ERROR,
        &[json!(failures.join("; ")), json!(context)],
    )
    .await?;
    Ok(())
}

// ------------------------------------------------------------ token renewal (issue 20)

/// Accounts renewed per call at most.
const REFRESH_BATCH: i64 = 20;

#[derive(Debug, Deserialize)]
struct Due {
    account_id: String,
    platform: String,
}

/// `{"refresh_tokens": true}`: renews the tokens `social_tokens_due` lists, one platform call
/// each (the job runs again in 15 minutes, well before the tokens it leaves expire).
async fn refresh_tokens(caller: &Caller, env: &Env, host: &impl Host) -> Result<Response> {
    let due: Vec<Due> = host
        .transaction(DbRole::ServiceRole, caller.claims(), |tx| async move {
            query_as(&tx, sql::TOKENS_DUE, &[json!(REFRESH_BATCH)]).await
        })
        .await??;
    let mut out = Vec::new();
    for d in due {
        let outcome = match refresh_one(caller, env, host, &d).await {
            Ok(v) => v,
            Err(e) => json!({ "account_id": d.account_id, "outcome": "error", "code": e.code() }),
        };
        out.push(outcome);
    }
    Ok(Response::json(200, &json!({ "refreshed": out })))
}

async fn refresh_one(caller: &Caller, env: &Env, host: &impl Host, d: &Due) -> Result<Value> {
    let id = json!(d.account_id);
    // Instagram renews the access token itself; TikTok needs the refresh token.
    let statement = if d.platform == "instagram" {
        sql::TOKEN
    } else {
        sql::REFRESH_TOKEN
    };
    let row: Option<Value> = host
        .transaction(DbRole::ServiceRole, caller.claims(), |tx| {
            let id = &id;
            async move { query_opt(&tx, statement, std::slice::from_ref(id)).await }
        })
        .await??;
    let grant = row.and_then(|r| r.get("token").and_then(Value::as_str).map(Secret::new));
    let result = match (d.platform.as_str(), grant) {
        (_, None) => Err(tokens::Failure::Refused(
            "no token to renew is stored".into(),
        )),
        ("instagram", Some(token)) => {
            let base = env.var_or("INSTAGRAM_GRAPH_URL", "https://graph.instagram.com/v21.0");
            let resp = host.fetch(tokens::ig_refresh(base, &token)).await;
            match resp {
                Ok(r) => tokens::ig_parse(r.status, &r.body),
                Err(e) => Err(tokens::Failure::Transient(format!("instagram: {e}"))),
            }
        }
        ("tiktok", Some(refresh)) => {
            let (Ok(key), Some(secret)) = (
                env.var("TIKTOK_CLIENT_KEY"),
                env.optional_secret("TIKTOK_CLIENT_SECRET"),
            ) else {
                return Err(Error::Internal(
                    "TIKTOK_CLIENT_KEY and TIKTOK_CLIENT_SECRET are needed to renew TikTok tokens"
                        .into(),
                ));
            };
            let base = env.var_or("TIKTOK_API_URL", "https://open.tiktokapis.com");
            let resp = host
                .fetch(tokens::tt_refresh(base, key, &secret, &refresh))
                .await;
            match resp {
                Ok(r) => tokens::tt_parse(r.status, &r.body),
                Err(e) => Err(tokens::Failure::Transient(format!("tiktok: {e}"))),
            }
        }
        (other, _) => return Err(Error::Internal(format!("unknown platform {other}"))),
    };
    let settled = host.transaction(DbRole::ServiceRole, caller.claims(), |tx| async move {
        let context = json!({ "account_id": d.account_id, "platform": d.platform }).to_string();
        Ok::<Value, Error>(match result {
            Ok(r) => {
                let params = [
                    id.clone(),
                    json!(r.access_token),
                    json!(r.expires_in),
                    json!(r.refresh_token),
                    json!(r.refresh_expires_in),
                ];
                tx.query(sql::STORE_TOKENS, &params).await?;
                json!({ "account_id": d.account_id, "outcome": "renewed", "expires_in": r.expires_in })
            }
            Err(tokens::Failure::Refused(why)) => {
                let message = format!("token renewal refused; the account needs reconnecting: {why}");
                tx.query(sql::LOG_ERROR, &[json!(message), json!(context)]).await?;
                tx.query(sql::MARK_RECONNECT, &[id.clone(), json!(why)]).await?;
                json!({ "account_id": d.account_id, "outcome": "needs_reconnect" })
            }
            Err(tokens::Failure::Transient(why)) => {
                let message = format!("token renewal failed; it runs again: {why}");
                tx.query(sql::LOG_ERROR, &[json!(message), json!(context)]).await?;
                json!({ "account_id": d.account_id, "outcome": "retry" })
            }
        })
    })
    .await?;
    settled
}
