
begin
  if inbox.max_rows is null or inbox.max_rows < 1 or inbox.max_rows > 200 then
    raise exception 'inbox: max_rows must be between 1 and 200, not %', coalesce(inbox.max_rows::text, 'null')
      using errcode = '22023';
  end if;
  -- Each account's newest unread messages through the partial index (one short index scan per
  -- account and pruned partition), then the newest of those: the OR-list form PostgREST sends
  -- for `account_id=in.(...)` has to merge every account's rows instead.
  return query
    select m.id, m.account_id, m.message_type, m.content, m.sender_id, m.received_at, m.status
      from pg_catalog.unnest(inbox.account_ids) as a(account)
      cross join lateral (
        select s.id, s.account_id, s.message_type, s.content, s.sender_id, s.received_at, s.status
          from public.social_messages s
         where s.account_id = a.account
           and s.status = 'unread'::public.message_status
           and s.received_at >= inbox.since
         order by s.received_at desc
         limit inbox.max_rows
      ) m
     order by m.received_at desc
     limit inbox.max_rows;
end
