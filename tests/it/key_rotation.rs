//! A signing-key rotation on the local stack, the way docs/deploy.md describes it for a hosted
//! project: the new key signs while the JWKS still holds the old one, so tokens of both keys
//! pass; once the old key has left the JWKS, its tokens are refused (401) and the new key's
//! still pass. Each phase is a gateway started with that phase's keys, as `cargo xtask up` starts
//! it, so the functions get the phase's key set (`SUPABASE_JWKS`) as hosted gives it to them.

use moha_tests::gateway::http_at;
use moha_tests::{personas, TestDb};
use serde_json::json;
use xtask::keys::SigningKeys;

fn start(db: &TestDb, keys: &SigningKeys) -> (xtask::gateway::Gateway, u16) {
    let state = tempfile::tempdir().unwrap().keep();
    let mut secrets = xtask::gateway::function_secrets().unwrap();
    secrets.insert("JWT_SECRET".into(), xtask::jwt::LOCAL_JWT_SECRET.into());
    let port = xtask::cluster::free_port().unwrap();
    let gateway = xtask::gateway::start(&xtask::gateway::Options {
        port,
        db_url: db.url(),
        state_dir: state.clone(),
        storage_dir: state.join("storage"),
        secrets,
        exit_with_parent: true,
        signing_keys: keys.clone(),
    })
    .unwrap_or_else(|e| panic!("{e:#}"));
    (gateway, port)
}

/// The admin's token, signed by `keys`' current key.
fn admin_token(keys: &SigningKeys) -> String {
    let mut claims = personas::claims(personas::persona("admin"));
    claims["exp"] = json!(moha_tests::gateway::now() + 600);
    keys.sign(&claims).unwrap()
}

/// The statuses a token gets from a relayed function, a self-checked one and Storage: 400, 400
/// and 404 when it is accepted (the body and the object are wrong on purpose).
fn knock(port: u16, token: &str) -> (u16, u16, u16) {
    let auth = format!("Bearer {token}");
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];
    let post = |f: &str| http_at(port, "POST", &format!("/functions/v1/{f}"), &headers, b"{}");
    let object = format!(
        "/storage/v1/object/renders/{}/none.png",
        personas::id("admin")
    );
    (
        post("assign-leads").status,
        post("fetch-social-updates").status,
        http_at(port, "GET", &object, &headers[..1], b"").status,
    )
}

fn published_kids(port: u16) -> Vec<String> {
    let jwks = http_at(port, "GET", "/auth/v1/.well-known/jwks.json", &[], b"").json();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect()
}

const ACCEPTED: (u16, u16, u16) = (400, 400, 404);
const REFUSED: (u16, u16, u16) = (401, 401, 400);

#[test]
fn tokens_of_both_keys_pass_until_the_old_key_leaves_the_jwks() {
    let db = moha_tests::cluster().migrated_db();
    personas::create(&mut db.connect(), false).unwrap();
    let mut keys = SigningKeys::generate().unwrap();
    let old_kid = keys.current().kid.clone();
    let old_token = admin_token(&keys);

    let (gateway, port) = start(&db, &keys);
    assert_eq!(published_kids(port), std::slice::from_ref(&old_kid));
    assert_eq!(knock(port, &old_token), ACCEPTED);
    drop(gateway);

    // Rotate: a new key signs, the old one stays published.
    keys.rotate().unwrap();
    let new_kid = keys.current().kid.clone();
    let new_token = admin_token(&keys);
    let (gateway, port) = start(&db, &keys);
    assert_eq!(published_kids(port), [new_kid.clone(), old_kid.clone()]);
    assert_eq!(knock(port, &old_token), ACCEPTED, "an old session ended");
    assert_eq!(knock(port, &new_token), ACCEPTED);
    drop(gateway);

    // Revoke the old key once its tokens have expired: whatever it signed is refused.
    keys.revoke_previous();
    let (_gateway, port) = start(&db, &keys);
    assert_eq!(published_kids(port), [new_kid]);
    assert_eq!(knock(port, &old_token), REFUSED);
    assert_eq!(knock(port, &new_token), ACCEPTED);
}
