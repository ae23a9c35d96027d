//! Edge functions and their secrets, published through the pinned Supabase CLI.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::infra::{paths, prereq};

use super::env::Environment;

/// The functions to deploy: `functions/<name>/index.ts`, without `_shared`-style folders.
pub fn list_functions(dir: &Path) -> Result<Vec<String>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('_') || name.starts_with('.') {
            continue;
        }
        if entry.path().join("index.ts").is_file() {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// The secrets of `supabase/functions/.env.example`: `NAME=` lines are required on the project,
/// commented `# NAME=` lines are optional.
#[derive(Debug, Default)]
pub struct SecretNames {
    pub path: PathBuf,
    /// Every listed name (required and optional).
    pub all: Vec<String>,
    pub required: Vec<String>,
}

impl SecretNames {
    pub fn read(path: &Path) -> Result<SecretNames> {
        let mut names = SecretNames {
            path: path.to_path_buf(),
            ..SecretNames::default()
        };
        let Ok(text) = std::fs::read_to_string(path) else {
            return Ok(names);
        };
        for line in text.lines() {
            let line = line.trim();
            let (optional, rest) = match line.strip_prefix('#') {
                Some(rest) => (true, rest.trim_start()),
                None => (false, line),
            };
            let rest = rest.strip_prefix("export ").unwrap_or(rest);
            let Some((name, _)) = rest.split_once('=') else {
                continue;
            };
            let name = name.trim();
            let is_name = !name.is_empty()
                && name.starts_with(|c: char| c.is_ascii_uppercase())
                && name
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            if !is_name || names.all.iter().any(|n| n == name) {
                continue;
            }
            names.all.push(name.to_string());
            if !optional {
                names.required.push(name.to_string());
            }
        }
        Ok(names)
    }

    /// Names `supabase secrets set` accepts: `SUPABASE_*` ones are provided by the platform.
    pub fn settable(&self) -> Vec<String> {
        self.all
            .iter()
            .filter(|n| !n.starts_with("SUPABASE_"))
            .cloned()
            .collect()
    }
}

/// Step 5: functions and secrets through the pinned Supabase CLI.
pub(super) struct Publish<'a> {
    env_name: &'a str,
    project_ref: &'a str,
    functions: &'a [String],
    secrets: &'a SecretNames,
}

impl<'a> Publish<'a> {
    pub(super) fn new(
        env_name: &'a str,
        env: &'a Environment,
        functions: &'a [String],
        secrets: &'a SecretNames,
    ) -> Self {
        Publish {
            env_name,
            project_ref: &env.project_ref,
            functions,
            secrets,
        }
    }

    fn has_work(&self) -> bool {
        !self.functions.is_empty() || !self.secrets.settable().is_empty()
    }

    fn cli(&self) -> PathBuf {
        prereq::node_bin("supabase")
    }

    /// The commands this step runs, as a person would type them.
    fn commands(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.functions.is_empty() {
            out.push("cargo xtask functions build --release".to_string());
            out.push(format!(
                "node_modules/.bin/supabase functions deploy {} --project-ref {} --use-api",
                self.functions.join(" "),
                self.project_ref
            ));
        }
        if !self.secrets.settable().is_empty() {
            out.push(format!(
                "node_modules/.bin/supabase secrets set --env-file <file with {}> --project-ref {}",
                self.secrets.settable().join(", "),
                self.project_ref
            ));
        }
        out
    }

    /// Why this step would fail, checked before anything changes.
    pub(super) fn ready(&self) -> std::result::Result<(), String> {
        if !self.has_work() {
            return Ok(());
        }
        let how = || {
            self.commands()
                .iter()
                .map(|c| format!("\n  {c}"))
                .collect::<String>()
        };
        if !self.cli().exists() {
            return Err(format!(
                "the Supabase CLI is missing ({}): run `npm ci`, then deploy the functions \
                 with:{}",
                self.cli().display(),
                how()
            ));
        }
        if std::env::var("SUPABASE_ACCESS_TOKEN").map_or(true, |t| t.is_empty()) {
            return Err(format!(
                "SUPABASE_ACCESS_TOKEN is not set, so the functions of {} cannot be deployed: \
                 create a token at https://supabase.com/dashboard/account/tokens (in CI: the \
                 repository secret SUPABASE_ACCESS_TOKEN), export it and run:{}",
                self.env_name,
                how()
            ));
        }
        Ok(())
    }

