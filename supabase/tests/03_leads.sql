-- A Sales user sees only the leads assigned to them, may update them, but cannot reassign them
-- (assigned_to is written by an Admin or the assign-leads agent only).
begin;
select plan(6);

insert into auth.users (id, aud, role, email) values
  ('5d000000-0000-4000-a000-000000000001', 'authenticated', 'authenticated', 'tap.sales.a@moha.test'),
  ('5d000000-0000-4000-a000-000000000002', 'authenticated', 'authenticated', 'tap.sales.b@moha.test');
update public.users set role_id = (select id from public.roles where name = 'Sales')
 where id in ('5d000000-0000-4000-a000-000000000001', '5d000000-0000-4000-a000-000000000002');
insert into public.leads (id, client_name, source, assigned_to, status) values
  ('5e000000-0000-4000-a000-000000000001', 'tap lead of a', 'website', '5d000000-0000-4000-a000-000000000001', 'new'),
  ('5e000000-0000-4000-a000-000000000002', 'tap lead of b', 'website', '5d000000-0000-4000-a000-000000000002', 'new'),
  ('5e000000-0000-4000-a000-000000000003', 'tap unassigned', 'website', null, 'new');

-- Sign in through the access token hook, as Supabase Auth and PostgREST do (00_helpers.sql).
select tests.authenticate_as_business_user('tap.sales.a@moha.test');
select set_eq(
  'select client_name from public.leads',
  array['tap lead of a'],
  'a Sales user sees only their assigned leads'
);
select lives_ok(
  $$ update public.leads set status = 'contacted' where id = '5e000000-0000-4000-a000-000000000001' $$,
  'a Sales user updates their own lead'
);
select throws_ok(
  $$ update public.leads set assigned_to = '5d000000-0000-4000-a000-000000000002'
      where id = '5e000000-0000-4000-a000-000000000001' $$,
  '42501',
  null,
  'a Sales user cannot reassign their lead to someone else'
);
select throws_ok(
  $$ update public.leads set assigned_to = null where id = '5e000000-0000-4000-a000-000000000001' $$,
  '42501',
  null,
  'nor unassign it'
);
select throws_ok(
  $$ update public.leads set assigned_to = (select auth.uid())
      where id in ('5e000000-0000-4000-a000-000000000002', '5e000000-0000-4000-a000-000000000003') $$,
  '42501',
  null,
  'nor take over another''s or an unassigned lead (assigned_to is an Admin''s to write)'
);
reset role;

select is(
  (select assigned_to from public.leads where id = '5e000000-0000-4000-a000-000000000001'),
  '5d000000-0000-4000-a000-000000000001'::uuid,
  'the lead is still assigned to a'
);

select * from finish();
rollback;
