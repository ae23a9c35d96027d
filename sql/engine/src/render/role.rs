//! Roles.

use super::*;

pub(super) fn create_role(r: &Role) -> Result<String, Error> {
    let body = format!(
        "\nbegin\n  if not exists (select from pg_catalog.pg_roles where rolname = {}) then\n    create role {} {};\n  end if;\nend\n",
        literal(&r.name)?,
        ident(&r.name)?,
        if r.login { "login" } else { "nologin" }
    );
    let mut s = format!("do {};\n", dollar_quote(&body));
    for member in &r.member_of_granted_to {
        s.push_str(&format!(
            "grant {} to {};\n",
            ident(&r.name)?,
            ident(member)?
        ));
    }
    for parent in &r.inherits {
        s.push_str(&format!(
            "grant {} to {};\n",
            ident(parent)?,
            ident(&r.name)?
        ));
    }
    Ok(s)
}
