//! Functions and their execute grants.

use super::*;

/// The roles execute is revoked from before a function's own grants: `public` covers every
/// role, the others because Supabase's default privileges grant them execute explicitly.
pub const API_ROLES: &[&str] = &["anon", "authenticated", "service_role"];

pub(super) fn signature(n: &Name, types: &[SqlType]) -> Result<String, Error> {
    Ok(format!(
        "{}({})",
        name(n)?,
        types
            .iter()
            .map(sql_type)
            .collect::<Result<Vec<_>, _>>()?
            .join(", ")
    ))
}

pub(super) fn create_function(f: &Function) -> Result<String, Error> {
    let args = f
        .args
        .iter()
        .map(|a| {
            let mut s = format!("{} {}", ident(&a.name)?, sql_type(&a.ty)?);
            if let Some(d) = &a.default {
                s.push_str(&format!(" default {}", expr(d)?));
            }
            Ok(s)
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let args = if args.is_empty() {
        String::new()
    } else {
        format!("\n  {}\n", args.join(",\n  "))
    };
    let returns = match &f.returns {
        Returns::Type(t) => sql_type(t)?,
        Returns::Table(cols) => format!(
            "table ({})",
            cols.iter()
                .map(|(n, t)| Ok(format!("{} {}", ident(n)?, sql_type(t)?)))
                .collect::<Result<Vec<_>, Error>>()?
                .join(", ")
        ),
        Returns::Trigger => "trigger".into(),
        Returns::Void => "void".into(),
    };
    let language = match f.language {
        Language::Plpgsql => "plpgsql",
        Language::Sql => "sql",
    };
    let volatility = match f.volatility {
        Volatility::Immutable => "immutable",
        Volatility::Stable => "stable",
        Volatility::Volatile => "volatile",
    };
    let security = match f.security {
        Security::Invoker => "security invoker",
        Security::Definer => "security definer",
    };
    let sig = signature(&f.name, &f.signature())?;
    let mut s = format!(
        "create or replace function {}({args})\nreturns {returns}\nlanguage {language}\n{volatility}\n{security}\nset search_path = {FUNCTION_SEARCH_PATH}\nas {};\n",
        name(&f.name)?,
        dollar_quote(f.body)
    );
    let mut revoke_from = vec!["public".to_string()];
    revoke_from.extend(API_ROLES.iter().map(|r| r.to_string()));
    s.push_str(&format!(
        "revoke all on function {sig} from {};\n",
        roles(&revoke_from)?
    ));
    if !f.execute.is_empty() {
        s.push_str(&format!(
            "grant execute on function {sig} to {};\n",
            roles(&f.execute)?
        ));
    }
    s.push_str(&comment_on("function", &sig, &f.comment)?);
    Ok(s)
}
