-- pg_net (issue 17) for a server that has no pg_net package (Debian has none): the schema `net`
-- with pg_net's request queue and response table, column for column, and its public API
-- (`net.http_get`, `net.http_post`, `net.http_delete`) with the same signatures and defaults
-- (supabase/pg_net sql/pg_net.sql). Hosted's event trigger `issue_pg_net_access` then makes
-- http_get/http_post security definer with `search_path = net`, executable by postgres and the
-- API roles (supabase/postgres init-scripts 00000000000003-post-setup.sql); so are these.
--
-- What differs: pg_net's C background worker is replaced by the local stack's worker (`cargo
-- xtask net-worker`, started by `up`), a client session that sends queued requests to 127.0.0.1
-- only and writes each answer to net._http_response; `net.wake()` notifies it. The URL helpers
-- pg_net writes in C are PL/pgSQL here.
--
-- Installed by the compat layer when the server has no pg_net, and used as the script of the
-- PostgreSQL 17 test server's stand-in package; idempotent. Run as the superuser.

create schema if not exists net;

do $net$
begin
  if pg_catalog.to_regtype('net.http_method') is null then
    create domain net.http_method as text
      check (value ilike 'get' or value ilike 'post' or value ilike 'delete');
  end if;
end
$net$;

-- Pending requests; the worker takes them from here. (pg_net: "API: Private")
create unlogged table if not exists net.http_request_queue (
  id bigserial,
  method net.http_method not null,
  url text not null,
  headers jsonb,
  body bytea,
  timeout_milliseconds int not null
);

-- One row per finished request, keyed by the request's id. (pg_net: "API: Private")
create unlogged table if not exists net._http_response (
  id bigint,
  status_code integer,
  content_type text,
  headers jsonb,
  content text,
  timed_out bool,
  error_msg text,
  created timestamptz not null default now()
);
create index if not exists _http_response_created_idx on net._http_response (created);

create or replace function net._urlencode_string(string varchar)
returns text
language sql
immutable
set search_path = ''
as $fn$
  select pg_catalog.string_agg(
           case when b.c ~ '^[A-Za-z0-9._~-]$' then b.c
                else pg_catalog.upper(pg_catalog.regexp_replace(
                       pg_catalog.encode(pg_catalog.convert_to(b.c, 'UTF8'), 'hex'),
                       '(..)', '%\1', 'g'))
           end, '' order by b.n)
    from pg_catalog.regexp_split_to_table(string, '') with ordinality as b(c, n)
$fn$;

create or replace function net._encode_url_with_params_array(url text, params_array text[])
returns text
language sql
immutable
set search_path = ''
as $fn$
  select case
    when pg_catalog.cardinality(params_array) = 0 then url
    else url || case when url like '%?%' then '&' else '?' end
             || pg_catalog.array_to_string(params_array, '&')
  end
$fn$;

-- Wakes the worker; notifications are delivered on commit, when the request becomes visible.
create or replace function net.wake()
returns void
language sql
set search_path = ''
as $fn$
  select pg_catalog.pg_notify('pg_net_wake', '')
$fn$;

create or replace function net.check_worker_is_up()
returns void
language plpgsql
set search_path = ''
as $fn$
begin
  if not exists (select from pg_catalog.pg_stat_activity where application_name = 'pg_net worker') then
    raise exception using
      message = 'the pg_net background worker is not up',
      detail = 'no session of the local pg_net worker is connected',
      hint = 'cargo xtask up starts it (cargo xtask status shows it)';
  end if;
end
$fn$;
comment on function net.check_worker_is_up() is 'raises an exception if the pg_net background worker is not up, otherwise it doesn''t return anything';

create or replace function net.worker_restart()
returns bool
language sql
set search_path = ''
as $fn$
  select true
$fn$;

create or replace function net.http_get(
  url text,
  params jsonb default '{}'::jsonb,
  headers jsonb default '{}'::jsonb,
  timeout_milliseconds int default 5000
)
returns bigint
language plpgsql
as $fn$
declare
  request_id bigint;
  params_array text[];
begin
  select coalesce(pg_catalog.array_agg(net._urlencode_string(key) || '=' || net._urlencode_string(value)), '{}')
    into params_array
    from pg_catalog.jsonb_each_text(params);
  insert into net.http_request_queue (method, url, headers, timeout_milliseconds)
  values ('GET', net._encode_url_with_params_array(url, params_array), headers, timeout_milliseconds)
  returning id into request_id;
  perform net.wake();
  return request_id;
end
$fn$;

create or replace function net.http_post(
  url text,
  body jsonb default '{}'::jsonb,
  params jsonb default '{}'::jsonb,
  headers jsonb default '{"Content-Type": "application/json"}'::jsonb,
  timeout_milliseconds int default 5000
)
returns bigint
language plpgsql
as $fn$
declare
  request_id bigint;
  params_array text[];
  content_type text;
begin
  select header_value into content_type
    from pg_catalog.jsonb_each_text(coalesce(headers, '{}'::jsonb)) r(header_name, header_value)
   where pg_catalog.lower(header_name) = 'content-type'
   limit 1;
  if content_type is null then
    select headers || '{"Content-Type": "application/json"}'::jsonb into headers;
  end if;
  if content_type <> 'application/json' then
    raise exception 'Content-Type header must be "application/json"';
  end if;
  select coalesce(pg_catalog.array_agg(net._urlencode_string(key) || '=' || net._urlencode_string(value)), '{}')
    into params_array
    from pg_catalog.jsonb_each_text(params);
  insert into net.http_request_queue (method, url, headers, body, timeout_milliseconds)
  values ('POST', net._encode_url_with_params_array(url, params_array), headers,
          pg_catalog.convert_to(body::text, 'UTF8'), timeout_milliseconds)
  returning id into request_id;
  perform net.wake();
  return request_id;
end
$fn$;

create or replace function net.http_delete(
  url text,
  params jsonb default '{}'::jsonb,
  headers jsonb default '{}'::jsonb,
  timeout_milliseconds int default 5000,
  body jsonb default null
)
returns bigint
language plpgsql
as $fn$
declare
  request_id bigint;
  params_array text[];
begin
  select coalesce(pg_catalog.array_agg(net._urlencode_string(key) || '=' || net._urlencode_string(value)), '{}')
    into params_array
    from pg_catalog.jsonb_each_text(params);
  insert into net.http_request_queue (method, url, headers, body, timeout_milliseconds)
  values ('DELETE', net._encode_url_with_params_array(url, params_array), headers,
          pg_catalog.convert_to(body::text, 'UTF8'), timeout_milliseconds)
  returning id into request_id;
  perform net.wake();
  return request_id;
end
$fn$;

-- pg_net's own grants, then hosted's issue_pg_net_access.
grant usage on schema net to public;
grant all on all sequences in schema net to public;
grant all on all tables in schema net to public;

alter function net.http_get(text, jsonb, jsonb, integer) security definer;
alter function net.http_post(text, jsonb, jsonb, jsonb, integer) security definer;
alter function net.http_get(text, jsonb, jsonb, integer) set search_path = net;
alter function net.http_post(text, jsonb, jsonb, jsonb, integer) set search_path = net;
revoke all on function net.http_get(text, jsonb, jsonb, integer) from public;
revoke all on function net.http_post(text, jsonb, jsonb, jsonb, integer) from public;
grant execute on function net.http_get(text, jsonb, jsonb, integer)
  to postgres, anon, authenticated, service_role;
grant execute on function net.http_post(text, jsonb, jsonb, jsonb, integer)
  to postgres, anon, authenticated, service_role;
