//! A known state of the backend for the observability tests (issue 21): the inspect reports, the
//! metrics function and the alerts read it, and each test states what it must show.
//!
//! On the personas (no demo data), as `postgres` (audit triggers on):
//! - renders: a queued job created 20 minutes ago (stuck), a queued one created 1 minute ago,
//!   one processing; three results in the last hour, two of them fallbacks;
//! - AI: `render` has a global limit of 10 calls and 1000 tokens a day, used 9 times with 500
//!   tokens and $0.25; `insights` has a default per-user limit of 5 a day, used 4 times by the
//!   client, with $0.10;
//! - errors: three of `assign-leads` now, one of `process-render-request` two hours ago;
//! - leads: one from the website created 2 h ago, unassigned; one from Instagram created 3 h
//!   ago, assigned when inserted (3 h by the audit trail); one referral created 1 h ago and
//!   assigned now (1 h).

use postgres::Client;

use crate::personas;

/// The scenario's figures, as the tests expect them.
pub const STUCK_QUEUED_AGE_MIN_SECONDS: f64 = 20.0 * 60.0;
pub const RENDER_CALLS: i64 = 9;
pub const RENDER_TOKENS: i64 = 500;
pub const INSIGHTS_CALLS: i64 = 4;

/// The metrics bearer secret of the tests' gateways.
pub const METRICS_SECRET: &str = "test-metrics-secret-0123456789abcdef0123456789";

/// The personas and the state.
pub fn create(c: &mut Client) -> anyhow::Result<()> {
    personas::create(c, false)?;
    create_state(c)
}

/// The state, on a database that has the personas already.
pub fn create_state(c: &mut Client) -> anyhow::Result<()> {
    let client = personas::id("client");
    let sales = personas::id("sales_a");
    c.batch_execute(&format!(
        "insert into public.render_requests (id, user_id, input_file_path, status, created_at) values
           ('21000000-0000-4000-a000-000000000001', '{client}', '{client}/in.png', 'queued', now() - interval '20 minutes'),
           ('21000000-0000-4000-a000-000000000002', '{client}', '{client}/in.png', 'queued', now() - interval '1 minute'),
           ('21000000-0000-4000-a000-000000000003', '{client}', '{client}/in.png', 'processing', now() - interval '2 minutes');
         insert into public.render_results (request_id, output_file_path, model_used, is_fallback, created_at) values
           ('21000000-0000-4000-a000-000000000003', 'renders/a.png', 'gemini', true, now() - interval '5 minutes'),
           ('21000000-0000-4000-a000-000000000003', 'renders/b.png', 'gemini', true, now() - interval '4 minutes'),
           ('21000000-0000-4000-a000-000000000003', 'renders/c.png', 'gemini', false, now() - interval '3 minutes');
         insert into public.agent_limits (agent, scope, max_requests, max_tokens) values ('render', 'global', 10, 1000);
         insert into public.agent_limits (agent, scope, max_requests) values ('insights', 'user', 5);
         select public.increment_agent_counter('render', '{client}', null) from generate_series(1, {RENDER_CALLS});
         select public.record_agent_usage('render', '{client}', null, {RENDER_TOKENS}, 0.25);
         select public.increment_agent_counter('insights', '{client}', null) from generate_series(1, {INSIGHTS_CALLS});
         select public.record_agent_usage('insights', '{client}', null, 0, 0.10);
         insert into public.error_logs (service, error_message, created_at) values
           ('assign-leads', 'model timed out', now()),
           ('assign-leads', 'model timed out', now()),
           ('assign-leads', 'model refused', now()),
           ('process-render-request', 'bucket missing', now() - interval '2 hours');
         insert into public.leads (id, client_name, source, created_at) values
           ('21000000-0000-4000-a000-0000000000a1', 'Web Lead', 'website', now() - interval '2 hours');
         insert into public.leads (id, client_name, source, assigned_to, created_at) values
           ('21000000-0000-4000-a000-0000000000a2', 'Insta Lead', 'instagram', '{sales}', now() - interval '3 hours');
         insert into public.leads (id, client_name, source, created_at) values
           ('21000000-0000-4000-a000-0000000000a3', 'Referral Lead', 'referral', now() - interval '1 hour');
         update public.leads set assigned_to = '{sales}' where id = '21000000-0000-4000-a000-0000000000a3';"
    ))?;
    Ok(())
}
