-- Demo data for the personas (personas.sql first): at least one row each persona may touch and
-- one it may not, in every table, so the effective-matrix test can tell "all", "some" and
-- "none" apart. Each row's text column names it (the test's row labels). Run as postgres.
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
  ('social-uploads', '17000000-0000-4000-a000-000000000001/attachment.jpg')
on conflict (bucket_id, name) do nothing;
