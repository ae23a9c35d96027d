//! Issue 14, credentials an attacker can make or misuse, against the real gateway and functions:
//! tokens signed by the attacker's own key, under a `kid` the JWKS does not hold, unsigned
//! (`alg: none`), "signed" HS256 with the public key the JWKS publishes, expired, or without
//! `exp`; a secret key sent from a browser, another project's keys, a secret key as the bearer.
//! The attacker knows the JWKS (it is public) and the publishable key. Each refusal is asserted
//! by its status, next to the same request made with a genuine credential, which passes.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use moha_tests::gateway::{fixture, http, now, publishable_key, secret_key, token, turn, Reply};
use moha_tests::personas;
use serde_json::{json, Value};
use sha2::Sha256;
use xtask::keys::SigningKey;

/// verify_jwt = true: the gateway's relay checks the request first (assign-leads, which the
/// lead-scoring job calls with the scheduled-call secret, checks its callers itself since issue 20).
const RELAYED: &str = "generate-ai-insights";
/// verify_jwt = false: the function's own check is all there is.
const SELF_CHECKED: &str = "fetch-social-updates";

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn input(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    )
}

fn hs256_with(key: &[u8], header: &Value, claims: &Value) -> String {
    let input = input(header, claims);
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(input.as_bytes());
    format!("{input}.{}", b64(&mac.finalize().into_bytes()))
}

/// The admin's claims as Supabase Auth signs them, valid for ten minutes.
fn admin_claims() -> Value {
    let mut c = personas::claims(personas::persona("admin"));
    c["exp"] = json!(now() + 600);
    c
}

