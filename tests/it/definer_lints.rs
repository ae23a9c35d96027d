//! Splinter's lints 0028 and 0029 (`anon_/authenticated_security_definer_function_executable`),
//! which the pinned CLI (2.117.0) predates, reproduced from supabase/splinter and run against
//! the migrated database with the API's exposed schemas set as PostgREST sets them.

use moha_tests::cluster;

/// `[api] schemas` of supabase/config.toml, comma-separated as `pgrst.db_schemas` holds them.
fn exposed_schemas() -> String {
    let path = xtask::paths::supabase_dir().join("config.toml");
    let config = std::fs::read_to_string(&path).unwrap();
    let api = config
        .split("\n[api]")
        .nth(1)
        .unwrap_or_else(|| panic!("{} has no [api] section", path.display()));
    let line = api
        .lines()
        .take_while(|l| !l.starts_with('['))
        .find(|l| l.trim_start().starts_with("schemas"))
        .unwrap_or_else(|| panic!("[api] of {} sets no schemas", path.display()));
    let list = line.split_once('=').unwrap().1;
    list.trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .split(',')
        .map(|s| s.trim().trim_matches('"'))
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(",")
}

/// Splinter's selection for lint 0028 (`anon`) or 0029 (`authenticated`): security-definer
/// functions in an exposed schema that `role` may execute.
const LINT: &str = "
select n.nspname || '.' || p.proname || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')'
  from pg_catalog.pg_proc p
  join pg_catalog.pg_namespace n on p.pronamespace = n.oid
 where p.prosecdef = true
   and pg_catalog.has_function_privilege($1::text, p.oid, 'EXECUTE')
   and n.nspname = any(array(select trim(unnest(string_to_array(coalesce(current_setting('pgrst.db_schemas', 't'), 'public'), ',')))))
   and n.nspname not in (
     '_timescaledb_cache', '_timescaledb_catalog', '_timescaledb_config', '_timescaledb_internal', 'auth', 'cron',
     'extensions', 'graphql', 'graphql_public', 'information_schema', 'net', 'pgmq', 'pgroonga', 'pgsodium',
     'pgsodium_masks', 'pgtle', 'pgbouncer', 'pg_catalog', 'realtime', 'repack', 'storage', 'supabase_functions',
     'supabase_migrations', 'tiger', 'topology', 'vault')
 order by 1";

fn findings(role: &str) -> Vec<String> {
    let db = cluster().migrated_db();
    let mut c = db.connect();
    c.execute(
        "select set_config('pgrst.db_schemas', $1, false)",
        &[&exposed_schemas()],
    )
    .unwrap();
    c.query(LINT, &[&role])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[test]
fn lint_0028_anon_executes_no_security_definer_function() {
    assert_eq!(findings("anon"), Vec::<String>::new());
}

/// Lint 0029: no security-definer function signed-in users can call through the API. The policy
/// helpers live in `authz`, which is not an exposed schema; a test that this is really so (that
/// the lint would see them there) is `lint_0029_sees_helpers_in_an_exposed_schema`.
#[test]
fn lint_0029_authenticated_executes_no_exposed_security_definer_function() {
    assert_eq!(findings("authenticated"), Vec::<String>::new());
}

/// The lint's query is live, not vacuous: exposing `authz` as well makes it report the five
/// helpers.
#[test]
fn lint_0029_sees_helpers_in_an_exposed_schema() {
    let db = cluster().migrated_db();
    let mut c = db.connect();
    c.execute(
        "select set_config('pgrst.db_schemas', $1, false)",
        &[&format!("{},authz", exposed_schemas())],
    )
    .unwrap();
    let found: Vec<String> = c
        .query(LINT, &[&"authenticated"])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        found,
        [
            "authz.current_role_name()",
            "authz.has_permission(resource text, action text)",
            "authz.has_role(role_name text)",
            "authz.is_admin()",
            "authz.own_projects()",
        ]
    );
}
