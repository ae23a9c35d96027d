//! Social accounts stay connected (issue 20): `fetch-social-updates {"refresh_tokens": true}`
//! through the local gateway (real Deno), with the loopback stub speaking Instagram's
//! `refresh_access_token` and TikTok's `/v2/oauth/token/` formats, their refusals included.
//!
//! Tokens that expire soon are renewed and stored encrypted under `social_token_key` from Vault;
//! TikTok's rotated refresh token replaces the old one. A refusal marks the account
//! `needs_reconnect`, notifies every Admin once and takes it out of the walk; a passing failure
//! is tried again. Only the schedule and the service key may renew.

use std::sync::MutexGuard;

use moha_tests::gateway::{execute, fixture, invoke, query_one, service_key, token, Reply};
use moha_tests::personas;
use moha_tests::provider_stub::{Api, Fault};
use serde_json::{json, Value};

const FUNCTION: &str = "fetch-social-updates";

/// Each test takes its turn, with the key in Vault (as `cargo xtask up` seeds it) and no other
/// account due.
fn turn() -> MutexGuard<'static, ()> {
    let guard = moha_tests::gateway::turn();
    let mut c = fixture().db.connect();
    xtask::schedules::ensure_social_token_key(&mut c).unwrap();
    c.batch_execute("update public.social_accounts set needs_reconnect = true")
        .unwrap();
    guard
}

fn now_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// A connected account whose access token expires in `expires_in` seconds, stored as the
/// connect flow stores it.
fn account(platform: &str, access: &str, refresh: Option<&str>, expires_in: i32) -> String {
    let mut c = fixture().db.connect();
    let name = format!("{platform}.{}", now_nanos());
    let id: String = c
        .query_one(
            "insert into public.social_accounts (platform, username) \
             values ($1::text::public.social_platform, $2) returning id::text",
            &[&platform, &name],
        )
        .unwrap()
        .get(0);
    let mut tx = c.transaction().unwrap();
    tx.batch_execute("set local role service_role").unwrap();
    tx.execute(
        "select public.store_social_tokens($1::text::uuid, $2, $3, $4, $5)",
        &[
            &id,
            &access,
            &expires_in,
            &refresh,
            &refresh.map(|_| 31_536_000i32),
        ],
    )
    .unwrap();
    tx.commit().unwrap();
    id
}

/// Instagram renews only a token at least a day old.
fn age_a_day(id: &str) {
    execute(&format!(
        "update public.social_accounts set token_updated_at = now() - interval '2 days' where id = '{id}'"
    ));
}

/// The decrypted (access, refresh) tokens, as `service_role`.
fn stored(id: &str) -> (Option<String>, Option<String>) {
    let mut c = fixture().db.connect();
    let mut tx = c.transaction().unwrap();
    tx.batch_execute("set local role service_role").unwrap();
    let row = tx
        .query_one(
            "select public.social_account_token($1::text::uuid), \
                    public.social_account_refresh_token($1::text::uuid)",
            &[&id],
        )
        .unwrap();
    (row.get(0), row.get(1))
}

fn refresh(bearer: &str) -> Reply {
    invoke(FUNCTION, Some(bearer), &json!({ "refresh_tokens": true }))
}

/// What the renewal did with `id` (Null when it was not due).
fn outcome(r: &Reply, id: &str) -> Value {
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["refreshed"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["account_id"] == id)
        .map_or(Value::Null, |o| o["outcome"].clone())
}

fn needs_reconnect(id: &str) -> bool {
    query_one(
        "select needs_reconnect from public.social_accounts where id = $1::text::uuid",
        &[&id],
    )
    .get(0)
}

/// Reconnect notifications about `id` for the admin persona.
fn admin_told(id: &str) -> i64 {
    query_one(
        "select count(*) from public.notifications where kind = 'social_reconnect' \
         and user_id = $1::text::uuid and data->>'account_id' = $2",
        &[&personas::id("admin"), &id],
    )
    .get(0)
}

