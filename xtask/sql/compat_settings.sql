-- Parameters hosted lets `postgres` set although they are superuser-only: supautils' list
-- `privileged_role_allowed_configs` (supabase/postgres ansible/files/postgresql_config/
-- supautils.conf.j2). Of that list, the one the project uses: `session_replication_role`, which
-- `cargo xtask restore` sets to `replica` to load a backup's rows with triggers off (issue 17).
-- PostgreSQL 15's parameter privileges grant the same here. Idempotent; run as the superuser.
grant set on parameter session_replication_role to postgres;
