//! P5: `increment_render_counter` under concurrent clients.

use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};

use super::{migrated_db, Figure};
use crate::infra::cluster::Throwaway;
use crate::infra::db;

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
pub(super) fn p5_render_counter() -> Result<Vec<Figure>> {
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
