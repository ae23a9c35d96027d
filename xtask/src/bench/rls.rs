//! P1, P2 and the audit-page figure: what row level security costs on real volumes.
//!
//! One throwaway cluster, a migrated database, 50 Sales users, 1M leads spread evenly over them
//! (statuses uniform, so two thirds are open) and 1M audit rows. Every query is timed as the
//! median of 200 runs of a prepared statement (after 20 to warm up) on a session that has
//! already switched role and claims, as PostgREST's pooled connections do.

use std::time::{Duration, Instant};

use anyhow::{ensure, Result};
use postgres::Client;

use super::{median, migrated_db, Figure};
use crate::cluster::{Throwaway, SUPERUSER};
use crate::db;

const LEADS: i64 = 1_000_000;
const SALES_USERS: i64 = 50;
const AUDIT_ROWS: i64 = 1_000_000;

/// The page a Sales user's lead list shows: their 50 newest open leads. Under RLS the
/// assignment filter comes from the policy; as service_role it is written out.
const OPEN_PAGE: &str = "select id, client_name, status, created_at from {table} \
     where status in ('new', 'contacted', 'qualified', 'proposal'){extra} \
     order by created_at desc limit 50";

/// The plan's policy style (section 1 of the architecture plan): bare `auth.uid()`, the role
/// looked up per row by an uninlinable helper call, and no index on the filtered column.
const NAIVE_POLICY: &str = "create policy leads_naive_select on public.leads_naive for select \
     to authenticated using (auth.uid() = assigned_to and authz.has_role('Sales') or authz.is_admin())";

/// Our Sales policy without its guard: what the token's role alone would give. Measured to show
/// the guard's share of P1's constant, not used anywhere.
const UNGUARDED_POLICY: &str = "create policy leads_unguarded_select on public.leads_unguarded \
     for select to moha_sales using (assigned_to = (select auth.uid()))";

const AUDIT_PAGE: &str = "select id, table_name, record_id, action, performed_by, \"timestamp\" \
     from public.audit_logs order by \"timestamp\" desc limit 50";

fn page(table: &str, extra: &str) -> String {
    OPEN_PAGE
        .replace("{table}", table)
        .replace("{extra}", extra)
}

