//! `process-render-request {request_id}`: renders one job with the image model;
//! `{drain: true}` (service key only, for a schedule) runs the queued jobs whose time has come.
//!
//! The caller must be able to see the job (RLS: owner, or Designer/Admin). The agent then claims
//! it (one winner under concurrent calls, so one result and one charge), counts it against the
//! limits, builds the prompt, sends the input image to Gemini, stores the output under
//! `renders/<owner id>/<request id>/`, writes the result and notifies the owner. Over the limit,
//! or with the provider down and nothing cached, the job is re-queued with a retry time and
//! nothing is charged; it is never dropped.
//!
//! Storage is called as the caller (their access token), so the `storage.objects` policies
//! decide which input a caller may render and where the output may go; a drain has no caller
//! and uses the service key, which bypasses those policies as on Supabase, so the names are
//! checked here: both come from the job's row and must lie in the owner's folder.

pub mod prompt;
pub mod sql;

use moha_edge::ai::{cache_key, Gemini, GenerateRequest};
use moha_edge::auth::{self, Caller};
use moha_edge::db::{query_as, query_opt};
use moha_edge::retry::{RetryPolicy, SplitMix64};
use moha_edge::rows::RenderParametersRow;
use moha_edge::storage::{Identity, Storage};
use moha_edge::validate;
use moha_edge::{DbRole, Env, Error, Host, Method, Request, Response, Result, Secret, Tx};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::prompt::{Fallback, Start};

#[cfg(target_arch = "wasm32")]
moha_edge::export_handler!(crate::handle);

/// Jobs one drain call runs at most.
const DRAIN_BATCH: i64 = 10;

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
    input_file_path: String,
    model: String,
    status: String,
    attempts: i64,
}

#[derive(Debug, Deserialize)]
struct Stored {
    output_file_path: String,
    is_fallback: bool,
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
    let tx = host.begin(role, caller.claims()).await?;
    let job: Option<Job> = query_opt(&tx, sql::LOAD_REQUEST, &[json!(id)]).await?;
    tx.commit().await?;
    let job = job.ok_or_else(|| Error::NotFound("render request not found".into()))?;
    match prompt::start(&job.status) {
        Start::Run => render_job(caller, identity, env, host, &job).await,
        Start::AlreadyDone => done(caller, host, &job.id).await,
        Start::InProgress => Ok(status(202, &job.id, "processing")),
        Start::Cancelled => Err(Error::Conflict("render request was cancelled".into())),
    }
}

