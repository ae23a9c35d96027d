//! Every generated file besides the migrations, by path from the workspace root: what
//! `cargo xtask generate` writes and its `--check` (and the stale test) compares.

use crate::catalog::Catalog;
use crate::docs::{self, AccessModel};
use crate::moha::MODEL;
use crate::moha::{self, security};
use crate::Error;

/// The `Database` type for supabase-js.
pub const DATABASE_TYPES: &str = "supabase/functions/_shared/database.types.ts";
/// The schema reference with the Mermaid diagram and the access matrix.
pub const SCHEMA_MD: &str = "docs/schema.md";
/// The Rust row types of the edge functions.
pub const ROWS: &str = "functions/edge/src/rows.rs";
/// The rendered diagram; written by `cargo xtask gen diagram` (it needs Chromium), and stamped
/// with [`diagram_stamp`] of the Mermaid source it was rendered from.
pub const SCHEMA_SVG: &str = "docs/schema.svg";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFile {
    pub path: &'static str,
    pub contents: String,
}

/// What each generated file should contain, for the current model.
pub fn files() -> Result<Vec<GeneratedFile>, Error> {
    let catalog = Catalog::from_releases(&moha::releases())?;
    let matrix = security::matrix();
    let buckets = moha::public_media::storage();
    let access = AccessModel {
        personas: security::PERSONAS,
        tables: &matrix,
        buckets: &buckets,
    };
    Ok(vec![
        GeneratedFile {
            path: DATABASE_TYPES,
            contents: crate::typescript::database_types(&catalog, MODEL)?,
        },
        GeneratedFile {
            path: SCHEMA_MD,
            contents: docs::schema_md(&catalog, &access)?,
        },
        GeneratedFile {
            path: ROWS,
            contents: crate::rust_rows::rows(&catalog, MODEL)?,
        },
        GeneratedFile {
            path: moha::edge_facts::RUST_PATH,
            contents: moha::edge_facts::rust(),
        },
        GeneratedFile {
            path: moha::edge_facts::TYPESCRIPT_PATH,
            contents: moha::edge_facts::typescript(),
        },
    ])
}

/// The Mermaid source of the diagram `docs/schema.svg` shows.
pub fn diagram_source() -> Result<String, Error> {
    docs::mermaid(&Catalog::from_releases(&moha::releases())?)
}

/// A comment naming the source an SVG was rendered from (FNV-1a 64 of the Mermaid text), so a
/// stale SVG is found without comparing rendered bytes, which vary with the browser's fonts.
pub fn diagram_stamp(source: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in source.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("<!-- generated — do not edit: `cargo xtask gen diagram` renders docs/schema.md's diagram; source fnv1a64 {h:016x} -->")
}
