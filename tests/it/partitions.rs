//! Partitions that never run out (issue 17): the daily upkeep keeps `social_messages` partitioned
//! for the current month and three ahead, moves rows that landed in the default partition into
//! their month without losing or duplicating one (their sentiments too), holds no lock on the
//! parent that stops reads or writes while it attaches, and retires partitions past the retention
//! into schema `archive`, never dropping one.

use moha_tests::cluster;
use postgres::Client;

fn account(c: &mut Client) -> String {
    c.query_one(
        "insert into public.social_accounts (platform, username) values ('tiktok', 'upkeep') returning id::text",
        &[],
    )
    .unwrap()
    .get(0)
}

/// `n` messages at `at` + i minutes, each scored.
fn plant(c: &mut Client, account: &str, at: &str, n: i32) {
    c.execute(
        "with m as (
           insert into public.social_messages (account_id, message_type, content, external_id, received_at)
           select $1::text::uuid, 'comment', 'planted ' || i, 'ext-' || i || '-' || $2,
                  $2::text::timestamptz + i * interval '1 minute'
             from generate_series(1, $3) i
           returning id, received_at)
         insert into public.social_sentiment (message_id, message_received_at, sentiment_score, model_used)
         select id, received_at, 0.5, 'test' from m",
        &[&account, &at, &n],
    )
    .unwrap();
}

/// Count and checksum of a relation's rows (every column, in id order).
fn fingerprint(c: &mut Client, relation: &str) -> (i64, String) {
    let r = c
        .query_one(
            &format!(
                "select count(*), coalesce(md5(string_agg(t::text, ',' order by t.id)), '') from {relation} t"
            ),
            &[],
        )
        .unwrap();
    (r.get(0), r.get(1))
}

fn in_default(c: &mut Client) -> i64 {
    c.query_one("select count(*) from private.social_messages_default", &[])
        .unwrap()
        .get(0)
}

