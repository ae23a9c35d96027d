
  select case
    when redact.row_values is null or pg_catalog.cardinality(redact.secrets) = 0 then redact.row_values
    else redact.row_values || coalesce(
      (select pg_catalog.jsonb_object_agg(k, '"[redacted]"'::jsonb)
         from pg_catalog.unnest(redact.secrets) k
        where redact.row_values ? k and redact.row_values -> k <> 'null'::jsonb),
      '{}'::jsonb)
  end
