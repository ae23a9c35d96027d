-- Storage folders: a user writes renders only under `<their id>/`, with no traversal tricks;
-- anon reads only media of published projects and lists no bucket.
begin;
select plan(8);

insert into auth.users (id, aud, role, email) values
  ('62000000-0000-4000-a000-000000000001', 'authenticated', 'authenticated', 'tap.render.a@moha.test'),
  ('62000000-0000-4000-a000-000000000002', 'authenticated', 'authenticated', 'tap.render.b@moha.test');
insert into public.clients (id, name) values ('63000000-0000-4000-a000-000000000001', 'tap walk-in');
insert into public.projects (id, title, client_id, status, is_published, published_at) values
  ('64000000-0000-4000-a000-000000000001', 'tap private', '63000000-0000-4000-a000-000000000001', 'active', false, null),
  ('64000000-0000-4000-a000-000000000002', 'tap published', '63000000-0000-4000-a000-000000000001', 'completed', true, now());
insert into storage.objects (bucket_id, name) values
  ('project-media', '64000000-0000-4000-a000-000000000001/private.jpg'),
  ('project-media', '64000000-0000-4000-a000-000000000002/published.jpg'),
  ('renders', '62000000-0000-4000-a000-000000000002/b.png');

-- Sign in through the access token hook, as Supabase Auth and PostgREST do (00_helpers.sql).
select tests.authenticate_as_business_user('tap.render.a@moha.test');
select lives_ok(
  $$ insert into storage.objects (bucket_id, name) values ('renders', '62000000-0000-4000-a000-000000000001/a.png') $$,
  'a user uploads a render into their own folder'
);
select throws_ok(
  $$ insert into storage.objects (bucket_id, name) values ('renders', '62000000-0000-4000-a000-000000000002/a.png') $$,
  '42501', null,
  'but not into another user''s folder'
);
select throws_ok(
  $$ insert into storage.objects (bucket_id, name) values ('renders', '62000000-0000-4000-a000-000000000001/../62000000-0000-4000-a000-000000000002/a.png') $$,
  '42501', null,
  'nor through a .. segment'
);
select throws_ok(
  $$ insert into storage.objects (bucket_id, name) values ('renders', '62000000-0000-4000-a000-000000000001%2F..%2Fx.png') $$,
  '42501', null,
  'nor through encoded separators'
);
select is_empty(
  $$ select 1 from storage.objects where bucket_id = 'renders' and name like '62000000-0000-4000-a000-000000000002/%' $$,
  'a user cannot read another user''s renders'
);
reset role;

select tests.authenticate_as_anon();
select set_eq(
  $$ select name from storage.objects where bucket_id = 'project-media' and name like '64000000-%' $$,
  array['64000000-0000-4000-a000-000000000002/published.jpg'],
  'anon reads only media of published projects'
);
select is_empty($$ select 1 from storage.objects where bucket_id = 'renders' $$,
  'anon lists no renders');
select is_empty('select 1 from storage.buckets', 'anon lists no buckets');
reset role;

select * from finish();
rollback;
