//! The demo users behind the signed-in personas of the security model (see
//! [`super::security::PERSONAS`]). `supabase/seed.sql` creates exactly these users; the tests
//! check that, and `cargo xtask token --persona NAME` signs tokens for them, so their ids and
//! emails live here once.

/// A persona that is a signed-in user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct User {
    pub persona: &'static str,
    pub id: &'static str,
    pub email: &'static str,
    /// The RBAC role (`public.roles.name`).
    pub role: &'static str,
    /// `user_metadata.full_name`, as the sign-up form sets it.
    pub full_name: &'static str,
}

/// The local-only demo password of every seeded user (`supabase/seed.sql`), for signing in to
/// the local stack's Auth API (`/auth/v1`). Never used outside a local stack.
pub const DEMO_PASSWORD: &str = "moha-demo-password";

pub const USERS: &[User] = &[
    User {
        persona: "client",
        id: "00000000-0000-4000-a000-000000000c01",
        email: "client@moha.test",
        role: "Client",
        full_name: "Cleo Client",
    },
    User {
        persona: "client2",
        id: "00000000-0000-4000-a000-000000000c02",
        email: "client2@moha.test",
        role: "Client",
        full_name: "Cato Client",
    },
    User {
        persona: "designer",
        id: "00000000-0000-4000-a000-000000000d01",
        email: "designer@moha.test",
        role: "Designer",
        full_name: "Dana Designer",
    },
    User {
        persona: "sales_a",
        id: "00000000-0000-4000-a000-000000000a51",
        email: "sales.a@moha.test",
        role: "Sales",
        full_name: "Sam Sales",
    },
    User {
        persona: "sales_b",
        id: "00000000-0000-4000-a000-000000000b51",
        email: "sales.b@moha.test",
        role: "Sales",
        full_name: "Sol Sales",
    },
    User {
        persona: "admin",
        id: "00000000-0000-4000-a000-000000000ad1",
        email: "admin@moha.test",
        role: "Admin",
        full_name: "Ada Admin",
    },
];

/// A persona that is an outside agent's API token: the agent (owned by `admin`) and its token,
/// as `supabase/seed.sql` creates them. The tokens are demo secrets for the local stack, like the
/// demo password: the seed stores only their SHA-256.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgentToken {
    pub persona: &'static str,
    pub agent_id: &'static str,
    pub agent_name: &'static str,
    pub token_id: &'static str,
    pub token: &'static str,
    pub scopes: &'static [&'static str],
}

/// The CRM agent: leads and their notes, the inbox.
pub const AGENT_CRM_SCOPES: &[&str] = &[
    "agent_proposals:create",
    "agent_proposals:read",
    "lead_notes:create",
    "lead_notes:read",
    "leads:read",
    "social_accounts:read",
    "social_messages:read",
];

/// The studio agent: projects, its owner's renders and blog drafts, social figures.
pub const AGENT_STUDIO_SCOPES: &[&str] = &[
    "agent_proposals:create",
    "agent_proposals:read",
    "blog_posts:create",
    "blog_posts:read",
    "project_images:read",
    "project_tags:read",
    "projects:read",
    "render_requests:create",
    "render_requests:read",
    "render_results:read",
    "social_analytics:read",
];

pub const AGENTS: &[AgentToken] = &[
    AgentToken {
        persona: "agent_crm",
        agent_id: "1a000000-0000-4000-a000-000000000001",
        agent_name: "crm-assistant",
        token_id: "1b000000-0000-4000-a000-000000000001",
        token: "moha_demo-crm-agent-token-for-the-local-stack-on",
        scopes: AGENT_CRM_SCOPES,
    },
    AgentToken {
        persona: "agent_studio",
        agent_id: "1a000000-0000-4000-a000-000000000002",
        agent_name: "studio-assistant",
        token_id: "1b000000-0000-4000-a000-000000000002",
        token: "moha_demo-studio-agent-token-for-the-local-stack",
        scopes: AGENT_STUDIO_SCOPES,
    },
];

/// The agent token behind a persona, if it is one.
pub fn agent(persona: &str) -> Option<&'static AgentToken> {
    AGENTS.iter().find(|a| a.persona == persona)
}

/// The user behind a persona, if it is a signed-in user.
pub fn user(persona: &str) -> Option<&'static User> {
    USERS.iter().find(|u| u.persona == persona)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_user_is_a_signed_in_persona() {
        for u in USERS {
            let p = crate::moha::security::PERSONAS
                .iter()
                .find(|p| p.name == u.persona)
                .unwrap_or_else(|| panic!("{} is not a persona", u.persona));
            // The role the access token hook gives this user's token.
            let db_role = crate::moha::BUSINESS_ROLES
                .iter()
                .find(|(rbac, _)| *rbac == u.role)
                .map(|(_, r)| *r);
            assert_eq!(Some(p.db_role), db_role, "{}", u.persona);
        }
    }

    #[test]
    fn every_agent_token_is_a_persona_with_its_scopes() {
        for a in AGENTS {
            let p = crate::moha::security::PERSONAS
                .iter()
                .find(|p| p.name == a.persona)
                .unwrap_or_else(|| panic!("{} is not a persona", a.persona));
            assert_eq!(p.db_role, crate::moha::MOHA_AGENT);
            assert_eq!(p.scopes, a.scopes, "{}", a.persona);
            // The token format create_token makes: moha_ + 43 base64url characters.
            let body = a.token.strip_prefix("moha_").unwrap();
            assert_eq!(body.len(), 43, "{}", a.persona);
            assert!(body
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            let vocabulary: Vec<String> = crate::moha::security::permissions()
                .into_iter()
                .filter(|(role, _)| *role == "Agent")
                .map(|(_, p)| p)
                .collect();
            for s in a.scopes {
                assert!(vocabulary.iter().any(|v| v == s), "{s} is no agent scope");
            }
        }
    }
}
