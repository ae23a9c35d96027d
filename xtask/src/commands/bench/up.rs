//! P4: the whole `up`, cold and warm.

use std::fs;
use std::time::Instant;

use anyhow::{ensure, Context, Result};

use super::{http_request, Figure};
use crate::commands::stack;

/// P4: the whole `up`, cold (initdb → compat → migrate → seed → gateway → every function's
/// first answer through it) and warm (already up: the same checks find everything running and
/// the functions answer), in seconds. The functions' wasm is built beforehand, as CI and a
/// developer's first build leave it; the pg_net worker (a second process, started in
/// milliseconds) is not included.
pub(super) fn p4_up_cold_and_warm() -> Result<Vec<Figure>> {
    eprintln!("==> P4: up cold and warm, gateway and functions included");
    crate::functions::build_release()?;
    let root = std::env::temp_dir().join(format!("moha-bench-up-{}", std::process::id()));
    let _ = fs::remove_dir_all(&root);
    let cluster = crate::infra::cluster::Cluster::new(
        root.join("db"),
        crate::infra::cluster::free_port()?,
        true,
    );
    let gateway_options = |db_url: String| -> Result<crate::gateway::Options> {
        Ok(crate::gateway::Options {
            port: crate::infra::cluster::free_port()?,
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
