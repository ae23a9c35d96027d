//! Scheduled calls (issue 17). A Supabase Cron job calls a function through pg_net, and pg_net
//! keeps each request's headers in its queue table, so the job does not send the service key: it
//! sends `Authorization: Bearer <scheduled-call secret>`, a random value kept in Vault
//! (`scheduled_call_secret`) and in the functions' secrets (`SCHEDULED_CALL_SECRET`). A function
//! accepts it at its scheduled entry point only (process-render-request's drain,
//! fetch-social-updates' account fetch), where it runs as the service role would; anywhere else
//! the secret is refused, and it is never a JWT, so nothing else accepts it either.

use serde_json::{json, Value};

use crate::auth::Caller;
use crate::{Env, Request};

/// The function secret holding the scheduled-call secret.
pub const SECRET_VAR: &str = "SCHEDULED_CALL_SECRET";

/// Shorter values are not accepted: a guessable secret would open the entry points.
pub const MIN_SECRET_LEN: usize = 32;

/// Whether `req` carries the scheduled-call secret (compared in constant time). False when the
/// function has no secret set or one shorter than [`MIN_SECRET_LEN`].
pub fn is_scheduled(req: &Request, env: &Env) -> bool {
    let (Some(secret), Some(token)) = (env.optional_secret(SECRET_VAR), req.bearer_token()) else {
        return false;
    };
    let (a, b) = (secret.expose().as_bytes(), token.as_bytes());
    a.len() >= MIN_SECRET_LEN
        && a.len() == b.len()
        && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The claims a scheduled call's database work runs with: the service role's, marked as the
/// schedule's so audit rows and logs can tell them apart.
pub fn claims() -> Value {
    json!({"role": "service_role", "iss": "moha-schedule"})
}

/// The caller of a scheduled call.
pub fn caller() -> Caller {
    Caller::Service { claims: claims() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Method;

    const SECRET: &str = "0123456789abcdef0123456789abcdef-scheduled";

    fn req(auth: Option<&str>) -> Request {
        let mut headers = Vec::new();
        if let Some(a) = auth {
            headers.push(("authorization".to_string(), a.to_string()));
        }
        Request {
            method: Method::Post,
            url: "http://localhost/functions/v1/x".into(),
            headers,
            body: Vec::new(),
        }
    }

    #[test]
    fn only_the_exact_secret_of_sufficient_length_is_a_scheduled_call() {
        let env = Env::from_pairs([(SECRET_VAR, SECRET)]);
        assert!(is_scheduled(&req(Some(&format!("Bearer {SECRET}"))), &env));
        assert!(is_scheduled(&req(Some(&format!("bearer {SECRET}"))), &env));
        for bad in [
            None,
            Some("Bearer".to_string()),
            Some(format!("Bearer {SECRET}x")),
            Some(format!("Bearer {}", &SECRET[1..])),
            Some(format!("Basic {SECRET}")),
        ] {
            assert!(!is_scheduled(&req(bad.as_deref()), &env), "{bad:?}");
        }
        // No secret configured, or a short one: nothing is a scheduled call.
        assert!(!is_scheduled(&req(Some("Bearer x")), &Env::default()));
        let short = Env::from_pairs([(SECRET_VAR, "short-secret")]);
        assert!(!is_scheduled(&req(Some("Bearer short-secret")), &short));
    }
}
