
declare
  v_lead public.leads;
  v_source integer;
  v_recency integer;
  v_notes integer;
  v_ai smallint;
  v_ai_part integer;
  v_score smallint;
  v_age_days integer;
  v_rationale text;
begin
  -- Lock the lead so concurrent scorers of the same lead serialise.
  select * into v_lead from public.leads l where l.id = update_lead_score.lead_id for update;
  if not found then
    raise exception 'update_lead_score: no lead %', update_lead_score.lead_id using errcode = 'P0002';
  end if;

  v_source := case v_lead.source
    when 'referral' then 30
    when 'walk_in' then 25
    when 'website' then 20
    when 'phone' then 20
    when 'email' then 15
    when 'instagram' then 15
    when 'tiktok' then 10
    else 5
  end;
  v_age_days := pg_catalog.floor(extract(epoch from (pg_catalog.now() - v_lead.created_at)) / 86400)::integer;
  v_recency := case
    when v_age_days <= 7 then 20
    when v_age_days <= 30 then 10
    when v_age_days <= 90 then 5
    else 0
  end;
  select least(pg_catalog.count(*)::integer * 5, 20) into v_notes
    from public.lead_notes n
   where n.lead_id = v_lead.id and n.created_at > pg_catalog.now() - interval '30 days';
  -- The latest AI score (rows written by this function are model 'rules-v1', not AI).
  select s.score into v_ai
    from public.lead_scoring s
   where s.lead_id = v_lead.id and s.model <> 'rules-v1'
   order by s.created_at desc, s.id desc
   limit 1;
  v_ai_part := coalesce(pg_catalog.round(v_ai * 0.3)::integer, 0);
  v_score := least(v_source + v_recency + v_notes + v_ai_part, 100);

  v_rationale := pg_catalog.format('source %s: %s; age %s days: %s; recent notes: %s; latest AI score %s: %s',
    v_lead.source, v_source, v_age_days, v_recency, v_notes, coalesce(v_ai::text, 'none'), v_ai_part);

  -- History only when something changed: repeated calls (every assign-leads call refreshes the
  -- score) would otherwise grow lead_scoring and the audit trail with identical rows.
  if not exists (
    select 1
      from (select s.score, s.rationale
              from public.lead_scoring s
             where s.lead_id = v_lead.id and s.model = 'rules-v1'
             order by s.created_at desc, s.id desc
             limit 1) latest
     where latest.score = v_score and latest.rationale = v_rationale
  ) then
    insert into public.lead_scoring (lead_id, score, rationale, model)
    values (v_lead.id, v_score, v_rationale, 'rules-v1');
  end if;
  update public.leads l set score = v_score where l.id = v_lead.id and l.score is distinct from v_score;
  return v_score;
end
