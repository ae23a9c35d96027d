
begin
  return public.increment_render_counter(increment_render_counter.user_id,
                                         increment_render_counter.project_id, 0::numeric);
end
