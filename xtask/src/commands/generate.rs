//! `cargo xtask generate [--check]`: renders `supabase/migrations/*.sql` from the `sql` model.
//!
//! Generated files are committed. `--check` (and the test that calls [`check`]) fails when a
//! committed file differs from the rendering, when one is missing, or when a `.sql` file exists
//! that the model does not produce (a hand-written migration is drift). Writing refuses to
//! rewrite a released migration (see `sql::moha::RELEASED_THROUGH`).
//!
//! It also writes the other files rendered from the model (`sql::generated::files`: the
//! supabase-js types, `docs/schema.md`, the functions' Rust row types) and re-renders
//! `docs/schema.svg` when the diagram's source changed; `--check` compares them too.

use std::fs;
use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::infra::paths;

/// `cargo xtask generate --check`, the deploy's preflight and the test suite's stale check:
/// fails naming every committed file that differs from the rendering; writes nothing.
pub fn check() -> Result<()> {
    let dir = paths::migrations_dir();
    let rendered =
        sql::migrations(&sql::moha::releases()).context("the schema model is invalid")?;
    let existing = read_existing(&dir)?;
    let cmp = sql::compare(&rendered, &existing, sql::moha::RELEASED_THROUGH);
    let files = sql::generated::files().context("the schema model is invalid")?;
    match (report_check(&cmp), check_files(&files)) {
        (Ok(()), Ok(())) => Ok(()),
        (Err(a), Err(b)) => bail!("{a:#}\n{b:#}"),
        (Err(e), Ok(())) | (Ok(()), Err(e)) => Err(e),
    }
}

/// `cargo xtask generate`: writes every file that differs from the rendering.
pub fn write() -> Result<()> {
    let started = std::time::Instant::now();
    let dir = paths::migrations_dir();
    let rendered =
        sql::migrations(&sql::moha::releases()).context("the schema model is invalid")?;
    let existing = read_existing(&dir)?;
    let cmp = sql::compare(&rendered, &existing, sql::moha::RELEASED_THROUGH);
    let files = sql::generated::files().context("the schema model is invalid")?;
    if !cmp.frozen_changed.is_empty() {
        bail!(
            "released migrations would change: {}\nthey are deployed (at or before RELEASED_THROUGH in sql/schema/src/moha/mod.rs); \
             undo the edit to their release and put the change in a new release",
            cmp.frozen_changed.join(", ")
        );
    }
    if !cmp.unexpected.is_empty() {
        bail!(
            "supabase/migrations holds files the model does not produce: {}\nmove their changes into a release in \
             sql/schema/src/moha and delete the files",
            cmp.unexpected.join(", ")
        );
    }
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut written = 0;
    for f in &rendered {
        if cmp.missing.contains(&f.file_name) || cmp.changed.contains(&f.file_name) {
            let path = dir.join(&f.file_name);
            fs::write(&path, &f.contents)
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("updated {}", path.display());
            written += 1;
        }
    }
    let files_written = write_files(&files)?;
    if !crate::diagram::svg_is_fresh()? {
        crate::diagram::write_svg()?;
    }
    eprintln!(
        "{} migrations, {written} updated; {} other files, {files_written} updated ({} ms)",
        rendered.len(),
        files.len(),
        started.elapsed().as_millis()
    );
    Ok(())
}

/// `cargo xtask gen types --check`: only `supabase/functions/_shared/database.types.ts`.
pub fn check_types() -> Result<()> {
    check_files(&types()?)
}

/// `cargo xtask gen types`: writes only `supabase/functions/_shared/database.types.ts`.
pub fn write_types() -> Result<()> {
    write_files(&types()?).map(drop)
}

fn types() -> Result<Vec<sql::generated::GeneratedFile>> {
    let files = sql::generated::files().context("the schema model is invalid")?;
    Ok(files
        .into_iter()
        .filter(|f| f.path == sql::generated::DATABASE_TYPES)
        .collect())
}

/// Writes the files whose contents differ; returns how many it wrote.
fn write_files(files: &[sql::generated::GeneratedFile]) -> Result<usize> {
    let root = paths::project_root();
    let mut written = 0;
    for f in files {
        let path = root.join(f.path);
        if fs::read_to_string(&path).ok().as_deref() == Some(f.contents.as_str()) {
            continue;
        }
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        }
        fs::write(&path, &f.contents)
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("updated {}", path.display());
        written += 1;
    }
    Ok(written)
}

/// Fails naming every generated file that is missing or differs, and a stale `docs/schema.svg`.
fn check_files(files: &[sql::generated::GeneratedFile]) -> Result<()> {
    let root = paths::project_root();
    let mut stale = Vec::new();
    for f in files {
        if fs::read_to_string(root.join(f.path)).ok().as_deref() != Some(f.contents.as_str()) {
            stale.push(format!("  stale:    {}\n", f.path));
        }
    }
    if files.iter().any(|f| f.path == sql::generated::SCHEMA_MD) && !crate::diagram::svg_is_fresh()?
    {
        stale.push(format!(
            "  stale:    {} (rendered from an older diagram)\n",
            sql::generated::SCHEMA_SVG
        ));
    }
    if stale.is_empty() {
        return Ok(());
    }
    bail!(
        "generated files are out of date with the model:\n{}run `cargo xtask generate` and commit",
        stale.concat()
    )
}

fn report_check(cmp: &sql::Comparison) -> Result<()> {
    if cmp.is_clean() {
        return Ok(());
    }
    let mut msg = String::from("supabase/migrations is out of date with the model:\n");
    for f in &cmp.missing {
        msg.push_str(&format!("  missing:  {f}\n"));
    }
    for f in &cmp.changed {
        msg.push_str(&format!("  stale:    {f}\n"));
    }
    for f in &cmp.unexpected {
        msg.push_str(&format!("  not from the model: {f}\n"));
    }
    msg.push_str("run `cargo xtask generate` and commit");
    bail!(msg)
}

/// `(file name, contents)` of every `.sql` file in `dir` (none when it does not exist).
fn read_existing(dir: &Path) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", dir.display())),
    };
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "sql") {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .context("non-UTF-8 migration file name")?
                .to_string();
            let contents = fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            out.push((name, contents));
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    /// Stale generated files fail CI without a separate step (rust-analyzer's codegen test).
    #[test]
    fn generated_migrations_are_fresh() {
        if let Err(e) = super::check() {
            panic!("{e:#}");
        }
    }
}
