-- Supabase Cron (issue 17): pg_cron, created as hosted creates it when a project enables it.
-- Hosted preloads pg_cron with `cron.database_name = 'postgres'`, and supautils runs `create
-- extension pg_cron` as the superuser in schema pg_catalog (supautils.conf's
-- extensions_parameter_overrides), then its after-create script gives postgres the grants below
-- (supabase/postgres ansible/files/postgresql_extension_custom_scripts/pg_cron/after-create.sql).
--
-- pg_cron's own script refuses every database but the one `cron.database_name` names, so only
-- that database gets it; migrations applied anywhere else leave their jobs out (see
-- sql::render::where_pg_cron). Idempotent; run as the superuser.
do $cron$
begin
  if not exists (select from pg_catalog.pg_extension where extname = 'pg_cron')
     and exists (select from pg_catalog.pg_available_extensions where name = 'pg_cron')
     and pg_catalog.current_setting('cron.database_name', true) = pg_catalog.current_database()
  then
    create extension pg_cron with schema pg_catalog;
  end if;
  if not exists (select from pg_catalog.pg_extension where extname = 'pg_cron') then
    return;
  end if;
  grant usage on schema cron to postgres with grant option;
  grant all on all functions in schema cron to postgres with grant option;
  if exists (select from pg_catalog.pg_roles where rolname = 'supabase_admin') then
    alter default privileges for user supabase_admin in schema cron
      grant all on sequences to postgres with grant option;
    alter default privileges for user supabase_admin in schema cron
      grant all on tables to postgres with grant option;
    alter default privileges for user supabase_admin in schema cron
      grant all on functions to postgres with grant option;
  end if;
  grant all privileges on all tables in schema cron to postgres with grant option;
  -- postgres reads cron.job and changes it only through cron.schedule/unschedule/alter_job.
  revoke all on table cron.job from postgres;
  grant select on table cron.job to postgres with grant option;
end
$cron$;