/// P1, P2 and the audit page; the figures and the plans behind them.
pub(super) fn p1_p2_audit() -> Result<(Vec<Figure>, String)> {
    eprintln!("==> P1/P2: {LEADS} leads over {SALES_USERS} Sales users, {AUDIT_ROWS} audit rows");
    let t = Throwaway::start()?;
    let url = migrated_db(&t, "rls")?;
    let load_start = Instant::now();
    load(&t, &url)?;
    let load_took = load_start.elapsed();

    let mut owner = db::connect(&url)?;
    let sales: String = owner
        .query_one(
            "select u.id::text from public.users u join public.roles r on r.id = u.role_id \
              where r.name = 'Sales' order by u.id limit 1",
            &[],
        )?
        .get(0);
    let admin: String = owner
        .query_one(
            "select u.id::text from public.users u join public.roles r on r.id = u.role_id \
              where r.name = 'Admin' limit 1",
            &[],
        )?
        .get(0);

    let mut as_sales = session(&url, &signed_in(&url, &sales, "moha_sales")?)?;
    let mut as_service = session(&url, &serde_json::json!({ "role": "service_role" }))?;
    let mut as_admin = session(&url, &signed_in(&url, &admin, "moha_admin")?)?;

    let rls_sql = page("public.leads", "");
    let explicit_sql = page(
        "public.leads",
        &format!(" and assigned_to = '{sales}'::uuid"),
    );
    let naive_sql = page("public.leads_naive", "");
    let unguarded_sql = page("public.leads_unguarded", "");

    // Same answer three ways, or the comparison means nothing.
    let ids = |c: &mut Client, sql: &str| -> Result<Vec<String>> {
        Ok(c.query(&format!("select id::text from ({sql}) q"), &[])?
            .iter()
            .map(|r| r.get(0))
            .collect())
    };
    let expected = ids(&mut as_service, &explicit_sql)?;
    ensure!(
        expected.len() == 50,
        "the explicit query found {} rows",
        expected.len()
    );
    ensure!(
        ids(&mut as_sales, &rls_sql)? == expected,
        "RLS returned other rows than the explicit WHERE"
    );
    ensure!(
        ids(&mut as_sales, &naive_sql)? == expected,
        "the naive policy returned other rows"
    );
    ensure!(
        ids(&mut as_sales, &unguarded_sql)? == expected,
        "the unguarded policy returned other rows"
    );

    let rls = runs(&mut as_sales, &rls_sql, 200)?;
    let explicit = runs(&mut as_service, &explicit_sql, 200)?;
    let unguarded = runs(&mut as_sales, &unguarded_sql, 200)?;
    // Tens of seconds a run: three are enough to show the order of magnitude.
    let naive = runs(&mut as_sales, &naive_sql, 3)?;
    let audit_rls = runs(&mut as_admin, AUDIT_PAGE, 200)?;
    let audit_plain = runs(&mut as_service, AUDIT_PAGE, 200)?;

    let mut plans = String::new();
    for (title, who, sql) in [
        ("P1 ours, as sales (RLS)", 0, rls_sql.as_str()),
        ("P1 service_role, explicit WHERE", 1, explicit_sql.as_str()),
        ("P2 plan's policy style, as sales", 0, naive_sql.as_str()),
        ("audit page as admin (RLS)", 2, AUDIT_PAGE),
        ("audit page as service_role", 1, AUDIT_PAGE),
    ] {
        let c = [&mut as_sales, &mut as_service, &mut as_admin]
            .into_iter()
            .nth(who)
            .expect("three sessions");
        plans.push_str(&format!("-- {title}\n{}\n", explain(c, sql)?));
    }

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    Ok((
        vec![
            Figure {
                id: "P1",
                what: format!(
                    "Sales user's 50 newest open leads ({LEADS} leads, {SALES_USERS} users): RLS / service_role with explicit WHERE, median of 200"
                ),
                value: format!(
                    "{:.2} ({:.3} ms / {:.3} ms)",
                    ratio(rls, explicit),
                    ms(rls),
                    ms(explicit)
                ),
                target: "≤ 1.15",
            },
            Figure {
                id: "P1",
                what: "same page without the role guard (the token's role alone; a demotion would wait for the token to expire): RLS / explicit, median of 200".into(),
                value: format!(
                    "{:.2} ({:.3} ms / {:.3} ms)",
                    ratio(unguarded, explicit),
                    ms(unguarded),
                    ms(explicit)
                ),
                target: "— (not our policy)",
            },
            Figure {
                id: "P2",
                what: "same page: plan's policy style (bare auth.uid(), role per row, no index) / ours, median of 3 / 200".into(),
                value: format!(
                    "{:.0}× ({:.1} ms / {:.3} ms)",
                    ratio(naive, rls),
                    ms(naive),
                    ms(rls)
                ),
                target: "≥ 20×",
            },
            Figure {
                id: "P1",
                what: format!(
                    "Admin's audit page (50 newest of {AUDIT_ROWS}): RLS / service_role, median of 200"
                ),
                value: format!(
                    "{:.2} ({:.3} ms / {:.3} ms)",
                    ratio(audit_rls, audit_plain),
                    ms(audit_rls),
                    ms(audit_plain)
                ),
                target: "≤ 1.1",
            },
            Figure {
                id: "P1",
                what: "load 1M leads, their naive and unguarded copies and 1M audit rows (triggers off) and analyze"
                    .into(),
                value: format!("{:.0} s", load_took.as_secs_f64()),
                target: "—",
            },
        ],
        format!("P1/P2 plans (EXPLAIN ANALYZE):\n{plans}"),
    ))
}

/// The claims of `user`'s access token, through the project's access token hook as Supabase
/// Auth issues them; the hook must give the role `expected`.
fn signed_in(url: &str, user: &str, expected: &str) -> Result<serde_json::Value> {
    let claims = crate::token::access_token_hook(
        url,
        user,
        serde_json::json!({ "sub": user, "role": "authenticated", "aud": "authenticated" }),
    )?;
    ensure!(
        claims["role"] == expected,
        "the access token hook gave {user} the role {}, not {expected}",
        claims["role"]
    );
    Ok(claims)
}

