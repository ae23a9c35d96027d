//! The schedules release (issue 17): Supabase Cron, pg_net and Vault, and the operations jobs
//! scheduled (their functions and settings are the operations release's).

use super::operations::*;
use super::*;

/// Supabase Cron, pg_net and Vault. Hosted lets `postgres` create the three (supautils runs
/// `create extension` as the superuser; Vault is already there). The local stack has a real
/// pg_cron, created by the compat layer in the one database it may live in, and provides pg_net
/// and Vault itself because Debian packages neither: so each is created only where the server
/// has its package, and the file works in both places.
const EXTENSIONS: &str = r#"do $ext$
begin
  if not exists (select from pg_catalog.pg_extension where extname = 'pg_cron')
     and exists (select from pg_catalog.pg_available_extensions where name = 'pg_cron')
     and coalesce(pg_catalog.current_setting('cron.database_name', true), 'postgres') = pg_catalog.current_database()
  then
    create extension pg_cron with schema pg_catalog;
  end if;
  if not exists (select from pg_catalog.pg_extension where extname = 'pg_cron') then
    raise warning 'pg_cron is not in database %: this migration schedules no job here', pg_catalog.current_database()
      using hint = 'pg_cron lives in the database cron.database_name names (hosted and the local stack: postgres)';
  end if;
  if exists (select from pg_catalog.pg_available_extensions where name = 'pg_net') then
    create extension if not exists pg_net with schema extensions;
  elsif pg_catalog.to_regprocedure('net.http_post(text, jsonb, jsonb, jsonb, integer)') is null then
    raise exception 'pg_net is not available'
      using errcode = '0A000',
            hint = 'hosted: it is, create extension pg_net; locally: the compat layer provides net.http_post (cargo xtask up)';
  end if;
  if exists (select from pg_catalog.pg_available_extensions where name = 'supabase_vault') then
    create extension if not exists supabase_vault;
  elsif pg_catalog.to_regclass('vault.decrypted_secrets') is null then
    raise exception 'Supabase Vault is not available'
      using errcode = '0A000',
            hint = 'hosted: it is, create extension supabase_vault; locally: the compat layer provides vault (cargo xtask up)';
  end if;
end
$ext$"#;

/// The jobs, in the order `cron.job` lists them. Five-field schedules in UTC.
pub fn jobs() -> Vec<Job> {
    vec![
        Job {
            name: DRAIN_RENDERS,
            schedule: "* * * * *",
            command: JobCommand::CallFunction {
                function: "process-render-request",
                body: r#"{"drain": true}"#,
            },
            comment: "Runs the render jobs whose retry time has come (and runs that died).",
        },
        Job {
            name: FETCH_SOCIAL,
            schedule: "*/5 * * * *",
            command: JobCommand::Sql("select private.queue_social_fetches('moha-fetch-social', 10)"),
            comment: "Calls fetch-social-updates for the 10 connected accounts fetched longest ago.",
        },
        Job {
            name: PARTITION_UPKEEP,
            schedule: "15 2 * * *",
            command: JobCommand::Sql("select private.social_messages_upkeep()"),
            comment: "Keeps social_messages partitioned for the current month and three ahead, empties the default partition, archives months past the retention.",
        },
        Job {
            name: ARCHIVE_PROJECTS,
            schedule: "30 2 * * *",
            command: JobCommand::Sql("select private.archive_projects_job()"),
            comment: "Archives completed projects older than operations_settings.archive_completed_after.",
        },
        Job {
            name: PURGE,
            schedule: "45 2 * * *",
            command: JobCommand::Sql("select private.purge()"),
            comment: "Deletes what has expired, by operations_settings.",
        },
        Job {
            name: WATCH,
            schedule: "* * * * *",
            command: JobCommand::Sql("select private.watch_schedules()"),
            comment: "Writes failed scheduled calls and failed runs to error_logs.",
        },
    ]
}

pub fn release() -> Release {
    let mut changes = vec![Change::Statement(EXTENSIONS)];
    changes.extend(jobs().into_iter().map(Change::Schedule));
    Release {
        version: "20250601001700",
        name: "schedules",
        summary: "Supabase Cron jobs: drain renders, walk social accounts, partition upkeep, archive, purge, watch.",
        changes,
    }
}
