//! The local Auth API (`xtask/gateway/authApi.ts`, issue 19) behind the real gateway on a
//! migrated database with the personas: supabase-js end to end (`auth_client.ts`), then the
//! attacker's side through plain HTTP, each refusal by its status and Auth's error code.

use moha_tests::gateway::{
    anon_key, execute, fixture, http, publishable_key, query_one, secret_key, turn, Reply,
};
use moha_tests::personas;
use moha_tests::provider_stub::PNG;
use moha_tests::support;
use serde_json::{json, Value};
use sql::moha::personas::{DEMO_PASSWORD, USERS};

fn auth(method: &str, path: &str, bearer: Option<&str>, body: &str) -> Reply {
    let authz = bearer.map(|b| format!("Bearer {b}"));
    // A secret key goes in both headers, as supabase-js sends it.
    let apikey = match bearer {
        Some(b) if b.starts_with("sb_") => b,
        _ => publishable_key(),
    };
    let mut headers = vec![("apikey", apikey), ("content-type", "application/json")];
    if let Some(a) = &authz {
        headers.push(("authorization", a.as_str()));
    }
    http(
        method,
        &format!("/auth/v1/{path}"),
        &headers,
        body.as_bytes(),
    )
}

fn sign_in(email: &str, password: &str) -> Reply {
    auth(
        "POST",
        "token?grant_type=password",
        None,
        &json!({ "email": email, "password": password }).to_string(),
    )
}

fn sign_up(body: &Value) -> Reply {
    auth("POST", "signup", None, &body.to_string())
}

