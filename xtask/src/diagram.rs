//! Renders Mermaid diagrams with the pinned `mermaid` in headless Debian Chromium (driven by the
//! pinned `puppeteer-core`, see `xtask/js/render-mermaid.mjs`), and keeps `docs/schema.svg` in
//! step with the diagram in `docs/schema.md`.

use std::fs;
use std::io::Write;
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use crate::infra::{paths, prereq};

/// Renders each Mermaid source to SVG; fails naming every diagram that does not parse or render.
pub fn render(sources: &[String]) -> Result<Vec<String>> {
    prereq::ensure_node_modules()?;
    prereq::ensure_chromium()?;
    let script = paths::project_root().join("xtask/js/render-mermaid.mjs");
    let mut child = Command::new("node")
        .arg(&script)
        .env("MOHA_CHROMIUM", prereq::chromium_path())
        .current_dir(paths::project_root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run node; install Node.js 18+ (apt-get install -y nodejs npm)")?;
    let input = serde_json::to_vec(sources)?;
    child
        .stdin
        .take()
        .context("node's stdin is not a pipe")?
        .write_all(&input)
        .context("cannot send the diagrams to the renderer")?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!(
            "the Mermaid diagrams do not render ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim_end()
        );
    }
    let svgs: Vec<String> = serde_json::from_slice(&out.stdout)
        .context("the renderer printed something other than a JSON list of SVGs")?;
    if svgs.len() != sources.len() {
        bail!(
            "the renderer returned {} SVGs for {} diagrams",
            svgs.len(),
            sources.len()
        );
    }
    Ok(svgs)
}

/// The committed SVG with its stamp line, for `source`.
fn stamped(source: &str, svg: &str) -> String {
    format!("{}\n{svg}\n", sql::generated::diagram_stamp(source))
}

/// Whether `docs/schema.svg` was rendered from the current diagram source.
pub fn svg_is_fresh() -> Result<bool> {
    let source = sql::generated::diagram_source().context("the schema model is invalid")?;
    let path = paths::project_root().join(sql::generated::SCHEMA_SVG);
    Ok(match fs::read_to_string(&path) {
        Ok(s) => s.lines().next() == Some(sql::generated::diagram_stamp(&source).as_str()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    })
}

/// `cargo xtask gen diagram`: renders the diagram of `docs/schema.md` to `docs/schema.svg`.
pub fn write_svg() -> Result<()> {
    let source = sql::generated::diagram_source().context("the schema model is invalid")?;
    let svg = render(std::slice::from_ref(&source))?.remove(0);
    let path = paths::project_root().join(sql::generated::SCHEMA_SVG);
    fs::write(&path, stamped(&source, &svg))
        .with_context(|| format!("cannot write {}", path.display()))?;
    eprintln!("updated {}", path.display());
    Ok(())
}
