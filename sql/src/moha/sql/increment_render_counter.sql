
begin
  if increment_render_counter.user_id is null then
    raise exception 'increment_render_counter: user_id is required' using errcode = '22004';
  end if;
  return public.increment_agent_counter('render', increment_render_counter.user_id,
                                        increment_render_counter.project_id);
end
