
declare
  v_claims jsonb := private.jwt();
  v_token text := v_claims ->> 'token_id';
  v_agent text := v_claims ->> 'agent_id';
begin
  if v_token is null or v_agent is null
     or v_token !~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
     or v_agent !~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
     or pg_catalog.jsonb_typeof(v_claims -> 'scopes') is distinct from 'array' then
    return false;
  end if;
  -- The claims name the scope, and the database's record still grants it: a live token of an
  -- active agent that is allowed the scope. A revoke, an expiry, a suspension or a narrowed
  -- agent takes effect at the next statement.
  return (v_claims -> 'scopes') ? agent_has_scope.scope
     and exists (
       select 1
         from public.api_tokens t
         join public.agents a on a.id = t.agent_id
        where t.id = v_token::uuid
          and a.id = v_agent::uuid
          and t.revoked_at is null
          and t.expires_at > pg_catalog.now()
          and a.status = 'active'::public.agent_status
          and agent_has_scope.scope = any (t.scopes)
          and agent_has_scope.scope = any (a.allowed_scopes));
end
