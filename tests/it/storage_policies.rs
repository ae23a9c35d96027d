//! Storage: the buckets exist with their limits, and the effective access to `storage.objects`
//! equals the declared bucket matrix (`sql::moha::public_media::storage()`, the security
//! release's buckets as the public-media release leaves them), probed per persona and bucket
//! exactly like the tables.

use moha_tests::cluster;
use moha_tests::effective::{self, InsertProbe, Report, Target};
use moha_tests::personas::{self, id};
use sql::access::{declared, Action};
use sql::moha::public_media::storage;
use sql::moha::security::PERSONAS;

const CLIENT_PROJECT: &str = "12000000-0000-4000-a000-000000000001";
const CLIENT2_PROJECT: &str = "12000000-0000-4000-a000-000000000002";
const PUBLISHED_PROJECT: &str = "12000000-0000-4000-a000-000000000003";
const PUBLISHED_POST: &str = "14000000-0000-4000-a000-000000000001";
const DESIGNER_DRAFT: &str = "14000000-0000-4000-a000-000000000002";
const ADMIN_DRAFT: &str = "14000000-0000-4000-a000-000000000003";
// Posts of authors the demo posts leave out (`effective::PROBE_ROWS`).
const CLIENT_DRAFT: &str = "14000000-0000-4000-a000-000000000004";
const CLIENT2_DRAFT: &str = "14000000-0000-4000-a000-000000000005";
const SALES_A_DRAFT: &str = "14000000-0000-4000-a000-000000000006";
const SALES_B_DRAFT: &str = "14000000-0000-4000-a000-000000000007";
const CLIENT_POST: &str = "14000000-0000-4000-a000-000000000011";
const CLIENT2_POST: &str = "14000000-0000-4000-a000-000000000012";
const DESIGNER_POST: &str = "14000000-0000-4000-a000-000000000013";
const SALES_A_POST: &str = "14000000-0000-4000-a000-000000000014";
const SALES_B_POST: &str = "14000000-0000-4000-a000-000000000015";

const INSERT: &str =
    "insert into storage.objects (bucket_id, name) values ($2, $1 || '/probe.png')";

fn insert_probe(bucket: &str, persona: &str) -> InsertProbe {
    let (own, foreign): (Option<String>, String) = match bucket {
        "project-media" => (
            match persona {
                "client" => Some(CLIENT_PROJECT.into()),
                "client2" => Some(CLIENT2_PROJECT.into()),
                _ => None,
            },
            if persona == "client" {
                CLIENT2_PROJECT
            } else {
                CLIENT_PROJECT
            }
            .into(),
        ),
        "blog-media" => (
            match persona {
                "client" => Some(CLIENT_DRAFT.into()),
                "client2" => Some(CLIENT2_DRAFT.into()),
                "designer" => Some(DESIGNER_DRAFT.into()),
                "sales_a" => Some(SALES_A_DRAFT.into()),
                "sales_b" => Some(SALES_B_DRAFT.into()),
                "admin" => Some(ADMIN_DRAFT.into()),
                _ => None,
            },
            if persona == "designer" {
                ADMIN_DRAFT
            } else {
                DESIGNER_DRAFT
            }
            .into(),
        ),
        // Only media of a published project or post may enter a public bucket.
        "portfolio-public" => (
            matches!(persona, "designer" | "admin").then(|| PUBLISHED_PROJECT.into()),
            CLIENT_PROJECT.into(),
        ),
        // Each author's own published post (the demo one is the admin's).
        "blog-public" => (
            match persona {
                "client" => Some(CLIENT_POST.into()),
                "client2" => Some(CLIENT2_POST.into()),
                "designer" => Some(DESIGNER_POST.into()),
                "sales_a" => Some(SALES_A_POST.into()),
                "sales_b" => Some(SALES_B_POST.into()),
                "admin" => Some(PUBLISHED_POST.into()),
                _ => None,
            },
            DESIGNER_DRAFT.into(),
        ),
        "renders" => (
            personas::user(persona).map(|u| u.id.to_string()),
            if persona == "client" {
                id("client2")
            } else {
                id("client")
            }
            .into(),
        ),
        _ => (None, "17000000-0000-4000-a000-000000000001".into()),
    };
    // The bucket id is bound as $2: the probe statement is the same for every bucket.
    InsertProbe::Owned {
        sql: INSERT.replace("$2", &format!("'{bucket}'")),
        own,
        foreign,
    }
}

#[test]
fn buckets_have_their_visibility_and_limits() {
    let db = cluster().migrated_db();
    let mut c = db.connect();
    for b in storage() {
        let row = c
            .query_one(
                "select public, file_size_limit, allowed_mime_types from storage.buckets where id = $1",
                &[&b.bucket.id],
            )
            .unwrap_or_else(|e| panic!("bucket {}: {e}", b.bucket.id));
        assert_eq!(
            row.get::<_, bool>(0),
            b.bucket.public,
            "{} public",
            b.bucket.id
        );
        assert_eq!(row.get::<_, Option<i64>>(1), b.bucket.file_size_limit);
        assert_eq!(
            row.get::<_, Option<Vec<String>>>(2),
            Some(b.bucket.allowed_mime_types.clone())
        );
    }
}

#[test]
fn effective_object_access_equals_the_declared_bucket_matrix() {
    let db = cluster().migrated_db();
    let mut c = db.connect();
    effective::seed(&mut c).unwrap_or_else(|e| panic!("{e:#}"));
    let mut report = Report::default();
    for b in storage() {
        // Bucket ids are our own constants (checked by the renderer's literal quoting too).
        assert!(b
            .bucket
            .id
            .bytes()
            .all(|x| x.is_ascii_lowercase() || x == b'-'));
        let target = Target {
            name: format!("{} ({})", b.bucket.id, b.path),
            from: "storage.objects".into(),
            scope: format!("bucket_id = '{}'", b.bucket.id),
            label: "name".into(),
            update_set: "metadata = metadata".into(),
        };
        let universe = effective::universe(&mut c, &target);
        assert!(
            !universe.is_empty(),
            "bucket {} has no demo objects",
            b.bucket.id
        );
        report.target(&target, &universe);
        for p in PERSONAS {
            let insert = insert_probe(&b.bucket.id, p.name);
            let entries = effective::reachable(p, &b.entries);
            let results: Vec<_> = Action::ALL
                .into_iter()
                .map(|a| {
                    let o = effective::probe(&mut c, p, &target, a, &insert, &universe);
                    (a, declared(&b.bucket.id, &entries, p, a), o)
                })
                .collect();
            report.line(&target, p, &results, &universe);
        }
    }
    assert!(
        report.mismatches.is_empty(),
        "effective storage access differs from the declared matrix:\n{}\n\nfull report:\n{}",
        report.mismatches.join("\n"),
        report.text
    );
    insta::assert_snapshot!("effective_storage_matrix", report.text);
}
