//! Enum types.

use super::*;

pub(super) fn create_enum(e: &Enum) -> Result<String, Error> {
    Ok(format!(
        "create type {} as enum ({});\n",
        name(&e.name)?,
        e.values
            .iter()
            .map(|v| literal(v))
            .collect::<Result<Vec<_>, _>>()?
            .join(", ")
    ))
}

pub(super) fn add_enum_value(n: &Name, value: &str) -> Result<String, Error> {
    Ok(format!(
        "alter type {} add value if not exists {};\n",
        name(n)?,
        literal(value)?
    ))
}
