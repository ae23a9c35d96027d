//! `cargo xtask bench`: the project's speed targets, measured in one run and reported as ratios
//! and seconds (never asserted in tests). Results are printed as a table and appended to
//! `docs/benchmarks.md` with the date and machine.

use std::fmt::Write as _;
use std::fs;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::infra::cluster::{Throwaway, SUPERUSER};
use crate::infra::{db, paths, prereq};
use crate::{compat, migrate};

// One file per figure (or per figures measured together).
mod audit_trigger; // P6
mod auth; // P15
mod edge_functions; // P8
mod inbox; // P7
mod mcp; // P9
mod metrics; // P10
mod migrate_push; // P3
mod ops; // P11, P12
mod realtime; // P13, P14
mod render_counter; // P5
mod rls; // P1, P2
mod up; // P4

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
        figures.extend(migrate_push::p3_migrate_vs_supabase_push()?);
    }
    if wanted("P4") {
        figures.extend(up::p4_up_cold_and_warm()?);
    }
    if wanted("P8") {
        figures.extend(edge_functions::p8_edge_functions()?);
    }
    if wanted("P9") {
        figures.extend(mcp::p9_figures()?);
    }
    if wanted("P5") {
        figures.extend(render_counter::p5_render_counter()?);
    }
    if wanted("P6") {
        figures.extend(audit_trigger::p6_audit_trigger_cost()?);
    }
    if wanted("P7") {
        let (p7, plan) = inbox::p7_unified_inbox()?;
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
        figures.extend(auth::p15_figures()?);
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
    let mut request = crate::infra::http::Request::new(method, path);
    if let Some(token) = token {
        request = request.bearer(token);
    }
    let reply = request.json(body).send(port)?;
    Ok((reply.status, reply.raw))
}
