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
    "generated — do not edit: run `cargo xtask generate` (from the model in sql/src/moha)";

fn quoted(items: &[&str]) -> String {
    items
        .iter()
        .map(|s| format!("{s:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `functions/edge/src/facts.rs`.
pub fn rust() -> String {
    let mut out = format!("//! {HEADER}\n//!\n//! Facts shared with the TypeScript hosts (`supabase/functions/_shared/facts.ts`), kept in\n//! sql/src/moha/edge_facts.rs.\n\n");
    let _ = writeln!(
        out,
        "/// The edge functions: crate `functions/<name>`, served from `supabase/functions/<name>`.\npub const FUNCTIONS: &[&str] = &[{}];\n",
        quoted(FUNCTIONS)
    );
    let _ = writeln!(
        out,
        "/// Largest request body a function accepts (1 MiB).\npub const MAX_BODY_BYTES: usize = {MAX_BODY_BYTES};\n"
    );
    let _ = writeln!(
        out,
        "/// The CORS headers of Supabase's examples (`_shared/cors.ts`).\npub const CORS_HEADERS: &[(&str, &str)] = &[{}];\n",
        CORS_HEADERS
            .iter()
            .map(|(k, v)| format!("({k:?}, {v:?})"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(
        out,
        "/// The roles a signed-in user's token may name: `authenticated` and the business roles.\npub const USER_ROLES: &[&str] = &[{}];\n",
        quoted(&user_roles())
    );
    let _ = writeln!(
        out,
        "/// Every role a function may ask its host for.\npub const HOST_ROLES: &[&str] = &[{}];",
        quoted(&host_roles())
    );
    out
}

/// `supabase/functions/_shared/facts.ts`.
pub fn typescript() -> String {
    let mut out = format!(
        "// {HEADER}\n// Facts shared with the Rust edge functions (moha_edge::facts), kept in\n// sql/src/moha/edge_facts.rs.\n\n"
    );
    let _ = writeln!(
        out,
        "/** The edge functions: crate `functions/<name>`, served from `supabase/functions/<name>`. */\nexport const FUNCTIONS: readonly string[] = [{}];\n",
        quoted(FUNCTIONS)
    );
    let _ = writeln!(
        out,
        "/** Largest request body a function accepts (1 MiB). */\nexport const MAX_BODY_BYTES = {MAX_BODY_BYTES};\n"
    );
    let _ = writeln!(
        out,
        "/** The CORS headers of Supabase's examples (`_shared/cors.ts`). */\nexport const CORS_HEADERS: Readonly<Record<string, string>> = {{\n{}}};\n",
        CORS_HEADERS
            .iter()
            .map(|(k, v)| format!("  {k:?}: {v:?},\n"))
            .collect::<String>()
    );
    let _ = writeln!(
        out,
        "/** The roles a signed-in user's token may name: `authenticated` and the business roles. */\nexport const USER_ROLES: readonly string[] = [{}];\n",
        quoted(&user_roles())
    );
    let _ = writeln!(
        out,
        "/** Every role a function may ask its host for. */\nexport const HOST_ROLES: readonly string[] = [{}];",
        quoted(&host_roles())
    );
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
