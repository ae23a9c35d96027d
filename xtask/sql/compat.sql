-- The Supabase compatibility layer: makes a plain PostgreSQL 15 database look, to migrations and
-- to the application, like a hosted Supabase database (roles, `extensions`, `auth`, `storage`,
-- `realtime`, `graphql_public`, grants and default privileges, the realtime publication; item by
-- item, with what stays different, in docs/fidelity.md). Written from the behaviour of supabase/postgres,
-- supabase/auth and supabase/storage; never run against a real Supabase project.
--
-- Run as a superuser (`supabase_admin` on our clusters) in one transaction. Idempotent: every
-- statement creates what is missing and (re)asserts attributes and grants.

-- Roles are cluster-wide while this script runs per database: two databases being prepared at
-- the same time (the test harness builds two templates in parallel) would race on `create role`.
-- This lock serialises role creation across the cluster without blocking logins.
lock table pg_catalog.pg_authid in share row exclusive mode;

-- Roles ---------------------------------------------------------------------------------------

do $$
begin
  -- The API roles PostgREST switches to. Hosted Supabase created them NOINHERIT and later made
  -- them INHERIT (supabase/postgres 20230529180330_alter_api_roles_for_inherit).
  if not exists (select from pg_catalog.pg_roles where rolname = 'anon') then
    create role anon nologin;
  end if;
  if not exists (select from pg_catalog.pg_roles where rolname = 'authenticated') then
    create role authenticated nologin;
  end if;
  if not exists (select from pg_catalog.pg_roles where rolname = 'service_role') then
    create role service_role nologin bypassrls;
  end if;
  if not exists (select from pg_catalog.pg_roles where rolname = 'authenticator') then
    -- The local stack's password for every login role (as `supabase start`).
    create role authenticator login noinherit password 'postgres';
  end if;
  -- The owners of the `auth` and `storage` schemas (the Auth and Storage servers log in as them
  -- on hosted; locally nothing does).
  if not exists (select from pg_catalog.pg_roles where rolname = 'supabase_auth_admin') then
    create role supabase_auth_admin nologin noinherit createrole;
  end if;
  if not exists (select from pg_catalog.pg_roles where rolname = 'supabase_storage_admin') then
    create role supabase_storage_admin nologin noinherit createrole;
  end if;
  if not exists (select from pg_catalog.pg_roles where rolname = 'postgres') then
    raise exception 'role postgres is missing: create the cluster with `cargo xtask up` (or Cluster::bootstrap_roles) first';
  end if;
end
$$;

alter role anon nologin inherit nobypassrls;
alter role authenticated nologin inherit nobypassrls;
alter role service_role nologin inherit bypassrls;
alter role authenticator login noinherit;

grant anon, authenticated, service_role to authenticator;
-- `postgres` can `set role` to each API role (tests and functions impersonate callers this way).
grant anon, authenticated, service_role to postgres;

-- On PostgreSQL 16 and later, granting a role needs ADMIN OPTION on it (CREATEROLE no longer
-- suffices); hosted gives postgres the API roles with it there (supabase/postgres
-- 20250605172253), so a migration can grant `authenticated` to a role of its own.
do $$
begin
  if pg_catalog.current_setting('server_version_num')::int >= 160000 then
    grant anon, authenticated, service_role to postgres with admin option;
  end if;
end
$$;

-- Predefined roles hosted grants postgres (supabase/postgres 20230306081037, 20240606060239):
-- read every table, see every session's activity, cancel or end other roles' queries.
grant pg_read_all_data, pg_signal_backend, pg_monitor to postgres;

-- The Storage server logs in as supabase_storage_admin and switches to the caller's role
-- through authenticator, not through grants of its own (supabase/postgres 20231013070755).
grant authenticator to supabase_storage_admin;

-- As on hosted (supabase/postgres post-setup): extension objects resolve without qualification,
-- for postgres and for the superuser (which also finds `auth`: Supabase's platform tests, run as
-- supabase_admin, call pgTAP and PostGIS unqualified).
alter role postgres set search_path to "$user", public, extensions;
do $$
begin
  if exists (select from pg_catalog.pg_roles where rolname = 'supabase_admin') then
    alter role supabase_admin set search_path to "$user", public, auth, extensions;
  end if;
end
$$;

-- Extensions ----------------------------------------------------------------------------------

