-- What the Supabase Realtime service creates in a project's database (issue 18), mirrored from
-- supabase/realtime v2.129.8 (commit 833cf36, lib/realtime/tenants/repo/migrations, through
-- 20260709120000): on hosted these objects come from the Realtime server's own migrations, not
-- from the database's init scripts, so the compat layer adds them here. Idempotent; run as a
-- superuser after compat.sql. Item by item in docs/realtime.md.

-- 20240401105812 / 20260707120000: the owner of Realtime's objects.
do $$
begin
  if not exists (select from pg_catalog.pg_roles where rolname = 'supabase_realtime_admin') then
    create role supabase_realtime_admin with noinherit nologin noreplication;
  end if;
end
$$;
-- Hosted grants the role all on the schema (20240401105812); here usage only, because `postgres`
-- is its member (below) and hosted's `postgres` may not create in `realtime` (20260707120000).
grant usage on schema realtime to supabase_realtime_admin;
revoke create on schema realtime from supabase_realtime_admin;
-- Hosted lets `postgres` manage policies on realtime.messages through supautils'
-- policy_grants (20260707120000); without supautils, membership in the owner role does it here
-- (as hosted had it from 20240401105812), narrowed by compat_guard_realtime below.
grant supabase_realtime_admin to postgres;

-- 20241030150047 + 20241108114728 + 20260514120000: partitioned by day on inserted_at, uuid ids,
-- a binary payload exclusive with the JSON one.
create table if not exists realtime.messages (
  topic text not null,
  extension text not null,
  payload jsonb,
  event text,
  private boolean default false,
  updated_at timestamp without time zone not null default now(),
  inserted_at timestamp without time zone not null default now(),
  id uuid not null default gen_random_uuid(),
  binary_payload bytea,
  constraint messages_pkey primary key (id, inserted_at),
  constraint messages_payload_exclusive check (payload is null or binary_payload is null)
) partition by range (inserted_at);
alter table realtime.messages owner to supabase_realtime_admin;
alter table realtime.messages enable row level security;
grant select, insert, update on realtime.messages to postgres, anon, authenticated, service_role;
-- 20250905041441: the replay index.
create index if not exists messages_inserted_at_topic_index
  on realtime.messages (inserted_at desc, topic)
  where extension = 'broadcast' and private is true;

-- 20240523004032: the topic being authorised, set by Realtime (and by send()).
create or replace function realtime.topic() returns text as $$
select nullif(current_setting('realtime.topic', true), '')::text;
$$ language sql stable;
alter function realtime.topic() owner to supabase_realtime_admin;

-- 20260605120000: send() turns its errors into warnings.
create or replace function realtime.send(payload jsonb, event text, topic text, private boolean default true) returns void
as $$
declare
  generated_id uuid;
  final_payload jsonb;
begin
  begin
    generated_id := gen_random_uuid();

    -- Check if payload has an 'id' key, if not, add the generated UUID
    if payload ? 'id' then
      final_payload := payload;
    else
      final_payload := jsonb_set(payload, '{id}', to_jsonb(generated_id));
    end if;

    -- Set the topic configuration
    execute format('SET LOCAL realtime.topic TO %L', topic);

    insert into realtime.messages (id, payload, event, topic, private, extension)
    values (generated_id, final_payload, event, topic, private, 'broadcast');
  exception
    when others then
      raise warning 'WarnSendingBroadcastMessage: %', SQLERRM;
  end;
end;
$$
language plpgsql;
alter function realtime.send(jsonb, text, text, boolean) owner to supabase_realtime_admin;

create or replace function realtime.send_binary(
  payload bytea,
  event text,
  topic text,
  private boolean default true
) returns void as $$
declare
  generated_id uuid;
begin
  begin
    generated_id := gen_random_uuid();

    execute format('SET LOCAL realtime.topic TO %L', topic);

    insert into realtime.messages (id, binary_payload, event, topic, private, extension)
    values (generated_id, payload, event, topic, private, 'broadcast');
  exception
    when others then
      raise warning 'WarnSendingBroadcastMessage: %', SQLERRM;
  end;
end;
$$ language plpgsql;
alter function realtime.send_binary(bytea, text, text, boolean) owner to supabase_realtime_admin;

-- 20240919163303: whole OLD and NEW rows.
create or replace function realtime.broadcast_changes (topic_name text, event_name text, operation text, table_name text, table_schema text, new record, old record, level text default 'ROW')
    returns void
    as $$
declare
    -- Declare a variable to hold the JSONB representation of the row
    row_data jsonb := '{}'::jsonb;
begin
    if level = 'STATEMENT' then
        raise exception 'function can only be triggered for each row, not for each statement';
    end if;
    -- Check the operation type and handle accordingly
    if operation = 'INSERT' or operation = 'UPDATE' or operation = 'DELETE' then
        row_data := jsonb_build_object('old_record', old, 'record', new, 'operation', operation, 'table', table_name, 'schema', table_schema);
        perform realtime.send (row_data, event_name, topic_name);
    else
        raise exception 'Unexpected operation type: %', operation;
    end if;