fn claims(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

/// Auth's error: status, `error_code` and `msg` (the pre-2024 body, no version header sent).
fn error(r: &Reply) -> (u16, String, String) {
    let b = r.json();
    assert_eq!(b["code"], r.status, "{}", r.text());
    assert!(
        r.head.contains(&format!(
            "x-sb-error-code: {}",
            b["error_code"].as_str().unwrap()
        )),
        "{}",
        r.head
    );
    (
        r.status,
        b["error_code"].as_str().unwrap().to_string(),
        b["msg"].as_str().unwrap().to_string(),
    )
}

fn unique(tag: &str) -> String {
    format!("{tag}-{}@moha.test", uuid_like())
}

fn uuid_like() -> String {
    let row = query_one("select gen_random_uuid()::text", &[]);
    row.get::<_, String>(0)[..8].to_string()
}

#[test]
fn supabase_js_signs_up_signs_in_refreshes_and_logs_out() {
    use base64::Engine;
    let _turn = turn();
    let f = fixture();
    let out = support::run_ok(
        support::deno("auth_client.ts")
            .env("GATEWAY_URL", format!("http://127.0.0.1:{}", f.port))
            .env("PUBLISHABLE_KEY", publishable_key())
            .env("SECRET_KEY", secret_key())
            .env("LEGACY_ANON_KEY", anon_key())
            .env("DB_URL", f.db.url())
            .env("NEW_EMAIL", unique("newcomer"))
            .env("ADMIN_EMAIL", personas::user("admin").unwrap().email)
            .env("DEMO_PASSWORD", DEMO_PASSWORD)
            .env(
                "PNG_BASE64",
                base64::engine::general_purpose::STANDARD.encode(PNG),
            ),
    );
    let got: Value =
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stdout));
    let all = got.to_string();

    // Sign-up: a session at once (confirmations off), a Client profile, the hook's role.
    assert_eq!(got["signup"]["error"], Value::Null, "{all}");
    assert_eq!(got["signup"]["has_session"], true, "{all}");
    assert_eq!(got["signup"]["role"], "moha_client", "{all}");
    assert_eq!(
        got["signup"]["app_metadata"],
        json!({"provider": "email", "providers": ["email"]})
    );
    assert_eq!(got["signup"]["identities"], json!(["email"]));
    assert_eq!(got["profile_role"], "Client");
    assert_eq!(
        got["signup_again"],
        json!({"status": 422, "code": "user_already_exists", "message": "User already registered"})
    );

    // Sign-in: Auth's claims, verified by the published JWKS; the session is Auth's row and
    // only the refresh token's hash is stored.
    let s = &got["signin"];
    assert_eq!(s["error"], Value::Null, "{all}");
    assert_eq!(s["role"], "moha_client");
    assert_eq!(
        s["claim_names"],
        json!([
            "aal",
            "amr",
            "app_metadata",
            "aud",
            "email",
            "exp",
            "iat",
            "is_anonymous",
            "iss",
            "phone",
            "role",
            "session_id",
            "sub",
            "user_metadata"
        ])
    );
    assert_eq!(s["aud"], "authenticated");
    assert_eq!(s["aal"], "aal1");
    assert_eq!(s["amr"][0]["method"], "password");
    assert_eq!(s["is_anonymous"], false);
    assert_eq!(s["sub_is_user"], true);
    assert_eq!(s["verifies"], true);
    assert_eq!(s["session_row"], 1);
    assert_eq!(s["hash_only"], true);
    assert_eq!(got["get_user"]["id_matches"], true, "{all}");

    // Storage and functions.invoke take the session's token.
    assert_eq!(got["invoke"]["upload_error"], Value::Null, "{all}");
    assert_eq!(got["invoke"]["job"], "created", "{all}");
    assert_eq!(got["invoke"]["status"], "succeeded", "{all}");

    // The seeded Admin signs in with the demo password; promotion shows after a refresh.
    assert_eq!(got["admin_signin"]["role"], "moha_admin", "{all}");
    assert_eq!(got["promote"], 1, "{all}");
    assert_eq!(got["after_promotion"]["role"], "moha_sales", "{all}");
    assert_eq!(got["after_promotion"]["leads"], 1, "{all}");
    // Demoted: the unexpired moha_sales token reads no leads, the next refresh is moha_client.
    assert_eq!(got["demote"], 1, "{all}");
    assert_eq!(got["after_demotion"]["token_still_valid"], true);
    assert_eq!(got["after_demotion"]["role"], "moha_sales");
    assert_eq!(got["after_demotion"]["leads"], 0, "{all}");
    assert_eq!(
        got["after_demotion_refresh"]["role"], "moha_client",
        "{all}"
    );

    // Wrong password: Auth's error, the same for an address nobody has.
    assert_eq!(
        got["wrong_password"],
        json!({"status": 400, "code": "invalid_credentials", "message": "Invalid login credentials"})
    );
    assert_eq!(got["wrong_password_raw"]["status"], 400);
    assert_eq!(
        got["wrong_password_raw"]["error_code"],
        "invalid_credentials"
    );
    assert_eq!(got["wrong_password_raw"], got["unknown_email_raw"]);

    // A used refresh token: fine within the interval, after it the session ends.
    assert_eq!(got["reuse_within_interval"]["error"], Value::Null, "{all}");
    assert_eq!(got["reuse_within_interval"]["same_session"], true);
    assert_eq!(
        got["reuse_after_interval"],
        json!({"status": 400, "code": "refresh_token_already_used", "message": "Invalid Refresh Token: Already Used"})
    );
    assert_eq!(
        got["successor_after_reuse"]["code"],
        "refresh_token_not_found"
    );
    assert_eq!(
        got["access_token_after_reuse"],
        json!({"status": 403, "body": {"code": 403, "error_code": "session_not_found", "msg": "Session from session_id claim in JWT does not exist"}})
    );

    // Logout: local ends one session, global all; an ended session does not refresh.
    assert_eq!(got["logout_local"]["error"], Value::Null, "{all}");
    assert_eq!(
        got["logout_local"]["ended"]["code"],
        "refresh_token_not_found"
    );
    assert_eq!(got["logout_local"]["other_still_refreshes"], true);
    assert_eq!(got["logout_global"]["error"], Value::Null, "{all}");
    assert_eq!(got["logout_global"]["sessions_left"], 0);
    assert_eq!(
        got["logout_global"]["refresh"]["code"],
        "refresh_token_not_found"
    );

    // The admin API: the publishable key, the legacy anon key and a user's token (even an
    // Admin's) are refused; the secret key lists, creates, reads, updates and deletes.
    let not_admin = json!({"status": 403, "code": "not_admin", "message": "User not allowed"});
    assert_eq!(got["admin_with_publishable_key"], not_admin, "{all}");
    assert_eq!(got["admin_with_legacy_anon_key"], not_admin);
    assert_eq!(got["admin_with_admin_persona_token"], not_admin);
    let a = &got["admin"];
    assert_eq!(a["list_error"], Value::Null, "{all}");
    assert_eq!(a["listed"], 2);
    assert!(a["total"].as_u64().unwrap() > USERS.len() as u64, "{all}");
    assert_eq!(a["create_error"], Value::Null, "{all}");
    assert!(a["get_email"].as_str().unwrap().starts_with("made-"));
    assert_eq!(
        a["update_metadata"],
        json!({"full_name": "Made Byadmin", "team": "north"})
    );
    assert_eq!(a["made_signs_in_as"], "moha_client", "{all}");
    assert_eq!(a["delete_error"], Value::Null);
    assert_eq!(
        a["after_delete"],
        json!({"status": 404, "code": "user_not_found", "message": "User not found"})
    );

    assert_eq!(
        got["settings"],
        json!({"disable_signup": false, "mailer_autoconfirm": true, "email": true})
    );
    assert_eq!(got["health"], 200);
}

