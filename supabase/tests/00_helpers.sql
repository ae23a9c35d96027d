-- pgTAP helpers for this project's RLS tests, in schema `tests` as basejump's
-- supabase-test-helpers keep theirs (and under names that library does not use, so both can be
-- installed). Signing in here goes through the project's access token hook, as Supabase Auth
-- does, so a user gets the database role of their business role (`moha_sales`, ...), not the
-- bare `authenticated` that basejump's `tests.authenticate_as` gives.
--
-- Installed by the test run, never by a migration: pg_prove runs this file first (it runs files
-- in name order), under `supabase test db` as under `cargo xtask test`, and
-- `99_drop_helpers.sql` removes it last. Call the helpers inside a test's transaction: what
-- they set lasts until its `rollback`.
--
--   tests.authenticate_as_business_user(email text) returns jsonb
--     Signs in as the auth.users row with that email (case-insensitive): builds the claims
--     Supabase Auth puts in an access token, passes them through
--     authz.custom_access_token_hook, then sets `request.jwt.claims` to the hook's claims and
--     switches to the role they name, as PostgREST does. Returns those claims. Works from any
--     role a previous sign-in switched to. No such user: SQLSTATE P0002; the hook refusing the
--     sign-in, or naming a role that does not exist: 28000.
--   tests.authenticate_as_anon() returns jsonb
--     Switches to `anon` with the claims of the project's anon key.

create schema if not exists tests;
grant usage on schema tests to anon, authenticated, service_role;

-- Security invoker and without a SET clause on purpose: a SET clause (or security definer)
-- would undo the role and claims this function sets when it returns.
create or replace function tests.authenticate_as_business_user(email text)
returns jsonb
language plpgsql
as $$
declare
  v_user record;
  v_now bigint := pg_catalog.floor(extract(epoch from pg_catalog.now()))::bigint;
  v_event jsonb;
  v_claims jsonb;
  v_role text;
begin
  -- Back to the session user first (postgres): it reads auth.users and runs the hook, as
  -- Supabase Auth runs it with its own role, whoever signed in before.
  perform pg_catalog.set_config('role', 'none', true);

  select u.id, u.email, u.phone, u.raw_app_meta_data, u.raw_user_meta_data, u.is_anonymous
    into v_user
    from auth.users u
   where pg_catalog.lower(u.email) = pg_catalog.lower(authenticate_as_business_user.email)
     and not u.is_sso_user;
  if not found then
    raise exception 'tests.authenticate_as_business_user: no user with email %',
      authenticate_as_business_user.email
      using errcode = 'no_data_found';
  end if;

  -- The claims Supabase Auth gives a password sign-in before the hook runs.
  v_event := pg_catalog.jsonb_build_object(
    'user_id', v_user.id,
    'authentication_method', 'password',
    'claims', pg_catalog.jsonb_build_object(
      'iss', 'http://127.0.0.1:54321/auth/v1',
      'sub', v_user.id,
      'aud', 'authenticated',
      'exp', v_now + 3600,
      'iat', v_now,
      'email', coalesce(v_user.email, ''),
      'phone', coalesce(v_user.phone, ''),
      'app_metadata', coalesce(v_user.raw_app_meta_data, '{}'::jsonb),
      'user_metadata', coalesce(v_user.raw_user_meta_data, '{}'::jsonb),
      'role', 'authenticated',
      'aal', 'aal1',
      'amr', pg_catalog.jsonb_build_array(
        pg_catalog.jsonb_build_object('method', 'password', 'timestamp', v_now)),
      'session_id', pg_catalog.gen_random_uuid(),
      'is_anonymous', v_user.is_anonymous));

  v_event := authz.custom_access_token_hook(v_event);
  if v_event ? 'error' then
    raise exception 'tests.authenticate_as_business_user: the access token hook refused %: %',
      authenticate_as_business_user.email, v_event -> 'error'
      using errcode = 'invalid_authorization_specification';
  end if;
  v_claims := v_event -> 'claims';
  v_role := v_claims ->> 'role';
  if v_role is null
     or not exists (select from pg_catalog.pg_roles r where r.rolname = v_role) then
    raise exception 'tests.authenticate_as_business_user: the hook gave % the role %, which is not a database role',
      authenticate_as_business_user.email, v_role
      using errcode = 'invalid_authorization_specification';
  end if;

  perform pg_catalog.set_config('request.jwt.claims', v_claims::text, true);
  -- The legacy per-claim settings win over the claims in auth.uid()/role()/email(): clear them.
  perform pg_catalog.set_config('request.jwt.claim.sub', '', true);
  perform pg_catalog.set_config('request.jwt.claim.role', '', true);
  perform pg_catalog.set_config('request.jwt.claim.email', '', true);
  perform pg_catalog.set_config('role', v_role, true);
  return v_claims;
end
$$;

create or replace function tests.authenticate_as_anon()
returns jsonb
language plpgsql
as $$
declare
  -- The payload of the anon key `cargo xtask up` and `supabase start` print.
  v_claims jsonb := '{"iss": "supabase-demo", "role": "anon", "exp": 1983812996}';
begin
  perform pg_catalog.set_config('role', 'none', true);
  perform pg_catalog.set_config('request.jwt.claims', v_claims::text, true);
  perform pg_catalog.set_config('request.jwt.claim.sub', '', true);
  perform pg_catalog.set_config('request.jwt.claim.role', '', true);
  perform pg_catalog.set_config('request.jwt.claim.email', '', true);
  perform pg_catalog.set_config('role', 'anon', true);
  return v_claims;
end
$$;

revoke all on function tests.authenticate_as_business_user(text), tests.authenticate_as_anon()
  from public;
-- A test signed in as someone may sign in as someone else.
grant execute on function tests.authenticate_as_business_user(text), tests.authenticate_as_anon()
  to anon, authenticated, service_role;

-- The helpers themselves.
begin;
select plan(10);

insert into auth.users (id, aud, role, email) values
  ('5f100000-0000-4000-a000-000000000001', 'authenticated', 'authenticated', 'tap.helper.sales@moha.test'),
  ('5f100000-0000-4000-a000-000000000002', 'authenticated', 'authenticated', 'tap.helper.client@moha.test');
update public.users set role_id = (select id from public.roles where name = 'Sales')
 where id = '5f100000-0000-4000-a000-000000000001';

select is(
  tests.authenticate_as_business_user('TAP.Helper.Sales@moha.test') ->> 'role',
  'moha_sales',
  'the hook gives a Sales user the moha_sales role (email matched case-insensitively)'
);
select is(current_user::text, 'moha_sales', 'and the session switched to it');
select is(auth.uid(), '5f100000-0000-4000-a000-000000000001'::uuid, 'auth.uid() is the user');
select is(auth.jwt() ->> 'aud', 'authenticated', 'the claims are those of an access token');

select tests.authenticate_as_business_user('tap.helper.client@moha.test');
select is(current_user::text, 'moha_client',
  'signing in as someone else works from the previous user''s role (a sign-up is a Client)');
select is(auth.uid(), '5f100000-0000-4000-a000-000000000002'::uuid, 'with that user''s id');

select tests.authenticate_as_anon();
select is(current_user::text, 'anon', 'authenticate_as_anon switches to anon');
select is(auth.uid(), null, 'with no user');

select throws_ok(
  $$ select tests.authenticate_as_business_user('nobody@moha.test') $$,
  'P0002', null,
  'an unknown email is refused'
);
select is(current_user::text, 'anon', 'and a refused sign-in leaves the role as it was');
reset role;

select * from finish();
rollback;
