//! `assign-leads {lead_id}`: refreshes the lead's score and assigns it to the Sales user with
//! the lowest score-weighted open workload, with a note carrying a rationale, a notification and
//! an audit entry. Idempotent: an assigned lead keeps its owner, and only the call that assigns
//! asks the model and writes the note.
//!
//! A model call is charged and logged whatever happens after it, so a call that asks the model
//! runs in three steps, each its own transaction:
//! 1. the lead is read as the caller (RLS decides whether they may assign it), then, as
//!    `ai_agent`, scored, assigned, its owner notified and the call counted against the `leads`
//!    limits: committed before the model is asked, so the model is asked once per assignment;
//! 2. the answer's tokens and cost go to `agent_usage` as soon as it arrives;
//! 3. the note with the rationale and the audit entry. When the model's rationale cannot be
//!    written, the rule-based one is, once; the failure is logged.
//!
//! Without `ANTHROPIC_API_KEY`, or over the limit, the rule-based rationale is written in the
//! first transaction and no model is asked. A model that fails after bounded retries, or answers
//! without a rationale, also gives the rule-based one; the call stays charged.

pub mod assign;
pub mod rationale;
pub mod score;
pub mod sql;

use moha_edge::ai::{self, Anthropic, MessagesRequest, Pricing};
use moha_edge::auth::{self, Caller};
use moha_edge::db::{query_as, query_opt};
use moha_edge::retry::{RetryPolicy, SplitMix64};
use moha_edge::schedule;
use moha_edge::validate;
use moha_edge::{DbRole, Env, Error, Host, HttpRequest, Request, Response, Result, Tx};
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
    #[serde(default)]
    lead_id: Option<String>,
    /// Score the queued leads with the model (the `moha-score-leads` schedule, or the service
    /// key).
    #[serde(default)]
    score_queued: bool,
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

pub async fn handle(req: Request, env: &Env, host: &impl Host) -> Result<Response> {
    validate::require_post(&req)?;
    // The scoring job's secret opens the scoring drain and nothing else (moha_edge::schedule).
    if schedule::is_scheduled(&req, env) {
        let input: Input = validate::json_body(&req)?;
        if !input.score_queued || input.lead_id.is_some() {
            return Err(Error::Forbidden(
                "the scheduled-call secret runs the scoring drain only".into(),
            ));
        }
        return score_queued(&schedule::caller(), env, host).await;
    }
    let caller = auth::caller(&req, env, host).await?;
    let input: Input = validate::json_body(&req)?;
    let id = match (input.lead_id, input.score_queued) {
        (Some(id), false) => validate::uuid("lead_id", &id)?.to_string(),
        (None, true) => {
            if !matches!(caller, Caller::Service { .. }) {
                return Err(Error::Forbidden(
                    "the scoring drain runs on a schedule with the service key".into(),
                ));
            }
            return score_queued(&caller, env, host).await;
        }
        _ => {
            return Err(Error::BadRequest(
                "send either lead_id or score_queued: true".into(),
            ))
        }
    };

    // A user loads the lead as themselves, so RLS decides whether they may assign it.
    let (role, acting_for) = match &caller {
        Caller::User { id, .. } => (DbRole::Authenticated, json!(id.to_string())),
        Caller::Service { .. } => (DbRole::AiAgent, Value::Null),
    };
    // 1. Assign, notify and charge, committed before the model is asked.
    let step = host
        .transaction(role, caller.claims(), |tx| async move {
            assign(&tx, env, &json!(id), acting_for).await
        })
        .await??;
    match step {
        Step::Done(resp) => Ok(resp),
        Step::Ask(charged) => explain(&caller, host, &charged).await,
    }
}

/// What the first transaction decided.
enum Step {
    /// Answered without a model call (already assigned, no key, over the limit).
    Done(Response),
    /// Assigned and charged: the model is to be asked for the rationale.
    Ask(Box<Charged>),
}

