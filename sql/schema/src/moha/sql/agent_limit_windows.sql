
begin
  -- At most one limit per scope applies: a row naming this user (project) wins over the scope's
  -- default row. Rows come in enum order (user, project, global), so every caller locks counter
  -- rows in the same order: no deadlocks.
  return query
    select distinct on (l.scope) l.scope, l.max_requests, l.max_tokens, l.window_seconds,
           pg_catalog.to_timestamp(
             pg_catalog.floor(extract(epoch from agent_limit_windows.at) / l.window_seconds) * l.window_seconds),
           case when l.scope = 'user' then agent_limit_windows.user_id end,
           case when l.scope = 'project' then agent_limit_windows.project_id end
      from public.agent_limits l
     where l.agent = agent_limit_windows.agent
       and (l.scope = 'global'
         or (l.scope = 'user' and agent_limit_windows.user_id is not null
             and (l.user_id = agent_limit_windows.user_id or l.user_id is null))
         or (l.scope = 'project' and agent_limit_windows.project_id is not null
             and (l.project_id = agent_limit_windows.project_id or l.project_id is null)))
     order by l.scope, (l.user_id is null and l.project_id is null);
  if not found then
    -- No limit applies: the call still counts, in the user's row of the day, for budgeting.
    return query
      select null::public.agent_scope, null::integer, null::bigint, null::integer,
             pg_catalog.date_trunc('day', agent_limit_windows.at), agent_limit_windows.user_id, null::uuid;
  end if;
end
