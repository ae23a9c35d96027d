//! Every statement this function runs, with bound parameters only, against the schema of
//! `sql/schema/src/moha` (releases `ai` and `render_queue`).

/// The job, as whoever loads it may see it (RLS: the owner, Designers and Admins; the agent
/// for scheduled runs). `retry_at_ms` is a float: postgres.js sends bigint and numeric as text.
pub const LOAD_REQUEST: &str = "select r.id::text as id, r.user_id::text as user_id, \
     r.project_id::text as project_id, r.input_file_path, r.model, r.status::text as status, \
     r.attempts, (extract(epoch from r.retry_at) * 1000)::float8 as retry_at_ms \
     from public.render_requests r where r.id = $1::uuid";

/// The stored result of a finished job.
pub const LOAD_RESULT: &str = "select output_file_path, is_fallback from public.render_results \
     where request_id = $1::uuid order by created_at limit 1";

/// As the agent, with `$2` the most runs a job may make: one concurrent caller wins; the others
/// wait on the row lock and then find the job no longer open. A job waiting for its retry time
/// is not run early, by its owner either. The claim is committed before the model is called,
/// so a run that died (the isolate killed mid-call) leaves `processing` behind: after 15
/// minutes, longer than any run (three model calls of at most 60 s each), it may be claimed
/// again.
pub const CLAIM_REQUEST: &str = "update public.render_requests \
     set status = 'processing', completed_at = null \
     where id = $1::uuid and attempts < $2::integer \
     and ((status in ('queued', 'pending', 'failed') and coalesce(retry_at, created_at) <= now()) \
       or (status = 'processing' and updated_at < now() - interval '15 minutes')) \
     returning id::text as id";

/// Queued jobs whose retry time has come, and runs that died, oldest first (`$2` as in
/// [`CLAIM_REQUEST`]).
pub const DUE_REQUESTS: &str = "select r.id::text as id, r.user_id::text as user_id, \
     r.project_id::text as project_id, r.input_file_path, r.model, r.status::text as status, \
     r.attempts, (extract(epoch from r.retry_at) * 1000)::float8 as retry_at_ms \
     from public.render_requests r \
     where r.attempts < $2::integer \
     and ((r.status = 'queued' and coalesce(r.retry_at, r.created_at) <= now()) \
       or (r.status = 'processing' and r.updated_at < now() - interval '15 minutes')) \
     order by coalesce(r.retry_at, r.created_at) limit $1::integer";

/// SQLSTATE `increment_render_counter` raises when a limit is reached.
pub const OVER_LIMIT: &str = "PT429";
/// SQLSTATE `increment_render_counter` raises when the job's owner may not spend on renders.
pub const NOT_ELIGIBLE: &str = "PT403";

pub const SAVEPOINT: &str = "savepoint before_charge";
pub const ROLLBACK_TO_SAVEPOINT: &str = "rollback to savepoint before_charge";

/// Counts the render against `agent_limits` (user, project, global) with `$3` the least it will
/// cost (its image); raises PT429 when over a limit, spend included, and PT403 when the owner
/// may not spend.
pub const INCREMENT_RENDER_COUNTER: &str =
    "select public.increment_render_counter($1::uuid, $2::uuid, $3::numeric) as remaining";

/// The run about to call the model, committed with its charge.
pub const COUNT_RUN: &str = "update public.render_requests set attempts = attempts + 1 \
     where id = $1::uuid returning attempts";

/// A whole `RenderParametersRow`.
pub const LOAD_PARAMETERS: &str = "select id::text as id, request_id::text as request_id, style, \
     furnishings, lighting, walls, flooring, exterior, extra \
     from public.render_parameters where request_id = $1::uuid";

/// The newest template of that name, else the agent's default.
pub const LOAD_TEMPLATE: &str = "select template from public.prompt_templates \
     where agent = 'render' and (name = $1 or is_default) \
     order by (name = $1) desc, version desc limit 1";

pub const CACHED_ANSWER: &str = "select response->>'output_file_path' as output_file_path \
     from public.ai_cache where prompt_hash = $1 and model = $2 \
     and (expires_at is null or expires_at > now())";

pub const STORE_CACHE: &str = "insert into public.ai_cache (prompt_hash, model, response) \
     values ($1, $2, $3::text::jsonb) on conflict (prompt_hash, model) \
     do update set response = excluded.response, created_at = now()";

pub const CACHE_HIT: &str =
    "update public.ai_cache set hits = hits + 1 where prompt_hash = $1 and model = $2";

pub const INSERT_RESULT: &str = "insert into public.render_results \
     (request_id, output_file_path, cost_tokens, model_used, is_fallback, cost_usd) \
     values ($1::uuid, $2, $3, $4, $5, $6::numeric)";

/// Adds the tokens and their cost to the counter rows `increment_render_counter` counted the
/// request in, so token and spend limits see them.
pub const LOG_USAGE: &str =
    "select public.record_agent_usage('render', $1::uuid, $2::uuid, $3::bigint, $4::numeric)";

pub const FINISH_REQUEST: &str = "update public.render_requests \
     set status = 'succeeded', completed_at = now(), retry_at = null, error_message = null \
     where id = $1::uuid";

/// Back to the queue with a retry time (the run, if any, was counted when it was charged).
pub const REQUEUE_REQUEST: &str = "update public.render_requests \
     set status = 'queued', retry_at = to_timestamp($2::double precision / 1000), \
     error_message = $3 \
     where id = $1::uuid";

/// Out of runs: failed for good.
pub const FAIL_REQUEST: &str = "update public.render_requests \
     set status = 'failed', completed_at = now(), retry_at = null, error_message = $2 \
     where id = $1::uuid";

/// The owner may not spend: failed, not run, not charged. Left open (no completed_at, runs
/// untouched), so a call runs it once staff have made the owner eligible.
pub const REFUSE_REQUEST: &str = "update public.render_requests \
     set status = 'failed', retry_at = null, error_message = $2 \
     where id = $1::uuid";

pub const NOTIFY_USER: &str = "insert into public.notifications (user_id, kind, title, data) \
     values ($1::uuid, 'render_finished', 'Your render is ready', $2::text::jsonb)";

pub const LOG_ERROR: &str = "insert into public.error_logs (service, error_message, context) \
     values ('process-render-request', $1, $2::text::jsonb)";

#[cfg(test)]
mod tests {
    use super::LOAD_PARAMETERS;
    use moha_edge::rows::RenderParametersRow;

    #[test]
    fn parameters_query_selects_the_generated_row() {
        let list = LOAD_PARAMETERS
            .strip_prefix("select ")
            .and_then(|s| s.split(" from ").next())
            .unwrap();
        let names: Vec<&str> = list
            .split(',')
            .map(|item| item.rsplit(" as ").next().unwrap().trim())
            .collect();
        assert_eq!(names, RenderParametersRow::COLUMNS);
    }
}
