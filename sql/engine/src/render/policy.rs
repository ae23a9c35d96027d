//! Row level security policies.

use super::*;

pub(super) fn create_policy(p: &Policy) -> Result<String, Error> {
    let mut s = format!(
        "create policy {} on {}\n  as {}\n  for {}\n  to {}",
        ident(&p.name)?,
        name(&p.table)?,
        if p.permissive {
            "permissive"
        } else {
            "restrictive"
        },
        p.command.as_str(),
        roles(&p.roles)?
    );
    if let Some(u) = &p.using {
        s.push_str(&format!("\n  using ({})", expr(u)?));
    }
    if let Some(w) = &p.with_check {
        s.push_str(&format!("\n  with check ({})", expr(w)?));
    }
    s.push_str(";\n");
    Ok(s)
}

pub(super) fn drop_policy(table: &Name, n: &str) -> Result<String, Error> {
    Ok(format!(
        "drop policy if exists {} on {};\n",
        ident(n)?,
        name(table)?
    ))
}
