//! `cargo xtask backup` and `restore` (issue 17): the seeded stack plus 100k generated rows, an
//! archived partition and Storage objects, backed up (encrypted with age) through its database
//! and its Storage API, restored into an empty project-like database behind its own gateway:
//! every table's count and checksum equal (restore checks them against the manifest, and so does
//! this test), object bytes equal, a persona's token works there, and a second restore is
//! refused. The pg_dump version check is tested against the PostgreSQL 17 server.

use std::path::{Path, PathBuf};
use std::process::Command;

use moha_tests::personas;
use moha_tests::provider_stub::PNG;
use serde_json::json;
use xtask::backup::{BackupArgs, Manifest, NotEmpty, RestoreArgs, Target};
use xtask::{cluster, jwt};

fn gateway(db: &moha_tests::TestDb, state: &Path) -> (xtask::gateway::Gateway, String) {
    let mut secrets = xtask::gateway::function_secrets().unwrap();
    secrets.insert("JWT_SECRET".into(), jwt::LOCAL_JWT_SECRET.into());
    let port = cluster::free_port().unwrap();
    let g = xtask::gateway::start(&xtask::gateway::Options {
        port,
        db_url: db.url(),
        state_dir: state.to_path_buf(),
        storage_dir: state.join("storage"),
        secrets,
        exit_with_parent: true,
        signing_keys: xtask::keys::SigningKeys::generate().unwrap(),
    })
    .unwrap_or_else(|e| panic!("{e:#}"));
    (g, format!("http://127.0.0.1:{port}"))
}

/// One request; (status, body).
fn http(
    api: &str,
    method: &str,
    path: &str,
    bearer: &str,
    ty: &str,
    body: &[u8],
) -> (u16, Vec<u8>) {
    let port: u16 = api.rsplit(':').next().unwrap().parse().unwrap();
    let auth = format!("Bearer {bearer}");
    let r = moha_tests::gateway::http_at(
        port,
        method,
        path,
        &[("authorization", &auth), ("content-type", ty)],
        body,
    );
    (r.status, r.body)
}

fn service_key() -> String {
    jwt::api_key("service_role", jwt::LOCAL_JWT_SECRET)
}

fn token(persona: &str) -> String {
    let mut claims = personas::claims(personas::persona(persona));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    claims["exp"] = json!(now + 900);
    jwt::sign_hs256(&claims, jwt::LOCAL_JWT_SECRET)
}

/// A new age identity; (identity file, recipient).
fn age_identity(dir: &Path) -> (PathBuf, String) {
    let file = dir.join("identity.txt");
    let out = Command::new("age-keygen")
        .arg("-o")
        .arg(&file)
        .output()
        .expect("age-keygen is missing: apt-get install -y age");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&file).unwrap();
    let recipient = text
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap()
        .to_string();
    (file, recipient)
}

fn target(db: &moha_tests::TestDb, api: &str) -> Target {
    Target {
        db_url: Some(db.url()),
        env: None,
        api_url: Some(api.to_string()),
        service_key: Some(service_key()),
        pg_bin: None,
    }
}

