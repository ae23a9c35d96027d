
declare
  v_bad text;
begin
  -- An agent may only be allowed scopes the access matrix gives the Agent role (the generated
  -- permissions): anything else would be a scope no policy reads.
  select s into v_bad
    from pg_catalog.unnest(new.allowed_scopes) s
   where s is null
      or not exists (select 1
                       from public.permissions p
                       join public.roles r on r.id = p.role_id
                      where r.name = 'Agent' and p.resource || ':' || p.action = s)
   limit 1;
  if found then
    raise exception 'scope % is not an agent scope', coalesce(v_bad, 'null')
      using errcode = '22023', hint = 'see the Agent role''s rows in public.permissions';
  end if;
  return new;
end
