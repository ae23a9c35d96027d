//! Every statement the function runs, with bound parameters only. The transaction runs as
//! `moha_agent` with the token's claims, so the agent role's policies (one scope guard per table
//! and command) decide what each tool reads and writes.

/// The token check by hash and the request count in one statement (security definer): the
/// outcome of `agent_auth.authenticate` (which records last_used_at at most once a minute), then
/// `$2` requests counted under `agent:<name>` and `agent:<name>:day`; over a limit the outcome
/// is `limited`, nothing is counted, and `retry_after` gives the seconds to wait.
pub const ADMIT: &str =
    "select a.outcome, a.token_id::text as token_id, a.agent_id::text as agent_id, \
     a.agent_name, a.owner_id::text as owner_id, a.scopes, a.retry_after \
     from agent_auth.admit($1, $2::int) a";

pub const SAVEPOINT_TOOL: &str = "savepoint tool_call";
pub const RELEASE_TOOL: &str = "release savepoint tool_call";
pub const ROLLBACK_TOOL: &str = "rollback to savepoint tool_call";

/// An id for a row the agent writes: it may not hold the scope to read the row back.
pub const NEW_ID: &str = "select gen_random_uuid()::text as id";

pub const SEARCH_LEADS: &str = "select l.id::text as id, l.client_name, l.source::text as source, \
     l.status::text as status, l.score, l.assigned_to::text as assigned_to, l.created_at::text as created_at \
     from public.leads l \
     where ($1::text is null or strpos(lower(l.client_name), lower($1::text)) > 0) \
       and ($2::text is null or l.status::text = $2::text) \
     order by l.created_at desc limit $3::int";

pub const GET_LEAD: &str = "select l.id::text as id, l.client_name, l.source::text as source, \
     l.status::text as status, l.score, l.assigned_to::text as assigned_to, l.created_at::text as created_at, \
     l.updated_at::text as updated_at from public.leads l where l.id = $1::uuid";

pub const LEAD_NOTES: &str = "select n.id::text as id, n.note, n.created_by is null as by_agent, \
     n.created_at::text as created_at from public.lead_notes n where n.lead_id = $1::uuid \
     order by n.created_at desc limit 20";

pub const ADD_NOTE: &str = "insert into public.lead_notes (id, lead_id, note, created_by) \
     values ($1::uuid, $2::uuid, $3::text, null)";

pub const PROPOSE: &str = "insert into public.agent_proposals (id, action, target_id, payload) \
     values ($1::uuid, $2::text::public.proposal_action, $3::uuid, $4::text::jsonb)";

pub const INBOX: &str = "select i.id::text as id, i.account_id::text as account_id, \
     i.message_type::text as message_type, i.content, i.sender_id, i.received_at::text as received_at, \
     i.status::text as status \
     from public.inbox((select coalesce(array_agg(a.id), '{}'::uuid[]) from public.social_accounts a), \
                       now() - make_interval(days => $1::int), $2::int) i";

pub const MESSAGE_EXISTS: &str =
    "select m.id::text as id from public.social_messages m where m.id = $1::uuid";

pub const LIST_PROJECTS: &str = "select p.id::text as id, p.title, p.description, p.category, \
     p.status::text as status, p.is_published, p.created_at::text as created_at from public.projects p \
     where ($1::text is null or strpos(lower(p.title), lower($1::text)) > 0) \
     order by p.created_at desc limit $2::int";

pub const GET_PROJECT: &str = "select p.id::text as id, p.title, p.description, p.category, \
     p.status::text as status, p.is_published, p.published_at::text as published_at, \
     p.completed_at::text as completed_at, p.created_at::text as created_at \
     from public.projects p where p.id = $1::uuid";

pub const PROJECT_IMAGES: &str = "select i.file_path, i.caption from public.project_images i \
     where i.project_id = $1::uuid order by i.order_index limit 50";

pub const PROJECT_TAGS: &str =
    "select t.tag from public.project_tags t where t.project_id = $1::uuid order by t.tag limit 50";

pub const LIST_RENDERS: &str = "select r.id::text as id, r.project_id::text as project_id, \
     r.status::text as status, r.model, r.input_file_path, r.created_at::text as created_at, \
     r.completed_at::text as completed_at from public.render_requests r \
     order by r.created_at desc limit $1::int";

pub const RENDER_STATUS: &str = "select r.id::text as id, r.status::text as status, r.attempts, \
     r.retry_at::text as retry_at, r.error_message, r.created_at::text as created_at, \
     r.completed_at::text as completed_at from public.render_requests r where r.id = $1::uuid";

pub const RENDER_RESULTS: &str = "select rr.output_file_path, rr.model_used, rr.is_fallback, \
     rr.created_at::text as created_at from public.render_results rr where rr.request_id = $1::uuid";

/// Queued for the agent's owner: the owner's render limits and right to spend apply when it runs.
pub const CREATE_RENDER: &str =
    "insert into public.render_requests (id, user_id, project_id, input_file_path) \
     values ($1::uuid, $2::uuid, $3::uuid, $4::text)";

pub const DRAFT_POST: &str =
    "insert into public.blog_posts (id, title, slug, content, excerpt, author_id) \
     values ($1::uuid, $2::text, $3::text, $4::text, $5::text, $6::uuid)";

pub const POST_EXISTS: &str =
    "select p.id::text as id from public.blog_posts p where p.id = $1::uuid";

pub const LIST_PROPOSALS: &str = "select p.id::text as id, p.action::text as action, \
     p.target_id::text as target_id, p.status::text as status, p.payload, p.reason, \
     p.created_at::text as created_at, p.decided_at::text as decided_at, p.expires_at::text as expires_at \
     from public.agent_proposals p where ($1::text is null or p.status::text = $1::text) \
     order by p.created_at desc limit $2::int";