#[test]
fn rows_planted_in_the_default_move_to_their_month_with_counts_and_checksums_equal() {
    let db = cluster().migrated_db();
    let mut c = db.connect();
    let acct = account(&mut c);
    // Months without a partition: far ahead and long ago.
    let ahead: String = c
        .query_one(
            "select to_char(date_trunc('month', now() at time zone 'UTC') + interval '8 months', 'YYYY-MM-DD') || ' 10:00:00+00'",
            &[],
        )
        .unwrap()
        .get(0);
    plant(&mut c, &acct, &ahead, 300);
    plant(&mut c, &acct, "2020-01-31 23:30:00+00", 120); // runs into February
                                                         // Retention would archive 2020 at once; this test is about the move.
    c.batch_execute("update public.operations_settings set social_messages_kept_months = 1200")
        .unwrap();
    assert_eq!(in_default(&mut c), 420);
    let messages = fingerprint(&mut c, "public.social_messages");
    let sentiments = fingerprint(&mut c, "public.social_sentiment");

    c.batch_execute("select private.social_messages_upkeep()")
        .unwrap();

    assert_eq!(in_default(&mut c), 0);
    assert_eq!(fingerprint(&mut c, "public.social_messages"), messages);
    assert_eq!(fingerprint(&mut c, "public.social_sentiment"), sentiments);
    // Each row sits in the partition of its UTC month.
    let misplaced: i64 = c
        .query_one(
            "select count(*) from public.social_messages m \
              where m.tableoid::regclass::text <> 'private.social_messages_' || to_char(m.received_at at time zone 'UTC', 'YYYY_MM')",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(misplaced, 0);
    // The move is one audit entry with its counts and checksums, not a delete and insert per row.
    let moves: Vec<serde_json::Value> = c
        .query(
            "select new_values from public.audit_logs \
              where table_name = 'public.social_messages' and action = 'partition_move' order by id",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let moved: i64 = moves.iter().map(|m| m["rows"].as_i64().unwrap()).sum();
    assert_eq!(moved, 420);
    assert!(moves
        .iter()
        .all(|m| m["checksum_before"] == m["checksum_after"]));
    // A second run finds nothing to do.
    c.batch_execute("select private.social_messages_upkeep()")
        .unwrap();
    assert_eq!(fingerprint(&mut c, "public.social_messages"), messages);
}

#[test]
fn upkeep_six_months_ahead_keeps_every_insert_out_of_the_default() {
    let db = cluster().migrated_db();
    let mut c = db.connect();
    let acct = account(&mut c);
    c.batch_execute("select private.social_messages_upkeep(now() + interval '6 months')")
        .unwrap();
    // Every month from now to three months past "now" has its partition: no gap is left.
    let missing: Vec<String> = c
        .query(
            "select to_char(m, 'YYYY_MM') from generate_series(
                 date_trunc('month', now() at time zone 'UTC'),
                 date_trunc('month', (now() + interval '6 months') at time zone 'UTC') + interval '3 months',
                 interval '1 month') m
              where to_regclass('private.social_messages_' || to_char(m, 'YYYY_MM')) is null",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(missing.is_empty(), "{missing:?}");
    for months in [6, 7, 8, 9] {
        c.execute(
            "insert into public.social_messages (account_id, message_type, content, received_at) \
             values ($1::text::uuid, 'comment', 'later', \
                     date_trunc('month', now()) + make_interval(months => $2) + interval '14 days')",
            &[&acct, &months],
        )
        .unwrap();
    }
    assert_eq!(in_default(&mut c), 0);
}

#[test]
fn attaching_holds_no_lock_on_the_parent_that_stops_reads_or_writes() {
    let db = cluster().migrated_db();
    let mut c = db.connect();
    let acct = account(&mut c);
    plant(&mut c, &acct, "2019-06-10 00:00:00+00", 10);
    // Retention detaches (its own, documented lock); this test is about attaching.
    c.batch_execute("update public.operations_settings set social_messages_kept_months = 1200")
        .unwrap();
    let mut tx = c.transaction().unwrap();
    tx.batch_execute("select private.social_messages_upkeep(now() + interval '2 years')")
        .unwrap();
    // Inside the upkeep's transaction, before it commits: its lock on the parent.
    let modes: Vec<String> = tx
        .query(
            "select mode from pg_locks where locktype = 'relation' and granted \
               and relation = 'public.social_messages'::regclass and pid = pg_backend_pid() \
             order by mode",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(
        !modes.iter().any(|m| m == "AccessExclusiveLock"
            || m == "ExclusiveLock"
            || m == "ShareLock"
            || m == "ShareRowExclusiveLock"),
        "{modes:?}"
    );
    // Another session writes the current month meanwhile: it finishes, and is never seen
    // waiting for a lock (if it waits, the test names the lock and who holds what).
    let mut other = db.connect();
    let other_pid: i32 = other
        .query_one("select pg_backend_pid()", &[])
        .unwrap()
        .get(0);
    let acct2 = acct.clone();
    let insert = std::thread::spawn(move || {
        other
            .execute(
                "insert into public.social_messages (account_id, message_type, content) \
                 values ($1::text::uuid, 'comment', 'during')",
                &[&acct2],
            )
            .map(|_| ())
            .map_err(|e| e.to_string())
    });
    let mut watcher = db.connect();
    while !insert.is_finished() {
        let waits: Vec<String> = watcher
            .query(
                "select coalesce(l.relation::regclass::text, l.locktype) || ' ' || l.mode \
                   from pg_locks l where l.pid = $1 and not l.granted",
                &[&other_pid],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        let held: Vec<String> = watcher
            .query(
                "select relation::regclass::text || ' ' || mode from pg_locks \
                  where locktype = 'relation' and granted and pid <> $1",
                &[&other_pid],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert!(
            waits.is_empty(),
            "the insert waits for {waits:?}; the upkeep holds {held:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(insert.join().unwrap(), Ok(()));
    tx.commit().unwrap();
}

#[test]
fn partitions_past_the_retention_are_detached_into_archive_never_dropped() {
    let db = cluster().migrated_db();
    let mut c = db.connect();
    let acct = account(&mut c);
    plant(&mut c, &acct, "2020-03-05 00:00:00+00", 50);
    c.batch_execute(
        "update public.operations_settings set social_messages_kept_months = 1200; \
         select private.social_messages_upkeep();",
    )
    .unwrap();
    let before = fingerprint(&mut c, "private.social_messages_2020_03");
    let sentiments_before = fingerprint(&mut c, "public.social_sentiment");
    c.batch_execute(
        "update public.operations_settings set social_messages_kept_months = 24; \
         select private.social_messages_upkeep();",
    )
    .unwrap();
    // Detached, moved to archive with its rows; the live table no longer has them.
    let attached: bool = c
        .query_one(
            "select exists (select from pg_inherits where inhrelid = 'archive.social_messages_2020_03'::regclass)",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(!attached);
    assert_eq!(
        fingerprint(&mut c, "archive.social_messages_2020_03"),
        before
    );
    let live: i64 = c
        .query_one(
            "select count(*) from public.social_messages where received_at < '2020-04-01'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(live, 0);
    // Their sentiments went along, none lost.
    let (archived, _) = fingerprint(&mut c, "archive.social_sentiment");
    let (kept, _) = fingerprint(&mut c, "public.social_sentiment");
    assert_eq!(archived, 50);
    assert_eq!(archived + kept, sentiments_before.0);
    // The current month and the next three are never retired, whatever the setting allows.
    let current: bool = c
        .query_one(
            "select to_regclass('private.social_messages_' || to_char(now() at time zone 'UTC', 'YYYY_MM')) is not null",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(current);
}
