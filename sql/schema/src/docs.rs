//! What `docs/schema.md` says about the Moha schema beyond the catalog: the modules of the
//! architecture plan the tables are grouped by, each table's purpose line, and the prose. The
//! rendering is the engine's (`sql_engine::docs`).

pub use sql_engine::docs::{entity, mermaid_blocks, AccessModel};
use sql_engine::docs::{Group, Layout};

use crate::catalog::Catalog;
use crate::model::*;
use crate::Error;

/// The modules of the architecture plan; the diagram and the reference are grouped by them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Module {
    Rbac,
    Portfolio,
    Blog,
    Rendering,
    Crm,
    Social,
    Audit,
    AiGuardrails,
    Operations,
}

impl Module {
    pub const ALL: [Module; 9] = [
        Module::Rbac,
        Module::Portfolio,
        Module::Blog,
        Module::Rendering,
        Module::Crm,
        Module::Social,
        Module::Audit,
        Module::AiGuardrails,
        Module::Operations,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Module::Rbac => "RBAC",
            Module::Portfolio => "Portfolio",
            Module::Blog => "Blog",
            Module::Rendering => "Rendering",
            Module::Crm => "CRM",
            Module::Social => "Social",
            Module::Audit => "Audit",
            Module::AiGuardrails => "AI guardrails",
            Module::Operations => "Operations",
        }
    }

    /// An identifier for Mermaid subgraphs and classes.
    pub fn id(self) -> &'static str {
        match self {
            Module::Rbac => "rbac",
            Module::Portfolio => "portfolio",
            Module::Blog => "blog",
            Module::Rendering => "rendering",
            Module::Crm => "crm",
            Module::Social => "social",
            Module::Audit => "audit",
            Module::AiGuardrails => "ai_guardrails",
            Module::Operations => "operations",
        }
    }

    /// The plan's section the module comes from.
    fn plan_section(self) -> &'static str {
        match self {
            Module::Rbac => "1.1 Users & Auth",
            Module::Portfolio => "1.2 Portfolio & Project Management",
            Module::Blog => "1.3 Blog / CMS",
            Module::Rendering => "1.4 AI 3D Rendering",
            Module::Crm => "1.5 Leads & CRM",
            Module::Social => "1.6 Social Media Integration",
            Module::Audit => "1.7 Audit & Logging",
            Module::AiGuardrails => "3. API Rate Limits & Guardrails",
            Module::Operations => "Operations (docs/operations.md)",
        }
    }

    /// Fill colour of the module's tables in the diagram (light, so text stays readable).
    fn colour(self) -> &'static str {
        match self {
            Module::Rbac => "#fde2e4",
            Module::Portfolio => "#e2f0cb",
            Module::Blog => "#dfe7fd",
            Module::Rendering => "#fff1c1",
            Module::Crm => "#d7f9f1",
            Module::Social => "#f1e3fb",
            Module::Audit => "#e8e8e8",
            Module::AiGuardrails => "#ffe5cc",
            Module::Operations => "#e0f2f1",
        }
    }
}

/// Where a table comes from in the architecture plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A table of the plan, with its purpose line as written there.
    Plan(&'static str),
    /// A table the plan asks for in prose rather than in a table: the line that asks for it.
    PlanProse(&'static str),
}

/// A table's module and purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableDoc {
    pub schema: &'static str,
    pub table: &'static str,
    pub module: Module,
    pub purpose: Purpose,
}

const fn doc(table: &'static str, module: Module, purpose: Purpose) -> TableDoc {
    TableDoc {
        schema: "public",
        table,
        module,
        purpose,
    }
}

use Module::*;
use Purpose::{Plan, PlanProse};

