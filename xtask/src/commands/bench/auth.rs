//! P15: the local Auth API (issue 19) through the gateway: password sign-in at Auth's bcrypt cost
//! (10), and a refresh-token grant, each one request after another on a migrated database, with
//! the custom access token hook on as config.toml has it.

use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use serde_json::{json, Value};

use super::Figure;
use crate::infra::{cluster, db};
use crate::{functions, gateway, keys};

pub struct P15 {
    pub sign_in_p50: Duration,
    pub sign_ins: usize,
    pub refresh_p50: Duration,
    pub refreshes: usize,
    /// The cost in the stored hash (`$2a$10$...`), read back to show what was measured.
    pub bcrypt_cost: String,
}

fn post(port: u16, path: &str, body: &Value) -> Result<(u16, Value)> {
    let body = body.to_string();
    let reply = crate::infra::http::Request::new("POST", path)
        .header("apikey", keys::LOCAL_PUBLISHABLE_KEY)
        .json(&body)
        .send(port)?;
    let json = reply
        .raw
        .split_once("\r\n\r\n")
        .map(|(_, b)| serde_json::from_str(b).unwrap_or(Value::Null))
        .unwrap_or(Value::Null);
    Ok((reply.status, json))
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

pub fn p15_auth(sign_ins: usize, refreshes: usize) -> Result<P15> {
    functions::build_release()?;
    let t = cluster::Throwaway::start()?;
    let url = super::migrated_db(&t, "p15")?;
    let state = std::env::temp_dir().join(format!("moha-p15-{}", std::process::id()));
    let gw = gateway::start(&gateway::Options {
        port: cluster::free_port()?,
        db_url: url.clone(),
        state_dir: state.clone(),
        storage_dir: state.join("storage"),
        secrets: gateway::function_secrets()?,
        exit_with_parent: true,
        signing_keys: keys::SigningKeys::generate()?,
    })?;
    let port: u16 = gw
        .url
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .context("gateway url has no port")?;
    let creds = json!({"email": "p15@example.com", "password": "p15 bench password"});
    let (status, reply) = post(port, "/auth/v1/signup", &creds)?;
    ensure!(status == 200, "sign-up answered {status}: {reply}");
    let bcrypt_cost: String = db::connect(&url)?
        .query_one(
            "select substr(encrypted_password, 1, 7) from auth.users where email = 'p15@example.com'",
            &[],
        )?
        .get(0);

    let sign_in = || -> Result<(Duration, Value)> {
        let start = Instant::now();
        let (status, reply) = post(port, "/auth/v1/token?grant_type=password", &creds)?;
        let took = start.elapsed();
        ensure!(status == 200, "sign-in answered {status}: {reply}");
        Ok((took, reply))
    };
    for _ in 0..5 {
        sign_in()?;
    }
    let mut times = Vec::new();
    let mut last = Value::Null;
    for _ in 0..sign_ins {
        let (took, reply) = sign_in()?;
        times.push(took);
        last = reply;
    }
    let sign_in_p50 = median(times);

    // One session's chain of refreshes, each with the token the previous one returned.
    let mut refresh_token = last["refresh_token"]
        .as_str()
        .context("no refresh token")?
        .to_string();
    let mut times = Vec::new();
    for i in 0..refreshes + 5 {
        let start = Instant::now();
        let (status, reply) = post(
            port,
            "/auth/v1/token?grant_type=refresh_token",
            &json!({ "refresh_token": refresh_token }),
        )?;
        let took = start.elapsed();
        ensure!(status == 200, "refresh answered {status}: {reply}");
        refresh_token = reply["refresh_token"]
            .as_str()
            .context("no refresh token")?
            .to_string();
        if i >= 5 {
            times.push(took);
        }
    }
    drop(gw);
    let _ = std::fs::remove_dir_all(&state);
    Ok(P15 {
        sign_in_p50,
        sign_ins,
        refresh_p50: median(times),
        refreshes,
        bcrypt_cost,
    })
}

/// P15: the local Auth API's password sign-in at bcrypt cost 10 and its refresh grant.
pub(super) fn p15_figures() -> Result<Vec<Figure>> {
    eprintln!("==> P15: Auth password sign-in and refresh through the gateway");
    let p = p15_auth(50, 200)?;
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
