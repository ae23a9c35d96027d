//! Grants and revokes.

use super::function::signature;
use super::*;

pub(super) fn grant(g: &Grant) -> Result<String, Error> {
    let privs: Vec<&str> = g.privileges.iter().map(|p| p.as_str()).collect();
    let privs = privs.join(", ");
    let (privs, object) = match &g.object {
        GrantObject::Table(t) => (privs, format!("table {}", name(t)?)),
        GrantObject::Columns(t, cols) => {
            let cols = idents(cols)?;
            let each: Vec<String> = g
                .privileges
                .iter()
                .map(|p| format!("{} ({cols})", p.as_str()))
                .collect();
            (each.join(", "), format!("table {}", name(t)?))
        }
        GrantObject::Schema(s) => (privs, format!("schema {}", ident(s)?)),
        GrantObject::Function(f, types) => (privs, format!("function {}", signature(f, types)?)),
    };
    let to = roles(&g.roles)?;
    Ok(if g.revoke {
        format!("revoke {privs} on {object} from {to};\n")
    } else {
        format!("grant {privs} on {object} to {to};\n")
    })
}
