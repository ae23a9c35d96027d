
declare
  v_token public.api_tokens%rowtype;
  v_agent public.agents%rowtype;
begin
  outcome := 'unknown';
  if authenticate.token_sha256 is null or authenticate.token_sha256 !~ '^[0-9a-f]{64}$' then
    return next;
    return;
  end if;
  select * into v_token from public.api_tokens t where t.token_hash = authenticate.token_sha256;
  if not found then
    return next;
    return;
  end if;
  select * into v_agent from public.agents a where a.id = v_token.agent_id;
  outcome := case
    when v_token.revoked_at is not null then 'revoked'
    when v_token.expires_at <= pg_catalog.now() then 'expired'
    when v_agent.status <> 'active'::public.agent_status then 'suspended'
    else 'ok'
  end;
  if outcome <> 'ok' then
    return next;
    return;
  end if;
  token_id := v_token.id;
  agent_id := v_agent.id;
  agent_name := v_agent.name;
  owner_id := v_agent.owner_id;
  -- What the token holds and its agent is still allowed.
  scopes := (select coalesce(pg_catalog.array_agg(s order by s), '{}')
               from pg_catalog.unnest(v_token.scopes) s
              where s = any (v_agent.allowed_scopes));
  -- At most one write a minute per token, and never a wait: a concurrent request that holds the
  -- row lock is already recording the use.
  if v_token.last_used_at is null or v_token.last_used_at < pg_catalog.now() - interval '1 minute' then
    update public.api_tokens t
       set last_used_at = pg_catalog.now()
     where t.id = (select u.id from public.api_tokens u
                    where u.id = v_token.id
                      and (u.last_used_at is null or u.last_used_at < pg_catalog.now() - interval '1 minute')
                    for update skip locked);
  end if;
  return next;
end
