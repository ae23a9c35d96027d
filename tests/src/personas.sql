-- The personas of the security model (docs/security.md), as Supabase Auth would create them:
-- an auth.users row each (the on_auth_user_created trigger makes the Client profile), then the
-- RBAC role set as postgres (which guard_role_change allows), and client records for the two
-- portal clients. Idempotent. Run as postgres.
insert into auth.users (id, aud, role, email, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
values
  ('00000000-0000-4000-a000-000000000c01', 'authenticated', 'authenticated', 'client@moha.test', '{"provider":"email"}', '{"full_name":"Cleo Client"}', now(), now()),
  ('00000000-0000-4000-a000-000000000c02', 'authenticated', 'authenticated', 'client2@moha.test', '{"provider":"email"}', '{"full_name":"Cato Client"}', now(), now()),
  ('00000000-0000-4000-a000-000000000d01', 'authenticated', 'authenticated', 'designer@moha.test', '{"provider":"email"}', '{"full_name":"Dana Designer"}', now(), now()),
  ('00000000-0000-4000-a000-000000000a51', 'authenticated', 'authenticated', 'sales.a@moha.test', '{"provider":"email"}', '{"full_name":"Sam Sales"}', now(), now()),
  ('00000000-0000-4000-a000-000000000b51', 'authenticated', 'authenticated', 'sales.b@moha.test', '{"provider":"email"}', '{"full_name":"Sol Sales"}', now(), now()),
  ('00000000-0000-4000-a000-000000000ad1', 'authenticated', 'authenticated', 'admin@moha.test', '{"provider":"email"}', '{"full_name":"Ada Admin"}', now(), now())
on conflict (id) do nothing;

update public.users u
   set role_id = r.id
  from public.roles r
 where (u.id, r.name) in (
   ('00000000-0000-4000-a000-000000000d01'::uuid, 'Designer'),
   ('00000000-0000-4000-a000-000000000a51'::uuid, 'Sales'),
   ('00000000-0000-4000-a000-000000000b51'::uuid, 'Sales'),
   ('00000000-0000-4000-a000-000000000ad1'::uuid, 'Admin'))
   and u.role_id is distinct from r.id;

insert into public.clients (id, name, email, user_id) values
  ('11000000-0000-4000-a000-000000000001', 'client record', 'client@moha.test', '00000000-0000-4000-a000-000000000c01'),
  ('11000000-0000-4000-a000-000000000002', 'client2 record', 'client2@moha.test', '00000000-0000-4000-a000-000000000c02')
on conflict (id) do nothing;
