//! `assign-leads {lead_id}`: refreshes the lead's score and assigns it to the Sales user with
//! the lowest score-weighted open workload, with a note carrying a rationale, a notification and
//! an audit entry. Idempotent: an assigned lead keeps its owner, and only the call that assigns
//! asks the model and writes the note.
//!
//! One transaction per request: the lead is read as the caller (RLS decides whether they may
//! assign it), then the same transaction continues as `ai_agent` for the writes. The rationale
//! comes from the model when `ANTHROPIC_API_KEY` is set and the `leads` agent's limit allows the
//! call; otherwise, or when the model fails after bounded retries, it is built from the score
//! factors and marked as fallback.

pub mod assign;
pub mod rationale;
pub mod sql;

use moha_edge::ai::{self, Anthropic, MessagesRequest, Pricing};
use moha_edge::auth::{self, Caller};
use moha_edge::db::{query_as, query_opt};
use moha_edge::retry::{RetryPolicy, SplitMix64};
use moha_edge::validate;
use moha_edge::{DbRole, Env, Error, Host, Method, Request, Response, Result, Tx};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::assign::SalesLoad;
use crate::rationale::{Factors, Facts, FallbackReason, Rationale};

#[cfg(target_arch = "wasm32")]
moha_edge::export_handler!(crate::handle);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    lead_id: String,
}

#[derive(Debug, Deserialize)]
struct Lead {
    id: String,
    assigned_to: Option<Uuid>,
    status: String,
    source: String,
}

#[derive(Debug, Deserialize)]
struct Owner {
    assigned_to: Option<Uuid>,
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
    let id = json!(validate::uuid("lead_id", &input.lead_id)?.to_string());

