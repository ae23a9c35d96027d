-- A client sees only their own projects (and published ones); anon sees only published projects
-- and their images.
begin;
select plan(5);

insert into auth.users (id, aud, role, email) values
  ('5a000000-0000-4000-a000-000000000001', 'authenticated', 'authenticated', 'tap.client.a@moha.test'),
  ('5a000000-0000-4000-a000-000000000002', 'authenticated', 'authenticated', 'tap.client.b@moha.test');
insert into public.clients (id, name, user_id) values
  ('5b000000-0000-4000-a000-000000000001', 'tap client a', '5a000000-0000-4000-a000-000000000001'),
  ('5b000000-0000-4000-a000-000000000002', 'tap client b', '5a000000-0000-4000-a000-000000000002');
insert into public.projects (id, title, client_id, status, is_published, published_at) values
  ('5c000000-0000-4000-a000-000000000001', 'tap a private', '5b000000-0000-4000-a000-000000000001', 'active', false, null),
  ('5c000000-0000-4000-a000-000000000002', 'tap b private', '5b000000-0000-4000-a000-000000000002', 'active', false, null),
  ('5c000000-0000-4000-a000-000000000003', 'tap published', '5b000000-0000-4000-a000-000000000002', 'completed', true, now());
insert into public.project_images (project_id, file_path, order_index) values
  ('5c000000-0000-4000-a000-000000000001', 'tap a image', 0),
  ('5c000000-0000-4000-a000-000000000003', 'tap published image', 0);

-- Client a (the sign-up trigger made them a Client).
-- Sign in through the access token hook, as Supabase Auth and PostgREST do (00_helpers.sql).
select tests.authenticate_as_business_user('tap.client.a@moha.test');
select set_eq(
  'select title from public.projects',
  array['tap a private', 'tap published'],
  'a client sees their own projects and published ones'
);
select is_empty(
  $$ select 1 from public.projects where id = '5c000000-0000-4000-a000-000000000002' $$,
  'a client cannot see another client''s project'
);
select is(
  (select count(*)::int from public.projects where title = 'tap b private'),
  0,
  'not even by title'
);
reset role;

select tests.authenticate_as_anon();
select set_eq(
  'select title from public.projects',
  array['tap published'],
  'anon sees only published projects'
);
select set_eq(
  'select file_path from public.project_images',
  array['tap published image'],
  'anon sees only images of published projects'
);
reset role;

select * from finish();
rollback;
