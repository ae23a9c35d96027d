
begin
  -- The windows of agent_limits_at without max_cost, for callers written before it.
  return query
    select w.scope, w.max_requests, w.max_tokens, w.window_seconds, w.window_start, w.key_user, w.key_project
      from private.agent_limits_at(agent_limit_windows.agent, agent_limit_windows.user_id,
                                   agent_limit_windows.project_id, agent_limit_windows.at) w;
end
