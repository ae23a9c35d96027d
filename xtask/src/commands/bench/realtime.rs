//! P13 and P14 (issue 18): the local Realtime endpoint on a throwaway cluster, migrated and
//! seeded, driven by `xtask/js/realtime-bench.ts` in Deno with raw websockets speaking
//! realtime-js' default protocol (2.0.0). P13: `realtime.send` committed → decoded by every
//! subscriber of one topic (1, 100, 1,000 subscribers). P14: authorised private joins per second
//! as an Admin (each join is Realtime's RLS check in a rolled-back transaction).

use std::process::Command;

use anyhow::{ensure, Context, Result};
use serde_json::{json, Value};

use super::Figure;
use crate::infra::{cluster, db, paths, prereq};
use crate::{functions, gateway, keys};

pub fn p13_p14() -> Result<Vec<Figure>> {
    eprintln!(
        "==> P13/P14: Realtime delivery latency (1, 100, 1,000 subscribers) and private joins/s"
    );
    functions::build_release()?;
    let t = cluster::Throwaway::start()?;
    let url = super::migrated_db(&t, "p13")?;
    let seed = std::fs::read_to_string(paths::supabase_dir().join("seed.sql"))?;
    db::connect(&url)?
        .batch_execute(&seed)
        .context("supabase/seed.sql")?;
    let state = std::env::temp_dir().join(format!("moha-p13-{}", std::process::id()));
    let signing = keys::SigningKeys::generate()?;
    let gw = gateway::start(&gateway::Options {
        port: cluster::free_port()?,
        db_url: url.clone(),
        state_dir: state.clone(),
        storage_dir: state.join("storage"),
        secrets: gateway::function_secrets()?,
        exit_with_parent: true,
        signing_keys: signing.clone(),
    })?;
    let admin = sql::moha::personas::USERS
        .iter()
        .find(|u| u.persona == "admin")
        .context("no admin persona")?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let token = signing.sign(&json!({
        "sub": admin.id, "role": "moha_admin", "aud": "authenticated", "email": admin.email,
        "exp": now + 3600, "app_metadata": {"provider": "email"}, "user_metadata": {},
    }))?;
    let out = Command::new(prereq::node_bin("deno"))
        .args([
            "run",
            "--no-prompt",
            "--allow-env",
            "--allow-net",
            "--allow-read",
            "xtask/js/realtime-bench.ts",
        ])
        .current_dir(paths::project_root())
        .env("DENO_NO_UPDATE_CHECK", "1")
        .env(
            "WS_URL",
            format!("{}/realtime/v1/websocket", gw.url.replace("http", "ws")),
        )
        .env("PUBLISHABLE_KEY", keys::LOCAL_PUBLISHABLE_KEY)
        .env("ACCESS_TOKEN", &token)
        .env("DB_URL", &url)
        .env("MESSAGES", "200")
        .env("JOINS", "3000")
        .output()
        .context("deno runs (node_modules/.bin/deno, installed by npm ci)")?;
    ensure!(
        out.status.success(),
        "xtask/js/realtime-bench.ts failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout)
        .with_context(|| String::from_utf8_lossy(&out.stdout).to_string())?;
    drop(gw);
    let mut figures = Vec::new();
    for level in v["p13"].as_array().context("no P13 figures")? {
        let n = level["subscribers"].as_u64().unwrap_or(0);
        figures.push(Figure {
            id: "P13",
            what: format!(
                "realtime.send committed → delivered, {n} subscriber(s) of one private topic, p50 / p99 ({} of {} deliveries)",
                level["deliveries"], level["expected"]
            ),
            value: format!(
                "{:.1} / {:.1} ms",
                level["p50_ms"].as_f64().unwrap_or(f64::NAN),
                level["p99_ms"].as_f64().unwrap_or(f64::NAN)
            ),
            target: if n == 1000 { "p99 ≤ 100 ms" } else { "measured" },
        });
    }
    let p14 = &v["p14"];
    figures.push(Figure {
        id: "P14",
        what: format!(
            "authorised private joins (RLS check each), {} joins, 64 in flight on 16 sockets; join p50 {:.1} ms, p95 {:.1} ms",
            p14["joins"],
            p14["p50_ms"].as_f64().unwrap_or(f64::NAN),
            p14["p95_ms"].as_f64().unwrap_or(f64::NAN)
        ),
        value: format!("{:.0} joins/s", p14["per_s"].as_f64().unwrap_or(f64::NAN)),
        target: "≥ 500 joins/s",
    });
    Ok(figures)
}
