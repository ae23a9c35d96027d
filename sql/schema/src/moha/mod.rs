//! The Moha Interiors schema, release by release. See `docs/schema-notes.md` for where it
//! departs from the architecture plan and why.

pub mod agent_admit;
pub mod agents;
mod ai;
mod blog;
mod crm;
pub mod default_prompts;
pub mod edge_facts;
mod foundation;
mod inbox;
mod lead_ai;
pub mod observability;
pub mod operations;
pub mod personas;
mod portfolio;
pub mod public_media;
mod rbac;
pub mod realtime;
mod render_queue;
pub mod schedules;
pub mod security;
mod social;
pub mod social_tokens;

use crate::model::*;
pub use crate::shorthand::*;

/// Where the schema is written, as the generated files' headers name it. Kept as it was when
/// the headers were first generated, so the committed outputs stay byte-identical.
pub const MODEL: &str = "sql/schema/src/moha";

/// The newest release that has been deployed anywhere (staging or production). Releases up to
/// and including it are frozen: `cargo xtask generate` refuses to rewrite their files. `None`
/// while nothing is deployed.
pub const RELEASED_THROUGH: Option<&str> = None;

/// Every release in order. The current schema is their fold.
pub fn releases() -> Vec<Release> {
    let mut all = schema_releases();
    all.push(security::release());
    all.push(render_queue::release());
    all.push(inbox::release());
    all.push(default_prompts::release());
    all.push(schedules::release());
    all.push(observability::release());
    all.push(agent_admit::release());
    all.push(realtime::release());
    all.push(lead_ai::release());
    all.push(social_tokens::release());
    all.push(public_media::release());
    all
}

/// Every Supabase Cron job the releases schedule: the operations jobs and those of later
/// releases.
pub fn scheduled_jobs() -> Vec<Job> {
    let mut all = operations::jobs();
    all.extend(realtime::jobs());
    all.extend(lead_ai::jobs());
    all.extend(social_tokens::jobs());
    all
}

/// The releases that build tables, functions and triggers; the security release is generated
/// from the access matrix over the schema they fold to.
fn schema_releases() -> Vec<Release> {
    vec![
        foundation::release(),
        rbac::release(),
        portfolio::release(),
        blog::release(),
        ai::release(),
        crm::release(),
        social::release(),
        agents::release(),
        operations::release(),
    ]
}

/// Schema for objects the API must not reach: trigger functions, secrets, partitions.
pub const PRIVATE: &str = "private";

/// Schema of the security-definer helpers policies call (`is_admin`, `has_role`, ...). Not
/// exposed through the Data API, so signed-in users can use them inside policies but cannot call
/// them as RPCs (splinter lint 0029); only `authenticated` and `service_role` have usage.
pub const AUTHZ: &str = "authz";

/// The database role of each RBAC role. A signed-in user's access token carries it as its `role`
/// claim (set by `authz.custom_access_token_hook` when Supabase Auth issues the token), so
/// PostgREST, Storage and the edge functions switch to it, and each business role has its own
/// policies: a Sales user's lead list is the index condition `assigned_to = uid`, not an OR
/// with the Admin case (benchmark P1). Each inherits `authenticated`, so what every signed-in
/// user may do is granted once. The hook's rule is `moha_` + the lowercased RBAC name.
pub const BUSINESS_ROLES: &[(&str, &str)] = &[
    ("Admin", "moha_admin"),
    ("Designer", "moha_designer"),
    ("Client", "moha_client"),
    ("Sales", "moha_sales"),
];

/// The database role edge functions use for AI work (created here, granted by the security
/// model).
pub const AI_AGENT: &str = "ai_agent";

/// The database role of outside agents' API tokens (the `mcp` function switches to it). It
/// inherits nothing: what it may do is the access matrix's `agent token` entries, each gated by
/// a scope its token must hold.
pub const MOHA_AGENT: &str = "moha_agent";

