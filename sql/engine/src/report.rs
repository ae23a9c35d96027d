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

/// Every policy of the folded schema as reviewers read the access matrix: per table, one line
/// per role and action (`all` policies under `all`) naming the policy, then its `using` and
/// `with check` expressions. Tables in name order, then role, then action.
pub fn policies(catalog: &Catalog) -> Result<String, Error> {
    let mut rows: Vec<(&Name, &str, Command, &Policy)> = catalog
        .policies
        .iter()
        .flat_map(|p| {
            p.roles
                .iter()
                .map(move |r| (&p.table, r.as_str(), p.command, p))
        })
        .collect();
    rows.sort_by(|a, b| {
        (a.0.to_string(), a.1, a.2 as u8, &a.3.name).cmp(&(
            b.0.to_string(),
            b.1,
            b.2 as u8,
            &b.3.name,
        ))
    });
    let mut out = String::new();
    let mut table: Option<&Name> = None;
    for (t, role, command, p) in rows {
        if table != Some(t) {
            if table.is_some() {
                out.push('\n');
            }
            let _ = writeln!(out, "## {t}");
            table = Some(t);
        }
        let kind = if p.permissive { "" } else { " (restrictive)" };
        let _ = writeln!(out, "{role:<14} {:<6} {}{kind}", command.as_str(), p.name);
        if let Some(u) = &p.using {
            let _ = writeln!(out, "    using:      {}", crate::render::expr(u)?);
        }
        if let Some(c) = &p.with_check {
            let _ = writeln!(out, "    with check: {}", crate::render::expr(c)?);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_by_table_role_and_action() {
        let mut releases = crate::fixture::releases();
        let notes = public("project_notes");
        releases[0].changes.extend([
            Change::CreatePolicy(Policy {
                name: "notes_insert_own".into(),
                table: notes.clone(),
                command: Command::Insert,
                permissive: true,
                roles: vec!["authenticated".into()],
                using: None,
                with_check: Some(Expr::column("project_id").eq(Expr::Sql("auth.uid()"))),
            }),
            Change::CreatePolicy(Policy {
                name: "notes_select".into(),
                table: notes,
                command: Command::Select,
                permissive: false,
                roles: vec!["authenticated".into(), "anon".into()],
                using: Some(Expr::Bool(true)),
                with_check: None,
            }),
        ]);
        let catalog = Catalog::from_releases(&releases).unwrap();
        assert_eq!(
            policies(&catalog).unwrap(),
            "## public.project_notes\n\
             anon           select notes_select (restrictive)\n    using:      true\n\
             authenticated  select notes_select (restrictive)\n    using:      true\n\
             authenticated  insert notes_insert_own\n    with check: project_id = auth.uid()\n"
        );
    }
}
