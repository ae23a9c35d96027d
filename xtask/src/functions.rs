//! `cargo xtask functions build [--release]`: compiles every edge function in `functions/` to
//! wasm32, binds it for Deno with wasm-bindgen (`--target web`) and, for release builds, shrinks
//! it with `wasm-opt` from npm `binaryen`. Outputs land in `supabase/functions/<name>/pkg/`
//! (gitignored). The gateway's own wasm, its token checks (`functions/gateway-auth`), is built
//! alongside into `xtask/gateway/pkg/`. Each step is skipped when its output is current, so a
//! build with nothing changed is quick.
//!
//! Toolchain: rustup's `wasm32-unknown-unknown` target when installed; otherwise Debian's
//! `rustc-web`/`cargo-web` with the standard library built from `rust-web-src`
//! (`-Zbuild-std`) and linked by `wasm-ld-19`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::{jwt, paths, prereq, progress};

/// The edge functions: crate `functions/<name>`, served from `supabase/functions/<name>`.
pub const FUNCTIONS: &[&str] = &[
    "process-render-request",
    "fetch-social-updates",
    "generate-ai-insights",
    "assign-leads",
    "mcp",
    "metrics",
    "social-connect",
];

/// The gateway's token and API-key checks (moha-edge's, compiled to wasm for
/// `xtask/gateway/main.ts`); built with the functions, never deployed.
pub const GATEWAY_AUTH: &str = "moha-gateway-auth";

/// Where the gateway loads [`GATEWAY_AUTH`] from (gitignored).
pub fn gateway_auth_dir() -> PathBuf {
    paths::project_root().join("xtask/gateway/pkg")
}

const TARGET: &str = "wasm32-unknown-unknown";
const DEBIAN_PACKAGES: &[&str] = &["rustc-web", "cargo-web", "rust-web-src", "lld-19"];
const DEBIAN_LINKER: &str = "wasm-ld-19";

#[derive(clap::Subcommand)]
pub enum FunctionsCommand {
    /// Compile every edge function to wasm32 and bind it for Deno.
    Build {
        /// Optimised build (and wasm-opt).
        #[arg(long)]
        release: bool,
    },
}

pub fn run(cmd: FunctionsCommand) -> Result<()> {
    match cmd {
        FunctionsCommand::Build { release } => {
            for f in build(release)? {
                eprintln!(
                    "    {:<24} {:>9} bytes  {}",
                    f.name,
                    f.wasm_bytes,
                    f.wasm.display()
                );
            }
            Ok(())
        }
    }
}

/// One built function.
#[derive(Debug, Clone)]
pub struct Built {
    pub name: &'static str,
    /// `supabase/functions/<name>/pkg/<crate>_bg.wasm`.
    pub wasm: PathBuf,
    pub wasm_bytes: u64,
}

/// How to run the wasm32 compiler.
enum Toolchain {
    Rustup,
    Debian {
        cargo: PathBuf,
        rustc: PathBuf,
        rustdoc: PathBuf,
    },
}

/// Builds every function and the gateway's checks (see the module docs) and returns where the
/// functions' modules are.
pub fn build(release: bool) -> Result<Vec<Built>> {
    let root = paths::project_root();
    let toolchain = progress::step("find a wasm32 toolchain", toolchain)?;
    let profile = if release { "release" } else { "debug" };
    progress::step(
        &format!("cargo build --target {TARGET} ({profile})"),
        || cargo_build(&root, &toolchain, release),
    )?;
    let bindgen = progress::step("wasm-bindgen CLI matching Cargo.lock", || {
        ensure_wasm_bindgen(&root)
    })?;
    let wasm_opt = if release {
        prereq::ensure_node_modules()?;
        let bin = prereq::node_bin("wasm-opt");
        if !bin.exists() {
            bail!(
                "{} is missing; run npm ci in {}",
                bin.display(),
                root.display()
            );
        }
        Some(bin)
    } else {
        None
    };
    let mut built = Vec::new();
    for &name in FUNCTIONS {
        let out_dir = paths::supabase_dir()
            .join("functions")
            .join(name)
            .join("pkg");
        let wasm = bind(
            &root,
            name,
            &out_dir,
            profile,
            &bindgen,
            wasm_opt.as_deref(),
        )?;
        let wasm_bytes = wasm.metadata()?.len();
        built.push(Built {
            name,
            wasm,
            wasm_bytes,
        });
    }
    bind(
        &root,
        GATEWAY_AUTH,
        &gateway_auth_dir(),
        profile,
        &bindgen,
        wasm_opt.as_deref(),
    )?;
    Ok(built)
}

