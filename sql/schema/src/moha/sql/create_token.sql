
declare
  v_agent public.agents%rowtype;
  v_ttl interval;
  v_bad text;
begin
  -- An Admin by the database's own record, whatever the token's role claim says.
  if not authz.is_admin() then
    raise exception 'only an admin may create agent tokens' using errcode = '42501';
  end if;
  select * into v_agent from public.agents a where a.id = create_token.agent_id for update;
  if not found then
    raise exception 'no agent %', create_token.agent_id using errcode = 'P0002';
  end if;
  if v_agent.status <> 'active'::public.agent_status then
    raise exception 'agent % is %', v_agent.name, v_agent.status
      using errcode = '55000', hint = 'set the agent active before giving it tokens';
  end if;
  if create_token.label is null or pg_catalog.length(pg_catalog.btrim(create_token.label)) = 0 then
    raise exception 'a token needs a label' using errcode = '22023';
  end if;
  if create_token.scopes is null or pg_catalog.cardinality(create_token.scopes) = 0 then
    raise exception 'a token needs at least one scope' using errcode = '22023';
  end if;
  select s into v_bad
    from pg_catalog.unnest(create_token.scopes) s
   where s is null or not (s = any (v_agent.allowed_scopes))
   limit 1;
  if found then
    raise exception 'scope % is not allowed for agent %', coalesce(v_bad, 'null'), v_agent.name
      using errcode = '22023', hint = 'allowed: ' || pg_catalog.array_to_string(v_agent.allowed_scopes, ', ');
  end if;
  v_ttl := coalesce(create_token.ttl, pg_catalog.make_interval(days => v_agent.max_token_days));
  if v_ttl <= interval '0' or v_ttl > pg_catalog.make_interval(days => v_agent.max_token_days) then
    raise exception 'a token of agent % lives at most % days', v_agent.name, v_agent.max_token_days
      using errcode = '22023';
  end if;
  -- 32 random bytes, base64url without padding; only the SHA-256 of the token is kept.
  token := 'moha_' || pg_catalog.translate(
    pg_catalog.encode(extensions.gen_random_bytes(32), 'base64'), '+/=', '-_');
  prefix := pg_catalog.substr(token, 1, 12);
  expires_at := pg_catalog.now() + v_ttl;
  insert into public.api_tokens (agent_id, label, prefix, token_hash, scopes, expires_at, created_by)
  values (v_agent.id, pg_catalog.btrim(create_token.label), prefix,
          pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(token, 'UTF8')), 'hex'),
          (select pg_catalog.array_agg(distinct s order by s) from pg_catalog.unnest(create_token.scopes) s),
          expires_at, private.uid())
  returning id into token_id;
  return next;
end