/// Every table of the model, in the order the reference lists them. A test keeps this list and
/// the catalog in step.
pub const TABLES: &[TableDoc] = &[
    doc("roles", Rbac, Plan("Define system roles (Admin, Designer, Client, Sales)")),
    doc("permissions", Rbac, Plan("Define granular permissions")),
    doc("users", Rbac, Plan("Core user accounts")),
    doc("user_sessions", Rbac, Plan("Track user login sessions")),
    doc(
        "agents",
        Rbac,
        PlanProse("Strict table ownership for agents vs. humans"),
    ),
    doc("api_tokens", Rbac, PlanProse("API tokens")),
    doc(
        "agent_proposals",
        Audit,
        PlanProse("All AI-made changes logged in audit_logs"),
    ),
    doc("clients", Portfolio, Plan("Client management")),
    doc("projects", Portfolio, Plan("Main project entity")),
    doc("project_images", Portfolio, Plan("Store project photos and media")),
    doc("project_tags", Portfolio, Plan("Flexible tagging for filtering")),
    doc("blog_categories", Blog, Plan("Categorize posts")),
    doc("blog_posts", Blog, Plan("CMS content")),
    doc("blog_tags", Blog, Plan("Flexible tags for search/filtering")),
    doc("blog_media", Blog, Plan("Featured images, videos")),
    doc("render_requests", Rendering, Plan("Track rendering jobs")),
    doc("render_results", Rendering, Plan("Store results from Claude/Gemini")),
    doc("render_parameters", Rendering, Plan("Store structured inputs for prompts")),
    doc("leads", Crm, Plan("Lead tracking")),
    doc("lead_notes", Crm, Plan("Communication logs")),
    doc("lead_scoring", Crm, Plan("AI-powered scoring & qualification")),
    doc("social_accounts", Social, Plan("Store IG/TikTok accounts")),
    doc("social_messages", Social, Plan("Unified inbox messages")),
    doc("social_analytics", Social, Plan("Engagement tracking")),
    doc("social_sentiment", Social, Plan("AI-analyzed sentiment")),
    doc(
        "notifications",
        Social,
        PlanProse("Realtime / Subscriptions – Unified social inbox, live notifications, dashboard updates."),
    ),
    doc("audit_logs", Audit, Plan("Full audit trail of all critical actions")),
    doc("error_logs", Audit, Plan("Backend/agent errors")),
    doc(
        "agent_limits",
        AiGuardrails,
        PlanProse("Limit per user/project/agent to avoid overuse"),
    ),
    doc(
        "agent_usage",
        AiGuardrails,
        PlanProse("Track each agent’s requests in agent_usage table"),
    ),
    doc(
        "ai_cache",
        AiGuardrails,
        PlanProse("If AI quota exhausted, return cached results or default prompt templates"),
    ),
    doc(
        "prompt_templates",
        AiGuardrails,
        PlanProse("If AI quota exhausted, return cached results or default prompt templates"),
    ),
    TableDoc {
        schema: "private",
        table: "secrets",
        module: AiGuardrails,
        purpose: PlanProse("Secrets stored in Supabase Secrets"),
    },
    doc(
        "operations_settings",
        Operations,
        PlanProse("archive old projects, nightly, with the cutoff in a settings row an Admin can change"),
    ),
    TableDoc {
        schema: "private",
        table: "scheduled_calls",
        module: Operations,
        purpose: PlanProse("A job's failure is visible, never silent"),
    },
    TableDoc {
        schema: "private",
        table: "social_fetches",
        module: Operations,
        purpose: PlanProse("one job that walks the connected accounts and staggers them"),
    },
    TableDoc {
        schema: "private",
        table: "scheduler_watch",
        module: Operations,
        purpose: PlanProse("A job's failure is visible, never silent"),
    },
    TableDoc {
        schema: "private",
        table: "lead_score_queue",
        module: Crm,
        purpose: PlanProse("update_lead_score(lead_id) → Compute AI lead score."),
    },
    TableDoc {
        schema: "private",
        table: "social_tokens",
        module: Social,
        purpose: PlanProse("Secrets Management – Secure API key storage (AI APIs, social media APIs, etc.)."),
    },
    TableDoc {
        schema: "private",
        table: "social_oauth_states",
        module: Social,
        purpose: PlanProse("Secrets Management – Secure API key storage (AI APIs, social media APIs, etc.)."),
    },
    TableDoc {
        schema: "archive",
        table: "social_sentiment",
        module: Operations,
        purpose: PlanProse("detach partitions older than N months into an archive schema, never drop"),
    },
];

/// The documentation entry of a table, if it has one.
pub fn table_doc(name: &Name) -> Option<&'static TableDoc> {
    TABLES
        .iter()
        .find(|d| d.schema == name.schema && d.table == name.name)
}