#[test]
fn a_backup_restores_into_an_empty_project_equal_in_every_table_and_object() {
    let work = tempfile::tempdir().unwrap();
    // The source: the seeded stack, 100k generated leads (and their audit rows), social messages
    // in months with a partition, in the default partition and in an archived partition, and
    // Storage objects.
    let src = moha_tests::cluster().migrated_db();
    let mut c = src.connect();
    personas::create(&mut c, true).unwrap();
    c.batch_execute(
        "insert into public.leads (client_name, source, status)
           select 'Generated ' || i, 'website', 'new' from generate_series(1, 100000) i;
         insert into public.social_accounts (id, platform, username)
           values ('5a000000-0000-4000-a000-000000000001', 'instagram', 'backup');
         insert into public.social_messages (account_id, message_type, content, received_at)
           select '5a000000-0000-4000-a000-000000000001', 'comment', 'm ' || i,
                  now() - (i || ' days')::interval
             from generate_series(0, 60) i;
         insert into public.social_messages (account_id, message_type, content, received_at)
           values ('5a000000-0000-4000-a000-000000000001', 'comment', 'old', '2020-02-02'),
                  ('5a000000-0000-4000-a000-000000000001', 'comment', 'later', now() + interval '9 months');
         select private.social_messages_upkeep();",
    )
    .unwrap();
    let archived: bool = c
        .query_one(
            "select to_regclass('archive.social_messages_2020_02') is not null",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(archived, "the upkeep archives 2020");
    c.batch_execute(
        "insert into public.social_messages (account_id, message_type, content, received_at)
           values ('5a000000-0000-4000-a000-000000000001', 'comment', 'default', now() + interval '2 years')",
    )
    .unwrap();
    let (_ga, api_a) = gateway(&src, &work.path().join("gateway-a"));
    let client = personas::id("client");
    let mut objects = vec![
        ("renders", format!("{client}/room.png"), PNG.to_vec()),
        ("renders", format!("{client}/nested/a b.png"), PNG.to_vec()),
        ("project-media", "p1/cover.png".to_string(), PNG.to_vec()),
        ("blog-media", "posts/one.png".to_string(), PNG.to_vec()),
    ];
    // Enough objects of different sizes that the Storage job's eight workers finish them out
    // of order.
    for i in 0..40 {
        let mut bytes = PNG.to_vec();
        bytes.extend(std::iter::repeat_n(i as u8, 1 + (i * 7919) % 60000));
        objects.push(("project-media", format!("many/{i:02}.png"), bytes));
    }
    for (bucket, name, bytes) in &objects {
        let (status, body) = http(
            &api_a,
            "POST",
            &format!("/storage/v1/object/{bucket}/{}", name.replace(' ', "%20")),
            &service_key(),
            "image/png",
            bytes,
        );
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    }

    let (identity, recipient) = age_identity(work.path());
    let out = work.path().join("backup");
    xtask::backup::backup(&BackupArgs {
        target: target(&src, &api_a),
        out: out.clone(),
        recipients: vec![recipient],
    })
    .unwrap_or_else(|e| panic!("{e:#}"));
    // Encrypted: one file, no plaintext beside it.
    let files: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files, ["backup.tar.age"]);

    // The target: an empty project (the compat layer only) behind its own gateway.
    let dst = moha_tests::cluster().compat_db();
    let (_gb, api_b) = gateway(&dst, &work.path().join("gateway-b"));
    xtask::backup::restore(&RestoreArgs {
        dir: out.clone(),
        target: target(&dst, &api_b),
        identity: Some(identity.clone()),
        force: false,
    })
    .unwrap_or_else(|e| panic!("{e:#}"));

    // Every table equal, by this test's own reading too.
    let unpacked = work.path().join("unpacked");
    std::fs::create_dir(&unpacked).unwrap();
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "age -d -i '{}' '{}' | tar -x -C '{}'",
            identity.display(),
            out.join("backup.tar.age").display(),
            unpacked.display()
        ))
        .status()
        .unwrap();
    assert!(status.success());
    let manifest: Manifest =
        serde_json::from_str(&std::fs::read_to_string(unpacked.join("manifest.json")).unwrap())
            .unwrap();
    let leads = manifest
        .tables
        .iter()
        .find(|t| t.table == "public.leads")
        .unwrap();
    assert!(leads.rows >= 100_000);
    for t in &manifest.tables {
        let (s, n) = t.table.split_once('.').unwrap();
        let mut d = dst.connect();
        d.batch_execute("set timezone = 'UTC'; set datestyle = 'ISO, YMD'; set intervalstyle = 'postgres'; set extra_float_digits = 1; set bytea_output = 'hex'").unwrap();
        let rows: i64 = d
            .query_one(&format!("select count(*) from \"{s}\".\"{n}\""), &[])
            .unwrap()
            .get(0);
        assert_eq!(rows, t.rows, "{}", t.table);
    }
    // The seed's storage rows have no bytes (they exist for the policy tests): listed, not
    // restored; the uploaded ones are.
    assert_eq!(manifest.objects.len(), objects.len());
    assert!(!manifest.missing_objects.is_empty());
    for name in [
        "public.users",
        "public.audit_logs",
        "auth.users",
        "public.social_messages",
        "archive.social_sentiment",
    ] {
        assert!(
            manifest.tables.iter().any(|t| t.table == name),
            "{name} is backed up"
        );
    }
    // Object bytes equal, and a persona's token works against the restored database: the
    // client reads their own render through the target's Storage API (RLS on restored rows).
    for (bucket, name, bytes) in &objects {
        let (status, body) = http(
            &api_b,
            "GET",
            &format!(
                "/storage/v1/object/authenticated/{bucket}/{}",
                name.replace(' ', "%20")
            ),
            &service_key(),
            "application/json",
            b"",
        );
        assert_eq!((status, &body), (200, bytes), "{bucket}/{name}");
    }
    let (status, body) = http(
        &api_b,
        "GET",
        &format!("/storage/v1/object/authenticated/renders/{client}/room.png"),
        &token("client"),
        "application/json",
        b"",
    );
    assert_eq!((status, body.as_slice()), (200, PNG));
    let (status, body) = http(
        &api_b,
        "GET",
        &format!("/storage/v1/object/authenticated/renders/{client}/room.png"),
        &token("client2"),
        "application/json",
        b"",
    );
    // RLS hides it: Storage answers as for a missing object, never with the bytes.
    let refusal: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    assert_eq!(
        (status, refusal["code"].as_str()),
        (404, Some("NoSuchKey")),
        "another client's render stays theirs"
    );

    // A second restore is refused: the target is not empty.
    let again = xtask::backup::restore(&RestoreArgs {
        dir: out.clone(),
        target: target(&dst, &api_b),
        identity: Some(identity.clone()),
        force: false,
    })
    .unwrap_err();
    assert!(again.downcast_ref::<NotEmpty>().is_some(), "{again:#}");
    // With --force it empties the target within hosted's rules (objects through the Storage
    // API) and restores again, equal.
    xtask::backup::restore(&RestoreArgs {
        dir: out,
        target: target(&dst, &api_b),
        identity: Some(identity),
        force: true,
    })
    .unwrap_or_else(|e| panic!("{e:#}"));
}