async fn drain(caller: &Caller, env: &Env, host: &impl Host) -> Result<Response> {
    let tx = host.begin(DbRole::AiAgent, caller.claims()).await?;
    let due: Vec<Job> = query_as(&tx, sql::DUE_REQUESTS, &[json!(DRAIN_BATCH)]).await?;
    tx.commit().await?;
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

/// The answer for a finished job: its stored result.
async fn done(caller: &Caller, host: &impl Host, id: &str) -> Result<Response> {
    let tx = host.begin(DbRole::AiAgent, caller.claims()).await?;
    let stored: Option<Stored> = query_opt(&tx, sql::LOAD_RESULT, &[json!(id)]).await?;
    tx.commit().await?;
    Ok(match stored {
        Some(s) => Response::json(
            200,
            &json!({ "request_id": id, "status": "succeeded",
                     "output_file_path": s.output_file_path, "fallback": s.is_fallback }),
        ),
        None => status(200, id, "succeeded"),
    })
}

async fn render_job(
    caller: &Caller,
    identity: Identity,
    env: &Env,
    host: &impl Host,
    job: &Job,
) -> Result<Response> {
    let tx = host.begin(DbRole::AiAgent, caller.claims()).await?;
    match render(&tx, identity, env, host, job).await {
        Ok(Rendered::Answer(resp)) => {
            tx.commit().await?;
            Ok(resp)
        }
        Ok(Rendered::NotClaimed) => {
            tx.rollback().await?;
            // Another call had it; answer with what it left.
            let tx = host.begin(DbRole::AiAgent, caller.claims()).await?;
            let now: Option<Job> = query_opt(&tx, sql::LOAD_REQUEST, &[json!(job.id)]).await?;
            tx.commit().await?;
            match now.map(|j| prompt::start(&j.status)) {
                Some(Start::AlreadyDone) => done(caller, host, &job.id).await,
                Some(Start::Cancelled) => {
                    Err(Error::Conflict("render request was cancelled".into()))
                }
                _ => Ok(status(202, &job.id, "processing")),
            }
        }
        Err(e) => {
            tx.rollback().await?;
            Err(e)
        }
    }
}

enum Rendered {
    Answer(Response),
    NotClaimed,
}

/// A name in the owner's folder of the `renders` bucket.
fn in_owner_folder(job: &Job, name: &str) -> bool {
    name.strip_prefix(&format!("{}/", job.user_id))
        .is_some_and(|rest| !rest.is_empty())
        && moha_edge::storage::valid_object_name(name)
}

async fn render(
    tx: &impl Tx,
    identity: Identity,
    env: &Env,
    host: &impl Host,
    job: &Job,
) -> Result<Rendered> {
    let id = json!(job.id);
    if tx
        .query(sql::CLAIM_REQUEST, std::slice::from_ref(&id))
        .await?
        .is_empty()
    {
        return Ok(Rendered::NotClaimed);
    }
    if !in_owner_folder(job, &job.input_file_path) {
        return Err(Error::BadRequest(
            "the job's input file must lie in its owner's folder of the renders bucket".into(),
        ));
    }
    let failed_runs = u32::try_from(job.attempts).unwrap_or(0);
    tx.query(sql::SAVEPOINT, &[]).await?;
    if let Err(e) = tx
        .query(sql::INCREMENT_RENDER_COUNTER, &[json!(job.user_id)])
        .await
    {
        if e.sqlstate.as_deref() != Some(sql::OVER_LIMIT) {
            return Err(e.into());
        }
        tx.query(sql::ROLLBACK_TO_SAVEPOINT, &[]).await?;
        let retry_at = host.now_ms() + prompt::requeue_delay_ms(failed_runs);
        tx.query(
            sql::REQUEUE_REQUEST,
            &[
                id,
                json!(retry_at),
                json!(0),
                json!("over the render limit"),
            ],
        )
        .await?;
        return Ok(Rendered::Answer(queued(&job.id, retry_at)));
    }

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

    let storage = Storage::new(env, "renders", identity)?;
    let input = storage.download(host, &job.input_file_path).await?;
    let gemini = Gemini::from_env(env)?;
    let request = GenerateRequest {
        model: job.model.clone(),
        text,
        images: vec![input],
        want_image: true,
    };
    let mut rng = SplitMix64::new(host.seed());
    let answer = RetryPolicy::default()
        .run(host, &mut rng, |_| gemini.generate(host, &request))
        .await;
    let output = format!("{}/{}/output.png", job.user_id, job.id);

    let (tokens, is_fallback) = match answer {
        Ok(ok) => {
            let image = ok
                .images
                .into_iter()
                .next()
                .ok_or_else(|| Error::Upstream("the image model returned no image".into()))?;
            storage.upload(host, &output, &image).await?;
            let cached = json!({ "output_file_path": output }).to_string();
            tx.query(
                sql::STORE_CACHE,
                &[json!(key), json!(job.model), json!(cached)],
            )
            .await?;
            (ok.usage.input_tokens + ok.usage.output_tokens, false)
        }
        Err((err, attempts)) => {
            // Nothing is charged for a run without a fresh result: a fallback comes from the
            // cache, and a re-queued job is counted when it runs.
            tx.query(sql::ROLLBACK_TO_SAVEPOINT, &[]).await?;
            tx.query(
                sql::LOG_ERROR,
                &[
                    json!(err.to_string()),
                    json!(json!({ "request_id": job.id, "attempts": attempts }).to_string()),
                ],
            )
            .await?;
            let cached: Option<Value> =
                query_opt(tx, sql::CACHED_ANSWER, &[json!(key), json!(job.model)]).await?;
            let cached = cached
                .and_then(|r| {
                    r.get("output_file_path")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
                .filter(|p| in_owner_folder(job, p));
            match prompt::fallback(cached, host.now_ms(), failed_runs) {
                Fallback::UseCached(path) => {
                    // The result always lives in this job's folder: copy the cached output.
                    let image = storage.download(host, &path).await?;
                    storage.upload(host, &output, &image).await?;
                    tx.query(sql::CACHE_HIT, &[json!(key), json!(job.model)])
                        .await?;
                    (0, true)
                }
                Fallback::Requeue { retry_at_ms } => {
                    tx.query(
                        sql::REQUEUE_REQUEST,
                        &[
                            id,
                            json!(retry_at_ms),
                            json!(1),
                            json!("the image model is unavailable; the job will run again"),
                        ],
                    )
                    .await?;
                    return Ok(Rendered::Answer(queued(&job.id, retry_at_ms)));
                }
            }
        }
    };
    tx.query(
        sql::INSERT_RESULT,
        &[
            id.clone(),
            json!(output),
            json!(tokens),
            json!(job.model),
            json!(is_fallback),
        ],
    )
    .await?;
    if tokens > 0 {
        tx.query(sql::LOG_TOKENS, &[json!(job.user_id), json!(tokens)])
            .await?;
    }
    tx.query(sql::FINISH_REQUEST, std::slice::from_ref(&id))
        .await?;
    let note = json!({ "request_id": job.id, "output_file_path": output, "fallback": is_fallback })
        .to_string();
    tx.query(sql::NOTIFY_USER, &[json!(job.user_id), json!(note)])
        .await?;
    Ok(Rendered::Answer(Response::json(
        200,
        &json!({ "request_id": job.id, "status": "succeeded", "output_file_path": output,
                 "fallback": is_fallback }),
    )))
}

fn queued(id: &str, retry_at_ms: u64) -> Response {
    Response::json(
        202,
        &json!({ "request_id": id, "status": "queued", "retry_at_ms": retry_at_ms }),
    )
}