/// An assignment whose model call is charged and committed.
struct Charged {
    assigned: Assigned,
    facts: Facts,
    model: String,
    pricing: Pricing,
    request: HttpRequest,
}

/// What the note, the audit entry and the answer need.
struct Assigned {
    lead_id: String,
    owner: Uuid,
    score: Option<i64>,
    acting_for: Value,
}

impl Assigned {
    fn answer(&self, rationale: Option<&Rationale>) -> Response {
        let mut body =
            json!({ "lead_id": self.lead_id, "assigned_to": self.owner, "score": self.score });
        if let Some(r) = rationale {
            body["rationale"] = json!(r.text());
            body["rationale_fallback"] = json!(r.is_fallback());
        }
        Response::json(200, &body)
    }
}

async fn assign(tx: &impl Tx, env: &Env, id: &Value, acting_for: Value) -> Result<Step> {
    let lead: Option<Lead> = query_opt(tx, sql::LOAD_LEAD, std::slice::from_ref(id)).await?;
    let lead = lead.ok_or_else(|| Error::NotFound("lead not found".into()))?;
    tx.query(sql::AS_AGENT, &[]).await?;
    // A stale model score (none, older than the newest note or a month) queues the lead for
    // the scoring drain: the model is not asked while the caller waits.
    let score = tx
        .query(sql::UPDATE_SCORE_AND_QUEUE, std::slice::from_ref(id))
        .await?
        .first()
        .and_then(|r| r.get("score"))
        .and_then(Value::as_i64);
    let assigned = |owner: Uuid| Assigned {
        lead_id: lead.id.clone(),
        owner,
        score,
        acting_for: acting_for.clone(),
    };
    // Already assigned: nothing else to decide (repeated calls are harmless and cheap).
    if let Some(owner) = lead.assigned_to {
        return Ok(Step::Done(assigned(owner).answer(None)));
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
        return Ok(Step::Done(assigned(owner).answer(None)));
    }
    let assigned = assigned(owner);

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
    // The notification does not depend on the answer: written before the model is asked, so
    // its failure costs no call.
    let data = json!({ "lead_id": lead.id }).to_string();
    tx.query(sql::NOTIFY, &[json!(owner.to_string()), json!(data)])
        .await?;

    if env.optional_secret("ANTHROPIC_API_KEY").is_none() {
        let rationale = Rationale::fallback(&facts, FallbackReason::NoModel);
        write(tx, &assigned, &rationale).await?;
        return Ok(Step::Done(assigned.answer(Some(&rationale))));
    }
    tx.query(sql::SAVEPOINT, &[]).await?;
    if let Err(e) = tx
        .query(sql::COUNT_CALL, std::slice::from_ref(&assigned.acting_for))
        .await
    {
        if e.sqlstate.as_deref() != Some(sql::OVER_LIMIT) {
            return Err(e.into());
        }
        tx.query(sql::ROLLBACK_TO_SAVEPOINT, &[]).await?;
        let rationale = Rationale::fallback(&facts, FallbackReason::OverLimit);
        write(tx, &assigned, &rationale).await?;
        return Ok(Step::Done(assigned.answer(Some(&rationale))));
    }
    // Everything the call needs, while a failure still rolls the charge back.
    let model = env
        .var_or("LEADS_MODEL", rationale::DEFAULT_MODEL)
        .to_string();
    let pricing = leads_pricing(env)?;
    let request = Anthropic::from_env(env)?
        .build(&MessagesRequest {
            model: model.clone(),
            max_tokens: rationale::MAX_TOKENS,
            system: Some(rationale::SYSTEM.into()),
            text: rationale::prompt(&facts),
            image: None,
        })
        .timeout_ms(rationale::TIMEOUT_MS);
    Ok(Step::Ask(Box::new(Charged {
        assigned,
        facts,
        model,
        pricing,
        request,
    })))
}

