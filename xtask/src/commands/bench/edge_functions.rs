//! P8: the edge functions: wasm sizes, Deno cold start, and `assign-leads` through the local
//! gateway at a fixed rate.

use std::process::Command;

use anyhow::{Context, Result};

use super::{http_request, open_loop, Figure};
use crate::functions::build_release;
use crate::infra::{paths, prereq};
use crate::jwt;

/// P8: each edge function's wasm after wasm-opt, Deno cold start to the first answer, and
/// `assign-leads` through the local gateway: the assigning path (a new lead each request, at
/// 50 a second) apart from the repeat path (an assigned lead, at 200 a second).
pub(super) fn p8_edge_functions() -> Result<Vec<Figure>> {
    eprintln!("==> P8: edge functions (wasm size, cold start, assign-leads at 200 req/s)");
    let p = bench_p8(200, 10)?;
    let mut out = Vec::new();
    for (name, bytes) in &p.wasm_bytes {
        out.push(Figure {
            id: "P8",
            what: format!("{name} wasm after wasm-opt -Oz"),
            value: format!("{:.0} KiB", *bytes as f64 / 1024.0),
            target: "≤ 1 MiB",
        });
    }
    for (name, took) in &p.cold_start {
        out.push(Figure {
            id: "P8",
            what: format!("{name}: Deno cold start to first response (median of 5)"),
            value: format!("{:.1} ms", took.as_secs_f64() * 1e3),
            target: "≤ 100 ms",
        });
    }
    for (label, d) in [("p50", p.assign_p50), ("p99", p.assign_p99)] {
        out.push(Figure {
            id: "P8",
            what: format!(
                "assign-leads assigning a new lead {label} (workload query, model through a loopback Messages API stub, assignment and note), {} requests at {} req/s through the gateway",
                p.assign_requests, p.assign_rate
            ),
            value: format!("{:.2} ms", d.as_secs_f64() * 1e3),
            target: "—",
        });
    }
    for (label, d) in [("p50", p.warm_p50), ("p99", p.warm_p99)] {
        out.push(Figure {
            id: "P8",
            what: format!(
                "assign-leads repeat on an assigned lead {label}, {} requests at {} req/s through the gateway",
                p.requests, p.rate
            ),
            value: format!("{:.2} ms", d.as_secs_f64() * 1e3),
            target: if label == "p99" { "≤ 10 ms" } else { "—" },
        });
    }
    Ok(out)
}

