-- Rotates social_token_key (issue 20; docs/operations.md, "Social tokens and their key"): every
-- social account's access token and refresh token is re-encrypted under a new random key, and
-- the key in Vault is replaced, in one transaction. Run it as postgres (the SQL editor, or psql
-- on the session pooler). A wrong stored key fails the first pgp_sym_decrypt ("Wrong key or
-- corrupt data") and nothing changes.
begin;
create temporary table social_key_rotation on commit drop as
select (select s.decrypted_secret from vault.decrypted_secrets s where s.name = 'social_token_key') as old_key,
       pg_catalog.encode(extensions.gen_random_bytes(32), 'hex') as new_key;
do $check$
begin
  if (select old_key from social_key_rotation) is null then
    raise exception 'social_token_key is not in Vault' using errcode = 'P0002';
  end if;
end
$check$;
update public.social_accounts a
   set access_token = extensions.pgp_sym_encrypt(
         extensions.pgp_sym_decrypt(a.access_token, k.old_key), k.new_key, 'cipher-algo=aes256')
  from social_key_rotation k
 where a.access_token is not null;
update private.social_tokens t
   set refresh_token = extensions.pgp_sym_encrypt(
         extensions.pgp_sym_decrypt(t.refresh_token, k.old_key), k.new_key, 'cipher-algo=aes256')
  from social_key_rotation k
 where t.refresh_token is not null;
select vault.update_secret((select s.id from vault.secrets s where s.name = 'social_token_key'),
                           (select new_key from social_key_rotation));
commit;
