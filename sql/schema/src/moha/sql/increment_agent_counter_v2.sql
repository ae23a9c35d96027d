
begin
  return public.increment_agent_counter(increment_agent_counter.agent, increment_agent_counter.user_id,
                                        increment_agent_counter.project_id, 0::numeric);
end
