//! `public.inbox`, the unified-inbox RPC: the same rows as the table query PostgREST would send,
//! newest first, and only what the caller's policies allow (it runs as the caller).

use moha_tests::cluster;
use moha_tests::personas::{self, act_as, persona};
use postgres::Client;

const ACCOUNT: &str = "17000000-0000-4000-a000-000000000001";

fn seeded() -> (moha_tests::TestDb, Client) {
    let db = cluster().migrated_db();
    let mut c = db.connect();
    personas::create(&mut c, true).unwrap_or_else(|e| panic!("{e:#}"));
    // A second account and 300 messages over both, a third of them read, spread over 60 days.
    c.batch_execute(
        "insert into public.social_accounts (id, platform, username) values \
           ('17000000-0000-4000-a000-000000000002', 'tiktok', 'moha.tiktok'); \
         insert into public.social_messages (account_id, message_type, content, received_at, status) \
         select (array['17000000-0000-4000-a000-000000000001', '17000000-0000-4000-a000-000000000002'])[1 + i % 2]::uuid, \
                'comment', 'message ' || i, now() - make_interval(hours => i * 5), \
                case when i % 3 = 0 then 'read' else 'unread' end::public.message_status \
           from generate_series(1, 300) i",
    )
    .unwrap();
    (db, c)
}

/// Message contents as `who` sees them through `sql`, in the order returned.
fn as_persona(c: &mut Client, who: &str, sql: &str) -> Result<Vec<String>, String> {
    let mut tx = c.transaction().unwrap();
    act_as(&mut tx, persona(who)).unwrap();
    let r = tx
        .query(sql, &[])
        .map(|rows| rows.iter().map(|r| r.get::<_, String>(0)).collect())
        .map_err(|e| e.code().map(|s| s.code().to_string()).unwrap_or_default());
    tx.rollback().unwrap();
    r
}

const BOTH: &str =
    "array['17000000-0000-4000-a000-000000000001', '17000000-0000-4000-a000-000000000002']::uuid[]";

#[test]
fn inbox_equals_the_table_query_and_respects_rls() {
    let (_db, mut c) = seeded();
    let rpc = format!("select content from public.inbox({BOTH}, max_rows => 25)");
    let table = format!(
        "select content from public.social_messages where account_id = any({BOTH}) \
           and status = 'unread' and received_at >= now() - interval '30 days' \
         order by received_at desc limit 25"
    );
    let sales = as_persona(&mut c, "sales_a", &rpc).unwrap();
    assert_eq!(sales.len(), 25);
    assert_eq!(sales, as_persona(&mut c, "sales_a", &table).unwrap());
    assert_eq!(sales, as_persona(&mut c, "admin", &rpc).unwrap());
    // The window: nothing older than `since`; all of the last 30 days when max_rows allows.
    let all = as_persona(
        &mut c,
        "sales_a",
        &format!("select content from public.inbox({BOTH}, max_rows => 200)"),
    )
    .unwrap();
    let expected: i64 = c
        .query_one(
            &format!(
                "select count(*) from public.social_messages where account_id = any({BOTH}) \
                   and status = 'unread' and received_at >= now() - interval '30 days'"
            ),
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(all.len() as i64, expected);
    // Runs as the caller: clients' and designers' database roles may not read messages at
    // all, and anon may not call it.
    for who in ["client", "designer"] {
        assert_eq!(as_persona(&mut c, who, &rpc).unwrap_err(), "42501", "{who}");
    }
    assert_eq!(as_persona(&mut c, "anon", &rpc).unwrap_err(), "42501");
}

#[test]
fn inbox_refuses_a_bad_page_size() {
    let (_db, mut c) = seeded();
    for n in ["0", "201", "null"] {
        let sql = format!(
            "select content from public.inbox(array['{ACCOUNT}']::uuid[], max_rows => {n})"
        );
        assert_eq!(
            as_persona(&mut c, "sales_a", &sql).unwrap_err(),
            "22023",
            "{n}"
        );
    }
}
