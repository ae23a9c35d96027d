//! `process-render-request {request_id}`: renders one job with the image model;
//! `{drain: true}` (the service key, or the scheduled-call secret of the `moha-drain-renders` job)
//! runs the queued jobs whose time has come.
//!
//! The caller must be able to see the job (RLS: owner, or Designer/Admin). A run has three
//! steps, each in its own transaction, so a charge is never rolled back by what fails after
//! the model call:
//! 1. claim the job, build the prompt, read the input, count the run against the limits
//!    (`increment_render_counter`, which also refuses an owner who may not spend) and in
//!    `attempts`: committed before the model is called;
//! 2. call the model, then record the answer's tokens at once;
//! 3. write the output and the result, notify the owner.
//!
//! A run that ends without a result (no answer, an answer without an image, a failed write)
//! stays charged, is logged, and re-queues the job with a growing delay; its fifth run fails it
//! for good. Over the limit, the job is re-queued uncharged. An owner who may not spend gets no
//! model call: the job is `failed`, uncharged.
//!
//! The input is read as the caller (their access token), so the `storage.objects` policies
//! decide which input a caller may render; a drain has no caller and uses the service key. The
//! output is written by the function itself, with the service key, so nothing a caller does to
//! their folder (an object planted at the output's name) makes the write fail. The names are
//! therefore checked here: both lie in the owner's folder, the input comes from the job's row
//! and the output's name is the function's own.

pub mod prompt;
pub mod sql;

use moha_edge::ai::{
    cache_key, Gemini, GenerateRequest, GenerateResponse, InlineImage, Pricing, Usage,
};
use moha_edge::auth::{self, Caller};
use moha_edge::db::{query_as, query_opt};
use moha_edge::retry::{RetryPolicy, SplitMix64};
use moha_edge::rows::RenderParametersRow;
use moha_edge::schedule;
use moha_edge::storage::{Identity, Storage};
use moha_edge::validate;
use moha_edge::{DbRole, Env, Error, Host, Request, Response, Result, Secret, Tx};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::prompt::{AfterFailure, Start};

#[cfg(target_arch = "wasm32")]
moha_edge::export_handler!(crate::handle);

/// Jobs one drain call runs at most.
const DRAIN_BATCH: i64 = 10;

/// Output tokens of one image up to 1024x1024 (Gemini 2.5 Flash Image): what a render is billed
/// for at least, whatever else happens, so its cost is reserved against `max_cost` before the
/// call.
pub const IMAGE_OUTPUT_TOKENS: u64 = 1290;

/// The image model's prices: `RENDER_USD_PER_MTOK_INPUT` and `_OUTPUT`, each defaulting to
/// Gemini 2.5 Flash Image's list price; set both when the jobs use another model. The names
/// are literal so the check against `.env.example` sees them.
pub fn pricing(env: &Env) -> Result<Pricing> {
    let default = Pricing::GEMINI_2_5_FLASH_IMAGE;
    Ok(Pricing {
        input_per_mtok: Pricing::price(
            "RENDER_USD_PER_MTOK_INPUT",
            env.var("RENDER_USD_PER_MTOK_INPUT").ok(),
            default.input_per_mtok,
        )?,
        output_per_mtok: Pricing::price(
            "RENDER_USD_PER_MTOK_OUTPUT",
            env.var("RENDER_USD_PER_MTOK_OUTPUT").ok(),
            default.output_per_mtok,
        )?,
    })
}

