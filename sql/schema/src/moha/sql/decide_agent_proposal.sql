
declare
  v public.agent_proposals%rowtype;
  v_done bigint;
  v_status public.proposal_status;
begin
  -- Runs as the caller (security invoker): the proposal is visible and updatable only to someone
  -- whose permission matches its action, and the action below runs under the caller's own
  -- policies. The row lock makes concurrent decisions queue: the first decides, the rest find
  -- it decided.
  select * into v from public.agent_proposals p
   where p.id = decide_agent_proposal.proposal_id
     for update;
  if not found then
    raise exception 'no proposal % that you may decide', decide_agent_proposal.proposal_id
      using errcode = '42501', hint = 'deciding needs the permission of the proposal''s action';
  end if;
  if v.status <> 'pending'::public.proposal_status then
    raise exception 'proposal % is already %', v.id, v.status using errcode = '55000';
  end if;
  if v.expires_at <= pg_catalog.now() then
    v_status := 'expired';
  elsif not decide_agent_proposal.approve then
    v_status := 'rejected';
  else
    v_status := 'approved';
    -- Fixed statements per action; the payload's values were checked by the table's constraints.
    if v.action = 'publish_post'::public.proposal_action then
      update public.blog_posts b
         set status = 'published'::public.blog_status, published_at = coalesce(b.published_at, pg_catalog.now())
       where b.id = v.target_id;
    elsif v.action = 'send_reply'::public.proposal_action then
      update public.social_messages m
         set status = 'replied'::public.message_status
       where m.id = v.target_id;
    elsif v.action = 'assign_lead'::public.proposal_action then
      update public.leads l
         set assigned_to = (v.payload ->> 'assigned_to')::uuid
       where l.id = v.target_id;
    else
      update public.leads l
         set status = (v.payload ->> 'status')::public.lead_status
       where l.id = v.target_id;
    end if;
    get diagnostics v_done = row_count;
    if v_done = 0 then
      raise exception 'your access does not reach the target of proposal %', v.id
        using errcode = '42501';
    end if;
  end if;
  update public.agent_proposals p
     set status = v_status, decided_by = (select auth.uid()), decided_at = pg_catalog.now(),
         reason = decide_agent_proposal.reason
   where p.id = v.id;
  return v_status;
end
