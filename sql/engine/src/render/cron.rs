//! Supabase Cron jobs.

use super::*;

/// The SQL a job runs, as `cron.job.command` holds it.
pub fn job_command(job: &Job) -> Result<String, Error> {
    Ok(match &job.command {
        JobCommand::Sql(sql) => sql.trim().trim_end_matches(';').to_string(),
        JobCommand::CallFunction { function, body } => {
            let (schema, name) = CALL_EDGE_FUNCTION;
            format!(
                "select {}.{}({}, {}, {}::jsonb)",
                ident(schema)?,
                ident(name)?,
                literal(job.name)?,
                literal(function)?,
                literal(body.trim())?
            )
        }
    })
}

/// `cron.schedule` by name, as Supabase Cron does it: the job runs as the role that ran the
/// migration (`postgres`), in the database `cron.database_name` names.
pub(super) fn schedule(job: &Job) -> Result<String, Error> {
    let command = job_command(job)?;
    Ok(where_pg_cron(&format!(
        "perform cron.schedule({}, {}, {});",
        literal(job.name)?,
        literal(job.schedule)?,
        dollar_quote(&command)
    )))
}

/// Removes the job where it exists; `cron.unschedule(name)` would fail where it does not.
pub(super) fn unschedule(job: &str) -> Result<String, Error> {
    Ok(where_pg_cron(&format!(
        "perform cron.unschedule(j.jobid) from cron.job j where j.jobname = {} and j.username = current_user;",
        literal(job)?
    )))
}

/// `statement` (PL/pgSQL) where pg_cron is installed. pg_cron lives in one database only, the one
/// `cron.database_name` names (hosted: `postgres`, the project's database); a migration applied
/// to any other database leaves its jobs out instead of failing.
fn where_pg_cron(statement: &str) -> String {
    let body = format!(
        "\nbegin\n  if exists (select from pg_catalog.pg_extension where extname = 'pg_cron') then\n    {statement}\n  end if;\nend\n"
    );
    format!("do {};\n", dollar_quote(&body))
}
