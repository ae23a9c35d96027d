
declare
  v_old public.api_tokens%rowtype;
  v_new record;
begin
  if not authz.is_admin() then
    raise exception 'only an admin may rotate agent tokens' using errcode = '42501';
  end if;
  select * into v_old from public.api_tokens t where t.id = rotate_token.token_id for update;
  if not found then
    raise exception 'no token %', rotate_token.token_id using errcode = 'P0002';
  end if;
  -- A revoked or expired token stays dead: rotating it would bring its rights back.
  if v_old.revoked_at is not null or v_old.expires_at <= pg_catalog.now() then
    raise exception 'token % is revoked or expired; create a new one', v_old.prefix
      using errcode = '55000';
  end if;
  select * into v_new
    from agent_auth.create_token(v_old.agent_id, v_old.label, v_old.scopes, rotate_token.ttl) c;
  update public.api_tokens t set revoked_at = pg_catalog.now() where t.id = v_old.id;
  new_token_id := v_new.token_id;
  token := v_new.token;
  prefix := v_new.prefix;
  expires_at := v_new.expires_at;
  return next;
end