/// Every seeded persona signs in with the documented demo password, and the hook gives each
/// the database role of its RBAC role.
#[test]
fn seeded_personas_sign_in_with_the_demo_password() {
    let _turn = turn();
    for u in USERS {
        let r = sign_in(u.email, DEMO_PASSWORD);
        assert_eq!(r.status, 200, "{}: {}", u.persona, r.text());
        let role = claims(r.json()["access_token"].as_str().unwrap())["role"].clone();
        assert_eq!(
            role,
            format!("moha_{}", u.role.to_lowercase()).as_str(),
            "{}",
            u.persona
        );
    }
    // The demo hashes are bcrypt at Auth's cost (10), as Auth would have stored them.
    let row = query_one(
        "select count(*) filter (where encrypted_password like '$2a$10$%'), count(*) from auth.users \
         where email like '%@moha.test' and id::text like '00000000-0000-4000-a000-%'",
        &[],
    );
    assert_eq!(row.get::<_, i64>(0), row.get::<_, i64>(1));
}

/// A sign-up cannot choose its role, its app_metadata or an Auth role: whatever the body says,
/// the token names moha_client and app_metadata is Auth's own.
#[test]
fn sign_up_cannot_choose_its_role_or_app_metadata() {
    let _turn = turn();
    let r = sign_up(&json!({
        "email": unique("climber"),
        "password": "climbing-password",
        "role": "service_role",
        "aud": "admin",
        "app_metadata": {"role": "moha_admin", "provider": "saml"},
        "data": {"role": "moha_admin", "app_metadata": {"x": 1}, "__proto__": {"role": "service_role"}}
    }));
    assert_eq!(r.status, 200, "{}", r.text());
    let body = r.json();
    let c = claims(body["access_token"].as_str().unwrap());
    assert_eq!(c["role"], "moha_client");
    assert_eq!(c["aud"], "authenticated");
    assert_eq!(
        c["app_metadata"],
        json!({"provider": "email", "providers": ["email"]})
    );
    let uid = body["user"]["id"].as_str().unwrap();
    let row = query_one(
        "select u.role, u.aud, u.raw_app_meta_data::text, r.name from auth.users u \
         join public.users p on p.id = u.id join public.roles r on r.id = p.role_id \
         where u.id = $1::text::uuid",
        &[&uid],
    );
    assert_eq!(
        (
            row.get::<_, String>(0),
            row.get::<_, String>(1),
            row.get::<_, String>(3)
        ),
        (
            "authenticated".into(),
            "authenticated".into(),
            "Client".into()
        )
    );
    assert_eq!(
        serde_json::from_str::<Value>(&row.get::<_, String>(2)).unwrap(),
        json!({"provider": "email", "providers": ["email"]})
    );

    // Nor later through PUT /user: app_metadata needs an admin, data stays user_metadata.
    let token = body["access_token"].as_str().unwrap();
    let up = auth(
        "PUT",
        "user",
        Some(token),
        r#"{"app_metadata": {"role": "moha_admin"}}"#,
    );
    assert_eq!(
        error(&up),
        (
            403,
            "not_admin".into(),
            "Updating app_metadata requires admin privileges".into()
        )
    );
    let up = auth(
        "PUT",
        "user",
        Some(token),
        r#"{"data": {"role": "moha_admin"}}"#,
    );
    assert_eq!(up.status, 200, "{}", up.text());
    let refreshed = auth(
        "POST",
        "token?grant_type=refresh_token",
        None,
        &json!({"refresh_token": body["refresh_token"]}).to_string(),
    );
    assert_eq!(refreshed.status, 200, "{}", refreshed.text());
    let c = claims(refreshed.json()["access_token"].as_str().unwrap());
    assert_eq!(c["role"], "moha_client");
    assert_eq!(c["user_metadata"]["role"], "moha_admin");
}

