  -- The observability metrics' own statement (public.backend_metrics), so the counters exist once.
  select pg_catalog.jsonb_build_object(
    'render_queue', coalesce(sum(m.value) filter (where m.metric = 'moha_render_jobs' and m.labels ->> 'status' = 'queued'), 0),
    'ai_cost_usd_today', coalesce(sum(m.value) filter (where m.metric = 'moha_ai_cost_usd_today'), 0),
    'errors_recent', coalesce(sum(m.value) filter (where m.metric = 'moha_errors_recent'), 0),
    'leads_unassigned', coalesce(sum(m.value) filter (where m.metric = 'moha_leads_unassigned'), 0),
    'at', pg_catalog.now())
  from public.backend_metrics() m
