//! Schemas and extensions.

use super::*;

pub(super) fn create_schema(s: &str) -> Result<String, Error> {
    Ok(format!("create schema if not exists {};\n", ident(s)?))
}

pub(super) fn create_extension(e: &Extension) -> Result<String, Error> {
    Ok(format!(
        "create extension if not exists {} with schema {};\n",
        ident(&e.name)?,
        ident(&e.schema)?
    ))
}