/// The lead model's prices: `LEADS_USD_PER_MTOK_INPUT` and `_OUTPUT`, each defaulting to
/// Claude Haiku 4.5's list price. The names are literal so the check against `.env.example`
/// sees them.
fn leads_pricing(env: &Env) -> Result<Pricing> {
    let default = Pricing::CLAUDE_HAIKU_4_5;
    Ok(Pricing {
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
    })
}

/// 2. and 3.: the charged call, its usage at once, then the note. Every failure is logged.
async fn explain(caller: &Caller, host: &impl Host, charged: &Charged) -> Result<Response> {
    let assigned = &charged.assigned;
    let mut rng = SplitMix64::new(host.seed());
    let answer = RetryPolicy::default()
        .run(host, &mut rng, |_| async {
            let resp = host
                .fetch(charged.request.clone())
                .await
                .map_err(|e| ai::transport(Anthropic::PROVIDER, e))?;
            Anthropic::parse(&resp)
        })
        .await;
    // Failures to log, with their context.
    let mut failures = Vec::new();
    let mut rationale = match answer {
        Ok(ok) => {
            let tokens = ok.usage.input_tokens + ok.usage.output_tokens;
            let cost = charged.pricing.cost_usd(ok.usage);
            let params = [assigned.acting_for.clone(), json!(tokens), json!(cost)];
            if let Err(e) = in_own_tx(caller, host, sql::LOG_USAGE, &params).await {
                let context =
                    json!({ "lead_id": assigned.lead_id, "tokens": tokens, "cost": cost });
                failures.push((format!("the call's usage was not recorded: {e}"), context));
            }
            match rationale::from_answer(&ok.text) {
                Some(text) => Rationale::Model {
                    model: charged.model.clone(),
                    text,
                },
                None => {
                    let context = json!({ "lead_id": assigned.lead_id, "attempts": 1 });
                    failures.push(("the model's answer held no rationale".into(), context));
                    Rationale::fallback(&charged.facts, FallbackReason::UnusableAnswer)
                }
            }
        }
        Err((e, attempts)) => {
            let context = json!({ "lead_id": assigned.lead_id, "attempts": attempts });
            failures.push((e.to_string(), context));
            Rationale::fallback(&charged.facts, FallbackReason::ModelUnavailable)
        }
    };

    // The note, with the failures so far. When it cannot be written, the rule-based note is
    // tried once (a failing rule-based note would fail again).
    loop {
        let written = host
            .transaction(DbRole::AiAgent, caller.claims(), |tx| {
                let (failures, rationale) = (&failures, &rationale);
                async move {
                    log_errors(&tx, failures).await?;
                    write(&tx, assigned, rationale).await
                }
            })
            .await?;
        let Err(e) = written else {
            return Ok(assigned.answer(Some(&rationale)));
        };
        let context = json!({ "lead_id": assigned.lead_id });
        failures.push((format!("the rationale could not be written: {e}"), context));
        if rationale.is_fallback() {
            let failures = &failures;
            host.transaction(DbRole::AiAgent, caller.claims(), |tx| async move {
                log_errors(&tx, failures).await
            })
            .await??;
            return Err(e);
        }
        rationale = Rationale::fallback(&charged.facts, FallbackReason::AnswerNotStored);
    }
}

/// The note with the rationale, and the assignment as one agent action.
async fn write(tx: &impl Tx, assigned: &Assigned, rationale: &Rationale) -> Result<()> {
    let id = json!(assigned.lead_id);
    tx.query(
        sql::NOTE,
        &[id.clone(), json!(rationale.note(assigned.score))],
    )
    .await?;
    let decided = json!({
        "assigned_to": assigned.owner, "score": assigned.score,
        "rationale_fallback": rationale.is_fallback(),
    });
    tx.query(
        sql::AUDIT,
        &[id, assigned.acting_for.clone(), json!(decided.to_string())],
    )
    .await?;
    Ok(())
}

