-- A client sees only their own projects (and published ones); anon sees only published projects
-- and their images. Correct with or without seed.sql: the expected sets are read as `postgres`
-- (who bypasses RLS) before any role switch, so other published projects are expected too.
begin;
select plan(7);

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

select coalesce(array_agg(p.title), '{}') as client_a_sees from public.projects p
 where p.is_published or p.client_id = '5b000000-0000-4000-a000-000000000001' \gset
select coalesce(array_agg(p.title), '{}') as anon_sees from public.projects p where p.is_published \gset
select coalesce(array_agg(i.file_path), '{}') as anon_images from public.project_images i
  join public.projects p on p.id = i.project_id where p.is_published \gset

-- Client a (the sign-up trigger made them a Client).
-- Sign in through the access token hook, as Supabase Auth and PostgREST do (00_helpers.sql).
select tests.authenticate_as_business_user('tap.client.a@moha.test');
select ok(
  :'client_a_sees'::text[] @> array['tap a private', 'tap published'],
  'the expected set holds the client''s project and the published one'
);
select set_eq(
  'select title from public.projects',
  :'client_a_sees'::text[],
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
  :'anon_sees'::text[],
  'anon sees only published projects'
);
select set_eq(
  'select file_path from public.project_images',
  :'anon_images'::text[],
  'anon sees only images of published projects'
);
select ok(
  'tap published image' = any (:'anon_images'::text[])
    and not 'tap a image' = any (:'anon_images'::text[])
    and not 'tap b private' = any (:'anon_sees'::text[]),
  'the expected sets hold the published image and leave the private ones out'
);
reset role;

select * from finish();
rollback;
