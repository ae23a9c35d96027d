
declare
  v_claims jsonb := private.jwt();
  v_token text := v_claims ->> 'token_id';
  v_agent text := v_claims ->> 'agent_id';
begin
  if v_token !~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
     or v_agent !~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
    return null;
  end if;
  -- The agent of the claims while one of its tokens named there is live; null otherwise.
  return (select a.id
            from public.api_tokens t
            join public.agents a on a.id = t.agent_id
           where t.id = v_token::uuid
             and a.id = v_agent::uuid
             and t.revoked_at is null
             and t.expires_at > pg_catalog.now()
             and a.status = 'active'::public.agent_status);
end
