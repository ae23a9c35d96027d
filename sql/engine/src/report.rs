//! A readable per-table report of the folded schema, for reviewers and snapshots.

use std::fmt::Write;

use crate::catalog::Catalog;
use crate::describe::{self, Style};
use crate::model::*;
use crate::Error;

/// References as an arrow, which reads faster in review.
const ARROW: Style = Style {
    references: "->",
    ..Style::SQL
};

/// Every table with its columns, constraints, indexes, triggers, partitions and realtime
/// membership; then enums and functions.
pub fn tables(catalog: &Catalog) -> Result<String, Error> {
    let mut out = String::new();
    for t in &catalog.tables {
        let _ = writeln!(out, "## {}", t.name);
        if let Some(c) = &t.comment {
            let _ = writeln!(out, "{c}");
        }
        let _ = writeln!(out, "rls: enabled");
        if let Some(PartitionBy::Range(cols)) = &t.partition_by {
            let _ = writeln!(out, "partitioned: by range ({})", cols.join(", "));
        }
        for p in catalog.partitions.iter().filter(|p| p.parent == t.name) {
            let bound = match &p.bound {
                PartitionBound::Default => "default".to_string(),
                PartitionBound::Range { from, to } => format!("from {from} to {to}"),
            };
            let _ = writeln!(out, "partition: {} ({bound})", p.name);
        }
        let _ = writeln!(out, "columns:");
        for c in &t.columns {
            let mut line = format!("  {:<22} {}", c.name, describe::column(c)?);
            if c.secret {
                line.push_str(" [secret: redacted in audit]");
            }
            let _ = writeln!(out, "{}", line.trim_end());
        }
        let _ = writeln!(out, "constraints:");
        for c in &t.constraints {
            let what = describe::constraint(&c.kind, ARROW)?;
            let _ = writeln!(out, "  {}: {what}", c.name);
        }
        let indexes = catalog.indexes_on(&t.name);
        if !indexes.is_empty() {
            let _ = writeln!(out, "indexes:");
            for i in indexes {
                let _ = writeln!(out, "  {}: {}", i.name, describe::index(i, Style::SQL)?);
            }
        }
        let triggers = catalog.triggers_on(&t.name);
        if !triggers.is_empty() {
            let _ = writeln!(out, "triggers:");
            for tr in triggers {
                let args = if tr.args.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", tr.args.join(", "))
                };
                let _ = writeln!(out, "  {}: {}{args}", tr.name, tr.function);
            }
        }
        let pubs: Vec<&str> = catalog
            .publications
            .iter()
            .filter(|(_, tn)| tn == &t.name)
            .map(|(p, _)| p.as_str())
            .collect();
        if !pubs.is_empty() {
            let _ = writeln!(out, "realtime: {}", pubs.join(", "));
        }
        let policies: Vec<&Policy> = catalog
            .policies
            .iter()
            .filter(|p| p.table == t.name)
            .collect();
        let _ = writeln!(
            out,
            "policies: {}",
            if policies.is_empty() {
                "none (deny all)".to_string()
            } else {
                policies.len().to_string()
            }
        );
        out.push('\n');
    }
    let _ = writeln!(out, "## enums");
    for e in &catalog.enums {
        let _ = writeln!(out, "  {}: {}", e.name, e.values.join(", "));
    }
    let _ = writeln!(out, "\n## functions");
    for f in &catalog.functions {
        let args = describe::arguments(f, false)?;
        let security = describe::security(f.security);
        let execute = if f.execute.is_empty() {
            "nobody".to_string()
        } else {
            f.execute.join(", ")
        };
        let _ = writeln!(
            out,
            "  {}({}) security {security}; execute: {execute}",
            f.name,
            args.join(", ")
        );
    }
    Ok(out)
}
