//! Every statement this function runs, with bound parameters only; names follow issue 3's
//! schema, kept here in one place.

/// As the caller: RLS lets Admins (and the lead's Sales owner) see the lead.
pub const LOAD_LEAD: &str = "select l.id::text as id, l.assigned_to::text as assigned_to, \
     l.status::text as status from public.leads l where l.id = $1::uuid";

/// Recomputes the deterministic score (issue 3's `update_lead_score`).
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
    "select id::text as id, assigned_to::text as assigned_to from public.leads where id = $1::uuid";

pub const NOTE: &str = "insert into public.lead_notes (lead_id, note, created_by) \
     values ($1::uuid, $2, null)";

pub const NOTIFY: &str = "insert into public.notifications (user_id, kind, title, data) \
     values ($1::uuid, 'lead_assigned', 'A lead was assigned to you', $2::text::jsonb)";

/// The assignment as one named agent action, on behalf of the caller (null for a schedule).
pub const AUDIT: &str =
    "select public.log_audit_action('public.leads', $1::text, 'assign', $2::uuid)";