/// Bodies that are not what Auth's handlers decode are refused with Auth's codes before any
/// work: not JSON, not an object, wrong types, nesting deep enough to break a recursive parser,
/// and a body over the limit.
#[test]
fn hostile_bodies_are_refused_with_auths_codes() {
    let _turn = turn();
    let email = unique("hostile");
    let deep = format!(
        "{{\"email\":{}1{}}}",
        "[".repeat(200_000),
        "]".repeat(200_000)
    );
    for (body, want) in [
        ("{not json".to_string(), (400, "bad_json")),
        // No address at all is an anonymous sign-in, off in config.toml.
        ("{}".to_string(), (422, "anonymous_provider_disabled")),
        ("[]".to_string(), (400, "bad_json")),
        ("\"x\"".to_string(), (400, "bad_json")),
        (
            json!({"email": {"$ne": ""}, "password": "whatever-pw"}).to_string(),
            (400, "bad_json"),
        ),
        (
            json!({"email": email, "password": ["a"]}).to_string(),
            (400, "bad_json"),
        ),
        (
            json!({"email": email, "password": "x", "data": "not an object"}).to_string(),
            (400, "bad_json"),
        ),
        (deep, (400, "bad_json")),
        (
            json!({"email": email, "password": "a".repeat(73)}).to_string(),
            (400, "validation_failed"),
        ),
        (
            json!({"email": email, "password": "short"}).to_string(),
            (422, "weak_password"),
        ),
        (
            json!({"email": "not-an-address", "password": "long enough"}).to_string(),
            (400, "validation_failed"),
        ),
        (
            json!({"email": email, "password": "long enough", "data": {"pad": "x".repeat(1 << 20)}})
                .to_string(),
            (413, "request_entity_too_large"),
        ),
    ] {
        let r = auth("POST", "signup", None, &body);
        let (status, code, _) = error(&r);
        assert_eq!(
            (status, code.as_str()),
            want,
            "{}",
            &body[..body.len().min(80)]
        );
    }
    // Nothing of it made a user.
    let n: i64 = query_one(
        "select count(*) from auth.users where email = $1",
        &[&email],
    )
    .get(0);
    assert_eq!(n, 0);
    // Requests without a project key stop at the gateway, as Kong's key-auth stops them.
    let r = http(
        "POST",
        "/auth/v1/signup",
        &[("content-type", "application/json")],
        br#"{"email":"a@b.co","password":"long enough"}"#,
    );
    assert_eq!(r.status, 401, "{}", r.text());
}

