//! Rows inserted by a release.

use super::*;

pub(super) fn insert(i: &Insert) -> Result<String, Error> {
    let rows = i
        .rows
        .iter()
        .map(|r| {
            Ok(format!(
                "({})",
                r.iter()
                    .map(expr)
                    .collect::<Result<Vec<_>, _>>()?
                    .join(", ")
            ))
        })
        .collect::<Result<Vec<_>, Error>>()?;
    // Without a target, any unique conflict (e.g. a partial unique index) skips the row.
    let target = if i.conflict_target.is_empty() {
        String::new()
    } else {
        format!("({}) ", idents(&i.conflict_target)?)
    };
    Ok(format!(
        "insert into {} ({}) values\n  {}\non conflict {target}do nothing;\n",
        name(&i.table)?,
        idents(&i.columns)?,
        rows.join(",\n  "),
    ))
}
