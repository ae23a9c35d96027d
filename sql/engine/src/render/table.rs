//! Tables: columns, constraints, comments, partitions.

use super::*;

/// The waiver of a column as two comment lines (the reason, then squawk's ignore comment, which
/// covers the next line), each followed by `indent`; empty without a waiver.
pub(super) fn lint_ignore(c: &Column, indent: &str) -> Result<String, Error> {
    let Some(w) = &c.lint_ignore else {
        return Ok(String::new());
    };
    let what = || format!("squawk waiver on column {}", c.name);
    if w.rule.is_empty()
        || !w
            .rule
            .chars()
            .all(|ch| ch.is_ascii_lowercase() || ch == '-')
    {
        return Err(Error::Invalid {
            what: what(),
            reason: "a squawk rule name is lowercase letters and dashes",
        });
    }
    // A line break would end the comment and turn the rest of the reason into SQL.
    if w.reason.trim().is_empty() || w.reason.contains(['\n', '\r']) {
        return Err(Error::Invalid {
            what: what(),
            reason: "the reason must be one non-empty line",
        });
    }
    Ok(format!(
        "-- {}\n{indent}-- squawk-ignore {}\n{indent}",
        w.reason, w.rule
    ))
}

fn column_def(c: &Column) -> Result<String, Error> {
    let mut s = format!("{} {}", ident(&c.name)?, sql_type(&c.ty)?);
    if c.identity {
        s.push_str(" generated always as identity");
    }
    if c.not_null {
        s.push_str(" not null");
    }
    if let Some(d) = &c.default {
        s.push_str(&format!(" default {}", expr(d)?));
    }
    Ok(s)
}

fn constraint_def(c: &Constraint) -> Result<String, Error> {
    let body = match &c.kind {
        ConstraintKind::PrimaryKey(cols) => format!("primary key ({})", idents(cols)?),
        ConstraintKind::Unique(cols) => format!("unique ({})", idents(cols)?),
        ConstraintKind::UniqueNullsNotDistinct(cols) => {
            format!("unique nulls not distinct ({})", idents(cols)?)
        }
        ConstraintKind::ForeignKey {
            columns,
            references,
            ref_columns,
            on_delete,
        } => {
            let action = match on_delete {
                OnDelete::NoAction => "",
                OnDelete::Restrict => " on delete restrict",
                OnDelete::Cascade => " on delete cascade",
                OnDelete::SetNull => " on delete set null",
            };
            format!(
                "foreign key ({}) references {} ({}){action}",
                idents(columns)?,
                name(references)?,
                idents(ref_columns)?
            )
        }
        ConstraintKind::Check(e) => format!("check ({})", expr(e)?),
    };
    Ok(format!("constraint {} {body}", ident(&c.name)?))
}

pub(super) fn create_table(t: &Table) -> Result<String, Error> {
    let tn = name(&t.name)?;
    let mut lines = Vec::new();
    for c in &t.columns {
        lines.push(format!("{}{}", lint_ignore(c, "  ")?, column_def(c)?));
    }
    for c in &t.constraints {
        lines.push(constraint_def(c)?);
    }
    let mut s = format!("create table {tn} (\n  {}\n)", lines.join(",\n  "));
    if let Some(PartitionBy::Range(cols)) = &t.partition_by {
        s.push_str(&format!(" partition by range ({})", idents(cols)?));
    }
    s.push_str(";\n");
    s.push_str(&format!("alter table {tn} enable row level security;\n"));
    s.push_str(&comment_on("table", &tn, &t.comment)?);
    for c in &t.columns {
        s.push_str(&comment_on(
            "column",
            &format!("{tn}.{}", ident(&c.name)?),
            &c.comment,
        )?);
    }
    Ok(s)
}

pub(super) fn add_column(table: &Name, column: &Column) -> Result<String, Error> {
    let tn = name(table)?;
    let mut s = format!(
        "{}alter table {tn} add column {};\n",
        lint_ignore(column, "")?,
        column_def(column)?
    );
    s.push_str(&comment_on(
        "column",
        &format!("{tn}.{}", ident(&column.name)?),
        &column.comment,
    )?);
    Ok(s)
}

pub(super) fn add_constraint(table: &Name, constraint: &Constraint) -> Result<String, Error> {
    Ok(format!(
        "alter table {} add {};\n",
        name(table)?,
        constraint_def(constraint)?
    ))
}

pub(super) fn create_partition(p: &Partition) -> Result<String, Error> {
    let bound = match &p.bound {
        PartitionBound::Default => "default".to_string(),
        PartitionBound::Range { from, to } => {
            format!("for values from ({}) to ({})", literal(from)?, literal(to)?)
        }
    };
    let pn = name(&p.name)?;
    Ok(format!(
        "create table {pn} partition of {} {bound};\nalter table {pn} enable row level security;\n",
        name(&p.parent)?
    ))
}
