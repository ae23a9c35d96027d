//! Publications (Realtime's `supabase_realtime`).

use super::*;

pub(super) fn add_table(publication: &str, table: &Name) -> Result<String, Error> {
    Ok(format!(
        "alter publication {} add table {};\n",
        ident(publication)?,
        name(table)?
    ))
}

pub(super) fn drop_table(publication: &str, table: &Name) -> Result<String, Error> {
    Ok(format!(
        "alter publication {} drop table {};\n",
        ident(publication)?,
        name(table)?
    ))
}
