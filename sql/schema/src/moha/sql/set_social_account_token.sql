
begin
  if token is null or pg_catalog.length(token) = 0 then
    raise exception 'set_social_account_token: token is required' using errcode = '22004';
  end if;
  update public.social_accounts a
     set access_token = extensions.pgp_sym_encrypt(
           set_social_account_token.token, private.secret('social_token_key'), 'cipher-algo=aes256'),
         token_updated_at = pg_catalog.now()
   where a.id = set_social_account_token.account_id;
  if not found then
    raise exception 'set_social_account_token: no social account %', set_social_account_token.account_id
      using errcode = 'P0002';
  end if;
end
