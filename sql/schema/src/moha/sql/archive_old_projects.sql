
declare
  v_count integer;
begin
  if cutoff is null or cutoff > pg_catalog.now() then
    raise exception 'archive_old_projects: cutoff must be a time in the past, got %', coalesce(cutoff::text, 'null')
      using errcode = '22023';
  end if;
  -- Each archived row is audited by the projects audit trigger; the summary row records the run.
  with archived as (
    update public.projects p
       set status = 'archived', archived_at = pg_catalog.now()
     where p.status = 'completed'
       and coalesce(p.completed_at, p.updated_at) < archive_old_projects.cutoff
    returning p.id
  )
  select pg_catalog.count(*)::integer into v_count from archived;
  if v_count > 0 then
    perform public.log_audit_action(
      'public.projects', null, 'archive',
      null, null,
      pg_catalog.jsonb_build_object('archived', v_count, 'cutoff', archive_old_projects.cutoff)
    );
  end if;
  return v_count;
end
