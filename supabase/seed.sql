-- Demo personas and data for the local stack. `cargo xtask up` (first creation) and
-- `cargo xtask reset` run this file as `postgres` after the migrations, as `supabase db reset`
-- does; `supabase test db` and the Rust tests use the same rows. The users are those of
-- sql/schema/src/moha/personas.rs (a test checks they match); `cargo xtask token --persona NAME`
-- prints a token for each. docs/security.md explains what each persona may do.

-- Personas ------------------------------------------------------------------------------------
-- As Supabase Auth creates them: an auth.users row each (the on_auth_user_created trigger makes
-- the Client profile), then the RBAC role set as postgres (which guard_role_change allows), and
-- client records for the two portal clients.
insert into auth.users (
  instance_id, id, aud, role, email, encrypted_password, email_confirmed_at,
  confirmation_token, recovery_token, email_change_token_new, email_change,
  raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
select '00000000-0000-0000-0000-000000000000', u.id::uuid, 'authenticated', 'authenticated', u.email,
       -- The local-only demo password (sql::moha::personas::DEMO_PASSWORD), for `cargo xtask up`'s
       -- Auth API and `supabase start`'s GoTrue alike; bcrypt at Auth's cost 10. Never for real users.
       extensions.crypt('moha-demo-password', extensions.gen_salt('bf', 10)), now(),
       '', '', '', '',
       '{"provider":"email","providers":["email"]}', jsonb_build_object('full_name', u.full_name),
       now(), now()
  from (values
    ('00000000-0000-4000-a000-000000000c01', 'client@moha.test', 'Cleo Client'),
    ('00000000-0000-4000-a000-000000000c02', 'client2@moha.test', 'Cato Client'),
    ('00000000-0000-4000-a000-000000000d01', 'designer@moha.test', 'Dana Designer'),
    ('00000000-0000-4000-a000-000000000a51', 'sales.a@moha.test', 'Sam Sales'),
    ('00000000-0000-4000-a000-000000000b51', 'sales.b@moha.test', 'Sol Sales'),
    ('00000000-0000-4000-a000-000000000ad1', 'admin@moha.test', 'Ada Admin')
  ) as u (id, email, full_name)
on conflict (id) do nothing;

-- Their email identities, as Auth records a password sign-up.
insert into auth.identities (provider_id, user_id, identity_data, provider, last_sign_in_at, created_at, updated_at)
select u.id::text, u.id,
       jsonb_build_object('sub', u.id::text, 'email', u.email, 'email_verified', false, 'phone_verified', false),
       'email', now(), now(), now()
  from auth.users u
 where u.id::text like '00000000-0000-4000-a000-%'
on conflict (provider_id, provider) do nothing;

update public.users u
   set role_id = r.id
  from public.roles r
 where (u.id, r.name) in (
   ('00000000-0000-4000-a000-000000000d01'::uuid, 'Designer'),
   ('00000000-0000-4000-a000-000000000a51'::uuid, 'Sales'),
   ('00000000-0000-4000-a000-000000000b51'::uuid, 'Sales'),
   ('00000000-0000-4000-a000-000000000ad1'::uuid, 'Admin'))
   and u.role_id is distinct from r.id;

insert into public.clients (id, name, email, user_id) values
  ('11000000-0000-4000-a000-000000000001', 'client record', 'client@moha.test', '00000000-0000-4000-a000-000000000c01'),
  ('11000000-0000-4000-a000-000000000002', 'client2 record', 'client2@moha.test', '00000000-0000-4000-a000-000000000c02')
on conflict (id) do nothing;

-- Two outside agents owned by the admin, each with one API token (sql/schema/src/moha/personas.rs, AGENTS;
-- the personas agent_crm and agent_studio). The tokens are demo secrets for the local stack: only
-- their SHA-256 is stored, as agent_auth.create_token stores it.
insert into public.agents (id, name, description, owner_id, allowed_scopes) values
  ('1a000000-0000-4000-a000-000000000001', 'crm-assistant', 'Leads, notes and the inbox',
   '00000000-0000-4000-a000-000000000ad1',
   '{agent_proposals:create,agent_proposals:read,lead_notes:create,lead_notes:read,leads:read,social_accounts:read,social_messages:read}'),
  ('1a000000-0000-4000-a000-000000000002', 'studio-assistant', 'Projects, renders and blog drafts',
   '00000000-0000-4000-a000-000000000ad1',
   '{agent_proposals:create,agent_proposals:read,blog_posts:create,blog_posts:read,project_images:read,project_tags:read,projects:read,render_requests:create,render_requests:read,render_results:read,social_analytics:read}')
on conflict (id) do nothing;

insert into public.api_tokens (id, agent_id, label, prefix, token_hash, scopes, expires_at, created_by)
select t.id::uuid, t.agent_id::uuid, t.label, substr(t.token, 1, 12),
       encode(sha256(convert_to(t.token, 'UTF8')), 'hex'), a.allowed_scopes, now() + interval '90 days',
       '00000000-0000-4000-a000-000000000ad1'
  from (values
    ('1b000000-0000-4000-a000-000000000001', '1a000000-0000-4000-a000-000000000001', 'local crm token',
     'moha_demo-crm-agent-token-for-the-local-stack-on'),
    ('1b000000-0000-4000-a000-000000000002', '1a000000-0000-4000-a000-000000000002', 'local studio token',
     'moha_demo-studio-agent-token-for-the-local-stack')
  ) as t (id, agent_id, label, token)
  join public.agents a on a.id = t.agent_id::uuid
on conflict (id) do nothing;

-- Demo data -----------------------------------------------------------------------------------
-- At least one row each persona may touch and one it may not, in every table, so the
-- effective-matrix test can tell "all", "some" and "none" apart. Each row's text column names it.
insert into public.roles (name, description) values ('Intern', 'Unused role (deletable)')
on conflict (name) do nothing;

insert into public.clients (id, name) values
  ('11000000-0000-4000-a000-000000000003', 'walk-in record')
on conflict (id) do nothing;

insert into public.projects (id, title, client_id, status, is_published, published_at) values
  ('12000000-0000-4000-a000-000000000001', 'client project', '11000000-0000-4000-a000-000000000001', 'active', false, null),
  ('12000000-0000-4000-a000-000000000002', 'client2 project', '11000000-0000-4000-a000-000000000002', 'active', false, null),
  ('12000000-0000-4000-a000-000000000003', 'published project', '11000000-0000-4000-a000-000000000003', 'completed', true, now())
on conflict (id) do nothing;

insert into public.project_images (project_id, file_path, order_index) values
  ('12000000-0000-4000-a000-000000000001', 'client image', 0),
  ('12000000-0000-4000-a000-000000000002', 'client2 image', 0),
  ('12000000-0000-4000-a000-000000000003', 'published image', 0)
on conflict do nothing;

insert into public.project_tags (project_id, tag) values
  ('12000000-0000-4000-a000-000000000001', 'client tag'),
  ('12000000-0000-4000-a000-000000000002', 'client2 tag'),
  ('12000000-0000-4000-a000-000000000003', 'published tag')
on conflict do nothing;

insert into public.blog_categories (id, name, slug) values
  ('13000000-0000-4000-a000-000000000001', 'news', 'news')
on conflict (id) do nothing;

insert into public.blog_posts (id, title, slug, author_id, category_id, status, published_at) values
  ('14000000-0000-4000-a000-000000000001', 'Published post', 'published-post', '00000000-0000-4000-a000-000000000ad1', '13000000-0000-4000-a000-000000000001', 'published', now()),
  ('14000000-0000-4000-a000-000000000002', 'Designer draft', 'designer-draft', '00000000-0000-4000-a000-000000000d01', '13000000-0000-4000-a000-000000000001', 'draft', null),
  ('14000000-0000-4000-a000-000000000003', 'Admin draft', 'admin-draft', '00000000-0000-4000-a000-000000000ad1', null, 'draft', null)
on conflict (id) do nothing;

insert into public.blog_tags (post_id, tag) values
  ('14000000-0000-4000-a000-000000000001', 'published tag'),
  ('14000000-0000-4000-a000-000000000002', 'designer draft tag'),
  ('14000000-0000-4000-a000-000000000003', 'admin draft tag')
on conflict do nothing;

insert into public.blog_media (post_id, file_path) values
  ('14000000-0000-4000-a000-000000000001', 'published media'),
  ('14000000-0000-4000-a000-000000000002', 'designer draft media'),
  ('14000000-0000-4000-a000-000000000003', 'admin draft media');

insert into public.render_requests (id, user_id, project_id, input_file_path, model, status, completed_at) values
  ('15000000-0000-4000-a000-000000000001', '00000000-0000-4000-a000-000000000c01', '12000000-0000-4000-a000-000000000001', 'client render', 'gemini', 'queued', null),
  ('15000000-0000-4000-a000-000000000002', '00000000-0000-4000-a000-000000000c02', '12000000-0000-4000-a000-000000000002', 'client2 render', 'gemini', 'queued', null),
  ('15000000-0000-4000-a000-000000000003', '00000000-0000-4000-a000-000000000d01', null, 'designer render', 'claude', 'succeeded', now())
on conflict (id) do nothing;

insert into public.render_parameters (request_id, style) values
  ('15000000-0000-4000-a000-000000000002', 'client2 parameters'),
  ('15000000-0000-4000-a000-000000000003', 'designer parameters')
on conflict do nothing;

insert into public.render_results (request_id, output_file_path, model_used) values
  ('15000000-0000-4000-a000-000000000002', 'client2 result', 'gemini'),
  ('15000000-0000-4000-a000-000000000003', 'designer result', 'claude');

insert into public.leads (id, client_name, source, assigned_to, status) values
  ('16000000-0000-4000-a000-000000000001', 'lead of sales_a', 'website', '00000000-0000-4000-a000-000000000a51', 'new'),
  ('16000000-0000-4000-a000-000000000002', 'lead of sales_b', 'referral', '00000000-0000-4000-a000-000000000b51', 'contacted'),
  ('16000000-0000-4000-a000-000000000003', 'unassigned lead', 'instagram', null, 'new')
on conflict (id) do nothing;

insert into public.lead_notes (lead_id, note, created_by) values
  ('16000000-0000-4000-a000-000000000001', 'note on lead of sales_a', '00000000-0000-4000-a000-000000000a51'),
  ('16000000-0000-4000-a000-000000000002', 'note on lead of sales_b', '00000000-0000-4000-a000-000000000b51');

insert into public.lead_scoring (lead_id, score, rationale, model) values
  ('16000000-0000-4000-a000-000000000001', 70, 'score of lead of sales_a', 'claude'),
  ('16000000-0000-4000-a000-000000000002', 40, 'score of lead of sales_b', 'claude');

insert into public.social_accounts (id, platform, username) values
  ('17000000-0000-4000-a000-000000000001', 'instagram', 'moha.interiors')
on conflict (id) do nothing;

insert into public.social_messages (id, account_id, message_type, content, received_at) values
  ('18000000-0000-4000-a000-000000000001', '17000000-0000-4000-a000-000000000001', 'comment', 'inbox message', '2025-01-15 10:00:00+00')
on conflict do nothing;

insert into public.social_analytics (account_id, metric_type, value) values
  ('17000000-0000-4000-a000-000000000001', 'followers', 1200);

insert into public.social_sentiment (message_id, message_received_at, sentiment_score, model_used) values
  ('18000000-0000-4000-a000-000000000001', '2025-01-15 10:00:00+00', 0.8, 'sentiment of inbox message');

insert into public.notifications (user_id, kind, title) values
  ('00000000-0000-4000-a000-000000000c01', 'render_finished', 'notification for client'),
  ('00000000-0000-4000-a000-000000000a51', 'lead_assigned', 'notification for sales_a');

insert into public.user_sessions (user_id, session_token, expires_at) values
  ('00000000-0000-4000-a000-000000000c01', 'session of client', now() + interval '1 day'),
  ('00000000-0000-4000-a000-000000000c02', 'session of client2', now() + interval '1 day')
on conflict do nothing;

-- Pending proposals: the crm agent's (Sales and Admins decide it), the studio agent's (Admins).
insert into public.agent_proposals (id, agent_id, action, target_id, payload) values
  ('1c000000-0000-4000-a000-000000000001', '1a000000-0000-4000-a000-000000000001', 'set_lead_status',
   '16000000-0000-4000-a000-000000000001', '{"status": "qualified", "rationale": "proposal of crm-assistant"}'),
  ('1c000000-0000-4000-a000-000000000002', '1a000000-0000-4000-a000-000000000002', 'publish_post',
   '14000000-0000-4000-a000-000000000003', '{"rationale": "proposal of studio-assistant"}')
on conflict (id) do nothing;

insert into public.agent_limits (agent, scope, max_requests) values ('render', 'global', 1000)
on conflict do nothing;
insert into public.agent_usage (agent, window_start, request_count) values ('render usage', '2025-01-01', 3)
on conflict do nothing;
insert into public.ai_cache (prompt_hash, model, response) values (repeat('a', 64), 'cached answer', '{}')
on conflict do nothing;
insert into public.prompt_templates (name, agent, template, is_default) values ('render default', 'render', 'Render {style}', true)
on conflict do nothing;
insert into public.error_logs (service, error_message) values ('demo error', 'something failed');

-- Storage objects, named by each bucket's path convention (docs/security.md).
insert into storage.objects (bucket_id, name) values
  ('project-media', '12000000-0000-4000-a000-000000000001/client.jpg'),
  ('project-media', '12000000-0000-4000-a000-000000000002/client2.jpg'),
  ('project-media', '12000000-0000-4000-a000-000000000003/published.jpg'),
  ('blog-media', '14000000-0000-4000-a000-000000000001/published.jpg'),
  ('blog-media', '14000000-0000-4000-a000-000000000002/designer-draft.jpg'),
  ('blog-media', '14000000-0000-4000-a000-000000000003/admin-draft.jpg'),
  ('renders', '00000000-0000-4000-a000-000000000c01/client.png'),
  ('renders', '00000000-0000-4000-a000-000000000c02/client2.png'),
  ('renders', '00000000-0000-4000-a000-000000000d01/designer.png'),
  ('social-uploads', '17000000-0000-4000-a000-000000000001/attachment.jpg'),
  -- Approved media in the public buckets, and one stale copy each under an unpublished project
  -- and a draft: no API path leaves those (unpublishing waits for their removal), so they are
  -- seeded directly, for the policy probes to meet media outside every rule.
  ('portfolio-public', '12000000-0000-4000-a000-000000000003/published.jpg'),
  ('portfolio-public', '12000000-0000-4000-a000-000000000001/stale.jpg'),
  ('blog-public', '14000000-0000-4000-a000-000000000001/published.jpg'),
  ('blog-public', '14000000-0000-4000-a000-000000000002/stale.jpg')
on conflict (bucket_id, name) do nothing;
