
begin
  -- Only a changed text asks for a new score.
  insert into private.lead_score_queue (lead_id)
  select distinct n.lead_id
    from new_rows n join old_rows o on o.id = n.id
   where n.note is distinct from o.note
  on conflict (lead_id) do nothing;
  return null;
end