#[test]
fn tokens_are_renewed_before_they_expire_and_stored_encrypted() {
    let _turn = turn();
    let f = fixture();
    let ig = account("instagram", "IGQ-first", None, 3 * 86_400);
    age_a_day(&ig);
    let young_ig = account("instagram", "IGQ-young", None, 3 * 86_400);
    let tt = account("tiktok", "act.first", Some("rft.first"), 1_800);
    let later = account("tiktok", "act.later", Some("rft.later"), 10 * 86_400);

    let r = refresh(&service_key());
    assert_eq!(outcome(&r, &ig), "renewed", "{}", r.text());
    assert_eq!(outcome(&r, &tt), "renewed", "{}", r.text());
    // Not due: expiring later, or an Instagram token less than a day old.
    assert_eq!(outcome(&r, &later), Value::Null);
    assert_eq!(outcome(&r, &young_ig), Value::Null);

    // Instagram got the token in the header, never in the URL.
    let ig_calls = f.stub.calls(Api::Instagram);
    assert_eq!(ig_calls.len(), 1);
    assert_eq!(
        ig_calls[0].target,
        "/ig/refresh_access_token?grant_type=ig_refresh_token"
    );
    assert_eq!(
        ig_calls[0].headers.get("authorization").map(String::as_str),
        Some("Bearer IGQ-first")
    );
    // TikTok got the refresh token and the client's credentials, form-encoded.
    let tt_calls = f.stub.calls(Api::TikTok);
    assert_eq!(tt_calls.len(), 1);
    let form = String::from_utf8_lossy(&tt_calls[0].body).into_owned();
    assert!(form.contains("refresh_token=rft.first"), "{form}");
    assert_eq!(
        tt_calls[0].headers.get("content-type").map(String::as_str),
        Some("application/x-www-form-urlencoded")
    );

    let (ig_access, ig_refresh) = stored(&ig);
    assert!(ig_access.unwrap().starts_with("IGQ-renewed-"));
    assert_eq!(ig_refresh, None);
    let (tt_access, tt_refresh) = stored(&tt);
    assert!(tt_access.unwrap().starts_with("act.renewed-"));
    assert!(
        tt_refresh.unwrap().starts_with("rft.rotated-"),
        "the rotated refresh token replaces the old one"
    );
    // Expiries from the answers' lifetimes; ciphertext only, under the key in Vault.
    let row = query_one(
        "select (token_expires_at - now() > interval '59 days') \
           and (select token_expires_at - now() < interval '25 hours' \
                  from public.social_accounts where id = $2::text::uuid), \
           position('renewed'::bytea in access_token) = 0, \
           extensions.pgp_sym_decrypt(access_token, \
             (select decrypted_secret from vault.decrypted_secrets where name = 'social_token_key')) \
             like 'IGQ-renewed-%' \
         from public.social_accounts where id = $1::text::uuid",
        &[&ig, &tt],
    );
    assert_eq!(
        (
            row.get::<_, bool>(0),
            row.get::<_, bool>(1),
            row.get::<_, bool>(2)
        ),
        (true, true, true)
    );
}

/// The attacker revoked the studio's grant (or the platform expired it): renewal is refused
/// with the platform's real error body. The account is marked, every Admin is told once, and no
/// further renewal or fetch is tried until it is connected again. A passing failure (a 500) is
/// only logged and tried again.
#[test]
fn a_refused_renewal_marks_the_account_and_tells_the_admins_once() {
    let _turn = turn();
    let f = fixture();
    let tt = account("tiktok", "act.revoked", Some("rft.revoked"), 600);
    let ig = account("instagram", "IGQ-revoked", None, 86_400);
    age_a_day(&ig);
    f.stub.fail_always(Api::TikTok, Some(Fault::TokenRefused));
    f.stub
        .fail_always(Api::Instagram, Some(Fault::TokenRefused));
    let r = refresh(&service_key());
    assert_eq!(outcome(&r, &tt), "needs_reconnect", "{}", r.text());
    assert_eq!(outcome(&r, &ig), "needs_reconnect", "{}", r.text());
    for id in [&tt, &ig] {
        assert!(needs_reconnect(id));
        assert_eq!(admin_told(id), 1);
        // The old tokens are kept (the Admin may look), never replaced by an error.
        assert!(stored(id).0.unwrap().contains("revoked"));
    }
    let reason: String = query_one(
        "select reconnect_reason from private.social_tokens where account_id = $1::text::uuid",
        &[&tt],
    )
    .get(0);
    assert!(reason.contains("invalid_grant"), "{reason}");
    let logged: i64 = query_one(
        "select count(*) from public.error_logs where service = 'fetch-social-updates' \
         and context->>'account_id' = $1 and error_message like 'token renewal refused%'",
        &[&tt],
    )
    .get(0);
    assert_eq!(logged, 1);

    // Again: nothing is due, nobody is told twice, the platforms are not called.
    let calls = f.stub.calls(Api::TikTok).len() + f.stub.calls(Api::Instagram).len();
    let r = refresh(&service_key());
    assert_eq!(outcome(&r, &tt), Value::Null);
    assert_eq!(
        f.stub.calls(Api::TikTok).len() + f.stub.calls(Api::Instagram).len(),
        calls
    );
    assert_eq!(admin_told(&tt), 1);
    f.stub.fail_always(Api::TikTok, None);
    f.stub.fail_always(Api::Instagram, None);

    // Connected again: cleared.
    let mut c = fixture().db.connect();
    let mut tx = c.transaction().unwrap();
    tx.batch_execute("set local role service_role").unwrap();
    tx.execute(
        "select public.store_social_tokens($1::text::uuid, 'act.again', 86400, 'rft.again', 31536000)",
        &[&tt],
    )
    .unwrap();
    tx.commit().unwrap();
    assert!(!needs_reconnect(&tt));

    // A 500 is not a refusal: logged, tried again, the account stays connected.
    let flaky = account("tiktok", "act.flaky", Some("rft.flaky"), 600);
    f.stub.fail_next(Api::TikTok, &[Fault::Status(500)]);
    let r = refresh(&service_key());
    assert_eq!(outcome(&r, &flaky), "retry", "{}", r.text());
    assert!(!needs_reconnect(&flaky));
    assert_eq!(admin_told(&flaky), 0);
    let r = refresh(&service_key());
    assert_eq!(outcome(&r, &flaky), "renewed", "{}", r.text());
}

