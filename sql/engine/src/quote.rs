//! The only places where text becomes SQL: identifiers, literals and dollar-quoted bodies.
//!
//! Every name and every string that reaches a migration goes through one of these functions,
//! so a quote inside a name or a value can never end the token early.

use crate::Error;

/// PostgreSQL's identifier length limit (NAMEDATALEN - 1); longer names are silently truncated
/// by the server, which would make the database differ from the model.
pub const MAX_IDENT_BYTES: usize = 63;

/// Keywords that are not "unreserved" in PostgreSQL 15 (`pg_get_keywords()` with
/// `catcode <> 'U'`): such a name must be quoted even when it is plain lowercase.
const KEYWORDS: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "authorization",
    "between",
    "bigint",
    "binary",
    "bit",
    "boolean",
    "both",
    "case",
    "cast",
    "char",
    "character",
    "check",
    "coalesce",
    "collate",
    "collation",
    "column",
    "concurrently",
    "constraint",
    "create",
    "cross",
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "dec",
    "decimal",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "exists",
    "extract",
    "false",
    "fetch",
    "float",
    "for",
    "foreign",
    "freeze",
    "from",
    "full",
    "grant",
    "greatest",
    "group",
    "grouping",
    "having",
    "ilike",
    "in",
    "initially",
    "inner",
    "inout",
    "int",
    "integer",
    "intersect",
    "interval",
    "into",
    "is",
    "isnull",
    "join",
    "lateral",
    "leading",
    "least",
    "left",
    "like",
    "limit",
    "localtime",
    "localtimestamp",
    "national",
    "natural",
    "nchar",
    "none",
    "normalize",
    "not",
    "notnull",
    "null",
    "nullif",
    "numeric",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "out",
    "outer",
    "overlaps",
    "overlay",
    "placing",
    "position",
    "precision",
    "primary",
    "real",
    "references",
    "returning",
    "right",
    "row",
    "select",
    "session_user",
    "setof",
    "similar",
    "smallint",
    "some",
    "substring",
    "symmetric",
    "table",
    "tablesample",
    "then",
    "time",
    "timestamp",
    "to",
    "trailing",
    "treat",
    "trim",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "values",
    "varchar",
    "variadic",
    "verbose",
    "when",
    "where",
    "window",
    "with",
    "xmlattributes",
    "xmlconcat",
    "xmlelement",
    "xmlexists",
    "xmlforest",
    "xmlnamespaces",
    "xmlparse",
    "xmlpi",
    "xmlroot",
    "xmlserialize",
    "xmltable",
];

/// Quotes an identifier when it needs it, like PostgreSQL's `quote_ident`: plain lowercase
/// names that are not keywords stay bare (readable migrations), everything else is wrapped in
/// double quotes with embedded quotes doubled.
pub fn ident(name: &str) -> Result<String, Error> {
    if name.is_empty() {
        return Err(Error::InvalidIdentifier {
            name: name.into(),
            reason: "it is empty",
        });
    }
    if name.contains('\0') {
        return Err(Error::InvalidIdentifier {
            name: name.into(),
            reason: "it contains a NUL byte",
        });
    }
    if name.len() > MAX_IDENT_BYTES {
        return Err(Error::InvalidIdentifier {
            name: name.into(),
            reason: "it is longer than 63 bytes and PostgreSQL would truncate it",
        });
    }
    let plain = name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !KEYWORDS.contains(&name);
    if plain {
        Ok(name.to_string())
    } else {
        Ok(format!("\"{}\"", name.replace('"', "\"\"")))
    }
}

/// A string literal: single quotes doubled; a value holding a backslash uses the `E''` form
/// with backslashes doubled, so the result means the same whatever
/// `standard_conforming_strings` is (as PostgreSQL's `quote_literal` does).
pub fn literal(value: &str) -> Result<String, Error> {
    if value.contains('\0') {
        return Err(Error::NulInLiteral);
    }
    let escaped = value.replace('\'', "''");
    if value.contains('\\') {
        Ok(format!("E'{}'", escaped.replace('\\', "\\\\")))
    } else {
        Ok(format!("'{escaped}'"))
    }
}

/// Wraps a function body in dollar quotes whose tag cannot end the body early: `$body$`, or
/// `$body1$`, `$body2$`, ... when the body (followed by the closing tag) would contain it
/// before the end.
pub fn dollar_quote(body: &str) -> String {
    let mut n = 0u32;
    loop {
        let tag = if n == 0 {
            "$body$".to_string()
        } else {
            format!("$body{n}$")
        };
        let closed = format!("{body}{tag}");
        if closed.find(&tag) == Some(body.len()) {
            return format!("{tag}{body}{tag}");
        }
        n += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        assert_eq!(ident("users").unwrap(), "users");
        assert_eq!(ident("_private_1").unwrap(), "_private_1");
        assert_eq!(ident("a\"b").unwrap(), "\"a\"\"b\"");
        assert_eq!(ident("Users").unwrap(), "\"Users\"");
        assert_eq!(ident("project-media").unwrap(), "\"project-media\"");
        assert_eq!(ident("timestamp").unwrap(), "\"timestamp\"");
        assert_eq!(ident("user").unwrap(), "\"user\"");
        assert_eq!(ident("1st").unwrap(), "\"1st\"");
        assert_eq!(
            ident("x; drop table users; --").unwrap(),
            "\"x; drop table users; --\""
        );
        assert!(ident("").is_err());
        assert!(ident("a\0b").is_err());
        assert!(ident(&"a".repeat(64)).is_err());
        assert!(ident(&"a".repeat(63)).is_ok());
    }

    #[test]
    fn literals() {
        assert_eq!(literal("O'Brien").unwrap(), "'O''Brien'");
        assert_eq!(literal("").unwrap(), "''");
        assert_eq!(literal("''").unwrap(), "''''''");
        assert_eq!(literal("a\\b").unwrap(), "E'a\\\\b'");
        assert_eq!(literal("it's a\\'trick").unwrap(), "E'it''s a\\\\''trick'");
        assert_eq!(literal("$$").unwrap(), "'$$'");
        assert!(literal("a\0").is_err());
    }

    #[test]
    fn dollar_quotes() {
        assert_eq!(dollar_quote("select 1"), "$body$select 1$body$");
        assert_eq!(dollar_quote("select '$$'"), "$body$select '$$'$body$");
        assert_eq!(dollar_quote("a $body$ b"), "$body1$a $body$ b$body1$");
        assert_eq!(
            dollar_quote("$body$ $body1$"),
            "$body2$$body$ $body1$$body2$"
        );
        // A body ending in `$body` would otherwise close at `$body$body$`.
        assert_eq!(dollar_quote("x $body"), "$body1$x $body$body1$");
        assert_eq!(dollar_quote(""), "$body$$body$");
    }
}
