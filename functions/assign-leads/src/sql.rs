//! Every statement this function runs, with bound parameters only; names follow issue 3's
//! schema, kept here in one place.

/// As the caller: RLS lets Admins (and the lead's Sales owner) see the lead. No personal
/// columns are read.
pub const LOAD_LEAD: &str = "select l.id::text as id, l.assigned_to::text as assigned_to, \
     l.status::text as status, l.source::text as source from public.leads l where l.id = $1::uuid";

/// From the caller's reads to the agent's writes in the same transaction (the caller's claims
/// stay set), so reading, assigning and charging take one transaction, not two. `postgres`, the login role, is a
/// member of both, as it is for the host's own `set local role`.
pub const AS_AGENT: &str = "set local role ai_agent";

/// Recomputes the deterministic score (issue 3's `update_lead_score`); it locks the lead, so
/// concurrent calls for one lead run one after the other from here.
pub const UPDATE_SCORE: &str = "select public.update_lead_score($1::uuid) as score";

/// Every Sales user with the scores of their open leads (none for an idle user).
pub const SALES_WORKLOAD: &str = "select u.id::text as user_id, \
     coalesce(array_agg(l.score) filter (where l.id is not null), '{}') as open_scores \
     from public.users u join public.roles r on r.id = u.role_id and r.name = 'Sales' \
     left join public.leads l on l.assigned_to = u.id \
       and l.status not in ('won', 'lost') and l.id <> $1::uuid \
     group by u.id";

/// Assigns only while still unassigned, so concurrent calls agree on one owner.
pub const ASSIGN: &str = "update public.leads set assigned_to = $2::uuid \
     where id = $1::uuid and assigned_to is null returning assigned_to::text as assigned_to";

/// The owner a concurrent call chose.
pub const OWNER: &str =
    "select assigned_to::text as assigned_to from public.leads where id = $1::uuid";

/// The factors of the score `UPDATE_SCORE` just recorded.
pub const SCORE_FACTORS: &str = "select s.rationale from public.lead_scoring s \
     where s.lead_id = $1::uuid and s.model = 'rules-v1' \
     order by s.created_at desc, s.id desc limit 1";

/// SQLSTATE `increment_agent_counter` raises when a limit is reached.
pub const OVER_LIMIT: &str = "PT429";

pub const SAVEPOINT: &str = "savepoint before_charge";
pub const ROLLBACK_TO_SAVEPOINT: &str = "rollback to savepoint before_charge";

/// Counts the model call against `agent_limits` for the caller (null for a schedule); raises
/// PT429 over the limit.
pub const COUNT_CALL: &str =
    "select public.increment_agent_counter('leads', $1::uuid, null) as remaining";

/// Adds the call's tokens and cost to the counter rows `increment_agent_counter` counted the
/// call in, so token limits see them.
pub const LOG_USAGE: &str =
    "select public.record_agent_usage('leads', $1::uuid, null, $2::bigint, $3::numeric)";

pub const LOG_ERROR: &str = "insert into public.error_logs (service, error_message, context) \
     values ('assign-leads', $1, $2::text::jsonb)";

pub const NOTE: &str = "insert into public.lead_notes (lead_id, note, created_by) \
     values ($1::uuid, $2, null)";

pub const NOTIFY: &str = "insert into public.notifications (user_id, kind, title, data) \
     values ($1::uuid, 'lead_assigned', 'A lead was assigned to you', $2::text::jsonb)";

/// The assignment as one named agent action, on behalf of the caller (null for a schedule),
/// with what it decided.
pub const AUDIT: &str = "select public.log_audit_action('public.leads', $1::text, 'assign', \
     $2::uuid, null, $3::text::jsonb)";

// ------------------------------------------------------------ the model score (issue 20)

/// `UPDATE_SCORE`, and the lead queued for a model score when its latest one is stale, in the
/// same round trip.
pub const UPDATE_SCORE_AND_QUEUE: &str = "select public.update_lead_score($1::uuid) as score, \
     public.queue_lead_scoring($1::uuid) as queued";

/// Up to `$1` queued leads, taken off the queue when the transaction commits.
pub const CLAIM_QUEUED: &str =
    "select lead_id::text as lead_id from public.claim_lead_scoring($1::integer)";

/// The lead's non-personal facts (no name, email or phone).
pub const LEAD_FACTS: &str = "select l.source::text as source, l.status::text as status, \
     floor(extract(epoch from (now() - l.created_at)) / 86400)::integer as age_days, \
     l.assigned_to is not null as assigned \
     from public.leads l where l.id = $1::uuid";

/// The lead's newest notes (`$2` at most); contact details are scrubbed before the prompt.
pub const LEAD_NOTES: &str = "select n.note from public.lead_notes n where n.lead_id = $1::uuid \
     order by n.created_at desc, n.id desc limit $2::integer";

/// Counts the scoring call against the `leads` limits (a schedule: project and global only).
pub const COUNT_SCORING: &str =
    "select public.increment_agent_counter('leads', null, null) as remaining";

/// The scoring call's tokens and cost.
pub const LOG_SCORING_USAGE: &str =
    "select public.record_agent_usage('leads', null, null, $1::bigint, $2::numeric)";

/// The model's score, under the model's name: `update_lead_score` blends the latest one in.
pub const INSERT_MODEL_SCORE: &str =
    "insert into public.lead_scoring (lead_id, score, rationale, model) \
     values ($1::uuid, $2::smallint, $3, $4)";
