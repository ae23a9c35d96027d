//! Schema as code for a Supabase PostgreSQL database: the typed model, its catalog, the access
//! matrix as data, and the renderers (SQL migrations, supabase-js types, Rust rows, Mermaid and
//! Markdown docs).
//!
//! Architecture invariants (checked by `tests/it/tidy.rs`): this crate does no I/O (no files,
//! sockets or processes) and knows no business: a schema, its roles and where outputs go come
//! from the crate that uses it.
//!
//! The schema is a list of [`Release`]s, each an ordered list of [`Change`]s; the current schema
//! ([`Catalog`]) is their fold, and each release renders to one migration file.

pub mod access;
pub mod catalog;
pub mod describe;
pub mod docs;
pub mod lint;
pub mod model;
pub mod quote;
pub mod render;
pub mod report;
pub mod rust_rows;
pub mod shorthand;
pub mod typescript;

pub use catalog::Catalog;
pub use model::*;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("invalid identifier {name:?}: {reason}")]
    InvalidIdentifier { name: String, reason: &'static str },
    #[error("a string literal contains a NUL byte, which PostgreSQL text cannot hold")]
    NulInLiteral,
    #[error(
        "{kind} {name} already exists; use a new name or change the existing one in a new release"
    )]
    Duplicate { kind: &'static str, name: String },
    #[error("unknown {kind} {name}; create it in this or an earlier release first")]
    Unknown { kind: &'static str, name: String },
    #[error("{what}: {reason}")]
    Invalid { what: String, reason: &'static str },
    #[error("in release {release}: {source}")]
    InRelease { release: String, source: Box<Error> },
}

/// One generated migration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationFile {
    /// `<version>_<name>.sql`.
    pub file_name: String,
    pub version: &'static str,
    pub contents: String,
}

/// Checks the releases (by folding them) and renders one migration file per release.
pub fn migrations(releases: &[Release]) -> Result<Vec<MigrationFile>, Error> {
    Catalog::from_releases(releases)?;
    releases
        .iter()
        .map(|r| {
            Ok(MigrationFile {
                file_name: r.file_name(),
                version: r.version,
                contents: render::release(r).map_err(|e| Error::InRelease {
                    release: r.file_name(),
                    source: Box::new(e),
                })?,
            })
        })
        .collect()
}

/// How committed migration files compare with what the model renders.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Rendered files that do not exist yet.
    pub missing: Vec<String>,
    /// Files whose contents differ from the rendering.
    pub changed: Vec<String>,
    /// Of `changed`, those belonging to a released (frozen) migration.
    pub frozen_changed: Vec<String>,
    /// `.sql` files present that the model does not produce (hand-written or renamed).
    pub unexpected: Vec<String>,
}

impl Comparison {
    pub fn is_clean(&self) -> bool {
        self.missing.is_empty() && self.changed.is_empty() && self.unexpected.is_empty()
    }
}

/// Compares rendered files with `existing` `(file name, contents)` pairs. A release whose version
/// is at or before `released_through` has been deployed and must never change again.
pub fn compare(
    rendered: &[MigrationFile],
    existing: &[(String, String)],
    released_through: Option<&str>,
) -> Comparison {
    let mut out = Comparison::default();
    for f in rendered {
        match existing.iter().find(|(n, _)| n == &f.file_name) {
            None => out.missing.push(f.file_name.clone()),
            Some((_, contents)) if contents != &f.contents => {
                out.changed.push(f.file_name.clone());
                if released_through.is_some_and(|r| f.version <= r) {
                    out.frozen_changed.push(f.file_name.clone());
                }
            }
            Some(_) => {}
        }
    }
    for (n, _) in existing {
        if !rendered.iter().any(|f| &f.file_name == n) {
            out.unexpected.push(n.clone());
        }
    }
    out
}

#[cfg(test)]
mod evolution_tests;
#[cfg(test)]
mod fixture;
