//! `cargo xtask bench`: the project's speed targets, measured in one run and reported as ratios
//! and seconds (never asserted in tests). Results are printed as a table and appended to
//! `docs/benchmarks.md` with the date and machine.

use std::fmt::Write as _;
use std::fs;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::cluster::{Throwaway, SUPERUSER};
use crate::{compat, db, paths, prereq, stack};

/// One reported figure.
struct Figure {
    id: &'static str,
    what: String,
    value: String,
    target: &'static str,
}

pub fn run() -> Result<()> {
    prereq::ensure_apt(true)?;
    prereq::ensure_node_modules()?;
    let mut figures = Vec::new();
    figures.extend(p3_migrate_vs_supabase_push()?);
    figures.extend(p4_up_cold_and_warm()?);
    figures.extend(p8_edge_functions()?);
    report(&figures)
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

/// P4: `up` cold (initdb → compat → migrate → seed) and warm (already up), in seconds.
fn p4_up_cold_and_warm() -> Result<Vec<Figure>> {
    eprintln!("==> P4: up cold and warm");
    let root = std::env::temp_dir().join(format!("moha-bench-up-{}", std::process::id()));
    let _ = fs::remove_dir_all(&root);
    let cluster = crate::cluster::Cluster::new(&root, crate::cluster::free_port()?, true);
    let start = Instant::now();
    let cold = stack::start_and_migrate(&cluster);
    let cold_took = start.elapsed();
    let start = Instant::now();
    let warm = cold.and_then(|_| stack::start_and_migrate(&cluster));
    let warm_took = start.elapsed();
    let _ = cluster.stop();
    let _ = fs::remove_dir_all(&root);
    warm?;
    Ok(vec![
        Figure {
            id: "P4",
            what: "up cold: initdb → compat → migrate → seed".into(),
            value: format!("{:.2} s", cold_took.as_secs_f64()),
            target: "≤ 5 s",
        },
        Figure {
            id: "P4",
            what: "up warm: already running".into(),
            value: format!("{:.2} s", warm_took.as_secs_f64()),
            target: "fast",
        },
    ])
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

fn report(figures: &[Figure]) -> Result<()> {
    let mut table = String::from("| id | figure | measured | target |\n|---|---|---|---|\n");
    for f in figures {
        writeln!(
            table,
            "| {} | {} | {} | {} |",
            f.id, f.what, f.value, f.target
        )?;
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

/// P8: each edge function's wasm after wasm-opt, Deno cold start to the first answer, and warm
/// `assign-leads` latency through the local gateway under a fixed 200 requests a second.
fn p8_edge_functions() -> Result<Vec<Figure>> {
    eprintln!("==> P8: edge functions (wasm size, cold start, assign-leads at 200 req/s)");
    let p = crate::functions::bench_p8(200, 10)?;
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
    for (label, d) in [("p50", p.warm_p50), ("p99", p.warm_p99)] {
        out.push(Figure {
            id: "P8",
            what: format!(
                "assign-leads warm {label}, {} requests at {} req/s through the gateway",
                p.requests, p.rate
            ),
            value: format!("{:.2} ms", d.as_secs_f64() * 1e3),
            target: if label == "p99" { "≤ 10 ms" } else { "—" },
        });
    }
    Ok(out)
}