/// Guessing passwords tells nothing about which addresses exist: an unknown address and a wrong
/// password get the same answer, byte for byte (Auth's; sign-up's user_already_exists is Auth's
/// own disclosure, with confirmations off).
#[test]
fn password_guesses_do_not_tell_which_emails_exist() {
    let _turn = turn();
    let known = sign_in(personas::user("client").unwrap().email, "guess-1");
    let unknown = sign_in("nobody-at-all@moha.test", "guess-1");
    assert_eq!(
        error(&known),
        (
            400,
            "invalid_credentials".into(),
            "Invalid login credentials".into()
        )
    );
    assert_eq!(
        (known.status, known.text()),
        (unknown.status, unknown.text())
    );
    // An account without a password (e.g. one an admin made without one) answers the same.
    let r = auth(
        "POST",
        "admin/users",
        Some(secret_key()),
        &json!({"email": unique("nopassword"), "email_confirm": true}).to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let email = r.json()["email"].as_str().unwrap().to_string();
    let none = sign_in(&email, "guess-1");
    assert_eq!((none.status, none.text()), (unknown.status, unknown.text()));
}

/// A refresh token renews its own session only, and a session's end is its tokens' end: after a
/// local logout of session A, A's refresh token fails while B's works; a token whose session
/// belongs to someone else is not accepted at /user.
#[test]
fn a_refresh_token_renews_only_its_own_session() {
    let _turn = turn();
    let email = unique("twosessions");
    let up = sign_up(&json!({"email": email, "password": "two sessions pw"}));
    assert_eq!(up.status, 200, "{}", up.text());
    let a = sign_in(&email, "two sessions pw").json();
    let b = sign_in(&email, "two sessions pw").json();
    let sid = |t: &Value| claims(t["access_token"].as_str().unwrap())["session_id"].clone();
    assert_ne!(sid(&a), sid(&b));
    let refresh = |t: &Value| {
        auth(
            "POST",
            "token?grant_type=refresh_token",
            None,
            &json!({"refresh_token": t["refresh_token"]}).to_string(),
        )
    };
    let ra = refresh(&a);
    assert_eq!(ra.status, 200, "{}", ra.text());
    assert_eq!(sid(&ra.json()), sid(&a));
    let ra = ra.json();
    let out = auth(
        "POST",
        "logout?scope=local",
        ra["access_token"].as_str(),
        "",
    );
    assert_eq!(out.status, 204, "{}", out.text());
    assert_eq!(error(&refresh(&ra)).1, "refresh_token_not_found");
    let rb = refresh(&b);
    assert_eq!(rb.status, 200, "{}", rb.text());
    assert_eq!(sid(&rb.json()), sid(&b));

    // Another user's refresh token never yields this user's session.
    let other = sign_in(personas::user("client2").unwrap().email, DEMO_PASSWORD).json();
    let ro = refresh(&other);
    assert_eq!(ro.status, 200);
    assert_eq!(
        claims(ro.json()["access_token"].as_str().unwrap())["sub"],
        personas::id("client2")
    );
    // An unknown or empty refresh token: Auth's answers.
    let r = auth(
        "POST",
        "token?grant_type=refresh_token",
        None,
        r#"{"refresh_token":"aaaaaaaaaaaa"}"#,
    );
    assert_eq!(error(&r).1, "refresh_token_not_found");
    let r = auth("POST", "token?grant_type=refresh_token", None, "{}");
    assert_eq!(
        (r.status, r.json()),
        (
            400,
            json!({"error": "invalid_request", "error_description": "refresh_token required"})
        )
    );
}

/// The hook runs on every token as supabase_auth_admin: when it fails, sign-in gets Auth's error
/// for a failing hook and no session is left behind.
#[test]
fn a_failing_hook_gives_auths_error_and_no_session() {
    let _turn = turn();
    let email = personas::user("designer").unwrap().email;
    let uid = personas::id("designer");
    let sessions = || -> i64 {
        query_one(
            "select count(*) from auth.sessions where user_id = $1::text::uuid",
            &[&uid],
        )
        .get(0)
    };
    let before = sessions();
    execute(
        "revoke execute on function authz.custom_access_token_hook(jsonb) from supabase_auth_admin",
    );
    let r = sign_in(email, DEMO_PASSWORD);
    execute(
        "grant execute on function authz.custom_access_token_hook(jsonb) to supabase_auth_admin",
    );
    assert_eq!(
        error(&r),
        (
            500,
            "unexpected_failure".into(),
            "Error running hook URI: pg-functions://postgres/authz/custom_access_token_hook".into()
        )
    );
    assert_eq!(sessions(), before);
    // With the grant back, the same sign-in works: the failure was the hook's.
    assert_eq!(sign_in(email, DEMO_PASSWORD).status, 200);
}

/// A user who changes their password ends every other session (a thief's among them), keeps the
/// one they changed it from, and signs in with the new password only.
#[test]
fn a_new_password_ends_the_other_sessions() {
    let _turn = turn();
    let email = unique("rotator");
    let up = sign_up(&json!({"email": email, "password": "first password"}));
    assert_eq!(up.status, 200, "{}", up.text());
    let mine = sign_in(&email, "first password").json();
    let thief = sign_in(&email, "first password").json();
    let token = mine["access_token"].as_str().unwrap();
    let same = auth(
        "PUT",
        "user",
        Some(token),
        r#"{"password": "first password"}"#,
    );
    assert_eq!(
        error(&same),
        (
            422,
            "same_password".into(),
            "New password should be different from the old password.".into()
        )
    );
    let changed = auth(
        "PUT",
        "user",
        Some(token),
        r#"{"password": "second password"}"#,
    );
    assert_eq!(changed.status, 200, "{}", changed.text());
    let refresh = |t: &Value| {
        auth(
            "POST",
            "token?grant_type=refresh_token",
            None,
            &json!({"refresh_token": t["refresh_token"]}).to_string(),
        )
    };
    assert_eq!(error(&refresh(&thief)).1, "refresh_token_not_found");
    assert_eq!(
        error(&auth("GET", "user", thief["access_token"].as_str(), "")).1,
        "session_not_found"
    );
    assert_eq!(refresh(&mine).status, 200);
    assert_eq!(
        error(&sign_in(&email, "first password")).1,
        "invalid_credentials"
    );
    assert_eq!(sign_in(&email, "second password").status, 200);
}

/// A session past its time box (`auth.sessions.not_after`) no longer refreshes
/// (session_expired), and the daily purge removes it with its refresh tokens.
#[test]
fn a_session_past_its_time_box_ends_and_is_purged() {
    let _turn = turn();
    let email = unique("timeboxed");
    let up = sign_up(&json!({"email": email, "password": "time boxed pw"})).json();
    let sid = claims(up["access_token"].as_str().unwrap())["session_id"]
        .as_str()
        .unwrap()
        .to_string();
    execute(&format!(
        "update auth.sessions set not_after = now() - interval '1 minute' where id = '{sid}'"
    ));
    let r = auth(
        "POST",
        "token?grant_type=refresh_token",
        None,
        &json!({"refresh_token": up["refresh_token"]}).to_string(),
    );
    assert_eq!(
        error(&r),
        (
            400,
            "session_expired".into(),
            "Invalid Refresh Token: Session Expired".into()
        )
    );
    let purged: Value = query_one("select private.purge()", &[]).get(0);
    assert!(purged["auth_sessions"].as_i64().unwrap() >= 1, "{purged}");
    let left: i64 = query_one(
        "select (select count(*) from auth.sessions where id = $1::text::uuid) \
              + (select count(*) from auth.refresh_tokens where session_id = $1::text::uuid)",
        &[&sid],
    )
    .get(0);
    assert_eq!(left, 0);
}

/// `deno run` does not type-check: the Auth module and the supabase-js script are checked here.
#[test]
fn auth_module_and_client_type_check() {
    for file in ["xtask/gateway/authApi.ts", "tests/it/auth_client.ts"] {
        support::deno_check(file);
    }
}

/// Auth's tables in the compat layer have the columns Supabase Auth's migrations leave on them
/// (supabase/auth at bc32168e: identities, sessions, refresh_tokens, mfa_amr_claims), in order,
/// so SQL written against hosted's tables (seed files, triggers, purges) runs here unchanged.
#[test]
fn auth_tables_have_auths_columns() {
    let cols = |table: &str| -> Vec<String> {
        fixture()
            .db
            .connect()
            .query(
                "select column_name || ' ' || case when data_type = 'USER-DEFINED' then udt_name \
                   else data_type end from information_schema.columns \
                  where table_schema = 'auth' and table_name = $1 order by ordinal_position",
                &[&table],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    };
    assert_eq!(
        cols("identities"),
        [
            "provider_id text",
            "user_id uuid",
            "identity_data jsonb",
            "provider text",
            "last_sign_in_at timestamp with time zone",
            "created_at timestamp with time zone",
            "updated_at timestamp with time zone",
            "email text",
            "id uuid"
        ]
    );
    assert_eq!(
        cols("sessions"),
        [
            "id uuid",
            "user_id uuid",
            "created_at timestamp with time zone",
            "updated_at timestamp with time zone",
            "factor_id uuid",
            "aal aal_level",
            "not_after timestamp with time zone",
            "refreshed_at timestamp without time zone",
            "user_agent text",
            "ip inet",
            "tag text",
            "oauth_client_id uuid",
            "refresh_token_hmac_key text",
            "refresh_token_counter bigint",
            "scopes text"
        ]
    );
    assert_eq!(
        cols("refresh_tokens"),
        [
            "instance_id uuid",
            "id bigint",
            "token character varying",
            "user_id character varying",
            "revoked boolean",
            "created_at timestamp with time zone",
            "updated_at timestamp with time zone",
            "parent character varying",
            "session_id uuid"
        ]
    );
    assert_eq!(
        cols("mfa_amr_claims"),
        [
            "session_id uuid",
            "created_at timestamp with time zone",
            "updated_at timestamp with time zone",
            "authentication_method text",
            "id uuid"
        ]
    );
}
