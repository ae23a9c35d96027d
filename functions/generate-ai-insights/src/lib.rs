//! `generate-ai-insights {table_name}`: an Admin-only AI summary of one allow-listed table.
//! Aggregates are computed in SQL; only they and a small sample stripped of emails and phone
//! numbers go to the model. No SQL is ever built from the input: the table name selects one of
//! the constant statements in [`tables`].
//!
//! The caller's part (the Admin check, the aggregates, the sample) runs as `authenticated` with
//! their claims. The agent's part runs as `ai_agent`, and a model call is charged and logged
//! whatever happens after it, so it takes three transactions:
//! 1. the call is counted with `increment_agent_counter('insights', ...)`, committed before the
//!    model is asked (with bounded retries);
//! 2. the answer's tokens and cost go to `agent_usage` as soon as it arrives;
//! 3. the fresh summary is cached and audited as an agent action. When that fails, the failure
//!    is logged and the Admin still gets the summary paid for.
//!
//! Insights are a synchronous read, so nothing is queued: over the limit, or with the provider
//! down, the answer falls back to the newest cached summary of the table, else to the insights
//! agent's default `prompt_templates` row filled from the aggregates without a model. A fallback
//! is marked `fallback: true` with its `source` and `reason`. Over the limit nothing is charged;
//! a provider that failed was asked, and that call stays charged.

pub mod guard;
pub mod pii;
pub mod sql;
pub mod tables;
pub mod template;

use moha_edge::ai::{cache_key, Anthropic, MessagesRequest, MessagesResponse};
use moha_edge::auth::{self, Caller};
use moha_edge::db::query_opt;
use moha_edge::retry::{RetryPolicy, SplitMix64};
use moha_edge::validate;
use moha_edge::{DbRole, Env, Error, Host, Request, Response, Result, Row, Tx};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::tables::InsightTable;

#[cfg(target_arch = "wasm32")]
moha_edge::export_handler!(crate::handle);

const DEFAULT_MODEL: &str = "claude-sonnet-4-5";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    table_name: String,
}

/// Where a summary came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Source {
    Model,
    Cache,
    Template,
}

/// Why there is no fresh summary.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Reason {
    /// `increment_agent_counter` refused the call; the provider was not asked.
    OverLimit { retry_at: Option<String> },
    /// The provider failed for good after the retries.
    ProviderUnavailable,
}

impl Reason {
    fn code(&self) -> &'static str {
        match self {
            Reason::OverLimit { .. } => "over_limit",
            Reason::ProviderUnavailable => "provider_unavailable",
        }
    }

    /// The error when nothing is left to fall back on.
    fn into_error(self) -> Error {
        match self {
            Reason::OverLimit { retry_at } => Error::TooManyRequests(format!(
                "the insights limit is reached and no summary is cached or templated; try again after {}",
                retry_at.as_deref().unwrap_or("the limit's window")
            )),
            Reason::ProviderUnavailable => {
                Error::Upstream("the model failed and no summary is cached or templated".into())
            }
        }
    }
}

#[derive(Debug, Serialize)]
struct Answer {
    table: &'static str,
    summary: String,
    fallback: bool,
    source: Source,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    /// Over the limit: when a fresh summary may be asked for again (RFC 3339, UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_at: Option<String>,
    /// A cached summary: when it was made (RFC 3339, UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    generated_at: Option<String>,
}

impl Answer {
    fn fallback(
        table: InsightTable,
        summary: String,
        source: Source,
        reason: &Reason,
        generated_at: Option<String>,
    ) -> Response {
        let retry_at = match reason {
            Reason::OverLimit { retry_at } => retry_at.clone(),
            Reason::ProviderUnavailable => None,
        };
        Response::json(
            200,
            &Answer {
                table: table.name(),
                summary,
                fallback: true,
                source,
                reason: Some(reason.code()),
                retry_at,
                generated_at,
            },
        )
    }
}

#[derive(Debug, Deserialize)]
struct Cached {
    id: String,
    summary: String,
    generated_at: String,
}

#[derive(Debug, Deserialize)]
struct Template {
    name: String,
    version: i64,
    template: String,
}

