
declare
  v_actor record;
  v_table text := tg_table_schema || '.' || tg_table_name;
  -- The trigger's arguments name the table's secret columns: never copy them in clear.
  v_secrets text[] := coalesce(tg_argv, '{}'::text[]);
  -- Most tables have no secret: skip the per-row call to redact (it is not inlinable).
  v_plain boolean := pg_catalog.cardinality(coalesce(tg_argv, '{}'::text[])) = 0;
begin
  -- One statement, one actor: computed once, then every row is written by one insert.
  select a.performed_by, a.actor_kind, a.actor_role into v_actor from private.audit_actor() a;
  if tg_op = 'INSERT' then
    insert into public.audit_logs
      (table_name, record_id, action, performed_by, actor_kind, actor_role, old_values, new_values)
    select v_table, r.j ->> 'id', 'insert', v_actor.performed_by, v_actor.actor_kind, v_actor.actor_role,
           null, case when v_plain then r.j else private.redact(r.j, v_secrets) end
      from (select pg_catalog.to_jsonb(n) as j from new_rows n) r;
  elsif tg_op = 'DELETE' then
    insert into public.audit_logs
      (table_name, record_id, action, performed_by, actor_kind, actor_role, old_values, new_values)
    select v_table, r.j ->> 'id', 'delete', v_actor.performed_by, v_actor.actor_kind, v_actor.actor_role,
           case when v_plain then r.j else private.redact(r.j, v_secrets) end, null
      from (select pg_catalog.to_jsonb(o) as j from old_rows o) r;
  else
    -- Old and new versions pair up by id (every audited table has one; a unit test checks).
    insert into public.audit_logs
      (table_name, record_id, action, performed_by, actor_kind, actor_role, old_values, new_values)
    select v_table, coalesce(n.j, o.j) ->> 'id', 'update', v_actor.performed_by, v_actor.actor_kind,
           v_actor.actor_role,
           case when v_plain then o.j else private.redact(o.j, v_secrets) end,
           case when v_plain then n.j else private.redact(n.j, v_secrets) end
      from (select pg_catalog.to_jsonb(o) as j from old_rows o) o
      full join (select pg_catalog.to_jsonb(n) as j from new_rows n) n on (n.j ->> 'id') = (o.j ->> 'id');
  end if;
  return null;
end
