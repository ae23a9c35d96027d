
declare
  v_hint text;
  v_at timestamptz;
begin
  select a.outcome, a.token_id, a.agent_id, a.agent_name, a.owner_id, a.scopes
    into outcome, token_id, agent_id, agent_name, owner_id, scopes
    from agent_auth.authenticate(admit.token_sha256) a;
  retry_after := null;
  if outcome is distinct from 'ok' or coalesce(admit.requests, 0) < 1 then
    return next;
    return;
  end if;
  -- Both names per request, in this order (every caller locks them in the same order). The
  -- block is a subtransaction: over a limit, nothing of this body's counting is kept.
  begin
    for i in 1 .. least(admit.requests, 16) loop
      perform public.increment_agent_counter('agent:' || agent_name, null, null);
      perform public.increment_agent_counter('agent:' || agent_name || ':day', null, null);
    end loop;
  exception when sqlstate 'PT429' then
    get stacked diagnostics v_hint = pg_exception_hint;
    outcome := 'limited';
    v_at := pg_catalog.substring(v_hint, '^try again after (.*)$')::timestamptz;
    retry_after := coalesce(
      greatest(1, pg_catalog.ceil(extract(epoch from (v_at - pg_catalog.now()))))::integer,
      60);
  end;
  return next;
end
