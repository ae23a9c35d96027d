
declare
  v_month date := pg_catalog.date_trunc('month', month_start)::date;
  v_from timestamptz := v_month::timestamp at time zone 'UTC';
  v_to timestamptz := (v_month + interval '1 month')::timestamp at time zone 'UTC';
  v_name text := 'social_messages_' || pg_catalog.to_char(v_month, 'YYYY_MM');
  v_sentiments public.social_sentiment[];
  v_rows bigint;
  v_before text;
  v_after text;
begin
  if pg_catalog.to_regclass(pg_catalog.format('private.%I', v_name)) is not null then
    return 0;
  end if;
  -- Moving a row out of the default partition deletes it there, and a delete cascades: only
  -- social_sentiment's rows are put back below, so another referencing table would lose rows.
  if exists (
    select from pg_catalog.pg_constraint k
     where k.contype = 'f' and k.confrelid = 'public.social_messages'::pg_catalog.regclass
       and k.conrelid <> 'public.social_sentiment'::pg_catalog.regclass
  ) then
    raise exception 'social_messages_attach: a table other than social_sentiment references social_messages; teach the move to keep its rows'
      using errcode = '55000';
  end if;

  -- 1. The month's table on its own, with the parent's columns, defaults and indexes, RLS, and a
  --    check of the bound so attaching need not scan it. No lock on the parent yet. Its foreign
  --    key comes from the parent when it is attached: one added here would be replaced then, and
  --    dropping its triggers would lock social_accounts against every writer until commit.
  execute pg_catalog.format(
    'create table private.%I (like public.social_messages including defaults including indexes)', v_name);
  execute pg_catalog.format(
    'alter table private.%I add constraint %I check (received_at >= %L and received_at < %L)',
    v_name, v_name || '_bound', v_from, v_to);
  execute pg_catalog.format('alter table private.%I enable row level security', v_name);

  -- 2. The month's rows leave the default partition for it, in one statement, while no one
  --    else writes there. Their sentiments are kept aside (the delete's cascade removes them)
  --    and put back once the rows are attached.
  lock table private.social_messages_default in exclusive mode;
  select pg_catalog.count(*), coalesce(pg_catalog.md5(pg_catalog.string_agg(d::text, ',' order by d.id)), '')
    into v_rows, v_before
    from private.social_messages_default d
   where d.received_at >= v_from and d.received_at < v_to;
  if v_rows > 0 then
    select pg_catalog.array_agg(s) into v_sentiments
      from public.social_sentiment s
     where (s.message_id, s.message_received_at) in (
       select d.id, d.received_at from private.social_messages_default d
        where d.received_at >= v_from and d.received_at < v_to);
    execute pg_catalog.format(
      'with moved as (delete from private.social_messages_default d where d.received_at >= $1 and d.received_at < $2 returning d.*) insert into private.%I select * from moved',
      v_name) using v_from, v_to;
  end if;

  -- 3. Attach: SHARE UPDATE EXCLUSIVE on the parent, so reads and writes go on; the default
  --    partition is scanned under its own lock to prove no row of the month is left there.
  execute pg_catalog.format(
    'alter table public.social_messages attach partition private.%I for values from (%L) to (%L)',
    v_name, v_from, v_to);

  if v_rows > 0 then
    insert into public.social_sentiment select * from pg_catalog.unnest(v_sentiments);
    execute pg_catalog.format(
      'select coalesce(pg_catalog.md5(pg_catalog.string_agg(t::text, %L order by t.id)), %L) from private.%I t',
      ',', '', v_name) into v_after;
    -- One record of the move, not a delete and an insert per row: the rows did not change.
    perform public.log_audit_action(
      'public.social_messages', v_name, 'partition_move', null, null,
      pg_catalog.jsonb_build_object(
        'partition', 'private.' || v_name, 'rows', v_rows,
        'sentiments', coalesce(pg_catalog.cardinality(v_sentiments), 0),
        'checksum_before', v_before, 'checksum_after', v_after));
  end if;
  return v_rows;
end
