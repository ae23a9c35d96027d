
declare
  v_current date := pg_catalog.date_trunc('month', upkeep_at at time zone 'UTC')::date;
  v_last date := (v_current + pg_catalog.make_interval(months => months_ahead))::date;
  v_newest date;
  v_month date;
  v_created integer := 0;
  v_moved bigint := 0;
  v_archived text[] := '{}';
  v_kept integer;
  v_target text;
  r record;
begin
  if months_ahead is null or months_ahead < 3 or months_ahead > 120 then
    raise exception 'social_messages_upkeep: months_ahead must be between 3 and 120, got %', months_ahead
      using errcode = '22023';
  end if;
  -- One upkeep at a time (the job and a manual run).
  perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('private.social_messages_upkeep'));

  -- 1. Every month with rows in the default partition gets its partition; the rows move in.
  for v_month in
    select distinct pg_catalog.date_trunc('month', d.received_at at time zone 'UTC')::date
      from private.social_messages_default d
     order by 1
  loop
    v_moved := v_moved + private.social_messages_attach(v_month);
    v_created := v_created + 1;
  end loop;

  -- 2. The current month and months_ahead after it, and no gap after the newest partition (a
  --    run missed for months leaves none behind).
  select pg_catalog.max(pg_catalog.to_date(pg_catalog.substr(c.relname, 17), 'YYYY_MM'))
    into v_newest
    from pg_catalog.pg_inherits i
    join pg_catalog.pg_class c on c.oid = i.inhrelid
   where i.inhparent = 'public.social_messages'::pg_catalog.regclass
     and c.relname ~ '^social_messages_[0-9]{4}_[0-9]{2}$';
  v_month := least(v_current, coalesce((v_newest + interval '1 month')::date, v_current));
  while v_month <= v_last loop
    if pg_catalog.to_regclass(pg_catalog.format('private.%I', 'social_messages_' || pg_catalog.to_char(v_month, 'YYYY_MM'))) is null then
      perform private.social_messages_attach(v_month);
      v_created := v_created + 1;
    end if;
    v_month := (v_month + interval '1 month')::date;
  end loop;

  -- 3. Retention: months that ended more than social_messages_kept_months before the current
  --    one leave for schema archive, detached, never dropped. Last, because detaching takes the
  --    parent's ACCESS EXCLUSIVE lock, held to the end of the transaction; a run that cannot get
  --    it within 5 s leaves the partition for the next run.
  select s.social_messages_kept_months into v_kept from public.operations_settings s where s.id;
  for r in
    select c.relname
      from pg_catalog.pg_inherits i
      join pg_catalog.pg_class c on c.oid = i.inhrelid
     where i.inhparent = 'public.social_messages'::pg_catalog.regclass
       and c.relname ~ '^social_messages_[0-9]{4}_[0-9]{2}$'
       and pg_catalog.to_date(pg_catalog.substr(c.relname, 17), 'YYYY_MM') + interval '1 month'
           <= v_current - pg_catalog.make_interval(months => v_kept)
     order by c.relname
  loop
    v_target := r.relname;
    if pg_catalog.to_regclass(pg_catalog.format('archive.%I', v_target)) is not null then
      v_target := v_target || '_' || pg_catalog.to_char(pg_catalog.now(), 'YYYYMMDDHH24MISS');
    end if;
    begin
      perform pg_catalog.set_config('lock_timeout', '5s', true);
      -- A partition whose rows live rows reference cannot be detached: their sentiments go first.
      execute pg_catalog.format(
        'with gone as (delete from public.social_sentiment s using private.%I m where s.message_id = m.id and s.message_received_at = m.received_at returning s.*) insert into archive.social_sentiment select * from gone',
        r.relname);
      execute pg_catalog.format('alter table public.social_messages detach partition private.%I', r.relname);
      if v_target <> r.relname then
        execute pg_catalog.format('alter table private.%I rename to %I', r.relname, v_target);
      end if;
      execute pg_catalog.format('alter table private.%I set schema archive', v_target);
      v_archived := v_archived || v_target;
      perform public.log_audit_action(
        'public.social_messages', r.relname, 'partition_archive', null, null,
        pg_catalog.jsonb_build_object('partition', 'archive.' || v_target));
    exception when lock_not_available then
      insert into public.error_logs (service, error_message, context)
      values ('schedule', 'moha-partition-upkeep: ' || r.relname || ' not archived: the parent''s lock was not free within 5 s',
              pg_catalog.jsonb_build_object('partition', r.relname));
    end;
  end loop;
  return pg_catalog.jsonb_build_object('created', v_created, 'moved', v_moved, 'archived', pg_catalog.to_jsonb(v_archived));
end