/// A session that runs everything as the claims' role with the claims, as PostgREST does per
/// request.
fn session(url: &str, claims: &serde_json::Value) -> Result<Client> {
    let mut c = db::connect(url)?;
    // `set_config('role', ...)` is `set role` with the name as a bound value, as PostgREST does.
    c.execute(
        "select pg_catalog.set_config('role', $1, false)",
        &[&claims["role"].as_str().unwrap_or_default()],
    )?;
    c.execute(
        "select pg_catalog.set_config('request.jwt.claims', $1, false)",
        &[&claims.to_string()],
    )?;
    Ok(c)
}

/// Users, leads, the naive copy and audit rows. Bulk rows go in as the superuser with triggers
/// off (`session_replication_role = replica`): the audit trigger is P6's subject, not this one's.
fn load(t: &Throwaway, url: &str) -> Result<()> {
    let mut owner = db::connect(url)?;
    owner.batch_execute(&format!(
        "insert into auth.users (id, aud, role, email) \
         select gen_random_uuid(), 'authenticated', 'authenticated', 'sales' || i || '@bench.test' \
           from generate_series(1, {SALES_USERS}) i; \
         insert into auth.users (id, aud, role, email) \
         values (gen_random_uuid(), 'authenticated', 'authenticated', 'admin@bench.test'); \
         update public.users set role_id = (select id from public.roles where name = 'Sales') \
          where email like 'sales%@bench.test'; \
         update public.users set role_id = (select id from public.roles where name = 'Admin') \
          where email = 'admin@bench.test';"
    ))?;
    let name = url.rsplit('/').next().unwrap_or_default();
    let mut admin = db::connect(&t.cluster.url(SUPERUSER, name))?;
    admin.batch_execute(&format!(
        "set session_replication_role = replica; \
         create temp table sales as \
           select row_number() over (order by id) - 1 as n, id from public.users \
            where email like 'sales%@bench.test'; \
         insert into public.leads (client_name, source, assigned_to, status, created_at) \
         select 'lead ' || i, 'website', s.id, \
                (enum_range(null::public.lead_status))[1 + (i / {SALES_USERS}) % 6], \
                now() - (i || ' seconds')::interval \
           from generate_series(0, {LEADS} - 1) i \
           join sales s on s.n = i % {SALES_USERS}; \
         create table public.leads_naive (like public.leads including defaults); \
         insert into public.leads_naive select * from public.leads; \
         alter table public.leads_naive owner to postgres; \
         alter table public.leads_naive enable row level security; \
         grant select on public.leads_naive to authenticated; \
         {NAIVE_POLICY}; \
         create table public.leads_unguarded (like public.leads including defaults); \
         insert into public.leads_unguarded select * from public.leads; \
         create index on public.leads_unguarded (assigned_to, created_at desc); \
         alter table public.leads_unguarded owner to postgres; \
         alter table public.leads_unguarded enable row level security; \
         grant select on public.leads_unguarded to moha_sales; \
         {UNGUARDED_POLICY}; \
         insert into public.audit_logs (table_name, record_id, action, performed_by, actor_kind, actor_role, \"timestamp\", new_values) \
         select 'public.leads', i::text, 'insert', null, 'system', 'postgres', \
                now() - (i || ' seconds')::interval, jsonb_build_object('n', i) \
           from generate_series(1, {AUDIT_ROWS}) i; \
         reset session_replication_role; \
         analyze public.leads; analyze public.leads_naive; analyze public.leads_unguarded; \
         analyze public.audit_logs; \
         analyze public.users;"
    ))?;
    Ok(())
}

/// The median of `n` timed runs (after 20 to warm up, or 1 for a handful of runs), each checked to return 50 rows.
fn runs(c: &mut Client, sql: &str, n: usize) -> Result<Duration> {
    let stmt = c.prepare(sql)?;
    for _ in 0..if n >= 20 { 20 } else { 1 } {
        c.query(&stmt, &[])?;
    }
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        let got = c.query(&stmt, &[])?;
        times.push(start.elapsed());
        ensure!(got.len() == 50, "{sql} returned {} rows, not 50", got.len());
    }
    Ok(median(times))
}

fn explain(c: &mut Client, sql: &str) -> Result<String> {
    Ok(
        c.query(&format!("explain (analyze, buffers, costs off) {sql}"), &[])?
            .iter()
            .map(|r| r.get::<_, String>(0))
            .collect::<Vec<_>>()
            .join("\n"),
    )
}