/// The API roles whose privileges the access matrix decides: everything is revoked from them
/// before the matrix's grants.
pub const MANAGED_ROLES: &[&str] = &[
    "anon",
    "authenticated",
    "service_role",
    AI_AGENT,
    MOHA_AGENT,
];

/// The roles that inherit `authenticated`: the business roles' database roles (the agent role
/// shares the prefix but inherits nothing).
pub const AUTHENTICATED_MEMBERS: &[&str] =
    &["moha_admin", "moha_designer", "moha_client", "moha_sales"];

pub fn private(name: &str) -> Name {
    Name::new(PRIVATE, name)
}

pub fn authz(name: &str) -> Name {
    Name::new(AUTHZ, name)
}

/// Whether the audit trigger records a table's changes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Audit {
    /// Business data: every insert, update and delete lands in `audit_logs`.
    Yes,
    /// Logs, counters and caches: auditing them would only duplicate them.
    No,
}

/// A table with its standard triggers: `updated_at` maintenance when it has the column, and
/// the audit trigger (with the table's secret columns as arguments, so they are redacted).
pub fn table(t: Table, audit: Audit) -> Vec<Change> {
    let mut out = Vec::new();
    let name = t.name.clone();
    let has_updated_at = t.find_column("updated_at").is_some();
    let secrets = t.secret_columns();
    out.push(Change::CreateTable(t));
    if has_updated_at {
        out.push(Change::CreateTrigger(Trigger {
            name: "set_updated_at".into(),
            table: name.clone(),
            timing: Timing::Before,
            events: vec![Event::Update],
            level: Level::Row,
            function: private("set_updated_at"),
            args: vec![],
        }));
    }
    if audit == Audit::Yes {
        // Statement-level with transition tables: one audit insert per statement instead of a
        // function call per row (benchmark P6). PostgreSQL allows one event per such trigger.
        for (trigger, event) in [
            ("audit_insert", Event::Insert),
            ("audit_update", Event::Update),
            ("audit_delete", Event::Delete),
        ] {
            out.push(Change::CreateTrigger(Trigger {
                name: trigger.into(),
                table: name.clone(),
                timing: Timing::After,
                events: vec![event],
                level: Level::StatementWithRows,
                function: private("audit_statement"),
                args: secrets.clone(),
            }));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The policies the access matrix generates, per table, role and action: reviewers see a
    /// change of who may do what here. (The migrations are their own golden copy, stale-checked
    /// by `cargo xtask generate --check`.)
    #[test]
    fn policies_snapshot() {
        let catalog = crate::Catalog::from_releases(&releases()).unwrap();
        insta::assert_snapshot!("policies", crate::report::policies(&catalog).unwrap());
    }

    #[test]
    fn table_report_snapshot() {
        let catalog = crate::Catalog::from_releases(&releases()).unwrap();
        insta::assert_snapshot!("tables", crate::report::tables(&catalog).unwrap());
    }

    #[test]
    fn every_business_table_is_audited_and_every_secret_redacted() {
        let catalog = crate::Catalog::from_releases(&releases()).unwrap();
        let unaudited = [
            "audit_logs",
            "error_logs",
            "agent_usage",
            "ai_cache",
            "notifications",
            "secrets",
            // The scheduler's own bookkeeping (issue 17).
            "scheduled_calls",
            "social_fetches",
            "scheduler_watch",
            // Leads waiting for a model score (issue 20).
            "lead_score_queue",
            // Refresh tokens (issue 20): secrets, kept out of the trail like the access token.
            "social_tokens",
            "social_oauth_states",
        ];
        for t in &catalog.tables {
            let audit: Vec<&Trigger> = catalog
                .triggers
                .iter()
                .filter(|tr| tr.table == t.name && tr.function == private("audit_statement"))
                .collect();
            // Archived rows are kept as they were, not business changes.
            if unaudited.contains(&t.name.name.as_str()) || t.name.schema == operations::ARCHIVE {
                assert!(
                    audit.is_empty(),
                    "{} is not business data and should not be audited",
                    t.name
                );
            } else {
                let events: Vec<&Event> = audit.iter().flat_map(|tr| &tr.events).collect();
                assert_eq!(
                    events,
                    [&Event::Insert, &Event::Update, &Event::Delete],
                    "{} must audit insert, update and delete",
                    t.name
                );
                for tr in audit {
                    assert_eq!(tr.args, t.secret_columns(), "{}", t.name);
                }
                // The update audit pairs old and new rows by id.
                assert!(t.find_column("id").is_some(), "{} has no id column", t.name);
            }
        }
    }

    /// The hook derives a user's database role as `moha_` + the lowercased RBAC role name; every
    /// business audience of the matrix uses one of these roles, and each exists in the model.
    #[test]
    fn business_roles_follow_the_hook_rule() {
        let catalog = crate::Catalog::from_releases(&releases()).unwrap();
        for (rbac, db_role) in BUSINESS_ROLES {
            assert_eq!(*db_role, format!("moha_{}", rbac.to_lowercase()));
            let role = catalog
                .roles
                .iter()
                .find(|r| r.name == *db_role)
                .unwrap_or_else(|| panic!("no role {db_role}"));
            assert_eq!(role.inherits, ["authenticated"]);
            assert!(!role.login);
        }
        for a in [
            security::CLIENT,
            security::DESIGNER,
            security::SALES,
            security::ADMIN,
        ] {
            assert!(
                BUSINESS_ROLES.contains(&(a.name, a.db_role)),
                "{} runs as {}",
                a.name,
                a.db_role
            );
        }
    }

    #[test]
    fn authenticated_members_are_the_business_roles() {
        let db_roles: Vec<&str> = BUSINESS_ROLES.iter().map(|(_, r)| *r).collect();
        assert_eq!(AUTHENTICATED_MEMBERS, db_roles);
    }

    #[test]
    fn every_function_is_locked_down() {
        let catalog = crate::Catalog::from_releases(&releases()).unwrap();
        for f in &catalog.functions {
            assert!(
                !f.execute.iter().any(|r| r == "anon" || r == "public"),
                "{} is executable by anon",
                f.name
            );
            if f.name.schema == PRIVATE {
                assert!(f.execute.is_empty(), "{} is internal", f.name);
            }
            // Policy helpers answer questions about the caller only: stable, definer (they read
            // users/roles past RLS) and outside the exposed schemas.
            if f.name == authz("custom_access_token_hook") {
                // Supabase Auth calls it as supabase_auth_admin, and nobody else may.
                assert_eq!(f.execute, ["supabase_auth_admin"]);
            } else if f.name.schema == AUTHZ && f.name.name.starts_with("agent_") {
                // An agent token's helpers: for the agent role alone.
                assert_eq!(f.execute, [MOHA_AGENT], "{}", f.name);
                assert_eq!(f.security, Security::Definer, "{}", f.name);
                assert_eq!(f.volatility, Volatility::Stable, "{}", f.name);
            } else if f.name.schema == agents::AGENT_AUTH {
                // Unexposed definer functions: the Admin's token functions, the token check and
                // the admission (check and count) the mcp function runs.
                let who: &[&str] = if ["authenticate", "admit"].contains(&f.name.name.as_str()) {
                    &[MOHA_AGENT]
                } else {
                    &["moha_admin"]
                };
                assert_eq!(f.execute, who, "{}", f.name);
                assert_eq!(f.security, Security::Definer, "{}", f.name);
            } else if f.name.schema == AUTHZ {
                assert_eq!(f.execute, ["authenticated", "service_role"], "{}", f.name);
                assert_eq!(f.security, Security::Definer, "{}", f.name);
                assert_eq!(f.volatility, Volatility::Stable, "{}", f.name);
            }
            if f.security == Security::Definer && f.name.schema == "public" {
                assert!(
                    !f.execute.iter().any(|r| r == "authenticated"),
                    "{}: signed-in users must not call a definer function through the API (lint 0029)",
                    f.name
                );
            }
        }
    }
}
