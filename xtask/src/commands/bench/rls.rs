//! P1, P2 and the audit-page figure: what row level security costs on real volumes.
//!
//! One throwaway cluster, a migrated database, 50 Sales users, 1M leads spread evenly over them
//! (statuses uniform, so two thirds are open) and 1M audit rows. Every query is timed as the
//! median of 200 runs of a prepared statement (after 20 to warm up) on a session that has
//! already switched role and claims, as PostgREST's pooled connections do. The Sales page's
//! variants (the guard options of issue 20, no guard, the explicit WHERE) take turns in 10
//! rounds of 100 runs each, so load on the shared machine falls on all of them alike.

use std::time::{Duration, Instant};

use anyhow::{ensure, Result};
use postgres::Client;

use super::{median, migrated_db, Figure};
use crate::infra::cluster::{Throwaway, SUPERUSER};
use crate::infra::db;

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

/// The ways to keep the stale-token protection (issue 20), each as the Sales page's policy for a
/// role of its own on the same `public.leads`, so every option reads the same rows and index.
/// Option 1 is the project's policy (`leads_select_moha_sales`), measured as `moha_sales`.
/// Each role is NOLOGIN, a member of `authenticated`, with only `select` on leads.
const GUARD_OPTIONS_SQL: &str = "\
     create function authz.p1_has_role_sql(role_name text) returns boolean \
       language sql stable security definer set search_path = pg_catalog, pg_temp as $f$ \
       select coalesce((select r.name = role_name from public.users u \
                          join public.roles r on r.id = u.role_id \
                         where u.id = (select private.uid())), false) $f$; \
     alter table public.users add column role_version integer not null default 1; \
     create function private.p1_bump_role_version() returns trigger language plpgsql \
       set search_path = pg_catalog, pg_temp as $f$ \
       begin new.role_version := old.role_version + 1; return new; end $f$; \
     create trigger p1_role_version before update of role_id on public.users for each row \
       when (old.role_id is distinct from new.role_id) execute function private.p1_bump_role_version(); \
     create function authz.p1_role_version_current() returns boolean \
       language sql stable security definer set search_path = pg_catalog, pg_temp as $f$ \
       select exists (select 1 from public.users u where u.id = (select private.uid()) \
          and u.role_version = (nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb \
                                ->> 'role_version')::integer) $f$; \
     create function authz.p1_role_version_current_plpgsql() returns boolean \
       language plpgsql stable security definer set search_path = pg_catalog, pg_temp as $f$ \
       begin return exists (select 1 from public.users u where u.id = (select private.uid()) \
          and u.role_version = (nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb \
                                ->> 'role_version')::integer); end $f$; \
     revoke all on function authz.p1_role_version_current_plpgsql() from public; \
     grant execute on function authz.p1_role_version_current_plpgsql() to authenticated; \
     create role p1_role_version_plpgsql nologin in role authenticated; \
     grant p1_role_version_plpgsql to postgres; \
     grant select on public.leads to p1_role_version_plpgsql; \
     create policy leads_p1_role_version_plpgsql on public.leads for select to p1_role_version_plpgsql \
       using ((select authz.p1_role_version_current_plpgsql()) and assigned_to = (select auth.uid())); \
     revoke all on function authz.p1_has_role_sql(text) from public; \
     revoke all on function authz.p1_role_version_current() from public; \
     grant execute on function authz.p1_has_role_sql(text) to authenticated; \
     grant execute on function authz.p1_role_version_current() to authenticated; \
     create role p1_sql_definer nologin in role authenticated; \
     create role p1_inline nologin in role authenticated; \
     create role p1_role_version nologin in role authenticated; \
     grant p1_sql_definer, p1_inline, p1_role_version to postgres; \
     grant select on public.leads to p1_sql_definer, p1_inline, p1_role_version; \
     create policy leads_p1_sql_definer on public.leads for select to p1_sql_definer \
       using ((select authz.p1_has_role_sql('Sales')) and assigned_to = (select auth.uid())); \
     create policy leads_p1_inline on public.leads for select to p1_inline \
       using ((select exists (select 1 from public.users u join public.roles r on r.id = u.role_id \
                               where u.id = (select auth.uid()) and r.name = 'Sales')) \
              and assigned_to = (select auth.uid())); \
     create policy leads_p1_role_version on public.leads for select to p1_role_version \
       using ((select authz.p1_role_version_current()) and assigned_to = (select auth.uid()));";

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
    let sales_claims = signed_in(&url, &sales, "moha_sales")?;
    let as_role = |role: &str, extra: Option<(&str, serde_json::Value)>| -> Result<Client> {
        let mut c = sales_claims.clone();
        c["role"] = role.into();
        if let Some((k, v)) = extra {
            c[k] = v;
        }
        session(&url, &c)
    };
    // What the access token hook would add for option 4: the user's role version at issue.
    let version: i32 = owner
        .query_one(
            "select role_version from public.users where id = $1::text::uuid",
            &[&sales],
        )?
        .get(0);
    // The explicit WHERE reading the user from the claims, as `postgres` (which bypasses RLS):
    // what `auth.uid()` costs apart from the policy.
    let mut as_bypass = as_role("postgres", None)?;
    let mut as_sql_definer = as_role("p1_sql_definer", None)?;
    let mut as_inline = as_role("p1_inline", None)?;
    let mut as_versioned = as_role("p1_role_version", Some(("role_version", version.into())))?;
    let mut as_versioned_plpgsql = as_role(
        "p1_role_version_plpgsql",
        Some(("role_version", version.into())),
    )?;
    // A token issued before a role change carries the old version: option 4 must show it nothing.
    let mut as_stale_version = as_role(
        "p1_role_version",
        Some(("role_version", (version - 1).into())),
    )?;

    let rls_sql = page("public.leads", "");
    let explicit_sql = page(
        "public.leads",
        &format!(" and assigned_to = '{sales}'::uuid"),
    );
    let claims_sql = page("public.leads", " and assigned_to = (select auth.uid())");
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
    ensure!(
        ids(&mut as_bypass, &claims_sql)? == expected,
        "the explicit WHERE on the claims' user returned other rows"
    );
    for (name, c) in [
        ("SQL definer", &mut as_sql_definer),
        ("inline subquery", &mut as_inline),
        ("role version", &mut as_versioned),
        ("role version (PL/pgSQL)", &mut as_versioned_plpgsql),
    ] {
        ensure!(
            ids(c, &rls_sql)? == expected,
            "the {name} guard returned other rows"
        );
    }
    ensure!(
        ids(&mut as_stale_version, &rls_sql)?.is_empty(),
        "the role version guard let a stale token's version through"
    );

    // The options side by side: interleaved rounds, so the machine's load (2 shared cores) falls
    // on every option alike.
    let [rls, explicit, claims, unguarded, sql_definer, inline, versioned, versioned_plpgsql] =
        interleaved(
            [
                (&mut as_sales, rls_sql.as_str()),
                (&mut as_service, explicit_sql.as_str()),
                (&mut as_bypass, claims_sql.as_str()),
                (
                    &mut as_sales_unguarded(&url, &sales_claims)?,
                    unguarded_sql.as_str(),
                ),
                (&mut as_sql_definer, rls_sql.as_str()),
                (&mut as_inline, rls_sql.as_str()),
                (&mut as_versioned, rls_sql.as_str()),
                (&mut as_versioned_plpgsql, rls_sql.as_str()),
            ],
            10,
            100,
        )?;
    // Tens of seconds a run: three are enough to show the order of magnitude.
    let naive = runs(&mut as_sales, &naive_sql, 3)?;
    let audit_rls = runs(&mut as_admin, AUDIT_PAGE, 200)?;
    let audit_plain = runs(&mut as_service, AUDIT_PAGE, 200)?;

    let mut plans = String::new();
    for (title, who, sql) in [
        ("P1 ours, as sales (RLS)", 0, rls_sql.as_str()),
        ("P1 service_role, explicit WHERE", 1, explicit_sql.as_str()),
        ("P2 plan's policy style, as sales", 0, naive_sql.as_str()),
        ("P1 option 2, SQL definer guard", 3, rls_sql.as_str()),
        ("P1 option 3, inline subquery guard", 4, rls_sql.as_str()),
        ("P1 option 4, role version guard", 5, rls_sql.as_str()),
        ("audit page as admin (RLS)", 2, AUDIT_PAGE),
        ("audit page as service_role", 1, AUDIT_PAGE),
    ] {
        let c = [
            &mut as_sales,
            &mut as_service,
            &mut as_admin,
            &mut as_sql_definer,
            &mut as_inline,
            &mut as_versioned,
        ]
        .into_iter()
        .nth(who)
        .expect("six sessions");
        plans.push_str(&format!("-- {title}\n{}\n", explain(c, sql)?));
    }

    // Every option keeps the stale-token protection: once an Admin demotes the user, the same
    // sessions (claims of a token issued before) see none of the leads.
    owner.execute(
        "update public.users set role_id = (select id from public.roles where name = 'Client') \
          where id = $1::text::uuid",
        &[&sales],
    )?;
    for (name, c) in [
        ("today's guard", &mut as_sales),
        ("SQL definer", &mut as_sql_definer),
        ("inline subquery", &mut as_inline),
        ("role version", &mut as_versioned),
        ("role version (PL/pgSQL)", &mut as_versioned_plpgsql),
    ] {
        ensure!(
            ids(c, &rls_sql)?.is_empty(),
            "after the demotion, the {name} guard still showed the stale token its leads"
        );
    }

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    Ok((
        vec![
            Figure {
                id: "P1",
                what: format!(
                    "Sales user's 50 newest open leads ({LEADS} leads, {SALES_USERS} users): RLS / service_role with explicit WHERE, median of 1000 (interleaved)"
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
                what: "same page without the role guard (the token's role alone; a demotion would wait for the token to expire): RLS / explicit, median of 1000 (interleaved)".into(),
                value: format!(
                    "{:.2} ({:.3} ms / {:.3} ms)",
                    ratio(unguarded, explicit),
                    ms(unguarded),
                    ms(explicit)
                ),
                target: "— (not our policy)",
            },
            Figure {
                id: "P1",
                what: "same page, no RLS (as postgres) but the explicit WHERE's user read from the claims, `assigned_to = (select auth.uid())`: / explicit with the id written out, median of 1000 (interleaved)".into(),
                value: format!(
                    "{:.2} ({:.3} ms / {:.3} ms)",
                    ratio(claims, explicit),
                    ms(claims),
                    ms(explicit)
                ),
                target: "— (a breakdown)",
            },
            guard_figure(
                "option 2: the same check as a `language sql stable security definer` function",
                sql_definer,
                explicit,
            ),
            guard_figure(
                "option 3: the check inlined in the policy (subquery on users/roles, as the caller under their RLS)",
                inline,
                explicit,
            ),
            guard_figure(
                "option 4: per-user role_version in the token (hook), compared by a SQL definer function",
                versioned,
                explicit,
            ),
            guard_figure(
                "option 4 with the comparison in a PL/pgSQL definer function",
                versioned_plpgsql,
                explicit,
            ),
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

/// A P1 figure for one guard option: the Sales page under it against the explicit WHERE.
fn guard_figure(what: &str, d: Duration, explicit: Duration) -> Figure {
    Figure {
        id: "P1",
        what: format!("same page, guard {what}: RLS / explicit, median of 1000 (interleaved)"),
        value: format!(
            "{:.2} ({:.3} ms / {:.3} ms)",
            d.as_secs_f64() / explicit.as_secs_f64(),
            d.as_secs_f64() * 1e3,
            explicit.as_secs_f64() * 1e3
        ),
        target: "— (an option)",
    }
}

/// A second Sales session for the unguarded copy: one session per timed query keeps each
/// prepared statement's plan cache its own.
fn as_sales_unguarded(url: &str, claims: &serde_json::Value) -> Result<Client> {
    session(url, claims)
}

/// The median of each query over `rounds` rounds of `per_round` runs, the queries taking turns
/// round by round (after 20 runs each to warm up); each run checked to return 50 rows.
fn interleaved<const N: usize>(
    queries: [(&mut Client, &str); N],
    rounds: usize,
    per_round: usize,
) -> Result<[Duration; N]> {
    let mut prepared = Vec::with_capacity(N);
    for (c, sql) in queries {
        let stmt = c.prepare(sql)?;
        for _ in 0..20 {
            c.query(&stmt, &[])?;
        }
        prepared.push((c, stmt, sql, Vec::with_capacity(rounds * per_round)));
    }
    for _ in 0..rounds {
        for (c, stmt, sql, times) in prepared.iter_mut() {
            for _ in 0..per_round {
                let start = Instant::now();
                let got = c.query(&*stmt, &[])?;
                times.push(start.elapsed());
                ensure!(got.len() == 50, "{sql} returned {} rows, not 50", got.len());
            }
        }
    }
    let mut out = [Duration::ZERO; N];
    for (o, (_, _, _, times)) in out.iter_mut().zip(prepared) {
        *o = median(times);
    }
    Ok(out)
}

/// The claims of `user`'s access token, through the project's access token hook as Supabase
/// Auth issues them; the hook must give the role `expected`.
fn signed_in(url: &str, user: &str, expected: &str) -> Result<serde_json::Value> {
    let claims = crate::commands::token::access_token_hook(
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
         {GUARD_OPTIONS_SQL} \
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
