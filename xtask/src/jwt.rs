//! Legacy HS256 JSON Web Tokens signed with the local stack's JWT secret, as Supabase's local
//! stack makes its legacy `anon` and `service_role` keys. They stay accepted for as long as hosted
//! accepts them; the current keys (publishable, secret, ES256 signing) are in [`crate::keys`].

/// The legacy JWT secret of Supabase's local stack (`supabase start`), so keys made here are the
/// ones Supabase's own tooling and docs print for a local project.
pub const LOCAL_JWT_SECRET: &str = "super-secret-jwt-token-with-at-least-32-characters-long";

/// Expiry Supabase's local stack puts in its demo keys (2032-11-12).
pub const LOCAL_KEY_EXP: i64 = 1_983_812_996;

/// Signs `claims` (a JSON object) with HS256.
pub fn sign_hs256(claims: &serde_json::Value, secret: &str) -> String {
    moha_edge::auth::sign_hs256(&claims.to_string(), secret.as_bytes())
}

/// The legacy API key for a database role (`anon` or `service_role`), as `supabase start` makes
/// it when the project has no signing keys.
pub fn api_key(role: &str, secret: &str) -> String {
    // serde_json keeps insertion order (feature `preserve_order`), so the payload reads
    // iss, role, exp exactly as Supabase's does.
    let claims = serde_json::json!({ "iss": "supabase-demo", "role": role, "exp": LOCAL_KEY_EXP });
    sign_hs256(&claims, secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_keys_match_supabase_start() {
        // The keys `supabase start` prints for every local project.
        assert_eq!(
            api_key("anon", LOCAL_JWT_SECRET),
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZS1kZW1vIiwicm9sZSI6ImFub24iLCJleHAiOjE5ODM4MTI5OTZ9.CRXP1A7WOeoJeXxjNni43kdQwgnWNReilDMblYTn_I0"
        );
        assert_eq!(
            api_key("service_role", LOCAL_JWT_SECRET),
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZS1kZW1vIiwicm9sZSI6InNlcnZpY2Vfcm9sZSIsImV4cCI6MTk4MzgxMjk5Nn0.EGIM96RAZx35lJzdJsyH-qQwv8Hdp7fsn3W0YpN81IU"
        );
    }
}
