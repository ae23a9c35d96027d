//! The personas of the security model and their demo data, for the effective-matrix and
//! escalation tests.
//!
//! One source: `supabase/seed.sql` creates the users the way Supabase Auth does (an `auth.users`
//! row; the sign-up trigger makes the profile), sets their RBAC roles, and adds demo rows each
//! persona may and may not touch. The users' ids and emails are `sql::moha::personas::USERS`
//! ([`create`] checks the seed made exactly them). [`act_as`] switches a transaction to a
//! persona exactly as PostgREST does: `set local role` plus `request.jwt.claims`.

use postgres::{Client, Transaction};
use serde_json::{json, Value};
use sql::access::Persona;
use sql::moha::security::PERSONAS;

pub use sql::moha::personas::{agent, user, AgentToken, User, AGENTS, USERS};

/// `supabase/seed.sql`, what `cargo xtask up` and `reset` run.
pub const SEED_SQL: &str = include_str!("../../supabase/seed.sql");

/// The line of `seed.sql` where the demo data starts; above it, only the personas.
const DEMO_MARKER: &str = "\n-- Demo data ---";

/// The personas part of the seed (users, roles, client records).
pub fn personas_sql() -> &'static str {
    &SEED_SQL[..demo_start()]
}

/// The demo-data part of the seed (run after [`personas_sql`]).
pub fn demo_sql() -> &'static str {
    &SEED_SQL[demo_start()..]
}

fn demo_start() -> usize {
    SEED_SQL
        .find(DEMO_MARKER)
        .expect("supabase/seed.sql has a `-- Demo data ---` line after the personas")
}

/// The persona called `name`.
pub fn persona(name: &str) -> &'static Persona {
    PERSONAS
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no persona {name}; see sql::moha::security::PERSONAS"))
}

/// The user id of a signed-in persona.
pub fn id(persona: &str) -> &'static str {
    user(persona)
        .unwrap_or_else(|| panic!("persona {persona} is not a signed-in user"))
        .id
}

/// The JWT claims PostgREST would see for `persona`, as Supabase Auth issues them: role and
/// subject, `app_metadata` (server-set) and an empty `user_metadata` (user-set, never trusted).
/// The role is the one `authz.custom_access_token_hook` gives the user's token.
pub fn claims(persona: &Persona) -> Value {
    match user(persona.name) {
        Some(u) => json!({
            "sub": u.id,
            // What the access token hook sets: the database role of the user's RBAC role.
            "role": persona.db_role,
            "aud": "authenticated",
            "email": u.email,
            "app_metadata": { "provider": "email", "providers": ["email"] },
            "user_metadata": {},
            "is_anonymous": false,
        }),
        None => match agent(persona.name) {
            // What the mcp function sets once it has checked the bearer token by its hash.
            Some(a) => json!({
                "role": persona.db_role,
                "agent_id": a.agent_id,
                "token_id": a.token_id,
                "scopes": a.scopes,
            }),
            None => json!({ "role": persona.db_role }),
        },
    }
}

/// Creates the personas (and, with `demo`, their demo data) from `supabase/seed.sql` as
/// `postgres`, and checks the seed made exactly the users of `sql::moha::personas::USERS`,
/// each with its email and RBAC role.
pub fn create(c: &mut Client, demo: bool) -> anyhow::Result<()> {
    c.batch_execute(personas_sql())?;
    if demo {
        c.batch_execute(demo_sql())?;
    }
    check(c)
}

/// The users of the database are exactly `USERS`, with their emails, names and roles.
pub fn check(c: &mut Client) -> anyhow::Result<()> {
    let n: i64 = c.query_one("select count(*) from auth.users", &[])?.get(0);
    anyhow::ensure!(
        n == USERS.len() as i64,
        "the seed made {n} users, sql::moha::personas::USERS lists {}",
        USERS.len()
    );
    for u in USERS {
        let row = c
            .query_opt(
                "select r.name, a.email::text, a.raw_user_meta_data->>'full_name' \
                   from public.users u join public.roles r on r.id = u.role_id \
                   join auth.users a on a.id = u.id where u.id = $1::text::uuid",
                &[&u.id],
            )?
            .ok_or_else(|| anyhow::anyhow!("persona {} ({}) was not created", u.persona, u.id))?;
        let (role, email, name): (String, String, Option<String>) =
            (row.get(0), row.get(1), row.get(2));
        anyhow::ensure!(
            (role.as_str(), email.as_str(), name.as_deref())
                == (u.role, u.email, Some(u.full_name)),
            "persona {} is ({role}, {email}, {name:?}) in the seed, ({}, {}, {}) in USERS",
            u.persona,
            u.role,
            u.email,
            u.full_name
        );
    }
    // Each agent persona's token is live with exactly its scopes, stored by its hash only.
    for a in AGENTS {
        let row = c
            .query_opt(
                "select t.scopes, t.agent_id::text from public.api_tokens t \
                  where t.id = $1::text::uuid and t.revoked_at is null and t.expires_at > now() \
                    and t.token_hash = encode(sha256(convert_to($2, 'UTF8')), 'hex')",
                &[&a.token_id, &a.token],
            )?
            .ok_or_else(|| anyhow::anyhow!("agent token of {} was not created", a.persona))?;
        let (scopes, agent_id): (Vec<String>, String) = (row.get(0), row.get(1));
        anyhow::ensure!(
            scopes == a.scopes && agent_id == a.agent_id,
            "agent persona {}: {scopes:?} of {agent_id} in the seed, {:?} of {} in AGENTS",
            a.persona,
            a.scopes,
            a.agent_id
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
