
declare
  v_claims jsonb := private.jwt();
begin
  -- The role the caller acts as. A security definer function runs as its owner, but the `role`
  -- setting still names what the session switched to (`set role`, as PostgREST does).
  actor_role := coalesce(nullif(pg_catalog.current_setting('role', true), 'none'), session_user);
  performed_by := private.uid();
  -- An AI agent is recognised by its database role (ours, or an outside agent's token), or by a
  -- server-set claim in app_metadata (never user_metadata, which the user controls).
  actor_kind := case
    when actor_role in ('ai_agent', 'moha_agent') or (v_claims -> 'app_metadata' ->> 'actor') = 'agent' then 'agent'::public.actor_kind
    when actor_role = 'service_role' or (v_claims ->> 'role') = 'service_role' then 'service'::public.actor_kind
    when performed_by is not null then 'human'::public.actor_kind
    else 'system'::public.actor_kind
  end;
  return next;
end
