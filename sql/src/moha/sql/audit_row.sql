
declare
  v_old jsonb;
  v_new jsonb;
  v_secret text;
begin
  if tg_op in ('UPDATE', 'DELETE') then
    v_old := pg_catalog.to_jsonb(old);
  end if;
  if tg_op in ('INSERT', 'UPDATE') then
    v_new := pg_catalog.to_jsonb(new);
  end if;
  -- The trigger's arguments name the table's secret columns: never copy them in clear.
  foreach v_secret in array coalesce(tg_argv, '{}'::text[]) loop
    if v_old ? v_secret and v_old -> v_secret <> 'null'::jsonb then
      v_old := pg_catalog.jsonb_set(v_old, array[v_secret], '"[redacted]"'::jsonb);
    end if;
    if v_new ? v_secret and v_new -> v_secret <> 'null'::jsonb then
      v_new := pg_catalog.jsonb_set(v_new, array[v_secret], '"[redacted]"'::jsonb);
    end if;
  end loop;
  perform public.log_audit_action(
    tg_table_schema || '.' || tg_table_name,
    coalesce(v_new, v_old) ->> 'id',
    pg_catalog.lower(tg_op),
    null,
    v_old,
    v_new
  );
  return null;
end