#[test]
fn pg_dump_older_than_the_server_is_refused_with_the_exact_client_to_install() {
    let db = moha_tests::pg17_cluster().compat_db();
    let work = tempfile::tempdir().unwrap();
    let err = xtask::backup::backup(&BackupArgs {
        target: Target {
            db_url: Some(db.url()),
            env: None,
            api_url: Some("http://127.0.0.1:1".into()),
            service_key: Some("unused".into()),
            pg_bin: Some("/usr/lib/postgresql/15/bin".into()),
        },
        out: work.path().join("backup"),
        recipients: vec![],
    })
    .unwrap_err();
    let text = format!("{err:#}");
    assert!(
        text.contains("pg_dump 15") && text.contains("PostgreSQL 17"),
        "{text}"
    );
    assert!(
        text.contains("apt-get install -y postgresql-client-17"),
        "{text}"
    );
    // Without --pg-bin, the newest pg_dump here is 15 too: the same refusal.
    let err = xtask::backup::backup(&BackupArgs {
        target: Target {
            db_url: Some(db.url()),
            env: None,
            api_url: Some("http://127.0.0.1:1".into()),
            service_key: Some("unused".into()),
            pg_bin: None,
        },
        out: work.path().join("backup2"),
        recipients: vec![],
    })
    .unwrap_err();
    assert!(
        format!("{err:#}").contains("postgresql-client-17"),
        "{err:#}"
    );
}
