
begin
  -- One statement. Each part reads an index or a small table, so the whole stays cheap on large
  -- tables (benchmark P9): the render queue through render_requests_queue_idx with constant
  -- statuses (a partial index needs them to be provable), errors through (service, created_at)
  -- with one probe per service, unassigned leads through (assigned_to, created_at), unread
  -- messages per account through the partial unread index of the pruned partitions.
  return query
  with recursive
    queue as (
      select 'queued'::text as status, pg_catalog.count(*) as n, pg_catalog.min(r.created_at) as oldest
        from public.render_requests r where r.status = 'queued'::public.render_status
      union all
      select 'pending', pg_catalog.count(*), pg_catalog.min(r.created_at)
        from public.render_requests r where r.status = 'pending'::public.render_status
      union all
      select 'processing', pg_catalog.count(*), pg_catalog.min(r.created_at)
        from public.render_requests r where r.status = 'processing'::public.render_status
    ),
    results as (
      select f.fallback, pg_catalog.count(r.id) as n
        from (values (true), (false)) as f(fallback)
        left join public.render_results r
          on r.is_fallback = f.fallback and r.created_at > pg_catalog.now() - interval '1 hour'
       group by f.fallback
    ),
    -- Today's usage of each agent: its global limit's windows when it has one (every call
    -- counts there), else its per-user rows (a call without a limit counts in its user's row of
    -- the day). cargo xtask inspect's ai-usage report counts the same way.
    ai_today as (
      select u.agent, pg_catalog.sum(u.request_count) as requests, pg_catalog.sum(u.tokens) as tokens,
             pg_catalog.sum(u.cost) as usd
        from public.agent_usage u
       where u.window_start >= pg_catalog.date_trunc('day', pg_catalog.now(), 'UTC')
         and u.project_id is null
         and (u.user_id is null
              or not exists (select 1 from public.agent_limits g
                              where g.agent = u.agent and g.scope = 'global'::public.agent_scope))
       group by u.agent
    ),
    -- Each limit with the most of it used in its current window; a scope's default row (no
    -- user, no project) covers the users (projects) without a row of their own.
    ai_limits as (
      select l.agent, l.scope::text as scope,
             case when l.max_requests = 0 then 1
                  else coalesce(pg_catalog.max(u.request_count), 0)::numeric / l.max_requests end as requests_used,
             case when l.max_tokens is null then null when l.max_tokens = 0 then 1
                  else coalesce(pg_catalog.max(u.tokens), 0)::numeric / l.max_tokens end as tokens_used
        from public.agent_limits l
        left join public.agent_usage u
          on u.agent = l.agent
         and u.window_start = pg_catalog.to_timestamp(
               pg_catalog.floor(extract(epoch from pg_catalog.now()) / l.window_seconds) * l.window_seconds)
         and case l.scope
               when 'global'::public.agent_scope then u.user_id is null and u.project_id is null
               when 'user'::public.agent_scope then u.project_id is null and u.user_id is not null
                    and (u.user_id = l.user_id
                         or (l.user_id is null and not exists (
                               select 1 from public.agent_limits o
                                where o.agent = l.agent and o.scope = 'user'::public.agent_scope
                                  and o.user_id = u.user_id)))
               else u.user_id is null and u.project_id is not null
                    and (u.project_id = l.project_id
                         or (l.project_id is null and not exists (
                               select 1 from public.agent_limits o
                                where o.agent = l.agent and o.scope = 'project'::public.agent_scope
                                  and o.project_id = u.project_id)))
             end
       group by l.id
    ),
    -- The distinct services of error_logs, one index probe each (a loose index scan).
    services as (
      (select e.service from public.error_logs e order by e.service limit 1)
      union all
      select (select e.service from public.error_logs e where e.service > s.service
               order by e.service limit 1)
        from services s where s.service is not null
    ),
    unassigned as (
      select pg_catalog.count(*) as n, pg_catalog.min(l.created_at) as oldest
        from public.leads l where l.assigned_to is null
    ),
    ahead as (
      select pg_catalog.count(*) filter (
               where b.lo >= pg_catalog.date_trunc('month', pg_catalog.now(), 'UTC') + interval '1 month') as n
        from (select (pg_catalog.regexp_match(pg_catalog.pg_get_expr(c.relpartbound, c.oid),
                                              'FROM \(''([^'']+)''\)'))[1]::timestamptz as lo
                from pg_catalog.pg_inherits i
                join pg_catalog.pg_class c on c.oid = i.inhrelid
               where i.inhparent = 'public.social_messages'::pg_catalog.regclass) b
    ),
    samples (m, l, v) as (
      select 'moha_render_jobs', pg_catalog.jsonb_build_object('status', q.status), q.n::numeric
        from queue q
      union all
      select 'moha_render_jobs_oldest_age_seconds', pg_catalog.jsonb_build_object('status', q.status),
             coalesce(extract(epoch from pg_catalog.now() - q.oldest), 0)
        from queue q
      union all
      select 'moha_render_results_last_hour', pg_catalog.jsonb_build_object('fallback', r.fallback::text), r.n::numeric
        from results r
      union all
      select 'moha_ai_requests_today', pg_catalog.jsonb_build_object('agent', a.agent), a.requests::numeric
        from ai_today a
      union all
      select 'moha_ai_tokens_today', pg_catalog.jsonb_build_object('agent', a.agent), a.tokens::numeric
        from ai_today a
      union all
      select 'moha_ai_cost_usd_today', pg_catalog.jsonb_build_object('agent', a.agent), a.usd
        from ai_today a
      union all
      select 'moha_ai_limit_used_ratio',
             pg_catalog.jsonb_build_object('agent', a.agent, 'scope', a.scope, 'limit', k.kind),
             pg_catalog.max(k.used)
        from ai_limits a
        cross join lateral (values ('requests', a.requests_used), ('tokens', a.tokens_used)) as k(kind, used)
       where k.used is not null
       group by a.agent, a.scope, k.kind
      union all
      select 'moha_errors_recent', pg_catalog.jsonb_build_object('service', s.service),
             (select pg_catalog.count(*) from public.error_logs e
               where e.service = s.service and e.created_at > pg_catalog.now() - interval '5 minutes')::numeric
        from services s where s.service is not null
      union all
      select c.metric, c.labels, c.value from private.cron_metrics() c
      union all
      select 'moha_social_messages_partitions_ahead', '{}'::jsonb, a.n::numeric from ahead a
      union all
      select 'moha_social_unread_messages_last_day', pg_catalog.jsonb_build_object('platform', a.platform::text),
             pg_catalog.sum(u.n)::numeric
        from public.social_accounts a
        cross join lateral (
          select pg_catalog.count(*) as n from public.social_messages m
           where m.account_id = a.id and m.status = 'unread'::public.message_status
             and m.received_at > pg_catalog.now() - interval '1 day') u
       group by a.platform
      union all
      select 'moha_leads_unassigned', '{}'::jsonb, u.n::numeric from unassigned u
      union all
      select 'moha_leads_unassigned_oldest_age_seconds', '{}'::jsonb,
             coalesce(extract(epoch from pg_catalog.now() - u.oldest), 0)
        from unassigned u
    )
  select s.m, s.l, s.v from samples s order by s.m, s.l::text;
end
