
declare
  v_actor record;
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
  select a.performed_by, a.actor_kind, a.actor_role into v_actor from private.audit_actor() a;

  insert into public.audit_logs
    (table_name, record_id, action, performed_by, actor_kind, actor_role, old_values, new_values)
  values
    (log_audit_action.table_name, log_audit_action.record_id, log_audit_action.action,
     coalesce(v_actor.performed_by, log_audit_action.user_id), v_actor.actor_kind, v_actor.actor_role,
     log_audit_action.old_values, log_audit_action.new_values)
  returning id into v_id;
  return v_id;
end
