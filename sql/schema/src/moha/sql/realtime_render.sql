declare
  payload jsonb;
begin
  if tg_op = 'UPDATE' and old.status is not distinct from new.status then
    return null;
  end if;
  payload := pg_catalog.jsonb_build_object(
    'id', new.id,
    'project_id', new.project_id,
    'status', new.status,
    'error_message', new.error_message,
    'updated_at', new.updated_at,
    'completed_at', new.completed_at);
  perform realtime.send(payload, 'render_status', 'user:' || new.user_id::text, true);
  -- Designers and Admins read every request, whose owner the review list shows.
  perform realtime.send(payload || pg_catalog.jsonb_build_object('user_id', new.user_id),
    'render_status', 'renders:review', true);
  return null;
end
