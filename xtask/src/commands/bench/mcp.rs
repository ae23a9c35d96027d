//! P9: the `mcp` function's read tool (`search_leads`) through the local gateway under a fixed
//! 200 requests a second, and the admission's share: the SHA-256 of the bearer token, the
//! transaction's opening and `agent_auth.admit` (the check by hash and the count), as the
//! function runs them.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::Figure;
use crate::infra::{cluster, db};
use crate::{functions, gateway};

pub struct P9 {
    pub p50: Duration,
    pub p99: Duration,
    pub requests: usize,
    pub rate: u32,
    /// Median of the admission alone (hash + opening + `agent_auth.admit`).
    pub check_p50: Duration,
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

pub fn p9_mcp(rate: u32, seconds: u32) -> Result<P9> {
    functions::build_release()?;
    let t = cluster::Throwaway::start()?;
    let url = super::migrated_db(&t, "p9")?;
    let mut c = db::connect(&url)?;
    // An Admin to own the agent, and 1,000 leads to search.
    c.batch_execute(
        "insert into auth.users (id, email) values ('00000000-0000-4000-a000-0000000009a1', 'p9-admin@example.com');
         update public.users u set role_id = r.id from public.roles r
          where u.id = '00000000-0000-4000-a000-0000000009a1' and r.name = 'Admin';
         insert into public.leads (client_name, source)
         select 'P9 lead ' || g, 'website' from generate_series(1, 1000) g;",
    )?;
    let issued = crate::commands::agent::create(
        &url,
        &crate::commands::agent::CreateArgs {
            name: "bench-agent".into(),
            scopes: vec!["leads:read".into()],
            ttl: None,
            owner: "p9-admin@example.com".into(),
            db_url: None,
        },
    )?;
    let token = issued.token;

    // The admission alone, as the function runs it: the opening (one simple query), then
    // `agent_auth.admit` (token check by hash and the count), rolled back so nothing is counted.
    let opening = format!(
        "begin; set local role moha_agent; select pg_catalog.set_config('request.jwt.claims', '{}', true)",
        json!({"role": "moha_agent"})
    );
    let mut checks = Vec::new();
    for _ in 0..2000 {
        let start = Instant::now();
        let hash = hex::encode(Sha256::digest(token.as_bytes()));
        c.batch_execute(&opening)?;
        let row = c.query_one(
            "select a.outcome, a.scopes from agent_auth.admit($1, 1) a",
            &[&hash],
        )?;
        let outcome: String = row.get(0);
        anyhow::ensure!(outcome == "ok", "token check: {outcome}");
        c.batch_execute("rollback")?;
        checks.push(start.elapsed());
    }
    checks.sort();
    let check_p50 = pct(&checks, 0.5);

    let state = std::env::temp_dir().join(format!("moha-p9-{}", std::process::id()));
    let gw = gateway::start(&gateway::Options {
        port: cluster::free_port()?,
        db_url: url,
        state_dir: state.clone(),
        storage_dir: state.join("storage"),
        secrets: gateway::function_secrets()?,
        exit_with_parent: true,
        signing_keys: crate::keys::SigningKeys::generate()?,
    })?;
    let port: u16 = gw
        .url
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .context("gateway url has no port")?;
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                      "params": {"name": "search_leads", "arguments": {"query": "lead 42", "limit": 20}}})
    .to_string();
    let call = || -> Result<Duration> {
        let start = Instant::now();
        let (status, reply) =
            super::http_request(port, "POST", "/functions/v1/mcp", Some(&token), &body)?;
        anyhow::ensure!(
            status == 200 && reply.contains("\"isError\":false"),
            "mcp answered {status}: {reply}"
        );
        Ok(start.elapsed())
    };
    for _ in 0..200 {
        call()?;
    }
    // Open loop, as P8: request i starts at i / rate seconds whatever the earlier ones do.
    let latencies = super::open_loop(rate, (rate * seconds) as usize, &|_| call())?;
    drop(gw);
    let _ = std::fs::remove_dir_all(&state);
    let mut sorted = latencies;
    sorted.sort();
    Ok(P9 {
        p50: pct(&sorted, 0.5),
        p99: pct(&sorted, 0.99),
        requests: sorted.len(),
        rate,
        check_p50,
    })
}

/// P9: the MCP endpoint's read tool through the gateway at 200 req/s, and the token check's
/// share of its median.
pub(super) fn p9_figures() -> Result<Vec<Figure>> {
    eprintln!("==> P9: mcp search_leads at 200 req/s, and the admission");
    let p = p9_mcp(200, 10)?;
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
