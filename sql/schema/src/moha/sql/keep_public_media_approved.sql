declare
  v_was boolean;
  v_still boolean := false;
begin
  -- tg_argv[0]: the public bucket whose folders are this table's ids. Approval is the project's
  -- is_published or the post's published status.
  if tg_table_name = 'projects' then
    v_was := old.is_published;
    if tg_op = 'UPDATE' then
      v_still := new.is_published;
    end if;
  else
    v_was := old.status = 'published'::public.blog_status;
    if tg_op = 'UPDATE' then
      v_still := new.status = 'published'::public.blog_status;
    end if;
  end if;
  -- Storage's public route serves without RLS: the copies must go before the approval does.
  -- The copies refer to the row as a foreign key would, hence foreign_key_violation. Invoker:
  -- whoever may unpublish may also select the public objects of a published row.
  if v_was and not v_still and exists (
       select 1
         from storage.objects o
        where o.bucket_id = tg_argv[0]
          and o.name operator(pg_catalog.~~) (old.id::text || '/%')) then
    raise exception '% % still has objects in the public bucket %', tg_table_name, old.id, tg_argv[0]
      using errcode = '23503',
            hint = 'remove them through the Storage API first, then unpublish';
  end if;
  if tg_op = 'DELETE' then
    return old;
  end if;
  return new;
end
