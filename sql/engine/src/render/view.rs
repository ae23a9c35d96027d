//! Views.

use super::*;

pub(super) fn create_view(v: &View) -> Result<String, Error> {
    let opts = if v.security_invoker {
        " with (security_invoker = true)"
    } else {
        ""
    };
    Ok(format!(
        "create or replace view {}{opts} as\n{};\n",
        name(&v.name)?,
        v.query.trim_end()
    ))
}
