//! Every statement this function runs, with bound parameters only. Table and column names follow
//! the schema plan (issue 3); when the schema changes, this file is the one place to follow it.

/// As the caller: RLS lets the owner and Designers/Admins see the job.
pub const LOAD_REQUEST: &str = "select r.id::text as id, r.user_id::text as user_id, \
     r.input_file_path, r.model, r.status::text as status \
     from public.render_requests r where r.id = $1::uuid";

/// As the agent: only one concurrent caller wins the claim.
pub const CLAIM_REQUEST: &str = "update public.render_requests set status = 'processing' \
     where id = $1::uuid and status in ('queued', 'pending', 'failed') returning id::text as id";

/// SQLSTATE `increment_render_counter` raises when a limit is reached.
pub const OVER_LIMIT: &str = "PT429";

/// Counts the render against `agent_limits`; raises when over the limit.
pub const INCREMENT_RENDER_COUNTER: &str =
    "select public.increment_render_counter($1::uuid) as remaining";

pub const LOAD_PARAMETERS: &str = "select style, furnishings, lighting, walls, flooring, exterior \
     from public.render_parameters where request_id = $1::uuid";

/// The newest template of that name, else the agent's default.
pub const LOAD_TEMPLATE: &str = "select template from public.prompt_templates \
     where agent = 'render' and (name = $1 or is_default) \
     order by (name = $1) desc, version desc limit 1";

pub const CACHED_ANSWER: &str = "select response->>'output_file_path' as output_file_path \
     from public.ai_cache where prompt_hash = $1 and model = $2";

pub const STORE_CACHE: &str = "insert into public.ai_cache (prompt_hash, model, response) \
     values ($1, $2, $3::jsonb) on conflict (prompt_hash, model) do nothing";

pub const INSERT_RESULT: &str = "insert into public.render_results \
     (request_id, output_file_path, cost_tokens, model_used, is_fallback) \
     values ($1::uuid, $2, $3, $4, $5) on conflict (request_id) do nothing";

pub const LOG_USAGE: &str = "insert into public.agent_usage \
     (agent, user_id, request_count, tokens) values ('render', $1::uuid, 1, $2)";

pub const FINISH_REQUEST: &str = "update public.render_requests \
     set status = $2::public.render_status, completed_at = now() where id = $1::uuid";

pub const REQUEUE_REQUEST: &str = "update public.render_requests \
     set status = 'queued', retry_at = to_timestamp($2::double precision / 1000) \
     where id = $1::uuid";

pub const NOTIFY_USER: &str = "insert into public.notifications (user_id, kind, title, data) \
     values ($1::uuid, 'render_finished', 'Your render is ready', $2::jsonb)";

pub const LOG_ERROR: &str = "insert into public.error_logs (service, error_message, context) \
     values ('process-render-request', $1, $2::jsonb)";
