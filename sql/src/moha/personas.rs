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
}
