-- Every table the API exposes has row level security and a policy, no policy applies to PUBLIC,
-- and anon can execute no security-definer function. Run with `supabase test db` (Docker) or
-- `cargo xtask test` (pg_prove on a throwaway database).
begin;
select plan(5);

select is_empty(
  $$ select c.oid::regclass::text
       from pg_catalog.pg_class c
       join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relrowsecurity $$,
  'row level security is enabled on every table in public'
);

select is_empty(
  $$ select c.oid::regclass::text
       from pg_catalog.pg_class c
       join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'public' and c.relkind in ('r', 'p')
        and not exists (select from pg_catalog.pg_policy p where p.polrelid = c.oid) $$,
  'every table in public has at least one policy'
);

select is_empty(
  $$ select polname from pg_catalog.pg_policy where 0 = any (polroles) $$,
  'no policy applies to PUBLIC (every policy names its roles)'
);

select is_empty(
  $$ select p.oid::regprocedure::text
       from pg_catalog.pg_proc p
       join pg_catalog.pg_namespace n on n.oid = p.pronamespace
      where p.prosecdef and n.nspname in ('public', 'private', 'authz')
        and pg_catalog.has_function_privilege('anon', p.oid, 'execute') $$,
  'anon can execute no security-definer function'
);

select tests.authenticate_as_anon();
select throws_ok(
  'select authz.is_admin()',
  '42501',
  null,
  'anon cannot call the is_admin helper'
);
reset role;

select * from finish();
rollback;
