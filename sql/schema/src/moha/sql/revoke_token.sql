
declare
  v_revoked timestamptz;
begin
  if not authz.is_admin() then
    raise exception 'only an admin may revoke agent tokens' using errcode = '42501';
  end if;
  update public.api_tokens t
     set revoked_at = coalesce(t.revoked_at, pg_catalog.now())
   where t.id = revoke_token.token_id
  returning t.revoked_at into v_revoked;
  if not found then
    raise exception 'no token %', revoke_token.token_id using errcode = 'P0002';
  end if;
  return v_revoked;
end
