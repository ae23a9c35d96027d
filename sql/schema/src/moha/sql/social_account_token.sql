
declare
  v_cipher bytea;
begin
  select a.access_token into v_cipher from public.social_accounts a where a.id = social_account_token.account_id;
  if not found then
    raise exception 'social_account_token: no social account %', social_account_token.account_id
      using errcode = 'P0002';
  end if;
  if v_cipher is null then
    return null;
  end if;
  return extensions.pgp_sym_decrypt(v_cipher, private.secret('social_token_key'));
end
