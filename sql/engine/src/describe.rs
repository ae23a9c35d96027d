//! One-line descriptions of model items (columns, constraints, indexes, function arguments),
//! shared by the schema reference (`docs`), the review report (`report`) and the test that
//! compares the migrated database with the model, so the three spell them alike.

use crate::model::*;
use crate::render;
use crate::Error;

/// How a description is spelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// Between a foreign key's columns and the table it references.
    pub references: &'static str,
    /// Whether expressions are written out. Without them a check is `check`, an expression key
    /// of an index `(expression)`, and an index predicate is left out: what stays is comparable
    /// with a database catalog, which respells expressions.
    pub expressions: bool,
}

impl Style {
    /// SQL words, expressions as the migrations render them.
    pub const SQL: Style = Style {
        references: "references",
        expressions: true,
    };
    /// [`Style::SQL`] without the expressions.
    pub const SHAPE: Style = Style {
        references: "references",
        expressions: false,
    };
}

pub fn on_delete(a: OnDelete) -> &'static str {
    match a {
        OnDelete::NoAction => "no action",
        OnDelete::Restrict => "restrict",
        OnDelete::Cascade => "cascade",
        OnDelete::SetNull => "set null",
    }
}

pub fn security(s: Security) -> &'static str {
    match s {
        Security::Definer => "definer",
        Security::Invoker => "invoker",
    }
}

/// A column's type as the migrations write it.
pub fn column_type(c: &Column) -> Result<String, Error> {
    render::sql_type(&c.ty)
}

/// A column's default expression, if it has one.
pub fn column_default(c: &Column) -> Result<Option<String>, Error> {
    c.default.as_ref().map(render::expr).transpose()
}

/// A column without its name: `<type>[ identity] not null|null[ default <expr>]`.
pub fn column(c: &Column) -> Result<String, Error> {
    let mut s = column_type(c)?;
    if c.identity {
        s.push_str(" identity");
    }
    s.push_str(if c.not_null { " not null" } else { " null" });
    if let Some(d) = column_default(c)? {
        s.push_str(&format!(" default {d}"));
    }
    Ok(s)
}

/// A constraint without its name, e.g. `foreign key (a) references public.t (id) on delete
/// cascade`.
pub fn constraint(kind: &ConstraintKind, style: Style) -> Result<String, Error> {
    Ok(match kind {
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
            "foreign key ({}) {} {references} ({}) on delete {}",
            columns.join(", "),
            style.references,
            ref_columns.join(", "),
            on_delete(*a)
        ),
        ConstraintKind::Check(e) if style.expressions => {
            format!("check ({})", render::expr(e)?)
        }
        ConstraintKind::Check(_) => "check".to_string(),
    })
}

/// An index without its name or table: `[unique ]<method> (<keys>)[ where <predicate>]`.
pub fn index(i: &Index, style: Style) -> Result<String, Error> {
    let keys: Vec<String> = i
        .keys
        .iter()
        .map(|k| match k {
            IndexKey::Column(c) => Ok(c.clone()),
            IndexKey::Desc(c) => Ok(format!("{c} desc")),
            IndexKey::Expr(e) if style.expressions => render::expr(e),
            IndexKey::Expr(_) => Ok("(expression)".to_string()),
        })
        .collect::<Result<_, _>>()?;
    let mut s = format!(
        "{}{} ({})",
        if i.unique { "unique " } else { "" },
        i.method.as_str(),
        keys.join(", ")
    );
    if let (Some(p), true) = (&i.predicate, style.expressions) {
        s.push_str(&format!(" where {}", render::expr(p)?));
    }
    Ok(s)
}

/// A function's arguments as `<name> <type>`, with ` default <expr>` when `defaults` is set.
pub fn arguments(f: &Function, defaults: bool) -> Result<Vec<String>, Error> {
    f.args
        .iter()
        .map(|a| {
            let mut s = format!("{} {}", a.name, render::sql_type(&a.ty)?);
            if let (Some(d), true) = (&a.default, defaults) {
                s.push_str(&format!(" default {}", render::expr(d)?));
            }
            Ok(s)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_leaves_expressions_out() {
        let t = Name::new("public", "t");
        let mut i = Index::on(&t, &["a"]);
        i.unique = true;
        i.keys.push(IndexKey::Expr(Expr::call(
            "pg_catalog",
            "lower",
            vec![Expr::column("b")],
        )));
        i.predicate = Some(Expr::Not(Box::new(Expr::column("archived"))));
        assert_eq!(
            index(&i, Style::SQL).unwrap(),
            "unique btree (a, pg_catalog.lower(b)) where not (archived)"
        );
        assert_eq!(
            index(&i, Style::SHAPE).unwrap(),
            "unique btree (a, (expression))"
        );
        let check = ConstraintKind::Check(Expr::column("ok"));
        assert_eq!(constraint(&check, Style::SQL).unwrap(), "check (ok)");
        assert_eq!(constraint(&check, Style::SHAPE).unwrap(), "check");
        let fk = ConstraintKind::ForeignKey {
            columns: vec!["a".into()],
            references: t,
            ref_columns: vec!["id".into()],
            on_delete: OnDelete::SetNull,
        };
        assert_eq!(
            constraint(
                &fk,
                Style {
                    references: "->",
                    ..Style::SQL
                }
            )
            .unwrap(),
            "foreign key (a) -> public.t (id) on delete set null"
        );
    }
}
