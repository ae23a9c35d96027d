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
