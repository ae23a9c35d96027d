-- Removes what 00_helpers.sql installed, so a `supabase test db` run leaves the local database
-- as it found it. Schema `tests` goes too unless something else (basejump's helpers) lives in it.
drop function if exists tests.authenticate_as_business_user(text);
drop function if exists tests.authenticate_as_anon();
do $$
begin
  drop schema if exists tests;
exception
  when dependent_objects_still_exist then
    null;
end
$$;

begin;
select plan(1);
select hasnt_function('tests', 'authenticate_as_business_user', array['text'],
  'the test helpers are gone after the run');
select * from finish();
rollback;
