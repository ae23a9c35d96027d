
begin
  if increment_render_counter.user_id is null then
    raise exception 'increment_render_counter: user_id is required' using errcode = '22004';
  end if;
  -- Sign-up is open, so an account alone may not spend: the owner needs render:create and, as
  -- a Client, a client record staff linked to them. Checked at spend time, not only when the
  -- job was queued: an owner unlinked or demoted since gets nothing. (An unknown user falls
  -- through to increment_agent_counter's P0002.)
  if exists (select 1 from public.users u where u.id = increment_render_counter.user_id)
     and not exists (
       select 1
         from public.users u
         join public.roles r on r.id = u.role_id
         join public.permissions p on p.role_id = u.role_id
        where u.id = increment_render_counter.user_id
          and p.resource = 'render' and p.action = 'create'
          and (r.name <> 'Client'
               or exists (select 1 from public.clients c where c.user_id = u.id))) then
    raise exception 'increment_render_counter: user % may not start renders (a Client needs a linked client record, staff need render:create)',
      increment_render_counter.user_id
      using errcode = 'PT403';
  end if;
  return public.increment_agent_counter('render', increment_render_counter.user_id,
                                        increment_render_counter.project_id,
                                        increment_render_counter.reserve_cost);
end