/// The least a render costs: its image's output tokens.
pub fn reserve_usd(pricing: &Pricing) -> String {
    pricing.cost_usd(Usage {
        input_tokens: 0,
        output_tokens: IMAGE_OUTPUT_TOKENS,
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    #[serde(default)]
    request_id: Option<String>,
    #[serde(default)]
    drain: bool,
}

#[derive(Debug, Clone, Deserialize)]
struct Job {
    id: String,
    user_id: String,
    project_id: Option<String>,
    input_file_path: String,
    model: String,
    status: String,
    /// Runs made so far.
    attempts: i64,
    retry_at_ms: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct Stored {
    output_file_path: String,
    is_fallback: bool,
}

pub async fn handle(req: Request, env: &Env, host: &impl Host) -> Result<Response> {
    validate::require_post(&req)?;
    // The drain job's secret opens the drain and nothing else (see moha_edge::schedule).
    if schedule::is_scheduled(&req, env) {
        let input: Input = validate::json_body(&req)?;
        if !input.drain || input.request_id.is_some() {
            return Err(Error::Forbidden(
                "the scheduled-call secret runs the drain only".into(),
            ));
        }
        return drain(&schedule::caller(), env, host).await;
    }
    let caller = auth::caller(&req, env, host).await?;
    let input: Input = validate::json_body(&req)?;
    let identity = match (&caller, req.bearer_token()) {
        (Caller::User { .. }, Some(token)) => Identity::Caller(Secret::new(token)),
        _ => Identity::Service,
    };
    match (input.request_id, input.drain) {
        (Some(id), false) => {
            let id = validate::uuid("request_id", &id)?.to_string();
            one(&caller, identity, env, host, &id).await
        }
        (None, true) => {
            if !matches!(caller, Caller::Service { .. }) {
                return Err(Error::Forbidden(
                    "drain runs on a schedule with the service key".into(),
                ));
            }
            drain(&caller, env, host).await
        }
        _ => Err(Error::BadRequest(
            "send either request_id or drain: true".into(),
        )),
    }
}

async fn one(
    caller: &Caller,
    identity: Identity,
    env: &Env,
    host: &impl Host,
    id: &str,
) -> Result<Response> {
    // A user loads the job as themselves, so RLS decides whether they may run it.
    let role = match caller {
        Caller::User { .. } => DbRole::Authenticated,
        Caller::Service { .. } => DbRole::AiAgent,
    };
    let job: Option<Job> = host
        .transaction(role, caller.claims(), |tx| async move {
            query_opt(&tx, sql::LOAD_REQUEST, &[json!(id)]).await
        })
        .await??;
    let job = job.ok_or_else(|| Error::NotFound("render request not found".into()))?;
    match prompt::start(&job.status, job.attempts) {
        Start::Run => render_job(caller, identity, env, host, &job).await,
        other => answer_for(caller, host, &job, other).await,
    }
}

async fn drain(caller: &Caller, env: &Env, host: &impl Host) -> Result<Response> {
    let due: Vec<Job> = host
        .transaction(DbRole::AiAgent, caller.claims(), |tx| async move {
            let params = [json!(DRAIN_BATCH), json!(prompt::MAX_ATTEMPTS)];
            query_as(&tx, sql::DUE_REQUESTS, &params).await
        })
        .await??;
    let mut ran = Vec::new();
    for job in due {
        let outcome = match render_job(caller, Identity::Service, env, host, &job).await {
            Ok(resp) => serde_json::from_slice::<Value>(&resp.body).unwrap_or(Value::Null),
            Err(e) => json!({ "request_id": job.id, "status": "error", "code": e.code() }),
        };
        ran.push(outcome);
    }
    Ok(Response::json(200, &json!({ "drained": ran })))
}

fn status(code: u16, id: &str, status: &str) -> Response {
    Response::json(code, &json!({ "request_id": id, "status": status }))
}

/// The answer for a job this call does not run.
async fn answer_for(
    caller: &Caller,
    host: &impl Host,
    job: &Job,
    start: Start,
) -> Result<Response> {
    match start {
        Start::AlreadyDone => done(caller, host, &job.id).await,
        Start::Cancelled => Err(Error::Conflict("render request was cancelled".into())),
        Start::Exhausted => Err(Error::Conflict(format!(
            "render request failed after {} runs",
            job.attempts
        ))),
        Start::InProgress => Ok(status(202, &job.id, "processing")),
        // Open but not claimable: waiting for its retry time.
        Start::Run => Ok(match job.retry_at_ms {
            Some(at) if job.status == "queued" => queued(&job.id, at.max(0.0) as u64),
            _ => status(202, &job.id, "processing"),
        }),
    }
}

/// The answer for a finished job: its stored result.
async fn done(caller: &Caller, host: &impl Host, id: &str) -> Result<Response> {
    let stored: Option<Stored> = host
        .transaction(DbRole::AiAgent, caller.claims(), |tx| async move {
            query_opt(&tx, sql::LOAD_RESULT, &[json!(id)]).await
        })
        .await??;
    Ok(match stored {
        Some(s) => Response::json(
            200,
            &json!({ "request_id": id, "status": "succeeded",
                     "output_file_path": s.output_file_path, "fallback": s.is_fallback }),
        ),
        None => status(200, id, "succeeded"),
    })
}

/// A name in the owner's folder of the `renders` bucket.
fn in_owner_folder(job: &Job, name: &str) -> bool {
    name.strip_prefix(&format!("{}/", job.user_id))
        .is_some_and(|rest| !rest.is_empty())
        && moha_edge::storage::valid_object_name(name)
}

/// A run that is charged and about to call the model.
struct Charged {
    request: GenerateRequest,
    gemini: Gemini,
    pricing: Pricing,
    key: String,
    /// Reads as the caller (the service key for a drain).
    reader: Storage,
    /// Writes as the function itself.
    writer: Storage,
    /// Runs made, this one included.
    runs: u32,
}

enum Claim {
    Run(Box<Charged>),
    /// Settled without a model call; commit and answer.
    Answer(Result<Response>),
    NotClaimed,
}

async fn render_job(
    caller: &Caller,
    identity: Identity,
    env: &Env,
    host: &impl Host,
    job: &Job,
) -> Result<Response> {
    // 1. Claim and charge, committed before the model is called.
    let claimed = host
        .transaction(DbRole::AiAgent, caller.claims(), |tx| async move {
            match claim(&tx, identity, env, host, job).await {
                // Rolled back like a failure: nothing of it is kept.
                Ok(Claim::NotClaimed) => Err(None),
                claimed => claimed.map_err(Some),
            }
        })
        .await?;
    let run = match claimed {
        Ok(Claim::Run(run)) => run,
        Ok(Claim::Answer(answer)) => return answer,
        Err(Some(e)) => return Err(e),
        Ok(Claim::NotClaimed) | Err(None) => {
            // Another call had it, or it waits for its retry time: answer with its state.
            let now: Option<Job> = host
                .transaction(DbRole::AiAgent, caller.claims(), |tx| async move {
                    query_opt(&tx, sql::LOAD_REQUEST, &[json!(job.id)]).await
                })
                .await??;
            let now = now.ok_or_else(|| Error::NotFound("render request not found".into()))?;
            return answer_for(caller, host, &now, prompt::start(&now.status, now.attempts)).await;
        }
    };

    // 2. The model call. No transaction is open while it runs.
    let mut rng = SplitMix64::new(host.seed());
    let answer = RetryPolicy::default()
        .run(host, &mut rng, |_| run.gemini.generate(host, &run.request))
        .await;

    // 3. Settle. Every way out keeps the charge; a failure is logged and re-queues or fails.
    let settled = match answer {
        Ok(ok) => with_answer(caller, host, job, &run, ok).await,
        Err((err, calls)) => without_answer(caller, host, job, &run, err.to_string(), calls).await,
    };
    match settled {
        Ok(resp) => Ok(resp),
        Err(failed) => after_failed_run(caller, host, job, &run, failed).await,
    }
}

/// Claims the job, charges the run, and prepares everything the call needs. Anything that
/// fails here rolls back: no model call was made, nothing is charged. The limits and the
/// owner's eligibility are checked first, so a refusal costs no Storage read.
async fn claim(
    tx: &impl Tx,
    identity: Identity,
    env: &Env,
    host: &impl Host,
    job: &Job,
) -> Result<Claim> {
    let id = json!(job.id);
    if tx
        .query(
            sql::CLAIM_REQUEST,
            &[id.clone(), json!(prompt::MAX_ATTEMPTS)],
        )
        .await?
        .is_empty()
    {
        return Ok(Claim::NotClaimed);
    }
    if !in_owner_folder(job, &job.input_file_path) {
        return Err(Error::BadRequest(
            "the job's input file must lie in its owner's folder of the renders bucket".into(),
        ));
    }
    let pricing = pricing(env)?;
    tx.query(sql::SAVEPOINT, &[]).await?;
    // The job's project too, so a project's limit applies; and the image's price, so a run
    // that would take the spend past max_cost is refused before the call.
    if let Err(e) = tx
        .query(
            sql::INCREMENT_RENDER_COUNTER,
            &[
                json!(job.user_id),
                json!(job.project_id),
                json!(reserve_usd(&pricing)),
            ],
        )
        .await
    {
        let refusal = e.sqlstate.clone();
        match refusal.as_deref() {
            Some(sql::OVER_LIMIT) => {
                tx.query(sql::ROLLBACK_TO_SAVEPOINT, &[]).await?;
                let failed_runs = u32::try_from(job.attempts).unwrap_or(0);
                let retry_at = host.now_ms() + prompt::requeue_delay_ms(failed_runs);
                tx.query(
                    sql::REQUEUE_REQUEST,
                    &[id, json!(retry_at), json!("over the render limit")],
                )
                .await?;
                return Ok(Claim::Answer(Ok(queued(&job.id, retry_at))));
            }
            Some(sql::NOT_ELIGIBLE) => {
                tx.query(sql::ROLLBACK_TO_SAVEPOINT, &[]).await?;
                let why = "the job's owner may not start renders: a client needs a client \
                           record linked by staff, staff need render:create";
                tx.query(sql::REFUSE_REQUEST, &[id, json!(why)]).await?;
                return Ok(Claim::Answer(Err(Error::Forbidden(why.into()))));
            }
            _ => return Err(e.into()),
        }
    }
    let runs: Option<Value> = query_opt(tx, sql::COUNT_RUN, std::slice::from_ref(&id)).await?;
    let runs = runs
        .as_ref()
        .and_then(|r| r.get("attempts"))
        .and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| Error::Internal("the run was not counted".into()))?;
    // The rest can still fail and roll the charge back: no model call has been made yet.
    let params: Option<RenderParametersRow> =
        query_opt(tx, sql::LOAD_PARAMETERS, std::slice::from_ref(&id)).await?;
    let template: Option<String> =
        query_opt::<Value>(tx, sql::LOAD_TEMPLATE, &[json!(prompt::TEMPLATE_NAME)])
            .await?
            .and_then(|row| {
                row.get("template")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            });
    let text = prompt::build_prompt(
        template.as_deref().unwrap_or(prompt::DEFAULT_TEMPLATE),
        params.as_ref(),
    )
    .map_err(|e| Error::Internal(e.to_string()))?;
    let key = cache_key(
        Gemini::PROVIDER,
        &job.model,
        &format!("{text}\n{}", job.input_file_path),
    );
    let reader = Storage::new(env, "renders", identity)?;
    let writer = Storage::new(env, "renders", Identity::Service)?;
    let gemini = Gemini::from_env(env)?;
    let input = reader.download(host, &job.input_file_path).await?;

    Ok(Claim::Run(Box::new(Charged {
        request: GenerateRequest {
            model: job.model.clone(),
            text,
            images: vec![input],
            want_image: true,
        },
        gemini,
        pricing,
        key,
        reader,
        writer,
        runs,
    })))
}

/// A run that ended without a result.
struct Failed {
    error: Error,
    /// Already in `error_logs`.
    logged: bool,
}

impl From<Error> for Failed {
    fn from(error: Error) -> Self {
        Failed {
            error,
            logged: false,
        }
    }
}

impl From<moha_edge::db::DbError> for Failed {
    fn from(e: moha_edge::db::DbError) -> Self {
        Error::from(e).into()
    }
}

async fn with_answer(
    caller: &Caller,
    host: &impl Host,
    job: &Job,
    run: &Charged,
    ok: GenerateResponse,
) -> std::result::Result<Response, Failed> {
    let tokens = ok.usage.input_tokens + ok.usage.output_tokens;
    let cost = run.pricing.cost_usd(ok.usage);
    if tokens > 0 {
        // The answer is billed: its tokens and cost are kept whatever happens next.
        let params = [
            json!(job.user_id),
            json!(job.project_id),
            json!(tokens),
            json!(cost),
        ];
        host.transaction(DbRole::AiAgent, caller.claims(), |tx| async move {
            tx.query(sql::LOG_USAGE, &params).await
        })
        .await??;
    }
    let image = ok
        .images
        .into_iter()
        .next()
        .ok_or_else(|| Error::Upstream("the image model returned no image".into()))?;
    let billed = Billed { tokens, cost };
    store(caller, host, job, run, &image, &billed, false).await
}

/// What the answer stored with a result cost.
struct Billed {
    tokens: u64,
    /// US dollars, six decimal places.
    cost: String,
}

/// The provider failed for good: the cached output of the same prompt and input, if any.
async fn without_answer(
    caller: &Caller,
    host: &impl Host,
    job: &Job,
    run: &Charged,
    err: String,
    calls: u32,
) -> std::result::Result<Response, Failed> {
    let context = json!({ "request_id": job.id, "attempts": run.runs, "calls": calls });
    let cached = host
        .transaction(DbRole::AiAgent, caller.claims(), |tx| {
            let err = &err;
            async move { log_and_look_up(&tx, job, run, err, &context).await }
        })
        .await??;
    let cached = cached
        .and_then(|r| {
            r.get("output_file_path")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .filter(|p| in_owner_folder(job, p));
    let Some(path) = cached else {
        return Err(Failed {
            error: Error::Upstream(err),
            logged: true,
        });
    };
    // The result always lives in this job's folder: copy the cached output.
    let image = run.reader.download(host, &path).await?;
    let free = Billed {
        tokens: 0,
        cost: "0".into(),
    };
    store(caller, host, job, run, &image, &free, true).await
}

async fn log_and_look_up(
    tx: &impl Tx,
    job: &Job,
    run: &Charged,
    err: &str,
    context: &Value,
) -> Result<Option<Value>> {
    tx.query(sql::LOG_ERROR, &[json!(err), json!(context.to_string())])
        .await?;
    Ok(query_opt(tx, sql::CACHED_ANSWER, &[json!(run.key), json!(job.model)]).await?)
}

/// Writes the output as the function itself, then the result, in one transaction.
async fn store(
    caller: &Caller,
    host: &impl Host,
    job: &Job,
    run: &Charged,
    image: &InlineImage,
    billed: &Billed,
    is_fallback: bool,
) -> std::result::Result<Response, Failed> {
    // The function's own name, from the job's ids: never one a caller chose.
    let output = format!("{}/{}/output.png", job.user_id, job.id);
    if !in_owner_folder(job, &output) {
        return Err(Error::Internal("the output name is not in the owner's folder".into()).into());
    }
    run.writer.upload(host, &output, image).await?;
    host.transaction(DbRole::AiAgent, caller.claims(), |tx| {
        let output = &output;
        async move { write_result(&tx, job, run, output, billed, is_fallback).await }
    })
    .await??;
    Ok(Response::json(
        200,
        &json!({ "request_id": job.id, "status": "succeeded", "output_file_path": output,
                 "fallback": is_fallback }),
    ))
}

async fn write_result(
    tx: &impl Tx,
    job: &Job,
    run: &Charged,
    output: &str,
    billed: &Billed,
    is_fallback: bool,
) -> Result<()> {
    let id = json!(job.id);
    let (key, model) = (json!(run.key), json!(job.model));
    if is_fallback {
        tx.query(sql::CACHE_HIT, &[key, model]).await?;
    } else {
        let cached = json!({ "output_file_path": output }).to_string();
        tx.query(sql::STORE_CACHE, &[key, model, json!(cached)])
            .await?;
    }
    tx.query(
        sql::INSERT_RESULT,
        &[
            id.clone(),
            json!(output),
            json!(billed.tokens),
            json!(job.model),
            json!(is_fallback),
            json!(billed.cost),
        ],
    )
    .await?;
    tx.query(sql::FINISH_REQUEST, std::slice::from_ref(&id))
        .await?;
    let note = json!({ "request_id": job.id, "output_file_path": output, "fallback": is_fallback })
        .to_string();
    tx.query(sql::NOTIFY_USER, &[json!(job.user_id), json!(note)])
        .await?;
    Ok(())
}

/// A charged run ended without a result: logged, then re-queued with a growing delay, or, on
/// its last run, failed for good (answered with the run's own error).
async fn after_failed_run(
    caller: &Caller,
    host: &impl Host,
    job: &Job,
    run: &Charged,
    failed: Failed,
) -> Result<Response> {
    let next = prompt::after_failure(run.runs, host.now_ms());
    host.transaction(DbRole::AiAgent, caller.claims(), |tx| {
        let (failed, next) = (&failed, &next);
        async move { record_failure(&tx, job, run, failed, next).await }
    })
    .await??;
    match next {
        AfterFailure::Requeue { retry_at_ms } => Ok(queued(&job.id, retry_at_ms)),
        AfterFailure::Fail => Err(failed.error),
    }
}

async fn record_failure(
    tx: &impl Tx,
    job: &Job,
    run: &Charged,
    failed: &Failed,
    next: &AfterFailure,
) -> Result<()> {
    let id = json!(job.id);
    let message = failed.error.to_string();
    if !failed.logged {
        let context = json!({ "request_id": job.id, "attempts": run.runs });
        tx.query(
            sql::LOG_ERROR,
            &[json!(message), json!(context.to_string())],
        )
        .await?;
    }
    // The owner reads the job's row: the details stay in error_logs.
    let public = failed.error.public_message();
    match next {
        AfterFailure::Requeue { retry_at_ms } => {
            let why = format!("run {} failed; the job will run again: {public}", run.runs);
            tx.query(sql::REQUEUE_REQUEST, &[id, json!(retry_at_ms), json!(why)])
                .await?;
        }
        AfterFailure::Fail => {
            let why = format!("failed after {} runs: {public}", run.runs);
            tx.query(sql::FAIL_REQUEST, &[id, json!(why)]).await?;
        }
    }
    Ok(())
}

fn queued(id: &str, retry_at_ms: u64) -> Response {
    Response::json(
        202,
        &json!({ "request_id": id, "status": "queued", "retry_at_ms": retry_at_ms }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_render_is_priced_at_gemini_list_prices_unless_configured() {
        let p = pricing(&Env::default()).unwrap();
        // One image: 1290 output tokens at $30 per million.
        assert_eq!(reserve_usd(&p), "0.038700");
        // The stub's usage (1290 in, 1300 out).
        let usage = Usage {
            input_tokens: 1290,
            output_tokens: 1300,
        };
        assert_eq!(p.cost_usd(usage), "0.039387");
        let env = Env::from_pairs([
            ("RENDER_USD_PER_MTOK_INPUT", "1"),
            ("RENDER_USD_PER_MTOK_OUTPUT", "60"),
        ]);
        assert_eq!(pricing(&env).unwrap().cost_usd(usage), "0.079290");
        for bad in ["-1", "NaN", "inf", "free"] {
            let env = Env::from_pairs([("RENDER_USD_PER_MTOK_OUTPUT", bad)]);
            let e = pricing(&env).unwrap_err();
            assert!(e.to_string().contains("RENDER_USD_PER_MTOK_OUTPUT"), "{e}");
        }
    }
}
