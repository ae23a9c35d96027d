
begin
  -- At most one limit per scope applies: a row naming this user (project) wins over the scope's
  -- default row. Rows come in enum order (user, project, global), so every caller locks counter
  -- rows in the same order: no deadlocks.
  return query
    select distinct on (l.scope) l.scope, l.max_requests, l.max_tokens, l.max_cost, l.window_seconds,
           pg_catalog.to_timestamp(
             pg_catalog.floor(extract(epoch from agent_limits_at.at) / l.window_seconds) * l.window_seconds),
           case when l.scope = 'user' then agent_limits_at.user_id end,
           case when l.scope = 'project' then agent_limits_at.project_id end
      from public.agent_limits l
     where l.agent = agent_limits_at.agent
       and (l.scope = 'global'
         or (l.scope = 'user' and agent_limits_at.user_id is not null
             and (l.user_id = agent_limits_at.user_id or l.user_id is null))
         or (l.scope = 'project' and agent_limits_at.project_id is not null
             and (l.project_id = agent_limits_at.project_id or l.project_id is null)))
     order by l.scope, (l.user_id is null and l.project_id is null);
  if not found then
    -- No limit applies: the call still counts, in the user's row of the day, for budgeting.
    return query
      select null::public.agent_scope, null::integer, null::bigint, null::numeric, null::integer,
             pg_catalog.date_trunc('day', agent_limits_at.at), agent_limits_at.user_id, null::uuid;
  end if;
end