pub async fn handle(req: Request, env: &Env, host: &impl Host) -> Result<Response> {
    validate::require_post(&req)?;
    let caller = auth::caller(&req, env, host).await?;
    let user = match &caller {
        Caller::User { id, .. } => *id,
        Caller::Service { .. } => {
            return Err(Error::Forbidden("insights are for admins only".into()))
        }
    };
    let input: Input = validate::json_body(&req)?;
    let table = InsightTable::parse(&input.table_name)?;

    let (aggregates, sample) = host
        .transaction(DbRole::Authenticated, caller.claims(), |tx| async move {
            read(&tx, table).await
        })
        .await??;
    let prompt = tables::prompt(table, &aggregates, &pii::scrub_rows(sample));

    summarise(&caller, env, host, user, table, &aggregates, prompt).await
}

/// As the caller: RLS and the Admin check decide what may be read.
async fn read(tx: &impl Tx, table: InsightTable) -> Result<(Vec<Row>, Vec<Row>)> {
    let admin: Option<Value> = query_opt(tx, sql::IS_ADMIN, &[]).await?;
    if admin.and_then(|r| r.get("is_admin").and_then(Value::as_bool)) != Some(true) {
        return Err(Error::Forbidden("insights are for admins only".into()));
    }
    let aggregates = tx.query(table.aggregate_sql(), &[]).await?;
    let sample = tx.query(table.sample_sql(), &[]).await?;
    Ok((aggregates, sample))
}

/// As the agent: charge, ask, record, cache; or fall back.
async fn summarise(
    caller: &Caller,
    env: &Env,
    host: &impl Host,
    user: Uuid,
    table: InsightTable,
    aggregates: &[Row],
    prompt: String,
) -> Result<Response> {
    let model = env.var_or("INSIGHTS_MODEL", DEFAULT_MODEL).to_string();
    let pricing = guard::pricing(env)?;
    let client = Anthropic::from_env(env)?;
    let key = cache_key(Anthropic::PROVIDER, &model, &prompt);

    // 1. The charge, committed before the model is asked; over the limit, the fallback.
    let charged = host
        .transaction(DbRole::AiAgent, caller.claims(), |tx| {
            let key = &key;
            async move { charge(&tx, user, table, aggregates, key).await }
        })
        .await??;
    // An answer, or an error to give now that the transaction committed.
    if let Some(refused) = charged {
        return refused;
    }

    // 2. The call. No transaction is open while the model answers.
    let request = MessagesRequest {
        model: model.clone(),
        max_tokens: 800,
        system: Some(tables::SYSTEM.into()),
        text: prompt,
        image: None,
    };
    let mut rng = SplitMix64::new(host.seed());
    let answer = match RetryPolicy::default()
        .run(host, &mut rng, |_| client.messages(host, &request))
        .await
    {
        Ok(answer) => answer,
        Err((err, attempts)) => {
            // Charged all the same: the provider was asked.
            let context = json!({ "table": table.name(), "model": model, "attempts": attempts });
            let key = &key;
            return host
                .transaction(DbRole::AiAgent, caller.claims(), |tx| async move {
                    log_error(&tx, &err.to_string(), context).await?;
                    fallback(&tx, table, aggregates, key, Reason::ProviderUnavailable).await
                })
                .await??;
        }
    };

    // 3. Usage first, in its own transaction, then the cache. Neither failure takes the
    // summary from the Admin who paid for it; both are logged.
    let mut failures = Vec::new();
    let tokens = answer.usage.input_tokens + answer.usage.output_tokens;
    let cost = pricing.cost_usd(answer.usage);
    let usage = [json!(user.to_string()), json!(tokens), json!(cost)];
    let logged = host
        .transaction(DbRole::AiAgent, caller.claims(), |tx| async move {
            tx.query(sql::LOG_USAGE, &usage).await
        })
        .await?;
    match logged {
        Ok(_) => {}
        Err(e) => {
            failures.push((
                format!("the call's usage was not recorded: {e}"),
                json!({ "table": table.name(), "model": model, "tokens": tokens, "cost": cost }),
            ));
        }
    }
    let cached = host
        .transaction(DbRole::AiAgent, caller.claims(), |tx| {
            let (key, model, answer) = (&key, &model, &answer);
            async move { fresh(&tx, user, table, key, model, answer).await }
        })
        .await?;
    match cached {
        Ok(()) => {}
        Err(e) => {
            failures.push((
                format!("the summary could not be cached: {e}"),
                json!({ "table": table.name(), "model": model, "prompt_hash": key }),
            ));
        }
    }
    if !failures.is_empty() {
        host.transaction(DbRole::AiAgent, caller.claims(), |tx| async move {
            for (message, context) in failures {
                log_error(&tx, &message, context).await?;
            }
            Ok::<(), Error>(())
        })
        .await??;
    }
    Ok(Response::json(
        200,
        &Answer {
            table: table.name(),
            summary: answer.text,
            fallback: false,
            source: Source::Model,
            reason: None,
            retry_at: None,
            generated_at: None,
        },
    ))
}