async fn log_errors(tx: &impl Tx, failures: &[(String, Value)]) -> Result<()> {
    for (message, context) in failures {
        tx.query(
            sql::LOG_ERROR,
            &[json!(message), json!(context.to_string())],
        )
        .await?;
    }
    Ok(())
}

/// One statement as the agent, committed on its own.
async fn in_own_tx(
    caller: &Caller,
    host: &impl Host,
    statement: &'static str,
    params: &[Value],
) -> Result<()> {
    host.transaction(DbRole::AiAgent, caller.claims(), |tx| async move {
        tx.query(statement, params).await
    })
    .await??;
    Ok(())
}

// ------------------------------------------------------------ the model score (issue 20)

#[derive(Debug, Deserialize)]
struct Queued {
    lead_id: String,
}

#[derive(Debug, Deserialize)]
struct FactsRow {
    source: String,
    status: String,
    age_days: i64,
    assigned: bool,
}

/// `{"score_queued": true}`: scores up to [`score::BATCH`] queued leads, each in three steps
/// like the assignment's call (charge committed before the call, usage at once, then the
/// score), and answers with what became of each.
async fn score_queued(caller: &Caller, env: &Env, host: &impl Host) -> Result<Response> {
    let queued: Vec<Queued> = host
        .transaction(DbRole::AiAgent, caller.claims(), |tx| async move {
            query_as(&tx, sql::CLAIM_QUEUED, &[json!(score::BATCH)]).await
        })
        .await??;
    let mut scored = Vec::new();
    for lead in queued {
        let outcome = match score_lead(caller, env, host, &lead.lead_id).await {
            Ok(v) => v,
            Err(e) => json!({ "lead_id": lead.lead_id, "outcome": "error", "code": e.code() }),
        };
        scored.push(outcome);
    }
    Ok(Response::json(200, &json!({ "scored": scored })))
}

/// A scoring call charged and committed.
struct ScoreCall {
    model: String,
    pricing: Pricing,
    request: HttpRequest,
}

/// Why a lead kept its rule score.
fn rule_score(lead_id: &str, reason: &str, score: Option<i64>) -> Value {
    json!({ "lead_id": lead_id, "outcome": "rule_score", "reason": reason, "score": score })
}

async fn score_lead(caller: &Caller, env: &Env, host: &impl Host, id: &str) -> Result<Value> {
    // 1. Facts and charge, committed before the call.
    let prepared = host
        .transaction(DbRole::AiAgent, caller.claims(), |tx| async move {
            prepare_score(&tx, env, id).await
        })
        .await??;
    let call = match prepared {
        Ok(call) => call,
        Err(answer) => return Ok(answer),
    };

    // 2. The call, no transaction open; its usage is recorded as soon as it answers.
    let mut rng = SplitMix64::new(host.seed());
    let answer = RetryPolicy::default()
        .run(host, &mut rng, |_| async {
            let resp = host
                .fetch(call.request.clone())
                .await
                .map_err(|e| ai::transport(Anthropic::PROVIDER, e))?;
            Anthropic::parse(&resp)
        })
        .await;
    let mut failures = Vec::new();
    let accepted = match answer {
        Ok(ok) => {
            let tokens = ok.usage.input_tokens + ok.usage.output_tokens;
            let cost = call.pricing.cost_usd(ok.usage);
            if let Err(e) = in_own_tx(
                caller,
                host,
                sql::LOG_SCORING_USAGE,
                &[json!(tokens), json!(cost)],
            )
            .await
            {
                let context = json!({ "lead_id": id, "tokens": tokens, "cost": cost });
                failures.push((
                    format!("the scoring call's usage was not recorded: {e}"),
                    context,
                ));
            }
            match score::parse(&ok.text) {
                Ok(s) => Some(s),
                Err(refused) => {
                    failures.push((
                        format!("the model's lead score was refused: {refused}"),
                        json!({ "lead_id": id }),
                    ));
                    None
                }
            }
        }
        Err((e, attempts)) => {
            failures.push((
                e.to_string(),
                json!({ "lead_id": id, "attempts": attempts }),
            ));
            None
        }
    };

    // 3. The model's score and the blended score; without one, the rule score.
    if let Some(s) = &accepted {
        let written = host
            .transaction(DbRole::AiAgent, caller.claims(), |tx| {
                let (failures, model) = (&failures, &call.model);
                async move {
                    log_errors(&tx, failures).await?;
                    let params = [json!(id), json!(s.score), json!(s.rationale), json!(model)];
                    tx.query(sql::INSERT_MODEL_SCORE, &params).await?;
                    blended(&tx, id).await
                }
            })
            .await?;
        match written {
            Ok(score) => {
                return Ok(json!({ "lead_id": id, "outcome": "model_score",
                                  "model_score": s.score, "score": score }));
            }
            Err(e) => {
                failures.push((
                    format!("the model's lead score could not be stored: {e}"),
                    json!({ "lead_id": id }),
                ));
            }
        }
    }
    let failures = &failures;
    let score = host
        .transaction(DbRole::AiAgent, caller.claims(), |tx| async move {
            log_errors(&tx, failures).await?;
            blended(&tx, id).await
        })
        .await??;
    let reason = if accepted.is_some() {
        "not_stored"
    } else {
        "unusable_or_unavailable"
    };
    Ok(rule_score(id, reason, score))
}

