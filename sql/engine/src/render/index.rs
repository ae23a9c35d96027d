//! Indexes.

use super::*;

pub(super) fn create_index(i: &Index) -> Result<String, Error> {
    let keys = i
        .keys
        .iter()
        .map(|k| {
            Ok(match k {
                IndexKey::Column(c) => ident(c)?,
                IndexKey::Desc(c) => format!("{} desc", ident(c)?),
                IndexKey::Expr(e) => format!("({})", expr(e)?),
            })
        })
        .collect::<Result<Vec<_>, Error>>()?
        .join(", ");
    let mut s = format!(
        "create {}index {} on {}{} ({keys})",
        if i.unique { "unique " } else { "" },
        ident(&i.name)?,
        name(&i.table)?,
        if i.method == IndexMethod::Btree {
            String::new()
        } else {
            format!(" using {}", i.method.as_str())
        }
    );
    if let Some(p) = &i.predicate {
        s.push_str(&format!(" where {}", expr(p)?));
    }
    s.push_str(";\n");
    Ok(s)
}

pub(super) fn drop_index(table: &Name, n: &str) -> Result<String, Error> {
    Ok(format!(
        "drop index if exists {};\n",
        name(&Name::new(&table.schema, n))?
    ))
}
