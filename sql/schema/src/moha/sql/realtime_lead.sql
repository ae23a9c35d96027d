declare
  payload jsonb;
  reassigned boolean;
begin
  -- A new lead without an owner is neither an assignment nor a status change (and a bulk load
  -- of them would send a message per row).
  if tg_op = 'INSERT' then
    reassigned := new.assigned_to is not null;
    if not reassigned then
      return null;
    end if;
  else
    reassigned := old.assigned_to is distinct from new.assigned_to;
    if not reassigned and old.status is not distinct from new.status then
      return null;
    end if;
  end if;
  -- A lead list's fields: no contact details (email, phone), read when the lead is opened.
  payload := pg_catalog.jsonb_build_object(
    'id', new.id,
    'client_name', new.client_name,
    'source', new.source,
    'status', new.status,
    'assigned_to', new.assigned_to,
    'score', new.score,
    'updated_at', new.updated_at);
  if new.assigned_to is not null then
    perform realtime.send(payload,
      case when reassigned then 'lead_assigned' else 'lead_status' end,
      'leads:' || new.assigned_to::text, true);
  end if;
  -- The previous owner may no longer select the lead: they learn its id, nothing more.
  if tg_op = 'UPDATE' and old.assigned_to is not null and reassigned then
    perform realtime.send(pg_catalog.jsonb_build_object('id', new.id), 'lead_unassigned',
      'leads:' || old.assigned_to::text, true);
  end if;
  perform realtime.send(payload, 'lead_changed', 'leads:all', true);
  return null;
end
