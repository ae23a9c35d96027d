
begin
  -- pg_cron lives in one database only (cron.database_name), and elsewhere its tables do not
  -- exist: the statement is text, run only where they do.
  if pg_catalog.to_regclass('cron.job') is null then
    return query select 'moha_cron_present'::text, '{}'::jsonb, 0::numeric;
    return;
  end if;
  return query select 'moha_cron_present'::text, '{}'::jsonb, 1::numeric;
  -- A job's runs through the primary key, newest first: its last run, and how many of its last
  -- three finished runs failed in a row (enough for "failed twice in a row", and a daily job's
  -- three runs are found without reading more than three days of the history).
  -- Through format(): a constant string would be checked against cron.job by plpgsql_check
  -- (`supabase db lint`) in databases where it does not exist.
  return query execute pg_catalog.format('%s', $sql$
    select k.metric, pg_catalog.jsonb_build_object('job', j.jobname::text), k.value
      from cron.job j
      left join lateral (
        select r.start_time from cron.job_run_details r
         where r.jobid = j.jobid order by r.runid desc limit 1) last on true
      left join lateral (
        select pg_catalog.array_agg(x.status order by x.runid desc) as statuses
          from (select r.runid, r.status from cron.job_run_details r
                 where r.jobid = j.jobid and r.status in ('succeeded', 'failed')
                 order by r.runid desc limit 3) x) f on true
      cross join lateral (values
        ('moha_cron_job_active', case when j.active then 1 else 0 end::numeric),
        ('moha_cron_job_consecutive_failures',
         coalesce(pg_catalog.array_position(f.statuses, 'succeeded') - 1,
                  pg_catalog.cardinality(f.statuses), 0)::numeric),
        ('moha_cron_job_last_run_timestamp_seconds', extract(epoch from last.start_time))
      ) as k(metric, value)
     where k.value is not null
  $sql$);
end
