
declare
  v_claims jsonb := custom_access_token_hook.event -> 'claims';
  v_role text;
begin
  -- Only a signed-in user's token changes; anon and service tokens keep their role.
  if v_claims ->> 'role' = 'authenticated' then
    select 'moha_' || pg_catalog.lower(r.name) into v_role
      from public.users u
      join public.roles r on r.id = u.role_id
     where u.id = (custom_access_token_hook.event ->> 'user_id')::uuid;
    -- An RBAC role without a database role of its own keeps `authenticated`: less access, never more.
    -- A user's token only ever names a role that is a member of `authenticated` (never moha_agent).
    if v_role is not null and exists (
         select from pg_catalog.pg_roles r
          where r.rolname = v_role and pg_catalog.pg_has_role(r.oid, 'authenticated', 'MEMBER')) then
      v_claims := pg_catalog.jsonb_set(v_claims, '{role}', pg_catalog.to_jsonb(v_role));
    end if;
  end if;
  return pg_catalog.jsonb_set(custom_access_token_hook.event, '{claims}', v_claims);
end
