
begin
  raise exception '% is append-only: % is not allowed', tg_table_schema || '.' || tg_table_name, pg_catalog.lower(tg_op)
    using errcode = '42501', hint = 'audit rows are never changed; write a new row with public.log_audit_action instead';
end
