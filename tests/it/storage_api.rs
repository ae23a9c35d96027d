//! The Storage API of the local gateway (xtask/gateway/storage.ts) through the real
//! supabase-js (tests/it/storage_client.ts, run in Deno), as personas signed in with their
//! passwords through the local Auth API: objects in one's own folder, the
//! attacker's side (other users' folders, traversal in move and copy destinations, buckets one
//! cannot write, signed upload tokens on other paths, bulk removes mixing own and foreign
//! names), the bucket API, and public URLs for approved media only. Every decision is the real
//! `storage.objects` / `storage.buckets` policies, evaluated as the caller.

use moha_tests::gateway::{fixture, http, publishable_key, secret_key, token, turn};
use moha_tests::personas;
use moha_tests::provider_stub::PNG;
use moha_tests::support;
use serde_json::{json, Value};

const PUBLISHED_PROJECT: &str = "12000000-0000-4000-a000-000000000003";
const UNPUBLISHED_PROJECT: &str = "12000000-0000-4000-a000-000000000001";
const PUBLISHED_POST: &str = "14000000-0000-4000-a000-000000000001";
const DRAFT_POST: &str = "14000000-0000-4000-a000-000000000002";

fn email(persona: &str) -> &'static str {
    personas::user(persona)
        .expect("a persona with a user")
        .email
}

/// Runs storage_client.ts against the fixture's gateway, with the demo rows (projects, posts)
/// in place; returns its steps.
fn run_client() -> Value {
    use base64::Engine;
    let f = fixture();
    f.db.connect()
        .batch_execute(personas::demo_sql())
        .unwrap_or_else(|e| panic!("demo rows: {e}"));
    let out = support::run_ok(
        support::deno("storage_client.ts")
            .env("GATEWAY_URL", format!("http://127.0.0.1:{}", f.port))
            .env("PUBLISHABLE_KEY", publishable_key())
            .env("SECRET_KEY", secret_key())
            .env("DEMO_PASSWORD", sql::moha::personas::DEMO_PASSWORD)
            .env("CLIENT_EMAIL", email("client"))
            .env("CLIENT2_EMAIL", email("client2"))
            .env("DESIGNER_EMAIL", email("designer"))
            .env("ADMIN_EMAIL", email("admin"))
            .env("CLIENT_ID", personas::id("client"))
            .env("CLIENT2_ID", personas::id("client2"))
            .env("PUBLISHED_PROJECT", PUBLISHED_PROJECT)
            .env("UNPUBLISHED_PROJECT", UNPUBLISHED_PROJECT)
            .env("PUBLISHED_POST", PUBLISHED_POST)
            .env("DRAFT_POST", DRAFT_POST)
            .env(
                "PNG_BASE64",
                base64::engine::general_purpose::STANDARD.encode(PNG),
            ),
    );
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stdout))
}

/// Each step's expected `(status, code)`: 200 with no code, or Storage's refusal. Every step is
/// checked and all differences reported together.
fn check(got: &Value, expected: &[(&str, u16, Option<&str>)]) -> Vec<String> {
    let mut wrong = Vec::new();
    for (step, status, code) in expected {
        let s = &got[*step];
        let actual = (s["status"].as_u64(), s["code"].as_str());
        if actual != (Some(u64::from(*status)), *code) {
            wrong.push(format!(
                "{step}: expected {status} {code:?}, got {} {} ({})",
                s["status"], s["code"], s["message"]
            ));
        }
    }
    wrong
}

fn expect_data(wrong: &mut Vec<String>, got: &Value, step: &str, data: Value) {
    if got[step]["data"] != data {
        wrong.push(format!(
            "{step}: expected data {data}, got {}",
            got[step]["data"]
        ));
    }
}

