//! `process-render-request {request_id}`: renders one job with the image model.
//!
//! The caller must be able to see the job (RLS: owner, or Designer/Admin); the agent then claims
//! it (one winner under concurrent calls), counts it against the limits, builds the prompt,
//! sends the input image to Gemini, stores the output under `renders/<user>/<request>/`, writes
//! the result and notifies the owner. Over the limit or with the provider down, the job is
//! re-queued with a retry time, never dropped.

pub mod prompt;
pub mod sql;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use moha_edge::ai::{cache_key, Gemini, GenerateRequest, InlineImage};
use moha_edge::auth;
use moha_edge::db::query_opt;
use moha_edge::retry::{RetryPolicy, SplitMix64};
use moha_edge::validate;
use moha_edge::{DbRole, Env, Error, Host, HttpRequest, Method, Request, Response, Result, Tx};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::prompt::{Fallback, Start};

#[cfg(target_arch = "wasm32")]
moha_edge::export_handler!(crate::handle);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    request_id: String,
}

#[derive(Debug, Deserialize)]
struct Job {
    id: String,
    user_id: String,
    input_file_path: String,
    model: String,
    status: String,
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
    let id = json!(validate::uuid("request_id", &input.request_id)?.to_string());
    let claims = caller.claims();

    let tx = host.begin(DbRole::Authenticated, claims).await?;
    let job: Option<Job> = query_opt(&tx, sql::LOAD_REQUEST, std::slice::from_ref(&id)).await?;
    tx.commit().await?;
    let job = job.ok_or_else(|| Error::NotFound("render request not found".into()))?;
    match prompt::start(&job.status) {
        Start::Run => {}
        Start::AlreadyDone => return Ok(status(200, &job.id, "succeeded")),
        Start::InProgress => return Ok(status(202, &job.id, "processing")),
        Start::Cancelled => return Err(Error::Conflict("render request was cancelled".into())),
    }

    let tx = host.begin(DbRole::AiAgent, claims).await?;
    let outcome = render(&tx, env, host, &job, &id).await;
    match outcome {
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

fn status(code: u16, id: &str, status: &str) -> Response {
    Response::json(code, &json!({ "request_id": id, "status": status }))
}

async fn render(
    tx: &impl Tx,
    env: &Env,
    host: &impl Host,
    job: &Job,
    id: &Value,
) -> Result<Response> {
    if tx
        .query(sql::CLAIM_REQUEST, std::slice::from_ref(id))
        .await?
        .is_empty()
    {
        return Ok(status(202, &job.id, "processing"));
    }
    if let Err(e) = tx
        .query(sql::INCREMENT_RENDER_COUNTER, &[json!(job.user_id)])
        .await
    {
        if e.sqlstate.as_deref() == Some(sql::OVER_LIMIT) {
            let retry_at = prompt::requeue_delay_ms(0) + host.now_ms();
            tx.query(sql::REQUEUE_REQUEST, &[id.clone(), json!(retry_at)])
                .await?;
            return Ok(Response::json(
                202,
                &json!({ "request_id": job.id, "status": "queued", "retry_at_ms": retry_at }),
            ));
        }
        return Err(e.into());
    }

    let params: prompt::RenderParameters =
        query_opt(tx, sql::LOAD_PARAMETERS, std::slice::from_ref(id))
            .await?
            .unwrap_or_default();
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
        &params,
    )
    .map_err(|e| Error::Internal(e.to_string()))?;
    let key = cache_key(
        Gemini::PROVIDER,
        &job.model,
        &format!("{text}\n{}", job.input_file_path),
    );

    let storage = Storage::from_env(env)?;
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

    let (path, tokens, is_fallback) = match answer {
        Ok(ok) => {
            let image = ok
                .images
                .into_iter()
                .next()
                .ok_or_else(|| Error::Upstream("the image model returned no image".into()))?;
            let path = format!("{}/{}/output.png", job.user_id, job.id);
            storage.upload(host, &path, &image).await?;
            let tokens = ok.usage.input_tokens + ok.usage.output_tokens;
            tx.query(
                sql::STORE_CACHE,
                &[
                    json!(key),
                    json!(job.model),
                    json!({ "output_file_path": path }).to_string().into(),
                ],
            )
            .await?;
            (path, tokens, false)
        }
        Err((err, attempts)) => {
            tx.query(
                sql::LOG_ERROR,
                &[
                    json!(err.to_string()),
                    json!({ "request_id": job.id, "attempts": attempts })
                        .to_string()
                        .into(),
                ],
            )
            .await?;
            let cached: Option<Value> =
                query_opt(tx, sql::CACHED_ANSWER, &[json!(key), json!(job.model)]).await?;
            let cached = cached.and_then(|r| {
                r.get("output_file_path")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            });
            match prompt::fallback(cached, host.now_ms(), attempts) {
                Fallback::UseCached(path) => (path, 0, true),
                Fallback::Requeue { retry_at_ms } => {
                    tx.query(sql::REQUEUE_REQUEST, &[id.clone(), json!(retry_at_ms)])
                        .await?;
                    return Ok(Response::json(
                        202,
                        &json!({ "request_id": job.id, "status": "queued", "retry_at_ms": retry_at_ms }),
                    ));
                }
            }
        }
    };
    tx.query(
        sql::INSERT_RESULT,
        &[
            id.clone(),
            json!(path),
            json!(tokens),
            json!(job.model),
            json!(is_fallback),
        ],
    )
    .await?;
    tx.query(sql::LOG_USAGE, &[json!(job.user_id), json!(tokens)])
        .await?;
    tx.query(sql::FINISH_REQUEST, &[id.clone(), json!("succeeded")])
        .await?;
    let note = json!({ "request_id": job.id, "output_file_path": path }).to_string();
    tx.query(sql::NOTIFY_USER, &[json!(job.user_id), json!(note)])
        .await?;
    Ok(Response::json(
        200,
        &json!({ "request_id": job.id, "status": "succeeded", "output_file_path": path, "fallback": is_fallback }),
    ))
}

/// The `renders` bucket through Supabase's Storage API.
struct Storage {
    base: String,
    key: moha_edge::Secret,
}

impl Storage {
    const BUCKET: &'static str = "renders";

