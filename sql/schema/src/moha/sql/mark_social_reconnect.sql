
declare
  v_account public.social_accounts;
  v_notified integer;
begin
  update public.social_accounts a set needs_reconnect = true
   where a.id = mark_social_reconnect.account_id and not a.needs_reconnect
  returning a.* into v_account;
  if not found then
    -- Unknown, or already marked: the Admins were told the first time.
    return 0;
  end if;
  insert into private.social_tokens as t (account_id, reconnect_reason, updated_at)
  values (v_account.id, pg_catalog.left(mark_social_reconnect.reason, 500), pg_catalog.now())
  on conflict on constraint social_tokens_pkey do update
     set reconnect_reason = excluded.reconnect_reason, updated_at = excluded.updated_at;
  insert into public.notifications (user_id, kind, title, body, data)
  select u.id, 'social_reconnect',
         pg_catalog.format('Reconnect %s account %s', v_account.platform, v_account.username),
         'The platform refused to renew its access token; connect the account again.',
         pg_catalog.jsonb_build_object('account_id', v_account.id, 'platform', v_account.platform)
    from public.users u join public.roles r on r.id = u.role_id
   where r.name = 'Admin';
  get diagnostics v_notified = row_count;
  return v_notified;
end
