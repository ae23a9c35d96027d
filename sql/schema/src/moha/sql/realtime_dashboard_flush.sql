declare
  counts jsonb := private.realtime_dashboard_counters();
  last jsonb;
begin
  -- The trailing edge the once-a-second limit leaves when a burst spans many transactions:
  -- send the counters when they differ from the last ones sent.
  select m.payload into last
    from realtime.messages m
   where m.topic = 'dashboard:admin' and m.extension = 'broadcast' and m.private
     and m.event = 'counters'
     and m.inserted_at > pg_catalog.now()::timestamp - interval '1 day'
   order by m.inserted_at desc
   limit 1;
  if last is null or (last - 'at' - 'id') is distinct from (counts - 'at') then
    perform realtime.send(counts, 'counters', 'dashboard:admin', true);
  end if;
end
