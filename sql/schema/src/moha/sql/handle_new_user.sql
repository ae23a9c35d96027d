
declare
  v_client uuid;
begin
  if tg_op = 'INSERT' then
    select r.id into v_client from public.roles r where r.name = 'Client';
    if v_client is null then
      raise exception 'role Client is missing from public.roles'
        using errcode = 'P0002', hint = 'the rbac migration seeds it; restore the row';
    end if;
    insert into public.users (id, email, full_name, phone, role_id)
    values (new.id, new.email, new.raw_user_meta_data ->> 'full_name', new.phone, v_client);
  else
    update public.users u
       set email = new.email, phone = new.phone
     where u.id = new.id
       and (u.email is distinct from new.email or u.phone is distinct from new.phone);
  end if;
  return null;
end
