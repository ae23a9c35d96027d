//! The personas of the security model and their demo data, for the effective-matrix and
//! escalation tests, and for whoever seeds a stack or mints tokens for them.
//!
//! `personas.sql` creates the users the way Supabase Auth does (an `auth.users` row; the
//! sign-up trigger makes the profile) and sets their RBAC roles; `demo.sql` adds rows each
//! persona may and may not touch. [`act_as`] switches a transaction to a persona exactly as
//! PostgREST does: `set local role` plus `request.jwt.claims`.

use postgres::{Client, Transaction};
use serde_json::{json, Value};
use sql::access::Persona;
use sql::moha::security::PERSONAS;

pub const PERSONAS_SQL: &str = include_str!("personas.sql");
pub const DEMO_SQL: &str = include_str!("demo.sql");

/// A persona that is a signed-in user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct User {
    pub persona: &'static str,
    pub id: &'static str,
    pub email: &'static str,
    /// The RBAC role (`public.roles.name`).
    pub role: &'static str,
}

pub const USERS: &[User] = &[
    User {
        persona: "client",
        id: "00000000-0000-4000-a000-000000000c01",
        email: "client@moha.test",
        role: "Client",
    },
    User {
        persona: "client2",
        id: "00000000-0000-4000-a000-000000000c02",
        email: "client2@moha.test",
        role: "Client",
    },
    User {
        persona: "designer",
        id: "00000000-0000-4000-a000-000000000d01",
        email: "designer@moha.test",
        role: "Designer",
    },
    User {
        persona: "sales_a",
        id: "00000000-0000-4000-a000-000000000a51",
        email: "sales.a@moha.test",
        role: "Sales",
    },
    User {
        persona: "sales_b",
        id: "00000000-0000-4000-a000-000000000b51",
        email: "sales.b@moha.test",
        role: "Sales",
    },
    User {
        persona: "admin",
        id: "00000000-0000-4000-a000-000000000ad1",
        email: "admin@moha.test",
        role: "Admin",
    },
];

/// The persona called `name`.
pub fn persona(name: &str) -> &'static Persona {
    PERSONAS
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no persona {name}; see sql::moha::security::PERSONAS"))
}

/// The user behind a persona, if it is a signed-in user.
pub fn user(persona: &str) -> Option<&'static User> {
    USERS.iter().find(|u| u.persona == persona)
}

/// The user id of a signed-in persona.
pub fn id(persona: &str) -> &'static str {
    user(persona)
        .unwrap_or_else(|| panic!("persona {persona} is not a signed-in user"))
        .id
}

/// The JWT claims PostgREST would see for `persona`, as Supabase Auth issues them: role and
/// subject, `app_metadata` (server-set) and an empty `user_metadata` (user-set, never trusted).
pub fn claims(persona: &Persona) -> Value {
    match user(persona.name) {
        Some(u) => json!({
            "sub": u.id,
            "role": "authenticated",
            "aud": "authenticated",
            "email": u.email,
            "app_metadata": { "provider": "email", "providers": ["email"] },
            "user_metadata": {},
            "is_anonymous": false,
        }),
        None => json!({ "role": persona.db_role }),
    }
}

/// Creates the personas (and, with `demo`, their demo data) as `postgres`, and checks each
/// user ended up with its RBAC role.
pub fn create(c: &mut Client, demo: bool) -> anyhow::Result<()> {
    c.batch_execute(PERSONAS_SQL)?;
    if demo {
        c.batch_execute(DEMO_SQL)?;
    }
    for u in USERS {
        let row = c.query_one(
            "select r.name from public.users u join public.roles r on r.id = u.role_id where u.id = $1::text::uuid",
            &[&u.id],
        )?;
        let role: String = row.get(0);
        anyhow::ensure!(
            role == u.role,
            "persona {} has role {role}, expected {}",
            u.persona,
            u.role
        );
    }
    Ok(())
}

/// Makes the rest of `tx` run as `persona` with `claims`, as PostgREST does for a request.
pub fn act_as_with(
    tx: &mut Transaction<'_>,
    persona: &Persona,
    claims: &Value,
) -> anyhow::Result<()> {
    // The role name comes from the fixed persona list, never from input.
    anyhow::ensure!(
        PERSONAS.iter().any(|p| p.db_role == persona.db_role),
        "unknown database role {}",
        persona.db_role
    );
    tx.batch_execute(&format!("set local role {}", persona.db_role))?;
    tx.execute(
        "select pg_catalog.set_config('request.jwt.claims', $1, true)",
        &[&claims.to_string()],
    )?;
    Ok(())
}

/// [`act_as_with`] the persona's own claims.
pub fn act_as(tx: &mut Transaction<'_>, persona: &Persona) -> anyhow::Result<()> {
    act_as_with(tx, persona, &claims(persona))
}
