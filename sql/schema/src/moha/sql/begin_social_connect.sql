
declare
  v_state text;
begin
  -- Only an Admin connects the studio's accounts (the function checked the caller's token; the
  -- rule is kept here too, where the state is made).
  if not exists (select 1 from public.users u join public.roles r on r.id = u.role_id
                  where u.id = begin_social_connect.created_by and r.name = 'Admin') then
    raise exception 'begin_social_connect: only an Admin connects social accounts' using errcode = 'PT403';
  end if;
  if begin_social_connect.account_id is not null
     and not exists (select 1 from public.social_accounts a
                      where a.id = begin_social_connect.account_id
                        and a.platform = begin_social_connect.platform) then
    raise exception 'begin_social_connect: no % account %', begin_social_connect.platform, begin_social_connect.account_id
      using errcode = 'P0002';
  end if;
  -- 256 random bits from pgcrypto's CSPRNG; only its hash is kept, so a read of the table
  -- gives nothing to replay.
  v_state := pg_catalog.encode(extensions.gen_random_bytes(32), 'hex');
  insert into private.social_oauth_states (state_hash, platform, account_id, created_by, expires_at)
  values (pg_catalog.encode(extensions.digest(v_state, 'sha256'), 'hex'), begin_social_connect.platform,
          begin_social_connect.account_id, begin_social_connect.created_by,
          pg_catalog.now() + interval '10 minutes');
  return v_state;
end
