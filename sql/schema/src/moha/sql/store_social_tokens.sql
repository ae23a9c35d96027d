
declare
  v_key text := private.secret('social_token_key');
begin
  if store_social_tokens.access_token is null or pg_catalog.length(store_social_tokens.access_token) = 0 then
    raise exception 'store_social_tokens: access_token is required' using errcode = '22004';
  end if;
  if store_social_tokens.expires_in is null or store_social_tokens.expires_in < 1 then
    raise exception 'store_social_tokens: expires_in must be positive' using errcode = '22023';
  end if;
  update public.social_accounts a
     set access_token = extensions.pgp_sym_encrypt(store_social_tokens.access_token, v_key, 'cipher-algo=aes256'),
         token_updated_at = pg_catalog.now(),
         token_expires_at = pg_catalog.now() + pg_catalog.make_interval(secs => store_social_tokens.expires_in),
         needs_reconnect = false
   where a.id = store_social_tokens.account_id;
  if not found then
    raise exception 'store_social_tokens: no social account %', store_social_tokens.account_id
      using errcode = 'P0002';
  end if;
  -- A refresh that returns no refresh token (Instagram) keeps the stored one; a rotated one
  -- (TikTok) replaces it: the old one stops working once a new one is issued.
  insert into private.social_tokens as t (account_id, refresh_token, refresh_expires_at, reconnect_reason, updated_at)
  values (store_social_tokens.account_id,
          case when store_social_tokens.refresh_token is not null
               then extensions.pgp_sym_encrypt(store_social_tokens.refresh_token, v_key, 'cipher-algo=aes256') end,
          case when store_social_tokens.refresh_expires_in is not null
               then pg_catalog.now() + pg_catalog.make_interval(secs => store_social_tokens.refresh_expires_in) end,
          null, pg_catalog.now())
  on conflict on constraint social_tokens_pkey do update
     set refresh_token = coalesce(excluded.refresh_token, t.refresh_token),
         refresh_expires_at = coalesce(excluded.refresh_expires_at, t.refresh_expires_at),
         reconnect_reason = null,
         updated_at = excluded.updated_at;
end
