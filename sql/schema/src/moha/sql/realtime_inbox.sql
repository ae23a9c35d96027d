
begin
  -- The fields the inbox list shows; Sales and Admins, the topic's listeners, may select them all.
  perform realtime.send(
    pg_catalog.jsonb_build_object(
      'id', new.id,
      'account_id', new.account_id,
      'message_type', new.message_type,
      'sender_id', new.sender_id,
      'status', new.status,
      'received_at', new.received_at,
      'preview', pg_catalog.left(new.content, 140)),
    'message_' || pg_catalog.lower(tg_op),
    'inbox:' || new.account_id::text,
    true);
  return null;
end