#[test]
fn supabase_js_storage_objects_buckets_and_public_media() {
    let _turn = turn();
    let got = run_client();
    let me = personas::id("client");
    let other = personas::id("client2");
    let mut wrong = check(
        &got,
        &[
            // One's own folder: upload, list, update, move, info, copy, signed URLs.
            ("upload_own", 200, None),
            ("upload_other", 200, None),
            ("list_own", 200, None),
            ("list_own_search", 200, None),
            ("update_own", 200, None),
            ("move_own", 200, None),
            ("exists_moved_from", 404, Some("NoSuchKey")),
            ("exists_moved_to", 200, None),
            ("info_own", 200, None),
            ("copy_own", 200, None),
            ("sign_many", 200, None),
            ("sign_many_download", 200, None),
            ("sign_upload", 200, None),
            ("sign_upload_use", 200, None),
            ("remove_own", 200, None),
            ("list_after_remove", 200, None),
            // Refused in another's folder.
            ("upload_into_other", 403, Some("AccessDenied")),
            ("sign_upload_for_other", 403, Some("AccessDenied")),
            // A signed upload URL works once, for its one path.
            ("sign_upload_reuse", 409, Some("KeyAlreadyExists")),
            ("sign_upload_other_path", 400, Some("InvalidSignature")),
            ("sign_upload_into_other", 400, Some("InvalidSignature")),
            // The attacker's side: listing, moving, copying and reading what is not theirs.
            ("list_other_prefix", 200, None),
            ("list_other_by_search", 200, None),
            ("move_into_other", 403, Some("AccessDenied")),
            ("move_traversal", 400, Some("InvalidKey")),
            ("move_traversal_deep", 400, Some("InvalidKey")),
            ("copy_traversal", 400, Some("InvalidKey")),
            ("copy_other_into_own", 404, Some("NoSuchKey")),
            ("move_other_into_own", 404, Some("NoSuchKey")),
            ("move_into_unwritable_bucket", 403, Some("AccessDenied")),
            ("copy_into_unwritable_bucket", 403, Some("AccessDenied")),
            ("service_upload", 200, None),
            ("service_move_traversal", 400, Some("InvalidKey")),
            ("service_copy_traversal", 400, Some("InvalidKey")),
            ("info_other", 404, Some("NoSuchKey")),
            ("remove_mixed", 200, None),
            ("other_survives", 200, None),
            // Buckets: no bucket policy exists, so users see none and manage none.
            ("buckets_as_client", 200, None),
            ("buckets_as_anon", 200, None),
            ("bucket_get_as_client", 404, Some("NoSuchBucket")),
            ("bucket_create_as_client", 403, Some("AccessDenied")),
            ("bucket_create_as_anon", 403, Some("AccessDenied")),
            ("bucket_update_as_client", 404, Some("NoSuchBucket")),
            ("bucket_empty_as_client", 404, Some("NoSuchBucket")),
            ("bucket_delete_as_admin", 404, Some("NoSuchBucket")),
            ("buckets_as_service", 200, None),
            ("bucket_get_as_service", 200, None),
            ("bucket_create", 200, None),
            ("bucket_update", 200, None),
            ("bucket_upload", 200, None),
            ("bucket_delete_nonempty", 409, Some("ResourceNotEmpty")),
            ("bucket_empty", 200, None),
            ("bucket_delete", 200, None),
            // Public media: only what RLS lets in, served without a token.
            ("designer_upload_private", 200, None),
            ("designer_upload_unpublished", 200, None),
            ("publish_copy", 200, None),
            ("publish_unpublished_copy", 403, Some("AccessDenied")),
            ("publish_unpublished_upload", 403, Some("AccessDenied")),
            ("client_publish", 403, Some("AccessDenied")),
            ("public_approved", 200, None),
            ("public_private_bucket", 404, None),
            ("public_unpublished", 404, None),
            ("public_info", 200, None),
            ("public_list_anon", 200, None),
            ("blog_publish_author", 200, None),
            ("blog_publish_draft", 403, Some("AccessDenied")),
            ("blog_public_approved", 200, None),
        ],
    );
    expect_data(&mut wrong, &got, "list_own", json!(["a.png"]));
    expect_data(&mut wrong, &got, "list_own_search", json!(["a.png"]));
    expect_data(&mut wrong, &got, "exists_moved_to", json!(true));
    expect_data(&mut wrong, &got, "sign_many_download", json!(true));
    expect_data(&mut wrong, &got, "list_other_prefix", json!([]));
    expect_data(&mut wrong, &got, "list_other_by_search", json!([]));
    expect_data(
        &mut wrong,
        &got,
        "remove_mixed",
        json!([format!("{me}/api/c.png")]),
    );
    expect_data(&mut wrong, &got, "other_survives", json!(true));
    expect_data(
        &mut wrong,
        &got,
        "remove_own",
        json!([format!("{me}/api/b.png"), format!("{me}/api/signed.png")]),
    );
    expect_data(&mut wrong, &got, "list_after_remove", json!([]));
    expect_data(&mut wrong, &got, "buckets_as_client", json!([]));
    expect_data(&mut wrong, &got, "buckets_as_anon", json!([]));
    expect_data(
        &mut wrong,
        &got,
        "buckets_as_service",
        json!([
            "blog-media",
            "blog-public (public)",
            "portfolio-public (public)",
            "project-media",
            "renders",
            "social-uploads"
        ]),
    );
    expect_data(&mut wrong, &got, "public_approved", json!(true));
    expect_data(&mut wrong, &got, "blog_public_approved", json!(true));
    // The seeded row of the published project and the published copy; not the stale one.
    expect_data(
        &mut wrong,
        &got,
        "public_list_anon",
        json!(["photo.png", "published.jpg"]),
    );
    // The bulk signer answers for every name, with an error for what the caller cannot read.
    let signed = &got["sign_many"]["data"];
    if !(signed[0]["signedUrl"].is_string()
        && signed[1]["signedUrl"].is_null()
        && signed[1]["error"].is_string()
        && signed[1]["path"] == json!(format!("{other}/api/theirs.png")))
    {
        wrong.push(format!("sign_many: {signed}"));
    }
    let info = &got["info_own"]["data"];
    if !(info["name"] == json!(format!("{me}/api/b.png"))
        && info["bucketId"] == "renders"
        && info["size"] == json!(PNG.len())
        && info["contentType"] == "image/png")
    {
        wrong.push(format!("info_own: {info}"));
    }
    assert!(wrong.is_empty(), "{}\n\nall steps: {got}", wrong.join("\n"));
}

