//! The functions' environment: `supabase/functions/.env`, read as the Supabase CLI reads it.

use std::collections::BTreeMap;
use std::fs;

use anyhow::{Context, Result};

use crate::infra::paths;
use crate::jwt;

/// The secrets every function gets: `supabase/functions/.env` when it exists, and the local
/// stack's JWT secret unless the file sets one (a hosted project sets it with `supabase secrets
/// set`).
pub fn function_secrets() -> Result<BTreeMap<String, String>> {
    let path = paths::supabase_dir().join("functions/.env");
    let mut out = match fs::read_to_string(&path) {
        Ok(text) => parse_env(&text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    out.entry("JWT_SECRET".into())
        .or_insert_with(|| jwt::LOCAL_JWT_SECRET.into());
    Ok(out)
}

/// `KEY=value` lines as dotenv files have them: comments, blank lines, `export`, and single or
/// double quotes around the value. Empty values are left out, so "unset" stays unset.
pub fn parse_env(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let l = l.strip_prefix("export ").unwrap_or(l);
            let (k, v) = l.split_once('=')?;
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                .unwrap_or(v);
            (!v.is_empty()).then(|| (k.trim().to_string(), v.to_string()))
        })
        .collect()
}