/// Counts the call under a savepoint. `None`: charged, ask the model. Over the limit, the
/// fallback's answer (or the error to give), with nothing charged.
async fn charge(
    tx: &impl Tx,
    user: Uuid,
    table: InsightTable,
    aggregates: &[Row],
    key: &str,
) -> Result<Option<Result<Response>>> {
    tx.query(sql::SAVEPOINT, &[]).await?;
    let e = match tx.query(sql::COUNT_CALL, &[json!(user.to_string())]).await {
        Ok(_) => return Ok(None),
        Err(e) if e.sqlstate.as_deref() == Some(sql::OVER_LIMIT) => e,
        Err(e) => return Err(e.into()),
    };
    tx.query(sql::ROLLBACK_TO_SAVEPOINT, &[]).await?;
    let retry_at = match guard::retry_after_hint(e.hint.as_deref()) {
        Some(at) => query_opt::<Value>(tx, sql::RETRY_AT, &[json!(at)])
            .await?
            .and_then(|r| {
                r.get("retry_at")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            }),
        None => None,
    };
    let answer = fallback(tx, table, aggregates, key, Reason::OverLimit { retry_at }).await?;
    Ok(Some(answer))
}

/// Caches and audits a summary the model wrote.
async fn fresh(
    tx: &impl Tx,
    user: Uuid,
    table: InsightTable,
    key: &str,
    model: &str,
    answer: &MessagesResponse,
) -> Result<()> {
    let cached = json!({ "table": table.name(), "summary": answer.text, "model": answer.model });
    let stored: Option<Value> = query_opt(
        tx,
        sql::STORE_CACHE,
        &[json!(key), json!(model), json!(cached.to_string())],
    )
    .await?;
    let cache_id = stored
        .and_then(|r| r.get("id").and_then(Value::as_str).map(str::to_string))
        .ok_or_else(|| Error::Internal("the cache write returned no row".into()))?;
    let audited = json!({
        "table": table.name(), "model": model, "prompt_hash": key, "usage": answer.usage,
    });
    tx.query(
        sql::AUDIT,
        &[
            json!(cache_id),
            json!(user.to_string()),
            json!(audited.to_string()),
        ],
    )
    .await?;
    Ok(())
}

/// The cache, then the default template; an error when neither has a summary.
async fn fallback(
    tx: &impl Tx,
    table: InsightTable,
    aggregates: &[Row],
    key: &str,
    reason: Reason,
) -> Result<Result<Response>> {
    let cached: Option<Cached> =
        query_opt(tx, sql::CACHED_SUMMARY, &[json!(table.name()), json!(key)]).await?;
    if let Some(c) = cached {
        tx.query(sql::CACHE_HIT, &[json!(c.id)]).await?;
        return Ok(Ok(Answer::fallback(
            table,
            c.summary,
            Source::Cache,
            &reason,
            Some(c.generated_at),
        )));
    }
    let template: Option<Template> = query_opt(tx, sql::LOAD_TEMPLATE, &[]).await?;
    if let Some(t) = template {
        match template::render(&t.template, table, aggregates) {
            Ok(summary) => {
                return Ok(Ok(Answer::fallback(
                    table,
                    summary,
                    Source::Template,
                    &reason,
                    None,
                )))
            }
            Err(e) => {
                log_error(
                    tx,
                    &e.to_string(),
                    json!({ "table": table.name(), "template": t.name, "version": t.version }),
                )
                .await?
            }
        }
    }
    Ok(Err(reason.into_error()))
}

async fn log_error(tx: &impl Tx, message: &str, context: Value) -> Result<()> {
    tx.query(
        sql::LOG_ERROR,
        &[json!(message), json!(context.to_string())],
    )
    .await?;
    Ok(())
}
