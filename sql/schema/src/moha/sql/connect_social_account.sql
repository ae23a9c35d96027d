
declare
  v_id uuid;
  v_known text;
begin
  if connect_social_account.platform_user_id is null or connect_social_account.platform_user_id = '' then
    raise exception 'connect_social_account: the platform named no account' using errcode = '22004';
  end if;
  if connect_social_account.account_id is not null then
    -- A reconnect: the authorised platform account must be the one the studio connected.
    v_id := connect_social_account.account_id;
    select t.platform_user_id into v_known from private.social_tokens t where t.account_id = v_id;
  else
    select a.id, t.platform_user_id into v_id, v_known
      from public.social_accounts a left join private.social_tokens t on t.account_id = a.id
     where a.platform = connect_social_account.platform and a.username = connect_social_account.username;
  end if;
  if v_known is not null and v_known <> connect_social_account.platform_user_id then
    raise exception 'connect_social_account: the authorised % account is not the one connected here', connect_social_account.platform
      using errcode = 'PT409';
  end if;
  if v_id is null then
    insert into public.social_accounts (platform, username, connected_by)
    values (connect_social_account.platform, connect_social_account.username, connect_social_account.created_by)
    returning id into v_id;
  else
    update public.social_accounts a
       set username = connect_social_account.username, connected_by = connect_social_account.created_by
     where a.id = v_id and a.platform = connect_social_account.platform;
    if not found then
      raise exception 'connect_social_account: no % account %', connect_social_account.platform, v_id using errcode = 'P0002';
    end if;
  end if;
  perform public.store_social_tokens(v_id, connect_social_account.access_token, connect_social_account.expires_in,
                                     connect_social_account.refresh_token, connect_social_account.refresh_expires_in);
  update private.social_tokens t set platform_user_id = connect_social_account.platform_user_id
   where t.account_id = v_id;
  return v_id;
end
