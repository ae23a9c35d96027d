
begin
  -- A deferred trigger: it runs at commit, once per transaction (the first row's call), so the
  -- counters include everything the transaction wrote.
  if pg_catalog.current_setting('moha.dashboard_tx', true) = pg_catalog.txid_current()::text then
    return null;
  end if;
  perform pg_catalog.set_config('moha.dashboard_tx', pg_catalog.txid_current()::text, true);
  -- At most one message a second: committing writers take turns here (briefly: only one a
  -- second computes the counters), and each sees the others' committed messages.
  perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('realtime dashboard:admin'));
  if exists (
    select from realtime.messages m
     where m.topic = 'dashboard:admin' and m.extension = 'broadcast' and m.private
       and m.event = 'counters'
       and m.inserted_at > pg_catalog.now()::timestamp - interval '1 second'
  ) then
    return null;
  end if;
  perform realtime.send(private.realtime_dashboard_counters(), 'counters', 'dashboard:admin', true);
  return null;
end
