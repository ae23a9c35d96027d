
begin
  if claim_lead_scoring.batch is null or claim_lead_scoring.batch < 1 or claim_lead_scoring.batch > 50 then
    raise exception 'claim_lead_scoring: batch must be between 1 and 50, got %', claim_lead_scoring.batch
      using errcode = '22023';
  end if;
  -- Two drains at once take different leads.
  return query
    delete from private.lead_score_queue q
     where q.lead_id in (select x.lead_id from private.lead_score_queue x
                          order by x.queued_at, x.lead_id
                          limit claim_lead_scoring.batch
                          for update skip locked)
    returning q.lead_id;
end
