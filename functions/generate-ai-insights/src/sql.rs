//! Every statement this function runs besides the per-table ones of [`crate::tables`], with
//! bound parameters only.

/// As the caller: the Admin check comes from the database, never from the token.
pub const IS_ADMIN: &str = "select authz.is_admin() as is_admin";

/// SQLSTATE `increment_agent_counter` raises when a limit is reached.
pub const OVER_LIMIT: &str = "PT429";

pub const SAVEPOINT: &str = "savepoint before_charge";
pub const ROLLBACK_TO_SAVEPOINT: &str = "rollback to savepoint before_charge";

/// As the agent: counts the call against `agent_limits`; raises PT429 over the limit.
pub const COUNT_CALL: &str =
    "select public.increment_agent_counter('insights', $1::uuid, null) as remaining";

/// The retry time of a PT429 hint (`try again after <timestamptz>`) as RFC 3339 UTC.
pub const RETRY_AT: &str =
    "select to_char($1::timestamptz at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') as retry_at";

/// A fresh summary, kept a week for fallback; a concurrent call for the same prompt replaces it.
pub const STORE_CACHE: &str =
    "insert into public.ai_cache (prompt_hash, model, response, expires_at) \
     values ($1, $2, $3::text::jsonb, now() + interval '7 days') \
     on conflict (prompt_hash, model) do update \
     set response = excluded.response, created_at = now(), expires_at = excluded.expires_at \
     returning id::text as id";

/// The cache write as one agent action, on behalf of the caller.
pub const AUDIT: &str = "select public.log_audit_action('public.ai_cache', $1::text, 'summarise', \
     $2::uuid, null, $3::text::jsonb) as id";

/// Adds the call's tokens and cost to the counter rows `increment_agent_counter` counted the
/// call in, so token limits see them.
pub const LOG_USAGE: &str =
    "select public.record_agent_usage('insights', $1::uuid, null, $2::bigint, $3::numeric)";

/// The newest unexpired summary of the table: the same prompt's first, else the latest one.
pub const CACHED_SUMMARY: &str = "select id::text as id, response->>'summary' as summary, \
     to_char(created_at at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') as generated_at \
     from public.ai_cache \
     where response->>'table' = $1 and response->>'summary' is not null \
     and (expires_at is null or expires_at > now()) \
     order by (prompt_hash = $2) desc, created_at desc limit 1";

pub const CACHE_HIT: &str = "update public.ai_cache set hits = hits + 1 where id = $1::uuid";

/// The insights agent's active default template.
pub const LOAD_TEMPLATE: &str = "select name, version, template from public.prompt_templates \
     where agent = 'insights' and is_default limit 1";

pub const LOG_ERROR: &str = "insert into public.error_logs (service, error_message, context) \
     values ('generate-ai-insights', $1, $2::text::jsonb)";
