
declare
  v_month date := pg_catalog.date_trunc('month', from_month)::date;
  v_created integer := 0;
begin
  if months_ahead is null or months_ahead < 0 or months_ahead > 120 then
    raise exception 'create_social_messages_partitions: months_ahead must be between 0 and 120, got %', months_ahead
      using errcode = '22023';
  end if;
  -- The daily job's way (private.social_messages_attach): rows of these months in the default
  -- partition move in with their sentiments, and the parent keeps taking reads and writes.
  for i in 0..months_ahead loop
    if pg_catalog.to_regclass(pg_catalog.format('private.%I', 'social_messages_' || pg_catalog.to_char(v_month, 'YYYY_MM'))) is null then
      perform private.social_messages_attach(v_month);
      v_created := v_created + 1;
    end if;
    v_month := (v_month + interval '1 month')::date;
  end loop;
  return v_created;
end
