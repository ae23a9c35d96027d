//! The local API gateway on 127.0.0.1:54321, as `supabase start` serves a project's API:
//! `/functions/v1/<name>` (each function in its own Deno process), the Storage API subset backed
//! by `.local/storage` with the real `storage.objects` RLS, Supabase Auth at `/auth/v1`
//! (`xtask/gateway/authApi.ts`, configured by [`crate::auth_api`]) and the JWKS of the stack's
//! signing keys. It takes the publishable and secret API keys and the legacy JWT keys, and checks them
//! with the functions' own code (`functions/gateway-auth`). The program is
//! `xtask/gateway/main.ts`; this module configures, starts and stops it.
//!
//! The gateway runs in its own process group with its function processes, so stopping it is one
//! signal to that group, found from `.local/gateway.pid`.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::net::TcpListener;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::Serialize;

pub use crate::function_env::{function_secrets, parse_env};
use crate::infra::{paths, prereq, progress};
use crate::keys::{self, SigningKeys};
use crate::{functions, jwt};

/// Supabase's local API port.
pub const DEFAULT_PORT: u16 = 54321;

/// How to run a gateway.
#[derive(Debug, Clone)]
pub struct Options {
    pub port: u16,
    /// The database the functions and Storage use (`SUPABASE_DB_URL`), as role `postgres`.
    pub db_url: String,
    /// Holds the gateway's config file and log.
    pub state_dir: PathBuf,
    /// The Storage API's bytes, one folder per bucket.
    pub storage_dir: PathBuf,
    /// Function secrets (`supabase/functions/.env`), with any overrides already applied.
    pub secrets: BTreeMap<String, String>,
    /// Stop the gateway when the process that started it exits (tests and benchmarks).
    pub exit_with_parent: bool,
    /// The keys that sign users' access tokens; their public halves are the JWKS.
    pub signing_keys: SigningKeys,
}

impl Options {
    /// The local stack's gateway: port 54321, state under `.local/`, secrets from
    /// `supabase/functions/.env`.
    pub fn local(db_url: String) -> Result<Options> {
        Ok(Options {
            port: DEFAULT_PORT,
            db_url,
            state_dir: paths::local_dir(),
            storage_dir: paths::local_dir().join("storage"),
            secrets: {
                let mut secrets = function_secrets()?;
                // The secret the local stack's scheduled calls send (issue 17).
                secrets.insert(
                    crate::schedules::SECRET_VAR.into(),
                    crate::schedules::local_secret()?,
                );
                // The metrics function's bearer secret (issue 21).
                secrets.insert(
                    crate::metrics::SECRET_VAR.into(),
                    crate::metrics::local_secret()?,
                );
                secrets
            },
            exit_with_parent: false,
            signing_keys: keys::local()?,
        })
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FunctionSpec {
    pub name: String,
    /// Absolute path of the function's `index.ts`.
    pub entry: String,
    pub verify_jwt: bool,
}

/// The enabled functions of `supabase/config.toml` with their `verify_jwt` (default true, as
/// the Supabase CLI has it).
pub fn function_specs(config_toml: &str, functions_dir: &Path) -> Result<Vec<FunctionSpec>> {
    let doc: toml::Table = config_toml
        .parse()
        .context("supabase/config.toml is not TOML")?;
    let Some(table) = doc.get("functions").and_then(|f| f.as_table()) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (name, f) in table {
        let get_bool = |key: &str| f.get(key).and_then(|v| v.as_bool());
        if get_bool("enabled") == Some(false) {
            continue;
        }
        let entry = match f.get("entrypoint").and_then(|v| v.as_str()) {
            Some(e) => functions_dir.join("..").join(e),
            None => functions_dir.join(name).join("index.ts"),
        };
        out.push(FunctionSpec {
            name: name.clone(),
            entry: entry.to_string_lossy().into_owned(),
            verify_jwt: get_bool("verify_jwt").unwrap_or(true),
        });
    }
    Ok(out)
}

/// What the gateway's checks (`moha_edge::gateway`) are configured with.
#[derive(Serialize)]
struct AuthConfig<'a> {
    jwt_secret: &'a str,
    jwks: serde_json::Value,
    publishable_keys: BTreeMap<&'static str, &'static str>,
    secret_keys: BTreeMap<&'static str, &'static str>,
    audience: &'a str,
}

/// The wasm module of the gateway's checks.
#[derive(Serialize)]
struct AuthModule {
    js: String,
    wasm: String,
}

#[derive(Serialize)]
struct GatewayConfig<'a> {
    host: &'a str,
    port: u16,
    db_url: &'a str,
    jwt_secret: &'a str,
    /// Legacy keys, given to functions as hosted does (`SUPABASE_ANON_KEY`, ...).
    anon_key: String,
    service_role_key: String,
    auth: AuthConfig<'a>,
    auth_module: AuthModule,
    storage_dir: String,
    deno: String,
    functions: Vec<FunctionSpec>,
    function_env: &'a BTreeMap<String, String>,
    exit_with_parent: bool,
    user_roles: Vec<&'static str>,
    /// The local Auth API's settings and signing key (xtask/gateway/authApi.ts).
    auth_api: crate::auth_api::AuthSettings,
}