/// Renewal spends the platforms' grants of every account: a signed-in user cannot trigger it,
/// and a body that names an account as well is refused.
#[test]
fn only_the_schedule_and_the_service_key_renew_tokens() {
    let _turn = turn();
    let f = fixture();
    let tt = account("tiktok", "act.mine", Some("rft.mine"), 600);
    for persona in ["admin", "sales_a", "client"] {
        let r = refresh(&token(persona));
        assert_eq!(
            (r.status, r.json()["code"].clone()),
            (403, json!("forbidden")),
            "{persona}: {}",
            r.text()
        );
    }
    let both = invoke(
        FUNCTION,
        Some(&service_key()),
        &json!({ "refresh_tokens": true, "account_id": tt }),
    );
    assert_eq!(both.status, 400, "{}", both.text());
    assert!(f.stub.calls(Api::TikTok).is_empty());
    assert_eq!(stored(&tt).0.as_deref(), Some("act.mine"));
}

/// The key rotation of docs/operations.md (`xtask/sql/rotate_social_token_key.sql`): every token
/// is re-encrypted under a new key and the key in Vault replaced, in one transaction; with a
/// wrong key in Vault nothing changes.
#[test]
fn the_key_rotation_re_encrypts_every_token() {
    let _turn = turn();
    let ig = account("instagram", "IGQ-rotated", None, 30 * 86_400);
    let tt = account("tiktok", "act.rotated", Some("rft.rotated"), 30 * 86_400);
    let rotation = std::fs::read_to_string(
        xtask::paths::project_root().join("xtask/sql/rotate_social_token_key.sql"),
    )
    .unwrap();
    let key = || -> String {
        query_one(
            "select decrypted_secret from vault.decrypted_secrets where name = 'social_token_key'",
            &[],
        )
        .get(0)
    };
    let cipher = |id: &str| -> Vec<u8> {
        query_one(
            "select access_token from public.social_accounts where id = $1::text::uuid",
            &[&id],
        )
        .get(0)
    };
    let (old_key, old_cipher) = (key(), cipher(&tt));
    let mut c = fixture().db.connect();
    c.batch_execute(&rotation).unwrap();
    assert_ne!(key(), old_key);
    assert_ne!(cipher(&tt), old_cipher);
    assert_eq!(stored(&ig), (Some("IGQ-rotated".into()), None));
    assert_eq!(
        stored(&tt),
        (Some("act.rotated".into()), Some("rft.rotated".into()))
    );

    // A wrong key in Vault: the rotation fails and changes nothing.
    let right = key();
    xtask::schedules::store_vault_secret(&mut c, "social_token_key", "not the key").unwrap();
    let before = cipher(&tt);
    let e = c.batch_execute(&rotation).unwrap_err();
    let db = e.as_db_error().expect("a database error");
    // pgcrypto's refusal: external_routine_invocation_exception.
    assert_eq!(
        (db.code().code(), db.message()),
        ("39000", "Wrong key or corrupt data"),
    );
    c.batch_execute("rollback").ok();
    assert_eq!(cipher(&tt), before);
    xtask::schedules::store_vault_secret(&mut c, "social_token_key", &right).unwrap();
    assert_eq!(stored(&tt).0.as_deref(), Some("act.rotated"));
}