    pub(super) fn run(&self) -> Result<()> {
        if !self.has_work() {
            println!("functions: nothing to deploy");
            return Ok(());
        }
        if let Err(why) = self.ready() {
            bail!(why);
        }
        let root = paths::project_root();
        if !self.functions.is_empty() {
            crate::commands::functions::build_release()?;
            let mut cmd = Command::new(self.cli());
            cmd.args(["functions", "deploy"])
                .args(self.functions)
                .args(["--project-ref", self.project_ref, "--use-api"])
                .current_dir(&root);
            run_cli("supabase functions deploy", &mut cmd)?;
        }
        let present: Vec<(String, String)> = self
            .secrets
            .settable()
            .into_iter()
            .filter_map(|n| match std::env::var(&n) {
                Ok(v) if !v.is_empty() => Some((n, v)),
                _ => None,
            })
            .collect();
        if !present.is_empty() {
            let file = SecretFile::write(&present)?;
            let mut cmd = Command::new(self.cli());
            cmd.args(["secrets", "set", "--env-file"])
                .arg(&file.0)
                .args(["--project-ref", self.project_ref])
                .current_dir(&root);
            run_cli(
                &format!(
                    "supabase secrets set ({})",
                    present
                        .iter()
                        .map(|(n, _)| n.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                &mut cmd,
            )?;
        }
        Ok(())
    }

    /// Every required secret exists on the project, and each function answers its CORS
    /// preflight.
    pub(super) fn smoke(&self) -> Result<()> {
        if !self.has_work() {
            return Ok(());
        }
        let out = Command::new(self.cli())
            .args(["secrets", "list", "--project-ref", self.project_ref])
            .args(["--output", "json"])
            .current_dir(paths::project_root())
            .output()
            .context("cannot run supabase secrets list")?;
        if !out.status.success() {
            bail!(
                "smoke check: supabase secrets list failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let listed: serde_json::Value = serde_json::from_slice(&out.stdout)
            .context("smoke check: unexpected output of supabase secrets list")?;
        let names: Vec<&str> = listed
            .as_array()
            .map(|a| a.iter().filter_map(|s| s["name"].as_str()).collect())
            .unwrap_or_default();
        let missing: Vec<&String> = self
            .secrets
            .required
            .iter()
            .filter(|n| !n.starts_with("SUPABASE_") && !names.contains(&n.as_str()))
            .collect();
        if !missing.is_empty() {
            bail!(
                "smoke check: project {} lacks the secrets {}; set them in the environment (CI: \
                 repository secrets) and deploy again",
                self.project_ref,
                missing
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        for f in self.functions {
            let url = format!("https://{}.supabase.co/functions/v1/{f}", self.project_ref);
            let out = Command::new("curl")
                .args([
                    "--silent",
                    "--show-error",
                    "--max-time",
                    "20",
                    "--request",
                    "OPTIONS",
                ])
                .args(["--output", "/dev/null", "--write-out", "%{http_code}"])
                .args(["--header", "Origin: https://example.com"])
                .args(["--header", "Access-Control-Request-Method: POST"])
                .arg(&url)
                .output()
                .context("cannot run curl for the functions' smoke check")?;
            let code = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if !code.starts_with('2') {
                bail!("smoke check: OPTIONS {url} answered {code}; see the function's logs");
            }
            println!("smoke check: {f} answers its preflight ({code})");
        }
        Ok(())
    }
}

fn run_cli(what: &str, cmd: &mut Command) -> Result<()> {
    crate::infra::progress::step(what, || crate::infra::process::run_quiet(cmd))
}

/// A 0600 `.env` file in the temp dir, removed when dropped.
struct SecretFile(PathBuf);

impl SecretFile {
    fn write(pairs: &[(String, String)]) -> Result<SecretFile> {
        use std::os::unix::fs::OpenOptionsExt;
        let path =
            std::env::temp_dir().join(format!("moha-deploy-secrets-{}.env", std::process::id()));
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        let file = SecretFile(path);
        for (name, value) in pairs {
            // Double quotes with escapes keep newlines and `#` inside values (dotenv rules).
            let escaped = value
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            writeln!(f, "{name}=\"{escaped}\"")?;
        }
        Ok(file)
    }
}

impl Drop for SecretFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_required_and_optional_secret_names() {
        let dir = std::env::temp_dir().join(format!("moha-env-example-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join(".env.example");
        std::fs::write(
            &file,
            "# AI providers\nANTHROPIC_API_KEY=\nexport GEMINI_API_KEY=x\n# JWKS_URL=https://...\n\
             SUPABASE_URL=http://127.0.0.1:54321\n# Get a key at https://example.com\n",
        )
        .unwrap();
        let names = SecretNames::read(&file).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            names.all,
            [
                "ANTHROPIC_API_KEY",
                "GEMINI_API_KEY",
                "JWKS_URL",
                "SUPABASE_URL"
            ]
        );
        assert_eq!(
            names.required,
            ["ANTHROPIC_API_KEY", "GEMINI_API_KEY", "SUPABASE_URL"]
        );
        assert_eq!(
            names.settable(),
            ["ANTHROPIC_API_KEY", "GEMINI_API_KEY", "JWKS_URL"]
        );
    }
}
