-- Supabase Vault (issue 17) for a server that has no supabase_vault package (Debian has none):
-- `vault.secrets` and the `vault.decrypted_secrets` view column for column, and
-- `vault.create_secret` / `vault.update_secret` with the same signatures (supabase/vault
-- sql/supabase_vault--0.3.0.sql).
--
-- What differs: hosted encrypts with libsodium under a root key the database never stores. Here
-- pgcrypto encrypts under a random key kept in the file `moha_vault.key` of the data directory,
-- which only the superuser can read (pg_read_file); the decrypting functions are the superuser's,
-- so a dump or a backup of the database carries ciphertext only. Reading and writing secrets is
-- postgres's, as in the Supabase docs' examples; the API roles get nothing.
--
-- Installed by the compat layer when the server has no supabase_vault, and used as the script
-- of the PostgreSQL 17 test server's stand-in package; idempotent. Run as the superuser, with
-- pgcrypto in schema `extensions`.

-- As an extension script the schema exists already (the control file names it); `create schema
-- if not exists` would then refuse it as not the extension's own.
do $vault$
begin
  if pg_catalog.to_regnamespace('vault') is null then
    create schema vault;
  end if;
end
$vault$;

-- The key: created once per cluster, never in a table.
do $vault$
begin
  if pg_catalog.pg_read_file('moha_vault.key', 0, 200, true) is null then
    execute pg_catalog.format(
      'copy (select pg_catalog.encode(extensions.gen_random_bytes(32), %L)) to %L',
      'hex', pg_catalog.current_setting('data_directory') || '/moha_vault.key');
  end if;
end
$vault$;

create or replace function vault._key()
returns text
language sql
stable
security definer
set search_path = ''
as $fn$
  select pg_catalog.btrim(pg_catalog.pg_read_file('moha_vault.key'), E' \n')
$fn$;

create or replace function vault._crypto_aead_det_noncegen()
returns bytea
language sql
volatile
set search_path = ''
as $fn$
  select extensions.gen_random_bytes(24)
$fn$;

-- The ciphertext is bound to the row (`additional` is the secret's id), as hosted's AEAD is.
create or replace function vault._crypto_aead_det_encrypt(
  message bytea, additional bytea, key_id bigint, context bytea = 'pgsodium', nonce bytea = null
)
returns bytea
language sql
volatile
security definer
set search_path = ''
as $fn$
  select extensions.pgp_sym_encrypt_bytea(
    message, vault._key() || ':' || pg_catalog.encode(additional, 'hex'), 'cipher-algo=aes256')
$fn$;

create or replace function vault._crypto_aead_det_decrypt(
  message bytea, additional bytea, key_id bigint, context bytea = 'pgsodium', nonce bytea = null
)
returns bytea
language sql
stable
security definer
set search_path = ''
as $fn$
  select extensions.pgp_sym_decrypt_bytea(
    message, vault._key() || ':' || pg_catalog.encode(additional, 'hex'))
$fn$;

create table if not exists vault.secrets (
  id uuid primary key default gen_random_uuid(),
  name text,
  description text not null default '',
  secret text not null,
  key_id uuid,
  nonce bytea default vault._crypto_aead_det_noncegen(),
  created_at timestamptz not null default current_timestamp,
  updated_at timestamptz not null default current_timestamp
);
comment on table vault.secrets is 'Table with encrypted `secret` column for storing sensitive information on disk.';
create unique index if not exists secrets_name_idx on vault.secrets using btree (name)
  where name is not null;

create or replace view vault.decrypted_secrets as
select s.id,
       s.name,
       s.description,
       s.secret,
       pg_catalog.convert_from(
         vault._crypto_aead_det_decrypt(
           message := pg_catalog.decode(s.secret, 'base64'),
           additional := pg_catalog.convert_to(s.id::text, 'utf8'),
           key_id := 0,
           context := 'pgsodium'::bytea,
           nonce := s.nonce),
         'utf8') as decrypted_secret,
       s.key_id,
       s.nonce,
       s.created_at,
       s.updated_at
  from vault.secrets s;

create or replace function vault.create_secret(
  new_secret text, new_name text = null, new_description text = '', new_key_id uuid = null
)
returns uuid
security definer
language plpgsql
set search_path = ''
as $fn$
declare
  rec record;
begin
  insert into vault.secrets (secret, name, description)
  values (new_secret, new_name, new_description)
  returning * into rec;
  update vault.secrets s
     set secret = pg_catalog.encode(vault._crypto_aead_det_encrypt(
           message := pg_catalog.convert_to(rec.secret, 'utf8'),
           additional := pg_catalog.convert_to(s.id::text, 'utf8'),
           key_id := 0,
           context := 'pgsodium'::bytea,
           nonce := rec.nonce), 'base64')
   where s.id = rec.id;
  return rec.id;
end
$fn$;

create or replace function vault.update_secret(
  secret_id uuid, new_secret text = null, new_name text = null, new_description text = null,
  new_key_id uuid = null
)
returns void
security definer
language plpgsql
set search_path = ''
as $fn$
begin
  update vault.secrets s
     set secret = case when new_secret is null then s.secret
                       else pg_catalog.encode(vault._crypto_aead_det_encrypt(
                              message := pg_catalog.convert_to(new_secret, 'utf8'),
                              additional := pg_catalog.convert_to(s.id::text, 'utf8'),
                              key_id := 0,
                              context := 'pgsodium'::bytea,
                              nonce := s.nonce), 'base64') end,
         name = coalesce(new_name, s.name),
         description = coalesce(new_description, s.description),
         updated_at = pg_catalog.now()
   where s.id = secret_id;
end
$fn$;

revoke all on function vault._key(), vault._crypto_aead_det_encrypt(bytea, bytea, bigint, bytea, bytea),
  vault._crypto_aead_det_decrypt(bytea, bytea, bigint, bytea, bytea), vault._crypto_aead_det_noncegen(),
  vault.create_secret(text, text, text, uuid), vault.update_secret(uuid, text, text, text, uuid)
  from public;
grant usage on schema vault to postgres with grant option;
grant select, delete on vault.secrets to postgres with grant option;
grant select on vault.decrypted_secrets to postgres with grant option;
-- The view decrypts as its reader: postgres may decrypt, nobody else.
grant execute on function vault._crypto_aead_det_decrypt(bytea, bytea, bigint, bytea, bytea),
  vault.create_secret(text, text, text, uuid), vault.update_secret(uuid, text, text, text, uuid)
  to postgres;