/// The three doors a credential opens: a relayed function, a self-checked one, and Storage.
/// With an empty body, a function that accepted the caller answers 400 (bad input); Storage
/// answers 404 for an object that does not exist.
fn knock(headers: &[(&str, &str)]) -> [Reply; 3] {
    let post = |f: &str| {
        let mut h = headers.to_vec();
        h.push(("content-type", "application/json"));
        http("POST", &format!("/functions/v1/{f}"), &h, b"{}")
    };
    let object = format!(
        "/storage/v1/object/renders/{}/no-such-file.png",
        personas::id("admin")
    );
    [
        post(RELAYED),
        post(SELF_CHECKED),
        http("GET", &object, headers, b""),
    ]
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[test]
fn forged_expired_and_unsigned_tokens_are_refused_everywhere() {
    let _t = turn();
    let keys = &fixture().signing_keys;
    // What an attacker can read: the published JWKS.
    let jwks = http("GET", "/auth/v1/.well-known/jwks.json", &[], b"").json();
    let public = jwks["keys"][0].clone();
    let kid = public["kid"].as_str().unwrap().to_string();
    assert_eq!(kid, keys.current().kid);

    // The control: the genuine token passes all three doors.
    let genuine = token("admin");
    let [relayed, checked, stored] = knock(&[("authorization", &bearer(&genuine))]);
    assert_eq!(
        (relayed.status, checked.status, stored.status),
        (400, 400, 404),
        "{} {} {}",
        relayed.text(),
        checked.text(),
        stored.text()
    );

    let attackers_key = SigningKey::generate().unwrap();
    let mut under_their_kid = attackers_key.clone();
    under_their_kid.kid = kid.clone();
    let mut stack_key_other_kid = keys.current().clone();
    stack_key_other_kid.kid = "not-in-the-jwks".into();
    let mut no_exp = admin_claims();
    no_exp.as_object_mut().unwrap().remove("exp");
    let mut expired = admin_claims();
    expired["exp"] = json!(now() - 1);
    let hs = json!({"alg": "HS256", "typ": "JWT", "kid": kid});
    let x_y = [
        URL_SAFE_NO_PAD
            .decode(public["x"].as_str().unwrap())
            .unwrap(),
        URL_SAFE_NO_PAD
            .decode(public["y"].as_str().unwrap())
            .unwrap(),
    ]
    .concat();
    let forged = [
        (
            "signed by another key under the published kid",
            under_their_kid.sign(&admin_claims()).unwrap(),
        ),
        (
            "signed by another key under its own kid",
            attackers_key.sign(&admin_claims()).unwrap(),
        ),
        (
            "signed by the stack's key under a kid not in the set",
            stack_key_other_kid.sign(&admin_claims()).unwrap(),
        ),
        (
            "alg none",
            format!(
                "{}.",
                input(
                    &json!({"alg": "none", "typ": "JWT", "kid": kid}),
                    &admin_claims()
                )
            ),
        ),
        (
            "alg none without a kid",
            format!("{}.", input(&json!({"alg": "none"}), &admin_claims())),
        ),
        (
            "HS256 keyed with the published JWK",
            hs256_with(public.to_string().as_bytes(), &hs, &admin_claims()),
        ),
        (
            "HS256 keyed with the public point",
            hs256_with(&x_y, &hs, &admin_claims()),
        ),
        ("expired", keys.sign(&expired).unwrap()),
        ("without exp", keys.sign(&no_exp).unwrap()),
    ];
    for (what, t) in &forged {
        let [relayed, checked, stored] = knock(&[("authorization", &bearer(t))]);
        assert_eq!(
            (relayed.status, relayed.json()["message"].clone()),
            (401, json!("Invalid JWT")),
            "{what}: the relay let it through"
        );
        assert_eq!(
            (checked.status, checked.json()["code"].clone()),
            (401, json!("unauthorized")),
            "{what}: the function accepted it"
        );
        // Storage answers an invalid token with 400, as Supabase Storage does.
        assert_eq!(
            (stored.status, stored.json()["error"].clone()),
            (400, json!("InvalidJWT")),
            "{what}: Storage accepted it"
        );
    }
}

#[test]
fn secret_keys_from_browsers_foreign_keys_and_misplaced_keys_are_refused() {
    let _t = turn();
    // The control: the secret key from a server passes all three doors (the relayed function,
    // insights, then refuses the service role itself: its 403, not the relay's 401).
    let [relayed, checked, stored] = knock(&[("apikey", secret_key())]);
    assert_eq!(
        (relayed.status, checked.status, stored.status),
        (403, 400, 404),
        "{} {} {}",
        relayed.text(),
        checked.text(),
        stored.text()
    );
    let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0 Safari/537.36";
    let browser: [&[(&str, &str)]; 3] = [
        &[("apikey", secret_key()), ("user-agent", chrome)],
        // A page that overrides its User-Agent still sends Origin and Sec-Fetch-*.
        &[
            ("apikey", secret_key()),
            ("user-agent", "curl/8.5"),
            ("origin", "https://evil.example"),
        ],
        &[("apikey", secret_key()), ("sec-fetch-mode", "cors")],
    ];
    for headers in browser {
        let [relayed, checked, stored] = knock(headers);
        assert_eq!(
            (relayed.status, relayed.json()["message"].clone()),
            (401, json!("Forbidden use of secret API key in browser")),
            "{headers:?}"
        );
        assert_eq!(
            (checked.status, checked.json()["code"].clone()),
            (401, json!("unauthorized")),
            "{headers:?}"
        );
        assert_eq!(stored.status, 401, "{headers:?}");
    }
    let secret_bearer = bearer(secret_key());
    let misused: [&[(&str, &str)]; 4] = [
        // Another project's keys (or a guess).
        &[("apikey", "sb_secret_0000000000000000000000_00000000")],
        &[("apikey", "sb_publishable_0000000000000000000_0000000")],
        // The secret key as the bearer, without it as the apikey or beside the publishable key.
        &[("authorization", &secret_bearer)],
        &[
            ("authorization", &secret_bearer),
            ("apikey", publishable_key()),
        ],
    ];
    for headers in misused {
        let [relayed, checked, stored] = knock(headers);
        assert_eq!(
            (relayed.status, relayed.json()["message"].clone()),
            (401, json!("Invalid API key")),
            "{headers:?}"
        );
        assert_eq!(
            (checked.status, checked.json()["code"].clone()),
            (401, json!("unauthorized")),
            "{headers:?}"
        );
        assert_eq!(stored.status, 401, "{headers:?}");
    }
}