    fn from_env(env: &Env) -> Result<Self> {
        Ok(Storage {
            base: format!(
                "{}/storage/v1/object",
                env.var("SUPABASE_URL")?.trim_end_matches('/')
            ),
            key: env.secret("SUPABASE_SERVICE_ROLE_KEY")?,
        })
    }

    async fn download(&self, host: &impl Host, path: &str) -> Result<InlineImage> {
        let req = HttpRequest::get(format!("{}/{}/{path}", self.base, Self::BUCKET))
            .header("authorization", format!("Bearer {}", self.key.expose()));
        let resp = host
            .fetch(req)
            .await
            .map_err(|e| Error::Upstream(format!("storage: {e}")))?;
        if !resp.is_success() {
            return Err(Error::Upstream(format!(
                "storage download answered {}",
                resp.status
            )));
        }
        Ok(InlineImage {
            mime_type: resp
                .header("content-type")
                .unwrap_or("image/png")
                .to_string(),
            data_base64: STANDARD.encode(&resp.body),
        })
    }

    async fn upload(&self, host: &impl Host, path: &str, image: &InlineImage) -> Result<()> {
        let bytes = STANDARD
            .decode(&image.data_base64)
            .map_err(|_| Error::Upstream("the image model returned invalid base64".into()))?;
        let mut req = HttpRequest::get(format!("{}/{}/{path}", self.base, Self::BUCKET))
            .header("authorization", format!("Bearer {}", self.key.expose()))
            .header("content-type", image.mime_type.clone())
            // The same path again on a retry replaces the file rather than failing.
            .header("x-upsert", "true");
        req.method = Method::Post;
        req.body = bytes;
        let resp = host
            .fetch(req)
            .await
            .map_err(|e| Error::Upstream(format!("storage: {e}")))?;
        if !resp.is_success() {
            return Err(Error::Upstream(format!(
                "storage upload answered {}",
                resp.status
            )));
        }
        Ok(())
    }
}
