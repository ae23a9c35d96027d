
declare
  v_client uuid;
begin
  -- Migrations, maintenance (postgres, supabase_admin) and the service role may set any role.
  -- Everything else is an API role (anon, authenticated and the business roles, ai_agent).
  -- The Agent role is for API tokens, never a person's: nobody gives it to a user.
  if new.role_id = (select r.id from public.roles r where r.name = 'Agent') then
    raise exception 'the Agent role is not a user''s role' using errcode = '42501';
  end if;
  if current_user in ('postgres', 'supabase_admin', 'service_role') then
    return new;
  end if;
  -- An Admin by the database's own record, not by the token's role claim, which may predate a
  -- demotion.
  if current_user not in ('anon', 'ai_agent') then
    if authz.is_admin() then
      return new;
    end if;
  end if;
  if tg_op = 'INSERT' then
    select r.id into v_client from public.roles r where r.name = 'Client';
    if new.role_id is distinct from v_client then
      raise exception 'only an admin may create a user with role other than Client'
        using errcode = '42501';
    end if;
  elsif new.role_id is distinct from old.role_id then
    raise exception 'only an admin or the service role may change role_id'
      using errcode = '42501', hint = 'ask an admin to change the role';
  end if;
  return new;
end
