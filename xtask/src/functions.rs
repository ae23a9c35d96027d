//! The edge functions' build (`cargo xtask functions build [--release]`): compiles every edge function in `functions/` to
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

use std::sync::Mutex;

use anyhow::{bail, Context, Result};

use crate::infra::{paths, prereq, progress};

/// The edge functions: crate `functions/<name>`, served from `supabase/functions/<name>` (the
/// one list, `sql::moha::edge_facts`, which the functions and their hosts read too).
pub use sql::moha::edge_facts::FUNCTIONS;

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

/// Builds every function and the gateway's checks optimised and shrunk with wasm-opt (see the
/// module docs) and returns where the functions' modules are.
pub fn build_release() -> Result<Vec<Built>> {
    build_profile(Profile::Release)
}

/// The same build unoptimised, without wasm-opt.
pub fn build_debug() -> Result<Vec<Built>> {
    build_profile(Profile::Debug)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Profile {
    Debug,
    Release,
}

/// One build per profile and process, one at a time: the tests start several gateways at once,
/// and two builds writing the same `pkg` folders corrupt each other's wasm.
fn build_profile(build: Profile) -> Result<Vec<Built>> {
    static BUILT: Mutex<Vec<(Profile, Vec<Built>)>> = Mutex::new(Vec::new());
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, done)) = built.iter().find(|(p, _)| *p == build) {
        return Ok(done.clone());
    }
    let done = build_uncached(build)?;
    built.push((build, done.clone()));
    Ok(done)
}

fn build_uncached(build: Profile) -> Result<Vec<Built>> {
    let release = build == Profile::Release;
    let root = paths::project_root();
    let toolchain = progress::step("find a wasm32 toolchain", toolchain)?;
    let profile = if release { "release" } else { "debug" };
    progress::step(
        &format!("cargo build --target {TARGET} ({profile})"),
        || cargo_build(&root, &toolchain, build),
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
            crate::infra::process::run_quiet(
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
                crate::infra::process::run_quiet(
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
    if !Path::new("/usr/bin/apt-get").exists() || !crate::infra::process::is_root() {
        bail!("{hint}");
    }
    eprintln!("\n==> will install with apt: {}", missing.join(" "));
    crate::infra::process::run_quiet(Command::new("apt-get").arg("update"))
        .context(hint.clone())?;
    crate::infra::process::run_quiet(
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

fn cargo_build(root: &Path, toolchain: &Toolchain, profile: Profile) -> Result<()> {
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
    if profile == Profile::Release {
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
    crate::infra::process::run_quiet(&mut cmd)
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
        crate::infra::process::run_quiet(
            Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
                .args(["install", "wasm-bindgen-cli", "--version", &version])
                .env_remove("RUSTUP_TOOLCHAIN"),
        )?;
    }
    Ok(Bindgen { path, version })
}
