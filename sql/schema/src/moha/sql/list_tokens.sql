
begin
  if not authz.is_admin() then
    raise exception 'only an admin may list agent tokens' using errcode = '42501';
  end if;
  -- Never the hash: a listing shows the display prefix only.
  return query
    select t.id, t.agent_id, a.name, t.label, t.prefix, t.scopes, t.expires_at, t.last_used_at,
           t.created_at, t.revoked_at
      from public.api_tokens t
      join public.agents a on a.id = t.agent_id
     where list_tokens.of_agent is null or t.agent_id = list_tokens.of_agent
     order by a.name, t.created_at desc;
end