/// The public route serves without RLS, so a project keeps its approval while its public copies
/// exist: unpublishing (or deleting) it is refused until they are removed through the API.
#[test]
fn unpublishing_waits_for_the_public_copies() {
    let _turn = turn();
    let f = fixture();
    let mut c = f.db.connect();
    c.batch_execute(personas::demo_sql()).unwrap();
    let project = "12000000-0000-4000-a000-0000000000a5";
    c.batch_execute(&format!(
        "insert into public.projects (id, title, client_id, status, is_published, published_at) \
         values ('{project}', 'to unpublish', '11000000-0000-4000-a000-000000000001', 'completed', true, now())"
    ))
    .unwrap();
    let designer = format!("Bearer {}", token("designer"));
    let name = format!("{project}/cover.png");
    let up = http(
        "POST",
        &format!("/storage/v1/object/portfolio-public/{name}"),
        &[("authorization", &designer), ("content-type", "image/png")],
        PNG,
    );
    assert_eq!(up.status, 200, "{}", String::from_utf8_lossy(&up.body));
    let public = format!("/storage/v1/object/public/portfolio-public/{name}");
    assert_eq!(http("GET", &public, &[], b"").status, 200);

    // As the designer, who may unpublish: refused while the copy exists.
    let unpublish = |c: &mut postgres::Client| {
        let mut tx = c.transaction().unwrap();
        personas::act_as(&mut tx, personas::persona("designer")).unwrap();
        let r = tx.execute(
            "update public.projects set is_published = false where id = $1::text::uuid",
            &[&project],
        );
        match r {
            Ok(_) => {
                tx.commit().unwrap();
                None
            }
            Err(e) => Some(e.code().map(|s| s.code().to_string())),
        }
    };
    assert_eq!(unpublish(&mut c), Some(Some("23503".to_string())));
    let deleted = c.execute(
        "delete from public.projects where id = $1::text::uuid",
        &[&project],
    );
    assert_eq!(
        deleted.unwrap_err().code().map(|s| s.code()),
        Some("23503"),
        "a published project with public copies is not deleted either"
    );

    let removed = http(
        "DELETE",
        "/storage/v1/object/portfolio-public",
        &[
            ("authorization", &designer),
            ("content-type", "application/json"),
        ],
        json!({ "prefixes": [name] }).to_string().as_bytes(),
    );
    assert_eq!(removed.status, 200);
    assert_eq!(unpublish(&mut c), None);
    assert_eq!(http("GET", &public, &[], b"").status, 404);
}

/// As on hosted (Storage's tenant migration 0055), objects and buckets leave through the Storage
/// API only: a direct SQL delete is refused, even for `postgres`, unless the session says it is
/// the Storage server (`storage.allow_delete_query`), as the gateway does.
#[test]
fn direct_sql_deletes_on_storage_tables_are_refused() {
    let db = moha_tests::cluster().migrated_db();
    let mut c = db.connect();
    for sql in [
        "delete from storage.objects where bucket_id = 'renders'",
        "delete from storage.buckets where id = 'renders'",
    ] {
        let e = c.execute(sql, &[]).expect_err(sql);
        assert_eq!(e.code().map(|s| s.code()), Some("42501"), "{sql}: {e}");
    }
    let mut tx = c.transaction().unwrap();
    tx.batch_execute(
        "select set_config('storage.allow_delete_query', 'true', true); \
         delete from storage.objects where bucket_id = 'renders'",
    )
    .expect("the Storage server's own deletes pass");
    tx.rollback().unwrap();
}
