
declare
  v_client uuid;
begin
  -- Migrations, maintenance (postgres) and the service role may set any role.
  if current_user not in ('anon', 'authenticated', 'ai_agent') then
    return new;
  end if;
  if current_user = 'authenticated' and authz.is_admin() then
    return new;
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
