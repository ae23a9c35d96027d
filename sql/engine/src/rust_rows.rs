//! Rust row types for the edge functions, rendered from the folded catalog: one struct per table
//! of the API schema and one enum per enum type, so no function hand-writes a table's shape.
//!
//! Rows arrive as JSON from the host (postgres.js through Deno, or PostgREST), which spells
//! `bigint` and `numeric` as strings or numbers depending on the driver; those fields accept
//! both.

use std::fmt::Write;

use crate::catalog::Catalog;
use crate::model::*;
use crate::typescript::SCHEMA;
use crate::Error;

/// `render_requests` → `RenderRequests`.
pub fn pascal(snake: &str) -> String {
    snake
        .split('_')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// Rust keywords that can be column names; they become raw identifiers.
const KEYWORDS: &[&str] = &[
    "as", "async", "await", "box", "break", "const", "continue", "crate", "dyn", "else", "enum",
    "extern", "false", "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move",
    "mut", "pub", "ref", "return", "static", "struct", "trait", "true", "type", "unsafe", "use",
    "where", "while", "yield",
];

fn field(name: &str) -> String {
    if KEYWORDS.contains(&name) {
        format!("r#{name}")
    } else {
        name.to_string()
    }
}

/// How a value is decoded: plainly, or as a number that may arrive as a string.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Decode {
    Plain,
    Number,
}

fn rust_type(ty: &SqlType) -> (String, Decode) {
    match ty {
        SqlType::Uuid
        | SqlType::Text
        | SqlType::Timestamptz
        | SqlType::Date
        | SqlType::Interval
        | SqlType::Inet => ("String".into(), Decode::Plain),
        SqlType::Integer => ("i32".into(), Decode::Plain),
        SqlType::SmallInt => ("i16".into(), Decode::Plain),
        SqlType::BigInt => ("i64".into(), Decode::Number),
        SqlType::Numeric { .. } | SqlType::AnyNumeric => ("f64".into(), Decode::Number),
        SqlType::Boolean => ("bool".into(), Decode::Plain),
        // Drivers disagree on these encodings (GeoJSON or EWKB hex, `\x` hex or a byte list), so
        // they stay JSON.
        SqlType::Jsonb | SqlType::Bytea | SqlType::Geography { .. } => {
            ("serde_json::Value".into(), Decode::Plain)
        }
        SqlType::Enum(n) => (pascal(&n.name), Decode::Plain),
        SqlType::Array(inner) => {
            let (t, _) = rust_type(inner);
            (format!("Vec<{t}>"), Decode::Plain)
        }
    }
}

/// The whole generated `rows.rs`; its header names `model`, where the schema is written.
pub fn rows(catalog: &Catalog, model: &str) -> Result<String, Error> {
    let mut out = format!(
        "//! generated — do not edit: run `cargo xtask generate` (from the model in {model})\n"
    );
    out.push_str(
        "//!\n\
         //! One struct per table of the `public` schema and one enum per enum type, as rows arrive\n\
         //! from the host. `bigint` and `numeric` fields accept a number or a numeric string.\n\n\
         use serde::{Deserialize, Serialize};\n",
    );
    for e in catalog.enums.iter().filter(|e| e.name.schema == SCHEMA) {
        let _ = writeln!(out, "\n/// `{}`.", e.name);
        let _ = writeln!(
            out,
            "#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]"
        );
        let _ = writeln!(out, "pub enum {} {{", pascal(&e.name.name));
        for v in &e.values {
            let _ = writeln!(out, "    #[serde(rename = \"{v}\")]");
            let _ = writeln!(out, "    {},", pascal(v));
        }
        let _ = writeln!(out, "}}");
        let _ = writeln!(out, "\nimpl {} {{", pascal(&e.name.name));
        let _ = writeln!(out, "    pub fn as_str(self) -> &'static str {{");
        let _ = writeln!(out, "        match self {{");
        for v in &e.values {
            let _ = writeln!(
                out,
                "            {}::{} => \"{v}\",",
                pascal(&e.name.name),
                pascal(v)
            );
        }
        let _ = writeln!(out, "        }}\n    }}\n}}");
    }
    for t in catalog.tables.iter().filter(|t| t.name.schema == SCHEMA) {
        let name = format!("{}Row", pascal(&t.name.name));
        let _ = writeln!(out);
        match &t.comment {
            Some(c) => {
                let _ = writeln!(out, "/// A row of `{}`: {c}", t.name);
            }
            None => {
                let _ = writeln!(out, "/// A row of `{}`.", t.name);
            }
        }
        let _ = writeln!(
            out,
            "#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]"
        );
        let _ = writeln!(out, "pub struct {name} {{");
        for c in &t.columns {
            let (ty, decode) = rust_type(&c.ty);
            if decode == Decode::Number {
                let with = if c.not_null {
                    "number"
                } else {
                    "optional_number"
                };
                if c.not_null {
                    let _ = writeln!(out, "    #[serde(deserialize_with = \"lenient::{with}\")]");
                } else {
                    let _ = writeln!(
                        out,
                        "    #[serde(default, deserialize_with = \"lenient::{with}\")]"
                    );
                }
            }
            let ty = if c.not_null {
                ty
            } else {
                format!("Option<{ty}>")
            };
            let _ = writeln!(out, "    pub {}: {ty},", field(&c.name));
        }
        let _ = writeln!(out, "}}");
        let columns: Vec<String> = t
            .columns
            .iter()
            .map(|c| format!("\"{}\"", c.name))
            .collect();
        let _ = writeln!(out, "\nimpl {name} {{");
        let _ = writeln!(out, "    pub const TABLE: &'static str = \"{}\";", t.name);
        let list = format!(
            "    pub const COLUMNS: &'static [&'static str] = &[{}];",
            columns.join(", ")
        );
        if list.len() <= 100 {
            let _ = writeln!(out, "{list}");
        } else {
            let _ = writeln!(out, "    pub const COLUMNS: &'static [&'static str] = &[");
            for c in &columns {
                let _ = writeln!(out, "        {c},");
            }
            let _ = writeln!(out, "    ];");
        }
        let _ = writeln!(out, "}}");
    }
    out.push_str(LENIENT);
    Ok(out)
}

const LENIENT: &str = r#"
/// Numbers that a driver may send as JSON strings (postgres.js does for `bigint` and `numeric`).
mod lenient {
    use serde::de::Error;
    use serde::{Deserialize, Deserializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumberOrText<T> {
        Number(T),
        Text(String),
    }

    fn parse<T: std::str::FromStr, E: Error>(v: NumberOrText<T>) -> Result<T, E> {
        match v {
            NumberOrText::Number(n) => Ok(n),
            NumberOrText::Text(s) => s
                .parse()
                .map_err(|_| E::custom(format!("{s:?} is not a number"))),
        }
    }

    pub fn number<'de, D, T>(d: D) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de> + std::str::FromStr,
    {
        parse(NumberOrText::deserialize(d)?)
    }

    pub fn optional_number<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de> + std::str::FromStr,
    {
        Option::<NumberOrText<T>>::deserialize(d)?
            .map(parse)
            .transpose()
    }
}
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(pascal("render_requests"), "RenderRequests");
        assert_eq!(pascal("walk_in"), "WalkIn");
        assert_eq!(field("type"), "r#type");
    }
}