/// Binds crate `name`'s wasm for Deno into `out_dir` (and shrinks it for release builds),
/// unless the output is current; returns the `.wasm` path.
fn bind(
    root: &Path,
    name: &str,
    out_dir: &Path,
    profile: &str,
    bindgen: &Bindgen,
    wasm_opt: Option<&Path>,
) -> Result<PathBuf> {
    let crate_file = name.replace('-', "_");
    let input = root
        .join("target/wasm")
        .join(TARGET)
        .join(profile)
        .join(format!("{crate_file}.wasm"));
    let wasm = out_dir.join(format!("{crate_file}_bg.wasm"));
    let stamp = out_dir.join(".stamp");
    let want = format!("{profile} {} {}", mtime_nanos(&input)?, bindgen.version);
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(want.as_str()) || !wasm.exists() {
        progress::step(&format!("bind {name}"), || {
            std::fs::create_dir_all(out_dir)?;
            crate::process::run_quiet(
                Command::new(&bindgen.path)
                    .args(["--target", "web", "--no-typescript", "--out-name"])
                    .arg(&crate_file)
                    .arg("--out-dir")
                    .arg(out_dir)
                    .arg(&input),
            )
        })?;
        if let Some(opt) = wasm_opt {
            progress::step(&format!("wasm-opt -Oz {name}"), || {
                crate::process::run_quiet(
                    Command::new(opt)
                        .arg("-Oz")
                        // The features rustc enables for wasm32 by default.
                        .args([
                            "--enable-bulk-memory",
                            "--enable-mutable-globals",
                            "--enable-nontrapping-float-to-int",
                            "--enable-sign-ext",
                            "--enable-reference-types",
                            "--enable-multivalue",
                        ])
                        .arg(&wasm)
                        .arg("-o")
                        .arg(&wasm),
                )
            })?;
        }
        std::fs::write(&stamp, &want)?;
    }
    Ok(wasm)
}

fn mtime_nanos(path: &Path) -> Result<u128> {
    let modified = path
        .metadata()
        .with_context(|| format!("{} was not built", path.display()))?
        .modified()?;
    Ok(modified.duration_since(std::time::UNIX_EPOCH)?.as_nanos())
}

fn toolchain() -> Result<Toolchain> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .any(|l| l.trim() == TARGET)
        })
        .unwrap_or(false);
    if installed {
        return Ok(Toolchain::Rustup);
    }
    ensure_debian_packages()?;
    let cargo = debian_binary("cargo-web", "cargo")?;
    let rustc = debian_binary("rustc-web", "rustc")?;
    let rustdoc = debian_binary("rustc-web", "rustdoc")?;
    Ok(Toolchain::Debian {
        cargo,
        rustc,
        rustdoc,
    })
}

