//! P7: the unified inbox on 10M messages.

use std::time::{Duration, Instant};

use anyhow::{ensure, Result};

use super::{migrated_db, percentile, Figure};
use crate::infra::cluster::{Throwaway, SUPERUSER};
use crate::infra::db;

/// P7: the unified inbox, the latest 50 unread messages of 8 of 20 accounts from the last 30
/// days, on 10M `social_messages` rows spread over 12 monthly partitions,
/// 5 % unread. p50 of 200 runs of the statement PostgREST sends for
/// `?account_id=in.(...)&status=eq.unread&received_at=gte...&order=received_at.desc&limit=50`,
/// as `postgres` (RLS cost is P1's subject), and of the `inbox` RPC that returns the same rows.
/// Returns the figures and the query plan.
pub(super) fn p7_unified_inbox() -> Result<(Vec<Figure>, String)> {
    const ROWS: i64 = 10_000_000;
    const CHUNK: i64 = 1_000_000;
    eprintln!("==> P7: unified inbox on {ROWS} social_messages rows");
    let t = Throwaway::start()?;
    let url = migrated_db(&t, "p7")?;
    let mut c = db::connect(&url)?;
    // One partition per month for the year of data, through the months the migration made.
    c.batch_execute(
        "select public.create_social_messages_partitions(15, (current_date - interval '12 months')::date)",
    )?;
    c.batch_execute(
        "insert into public.social_accounts (platform, username) \
         select (array['instagram', 'tiktok'])[1 + i % 2]::public.social_platform, 'moha_' || i \
           from generate_series(1, 20) i",
    )?;
    // Loaded as the superuser with triggers off (session_replication_role = replica): the audit
    // trigger would double the load and is not what P7 measures; the account ids are valid.
    let mut admin = db::connect(&t.cluster.url(SUPERUSER, "p7"))?;
    admin.batch_execute("set session_replication_role = replica")?;
    let load_start = Instant::now();
    let mut loaded = 0;
    while loaded < ROWS {
        let n = CHUNK.min(ROWS - loaded);
        admin.execute(
            "with a as (select array_agg(id order by username) ids from public.social_accounts) \
             insert into public.social_messages \
               (account_id, message_type, content, sender_id, external_id, received_at, status) \
             select a.ids[1 + (i % 20)], \
                    (array['direct_message', 'comment', 'mention', 'reply'])[1 + i % 4]::public.message_type, \
                    'Hello, do you design kitchens? message ' || i, \
                    'sender_' || (i % 50000), \
                    'ext_' || i, \
                    now() - make_interval(secs => (i::float8 / $2::float8) * 365 * 86400), \
                    case when random() < 0.05 then 'unread' else 'read' end::public.message_status \
               from a, generate_series($1::bigint + 1, $1::bigint + $3::bigint) i",
            &[&loaded, &(ROWS as f64), &n],
        )?;
        loaded += n;
        eprintln!(
            "    {loaded} rows, {:.0} s",
            load_start.elapsed().as_secs_f64()
        );
    }
    admin.batch_execute("analyze public.social_messages")?;
    let load_took = load_start.elapsed();
    let in_default: i64 = c
        .query_one("select count(*) from private.social_messages_default", &[])?
        .get(0);
    ensure!(
        in_default == 0,
        "{in_default} rows landed in the default partition"
    );

    let set: String = c
        .query_one(
            "select '{' || string_agg(id::text, ',' order by username) || '}' \
               from (select id, username from public.social_accounts order by username limit 8) s",
            &[],
        )?
        .get(0);
    let inbox = "select id, account_id, message_type, content, sender_id, received_at \
                   from public.social_messages \
                  where account_id = any($1::text::uuid[]) and status = 'unread' \
                    and received_at >= now() - interval '30 days' \
                  order by received_at desc limit 50";
    // The same answer through the inbox RPC (`supabase.rpc('inbox', {account_ids})`): each
    // account's own latest 50 through the partial index, then the newest 50 of those.
    let per_account = "select id, account_id, message_type, content, sender_id, received_at \
                         from public.inbox($1::text::uuid[])";
    let runs = inbox_runs(&mut c, inbox, &set)?;
    let lateral_runs = inbox_runs(&mut c, per_account, &set)?;
    let ids = |c: &mut postgres::Client, sql: &str| -> Result<String> {
        let q =
            format!("select string_agg(id::text, ',' order by received_at desc) from ({sql}) q");
        Ok(c.query_one(&q, &[&set])?.get(0))
    };
    ensure!(
        ids(&mut c, inbox)? == ids(&mut c, per_account)?,
        "the two inbox queries disagree"
    );
    let plan: Vec<String> = c
        .query(
            &format!("explain (analyze, costs off, timing off, summary off) {inbox}"),
            &[&set],
        )?
        .iter()
        .map(|r| r.get::<_, String>(0).replace(&set, "{8 account ids}"))
        .collect();
    let partitions: i64 = c
        .query_one(
            "select count(*) from pg_catalog.pg_inherits where inhparent = 'public.social_messages'::regclass",
            &[],
        )?
        .get(0);
    Ok((
        vec![
            Figure {
                id: "P7",
                what: format!(
                    "unified inbox: latest 50 unread of 8/20 accounts, last 30 days, 10M rows in {partitions} partitions, p50 of 200"
                ),
                value: format!(
                    "{:.2} ms (p95 {:.2} ms)",
                    percentile(runs.clone(), 0.5).as_secs_f64() * 1e3,
                    percentile(runs, 0.95).as_secs_f64() * 1e3
                ),
                target: "≤ 5 ms",
            },
            Figure {
                id: "P7",
                what: "same answer through the `inbox` RPC (per-account latest 50, merged), p50 of 200".into(),
                value: format!(
                    "{:.2} ms (p95 {:.2} ms)",
                    percentile(lateral_runs.clone(), 0.5).as_secs_f64() * 1e3,
                    percentile(lateral_runs, 0.95).as_secs_f64() * 1e3
                ),
                target: "≤ 5 ms",
            },
            Figure {
                id: "P7",
                what: "load 10M social_messages rows (generate_series, triggers off, fsync off) and analyze".into(),
                value: format!("{:.0} s", load_took.as_secs_f64()),
                target: "—",
            },
        ],
        format!("P7 plan (10M rows):\n{}", plan.join("\n")),
    ))
}

/// 200 timed runs of an inbox query (after 20 to warm up), each checked to return 50 rows.
fn inbox_runs(c: &mut postgres::Client, sql: &str, set: &str) -> Result<Vec<Duration>> {
    let stmt = c.prepare(sql)?;
    for _ in 0..20 {
        c.query(&stmt, &[&set])?;
    }
    let mut runs = Vec::new();
    for _ in 0..200 {
        let start = Instant::now();
        let got = c.query(&stmt, &[&set])?;
        runs.push(start.elapsed());
        ensure!(
            got.len() == 50,
            "the inbox returned {} rows, not 50",
            got.len()
        );
    }
    Ok(runs)
}
