
declare
  v_scored timestamptz;
begin
  select s.created_at into v_scored
    from public.lead_scoring s
   where s.lead_id = queue_lead_scoring.lead_id and s.model <> 'rules-v1'
   order by s.created_at desc, s.id desc
   limit 1;
  if v_scored is not null
     and v_scored > pg_catalog.now() - interval '30 days'
     and not exists (select 1 from public.lead_notes n
                      where n.lead_id = queue_lead_scoring.lead_id and n.created_at > v_scored) then
    return false;
  end if;
  insert into private.lead_score_queue (lead_id)
  select l.id from public.leads l where l.id = queue_lead_scoring.lead_id
  -- Named by constraint: a bare (lead_id) would be ambiguous with the argument.
  on conflict on constraint lead_score_queue_pkey do nothing;
  return found;
end
