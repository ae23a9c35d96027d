-- Rows the effective-matrix tests add to the demo data (run after `supabase/seed.sql`): every
-- "rule" entry must show a row it admits and one it refuses, so each persona a rule reaches owns
-- something of the kind. Demo data other tests count on stays as it is; these rows exist only
-- in the effective tests' databases. Each row's text names it.
insert into public.user_sessions (user_id, session_token, expires_at) values
  ('00000000-0000-4000-a000-000000000d01', 'session of designer', now() + interval '1 day'),
  ('00000000-0000-4000-a000-000000000a51', 'session of sales_a', now() + interval '1 day'),
  ('00000000-0000-4000-a000-000000000b51', 'session of sales_b', now() + interval '1 day'),
  ('00000000-0000-4000-a000-000000000ad1', 'session of admin', now() + interval '1 day');
insert into public.notifications (user_id, kind, title) values
  ('00000000-0000-4000-a000-000000000c02', 'render_finished', 'notification for client2'),
  ('00000000-0000-4000-a000-000000000d01', 'render_finished', 'notification for designer');
-- A draft and a published post of each signed-in author the demo posts leave out (the published
-- ones for the public bucket; the designer's draft is in the demo data). Writing them through the
-- API would need blog:create and blog:publish; the schema lets any user author a post.
insert into public.blog_posts (id, title, slug, author_id, status, published_at) values
  ('14000000-0000-4000-a000-000000000004', 'Client draft', 'client-draft', '00000000-0000-4000-a000-000000000c01', 'draft', null),
  ('14000000-0000-4000-a000-000000000005', 'Client2 draft', 'client2-draft', '00000000-0000-4000-a000-000000000c02', 'draft', null),
  ('14000000-0000-4000-a000-000000000006', 'Sales_a draft', 'sales-a-draft', '00000000-0000-4000-a000-000000000a51', 'draft', null),
  ('14000000-0000-4000-a000-000000000007', 'Sales_b draft', 'sales-b-draft', '00000000-0000-4000-a000-000000000b51', 'draft', null),
  ('14000000-0000-4000-a000-000000000011', 'Client post', 'client-post', '00000000-0000-4000-a000-000000000c01', 'published', now()),
  ('14000000-0000-4000-a000-000000000012', 'Client2 post', 'client2-post', '00000000-0000-4000-a000-000000000c02', 'published', now()),
  ('14000000-0000-4000-a000-000000000013', 'Designer post', 'designer-post', '00000000-0000-4000-a000-000000000d01', 'published', now()),
  ('14000000-0000-4000-a000-000000000014', 'Sales_a post', 'sales-a-post', '00000000-0000-4000-a000-000000000a51', 'published', now()),
  ('14000000-0000-4000-a000-000000000015', 'Sales_b post', 'sales-b-post', '00000000-0000-4000-a000-000000000b51', 'published', now());
insert into public.blog_tags (post_id, tag) values
  ('14000000-0000-4000-a000-000000000004', 'client draft tag'),
  ('14000000-0000-4000-a000-000000000005', 'client2 draft tag'),
  ('14000000-0000-4000-a000-000000000006', 'sales_a draft tag'),
  ('14000000-0000-4000-a000-000000000007', 'sales_b draft tag');
insert into public.blog_media (post_id, file_path) values
  ('14000000-0000-4000-a000-000000000004', 'client draft media'),
  ('14000000-0000-4000-a000-000000000005', 'client2 draft media'),
  ('14000000-0000-4000-a000-000000000006', 'sales_a draft media'),
  ('14000000-0000-4000-a000-000000000007', 'sales_b draft media');
-- An active render of the designer (its demo render is done), and one of each Sales user and of
-- the admin (whose renders the studio agent sees), each with parameters and a result; the
-- client's demo render gets its parameters and result too.
insert into public.render_requests (id, user_id, project_id, input_file_path, model, status) values
  ('15000000-0000-4000-a000-000000000004', '00000000-0000-4000-a000-000000000d01', null, 'designer queued render', 'gemini', 'queued'),
  ('15000000-0000-4000-a000-000000000005', '00000000-0000-4000-a000-000000000a51', null, 'sales_a render', 'gemini', 'queued'),
  ('15000000-0000-4000-a000-000000000006', '00000000-0000-4000-a000-000000000b51', null, 'sales_b render', 'gemini', 'queued'),
  ('15000000-0000-4000-a000-000000000007', '00000000-0000-4000-a000-000000000ad1', null, 'admin render', 'gemini', 'queued');
insert into public.render_parameters (request_id, style) values
  ('15000000-0000-4000-a000-000000000001', 'client parameters'),
  ('15000000-0000-4000-a000-000000000005', 'sales_a parameters'),
  ('15000000-0000-4000-a000-000000000006', 'sales_b parameters'),
  ('15000000-0000-4000-a000-000000000007', 'admin parameters');
insert into public.render_results (request_id, output_file_path, model_used) values
  ('15000000-0000-4000-a000-000000000001', 'client result', 'gemini'),
  ('15000000-0000-4000-a000-000000000005', 'sales_a result', 'gemini'),
  ('15000000-0000-4000-a000-000000000006', 'sales_b result', 'gemini'),
  ('15000000-0000-4000-a000-000000000007', 'admin result', 'gemini');
insert into storage.objects (bucket_id, name) values
  ('blog-media', '14000000-0000-4000-a000-000000000004/client-draft.jpg'),
  ('blog-media', '14000000-0000-4000-a000-000000000005/client2-draft.jpg'),
  ('blog-media', '14000000-0000-4000-a000-000000000006/sales_a-draft.jpg'),
  ('blog-media', '14000000-0000-4000-a000-000000000007/sales_b-draft.jpg'),
  ('blog-public', '14000000-0000-4000-a000-000000000011/client.jpg'),
  ('blog-public', '14000000-0000-4000-a000-000000000012/client2.jpg'),
  ('blog-public', '14000000-0000-4000-a000-000000000013/designer.jpg'),
  ('blog-public', '14000000-0000-4000-a000-000000000014/sales_a.jpg'),
  ('blog-public', '14000000-0000-4000-a000-000000000015/sales_b.jpg'),
  ('renders', '00000000-0000-4000-a000-000000000a51/sales_a.png'),
  ('renders', '00000000-0000-4000-a000-000000000b51/sales_b.png');
