//! `cargo xtask bench`: the project's speed targets, measured in one run and reported as ratios
//! and seconds (never asserted in tests). Results are printed as a table and appended to
//! `docs/benchmarks.md` with the date and machine.

use std::fmt::Write as _;
use std::fs;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};

use crate::cluster::{Throwaway, SUPERUSER};
use crate::{compat, db, migrate, paths, prereq, stack};

mod auth;
mod mcp;
mod metrics;
mod ops;
mod p8;
mod realtime;
mod rls;

/// One reported figure.
struct Figure {
    id: &'static str,
    what: String,
    value: String,
    target: &'static str,
}

#[derive(clap::Args)]
pub struct BenchArgs {
    /// Run only these benchmarks (comma-separated ids: P1 runs P1, P2 and the audit page; P3,
    /// P4, P5, P6, P7, P8, P9, P10, P11, P12, P13, P14, P15). Default: all.
    #[arg(long, value_delimiter = ',', value_name = "IDS")]
    only: Vec<String>,
}

const IDS: &[&str] = &[
    "P1", "P3", "P4", "P5", "P6", "P7", "P8", "P9", "P10", "P11", "P12", "P13", "P14", "P15",
];

pub fn run(args: BenchArgs) -> Result<()> {
    let only: Vec<String> = args.only.iter().map(|s| s.trim().to_uppercase()).collect();
    if let Some(bad) = only
        .iter()
        .find(|id| !IDS.contains(&id.as_str()) && *id != "P2")
    {
        bail!("unknown benchmark {bad}: choose from {}", IDS.join(", "));
    }
    let wanted =
        |id: &str| only.is_empty() || only.iter().any(|o| o == id || (id == "P1" && o == "P2"));
    prereq::ensure_apt()?;
    prereq::ensure_node_modules()?;
    let mut figures = Vec::new();
    let mut details = Vec::new();
    if wanted("P3") {
        figures.extend(p3_migrate_vs_supabase_push()?);
    }
    if wanted("P4") {
        figures.extend(p4_up_cold_and_warm()?);
    }
    if wanted("P8") {
        figures.extend(p8::p8_edge_functions()?);
    }
    if wanted("P9") {
        figures.extend(p9_mcp()?);
    }
    if wanted("P5") {
        figures.extend(p5_render_counter()?);
    }
    if wanted("P6") {
        figures.extend(p6_audit_trigger_cost()?);
    }
    if wanted("P7") {
        let (p7, plan) = p7_unified_inbox()?;
        figures.extend(p7);
        details.push(plan);
    }
    if wanted("P1") {
        let (rls, rls_plans) = rls::p1_p2_audit()?;
        figures.extend(rls);
        details.push(rls_plans);
    }
    if wanted("P10") {
        let (p10, plan) = metrics::p10_metrics()?;
        figures.extend(p10);
        details.push(plan);
    }
    if wanted("P11") {
        figures.extend(ops::p11_backup_restore()?);
    }
    if wanted("P12") {
        figures.extend(ops::p12_partition_upkeep()?);
    }
    if wanted("P13") || wanted("P14") {
        figures.extend(realtime::p13_p14()?);
    }
    if wanted("P15") {
        figures.extend(p15_auth()?);
    }
    report(&figures, &details)
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

/// A new database on `t` with the compat layer, as `supabase db push` would find a fresh
/// hosted project.
fn fresh_db(t: &Throwaway, name: &str) -> Result<String> {
    let mut owner = db::connect(&t.cluster.url("postgres", "postgres"))?;
    owner.batch_execute(&format!("create database \"{name}\""))?;
    let mut admin = db::connect(&t.cluster.url(SUPERUSER, name))?;
    compat::install(&mut admin)?;
    Ok(t.cluster.url("postgres", name))
}

fn timed(cmd: &mut Command) -> Result<Duration> {
    let start = Instant::now();
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {:?}", cmd.get_program()))?;
    let took = start.elapsed();
    if !out.status.success() {
        bail!(
            "{:?} failed:\n{}{}",
            cmd.get_program(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(took)
}

/// P3: migrate an empty database to head, ours versus `supabase db push`, same files, a fresh
/// database each time, median of 5.
fn p3_migrate_vs_supabase_push() -> Result<Vec<Figure>> {
    eprintln!(
        "==> P3: migrate empty → head, cargo xtask migrate vs supabase db push (5 runs each)"
    );
    let t = Throwaway::start()?;
    let exe = std::env::current_exe()?;
    let supabase = prereq::node_bin("supabase");
    let files = fs::read_dir(paths::migrations_dir())?
        .filter(|e| {
            e.as_ref()
                .map(|e| e.path().extension().is_some_and(|x| x == "sql"))
                .unwrap_or(false)
        })
        .count();
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for i in 0..5 {
        let url = fresh_db(&t, &format!("ours_{i}"))?;
        ours.push(timed(
            Command::new(&exe)
                .args(["migrate", "--db-url", &url])
                .current_dir(paths::project_root()),
        )?);
        let url = fresh_db(&t, &format!("cli_{i}"))?;
        theirs.push(timed(
            Command::new(&supabase)
                .args(["db", "push", "--db-url", &format!("{url}?sslmode=disable")])
                .current_dir(paths::project_root()),
        )?);
    }
    let (ours, theirs) = (median(ours), median(theirs));
    Ok(vec![Figure {
        id: "P3",
        what: format!("migrate empty → head ({files} files), ours / supabase db push, median of 5"),
        value: format!(
            "{:.2} ({:.0} ms / {:.0} ms)",
            ours.as_secs_f64() / theirs.as_secs_f64(),
            ours.as_secs_f64() * 1e3,
            theirs.as_secs_f64() * 1e3
        ),
        target: "≤ 1.0",
    }])
}

/// P4: the whole `up`, cold (initdb → compat → migrate → seed → gateway → every function's
/// first answer through it) and warm (already up: the same checks find everything running and
/// the functions answer), in seconds. The functions' wasm is built beforehand, as CI and a
/// developer's first build leave it; the pg_net worker (a second process, started in
/// milliseconds) is not included.
fn p4_up_cold_and_warm() -> Result<Vec<Figure>> {
    eprintln!("==> P4: up cold and warm, gateway and functions included");
    crate::functions::build_release()?;
    let root = std::env::temp_dir().join(format!("moha-bench-up-{}", std::process::id()));
    let _ = fs::remove_dir_all(&root);
    let cluster = crate::cluster::Cluster::new(root.join("db"), crate::cluster::free_port()?, true);
    let gateway_options = |db_url: String| -> Result<crate::gateway::Options> {
        Ok(crate::gateway::Options {
            port: crate::cluster::free_port()?,
            db_url,
            state_dir: root.clone(),
            storage_dir: root.join("storage"),
            secrets: crate::gateway::function_secrets()?,
            exit_with_parent: true,
            signing_keys: crate::keys::SigningKeys::generate()?,
        })
    };
    let functions_answer = |port: u16| -> Result<()> {
        for f in crate::functions::FUNCTIONS {
            let (status, reply) =
                http_request(port, "OPTIONS", &format!("/functions/v1/{f}"), None, "")?;
            // Any answer of the function's own (metrics refuses a preflight with 405).
            ensure!(status < 500, "{f} answered {status}: {reply}");
        }
        Ok(())
    };
    let start = Instant::now();
    stack::start_and_migrate(&cluster)?;
    let gw = crate::gateway::start(&gateway_options(cluster.url("postgres", "postgres"))?)?;
    let port: u16 = gw
        .url
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .context("gateway url has no port")?;
    functions_answer(port)?;
    let cold_took = start.elapsed();
    let start = Instant::now();
    let warm = stack::start_and_migrate(&cluster).and_then(|_| functions_answer(port));
    let warm_took = start.elapsed();
    drop(gw);
    let _ = cluster.stop();
    let _ = fs::remove_dir_all(&root);
    warm?;
    Ok(vec![
        Figure {
            id: "P4",
            what: "up cold: initdb → compat → migrate → seed → gateway → every function's first answer".into(),
            value: format!("{:.2} s", cold_took.as_secs_f64()),
            target: "≤ 5 s",
        },
        Figure {
            id: "P4",
            what: "up warm: already running, every function answering".into(),
            value: format!("{:.2} s", warm_took.as_secs_f64()),
            target: "fast",
        },
    ])
}

/// A fresh database on `t` with the compat layer and every migration applied; its URL as
/// `postgres`.
fn migrated_db(t: &Throwaway, name: &str) -> Result<String> {
    let url = fresh_db(t, name)?;
    let opts = migrate::Options {
        dir: paths::migrations_dir(),
        dry_run: false,
        include_all: false,
        compat: false,
    };
    migrate::run_quietly(&url, &opts)?;
    Ok(url)
}

fn percentile(mut xs: Vec<Duration>, p: f64) -> Duration {
    xs.sort();
    xs[((xs.len() - 1) as f64 * p).round() as usize]
}

/// What a load of `increment_render_counter` calls did.
#[derive(Default)]
struct Load {
    admitted: u64,
    refused: u64,
    /// From the start until the first refusal, when there was one.
    until_refused: Option<Duration>,
}

/// `clients` sessions as `service_role`, client `i` calling `increment_render_counter` for
/// `users[i % users.len()]` back to back until `for_how_long` has passed. A refusal (SQLSTATE
/// PT429) is counted; any other error fails the run.
fn render_load(
    url: &str,
    users: &[String],
    clients: usize,
    for_how_long: Duration,
) -> Result<Load> {
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(clients));
    let handles: Vec<_> = (0..clients)
        .map(|i| {
            let (url, user, barrier) = (
                url.to_string(),
                users[i % users.len()].clone(),
                barrier.clone(),
            );
            std::thread::spawn(move || -> Result<Load> {
                let mut c = db::connect(&url)?;
                c.batch_execute(
                    "set role service_role; \
                     select set_config('request.jwt.claims', '{\"role\":\"service_role\"}', false)",
                )?;
                let call = c.prepare("select public.increment_render_counter($1::text::uuid)")?;
                let mut load = Load::default();
                barrier.wait();
                let start = Instant::now();
                while start.elapsed() < for_how_long {
                    match c.query_one(&call, &[&user]) {
                        Ok(_) => load.admitted += 1,
                        Err(e) if e.code().is_some_and(|s| s.code() == "PT429") => {
                            load.refused += 1;
                            load.until_refused.get_or_insert(start.elapsed());
                        }
                        Err(e) => return Err(e).context("increment_render_counter failed"),
                    }
                }
                Ok(load)
            })
        })
        .collect();
    let mut total = Load::default();
    for h in handles {
        let load = h
            .join()
            .map_err(|_| anyhow::anyhow!("a load thread panicked"))??;
        total.admitted += load.admitted;
        total.refused += load.refused;
        total.until_refused = match (total.until_refused, load.until_refused) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    Ok(total)
}

/// P5: `increment_render_counter` under 16 concurrent clients for 10 s, twice: one user per
/// client with only per-user limits (the common case), then the same clients sharing a global
/// limit that is reached during the run (every call locks the one global counter row). Reports
/// calls per second and admitted versus the limit; the counter rows are read back, so an
/// over-admission shows even if the function's own result lied.
fn p5_render_counter() -> Result<Vec<Figure>> {
    const CLIENTS: usize = 16;
    const SECONDS: u64 = 10;
    const GLOBAL_LIMIT: i32 = 20_000;
    eprintln!("==> P5: increment_render_counter, {CLIENTS} clients × {SECONDS} s (two runs)");
    let t = Throwaway::start()?;
    let url = migrated_db(&t, "p5")?;
    let mut c = db::connect(&url)?;
    // Sign-ups as Supabase Auth makes them; the trigger creates the profiles.
    c.batch_execute(
        "insert into auth.users (id, email) \
         select gen_random_uuid(), 'p5-' || i || '@example.com' from generate_series(1, 16) i",
    )?;
    let users: Vec<String> = c
        .query("select id::text from public.users order by id", &[])?
        .iter()
        .map(|r| r.get(0))
        .collect();
    ensure!(
        users.len() == CLIENTS,
        "expected {CLIENTS} profiles, found {}",
        users.len()
    );
    // Linked to client records, as staff link portal clients: only they may spend on renders.
    c.batch_execute(
        "insert into public.clients (name, user_id) select 'p5 client', id from public.users",
    )?;
    // A per-user default no one reaches in a day.
    c.execute(
        "insert into public.agent_limits (agent, scope, max_requests, window_seconds) \
         values ('render', 'user', 100000000, 86400)",
        &[],
    )?;
    let counted = |c: &mut postgres::Client, scope_global: bool| -> Result<i64> {
        let sql = if scope_global {
            "select coalesce(sum(request_count), 0)::bigint from public.agent_usage \
             where agent = 'render' and user_id is null and project_id is null"
        } else {
            "select coalesce(sum(request_count), 0)::bigint from public.agent_usage \
             where agent = 'render' and user_id is not null"
        };
        Ok(c.query_one(sql, &[])?.get(0))
    };

    let took = Duration::from_secs(SECONDS);
    let per_user = render_load(&url, &users, CLIENTS, took)?;
    let per_user_counted = counted(&mut c, false)?;
    ensure!(
        per_user.refused == 0 && per_user_counted == per_user.admitted as i64,
        "per-user run: {} admitted, {} refused, {per_user_counted} counted",
        per_user.admitted,
        per_user.refused
    );

    c.execute(
        "insert into public.agent_limits (agent, scope, max_requests, window_seconds) \
         values ('render', 'global', $1, 86400)",
        &[&GLOBAL_LIMIT],
    )?;
    let shared = render_load(&url, &users, CLIENTS, took)?;
    let global_counted = counted(&mut c, true)?;
    let over =
        (shared.admitted as i64 - GLOBAL_LIMIT as i64).max(global_counted - GLOBAL_LIMIT as i64);
    let reached = match shared.until_refused {
        Some(t) => format!("reached after {:.1} s", t.as_secs_f64()),
        None => "not reached".into(),
    };
    // Admissions per second while the limit still admitted (all of the run if never reached).
    let admitting = shared.until_refused.unwrap_or(took).as_secs_f64();
    Ok(vec![
        Figure {
            id: "P5",
            what: format!("increment_render_counter, {CLIENTS} clients × {SECONDS} s, one user each, per-user limits"),
            value: format!("{:.0} calls/s", per_user.admitted as f64 / SECONDS as f64),
            target: "≥ 3,000 tx/s",
        },
        Figure {
            id: "P5",
            what: format!(
                "same, sharing a global limit of {GLOBAL_LIMIT} (one hot counter row)"
            ),
            value: format!(
                "{:.0} admitted/s until the limit, {:.0} calls/s overall ({} admitted, {} refused)",
                shared.admitted as f64 / admitting,
                (shared.admitted + shared.refused) as f64 / SECONDS as f64,
                shared.admitted,
                shared.refused
            ),
            target: "≥ 3,000 tx/s",
        },
        Figure {
            id: "P5",
            what: "admitted over the global limit (calls and counter row)".into(),
            value: format!(
                "{} (limit {reached}; admitted {}, counter {global_counted}, limit {GLOBAL_LIMIT})",
                over.max(0),
                shared.admitted
            ),
            target: "0",
        },
    ])
}

/// P6: 100k projects in one insert with the audit trigger, and with it disabled; median of 3
/// each, alternating, on an emptied table.
fn p6_audit_trigger_cost() -> Result<Vec<Figure>> {
    const ROWS: i64 = 100_000;
    eprintln!("==> P6: insert {ROWS} projects, audit trigger on vs off (3 runs each)");
    let t = Throwaway::start()?;
    let url = migrated_db(&t, "p6")?;
    let mut c = db::connect(&url)?;
    let insert = "insert into public.projects (title, description, category, status) \
                  select 'Project ' || i, 'A living room in oak and linen, number ' || i, \
                         'residential', 'active' \
                    from generate_series(1, $1::bigint) i";
    let (mut on, mut off) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        for audited in [true, false] {
            c.batch_execute("truncate public.projects cascade")?;
            c.batch_execute(if audited {
                "alter table public.projects enable trigger audit_insert"
            } else {
                "alter table public.projects disable trigger audit_insert"
            })?;
            c.batch_execute("checkpoint").ok();
            let start = Instant::now();
            c.execute(insert, &[&ROWS])?;
            let took = start.elapsed();
            if audited {
                on.push(took)
            } else {
                off.push(took)
            }
        }
    }
    c.batch_execute("alter table public.projects enable trigger audit_insert")?;
    let audit_rows: i64 = c
        .query_one(
            "select count(*) from public.audit_logs where table_name = 'public.projects' and action = 'insert'",
            &[],
        )?
        .get(0);
    ensure!(
        audit_rows == 3 * ROWS,
        "expected {} audit rows, found {audit_rows}",
        3 * ROWS
    );
    let (on, off) = (median(on), median(off));
    Ok(vec![Figure {
        id: "P6",
        what: format!(
            "insert {ROWS} projects (one statement), audit trigger on / off, median of 3"
        ),
        value: format!(
            "{:.2}× ({:.0} ms / {:.0} ms)",
            on.as_secs_f64() / off.as_secs_f64(),
            on.as_secs_f64() * 1e3,
            off.as_secs_f64() * 1e3
        ),
        target: "≤ 1.5×",
    }])
}

/// P7: the unified inbox, the latest 50 unread messages of 8 of 20 accounts from the last 30
/// days, on 10M `social_messages` rows spread over 12 monthly partitions,
/// 5 % unread. p50 of 200 runs of the statement PostgREST sends for
/// `?account_id=in.(...)&status=eq.unread&received_at=gte...&order=received_at.desc&limit=50`,
/// as `postgres` (RLS cost is P1's subject), and of the `inbox` RPC that returns the same rows.
/// Returns the figures and the query plan.
fn p7_unified_inbox() -> Result<(Vec<Figure>, String)> {
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

fn machine() -> String {
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown cpu".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    format!("{cores} cores, {cpu}")
}

/// `details`: text shown after the table (query plans), each as a code block.
fn report(figures: &[Figure], details: &[String]) -> Result<()> {
    let mut table = String::from("| id | figure | measured | target |\n|---|---|---|---|\n");
    for f in figures {
        writeln!(
            table,
            "| {} | {} | {} | {} |",
            f.id, f.what, f.value, f.target
        )?;
    }
    for d in details {
        write!(table, "\n```text\n{}\n```\n", d.trim_end())?;
    }
    println!("{table}");
    let path = paths::project_root().join("docs/benchmarks.md");
    let mut text = fs::read_to_string(&path).unwrap_or_else(|_| {
        "# Benchmarks\n\nAppended by `cargo xtask bench`; each section is one run on one machine.\n"
            .to_string()
    });
    write!(
        text,
        "\n## {} — {}\n\n{table}",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        machine()
    )?;
    fs::write(&path, text)?;
    eprintln!("appended to {}", path.display());
    Ok(())
}

/// P15: the local Auth API's password sign-in at bcrypt cost 10 and its refresh grant.
fn p15_auth() -> Result<Vec<Figure>> {
    eprintln!("==> P15: Auth password sign-in and refresh through the gateway");
    let p = auth::p15_auth(50, 200)?;
    Ok(vec![
        Figure {
            id: "P15",
            what: format!(
                "POST /auth/v1/token?grant_type=password p50, {} sign-ins one after another (bcrypt hash {}, hook on)",
                p.sign_ins, p.bcrypt_cost
            ),
            value: format!("{:.1} ms", p.sign_in_p50.as_secs_f64() * 1e3),
            target: "measured (bcrypt cost 10 dominates)",
        },
        Figure {
            id: "P15",
            what: format!(
                "POST /auth/v1/token?grant_type=refresh_token p50, {} rotations of one session (hook on)",
                p.refreshes
            ),
            value: format!("{:.1} ms", p.refresh_p50.as_secs_f64() * 1e3),
            target: "measured",
        },
    ])
}

/// P9: the MCP endpoint's read tool through the gateway at 200 req/s, and the token check's
/// share of its median.
fn p9_mcp() -> Result<Vec<Figure>> {
    eprintln!("==> P9: mcp search_leads at 200 req/s, and the admission");
    let p = mcp::p9_mcp(200, 10)?;
    let mut out = Vec::new();
    for (label, d) in [("p50", p.p50), ("p99", p.p99)] {
        out.push(Figure {
            id: "P9",
            what: format!(
                "mcp tools/call search_leads {label}, {} requests at {} req/s through the gateway",
                p.requests, p.rate
            ),
            value: format!("{:.2} ms", d.as_secs_f64() * 1e3),
            target: if label == "p99" { "≤ 15 ms" } else { "—" },
        });
    }
    out.push(Figure {
        id: "P9",
        what: "admission (SHA-256, opening, agent_auth.admit: token check and count) p50, and its share of the call's p50".into(),
        value: format!(
            "{:.3} ms ({:.0} %)",
            p.check_p50.as_secs_f64() * 1e3,
            100.0 * p.check_p50.as_secs_f64() / p.p50.as_secs_f64()
        ),
        target: "—",
    });
    Ok(out)
}

/// Open loop: request i starts at i / rate seconds whatever the earlier ones do, so slow
/// answers cannot lower the offered load. The latencies, sorted.
pub(crate) fn open_loop(
    rate: u32,
    total: usize,
    call: &(dyn Fn(usize) -> Result<std::time::Duration> + Sync),
) -> Result<Vec<std::time::Duration>> {
    use std::time::{Duration, Instant};
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate));
    let workers = 32;
    let begin = Instant::now() + Duration::from_millis(50);
    let mut latencies: Vec<Duration> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                s.spawn(move || -> Result<Vec<Duration>> {
                    let mut out = Vec::new();
                    for i in (w..total).step_by(workers) {
                        let at = begin + interval * i as u32;
                        if let Some(wait) = at.checked_duration_since(Instant::now()) {
                            std::thread::sleep(wait);
                        }
                        out.push(call(i)?);
                    }
                    Ok(out)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a load thread panicked"))
            .collect::<Result<Vec<_>>>()
            .map(|v| v.into_iter().flatten().collect())
    })?;
    latencies.sort();
    Ok(latencies)
}

/// One JSON request on a new loopback connection; the status and the raw reply.
pub(crate) fn http_request(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> Result<(u16, String)> {
    let mut request = crate::http::Request::new(method, path);
    if let Some(token) = token {
        request = request.bearer(token);
    }
    let reply = request.json(body).send(port)?;
    Ok((reply.status, reply.raw))
}
