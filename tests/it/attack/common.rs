//! An attacker's means: sign-ups the way Supabase Auth makes them, and SQL sessions the way
//! PostgREST opens them for a token the real access-token hook issued.
#![allow(dead_code)]

use moha_tests::personas::{self, persona};
use moha_tests::{cluster, TestDb};
use postgres::types::ToSql;
use postgres::{Client, Transaction};
use serde_json::{json, Value};

/// A migrated database with the personas and their demo data.
pub fn seeded() -> (TestDb, Client) {
    let db = cluster().migrated_db();
    let mut c = db.connect();
    personas::create(&mut c, true).unwrap_or_else(|e| panic!("{e:#}"));
    (db, c)
}

/// Signs up `email` as open, unconfirmed sign-up does: an `auth.users` row written the way
/// Supabase Auth writes it (the sign-up trigger makes the profile, as a Client). Returns the id.
pub fn sign_up(c: &mut Client, email: &str) -> String {
    let row = c
        .query_one(
            "insert into auth.users (instance_id, id, aud, role, email, encrypted_password, \
               raw_app_meta_data, raw_user_meta_data, created_at, updated_at) \
             values ('00000000-0000-0000-0000-000000000000', gen_random_uuid(), 'authenticated', \
               'authenticated', $1, extensions.crypt('attacker-password', extensions.gen_salt('bf')), \
               '{\"provider\":\"email\",\"providers\":[\"email\"]}', '{\"full_name\":\"Mallory\"}', \
               now(), now()) returning id::text",
            &[&email],
        )
        .unwrap();
    row.get(0)
}

/// The claims Supabase Auth would sign for `user_id`: the base claims run through the project's
/// real access-token hook (`authz.custom_access_token_hook`), as `supabase_auth_admin` calls it.
pub fn issued_claims(c: &mut Client, user_id: &str) -> Value {
    let event = json!({
        "user_id": user_id,
        "claims": {
            "sub": user_id, "role": "authenticated", "aud": "authenticated",
            "app_metadata": { "provider": "email", "providers": ["email"] },
            "user_metadata": {}, "is_anonymous": false,
        },
        "authentication_method": "password",
    });
    let mut tx = c.transaction().unwrap();
    tx.batch_execute("set local role supabase_auth_admin")
        .unwrap();
    let out: Value = tx
        .query_one("select authz.custom_access_token_hook($1)", &[&event])
        .unwrap()
        .get(0);
    tx.rollback().unwrap();
    out["claims"].clone()
}

/// Opens `tx` as PostgREST opens a request's transaction: `set local role` to the token's role
/// and the claims in `request.jwt.claims`.
pub fn as_postgrest(tx: &mut Transaction<'_>, claims: &Value) {
    let role = claims["role"].as_str().expect("a role claim");
    // The role comes from the hook or a fixed persona; refuse anything else before quoting it.
    assert!(
        role.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_'),
        "odd role {role}"
    );
    tx.batch_execute(&format!("set local role {role}")).unwrap();
    tx.execute(
        "select pg_catalog.set_config('request.jwt.claims', $1, true)",
        &[&claims.to_string()],
    )
    .unwrap();
}

/// The claims of a seeded persona (as the hook would issue them).
pub fn persona_claims(name: &str) -> Value {
    personas::claims(persona(name))
}

/// Runs `sql` in one transaction as `claims`, then rolls back: rows affected or returned, or
/// the SQLSTATE.
pub fn attempt(
    c: &mut Client,
    claims: &Value,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<u64, String> {
    let mut tx = c.transaction().unwrap();
    as_postgrest(&mut tx, claims);
    // `execute` counts rows from the command tag: returned for a select, affected otherwise.
    let r = tx.execute(sql, params);
    tx.rollback().unwrap();
    r.map_err(sqlstate)
}

/// Like [`attempt`], committed when it succeeds.
pub fn commit(
    c: &mut Client,
    claims: &Value,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<u64, String> {
    let mut tx = c.transaction().unwrap();
    as_postgrest(&mut tx, claims);
    match tx.execute(sql, params) {
        Ok(n) => {
            tx.commit().unwrap();
            Ok(n)
        }
        Err(e) => Err(sqlstate(e)),
    }
}

pub fn sqlstate(e: postgres::Error) -> String {
    e.code()
        .map(|c| c.code().to_string())
        .unwrap_or_else(|| e.to_string())
}

/// `42501`: insufficient privilege, or a row-level security check.
pub const DENIED: &str = "42501";
