//! The connect flow (issue 20): `social-connect` through the local gateway (real Deno), with the
//! loopback stub speaking Instagram's and TikTok's OAuth code exchanges.
//!
//! An Admin starts a flow and gets the platform's authorise URL with a single-use state; the
//! platform's redirect brings a code, exchanged for tokens stored encrypted. From the attacker's
//! side: a forged, replayed or expired state is refused before any platform call; a non-Admin
//! cannot start a flow; a reconnect that authorised a different platform account is refused and
//! leaves the studio's tokens as they were.

use std::sync::MutexGuard;

use moha_tests::gateway::{execute, fixture, http, invoke, query_one, token, Reply};
use moha_tests::provider_stub::{Api, Fault};
use serde_json::{json, Value};

const FUNCTION: &str = "social-connect";

fn turn() -> MutexGuard<'static, ()> {
    let guard = moha_tests::gateway::turn();
    let mut c = fixture().db.connect();
    xtask::schedules::ensure_social_token_key(&mut c).unwrap();
    guard
}

fn start(persona: &str, body: &Value) -> Reply {
    invoke(FUNCTION, Some(&token(persona)), body)
}

/// The state of an authorise URL.
fn state_of(r: &Reply) -> String {
    assert_eq!(r.status, 200, "{}", r.text());
    let url = r.json()["authorize_url"].as_str().unwrap().to_string();
    url.split("state=").nth(1).unwrap().to_string()
}

/// The platform's redirect back to the function.
fn callback(query: &str) -> Reply {
    let r = http(
        "GET",
        &format!("/functions/v1/{FUNCTION}?{query}"),
        &[],
        b"",
    );
    if r.status == 502 {
        // The reason is in error_logs, not in the answer.
        let why: Option<String> = query_one(
            "select max(error_message) from public.error_logs where service = 'social-connect'",
            &[],
        )
        .get(0);
        eprintln!("social-connect: {why:?}");
    }
    r
}

fn platform_calls() -> usize {
    let f = fixture();
    f.stub.calls(Api::Instagram).len() + f.stub.calls(Api::TikTok).len()
}

/// The account's decrypted (access, refresh) tokens, as `service_role`.
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

#[test]
fn an_admin_connects_instagram_and_tiktok_and_the_tokens_are_stored_encrypted() {
    let _turn = turn();
    let r = start("admin", &json!({ "platform": "instagram" }));
    let url = r.json()["authorize_url"].as_str().unwrap().to_string();
    assert!(
        url.contains("/ig-web/oauth/authorize?client_id=ig-stub-client-id&redirect_uri="),
        "{url}"
    );
    assert!(!url.contains("secret"), "{url}");
    let state = state_of(&r);
    assert_eq!(state.len(), 64, "256 random bits, hex");
    // Only the state's hash is kept.
    let kept: i64 = query_one(
        "select count(*) from private.social_oauth_states where state_hash = $1",
        &[&state],
    )
    .get(0);
    assert_eq!(kept, 0);

    let done = callback(&format!("code=stub-code&state={state}"));
    assert_eq!(done.status, 200, "{}", done.text());
    let ig = done.json()["account_id"].as_str().unwrap().to_string();
    assert_eq!(done.json()["username"], "moha.interiors");
    assert_eq!(stored(&ig), (Some("IGQ-long-lived".into()), None));
    let row = query_one(
        "select a.connected_by::text, a.needs_reconnect, t.platform_user_id, \
                a.token_expires_at > now() + interval '59 days' \
           from public.social_accounts a join private.social_tokens t on t.account_id = a.id \
          where a.id = $1::text::uuid",
        &[&ig],
    );
    assert_eq!(
        (
            row.get::<_, String>(0),
            row.get::<_, bool>(1),
            row.get::<_, String>(2),
            row.get::<_, bool>(3)
        ),
        (
            moha_tests::personas::id("admin").to_string(),
            false,
            "17841400000000001".to_string(),
            true
        )
    );

    let state = state_of(&start("admin", &json!({ "platform": "tiktok" })));
    let done = callback(&format!("state={state}&code=stub-code"));
    assert_eq!(done.status, 200, "{}", done.text());
    let tt = done.json()["account_id"].as_str().unwrap().to_string();
    assert_eq!(
        stored(&tt),
        (Some("act.connected".into()), Some("rft.connected".into()))
    );
}

