
declare
  v_now timestamptz := pg_catalog.now();
  v_limit record;
begin
  if record_agent_usage.agent is null or record_agent_usage.agent = '' then
    raise exception 'record_agent_usage: agent is required' using errcode = '22004';
  end if;
  if coalesce(record_agent_usage.tokens, 0) < 0 or coalesce(record_agent_usage.cost, 0) < 0 then
    raise exception 'record_agent_usage: tokens and cost must not be negative' using errcode = '22023';
  end if;
  -- The same counter rows increment_agent_counter counted the call in, so a max_tokens limit
  -- sees the tokens of its own scope and window.
  for v_limit in
    select * from private.agent_limit_windows(record_agent_usage.agent, record_agent_usage.user_id,
                                              record_agent_usage.project_id, v_now)
  loop
    insert into public.agent_usage as u (agent, user_id, project_id, window_start, request_count, tokens, cost)
    values (record_agent_usage.agent, v_limit.key_user, v_limit.key_project, v_limit.window_start, 0,
            coalesce(record_agent_usage.tokens, 0), coalesce(record_agent_usage.cost, 0))
    on conflict on constraint agent_usage_agent_user_id_project_id_window_start_key do update
      set tokens = u.tokens + excluded.tokens, cost = u.cost + excluded.cost, updated_at = v_now;
  end loop;
end
