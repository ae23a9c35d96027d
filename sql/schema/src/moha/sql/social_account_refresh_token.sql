
declare
  v_cipher bytea;
begin
  select t.refresh_token into v_cipher from private.social_tokens t
   where t.account_id = social_account_refresh_token.account_id;
  if v_cipher is null then
    return null;
  end if;
  return extensions.pgp_sym_decrypt(v_cipher, private.secret('social_token_key'));
end
