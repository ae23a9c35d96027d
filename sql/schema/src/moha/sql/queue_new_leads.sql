
begin
  insert into private.lead_score_queue (lead_id)
  select n.id from new_rows n
  on conflict (lead_id) do nothing;
  return null;
end
