
declare
  v_url text;
  v_secret text;
  v_request bigint;
begin
  select s.decrypted_secret into v_url from vault.decrypted_secrets s where s.name = 'project_url';
  select s.decrypted_secret into v_secret from vault.decrypted_secrets s where s.name = 'scheduled_call_secret';
  if v_url is null or v_secret is null then
    raise exception 'Vault secret % is not set', case when v_url is null then 'project_url' else 'scheduled_call_secret' end
      using errcode = 'P0002',
            hint = 'store it as postgres: select vault.create_secret(''<value>'', ''<name>''); see docs/operations.md';
  end if;
  -- The scheduled-call secret, never the service key: pg_net keeps request headers in its queue
  -- table, and this secret opens the functions' scheduled entry points only.
  v_request := net.http_post(
    url := pg_catalog.rtrim(v_url, '/') || '/functions/v1/' || function_name,
    body := payload,
    headers := pg_catalog.jsonb_build_object(
      'Content-Type', 'application/json',
      'Authorization', 'Bearer ' || v_secret),
    timeout_milliseconds := 150000);
  insert into private.scheduled_calls (request_id, job, function_name, payload)
  values (v_request, job_name, function_name, payload);
  return v_request;
end