/// The attacker's callbacks: a made-up state, the state of a finished flow again, an expired
/// one, none at all. Each is refused before any platform call.
#[test]
fn forged_replayed_and_expired_states_are_refused_before_any_platform_call() {
    let _turn = turn();
    let state = state_of(&start("admin", &json!({ "platform": "tiktok" })));
    let done = callback(&format!("code=stub-code&state={state}"));
    assert_eq!(done.status, 200, "{}", done.text());
    let before = platform_calls();

    let forged = "0".repeat(64);
    let expired = state_of(&start("admin", &json!({ "platform": "tiktok" })));
    execute("update private.social_oauth_states set expires_at = now() - interval '1 second'");
    for (what, query) in [
        ("replayed", format!("code=stub-code&state={state}")),
        ("forged", format!("code=stub-code&state={forged}")),
        ("expired", format!("code=stub-code&state={expired}")),
    ] {
        let r = callback(&query);
        assert_eq!(
            (r.status, r.json()["code"].clone()),
            (403, json!("forbidden")),
            "{what}: {}",
            r.text()
        );
    }
    let r = callback("code=stub-code");
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(platform_calls(), before, "no platform call for a bad state");

    // A state is also spent when the platform says the Admin refused: it cannot be reused.
    let state = state_of(&start("admin", &json!({ "platform": "instagram" })));
    let r = callback(&format!("error=access_denied&state={state}"));
    assert_eq!(r.status, 400, "{}", r.text());
    let r = callback(&format!("code=stub-code&state={state}"));
    assert_eq!(r.status, 403, "{}", r.text());
}

/// Only an Admin starts a flow: a Sales user, a client and the service key cannot.
#[test]
fn only_an_admin_starts_a_flow() {
    let _turn = turn();
    for persona in ["sales_a", "designer", "client"] {
        let r = start(persona, &json!({ "platform": "instagram" }));
        assert_eq!(
            (r.status, r.json()["code"].clone()),
            (403, json!("forbidden")),
            "{persona}: {}",
            r.text()
        );
    }
    let r = invoke(
        FUNCTION,
        Some(&moha_tests::gateway::service_key()),
        &json!({ "platform": "instagram" }),
    );
    assert_eq!(r.status, 403, "{}", r.text());
    let none: i64 = query_one(
        "select count(*) from private.social_oauth_states where created_by <> $1::text::uuid",
        &[&moha_tests::personas::id("admin")],
    )
    .get(0);
    assert_eq!(none, 0);
}

/// A reconnect of the studio's account, authorised by someone with another platform account
/// (the attacker's own): refused with 409, and the studio's tokens stay as they were.
#[test]
fn a_callback_for_another_platform_account_cannot_take_over_a_connected_one() {
    let _turn = turn();
    let f = fixture();
    let state = state_of(&start("admin", &json!({ "platform": "tiktok" })));
    let done = callback(&format!("code=stub-code&state={state}"));
    assert_eq!(done.status, 200, "{}", done.text());
    let tt = done.json()["account_id"].as_str().unwrap().to_string();
    execute(&format!(
        "update public.social_accounts set needs_reconnect = true where id = '{tt}'"
    ));
    let before = stored(&tt);

    let state = state_of(&start(
        "admin",
        &json!({ "platform": "tiktok", "account_id": tt }),
    ));
    f.stub.fail_always(Api::TikTok, Some(Fault::OtherAccount));
    let r = callback(&format!("code=stub-code&state={state}"));
    f.stub.fail_always(Api::TikTok, None);
    assert_eq!(
        (r.status, r.json()["code"].clone()),
        (409, json!("conflict")),
        "{}",
        r.text()
    );
    assert_eq!(stored(&tt), before, "the studio's tokens are untouched");
    // A new connection under the same username from another platform account: refused too.
    let state = state_of(&start("admin", &json!({ "platform": "tiktok" })));
    execute("update public.social_accounts set username = 'someone.else' where platform = 'tiktok' and username = 'moha.tiktok'");
    f.stub.fail_always(Api::TikTok, Some(Fault::OtherAccount));
    let r = callback(&format!("code=stub-code&state={state}"));
    f.stub.fail_always(Api::TikTok, None);
    assert_eq!(r.status, 409, "{}", r.text());
    execute("update public.social_accounts set username = 'moha.tiktok' where platform = 'tiktok' and username = 'someone.else'");

    // The right account reconnects it.
    let state = state_of(&start(
        "admin",
        &json!({ "platform": "tiktok", "account_id": tt }),
    ));
    let r = callback(&format!("code=stub-code&state={state}"));
    assert_eq!(r.status, 200, "{}", r.text());
    let again: bool = query_one(
        "select needs_reconnect from public.social_accounts where id = $1::text::uuid",
        &[&tt],
    )
    .get(0);
    assert!(!again);
}
