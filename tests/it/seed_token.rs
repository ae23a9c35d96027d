//! `supabase/seed.sql` gives a usable stack (the personas with their roles, and demo data), and
//! `cargo xtask token` signs tokens that verify with the stack's signing key (ES256; `--legacy`:
//! HS256 with the legacy secret) and, as PostgREST's `request.jwt.claims`, see exactly what their
//! persona should.

use std::process::{Command, Stdio};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use moha_tests::personas::{self, SEED_SQL};
use moha_tests::{cluster, TestDb};
use postgres::Client;
use serde_json::Value;

/// A migrated database seeded the way `cargo xtask up` and `reset` seed the local stack: the
/// whole file in one batch, as `postgres`.
fn seeded() -> (TestDb, Client) {
    let db = cluster().migrated_db();
    let mut c = db.connect();
    c.batch_execute(SEED_SQL)
        .unwrap_or_else(|e| panic!("supabase/seed.sql failed: {e}"));
    (db, c)
}

fn token(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_xtask-cli"))
        .arg("token")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo xtask token {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Verifies the token and returns its claims: ES256 with the public key the stack publishes, by
/// p256 directly (not the functions' verifier); HS256 with PostgreSQL's own HMAC (pgcrypto).
fn verify(c: &mut Client, token: &str) -> Value {
    use p256::ecdsa::signature::Verifier;
    let (signing_input, sig) = token.rsplit_once('.').expect("a JWT has three parts");
    let (header, payload) = signing_input.split_once('.').unwrap();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    let claims = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    if header["alg"] == "ES256" {
        let jwks = xtask::keys::local().unwrap().jwks();
        let jwk = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kid"] == header["kid"])
            .expect("the token's kid is in the stack's JWKS");
        let coord = |n: &str| URL_SAFE_NO_PAD.decode(jwk[n].as_str().unwrap()).unwrap();
        let (x, y) = (coord("x"), coord("y"));
        let point = p256::EncodedPoint::from_affine_coordinates(
            p256::FieldBytes::from_slice(&x),
            p256::FieldBytes::from_slice(&y),
            false,
        );
        let vk = p256::ecdsa::VerifyingKey::from_encoded_point(&point).unwrap();
        let sig = p256::ecdsa::Signature::from_slice(&URL_SAFE_NO_PAD.decode(sig).unwrap())
            .expect("a 64-byte r || s signature");
        vk.verify(signing_input.as_bytes(), &sig)
            .expect("the signature verifies with the stack's published key");
        return claims;
    }
    // The secret the local gateway verifies with (what the command signs with).
    let secret = xtask::gateway::function_secrets().unwrap()["JWT_SECRET"].clone();
    let expected: String = c
        .query_one(
            "select translate(rtrim(encode(extensions.hmac($1::text, $2::text, 'sha256'), 'base64'), '='), '+/', '-_')",
            &[&signing_input, &secret],
        )
        .unwrap()
        .get(0);
    assert_eq!(
        sig, expected,
        "the signature does not verify with the gateway's secret"
    );
    assert_eq!(header["alg"], "HS256");
    claims
}

/// Header of a token.
fn alg(token: &str) -> Value {
    let header = token.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap()
}

#[test]
fn tokens_are_es256_like_the_stack_and_legacy_on_request() {
    let (_db, mut c) = seeded();
    let t = token(&["--persona", "designer"]);
    assert_eq!(alg(&t)["alg"], "ES256");
    assert_eq!(
        alg(&t)["kid"],
        xtask::keys::local().unwrap().current().kid.as_str()
    );
    assert_eq!(verify(&mut c, &t)["sub"], personas::id("designer"));
    let legacy = token(&["--persona", "designer", "--legacy"]);
    assert_eq!(
        alg(&legacy),
        serde_json::json!({"alg": "HS256", "typ": "JWT"})
    );
    assert_eq!(verify(&mut c, &legacy)["sub"], personas::id("designer"));
}

/// The lead names `claims` sees, run as PostgREST would (`set local role` from the `role` claim).
fn leads_seen(c: &mut Client, claims: &Value) -> Vec<String> {
    let role = claims["role"].as_str().unwrap();
    // Only roles the token may name: never the superuser's or an owner's.
    assert!(
        sql::moha::security::PERSONAS
            .iter()
            .any(|p| p.db_role == role && role != "service_role"),
        "{role}"
    );
    let mut tx = c.transaction().unwrap();
    tx.batch_execute(&format!("set local role {role}")).unwrap();
    tx.execute(
        "select set_config('request.jwt.claims', $1, true)",
        &[&claims.to_string()],
    )
    .unwrap();
    let seen = match tx.query("select client_name from public.leads order by 1", &[]) {
        Ok(rows) => rows.iter().map(|r| r.get(0)).collect(),
        Err(e) => vec![format!(
            "error {}",
            e.code().map(|c| c.code()).unwrap_or("?")
        )],
    };
    tx.rollback().unwrap();
    seen
}

#[test]
fn the_seed_creates_the_personas_and_demo_data() {
    let (_db, mut c) = seeded();
    personas::check(&mut c).unwrap_or_else(|e| panic!("{e:#}"));
    let projects: i64 = c
        .query_one("select count(*) from public.projects", &[])
        .unwrap()
        .get(0);
    assert!(projects > 0, "the seed made no demo projects");
}

#[test]
fn persona_tokens_verify_and_see_what_the_persona_may() {
    let (_db, mut c) = seeded();
    let claims = verify(&mut c, &token(&["--persona", "sales_a"]));
    assert_eq!(claims["sub"], personas::id("sales_a"));
    assert_eq!(claims["aud"], "authenticated");
    assert_eq!(claims["email"], "sales.a@moha.test");
    assert!(claims["exp"].as_i64().unwrap() > claims["iat"].as_i64().unwrap());
    assert_eq!(leads_seen(&mut c, &claims), ["lead of sales_a"]);

    let admin = verify(&mut c, &token(&["--persona", "admin"]));
    assert_eq!(
        leads_seen(&mut c, &admin),
        ["lead of sales_a", "lead of sales_b", "unassigned lead"]
    );
    // Clients' database role holds no privilege on leads at all.
    let client = verify(&mut c, &token(&["--persona", "client"]));
    assert_eq!(client["role"], "moha_client");
    assert_eq!(leads_seen(&mut c, &client), ["error 42501"]);
    let anon = verify(&mut c, &token(&["--persona", "anon"]));
    assert_eq!(leads_seen(&mut c, &anon), ["error 42501"]);
}

#[test]
fn user_tokens_come_from_auth_users() {
    let (db, mut c) = seeded();
    let claims = verify(
        &mut c,
        &token(&["--user", "SALES.B@moha.test", "--db-url", &db.url()]),
    );
    assert_eq!(claims["sub"], personas::id("sales_b"));
    assert_eq!(claims["user_metadata"]["full_name"], "Sol Sales");
    assert_eq!(claims["app_metadata"]["provider"], "email");
    // The stack's access token hook ran: a Sales user's token names the Sales database role.
    assert_eq!(claims["role"], "moha_sales");
    assert_eq!(leads_seen(&mut c, &claims), ["lead of sales_b"]);

    let out = Command::new(env!("CARGO_BIN_EXE_xtask-cli"))
        .args(["token", "--user", "nobody@moha.test", "--db-url", &db.url()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no user nobody@moha.test"), "{err}");
    assert!(!err.contains(":postgres@"), "the password leaked: {err}");
}

/// The hook Supabase Auth calls (`[auth.hook.custom_access_token]` in config.toml), called as
/// Auth calls it: each seeded user's token gets their business role's database role; anon and
/// service tokens keep theirs; an RBAC role without a database role keeps `authenticated`; the
/// rest of the event and claims pass through unchanged; and only supabase_auth_admin may call it.
#[test]
fn the_access_token_hook_sets_the_business_role() {
    let (_db, mut c) = seeded();
    let hook = |c: &mut Client, event: &Value| -> Value {
        let out: String = c
            .query_one(
                "select authz.custom_access_token_hook($1::text::jsonb)::text",
                &[&event.to_string()],
            )
            .unwrap()
            .get(0);
        serde_json::from_str(&out).unwrap()
    };
    c.batch_execute("set role supabase_auth_admin").unwrap();
    for u in personas::USERS {
        let event = serde_json::json!({
            "user_id": u.id,
            "authentication_method": "password",
            "claims": { "sub": u.id, "role": "authenticated", "aud": "authenticated", "email": u.email },
        });
        let out = hook(&mut c, &event);
        let persona = personas::persona(u.persona);
        assert_eq!(out["claims"]["role"], persona.db_role, "{}", u.persona);
        assert_eq!(out["claims"]["email"], u.email);
        assert_eq!(out["authentication_method"], "password");
    }
    let service = serde_json::json!({
        "user_id": personas::id("admin"),
        "claims": { "sub": personas::id("admin"), "role": "service_role" },
    });
    assert_eq!(hook(&mut c, &service)["claims"]["role"], "service_role");
    c.batch_execute("reset role").unwrap();

    // A role added to RBAC without a database role: less access, never an error.
    c.batch_execute(
        "insert into public.roles (name) values ('Freelancer'); \
         update public.users set role_id = (select id from public.roles where name = 'Freelancer') \
          where email = 'sales.a@moha.test'",
    )
    .unwrap();
    let event = serde_json::json!({
        "user_id": personas::id("sales_a"),
        "claims": { "sub": personas::id("sales_a"), "role": "authenticated" },
    });
    c.batch_execute("set role supabase_auth_admin").unwrap();
    assert_eq!(hook(&mut c, &event)["claims"]["role"], "authenticated");
    c.batch_execute("reset role").unwrap();

    for role in ["anon", "authenticated", "service_role", "moha_admin"] {
        c.batch_execute(&format!("set role {role}")).unwrap();
        let e = c
            .query_one("select authz.custom_access_token_hook('{}'::jsonb)", &[])
            .unwrap_err();
        assert_eq!(
            e.code().map(|s| s.code()),
            Some("42501"),
            "{role} may call the hook: {e}"
        );
        c.batch_execute("reset role").unwrap();
    }
}
