-- social_accounts.access_token is readable by no API role, Admin and service_role included; the
-- rest of the row stays readable for those the matrix allows.
begin;
select plan(6);

insert into auth.users (id, aud, role, email) values
  ('60000000-0000-4000-a000-000000000001', 'authenticated', 'authenticated', 'tap.admin2@moha.test');
update public.users set role_id = (select id from public.roles where name = 'Admin')
 where id = '60000000-0000-4000-a000-000000000001';
insert into public.social_accounts (id, platform, username) values
  ('61000000-0000-4000-a000-000000000001', 'instagram', 'tap.account');

-- Sign in through the access token hook, as Supabase Auth and PostgREST do (00_helpers.sql).
select tests.authenticate_as_business_user('tap.admin2@moha.test');
select is(
  (select username from public.social_accounts where id = '61000000-0000-4000-a000-000000000001'),
  'tap.account',
  'an Admin reads the account'
);
select throws_ok('select access_token from public.social_accounts', '42501', null,
  'but not its access_token');
select throws_ok('select s from public.social_accounts s', '42501', null,
  'not even as a whole row');
reset role;

set local role service_role;
select throws_ok('select access_token from public.social_accounts', '42501', null,
  'service_role cannot read access_token');
reset role;

-- ai_agent has no usage on the extensions schema (pgTAP lives there), so ask the catalog.
select is_empty(
  $$ select r from unnest(array['anon', 'authenticated', 'service_role', 'ai_agent']) r
      where has_column_privilege(r, 'public.social_accounts', 'access_token', 'select')
         or has_column_privilege(r, 'public.social_accounts', 'access_token', 'update') $$,
  'no API role (ai_agent included) may select or update access_token'
);

select tests.authenticate_as_anon();
select throws_ok('select access_token from public.social_accounts', '42501', null,
  'anon cannot read access_token');
reset role;

select * from finish();
rollback;