create schema if not exists extensions;
grant usage on schema extensions to postgres, anon, authenticated, service_role;
-- `create extension <trusted> with schema extensions` by postgres needs CREATE here; on hosted
-- supautils runs such statements as the superuser instead.
grant create on schema extensions to postgres;

-- postgres holds every privilege, re-grantable, on what the superuser creates here (extension
-- tables such as PostGIS's spatial_ref_sys or address_standardizer's us_lex, their sequences
-- and functions), as on hosted (supabase/postgres 20230224042246). Set before the extensions
-- below are created; what already exists is granted at the end of this script.
do $$
begin
  if exists (select from pg_catalog.pg_roles where rolname = 'supabase_admin') then
    alter default privileges for role supabase_admin in schema extensions
      grant all on tables to postgres with grant option;
    alter default privileges for role supabase_admin in schema extensions
      grant all on sequences to postgres with grant option;
    alter default privileges for role supabase_admin in schema extensions
      grant all on functions to postgres with grant option;
  end if;
end
$$;

create extension if not exists pgcrypto with schema extensions;
create extension if not exists "uuid-ossp" with schema extensions;
-- As on hosted: query statistics in `extensions`, read by `supabase inspect db outliers`,
-- `calls` and `db-stats` (the library is preloaded by the cluster's settings; issue 21).
create extension if not exists pg_stat_statements with schema extensions;

-- Extensions hosted Supabase lets `postgres` create (through supautils) but PostgreSQL does not
-- trust. Created here by the superuser, so a migration's `create extension if not exists ... with
-- schema extensions` finds them and does nothing: PostgreSQL checks existence before privileges.
-- Any other untrusted extension stays refused, as on hosted. (pg_cron is left out: its script
-- refuses every database but the one `cron.database_name` names.)
do $$
declare
  ext text;
begin
  foreach ext in array array['postgis', 'pgtap', 'plpgsql_check'] loop
    if exists (select from pg_catalog.pg_available_extensions where name = ext) then
      execute pg_catalog.format('create extension if not exists %I with schema extensions', ext);
    end if;
  end loop;
end
$$;

-- Schema public -------------------------------------------------------------------------------

grant usage on schema public to postgres, anon, authenticated, service_role;

-- What `postgres` (migrations) and `supabase_admin` create in public is reachable by the API
-- roles; RLS is what restricts rows.
-- (Hosted's init scripts run these as postgres, naming postgres itself among the grantees.)
alter default privileges for role postgres in schema public
  grant all on tables to postgres, anon, authenticated, service_role;
alter default privileges for role postgres in schema public
  grant all on functions to postgres, anon, authenticated, service_role;
alter default privileges for role postgres in schema public
  grant all on sequences to postgres, anon, authenticated, service_role;

do $$
begin
  if exists (select from pg_catalog.pg_roles where rolname = 'supabase_admin') then
    alter default privileges for role supabase_admin in schema public
      grant all on tables to postgres, anon, authenticated, service_role;
    alter default privileges for role supabase_admin in schema public
      grant all on functions to postgres, anon, authenticated, service_role;
    alter default privileges for role supabase_admin in schema public
      grant all on sequences to postgres, anon, authenticated, service_role;
  end if;
end
$$;

-- Schema auth ---------------------------------------------------------------------------------

create schema if not exists auth;
alter schema auth owner to supabase_auth_admin;
grant usage on schema auth to anon, authenticated, service_role, postgres;

-- What the Auth server creates in its schema is postgres's too (supabase/postgres
-- 20211115181400; hosted also names dashboard_user, a role that does not exist locally).
alter default privileges for role supabase_auth_admin in schema auth
  grant all on tables to postgres;
alter default privileges for role supabase_auth_admin in schema auth
  grant all on sequences to postgres;
alter default privileges for role supabase_auth_admin in schema auth
  grant all on functions to postgres;

-- The columns GoTrue's migrations leave on auth.users (supabase/auth, up to is_anonymous).
create table if not exists auth.users (
  instance_id uuid,
  id uuid not null primary key,
  aud varchar(255),
  role varchar(255),
  email varchar(255),
  encrypted_password varchar(255),
  email_confirmed_at timestamptz,
  invited_at timestamptz,
  confirmation_token varchar(255),
  confirmation_sent_at timestamptz,
  recovery_token varchar(255),
  recovery_sent_at timestamptz,
  email_change_token_new varchar(255),
  email_change varchar(255),
  email_change_sent_at timestamptz,
  last_sign_in_at timestamptz,
  raw_app_meta_data jsonb,
  raw_user_meta_data jsonb,
  is_super_admin boolean,
  created_at timestamptz,
  updated_at timestamptz,
  phone text unique default null,
  phone_confirmed_at timestamptz,
  phone_change text default '',
  phone_change_token varchar(255) default '',
  phone_change_sent_at timestamptz,
  confirmed_at timestamptz generated always as (least(email_confirmed_at, phone_confirmed_at)) stored,
  email_change_token_current varchar(255) default '',
  email_change_confirm_status smallint default 0
    check (email_change_confirm_status >= 0 and email_change_confirm_status <= 2),
  banned_until timestamptz,
  reauthentication_token varchar(255) default '',
  reauthentication_sent_at timestamptz,
  is_sso_user boolean not null default false,
  deleted_at timestamptz,
  is_anonymous boolean not null default false
);
alter table auth.users owner to supabase_auth_admin;
create unique index if not exists users_email_partial_key on auth.users (email)
  where is_sso_user = false;
create index if not exists users_instance_id_idx on auth.users (instance_id);
create index if not exists users_instance_id_email_idx on auth.users (instance_id, lower(email));
create index if not exists users_is_anonymous_idx on auth.users (is_anonymous);
comment on table auth.users is 'Auth: Stores user login data within a secure schema.';
-- GoTrue enables RLS on its tables (20240612123726_enable_rls_update_grants); postgres bypasses it.
alter table auth.users enable row level security;

-- What postgres has on hosted: everything (update-auth-permissions), select re-grantable.
grant select, insert, update, delete, truncate, references, trigger on auth.users to postgres;
grant select on auth.users to postgres with grant option;

-- Auth's sessions, identities and refresh tokens (issue 19), with the columns supabase/auth's
-- migrations leave on them (identities 20210909172000 .. 20231117164230, sessions 20220811173540
-- .. 20251111201300, refresh_tokens 00_init .. 20221114143410, mfa_amr_claims 20221003041349 and
-- 20221011041400). The local Auth API (xtask/gateway/authApi.ts) reads and writes them as Auth
-- does, so seed.sql, triggers and `private.purge()` meet the same rows as on hosted. Hosted's
-- `sessions.oauth_client_id` references auth.oauth_clients, which the layer does not have: the
-- column is here without that foreign key.
do $$
begin
  create type auth.aal_level as enum ('aal1', 'aal2', 'aal3');
exception
  when duplicate_object then null;
end
$$;
alter type auth.aal_level owner to supabase_auth_admin;

create table if not exists auth.identities (
  provider_id text not null,
  user_id uuid not null references auth.users (id) on delete cascade,
  identity_data jsonb not null,
  provider text not null,
  last_sign_in_at timestamptz,
  created_at timestamptz,
  updated_at timestamptz,
  email text generated always as (lower(identity_data ->> 'email')) stored,
  id uuid not null default gen_random_uuid() primary key,
  constraint identities_provider_id_provider_unique unique (provider_id, provider)
);
alter table auth.identities owner to supabase_auth_admin;
create index if not exists identities_user_id_idx on auth.identities (user_id);
create index if not exists identities_email_idx on auth.identities (email text_pattern_ops);
comment on table auth.identities is 'Auth: Stores identities associated to a user.';
comment on column auth.identities.email is 'Auth: Email is a generated column that references the optional email property in the identity_data';

create table if not exists auth.sessions (
  id uuid not null primary key,
  user_id uuid not null references auth.users (id) on delete cascade,
  created_at timestamptz,
  updated_at timestamptz,
  factor_id uuid,
  aal auth.aal_level,
  not_after timestamptz,
  refreshed_at timestamp without time zone,
  user_agent text,
  ip inet,
  tag text,
  oauth_client_id uuid,
  refresh_token_hmac_key text,
  refresh_token_counter bigint,
  scopes text constraint sessions_scopes_length check (char_length(scopes) <= 4096)
);
alter table auth.sessions owner to supabase_auth_admin;
create index if not exists sessions_user_id_idx on auth.sessions (user_id);
create index if not exists user_id_created_at_idx on auth.sessions (user_id, created_at);
create index if not exists sessions_not_after_idx on auth.sessions (not_after desc);
create index if not exists sessions_oauth_client_id_idx on auth.sessions (oauth_client_id);
comment on table auth.sessions is 'Auth: Stores session data associated to a user.';
comment on column auth.sessions.not_after is 'Auth: Not after is a nullable column that contains a timestamp after which the session should be regarded as expired.';

create table if not exists auth.refresh_tokens (
  instance_id uuid,
  id bigserial primary key,
  token varchar(255) constraint refresh_tokens_token_unique unique,
  user_id varchar(255),
  revoked boolean,
  created_at timestamptz,
  updated_at timestamptz,
  parent varchar(255),
  session_id uuid references auth.sessions (id) on delete cascade
);
alter table auth.refresh_tokens owner to supabase_auth_admin;
alter sequence auth.refresh_tokens_id_seq owner to supabase_auth_admin;
create index if not exists refresh_tokens_instance_id_idx on auth.refresh_tokens (instance_id);
create index if not exists refresh_tokens_instance_id_user_id_idx on auth.refresh_tokens (instance_id, user_id);
create index if not exists refresh_tokens_parent_idx on auth.refresh_tokens (parent);
create index if not exists refresh_tokens_session_id_revoked_idx on auth.refresh_tokens (session_id, revoked);
create index if not exists refresh_tokens_updated_at_idx on auth.refresh_tokens (updated_at desc);
comment on table auth.refresh_tokens is 'Auth: Store of tokens used to refresh JWT tokens once they expire.';

create table if not exists auth.mfa_amr_claims (
  session_id uuid not null references auth.sessions (id) on delete cascade,
  created_at timestamptz not null,
  updated_at timestamptz not null,
  authentication_method text not null,
  id uuid not null constraint amr_id_pk primary key,
  constraint mfa_amr_claims_session_id_authentication_method_pkey unique (session_id, authentication_method)
);
alter table auth.mfa_amr_claims owner to supabase_auth_admin;
comment on table auth.mfa_amr_claims is 'auth: stores authenticator method reference claims for multi factor authentication';

-- As 20240612123726_enable_rls_update_grants: RLS on, postgres may read and re-grant reading;
-- the local Auth API logs in as postgres, so it also writes them (on hosted, Auth writes them
-- as their owner, supabase_auth_admin).
alter table auth.identities enable row level security;
alter table auth.sessions enable row level security;
alter table auth.refresh_tokens enable row level security;
alter table auth.mfa_amr_claims enable row level security;
grant select, insert, update, delete, truncate, references, trigger
  on auth.identities, auth.sessions, auth.refresh_tokens, auth.mfa_amr_claims to postgres;
grant select on auth.identities, auth.sessions, auth.refresh_tokens, auth.mfa_amr_claims
  to postgres with grant option;
grant usage, select, update on sequence auth.refresh_tokens_id_seq to postgres;

-- Supabase's definitions (supabase/auth 20240624145325_recreate_auth_functions): the legacy
-- per-claim setting first, then the claims JSON; '' counts as unset.
create or replace function auth.uid()
returns uuid
language sql
stable
set search_path = ''
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$$;

create or replace function auth.role()
returns text
language sql
stable
set search_path = ''
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
  )::text
$$;

create or replace function auth.email()
returns text
language sql
stable
set search_path = ''
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.email', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
  )::text
$$;

create or replace function auth.jwt()
returns jsonb
language sql
stable
set search_path = ''
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$$;

alter function auth.uid() owner to supabase_auth_admin;
alter function auth.role() owner to supabase_auth_admin;
alter function auth.email() owner to supabase_auth_admin;
alter function auth.jwt() owner to supabase_auth_admin;
comment on function auth.uid() is 'Deprecated. Use auth.jwt() -> ''sub'' instead.';
comment on function auth.role() is 'Deprecated. Use auth.jwt() -> ''role'' instead.';
comment on function auth.email() is 'Deprecated. Use auth.jwt() -> ''email'' instead.';
grant execute on function auth.uid(), auth.role(), auth.email(), auth.jwt()
  to anon, authenticated, service_role, postgres;

-- Schema storage ------------------------------------------------------------------------------

create schema if not exists storage;
alter schema storage owner to supabase_storage_admin;
grant usage on schema storage to anon, authenticated, service_role;
grant usage on schema storage to postgres with grant option;
-- What the Storage server creates in its schema reaches postgres and the API roles, as hosted's
-- storage init script sets.
alter default privileges for role supabase_storage_admin in schema storage
  grant all on tables to postgres, anon, authenticated, service_role;
alter default privileges for role supabase_storage_admin in schema storage
  grant all on functions to postgres, anon, authenticated, service_role;
alter default privileges for role supabase_storage_admin in schema storage
  grant all on sequences to postgres, anon, authenticated, service_role;

-- Columns as supabase/storage's tenant migrations leave them (through user_metadata).
create table if not exists storage.buckets (
  id text not null primary key,
  name text not null,
  owner uuid,
  created_at timestamptz default now(),
  updated_at timestamptz default now(),
  public boolean default false,
  avif_autodetection boolean default false,
  file_size_limit bigint,
  allowed_mime_types text[],
  owner_id text
);
alter table storage.buckets owner to supabase_storage_admin;
create unique index if not exists bname on storage.buckets using btree (name);
comment on column storage.buckets.owner is 'Field is deprecated, use owner_id instead';

create table if not exists storage.objects (
  id uuid not null default gen_random_uuid() primary key,
  bucket_id text constraint "objects_bucketId_fkey" references storage.buckets (id),
  name text,
  owner uuid,
  created_at timestamptz default now(),
  updated_at timestamptz default now(),
  last_accessed_at timestamptz default now(),
  metadata jsonb,
  path_tokens text[] generated always as (string_to_array(name, '/')) stored,
  version text,
  owner_id text,
  user_metadata jsonb
);
alter table storage.objects owner to supabase_storage_admin;
create unique index if not exists bucketid_objname on storage.objects using btree (bucket_id, name);
create index if not exists name_prefix_search on storage.objects (name text_pattern_ops);
comment on column storage.objects.owner is 'Field is deprecated, use owner_id instead';

alter table storage.buckets enable row level security;
alter table storage.objects enable row level security;

-- All privileges to the API roles: the policies decide. postgres may re-grant, as on hosted
-- (supabase/storage 0038-grant-with-grant-option).
grant all on storage.buckets, storage.objects to anon, authenticated, service_role;
grant all on storage.buckets, storage.objects to postgres with grant option;

-- Same results as Supabase's plpgsql versions: foldername('a/b/c.png') = {a,b},
-- filename = 'c.png', extension = 'png' (a name without a dot is its own extension).
create or replace function storage.foldername(name text)
returns text[]
language plpgsql
immutable
set search_path = ''
as $$
declare
  _parts text[] := pg_catalog.string_to_array(name, '/');
begin
  return _parts[1 : pg_catalog.array_length(_parts, 1) - 1];
end
$$;

create or replace function storage.filename(name text)
returns text
language plpgsql
immutable
set search_path = ''
as $$
declare
  _parts text[] := pg_catalog.string_to_array(name, '/');
begin
  return _parts[pg_catalog.array_length(_parts, 1)];
end
$$;

create or replace function storage.extension(name text)
returns text
language plpgsql
immutable
set search_path = ''
as $$
declare
  _parts text[] := pg_catalog.string_to_array(name, '/');
  _filename text := _parts[pg_catalog.array_length(_parts, 1)];
begin
  return pg_catalog.reverse(pg_catalog.split_part(pg_catalog.reverse(_filename), '.', 1));
end
$$;

create or replace function storage.update_updated_at_column()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.updated_at := pg_catalog.now();
  return new;
end
$$;

alter function storage.foldername(text) owner to supabase_storage_admin;
alter function storage.filename(text) owner to supabase_storage_admin;
alter function storage.extension(text) owner to supabase_storage_admin;
alter function storage.update_updated_at_column() owner to supabase_storage_admin;
grant execute on function storage.foldername(text), storage.filename(text),
  storage.extension(text) to anon, authenticated, service_role, postgres;

-- The Storage server's migration ledger, as hosted's init script creates it. Hosted takes every
-- privilege on it from the API roles and postgres (supabase/postgres 20250421084701); postgres
-- still reads it through pg_read_all_data.
create table if not exists storage.migrations (
  id integer primary key,
  name varchar(100) unique not null,
  hash varchar(40) not null,
  executed_at timestamp default current_timestamp
);
alter table storage.migrations owner to supabase_storage_admin;
-- Hosted dumps show row level security on it, as on every Storage table.
alter table storage.migrations enable row level security;
revoke all on storage.migrations from anon, authenticated, service_role, postgres;

-- How the Storage server lists a folder (its `list` endpoint), with the Storage server's
-- signature and results: at depth `levels`, the distinct folder names of deeper objects first
-- (sorted by name), then the objects at that depth (sorted by `sortcolumn`), among the objects of
-- `bucketname` whose name matches `prefix || search` case-insensitively; then `offsets` and
-- `limits`. Security invoker: RLS decides which objects the caller sees.
create or replace function storage.search(
  prefix text,
  bucketname text,
  limits int default 100,
  levels int default 1,
  offsets int default 0,
  search text default '',
  sortcolumn text default 'name',
  sortorder text default 'asc'
)
returns table (
  name text,
  id uuid,
  updated_at timestamptz,
  created_at timestamptz,
  last_accessed_at timestamptz,
  metadata jsonb
)
language sql
stable
set search_path = ''
as $$
  with matching as (
    select o.path_tokens[search.levels] as entry, o.id, o.updated_at, o.created_at,
           o.last_accessed_at, o.metadata,
           pg_catalog.array_length(o.path_tokens, 1) = search.levels as is_file
      from storage.objects o
     where o.bucket_id = search.bucketname
       and o.name operator(pg_catalog.~~*) (search.prefix || search.search || '%')
  ),
  listing as (
    select distinct m.entry, null::uuid as id, null::timestamptz as updated_at,
           null::timestamptz as created_at, null::timestamptz as last_accessed_at,
           null::jsonb as metadata, false as is_file
      from matching m
     where not m.is_file
    union all
    select m.entry, m.id, m.updated_at, m.created_at, m.last_accessed_at, m.metadata, true
      from matching m
     where m.is_file
  ),
  keyed as (
    select l.*,
           case when l.is_file and search.sortcolumn = 'updated_at' then l.updated_at
                when l.is_file and search.sortcolumn = 'created_at' then l.created_at
                when l.is_file and search.sortcolumn = 'last_accessed_at' then l.last_accessed_at
           end as sort_time,
           search.sortorder = 'desc' as descending
      from listing l
  )
  select k.entry, k.id, k.updated_at, k.created_at, k.last_accessed_at, k.metadata
    from keyed k
   order by k.is_file,
            case when not k.descending then k.sort_time end asc,
            case when k.descending then k.sort_time end desc,
            case when not k.descending then k.entry end asc,
            case when k.descending then k.entry end desc
   limit search.limits
  offset search.offsets
$$;
alter function storage.search(text, text, int, int, int, text, text, text)
  owner to supabase_storage_admin;
grant execute on function storage.search(text, text, int, int, int, text, text, text)
  to anon, authenticated, service_role, postgres;

create or replace trigger update_objects_updated_at
  before update on storage.objects
  for each row execute function storage.update_updated_at_column();

-- Hosted refuses direct SQL deletes on the Storage tables (supabase/storage tenant migration
-- 0055-prevent-direct-deletes): rows and their bytes leave together through the Storage API,
-- whose transactions set `storage.allow_delete_query` (src/internal/database/postgres/scope.ts),
-- as the local gateway's do. Same function and statement triggers; the search path is pinned.
create or replace function storage.protect_delete()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if coalesce(pg_catalog.current_setting('storage.allow_delete_query', true), 'false') != 'true' then
    raise exception 'Direct deletion from storage tables is not allowed. Use the Storage API instead.'
      using hint = 'This prevents accidental data loss from orphaned objects.',
            errcode = '42501';
  end if;
  return null;
end;
$$;
alter function storage.protect_delete() owner to supabase_storage_admin;
create or replace trigger protect_buckets_delete
  before delete on storage.buckets
  for each statement execute function storage.protect_delete();
create or replace trigger protect_objects_delete
  before delete on storage.objects
  for each statement execute function storage.protect_delete();

-- Policies and triggers on auth and storage tables ---------------------------------------------

-- On hosted, `postgres` owns none of these tables, yet migrations create policies on
-- storage.objects and drop triggers on auth.users: supautils' `policy_grants` and
-- `drop_trigger_grants` run exactly those commands with the owner's rights. PostgreSQL alone
-- only lets an owner do them, so here `postgres` is a member of the owning roles, and the event
-- triggers below take back everything else ownership would give it (altering, dropping or
-- creating objects in auth and storage), with the error hosted gives.
grant supabase_auth_admin, supabase_storage_admin to postgres;

create or replace function extensions.compat_guard_ddl()
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
  for cmd in
    select * from pg_catalog.pg_event_trigger_ddl_commands()
  loop
    if cmd.schema_name in ('auth', 'storage')
       and cmd.command_tag not in ('CREATE POLICY', 'ALTER POLICY', 'CREATE TRIGGER', 'GRANT', 'REVOKE')
    then
      raise exception 'must be owner of % %', cmd.object_type, cmd.object_identity
        using errcode = '42501',
              hint = 'on Supabase only supabase_auth_admin / supabase_storage_admin may change auth and storage objects';
    end if;
  end loop;
end
$$;

create or replace function extensions.compat_guard_drop()
returns event_trigger
language plpgsql
set search_path = ''
as $$
declare
  obj record;
begin
  if (select r.rolsuper from pg_catalog.pg_roles r where r.rolname = current_user) then
    return;
  end if;
  for obj in
    select * from pg_catalog.pg_event_trigger_dropped_objects()
  loop
    if obj.schema_name in ('auth', 'storage') and obj.object_type not in ('policy', 'trigger') then
      raise exception 'must be owner of % %', obj.object_type, obj.object_identity
        using errcode = '42501',
              hint = 'on Supabase only supabase_auth_admin / supabase_storage_admin may change auth and storage objects';
    end if;
  end loop;
end
$$;

revoke all on function extensions.compat_guard_ddl() from public;
revoke all on function extensions.compat_guard_drop() from public;

drop event trigger if exists compat_guard_ddl;
create event trigger compat_guard_ddl on ddl_command_end
  execute function extensions.compat_guard_ddl();
drop event trigger if exists compat_guard_drop;
create event trigger compat_guard_drop on sql_drop
  execute function extensions.compat_guard_drop();

-- Realtime ------------------------------------------------------------------------------------

-- The schema as hosted's init lays it out, owned by the superuser; the Realtime server's own
-- migrations add its tables and functions (not reproduced here).
create schema if not exists realtime;
grant usage on schema realtime to postgres with grant option;
grant usage on schema realtime to anon, authenticated, service_role;
do $$
begin
  if exists (select from pg_catalog.pg_roles where rolname = 'supabase_admin') then
    -- supabase/postgres 20211130151719 (hosted also names dashboard_user).
    alter default privileges for role supabase_admin in schema realtime
      grant all on tables to postgres;
    alter default privileges for role supabase_admin in schema realtime
      grant all on sequences to postgres;
    alter default privileges for role supabase_admin in schema realtime
      grant all on functions to postgres;
  end if;
end
$$;

do $$
begin
  if not exists (select from pg_catalog.pg_publication where pubname = 'supabase_realtime') then
    create publication supabase_realtime;
  end if;
end
$$;
-- Owned by postgres as on hosted, so a migration can `alter publication ... add table`.
alter publication supabase_realtime owner to postgres;

-- GraphQL -------------------------------------------------------------------------------------

-- Schema graphql_public as hosted has it without the pg_graphql extension (which is not
-- packaged for Debian): the API roles use it, and `graphql()` answers as hosted's placeholder
-- does (supabase/postgres 20220317095840, 20220404205710).
create schema if not exists graphql_public;
grant usage on schema graphql_public to postgres, anon, authenticated, service_role;

create or replace function graphql_public.graphql(
  "operationName" text default null,
  query text default null,
  variables jsonb default null,
  extensions jsonb default null
)
returns jsonb
language sql
set search_path = ''
as $$
  select pg_catalog.jsonb_build_object(
    'errors', pg_catalog.jsonb_build_array(
      pg_catalog.jsonb_build_object('message', 'pg_graphql extension is not enabled.')))
$$;

do $$
begin
  if exists (select from pg_catalog.pg_roles where rolname = 'supabase_admin') then
    alter default privileges for role supabase_admin in schema graphql_public
      grant all on tables to postgres, anon, authenticated, service_role;
    alter default privileges for role supabase_admin in schema graphql_public
      grant all on functions to postgres, anon, authenticated, service_role;
    alter default privileges for role supabase_admin in schema graphql_public
      grant all on sequences to postgres, anon, authenticated, service_role;
  end if;
end
$$;

-- Last: what already exists in `extensions` (a database laid out before these default
-- privileges, or a layer installed by another superuser) is postgres's as well.
grant all on all tables in schema extensions to postgres with grant option;
grant all on all sequences in schema extensions to postgres with grant option;
grant all on all routines in schema extensions to postgres with grant option;