fn ensure_debian_packages() -> Result<()> {
    let missing: Vec<&str> = DEBIAN_PACKAGES
        .iter()
        .copied()
        .filter(|p| {
            !Command::new("dpkg-query")
                .args(["-W", "-f=${Status}", p])
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let hint = format!(
        "rustup's {TARGET} target is not installed; install it (rustup target add {TARGET}) or \
         the Debian packages: apt-get install -y {}",
        DEBIAN_PACKAGES.join(" ")
    );
    if !Path::new("/usr/bin/apt-get").exists() || !crate::process::is_root() {
        bail!("{hint}");
    }
    eprintln!("\n==> will install with apt: {}", missing.join(" "));
    crate::process::run_quiet(Command::new("apt-get").arg("update")).context(hint.clone())?;
    crate::process::run_quiet(
        Command::new("apt-get")
            .args(["install", "-y", "--no-install-recommends"])
            .args(&missing)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
    .context(hint)
}

/// The `bin/<name>` that Debian package `package` installs (found with `dpkg -L`).
fn debian_binary(package: &str, name: &str) -> Result<PathBuf> {
    let out = Command::new("dpkg")
        .args(["-L", package])
        .output()
        .with_context(|| format!("cannot run dpkg -L {package}"))?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(PathBuf::from)
        .filter(|p| p.ends_with(Path::new("bin").join(name)) && p.is_file())
        // Prefer /usr/bin over helper copies elsewhere.
        .min_by_key(|p| !p.starts_with("/usr/bin"))
        .with_context(|| format!("package {package} has no bin/{name}; reinstall it"))
}

fn cargo_build(root: &Path, toolchain: &Toolchain, release: bool) -> Result<()> {
    let mut cmd = match toolchain {
        Toolchain::Rustup => {
            Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        }
        Toolchain::Debian { cargo, .. } => Command::new(cargo),
    };
    cmd.current_dir(root).args([
        "build",
        "--target",
        TARGET,
        "--target-dir",
        "target/wasm",
        "--locked",
    ]);
    for name in FUNCTIONS {
        cmd.args(["-p", name]);
    }
    cmd.args(["-p", GATEWAY_AUTH]);
    if release {
        cmd.arg("--release");
    }
    // Flags meant for the native build must not leak into this one.
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTC_WRAPPER",
        "CARGO_BUILD_TARGET",
        "RUSTUP_TOOLCHAIN",
    ] {
        cmd.env_remove(var);
    }
    if let Toolchain::Debian { rustc, rustdoc, .. } = toolchain {
        cmd.args(["-Zbuild-std=std,panic_abort"])
            // Debian's stable rustc builds its own std for wasm32 only with this switch.
            .env("RUSTC_BOOTSTRAP", "1")
            .env("RUSTC", rustc)
            .env("RUSTDOC", rustdoc)
            .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER", DEBIAN_LINKER);
    }
    crate::process::run_quiet(&mut cmd)
}

struct Bindgen {
    path: PathBuf,
    version: String,
}

/// The version of crate `name` in Cargo.lock.
fn locked_version(root: &Path, name: &str) -> Result<String> {
    let lock = std::fs::read_to_string(root.join("Cargo.lock"))?;
    let needle = format!("name = \"{name}\"\nversion = \"");
    let at = lock
        .find(&needle)
        .with_context(|| format!("{name} is not in Cargo.lock"))?
        + needle.len();
    Ok(lock[at..].split('"').next().unwrap_or_default().to_string())
}

/// wasm-bindgen's CLI must be exactly the crate's version; installs it when missing or different.
fn ensure_wasm_bindgen(root: &Path) -> Result<Bindgen> {
    let version = locked_version(root, "wasm-bindgen")?;
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .context("neither CARGO_HOME nor HOME is set")?;
    let path = cargo_home.join("bin/wasm-bindgen");
    let current = Command::new(&path)
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    if current.as_deref() != Some(format!("wasm-bindgen {version}").as_str()) {
        eprintln!(
            "\n==> installing wasm-bindgen-cli {version} (found {}); this takes a few minutes",
            current.as_deref().unwrap_or("none")
        );
        // Without --locked: the CLI's own lock file pins crates that no longer build.
        crate::process::run_quiet(
            Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
                .args(["install", "wasm-bindgen-cli", "--version", &version])
                .env_remove("RUSTUP_TOOLCHAIN"),
        )?;
    }
    Ok(Bindgen { path, version })
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
                while crate::http::read_request(&mut s, &mut pending).is_some() {
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

/// Measures P8: wasm sizes, cold start per function, and warm `assign-leads` latency through the
/// local gateway at a fixed `rate` of requests per second for `seconds`, on a throwaway database.
pub fn bench_p8(rate: u32, seconds: u32) -> Result<P8> {
    use std::time::{Duration, Instant};
    let built = build(true)?;
    let wasm_bytes = built.iter().map(|b| (b.name, b.wasm_bytes)).collect();
    let mut cold_start = Vec::new();
    for f in &built {
        let mut runs: Vec<Duration> = (0..5)
            .map(|_| cold_start_once(f.name))
            .collect::<Result<_>>()?;
        runs.sort();
        cold_start.push((f.name, runs[2]));
    }

    let t = crate::cluster::Throwaway::start()?;
    let mut owner = crate::db::connect(&t.cluster.url("postgres", "postgres"))?;
    owner.batch_execute("create database p8")?;
    crate::compat::install(&mut crate::db::connect(
        &t.cluster.url(crate::cluster::SUPERUSER, "p8"),
    )?)?;
    let url = t.cluster.url("postgres", "p8");
    crate::migrate::run_quietly(
        &url,
        &crate::migrate::Options {
            dir: paths::migrations_dir(),
            dry_run: false,
            include_all: false,
            compat: false,
        },
    )?;
    let admin = "00000000-0000-4000-a000-0000000008a1";
    // Two Sales users; the repeat path's lead is assigned already, the assigning path's leads
    // are not (one per request, referrals so the rule score has factors to explain).
    let assign_rate = 50;
    let assign_total = (assign_rate * seconds) as usize;
    let warmup = 50;
    let mut c = crate::db::connect(&url)?;
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
        port: crate::cluster::free_port()?,
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
    let port = crate::cluster::free_port()?;
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