/// What benchmark P8 measures (`cargo xtask bench` reports it).
#[derive(Debug, Clone)]
pub struct P8 {
    /// Each function's wasm after `wasm-opt -Oz`, in bytes.
    pub wasm_bytes: Vec<(&'static str, u64)>,
    /// Each function's Deno cold start (spawn to first response), median of five.
    pub cold_start: Vec<(&'static str, std::time::Duration)>,
    pub warm_p50: std::time::Duration,
    pub warm_p99: std::time::Duration,
    pub requests: usize,
    pub rate: u32,
    /// The assigning path: each request a new unassigned lead (workload query, the model
    /// through a loopback Messages API stub, assignment and note).
    pub assign_p50: std::time::Duration,
    pub assign_p99: std::time::Duration,
    pub assign_requests: usize,
    pub assign_rate: u32,
}

/// A loopback stand-in for Anthropic's Messages API: every request gets a `message` whose
/// text is the JSON object assign-leads asks for, with usage, as the real API answers.
fn messages_stub() -> Result<String> {
    use std::io::Write;
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}", listener.local_addr()?);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            std::thread::spawn(move || {
                let mut pending = Vec::new();
                // Keep-alive: answer each request read whole, until the client closes.
                while crate::infra::http::read_request(&mut s, &mut pending).is_some() {
                    let body = serde_json::json!({
                        "id": "msg_bench", "type": "message", "role": "assistant",
                        "model": "claude-haiku-4-5",
                        "content": [{"type": "text", "text": "{\"rationale\": \"A referral with a recent enquiry; the chosen Sales user has the lightest open workload.\"}"}],
                        "stop_reason": "end_turn", "stop_sequence": null,
                        "usage": {"input_tokens": 180, "output_tokens": 32}
                    })
                    .to_string();
                    let reply = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if s.write_all(reply.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    Ok(url)
}

/// Measures P8: wasm sizes, cold start per function, and warm `assign-leads` latency through the
/// local gateway at a fixed `rate` of requests per second for `seconds`, on a throwaway database.
pub fn bench_p8(rate: u32, seconds: u32) -> Result<P8> {
    use std::time::{Duration, Instant};
    let built = build_release()?;
    let wasm_bytes = built.iter().map(|b| (b.name, b.wasm_bytes)).collect();
    let mut cold_start = Vec::new();
    for f in &built {
        let mut runs: Vec<Duration> = (0..5)
            .map(|_| cold_start_once(f.name))
            .collect::<Result<_>>()?;
        runs.sort();
        cold_start.push((f.name, runs[2]));
    }

    let t = crate::infra::cluster::Throwaway::start()?;
    let url = super::migrated_db(&t, "p8")?;
    let admin = "00000000-0000-4000-a000-0000000008a1";
    // Two Sales users; the repeat path's lead is assigned already, the assigning path's leads
    // are not (one per request, referrals so the rule score has factors to explain).
    let assign_rate = 50;
    let assign_total = (assign_rate * seconds) as usize;
    let warmup = 50;
    let mut c = crate::infra::db::connect(&url)?;
    c.batch_execute(&format!(
        "insert into auth.users (id, email) values ('{admin}', 'p8-admin@example.com'), \
           ('00000000-0000-4000-a000-0000000008b1', 'p8-sales@example.com'), \
           ('00000000-0000-4000-a000-0000000008b2', 'p8-sales-2@example.com'); \
         update public.users u set role_id = r.id from public.roles r \
           where (u.id = '{admin}' and r.name = 'Admin') \
              or (u.id in ('00000000-0000-4000-a000-0000000008b1', '00000000-0000-4000-a000-0000000008b2') \
                  and r.name = 'Sales'); \
         insert into public.leads (id, client_name, source, assigned_to) values \
           ('00000000-0000-4000-a000-0000000008c1', 'P8 Lead', 'website', \
            '00000000-0000-4000-a000-0000000008b1'); \
         insert into public.leads (id, client_name, source) \
         select ('00000000-0000-4000-b000-' || lpad(g::text, 12, '0'))::uuid, 'P8 new lead ' || g, 'referral' \
           from generate_series(1, {}) g;",
        assign_total + warmup
    ))?;
    let state = std::env::temp_dir().join(format!("moha-p8-{}", std::process::id()));
    let mut secrets = crate::gateway::function_secrets()?;
    secrets.insert("JWT_SECRET".into(), jwt::LOCAL_JWT_SECRET.into());
    secrets.insert("ANTHROPIC_BASE_URL".into(), messages_stub()?);
    secrets.insert("ANTHROPIC_API_KEY".into(), "sk-ant-bench-stub".into());
    let gw = crate::gateway::start(&crate::gateway::Options {
        port: crate::infra::cluster::free_port()?,
        db_url: url.clone(),
        state_dir: state.clone(),
        storage_dir: state.join("storage"),
        secrets,
        exit_with_parent: true,
        signing_keys: crate::keys::SigningKeys::generate()?,
    })?;
    let port: u16 = gw
        .url
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .context("gateway url has no port")?;
    let token = jwt::sign_hs256(
        &serde_json::json!({"sub": admin, "role": "moha_admin", "aud": "authenticated",
                            "exp": chrono::Utc::now().timestamp() + 3600}),
        jwt::LOCAL_JWT_SECRET,
    );
    let post = |body: &str| -> Result<Duration> {
        let start = Instant::now();
        let (status, reply) = http_post(port, "/functions/v1/assign-leads", &token, body)?;
        anyhow::ensure!(status == 200, "assign-leads answered {status}: {reply}");
        Ok(start.elapsed())
    };
    let lead = |i: usize| format!("{{\"lead_id\":\"00000000-0000-4000-b000-{:012}\"}}", i + 1);

    // The assigning path first (warm-up leads, then the measured ones).
    for i in 0..warmup {
        post(&lead(assign_total + i))?;
    }
    let assigning = open_loop(assign_rate, assign_total, &|i| post(&lead(i)))?;
    let (model_notes, assigned): (i64, i64) = {
        let row = c.query_one(
            "select (select count(*) from public.lead_notes \
                      where note like '%Rationale (claude-haiku-4-5)%'), \
                    (select count(*) from public.leads \
                      where client_name like 'P8 new lead %' and assigned_to is not null)",
            &[],
        )?;
        (row.get(0), row.get(1))
    };
    anyhow::ensure!(
        assigned == (assign_total + warmup) as i64 && model_notes >= assigned,
        "the assigning path did not run as measured: {assigned} leads assigned, {model_notes} model rationales"
    );

    // The repeat path: the same, already assigned lead (the function answers from the row).
    let body = r#"{"lead_id":"00000000-0000-4000-a000-0000000008c1"}"#;
    for _ in 0..200 {
        post(body)?;
    }
    let total = (rate * seconds) as usize;
    let sorted = open_loop(rate, total, &|_| post(body))?;
    drop(gw);
    let _ = std::fs::remove_dir_all(&state);
    let pct = |v: &[Duration], p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
    Ok(P8 {
        wasm_bytes,
        cold_start,
        warm_p50: pct(&sorted, 0.50),
        warm_p99: pct(&sorted, 0.99),
        requests: sorted.len(),
        rate,
        assign_p50: pct(&assigning, 0.50),
        assign_p99: pct(&assigning, 0.99),
        assign_requests: assigning.len(),
        assign_rate,
    })
}

/// Spawn `deno run index.ts` to the first answered request (a CORS preflight, which every
/// function answers without the database).
fn cold_start_once(name: &str) -> Result<std::time::Duration> {
    use std::time::{Duration, Instant};
    let port = crate::infra::cluster::free_port()?;
    let dir = paths::supabase_dir().join("functions");
    let start = Instant::now();
    let mut child = Command::new(prereq::node_bin("deno"))
        .args([
            "run",
            "--no-prompt",
            "--allow-read",
            "--allow-env",
            "--allow-net",
        ])
        .arg(format!("{name}/index.ts"))
        .current_dir(&dir)
        .env("PORT", port.to_string())
        .env("HOST", "127.0.0.1")
        .env("DENO_NO_UPDATE_CHECK", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    let took = loop {
        // Any answer of the function's own: a preflight is 200 or 204 (405 from metrics, which
        // browsers never call); a 5xx is a failure, not a start.
        match http_request(port, "OPTIONS", &format!("/{name}"), None, "") {
            Ok((status, _)) if status < 500 => break Ok(start.elapsed()),
            Ok((status, reply)) => break Err(anyhow::anyhow!("{name} answered {status}: {reply}")),
            Err(_) => {}
        }
        if start.elapsed() > Duration::from_secs(30) {
            break Err(anyhow::anyhow!("{name} did not answer within 30 s"));
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    let _ = child.kill();
    let _ = child.wait();
    took
}

fn http_post(port: u16, path: &str, token: &str, body: &str) -> Result<(u16, String)> {
    http_request(port, "POST", path, Some(token), body)
}
