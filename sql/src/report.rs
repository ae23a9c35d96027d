//! A readable per-table report of the folded schema, for reviewers and snapshots.

use std::fmt::Write;

use crate::catalog::Catalog;
use crate::model::*;
use crate::render;
use crate::Error;

fn on_delete(a: OnDelete) -> &'static str {
    match a {
        OnDelete::NoAction => "no action",
        OnDelete::Restrict => "restrict",
        OnDelete::Cascade => "cascade",
        OnDelete::SetNull => "set null",
    }
}

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
            let mut line = format!("  {:<22} {}", c.name, render::sql_type(&c.ty)?);
            if c.identity {
                line.push_str(" identity");
            }
            line.push_str(if c.not_null { " not null" } else { " null" });
            if let Some(d) = &c.default {
                line.push_str(&format!(" default {}", render::expr(d)?));
            }
            if c.secret {
                line.push_str(" [secret: redacted in audit]");
            }
            let _ = writeln!(out, "{}", line.trim_end());
        }
        let _ = writeln!(out, "constraints:");
        for c in &t.constraints {
            let what = match &c.kind {
                ConstraintKind::PrimaryKey(cols) => format!("primary key ({})", cols.join(", ")),
                ConstraintKind::Unique(cols) => format!("unique ({})", cols.join(", ")),
                ConstraintKind::UniqueNullsNotDistinct(cols) => {
                    format!("unique nulls not distinct ({})", cols.join(", "))
                }
                ConstraintKind::ForeignKey {
                    columns,
                    references,
                    ref_columns,
                    on_delete: a,
                } => format!(
                    "foreign key ({}) -> {references} ({}) on delete {}",
                    columns.join(", "),
                    ref_columns.join(", "),
                    on_delete(*a)
                ),
                ConstraintKind::Check(e) => format!("check ({})", render::expr(e)?),
            };
            let _ = writeln!(out, "  {}: {what}", c.name);
        }
        let indexes: Vec<&Index> = catalog
            .indexes
            .iter()
            .filter(|i| i.table == t.name)
            .collect();
        if !indexes.is_empty() {
            let _ = writeln!(out, "indexes:");
            for i in indexes {
                let keys: Vec<String> = i
                    .keys
                    .iter()
                    .map(|k| match k {
                        IndexKey::Column(c) => Ok(c.clone()),
                        IndexKey::Desc(c) => Ok(format!("{c} desc")),
                        IndexKey::Expr(e) => render::expr(e),
                    })
                    .collect::<Result<_, _>>()?;
                let mut line = format!(
                    "  {}: {}{} ({})",
                    i.name,
                    if i.unique { "unique " } else { "" },
                    i.method.as_str(),
                    keys.join(", ")
                );
                if let Some(p) = &i.predicate {
                    line.push_str(&format!(" where {}", render::expr(p)?));
                }
                let _ = writeln!(out, "{line}");
            }
        }
        let triggers: Vec<&Trigger> = catalog
            .triggers
            .iter()
            .filter(|tr| tr.table == t.name)
            .collect();
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
        let args: Vec<String> = f
            .args
            .iter()
            .map(|a| Ok(format!("{} {}", a.name, render::sql_type(&a.ty)?)))
            .collect::<Result<_, Error>>()?;
        let security = match f.security {
            Security::Definer => "definer",
            Security::Invoker => "invoker",
        };
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
