//! Every statement this function runs, with bound parameters only (schema: release `social`).

/// The account as whoever loads it may see it (RLS: Sales and Admins; the agent for a
/// schedule). The token column is readable by no API role.
pub const LOAD_ACCOUNT: &str = "select id::text as id, platform::text as platform, username \
     from public.social_accounts where id = $1::uuid";

/// Decrypts the token; `service_role` only, in a transaction of its own.
pub const TOKEN: &str = "select public.social_account_token($1::uuid) as token";

/// One writer per account at a time, so the not-exists checks below cannot race.
pub const LOCK_ACCOUNT: &str =
    "select pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('social:' || $1::text))";

/// Inserts a message unless one with the same platform id is stored; returns it when new.
/// `$6` is RFC 3339 (Instagram) or seconds since the epoch (TikTok).
pub const INSERT_MESSAGE: &str = "with v as (select $1::uuid as account_id, \
       $2::text::public.message_type as message_type, $3::text as content, $4::text as sender_id, \
       $5::text as external_id, \
       case when $6::text ~ '^[0-9]+$' then pg_catalog.to_timestamp(($6::text)::double precision) \
            else ($6::text)::timestamptz end as received_at) \
     insert into public.social_messages \
       (account_id, message_type, content, sender_id, external_id, received_at) \
     select v.* from v where not exists (select 1 from public.social_messages m \
       where m.account_id = v.account_id and m.external_id = v.external_id) \
     returning id::text as id";

/// Messages of the account without a sentiment score yet, newest first.
pub const UNSCORED: &str = "select m.id::text as id, m.received_at::text as received_at, \
     coalesce(m.content, '') as content from public.social_messages m \
     where m.account_id = $1::uuid and not exists (select 1 from public.social_sentiment s \
       where s.message_id = m.id and s.message_received_at = m.received_at) \
     order by m.received_at desc limit $2::integer";

/// A message's score, unless it has one (a concurrent run asked about the same batch) or the
/// message is gone (deleted while the model answered); returns it when written.
pub const INSERT_SENTIMENT: &str = "insert into public.social_sentiment \
     (message_id, message_received_at, sentiment_score, model_used) \
     select $1::uuid, $2::timestamptz, $3::numeric, $4 \
     where exists (select 1 from public.social_messages m \
       where m.id = $1::uuid and m.received_at = $2::timestamptz) \
     and not exists (select 1 from public.social_sentiment s \
       where s.message_id = $1::uuid and s.message_received_at = $2::timestamptz) \
     returning id::text as id";

/// One score's writes, so a refused score undoes nothing else.
pub const SCORE_SAVEPOINT: &str = "savepoint score";
pub const RELEASE_SCORE_SAVEPOINT: &str = "release savepoint score";
pub const ROLLBACK_TO_SCORE_SAVEPOINT: &str = "rollback to savepoint score";

/// Scores of a paid answer that could not be written, kept for later runs (`$2` a JSON array
/// of `ai_cache` keys).
pub const KEPT_SCORES: &str = "select prompt_hash, (response->>'score')::float8 as score \
     from public.ai_cache where model = $1 \
     and prompt_hash in (select pg_catalog.jsonb_array_elements_text($2::text::jsonb)) \
     and response->>'score' is not null and (expires_at is null or expires_at > now())";

/// Keeps a paid score that could not be written, for `$4` days.
pub const KEEP_SCORE: &str =
    "insert into public.ai_cache (prompt_hash, model, response, expires_at) \
     values ($1, $2, $3::text::jsonb, now() + pg_catalog.make_interval(days => $4::integer)) \
     on conflict (prompt_hash, model) do update \
     set response = excluded.response, created_at = now(), expires_at = excluded.expires_at";

/// A kept score was written: it is used up.
pub const KEPT_SCORE_USED: &str = "update public.ai_cache set hits = hits + 1, expires_at = now() \
     where prompt_hash = $1 and model = $2";

/// A metric value unless the same metric at the same time is stored.
pub const INSERT_METRIC: &str = "with v as (select $1::uuid as account_id, $2::text as metric_type, \
       $3::numeric as value, coalesce(($4::text)::timestamptz, pg_catalog.date_trunc('day', now())) \
       as recorded_at) \
     insert into public.social_analytics (account_id, metric_type, value, recorded_at) \
     select v.* from v where not exists (select 1 from public.social_analytics a \
       where a.account_id = v.account_id and a.metric_type = v.metric_type \
       and a.recorded_at = v.recorded_at) \
     returning id::text as id";

/// SQLSTATE `increment_agent_counter` raises when a limit is reached.
pub const OVER_LIMIT: &str = "PT429";

pub const SAVEPOINT: &str = "savepoint before_charge";
pub const ROLLBACK_TO_SAVEPOINT: &str = "rollback to savepoint before_charge";

/// Counts one sentiment call (a batch) against `agent_limits`, committed before the call; a scheduled job has no user, and
/// a run for a user is the studio's inbox, not theirs, so only project and global limits apply.
/// Raises PT429 over the limit.
pub const COUNT_CALL: &str =
    "select public.increment_agent_counter('social', null, null) as remaining";

/// Adds the call's tokens and cost to the counter rows `increment_agent_counter` counted the
/// call in (no user: see COUNT_CALL), so token limits see them; in a transaction of its own.
pub const LOG_USAGE: &str =
    "select public.record_agent_usage('social', null, null, $1::bigint, $2::numeric)";

pub const LOG_ERROR: &str = "insert into public.error_logs (service, error_message, context) \
     values ('fetch-social-updates', $1, $2::text::jsonb)";

// ------------------------------------------------------------ token renewal (issue 20)

/// Accounts whose access token expires soon (`service_role`).
pub const TOKENS_DUE: &str = "select account_id::text as account_id, platform::text as platform \
     from public.social_tokens_due($1::integer)";

/// Decrypts the refresh token; `service_role` only, in a transaction of its own.
pub const REFRESH_TOKEN: &str = "select public.social_account_refresh_token($1::uuid) as token";

/// Stores the renewed tokens, encrypted, with their lifetimes; clears `needs_reconnect`.
pub const STORE_TOKENS: &str = "select public.store_social_tokens($1::uuid, $2::text, \
     $3::integer, $4::text, $5::integer)";

/// The platform refused: `needs_reconnect`, and the Admins notified once.
pub const MARK_RECONNECT: &str =
    "select public.mark_social_reconnect($1::uuid, $2::text) as notified";
