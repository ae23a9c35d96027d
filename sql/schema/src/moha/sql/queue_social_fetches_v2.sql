
declare
  v_account uuid;
  v_queued integer := 0;
begin
  if batch is null or batch < 1 or batch > 100 then
    raise exception 'queue_social_fetches: batch must be between 1 and 100, got %', batch
      using errcode = '22023';
  end if;
  -- Accounts are rows, not jobs: each run takes the accounts fetched longest ago, so with N
  -- connected accounts each is fetched every ceil(N / batch) runs and no run calls them all.
  -- An account waiting to be reconnected is skipped: its token no longer works.
  for v_account in
    select a.id
      from public.social_accounts a
      left join private.social_fetches f on f.account_id = a.id
     where a.access_token is not null and not a.needs_reconnect
     order by f.requested_at nulls first, a.id
     limit batch
  loop
    perform private.call_edge_function(job_name, 'fetch-social-updates',
      pg_catalog.jsonb_build_object('account_id', v_account));
    insert into private.social_fetches (account_id, requested_at)
    values (v_account, pg_catalog.now())
    on conflict (account_id) do update set requested_at = excluded.requested_at;
    v_queued := v_queued + 1;
  end loop;
  return v_queued;
end
