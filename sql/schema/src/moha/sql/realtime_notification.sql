
begin
  -- The user's own row; `data` and `body` stay in the table, read when the user opens it.
  perform realtime.send(
    pg_catalog.jsonb_build_object(
      'id', new.id,
      'kind', new.kind,
      'title', new.title,
      'created_at', new.created_at),
    'notification',
    'user:' || new.user_id::text,
    true);
  return null;
end
