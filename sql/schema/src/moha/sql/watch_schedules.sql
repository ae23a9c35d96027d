
declare
  v_logged integer := 0;
  v_n integer;
  v_last bigint;
begin
  -- Calls through pg_net: pg_cron records their job as succeeded as soon as the request is
  -- queued, so the answer in pg_net's response table decides.
  with judged as (
    update private.scheduled_calls c
       set judged_at = pg_catalog.now(),
           status_code = r.status_code,
           failure = case
             when r.timed_out then 'timed out'
             when r.error_msg is not null then r.error_msg
             when r.status_code is null or r.status_code not between 200 and 299
               then 'answered ' || coalesce(r.status_code::text, 'nothing')
           end
      from net._http_response r
     where r.id = c.request_id
       and c.judged_at is null
    returning c.request_id, c.job, c.function_name, c.payload, c.status_code, c.failure, r.content
  )
  insert into public.error_logs (service, error_message, context)
  select 'schedule', j.job || ': ' || j.function_name || ' ' || j.failure,
         pg_catalog.jsonb_build_object('job', j.job, 'function', j.function_name,
           'request_id', j.request_id, 'status', j.status_code, 'body', j.payload,
           'response', pg_catalog.left(j.content, 2000))
    from judged j
   where j.failure is not null;
  get diagnostics v_n = row_count;
  v_logged := v_logged + v_n;

  -- No answer at all long after the call's own timeout (150 s): the worker or the network.
  with lost as (
    update private.scheduled_calls c
       set judged_at = pg_catalog.now(), failure = 'no answer within 15 minutes'
     where c.judged_at is null
       and c.queued_at < pg_catalog.now() - interval '15 minutes'
    returning c.request_id, c.job, c.function_name, c.payload, c.failure
  )
  insert into public.error_logs (service, error_message, context)
  select 'schedule', l.job || ': ' || l.function_name || ' ' || l.failure,
         pg_catalog.jsonb_build_object('job', l.job, 'function', l.function_name,
           'request_id', l.request_id, 'body', l.payload)
    from lost l;
  get diagnostics v_n = row_count;
  v_logged := v_logged + v_n;

  -- Runs pg_cron saw fail (an SQL error). Dynamic SQL, with the schema as an argument so no
  -- checker resolves it: pg_cron lives in one database only.
  if pg_catalog.to_regclass('cron.job_run_details') is not null then
    select w.last_runid into v_last from private.scheduler_watch w where w.id;
    execute pg_catalog.format($sql$
      insert into public.error_logs (service, error_message, context)
      select 'schedule', coalesce(j.jobname, 'job ' || d.jobid) || ': ' || coalesce(d.return_message, 'failed'),
             pg_catalog.jsonb_build_object('job', j.jobname, 'runid', d.runid,
               'start_time', d.start_time, 'end_time', d.end_time)
        from %1$I.job_run_details d
        left join %1$I.job j on j.jobid = d.jobid
       where d.runid > $1
         and d.status = 'failed'
         and not exists (
           select from public.error_logs e
            where e.service = 'schedule'
              and e.created_at > pg_catalog.now() - interval '7 days'
              and e.context ->> 'runid' = d.runid::text)
    $sql$, 'cron') using v_last;
    get diagnostics v_n = row_count;
    v_logged := v_logged + v_n;
    -- Move past finished runs only: one still running may fail later.
    execute pg_catalog.format($sql$
      update private.scheduler_watch w
         set last_runid = coalesce(
               (select pg_catalog.min(d.runid) - 1 from %1$I.job_run_details d
                 where d.runid > $1 and d.status not in ('succeeded', 'failed')),
               (select pg_catalog.max(d.runid) from %1$I.job_run_details d),
               $1)
       where w.id
    $sql$, 'cron') using v_last;
  end if;
  return v_logged;
end
