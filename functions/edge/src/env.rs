//! Variables and secrets of a function, as the host passes them (`Deno.env` on Supabase).

use std::collections::BTreeMap;
use std::fmt;

use crate::error::Error;

/// A secret value. `Debug` and `Display` redact it, so it cannot reach a log by accident; the
/// value is only reachable through [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, for the one place that sends it (a header, a signature check).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// The environment of one invocation.
#[derive(Clone, Default)]
pub struct Env {
    vars: BTreeMap<String, String>,
}

impl fmt::Debug for Env {
    // Only the names: any of the values may be a secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.vars.keys()).finish()
    }
}

impl Env {
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Env {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// A plain (non-secret) variable; missing or empty is a configuration error.
    pub fn var(&self, name: &str) -> Result<&str, Error> {
        match self.vars.get(name) {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(Error::Config(name.to_string())),
        }
    }

    /// A plain variable with a default.
    pub fn var_or<'a>(&'a self, name: &str, default: &'a str) -> &'a str {
        self.var(name).unwrap_or(default)
    }

    /// A secret; missing or empty is a configuration error that names it (never its value).
    pub fn secret(&self, name: &str) -> Result<Secret, Error> {
        self.var(name).map(Secret::new)
    }

    /// A secret that a deployment may leave out.
    pub fn optional_secret(&self, name: &str) -> Option<Secret> {
        self.secret(name).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_in_debug_and_display() {
        let env = Env::from_pairs([("ANTHROPIC_API_KEY", "sk-ant-very-secret")]);
        let s = env.secret("ANTHROPIC_API_KEY").unwrap();
        assert_eq!(format!("{s}"), "[redacted]");
        assert!(!format!("{s:?}").contains("very-secret"));
        assert!(!format!("{env:?}").contains("very-secret"));
        assert_eq!(s.expose(), "sk-ant-very-secret");
    }

    #[test]
    fn missing_or_empty_is_a_config_error_naming_the_variable() {
        let env = Env::from_pairs([("EMPTY", "")]);
        for name in ["EMPTY", "ABSENT"] {
            let err = env.var(name).unwrap_err();
            assert!(matches!(&err, Error::Config(n) if n == name));
        }
        assert_eq!(env.var_or("ABSENT", "x"), "x");
    }
}