exception
    when others then
        raise exception 'Failed to process the row: %', SQLERRM;
end;

$$
language plpgsql;
alter function realtime.broadcast_changes(text, text, text, text, text, record, record, text) owner to supabase_realtime_admin;

-- 20231204144023: every API role may call them.
grant execute on all functions in schema realtime to postgres, anon, authenticated, service_role;

-- Not hosted's: the local Realtime endpoint's delivery path. Hosted's Realtime reads inserted
-- messages through logical replication; the local gateway (xtask/gateway/realtime.ts) LISTENs
-- instead. NOTIFY is sent at commit, so a rolled-back insert (an authorisation probe, an
-- aborted transaction) is never delivered; a payload too large for NOTIFY (8000 bytes) is sent
-- as its key and read back by the gateway.
create or replace function realtime.compat_notify_message() returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  body text;
begin
  body := pg_catalog.json_build_object(
    'id', new.id, 'topic', new.topic, 'event', new.event, 'private', new.private,
    'extension', new.extension, 'payload', new.payload,
    'binary', pg_catalog.encode(new.binary_payload, 'base64'))::text;
  if pg_catalog.octet_length(body) > 7900 then
    body := pg_catalog.json_build_object('id', new.id, 'inserted_at', new.inserted_at,
      'topic', new.topic, 'large', true)::text;
  end if;
  perform pg_catalog.pg_notify('realtime_messages', body);
  return null;
end
$$;
alter function realtime.compat_notify_message() owner to supabase_realtime_admin;
revoke all on function realtime.compat_notify_message() from public, anon, authenticated, service_role;
drop trigger if exists compat_notify_message on realtime.messages;
create trigger compat_notify_message after insert on realtime.messages
  for each row when (new.extension = 'broadcast') execute function realtime.compat_notify_message();

-- Realtime's Tenants.create_messages_partitions/1: yesterday through three days ahead. Hosted's
-- service runs it as its own admin; here the local endpoint (as `postgres`) calls this, at
-- start and hourly, and the install once.
create or replace function extensions.compat_realtime_partitions() returns void
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  d date;
  part text;
begin
  for d in select g::date from pg_catalog.generate_series(current_date - 1, current_date + 3, interval '1 day') g loop
    part := 'messages_' || pg_catalog.to_char(d, 'YYYY_MM_DD');
    execute pg_catalog.format(
      'create table if not exists realtime.%I partition of realtime.messages for values from (%L) to (%L)',
      part, d, d + 1);
    execute pg_catalog.format('alter table realtime.%I owner to supabase_realtime_admin', part);
  end loop;
end
$$;
revoke all on function extensions.compat_realtime_partitions() from public;
grant execute on function extensions.compat_realtime_partitions() to postgres;
select extensions.compat_realtime_partitions();

-- Hosted's supautils lets `postgres` manage policies on realtime.messages and nothing else of
-- Realtime's; the membership granted above would allow more, so this refuses the rest.
create or replace function extensions.compat_guard_realtime()
returns event_trigger
language plpgsql
set search_path = ''
as $$
declare
  cmd record;
begin
  if (select r.rolsuper from pg_catalog.pg_roles r where r.rolname = current_user) then
    return;
  end if;
  if tg_event = 'sql_drop' then
    for cmd in select * from pg_catalog.pg_event_trigger_dropped_objects() loop
      if cmd.schema_name = 'realtime' and cmd.object_type not in ('policy', 'trigger') then
        raise exception 'must be owner of % %', cmd.object_type, cmd.object_identity
          using errcode = '42501',
                hint = 'on Supabase only the Realtime service changes its objects; policies on realtime.messages are yours';
      end if;
    end loop;
    return;
  end if;
  for cmd in select * from pg_catalog.pg_event_trigger_ddl_commands() loop
    if cmd.schema_name = 'realtime'
       and cmd.command_tag not in ('CREATE POLICY', 'ALTER POLICY', 'CREATE TRIGGER', 'GRANT', 'REVOKE')
    then
      raise exception 'must be owner of % %', cmd.object_type, cmd.object_identity
        using errcode = '42501',
              hint = 'on Supabase only the Realtime service changes its objects; policies on realtime.messages are yours';
    end if;
  end loop;
end
$$;
revoke all on function extensions.compat_guard_realtime() from public;
drop event trigger if exists compat_guard_realtime;
create event trigger compat_guard_realtime on ddl_command_end
  execute function extensions.compat_guard_realtime();
drop event trigger if exists compat_guard_realtime_drop;
create event trigger compat_guard_realtime_drop on sql_drop
  execute function extensions.compat_guard_realtime();