/// Fails when a table of the catalog has no [`TableDoc`], or a [`TableDoc`] no table.
pub fn check_table_docs(catalog: &Catalog) -> Result<(), Error> {
    for t in &catalog.tables {
        if table_doc(&t.name).is_none() {
            return Err(Error::Invalid {
                what: t.name.to_string(),
                reason: "the table has no module and purpose; add it to TABLES in sql/schema/src/docs.rs",
            });
        }
    }
    for d in TABLES {
        if catalog.table(&Name::new(d.schema, d.table)).is_none() {
            return Err(Error::Unknown {
                kind: "table (in sql/schema/src/docs.rs TABLES)",
                name: format!("{}.{}", d.schema, d.table),
            });
        }
    }
    Ok(())
}

fn purpose_line(d: &TableDoc) -> String {
    match d.purpose {
        Purpose::Plan(p) => format!(
            "**Purpose (plan, {}):** {p}",
            d.module.plan_section()
        ),
        Purpose::PlanProse(p) => format!(
            "**Purpose (plan, {}):** not a table of the plan; it serves “{p}” (see [schema-notes.md](schema-notes.md))",
            d.module.plan_section()
        ),
    }
}

/// The reference's layout: a group per module (checked against the catalog first).
pub fn layout(catalog: &Catalog) -> Result<Layout, Error> {
    check_table_docs(catalog)?;
    let groups = Module::ALL
        .into_iter()
        .map(|m| Group {
            id: m.id(),
            title: m.title(),
            colour: m.colour(),
            tables: TABLES
                .iter()
                .filter(|d| d.module == m)
                .map(|d| (Name::new(d.schema, d.table), purpose_line(d)))
                .collect(),
        })
        .collect();
    Ok(Layout {
        groups,
        header: "<!-- generated — do not edit: run `cargo xtask generate` (from the model in sql/schema/src) -->".into(),
        intro: "The Moha Interiors database as the model in `sql/schema/src/moha` defines it: what every \
         migration in `supabase/migrations` adds up to. [`schema-notes.md`](schema-notes.md) says \
         where it departs from the architecture plan and why. The TypeScript types for \
         supabase-js are in \
         [`supabase/functions/_shared/database.types.ts`](../supabase/functions/_shared/database.types.ts)."
            .into(),
        matrix_intro: "Who may do what, per persona, table and action. This is the declared matrix of \
         `sql/schema/src/moha/security.rs`: the policies, grants and column privileges are generated \
         from it, and the effective-access tests probe a live database against it."
            .into(),
    })
}

/// The Mermaid `erDiagram` of the schema, grouped by module.
pub fn mermaid(catalog: &Catalog) -> Result<String, Error> {
    sql_engine::docs::mermaid(catalog, &layout(catalog)?)
}

/// The access matrix section of `docs/schema.md`.
pub fn access_matrix(catalog: &Catalog, access: &AccessModel) -> Result<String, Error> {
    sql_engine::docs::access_matrix(catalog, &layout(catalog)?, access)
}

/// The whole `docs/schema.md`.
pub fn schema_md(catalog: &Catalog, access: &AccessModel) -> Result<String, Error> {
    sql_engine::docs::schema_md(catalog, &layout(catalog)?, access)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        Catalog::from_releases(&crate::moha::releases()).unwrap()
    }

    #[test]
    fn every_table_has_a_module_and_purpose() {
        check_table_docs(&catalog()).unwrap();
    }

    #[test]
    fn diagram_has_every_table_and_relation() {
        let c = catalog();
        let m = mermaid(&c).unwrap();
        for t in &c.tables {
            let decl = sql_engine::docs::entity_decl(&t.name);
            assert!(m.contains(&format!("    {decl} {{")), "{} missing", t.name);
            for c in &t.constraints {
                let ConstraintKind::ForeignKey {
                    columns,
                    references: r,
                    ..
                } = &c.kind
                else {
                    continue;
                };
                assert!(
                    m.lines()
                        .any(|l| l.starts_with(&format!("  {} ", entity(r)))
                            && l.contains(&format!(
                                " {} : \"{}\"",
                                entity(&t.name),
                                columns.join(", ")
                            ))),
                    "relation {} -> {r} missing",
                    t.name
                );
            }
        }
    }
}
