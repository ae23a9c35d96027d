
  -- Only a session running as an outside agent's role names an agent: the claims of any other
  -- role say nothing about agents. Policies let moha_agent write only with a live token.
  select case when r.is_agent and c.claims ->> 'agent_id' ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
              then (c.claims ->> 'agent_id')::uuid end,
         case when r.is_agent and c.claims ->> 'token_id' ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
              then (c.claims ->> 'token_id')::uuid end
    from (select pg_catalog.current_setting('role', true) = 'moha_agent' as is_agent) r,
         (select private.jwt() as claims) c
