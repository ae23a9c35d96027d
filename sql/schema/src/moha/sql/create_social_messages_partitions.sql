
declare
  v_month date := pg_catalog.date_trunc('month', from_month)::date;
  v_next date;
  v_name text;
  v_created integer := 0;
  -- Rows moving out of the default partition, held in a variable: a staging table would have a
  -- name the caller could create first (a temp table wins the lookup), with triggers that would
  -- run as this function's owner.
  v_moving public.social_messages[];
begin
  if months_ahead is null or months_ahead < 0 or months_ahead > 120 then
    raise exception 'create_social_messages_partitions: months_ahead must be between 0 and 120, got %', months_ahead
      using errcode = '22023';
  end if;
  for i in 0..months_ahead loop
    v_next := (v_month + interval '1 month')::date;
    v_name := 'social_messages_' || pg_catalog.to_char(v_month, 'YYYY_MM');
    if not exists (
      select 1 from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
       where n.nspname = 'private' and c.relname = v_name
    ) then
      -- Months are UTC months. Rows of this month that already landed in the default partition would violate the new
      -- partition's bound: take them out, create the partition, and route them back in. Both moves go through the
      -- parent (no partition covers the month yet, so the delete reaches only the default partition), so the parent's
      -- audit triggers record them.
      lock table private.social_messages_default in access exclusive mode;
      with moved as (
        delete from public.social_messages d
         where d.received_at >= (v_month::timestamp at time zone 'UTC')
           and d.received_at < (v_next::timestamp at time zone 'UTC')
        returning d
      )
      select pg_catalog.array_agg(moved.d) into v_moving from moved;
      execute pg_catalog.format(
        'create table private.%I partition of public.social_messages for values from (%L) to (%L)',
        v_name, (v_month::timestamp at time zone 'UTC'), (v_next::timestamp at time zone 'UTC'));
      -- Partitions are reachable only through the parent; direct access is denied.
      execute pg_catalog.format('alter table private.%I enable row level security', v_name);
      insert into public.social_messages select * from pg_catalog.unnest(v_moving);
      v_created := v_created + 1;
    end if;
    v_month := v_next;
  end loop;
  return v_created;
end