/// `update_lead_score`, which blends in the latest model score.
async fn blended(tx: &impl Tx, id: &str) -> Result<Option<i64>> {
    Ok(tx
        .query(sql::UPDATE_SCORE, &[json!(id)])
        .await?
        .first()
        .and_then(|r| r.get("score"))
        .and_then(Value::as_i64))
}

/// Reads the facts and charges the call; `Ok(Err(answer))` when the lead keeps its rule score
/// without a call (gone, no key, over the limit).
async fn prepare_score(
    tx: &impl Tx,
    env: &Env,
    id: &str,
) -> Result<std::result::Result<ScoreCall, Value>> {
    let row: Option<FactsRow> = query_opt(tx, sql::LEAD_FACTS, &[json!(id)]).await?;
    let Some(row) = row else {
        return Ok(Err(json!({ "lead_id": id, "outcome": "gone" })));
    };
    if env.optional_secret("ANTHROPIC_API_KEY").is_none() {
        let score = blended(tx, id).await?;
        return Ok(Err(rule_score(id, "no_model", score)));
    }
    tx.query(sql::SAVEPOINT, &[]).await?;
    if let Err(e) = tx.query(sql::COUNT_SCORING, &[]).await {
        if e.sqlstate.as_deref() != Some(sql::OVER_LIMIT) {
            return Err(e.into());
        }
        tx.query(sql::ROLLBACK_TO_SAVEPOINT, &[]).await?;
        let score = blended(tx, id).await?;
        return Ok(Err(rule_score(id, "over_limit", score)));
    }
    let notes: Vec<Value> =
        query_as(tx, sql::LEAD_NOTES, &[json!(id), json!(score::MAX_NOTES)]).await?;
    let facts = score::LeadFacts {
        source: row.source,
        status: row.status,
        age_days: row.age_days,
        assigned: row.assigned,
        notes: notes
            .iter()
            .filter_map(|n| n.get("note").and_then(Value::as_str).map(str::to_string))
            .collect(),
    };
    let model = env
        .var_or("LEADS_MODEL", rationale::DEFAULT_MODEL)
        .to_string();
    let pricing = leads_pricing(env)?;
    let request = Anthropic::from_env(env)?
        .build(&MessagesRequest {
            model: model.clone(),
            max_tokens: score::MAX_TOKENS,
            system: Some(score::SYSTEM.into()),
            text: score::prompt(&facts),
            image: None,
        })
        .timeout_ms(score::TIMEOUT_MS);
    Ok(Ok(ScoreCall {
        model,
        pricing,
        request,
    }))
}
