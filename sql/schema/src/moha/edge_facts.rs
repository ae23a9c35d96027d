//! Facts the Rust edge functions and their TypeScript hosts (`supabase/functions/_shared`, the
//! local gateway) share, kept once here and rendered into both by `cargo xtask generate`
//! ([`rust`] → `functions/edge/src/facts.rs`, [`typescript`] → `_shared/facts.ts`).

use std::fmt::Write;

use super::observability::METRICS_READER;
use super::{AI_AGENT, BUSINESS_ROLES, MOHA_AGENT};

/// Where [`rust`] is written.
pub const RUST_PATH: &str = "functions/edge/src/facts.rs";
/// Where [`typescript`] is written.
pub const TYPESCRIPT_PATH: &str = "supabase/functions/_shared/facts.ts";

/// The edge functions: crate `functions/<name>`, served from `supabase/functions/<name>`.
pub const FUNCTIONS: &[&str] = &[
    "process-render-request",
    "fetch-social-updates",
    "generate-ai-insights",
    "assign-leads",
    "mcp",
    "metrics",
    "social-connect",
];

/// Largest request body a function accepts (1 MiB).
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// The CORS headers of Supabase's examples (`_shared/cors.ts`).
pub const CORS_HEADERS: &[(&str, &str)] = &[
    ("access-control-allow-origin", "*"),
    (
        "access-control-allow-headers",
        "authorization, x-client-info, apikey, content-type",
    ),
    ("access-control-allow-methods", "POST, OPTIONS"),
];

/// The roles a signed-in user's token may name: `authenticated`, and the database role of each
/// RBAC role, which the project's access token hook puts in the token.
pub fn user_roles() -> Vec<&'static str> {
    let mut roles = vec!["authenticated"];
    roles.extend(BUSINESS_ROLES.iter().map(|(_, r)| *r));
    roles
}

/// Every role a function may ask its host for: the users' roles, the AI agent's, the service
/// role (for the one statement that needs it), the outside agents' (mcp) and the metrics
/// reader's.
pub fn host_roles() -> Vec<&'static str> {
    let mut roles = user_roles();
    roles.extend([AI_AGENT, "service_role", MOHA_AGENT, METRICS_READER]);
    roles
}

/// The first line of every generated file but the migrations' (after the comment marker).
const HEADER: &str =
    "generated — do not edit: run `cargo xtask generate` (from the model in sql/schema/src/moha)";

/// One shared constant: its doc line, its name and its value.
struct Fact {
    doc: &'static str,
    name: &'static str,
    value: Value,
}

enum Value {
    Strings(Vec<&'static str>),
    Bytes(usize),
    Headers(&'static [(&'static str, &'static str)]),
}

fn facts() -> Vec<Fact> {
    vec![
        Fact {
            doc: "The edge functions: crate `functions/<name>`, served from `supabase/functions/<name>`.",
            name: "FUNCTIONS",
            value: Value::Strings(FUNCTIONS.to_vec()),
        },
        Fact {
            doc: "Largest request body a function accepts (1 MiB).",
            name: "MAX_BODY_BYTES",
            value: Value::Bytes(MAX_BODY_BYTES),
        },
        Fact {
            doc: "The CORS headers of Supabase's examples (`_shared/cors.ts`).",
            name: "CORS_HEADERS",
            value: Value::Headers(CORS_HEADERS),
        },
        Fact {
            doc: "The roles a signed-in user's token may name: `authenticated` and the business roles.",
            name: "USER_ROLES",
            value: Value::Strings(user_roles()),
        },
        Fact {
            doc: "Every role a function may ask its host for.",
            name: "HOST_ROLES",
            value: Value::Strings(host_roles()),
        },
    ]
}

fn quoted(items: &[&str]) -> String {
    items
        .iter()
        .map(|s| format!("{s:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `functions/edge/src/facts.rs`.
pub fn rust() -> String {
    let mut out = format!("//! {HEADER}\n//!\n//! Facts shared with the TypeScript hosts (`supabase/functions/_shared/facts.ts`), kept in\n//! sql/schema/src/moha/edge_facts.rs.\n");
    for Fact { doc, name, value } in facts() {
        let (ty, value) = match value {
            Value::Strings(items) => ("&[&str]", format!("&[{}]", quoted(&items))),
            Value::Bytes(n) => ("usize", n.to_string()),
            Value::Headers(pairs) => (
                "&[(&str, &str)]",
                format!(
                    "&[{}]",
                    pairs
                        .iter()
                        .map(|(k, v)| format!("({k:?}, {v:?})"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
        };
        let _ = write!(out, "\n/// {doc}\npub const {name}: {ty} = {value};\n");
    }
    out
}

/// `supabase/functions/_shared/facts.ts`.
pub fn typescript() -> String {
    let mut out = format!("// {HEADER}\n// Facts shared with the Rust edge functions (moha_edge::facts), kept in\n// sql/schema/src/moha/edge_facts.rs.\n");
    for Fact { doc, name, value } in facts() {
        let value = match value {
            Value::Strings(items) => format!(": readonly string[] = [{}]", quoted(&items)),
            Value::Bytes(n) => format!(" = {n}"),
            Value::Headers(pairs) => format!(
                ": Readonly<Record<string, string>> = {{\n{}}}",
                pairs
                    .iter()
                    .map(|(k, v)| format!("  {k:?}: {v:?},\n"))
                    .collect::<String>()
            ),
        };
        let _ = write!(out, "\n/** {doc} */\nexport const {name}{value};\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_renderings_carry_the_same_facts() {
        let (rs, ts) = (rust(), typescript());
        for out in [&rs, &ts] {
            assert!(out.lines().next().unwrap().ends_with(HEADER), "{out}");
            for role in host_roles() {
                assert!(out.contains(&format!("{role:?}")), "{role} in {out}");
            }
            assert!(out.contains("= 1048576;"), "{out}");
        }
        assert_eq!(host_roles().len(), 9);
        assert!(user_roles().iter().all(|r| !r.contains('"')));
    }
}
