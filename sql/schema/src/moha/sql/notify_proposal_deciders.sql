
begin
  -- Everyone whose role holds the permission that decides the action hears of it. Only the
  -- action and the agent's name go into the notification: the payload may carry outside text.
  insert into public.notifications (user_id, kind, title, body)
  select u.id, 'agent_proposal',
         'An agent proposes: ' || pg_catalog.replace(n.action::text, '_', ' '),
         'Agent ' || a.name || ' proposed ' || n.action::text || ' (proposal ' || n.id::text || '); approve or reject it.'
    from new_rows n
    join public.agents a on a.id = n.agent_id
    join public.permissions p
      on (p.resource, p.action) = (case n.action
                                     when 'publish_post'::public.proposal_action then 'blog'
                                     when 'send_reply'::public.proposal_action then 'social_messages'
                                     else 'leads' end,
                                   case n.action
                                     when 'publish_post'::public.proposal_action then 'publish'
                                     when 'assign_lead'::public.proposal_action then 'assign'
                                     else 'edit' end)
    join public.users u on u.role_id = p.role_id;
  return null;
end
