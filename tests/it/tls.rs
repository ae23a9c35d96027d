//! Hosted Supabase projects can enforce SSL: both database paths (the blocking client and the
//! migration session) must negotiate TLS when the URL asks for it.

use std::process::Command;

use moha_tests::cluster;
use xtask::cluster::OsUser;

/// Turns on SSL for this binary's cluster with a throwaway self-signed certificate.
fn enable_ssl() {
    let dir = cluster().root().join("ssl");
    std::fs::create_dir_all(&dir).unwrap();
    let status = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=localhost", "-keyout"])
        .arg(dir.join("server.key"))
        .arg("-out")
        .arg(dir.join("server.crt"))
        .output()
        .expect("openssl runs");
    assert!(status.status.success(), "{status:?}");
    let user = OsUser::current().unwrap();
    for f in ["server.key", "server.crt"] {
        user.hand_over(&dir.join(f)).unwrap();
    }
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        dir.join("server.key"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    let db = cluster().empty_db();
    let mut admin = db.connect_admin();
    for sql in [
        format!(
            "alter system set ssl_cert_file = '{}'",
            dir.join("server.crt").display()
        ),
        format!(
            "alter system set ssl_key_file = '{}'",
            dir.join("server.key").display()
        ),
        "alter system set ssl = on".to_string(),
        "select pg_reload_conf()".to_string(),
    ] {
        admin.batch_execute(&sql).unwrap();
    }
    // The reload is asynchronous; wait until new sessions see it.
    for _ in 0..50 {
        let on: String = admin.query_one("show ssl", &[]).unwrap().get(0);
        if on == "on" {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        admin = db.connect_admin();
    }
    panic!("ssl did not turn on");
}

#[test]
fn sslmode_require_negotiates_tls_on_both_paths() {
    enable_ssl();
    let db = cluster().empty_db();
    let url = format!("{}?sslmode=require", db.url());

    let mut client = xtask::db::connect(&url).unwrap();
    let ssl: bool = client
        .query_one(
            "select ssl from pg_stat_ssl where pid = pg_backend_pid()",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(ssl, "the blocking client did not use TLS");

    // The migration engine's own session: with `sslmode=require` the driver refuses to go on
    // without TLS, so reading the ledger succeeding proves the session negotiated it.
    let dir = tempfile::tempdir().unwrap();
    let (applied, pending) = xtask::migrate::status(&url, dir.path()).unwrap();
    assert!(applied.is_empty() && pending.is_empty());
}

#[test]
fn sslmode_disable_stays_plain_text() {
    // The local stack has no certificate: the URL's mode, not the connector, decides.
    let db = cluster().empty_db();
    let url = format!("{}?sslmode=disable", db.url());
    let mut client = xtask::db::connect(&url).unwrap();
    let ssl: bool = client
        .query_one(
            "select ssl from pg_stat_ssl where pid = pg_backend_pid()",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(!ssl, "sslmode=disable must not use TLS");
}
