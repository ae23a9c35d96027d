//! The harness itself: isolation between test databases, hosted-like roles, and cleanup.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use moha_tests::cluster;

#[test]
fn each_test_gets_its_own_database() {
    let a = cluster().empty_db();
    let b = cluster().empty_db();
    assert_ne!(a.name, b.name);
    a.connect()
        .batch_execute("create table only_in_a (id int)")
        .unwrap();
    let found: bool = b
        .connect()
        .query_one("select to_regclass('public.only_in_a') is not null", &[])
        .unwrap()
        .get(0);
    assert!(
        !found,
        "a table made in one test database is visible in another"
    );
}

#[test]
fn postgres_owns_the_database_but_is_not_superuser() {
    let db = cluster().empty_db();
    let row = db
        .connect()
        .query_one(
            "select r.rolsuper, pg_get_userbyid(d.datdba) \
             from pg_roles r, pg_database d \
             where r.rolname = current_user and d.datname = current_database()",
            &[],
        )
        .unwrap();
    let (is_super, owner): (bool, String) = (row.get(0), row.get(1));
    assert!(!is_super);
    assert_eq!(owner, "postgres");
}

#[test]
fn cluster_is_removed_when_the_test_process_is_killed() {
    let mut probe = Command::new(env!("CARGO_BIN_EXE_harness-probe"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(probe.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let mut parts = line.split_whitespace();
    let root = parts
        .next()
        .expect("probe prints its cluster folder")
        .to_string();
    let port: u16 = parts
        .next()
        .expect("probe prints its port")
        .parse()
        .unwrap();
    assert!(Path::new(&root).join("data/PG_VERSION").exists());

    probe.kill().unwrap(); // SIGKILL: no destructor runs
    probe.wait().unwrap();

    let deadline = Instant::now() + Duration::from_secs(30);
    while (Path::new(&root).exists() || port_open(port)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!Path::new(&root).exists(), "{root} was left behind");
    assert!(!port_open(port), "a server still listens on {port}");
}

fn port_open(port: u16) -> bool {
    std::net::TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(200),
    )
    .is_ok()
}