    // A user loads the lead as themselves, so RLS decides whether they may assign it.
    let (role, acting_for) = match &caller {
        Caller::User { id, .. } => (DbRole::Authenticated, json!(id.to_string())),
        Caller::Service { .. } => (DbRole::AiAgent, Value::Null),
    };
    let tx = host.begin(role, caller.claims()).await?;
    match assign(&tx, env, host, &id, acting_for).await {
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

async fn assign(
    tx: &impl Tx,
    env: &Env,
    host: &impl Host,
    id: &Value,
    acting_for: Value,
) -> Result<Response> {
    let lead: Option<Lead> = query_opt(tx, sql::LOAD_LEAD, std::slice::from_ref(id)).await?;
    let lead = lead.ok_or_else(|| Error::NotFound("lead not found".into()))?;
    tx.query(sql::AS_AGENT, &[]).await?;
    let score = tx
        .query(sql::UPDATE_SCORE, std::slice::from_ref(id))
        .await?
        .first()
        .and_then(|r| r.get("score"))
        .and_then(Value::as_i64);
    let answer = |owner: Uuid| json!({ "lead_id": lead.id, "assigned_to": owner, "score": score });
    // Already assigned: nothing else to decide (repeated calls are harmless and cheap).
    if let Some(owner) = lead.assigned_to {
        return Ok(Response::json(200, &answer(owner)));
    }
    let loads: Vec<SalesLoad> = query_as(tx, sql::SALES_WORKLOAD, std::slice::from_ref(id)).await?;
    let owner = assign::choose(&loads)
        .ok_or_else(|| Error::Conflict("no Sales user exists to assign the lead to".into()))?;
    let claimed = tx
        .query(sql::ASSIGN, &[id.clone(), json!(owner.to_string())])
        .await?;
    if claimed.is_empty() {
        // A concurrent call assigned it first; its choice (and its note) stand.
        let now: Option<Owner> = query_opt(tx, sql::OWNER, std::slice::from_ref(id)).await?;
        let owner = now
            .and_then(|l| l.assigned_to)
            .ok_or_else(|| Error::Conflict("lead changed concurrently; try again".into()))?;
        return Ok(Response::json(200, &answer(owner)));
    }

    let recorded: Option<Value> =
        query_opt(tx, sql::SCORE_FACTORS, std::slice::from_ref(id)).await?;
    let facts = Facts {
        source: lead.source.clone(),
        status: lead.status.clone(),
        score,
        factors: Factors::parse(
            recorded
                .as_ref()
                .and_then(|r| r.get("rationale"))
                .and_then(Value::as_str),
        ),
        owner_open_leads: loads
            .iter()
            .find(|l| l.user_id == owner)
            .map_or(0, |l| l.open_scores.len()),
        sales_users: loads.len(),
    };
    let rationale = explain(tx, env, host, &lead, &facts, &acting_for).await?;
    tx.query(sql::NOTE, &[id.clone(), json!(rationale.note(score))])
        .await?;
    let data = json!({ "lead_id": lead.id }).to_string();
    tx.query(sql::NOTIFY, &[json!(owner.to_string()), json!(data)])
        .await?;
    let decided = json!({
        "assigned_to": owner, "score": score, "rationale_fallback": rationale.is_fallback(),
    });
    tx.query(
        sql::AUDIT,
        &[id.clone(), acting_for, json!(decided.to_string())],
    )
    .await?;
    let mut body = answer(owner);
    body["rationale"] = json!(rationale.text());
    body["rationale_fallback"] = json!(rationale.is_fallback());
    Ok(Response::json(200, &body))
}

/// The rationale for a new assignment: the model's when a key is set and the limit allows the
/// call, else the deterministic one. A failed or refused call is not charged.
async fn explain(
    tx: &impl Tx,
    env: &Env,
    host: &impl Host,
    lead: &Lead,
    facts: &Facts,
    acting_for: &Value,
) -> Result<Rationale> {
    if env.optional_secret("ANTHROPIC_API_KEY").is_none() {
        return Ok(Rationale::fallback(facts, FallbackReason::NoModel));
    }
    tx.query(sql::SAVEPOINT, &[]).await?;
    if let Err(e) = tx
        .query(sql::COUNT_CALL, std::slice::from_ref(acting_for))
        .await
    {
        if e.sqlstate.as_deref() != Some(sql::OVER_LIMIT) {
            return Err(e.into());
        }
        tx.query(sql::ROLLBACK_TO_SAVEPOINT, &[]).await?;
        return Ok(Rationale::fallback(facts, FallbackReason::OverLimit));
    }

    let model = env
        .var_or("LEADS_MODEL", rationale::DEFAULT_MODEL)
        .to_string();
    let default = Pricing::CLAUDE_HAIKU_4_5;
    let pricing = Pricing {
        input_per_mtok: Pricing::price(
            "LEADS_USD_PER_MTOK_INPUT",
            env.var("LEADS_USD_PER_MTOK_INPUT").ok(),
            default.input_per_mtok,
        )?,
        output_per_mtok: Pricing::price(
            "LEADS_USD_PER_MTOK_OUTPUT",
            env.var("LEADS_USD_PER_MTOK_OUTPUT").ok(),
            default.output_per_mtok,
        )?,
    };
    let request = Anthropic::from_env(env)?.build(&MessagesRequest {
        model: model.clone(),
        max_tokens: rationale::MAX_TOKENS,
        system: Some(rationale::SYSTEM.into()),
        text: rationale::prompt(facts),
        image: None,
    });
    let request = request.timeout_ms(rationale::TIMEOUT_MS);
    let mut rng = SplitMix64::new(host.seed());
    let answer = RetryPolicy::default()
        .run(host, &mut rng, |_| async {
            let resp = host
                .fetch(request.clone())
                .await
                .map_err(|e| ai::transport(Anthropic::PROVIDER, e))?;
            Anthropic::parse(&resp)
        })
        .await;
    let (reason, message, attempts) = match answer {
        Ok(ok) => match rationale::from_answer(&ok.text) {
            Some(text) => {
                let tokens = ok.usage.input_tokens + ok.usage.output_tokens;
                tx.query(
                    sql::LOG_USAGE,
                    &[
                        acting_for.clone(),
                        json!(tokens),
                        json!(pricing.cost_usd(ok.usage)),
                    ],
                )
                .await?;
                return Ok(Rationale::Model { model, text });
            }
            None => (
                FallbackReason::UnusableAnswer,
                "the model's answer held no rationale".to_string(),
                1,
            ),
        },
        Err((e, attempts)) => (FallbackReason::ModelUnavailable, e.to_string(), attempts),
    };
    // Nothing is charged for a call without a usable answer.
    tx.query(sql::ROLLBACK_TO_SAVEPOINT, &[]).await?;
    let context = json!({ "lead_id": lead.id, "attempts": attempts }).to_string();
    tx.query(sql::LOG_ERROR, &[json!(message), json!(context)])
        .await?;
    Ok(Rationale::fallback(facts, reason))
}
