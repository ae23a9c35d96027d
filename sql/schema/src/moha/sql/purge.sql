
declare
  s public.operations_settings;
  v_counts jsonb := '{}'::jsonb;
  v_n bigint;
begin
  select * into strict s from public.operations_settings o where o.id;

  delete from public.ai_cache c where c.expires_at < pg_catalog.now();
  get diagnostics v_n = row_count;
  v_counts := v_counts || pg_catalog.jsonb_build_object('ai_cache', v_n);

  delete from public.notifications n where n.read_at < pg_catalog.now() - s.read_notifications_kept;
  get diagnostics v_n = row_count;
  v_counts := v_counts || pg_catalog.jsonb_build_object('notifications', v_n);

  delete from public.agent_usage u where u.window_start < pg_catalog.now() - s.agent_usage_kept;
  get diagnostics v_n = row_count;
  v_counts := v_counts || pg_catalog.jsonb_build_object('agent_usage', v_n);

  -- The project's own session records past their expiry (audited as deletes).
  delete from public.user_sessions u where u.expires_at < pg_catalog.now();
  get diagnostics v_n = row_count;
  v_counts := v_counts || pg_catalog.jsonb_build_object('user_sessions', v_n);

  -- Supabase Auth's sessions past their time box (hosted; the local stack has no such table).
  if pg_catalog.to_regclass('auth.sessions') is not null then
    execute pg_catalog.format('delete from %I.sessions s where s.not_after < pg_catalog.now()', 'auth');
    get diagnostics v_n = row_count;
    v_counts := v_counts || pg_catalog.jsonb_build_object('auth_sessions', v_n);
  end if;

  -- The scheduler's own history grows with every run unless trimmed.
  if pg_catalog.to_regclass('cron.job_run_details') is not null then
    execute pg_catalog.format('delete from %I.job_run_details d where d.end_time < pg_catalog.now() - $1', 'cron')
      using s.scheduler_history_kept;
    get diagnostics v_n = row_count;
    v_counts := v_counts || pg_catalog.jsonb_build_object('cron_job_run_details', v_n);
  end if;
  delete from net._http_response r where r.created < pg_catalog.now() - s.scheduler_history_kept;
  get diagnostics v_n = row_count;
  v_counts := v_counts || pg_catalog.jsonb_build_object('net_http_response', v_n);
  delete from private.scheduled_calls c where c.judged_at < pg_catalog.now() - s.scheduler_history_kept;
  get diagnostics v_n = row_count;
  v_counts := v_counts || pg_catalog.jsonb_build_object('scheduled_calls', v_n);
  return v_counts;
end
