
declare
  v_now timestamptz := pg_catalog.now();
  v_limit record;
  v_count integer;
  v_remaining integer;
begin
  if increment_agent_counter.agent is null or increment_agent_counter.agent = '' then
    raise exception 'increment_agent_counter: agent is required' using errcode = '22004';
  end if;
  if increment_agent_counter.reserve_cost is null or increment_agent_counter.reserve_cost < 0 then
    raise exception 'increment_agent_counter: reserve_cost must be zero or more' using errcode = '22023';
  end if;
  -- A scheduled job has no user: only the project and global limits apply to it.
  if increment_agent_counter.user_id is not null
     and not exists (select 1 from public.users u where u.id = increment_agent_counter.user_id) then
    raise exception 'increment_agent_counter: no user %', increment_agent_counter.user_id
      using errcode = 'P0002';
  end if;

  for v_limit in
    select * from private.agent_limits_at(increment_agent_counter.agent,
                                          increment_agent_counter.user_id,
                                          increment_agent_counter.project_id, v_now)
  loop
    if v_limit.max_requests < 1 or v_limit.max_tokens < 1
       or v_limit.max_cost < increment_agent_counter.reserve_cost or v_limit.max_cost <= 0 then
      raise exception '% limit reached: the % limit allows nothing', increment_agent_counter.agent, v_limit.scope
        using errcode = 'PT429';
    end if;
    -- The upsert locks the counter row and re-checks the limit on its latest version, so
    -- concurrent callers serialise here and never admit more than max_requests. A row without
    -- a limit (max_requests null) always counts. Tokens and cost are added to the same rows by
    -- record_agent_usage after the call; a call whose known least cost (reserve_cost, e.g. the
    -- image a render will be billed for) would take the spend past max_cost is refused before it.
    insert into public.agent_usage as u (agent, user_id, project_id, window_start, request_count)
    values (increment_agent_counter.agent, v_limit.key_user, v_limit.key_project, v_limit.window_start, 1)
    on conflict on constraint agent_usage_agent_user_id_project_id_window_start_key do update
      set request_count = u.request_count + 1, updated_at = v_now
      where (v_limit.max_requests is null or u.request_count < v_limit.max_requests)
        and (v_limit.max_tokens is null or u.tokens < v_limit.max_tokens)
        and (v_limit.max_cost is null
             or u.cost + increment_agent_counter.reserve_cost <= v_limit.max_cost
                and (increment_agent_counter.reserve_cost > 0 or u.cost < v_limit.max_cost))
    returning u.request_count into v_count;
    if v_count is null then
      raise exception '% limit reached for this % (% requests, % tokens, % USD per % seconds)',
        increment_agent_counter.agent, v_limit.scope, coalesce(v_limit.max_requests::text, 'any'),
        coalesce(v_limit.max_tokens::text, 'any'), coalesce(v_limit.max_cost::text, 'any'), v_limit.window_seconds
        using errcode = 'PT429',
              hint = 'try again after ' || (v_limit.window_start + pg_catalog.make_interval(secs => v_limit.window_seconds))::text;
    end if;
    if v_limit.max_requests is not null then
      v_remaining := least(coalesce(v_remaining, v_limit.max_requests - v_count), v_limit.max_requests - v_count);
    end if;
    v_count := null;
  end loop;
  return v_remaining;
end
