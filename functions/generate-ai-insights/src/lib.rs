//! `generate-ai-insights {table_name}`: an Admin-only AI summary of one allow-listed table.
//! Aggregates are computed in SQL; only they and a small sample stripped of emails and phone
//! numbers go to the model. No SQL is ever built from the input: the table name selects one of
//! the constant statements in [`tables`].

pub mod pii;
pub mod tables;

use moha_edge::ai::{cache_key, Anthropic, MessagesRequest};
use moha_edge::auth;
use moha_edge::db::query_opt;
use moha_edge::retry::{RetryPolicy, SplitMix64};
use moha_edge::validate;
use moha_edge::{DbRole, Env, Error, Host, Method, Request, Response, Result, Tx};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::tables::InsightTable;

#[cfg(target_arch = "wasm32")]
moha_edge::export_handler!(crate::handle);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    table_name: String,
}

pub async fn handle(req: Request, env: &Env, host: &impl Host) -> Response {
    if req.method == Method::Options {
        return validate::preflight();
    }
    moha_edge::respond(run(req, env, host).await)
}

async fn run(req: Request, env: &Env, host: &impl Host) -> Result<Response> {
    validate::require_post(&req)?;
    let caller = auth::caller(&req, env, host).await?;
    let input: Input = validate::json_body(&req)?;
    let table = InsightTable::parse(&input.table_name)?;

    let tx = host.begin(DbRole::Authenticated, caller.claims()).await?;
    let result = summarise(&tx, env, host, table).await;
    match result {
        Ok(r) => {
            tx.commit().await?;
            Ok(r)
        }
        Err(e) => {
            tx.rollback().await?;
            Err(e)
        }
    }
}

async fn summarise(
    tx: &impl Tx,
    env: &Env,
    host: &impl Host,
    table: InsightTable,
) -> Result<Response> {
    let admin: Option<Value> = query_opt(tx, tables::IS_ADMIN, &[]).await?;
    if admin.and_then(|r| r.get("is_admin").and_then(Value::as_bool)) != Some(true) {
        return Err(Error::Forbidden("insights are for admins only".into()));
    }
    let aggregates = tx.query(table.aggregate_sql(), &[]).await?;
    let sample = tx.query(table.sample_sql(), &[]).await?;
    let sample = pii::scrub_rows(sample);
    let prompt = tables::prompt(table, &aggregates, &sample);
    let model = env
        .var_or("INSIGHTS_MODEL", "claude-sonnet-4-5")
        .to_string();
    let key = cache_key(Anthropic::PROVIDER, &model, &prompt);
    let client = Anthropic::from_env(env)?;
    let request = MessagesRequest {
        model: model.clone(),
        max_tokens: 800,
        system: Some(tables::SYSTEM.into()),
        text: prompt,
        image: None,
    };
    let mut rng = SplitMix64::new(host.seed());
    match RetryPolicy::default()
        .run(host, &mut rng, |_| client.messages(host, &request))
        .await
    {
        Ok(answer) => {
            let cached = json!({ "summary": answer.text }).to_string();
            tx.query(
                tables::STORE_CACHE,
                &[json!(key), json!(model), json!(cached)],
            )
            .await?;
            Ok(Response::json(
                200,
                &json!({ "table": table.name(), "summary": answer.text, "fallback": false }),
            ))
        }
        Err((err, _)) => {
            let cached: Option<Value> =
                query_opt(tx, tables::CACHED, &[json!(key), json!(model)]).await?;
            match cached.and_then(|r| r.get("summary").and_then(Value::as_str).map(str::to_string))
            {
                Some(summary) => Ok(Response::json(
                    200,
                    &json!({ "table": table.name(), "summary": summary, "fallback": true }),
                )),
                None => Err(err.into()),
            }
        }
    }
}
