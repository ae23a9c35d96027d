
begin
  -- Instagram's long-lived tokens last about 60 days and may be refreshed once a day old: a
  -- week ahead. TikTok's access tokens last hours: an hour ahead (the job runs every 15
  -- minutes). An account without a known expiry is refreshed once, which records it.
  return query
    select a.id, a.platform
      from public.social_accounts a
     where a.access_token is not null
       and not a.needs_reconnect
       and (a.token_expires_at is null
            or a.token_expires_at < pg_catalog.now() + case a.platform
                 when 'instagram' then interval '7 days'
                 else interval '1 hour' end)
       and (a.platform <> 'instagram' or a.token_updated_at is null
            or a.token_updated_at < pg_catalog.now() - interval '24 hours')
     order by a.token_expires_at nulls first, a.id
     limit social_tokens_due.batch;
end
