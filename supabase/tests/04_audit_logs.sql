-- audit_logs is append-only: an Admin reads it, but nobody updates or deletes it, Admin and
-- service_role included.
begin;
select plan(7);

insert into auth.users (id, aud, role, email) values
  ('5f000000-0000-4000-a000-000000000001', 'authenticated', 'authenticated', 'tap.admin@moha.test'),
  ('5f000000-0000-4000-a000-000000000002', 'authenticated', 'authenticated', 'tap.client@moha.test');
update public.users set role_id = (select id from public.roles where name = 'Admin')
 where id = '5f000000-0000-4000-a000-000000000001';

-- Sign in through the access token hook, as Supabase Auth and PostgREST do (00_helpers.sql).
select tests.authenticate_as_business_user('tap.admin@moha.test');
select isnt_empty('select 1 from public.audit_logs', 'an Admin reads the audit trail');
select throws_ok('update public.audit_logs set action = action', '42501', null,
  'an Admin cannot update audit rows');
select throws_ok('delete from public.audit_logs', '42501', null,
  'an Admin cannot delete audit rows');
select throws_ok('truncate public.audit_logs', '42501', null,
  'an Admin cannot truncate the audit trail');
reset role;

set local role service_role;
select throws_ok('delete from public.audit_logs', '42501', null,
  'service_role cannot delete audit rows either');
reset role;

-- Sign in through the access token hook, as Supabase Auth and PostgREST do (00_helpers.sql).
select tests.authenticate_as_business_user('tap.client@moha.test');
select throws_ok('select 1 from public.audit_logs', '42501', null,
  'a client''s role has no privilege on the audit trail');
reset role;

select tests.authenticate_as_anon();
select throws_ok('select 1 from public.audit_logs', '42501', null, 'anon cannot read audit rows');
reset role;

select * from finish();
rollback;
