
declare
  -- The role the caller acts as. A security definer function runs as its owner, but the `role`
  -- setting still names what the session switched to (`set role`, as PostgREST does).
  v_role text := coalesce(nullif(pg_catalog.current_setting('role', true), 'none'), session_user);
  v_claims jsonb := auth.jwt();
  v_uid uuid := auth.uid();
  v_kind public.actor_kind;
  v_id bigint;
begin
  if table_name is null or pg_catalog.length(table_name) = 0 then
    raise exception 'log_audit_action: table_name is required'
      using errcode = '22023', hint = 'pass the schema-qualified table, e.g. public.projects';
  end if;
  if action is null or action !~ '^[a-z][a-z0-9_:.]*$' then
    raise exception 'log_audit_action: invalid action %', pg_catalog.quote_literal(coalesce(action, 'null'))
      using errcode = '22023', hint = 'use a lowercase word such as insert, update, delete or archive';
  end if;

  -- An AI agent is recognised by its database role, or by a server-set claim in app_metadata
  -- (never user_metadata, which the user controls).
  v_kind := case
    when v_role = 'ai_agent' or (v_claims -> 'app_metadata' ->> 'actor') = 'agent' then 'agent'::public.actor_kind
    when v_role = 'service_role' or (v_claims ->> 'role') = 'service_role' then 'service'::public.actor_kind
    when v_uid is not null then 'human'::public.actor_kind
    else 'system'::public.actor_kind
  end;

  insert into public.audit_logs
    (table_name, record_id, action, performed_by, actor_kind, actor_role, old_values, new_values)
  values
    (log_audit_action.table_name, log_audit_action.record_id, log_audit_action.action,
     coalesce(v_uid, log_audit_action.user_id), v_kind, v_role,
     log_audit_action.old_values, log_audit_action.new_values)
  returning id into v_id;
  return v_id;
end