/// A started gateway. Dropping it stops the gateway and its functions.
pub struct Gateway {
    child: Option<Child>,
    pid: u32,
    pub url: String,
}

impl Gateway {
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Leaves the gateway running after this handle is gone (for `cargo xtask up`).
    pub fn detach(mut self) -> u32 {
        self.child = None;
        self.pid
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = stop_group(self.pid);
            let _ = child.wait();
        }
    }
}

/// Builds the functions (incremental) and starts the gateway; returns once every function
/// answers.
pub fn start(opts: &Options) -> Result<Gateway> {
    prereq::ensure_node_modules()?;
    functions::build_release()?;
    if TcpListener::bind(("127.0.0.1", opts.port)).is_err() {
        bail!(
            "port {} is taken; stop what holds it (cargo xtask down stops an old gateway)",
            opts.port
        );
    }
    let config_toml = fs::read_to_string(paths::supabase_dir().join("config.toml"))?;
    let specs = function_specs(&config_toml, &paths::supabase_dir().join("functions"))?;
    fs::create_dir_all(&opts.state_dir)?;
    fs::create_dir_all(&opts.storage_dir)?;
    let secret = opts
        .secrets
        .get("JWT_SECRET")
        .map(String::as_str)
        .unwrap_or(jwt::LOCAL_JWT_SECRET);
    let module = functions::gateway_auth_dir();
    let crate_file = functions::GATEWAY_AUTH.replace('-', "_");
    let config = GatewayConfig {
        host: "127.0.0.1",
        port: opts.port,
        db_url: &opts.db_url,
        jwt_secret: secret,
        anon_key: jwt::api_key("anon", secret),
        service_role_key: jwt::api_key("service_role", secret),
        auth: AuthConfig {
            jwt_secret: secret,
            jwks: opts.signing_keys.jwks(),
            publishable_keys: [("default", keys::LOCAL_PUBLISHABLE_KEY)].into(),
            secret_keys: [("default", keys::LOCAL_SECRET_KEY)].into(),
            audience: opts
                .secrets
                .get("JWT_AUDIENCE")
                .map_or("authenticated", String::as_str),
        },
        auth_module: AuthModule {
            js: module
                .join(format!("{crate_file}.js"))
                .to_string_lossy()
                .into_owned(),
            wasm: module
                .join(format!("{crate_file}_bg.wasm"))
                .to_string_lossy()
                .into_owned(),
        },
        storage_dir: opts.storage_dir.to_string_lossy().into_owned(),
        deno: prereq::node_bin("deno").to_string_lossy().into_owned(),
        functions: specs,
        function_env: &opts.secrets,
        exit_with_parent: opts.exit_with_parent,
        user_roles: sql::moha::BUSINESS_ROLES.iter().map(|(_, r)| *r).collect(),
        auth_api: crate::auth_api::settings(
            &config_toml,
            &opts.url(),
            opts.signing_keys.current(),
        )?,
    };
    // The file holds keys and the database password: readable by its owner only.
    let config_path = opts.state_dir.join("gateway.json");
    let _ = fs::remove_file(&config_path);
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&config_path)?
        .write_all(serde_json::to_string(&config)?.as_bytes())?;
    let log_path = opts.state_dir.join("gateway.log");
    let log = fs::File::create(&log_path)?;
    let main_ts = paths::project_root().join("xtask/gateway/main.ts");
    let child = Command::new(prereq::node_bin("deno"))
        .args([
            "run",
            "--no-prompt",
            "--allow-net",
            "--allow-env",
            "--allow-run",
            "--allow-read",
            "--allow-write",
        ])
        .arg(&main_ts)
        .arg(&config_path)
        .current_dir(paths::project_root().join("xtask/gateway"))
        .env("DENO_NO_UPDATE_CHECK", "1")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        // Its own process group, shared with the function processes it starts.
        .process_group(0)
        .spawn()
        .context("cannot start deno for the gateway")?;
    let pid = child.id();
    let mut gateway = Gateway {
        child: Some(child),
        pid,
        url: opts.url(),
    };
    let started = Instant::now();
    loop {
        if health(opts.port) {
            return Ok(gateway);
        }
        let exited = gateway
            .child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten());
        if let Some(status) = exited {
            gateway.child = None;
            bail!(
                "the gateway exited ({status}); its log {} says:\n{}",
                log_path.display(),
                tail(&log_path)
            );
        }
        if started.elapsed() > Duration::from_secs(120) {
            bail!(
                "the gateway did not answer within 120 s; see {}:\n{}",
                log_path.display(),
                tail(&log_path)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn tail(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// Whether a gateway answers its health check on `port`.
pub fn health(port: u16) -> bool {
    crate::infra::http::Request::new("GET", "/__gateway/health")
        .connect_timeout(Duration::from_millis(500))
        .read_timeout(Duration::from_secs(5))
        .send(port)
        .is_ok_and(|r| r.raw.starts_with("HTTP/1.1 200"))
}

/// SIGTERM to the group, then SIGKILL if it is still there after 10 s.
fn stop_group(pgid: u32) -> Result<()> {
    let group = format!("-{pgid}");
    let alive = || {
        Command::new("kill")
            .args(["-0", "--", &group])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    Command::new("kill")
        .args(["-TERM", "--", &group])
        .stderr(Stdio::null())
        .status()?;
    let start = Instant::now();
    while alive() {
        if start.elapsed() > Duration::from_secs(10) {
            Command::new("kill")
                .args(["-KILL", "--", &group])
                .stderr(Stdio::null())
                .status()?;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

fn pid_file() -> PathBuf {
    paths::local_dir().join("gateway.pid")
}

/// The pid of the local stack's gateway, if it is running (checked against its command line,
/// so a reused pid is never signalled).
pub fn running_pid() -> Option<u32> {
    let pid: u32 = fs::read_to_string(pid_file()).ok()?.trim().parse().ok()?;
    let cmdline = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    String::from_utf8_lossy(&cmdline)
        .contains("gateway/main.ts")
        .then_some(pid)
}

/// `cargo xtask up`: starts the local gateway (unless it already runs) and prints its URLs.
pub fn up(db_url: &str) -> Result<()> {
    if running_pid().is_none() {
        let opts = Options::local(db_url.to_string())?;
        let gateway = progress::step(
            &format!("starting the API gateway on {}", opts.url()),
            || start(&opts),
        )?;
        fs::write(pid_file(), gateway.detach().to_string())?;
    }
    print_urls();
    Ok(())
}

/// `cargo xtask down`: stops the local gateway and its functions.
pub fn down() -> Result<()> {
    if let Some(pid) = running_pid() {
        progress::step("stopping the API gateway", || stop_group(pid))?;
    }
    let _ = fs::remove_file(pid_file());
    Ok(())
}

/// The gateway's URLs, as `supabase start` prints them.
pub fn print_urls() {
    let api = format!("http://127.0.0.1:{DEFAULT_PORT}");
    println!("         API URL: {api}");
    println!("        Auth URL: {api}/auth/v1");
    println!("   Functions URL: {api}/functions/v1");
    println!("     Storage URL: {api}/storage/v1");
}

/// One line for `cargo xtask status`.
pub fn print_status() {
    match running_pid() {
        Some(pid) => println!("API gateway: running (pid {pid})"),
        None => println!("API gateway: stopped"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotenv_lines_are_parsed_like_supabase_secrets_set() {
        let env = parse_env(
            "# comment\n\nJWT_SECRET=abc\nexport A=\"quoted value\"\nB='single'\nEMPTY=\nC = spaced \n",
        );
        let want: BTreeMap<String, String> = [
            ("A", "quoted value"),
            ("B", "single"),
            ("C", "spaced"),
            ("JWT_SECRET", "abc"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(env, want);
    }

    #[test]
    fn config_toml_functions_with_verify_jwt_defaulting_to_true() {
        let toml = r#"
            [functions.a]
            verify_jwt = false
            [functions.b]
            enabled = true
            [functions.c]
            enabled = false
        "#;
        let specs = function_specs(toml, Path::new("/p/supabase/functions")).unwrap();
        let got: Vec<_> = specs
            .iter()
            .map(|s| (s.name.as_str(), s.verify_jwt, s.entry.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("a", false, "/p/supabase/functions/a/index.ts"),
                ("b", true, "/p/supabase/functions/b/index.ts"),
            ]
        );
    }

    #[test]
    fn the_project_config_lists_the_four_functions() {
        let text = fs::read_to_string(paths::supabase_dir().join("config.toml")).unwrap();
        let specs = function_specs(&text, &paths::supabase_dir().join("functions")).unwrap();
        let mut names: Vec<_> = specs.iter().map(|s| s.name.as_str()).collect();
        names.sort();
        let mut want = functions::FUNCTIONS.to_vec();
        want.sort();
        assert_eq!(names, want);
    }
}
