
declare
  v_row private.social_oauth_states;
begin
  -- Single use: the row goes whatever happens next, so a replayed callback finds nothing.
  delete from private.social_oauth_states s
   where s.state_hash = pg_catalog.encode(extensions.digest(coalesce(consume_social_connect.state, ''), 'sha256'), 'hex')
  returning s.* into v_row;
  if not found or v_row.expires_at <= pg_catalog.now() then
    raise exception 'consume_social_connect: unknown, used or expired state' using errcode = 'PT403';
  end if;
  platform := v_row.platform;
  account_id := v_row.account_id;
  created_by := v_row.created_by;
  return next;
end
