
begin
  insert into private.lead_score_queue (lead_id)
  select distinct n.lead_id from new_rows n
  on conflict (lead_id) do nothing;
  return null;
end
