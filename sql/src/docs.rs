//! `docs/schema.md`: the schema as people read it, rendered from the folded catalog and the
//! declared access matrix. A Mermaid `erDiagram` of every table and relation grouped by module,
//! a reference per table (columns, types, defaults, constraints, indexes, triggers, realtime and
//! the architecture plan's purpose line), functions, buckets and the access matrix.

use std::fmt::Write;

use crate::access::{self, Access, Action, BucketAccess, Declared, Entry, Persona, TableAccess};
use crate::catalog::Catalog;
use crate::describe::{self, Style};
use crate::model::*;
use crate::render;
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

/// The declared access, as the security model states it.
#[derive(Debug, Clone, Copy)]
pub struct AccessModel<'a> {
    pub personas: &'a [Persona],
    pub tables: &'a [TableAccess],
    pub buckets: &'a [BucketAccess],
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// Inline code in a table cell: backticks, with pipes escaped for the table.
fn code(s: &str) -> String {
    format!("`{}`", md_cell(s))
}

/// A GitHub heading anchor for `text`.
fn anchor(text: &str) -> String {
    text.chars()
        .filter_map(|c| match c {
            'A'..='Z' => Some(c.to_ascii_lowercase()),
            'a'..='z' | '0'..='9' | '-' | '_' => Some(c),
            ' ' => Some('-'),
            _ => None,
        })
        .collect()
}

/// The entity name of a table in the diagram: the table name in `public`, `schema_table`
/// elsewhere (shown as `schema.table`).
pub fn entity(n: &Name) -> String {
    if n.schema == "public" {
        n.name.clone()
    } else {
        format!("{}_{}", n.schema, n.name)
    }
}

fn entity_decl(n: &Name) -> String {
    if n.schema == "public" {
        n.name.clone()
    } else {
        format!("{}[\"{}\"]", entity(n), n)
    }
}

/// A column type as a Mermaid attribute type (letters, digits, `_`, `[]` only).
fn mermaid_type(ty: &SqlType) -> String {
    match ty {
        SqlType::Uuid => "uuid".into(),
        SqlType::Text => "text".into(),
        SqlType::Integer => "integer".into(),
        SqlType::BigInt => "bigint".into(),
        SqlType::SmallInt => "smallint".into(),
        SqlType::Boolean => "boolean".into(),
        SqlType::Numeric { .. } | SqlType::AnyNumeric => "numeric".into(),
        SqlType::Timestamptz => "timestamptz".into(),
        SqlType::Date => "date".into(),
        SqlType::Interval => "interval".into(),
        SqlType::Jsonb => "jsonb".into(),
        SqlType::Bytea => "bytea".into(),
        SqlType::Inet => "inet".into(),
        SqlType::Enum(n) => n.name.clone(),
        SqlType::Geography { shape, .. } => format!("geography_{}", shape.as_str()),
        SqlType::Array(inner) => format!("{}[]", mermaid_type(inner)),
    }
}

/// The key markers of a column: `PK`, `FK`, `UK`.
fn keys(t: &Table, column: &str) -> Vec<&'static str> {
    let mut out = Vec::new();
    let has = |pred: &dyn Fn(&ConstraintKind) -> bool| {
        t.constraints
            .iter()
            .any(|c| pred(&c.kind) && c.columns().iter().any(|x| x == column))
    };
    if has(&|k| matches!(k, ConstraintKind::PrimaryKey(_))) {
        out.push("PK");
    }
    if has(&|k| matches!(k, ConstraintKind::ForeignKey { .. })) {
        out.push("FK");
    }
    if has(&|k| {
        matches!(
            k,
            ConstraintKind::Unique(_) | ConstraintKind::UniqueNullsNotDistinct(_)
        )
    }) {
        out.push("UK");
    }
    out
}

fn foreign_keys(t: &Table) -> impl Iterator<Item = (&Constraint, &[String], &Name)> {
    t.constraints.iter().filter_map(|c| match &c.kind {
        ConstraintKind::ForeignKey {
            columns,
            references,
            ..
        } => Some((c, columns.as_slice(), references)),
        _ => None,
    })
}

/// The tables of `module`, in reference order.
fn module_tables(catalog: &Catalog, module: Module) -> Vec<&Table> {
    TABLES
        .iter()
        .filter(|d| d.module == module)
        .filter_map(|d| catalog.table(&Name::new(d.schema, d.table)))
        .collect()
}

/// Fails when a table of the catalog has no [`TableDoc`], or a [`TableDoc`] no table.
pub fn check_table_docs(catalog: &Catalog) -> Result<(), Error> {
    for t in &catalog.tables {
        if table_doc(&t.name).is_none() {
            return Err(Error::Invalid {
                what: t.name.to_string(),
                reason: "the table has no module and purpose; add it to TABLES in sql/src/docs.rs",
            });
        }
    }
    for d in TABLES {
        if catalog.table(&Name::new(d.schema, d.table)).is_none() {
            return Err(Error::Unknown {
                kind: "table (in sql/src/docs.rs TABLES)",
                name: format!("{}.{}", d.schema, d.table),
            });
        }
    }
    Ok(())
}

/// The Mermaid `erDiagram`: every table in a subgraph per module, with its key columns, every
/// foreign key as a relation, and the tables of other schemas that keys point to.
pub fn mermaid(catalog: &Catalog) -> Result<String, Error> {
    check_table_docs(catalog)?;
    let mut out = String::from("erDiagram\n  direction LR\n");
    for module in Module::ALL {
        let tables = module_tables(catalog, module);
        if tables.is_empty() {
            continue;
        }
        let _ = writeln!(out, "  subgraph {}[\"{}\"]", module.id(), module.title());
        for t in tables {
            let _ = writeln!(out, "    {} {{", entity_decl(&t.name));
            for c in &t.columns {
                let k = keys(t, &c.name);
                if k.is_empty() {
                    continue;
                }
                let _ = writeln!(
                    out,
                    "      {} {} {}",
                    mermaid_type(&c.ty),
                    c.name,
                    k.join(", ")
                );
            }
            let _ = writeln!(out, "    }}");
        }
        let _ = writeln!(out, "  end");
    }
    // Tables outside the model (Supabase's own) that keys point to.
    let mut external: Vec<&Name> = Vec::new();
    for t in &catalog.tables {
        for (_, _, r) in foreign_keys(t) {
            if catalog.table(r).is_none() && !external.contains(&r) {
                external.push(r);
            }
        }
    }
    for n in &external {
        let _ = writeln!(out, "  {}", entity_decl(n));
    }
    for module in Module::ALL {
        for t in module_tables(catalog, module) {
            for (_, columns, references) in foreign_keys(t) {
                let optional = columns
                    .iter()
                    .any(|col| t.find_column(col).is_some_and(|x| !x.not_null));
                let parent = if optional { "|o" } else { "||" };
                let child = if crate::typescript::is_one_to_one(catalog, t, columns) {
                    "o|"
                } else {
                    "o{"
                };
                let _ = writeln!(
                    out,
                    "  {} {parent}--{child} {} : \"{}\"",
                    entity(references),
                    entity(&t.name),
                    columns.join(", ")
                );
            }
        }
    }
    for module in Module::ALL {
        let tables = module_tables(catalog, module);
        if tables.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "  classDef {} fill:{},stroke:#555",
            module.id(),
            module.colour()
        );
        let names: Vec<String> = tables.iter().map(|t| entity(&t.name)).collect();
        let _ = writeln!(out, "  class {} {}", names.join(","), module.id());
    }
    if !external.is_empty() {
        let _ = writeln!(
            out,
            "  classDef external fill:#ffffff,stroke:#999,stroke-dasharray:4 2"
        );
        let names: Vec<String> = external.iter().map(|n| entity(n)).collect();
        let _ = writeln!(out, "  class {} external", names.join(","));
    }
    Ok(out)
}

/// The source of every ```` ```mermaid ```` block of a Markdown text, in order.
pub fn mermaid_blocks(markdown: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match &mut current {
            None if line.trim_end() == "```mermaid" => current = Some(String::new()),
            None => {}
            Some(_) if line.trim_end() == "```" => out.extend(current.take()),
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
        }
    }
    out
}

fn trigger_text(tr: &Trigger) -> String {
    let timing = match tr.timing {
        Timing::Before => "before",
        Timing::After => "after",
    };
    let events: Vec<String> = tr
        .events
        .iter()
        .map(|e| match e {
            Event::Insert => "insert".to_string(),
            Event::Update => "update".to_string(),
            Event::UpdateOf(cols) => format!("update of {}", cols.join(", ")),
            Event::Delete => "delete".to_string(),
            Event::Truncate => "truncate".to_string(),
        })
        .collect();
    let level = match tr.level {
        Level::Row => "each row",
        Level::RowAtCommit => "each row, at commit",
        Level::Statement | Level::StatementWithRows => "each statement",
    };
    let args = if tr.args.is_empty() {
        String::new()
    } else {
        format!("('{}')", tr.args.join("', '"))
    };
    format!(
        "{timing} {} for {level} → `{}{}`",
        events.join(" or "),
        tr.function,
        if args.is_empty() { "()".into() } else { args }
    )
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

fn table_reference(catalog: &Catalog, t: &Table, out: &mut String) -> Result<(), Error> {
    let d = table_doc(&t.name).ok_or_else(|| Error::Unknown {
        kind: "table doc",
        name: t.name.to_string(),
    })?;
    let _ = writeln!(out, "### {}\n", t.name);
    let _ = writeln!(out, "{}\n", purpose_line(d));
    if let Some(c) = &t.comment {
        let _ = writeln!(out, "{c}\n");
    }
    let mut facts = vec!["RLS enabled".to_string()];
    let policies = catalog
        .policies
        .iter()
        .filter(|p| p.table == t.name)
        .count();
    facts.push(match policies {
        0 => "no policies (API roles see nothing)".into(),
        1 => "1 policy".into(),
        n => format!("{n} policies"),
    });
    let pubs: Vec<&str> = catalog
        .publications
        .iter()
        .filter(|(_, n)| n == &t.name)
        .map(|(p, _)| p.as_str())
        .collect();
    facts.push(if pubs.is_empty() {
        "realtime: no".into()
    } else {
        format!("realtime: {}", pubs.join(", "))
    });
    if let Some(PartitionBy::Range(cols)) = &t.partition_by {
        let parts: Vec<String> = catalog
            .partitions
            .iter()
            .filter(|p| p.parent == t.name)
            .map(|p| format!("`{}`", p.name))
            .collect();
        facts.push(format!(
            "partitioned by range ({}): {}",
            cols.join(", "),
            parts.join(", ")
        ));
    }
    let _ = writeln!(out, "{}\n", facts.join(" · "));
    let _ = writeln!(out, "| column | type | null | default | notes |");
    let _ = writeln!(out, "|---|---|---|---|---|");
    for c in &t.columns {
        let default = if c.identity {
            "generated always as identity".to_string()
        } else {
            describe::column_default(c)?.map_or(String::new(), |d| code(&d))
        };
        let mut notes: Vec<String> = keys(t, &c.name).iter().map(|k| k.to_string()).collect();
        for (_, columns, references) in foreign_keys(t) {
            if columns.iter().any(|x| x == &c.name) {
                notes.push(format!("→ {references}"));
            }
        }
        if c.secret {
            notes.push("secret: redacted in audit".into());
        }
        if let Some(comment) = &c.comment {
            notes.push(md_cell(comment));
        }
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {default} | {} |",
            c.name,
            code(&describe::column_type(c)?),
            if c.not_null { "not null" } else { "null" },
            notes.join("; ")
        );
    }
    out.push('\n');
    let _ = writeln!(out, "Constraints:\n");
    for c in &t.constraints {
        let _ = writeln!(
            out,
            "- `{}`: `{}`",
            c.name,
            describe::constraint(&c.kind, Style::SQL)?
        );
    }
    let indexes = catalog.indexes_on(&t.name);
    if !indexes.is_empty() {
        let _ = writeln!(out, "\nIndexes:\n");
        for i in indexes {
            let _ = writeln!(out, "- `{}`: `{}`", i.name, describe::index(i, Style::SQL)?);
        }
    }
    let triggers = catalog.triggers_on(&t.name);
    if !triggers.is_empty() {
        let _ = writeln!(out, "\nTriggers:\n");
        for tr in triggers {
            let _ = writeln!(out, "- `{}`: {}", tr.name, trigger_text(tr));
        }
    }
    out.push('\n');
    Ok(())
}

fn functions_section(catalog: &Catalog, out: &mut String) -> Result<(), Error> {
    let _ = writeln!(out, "## Functions\n");
    let _ = writeln!(
        out,
        "Every function runs with `search_path = {}` (`pg_temp` last, so a caller's temporary objects never shadow a name); execute is revoked from everyone, then granted to the roles listed.\n",
        crate::model::FUNCTION_SEARCH_PATH
    );
    let _ = writeln!(out, "| function | returns | security | execute | about |");
    let _ = writeln!(out, "|---|---|---|---|---|");
    for f in &catalog.functions {
        let args = describe::arguments(f, true)?;
        let returns = match &f.returns {
            Returns::Type(t) => render::sql_type(t)?,
            Returns::Table(cols) => {
                let cols: Vec<String> = cols
                    .iter()
                    .map(|(n, t)| Ok(format!("{n} {}", render::sql_type(t)?)))
                    .collect::<Result<_, Error>>()?;
                format!("table ({})", cols.join(", "))
            }
            Returns::Trigger => "trigger".into(),
            Returns::Void => "void".into(),
        };
        let security = describe::security(f.security);
        let execute = if f.execute.is_empty() {
            "—".to_string()
        } else {
            f.execute.join(", ")
        };
        let _ = writeln!(
            out,
            "| {} | {} | {security} | {execute} | {} |",
            code(&format!("{}({})", f.name, args.join(", "))),
            code(&returns),
            md_cell(f.comment.as_deref().unwrap_or(""))
        );
    }
    out.push('\n');
    Ok(())
}

fn enums_section(catalog: &Catalog, out: &mut String) {
    let _ = writeln!(out, "## Enums\n");
    let _ = writeln!(out, "| enum | values |");
    let _ = writeln!(out, "|---|---|");
    for e in &catalog.enums {
        let values: Vec<String> = e.values.iter().map(|v| format!("`{v}`")).collect();
        let _ = writeln!(out, "| `{}` | {} |", e.name, values.join(", "));
    }
    out.push('\n');
}

/// Personas that differ in what they are (not just in who they are): the matrix shows one
/// column per distinct set of audiences.
fn distinct_personas(personas: &[Persona]) -> Vec<&Persona> {
    let mut out: Vec<&Persona> = Vec::new();
    for p in personas {
        if !out
            .iter()
            .any(|q| q.db_role == p.db_role && q.audiences == p.audiences && q.scopes == p.scopes)
        {
            out.push(p);
        }
    }
    out
}

fn cell(d: &Declared) -> String {
    match d {
        Declared::Deny => "—".into(),
        Declared::All => "all".into(),
        Declared::Rules(r) => md_cell(&r.join(" + ")),
    }
}

fn matrix_rows(
    resource: &str,
    entries: &[Entry],
    personas: &[&Persona],
    label: &str,
    out: &mut String,
) {
    for action in Action::ALL {
        let cells: Vec<String> = personas
            .iter()
            .map(|p| cell(&access::declared(resource, entries, p, action)))
            .collect();
        let _ = writeln!(
            out,
            "| {label} | {} | {} |",
            action.as_str(),
            cells.join(" | ")
        );
    }
}

fn rules_of<'a>(entries: impl Iterator<Item = &'a Entry>, rules: &mut Vec<access::Rule>) {
    for e in entries {
        if let Access::Rule(r) = e.access {
            if !rules.iter().any(|x| x.name == r.name && x.using == r.using) {
                rules.push(r);
            }
        }
    }
}

/// The access matrix (persona × table × action → rule) as Markdown, from the same data the
/// policies and grants are generated from.
pub fn access_matrix(catalog: &Catalog, model: &AccessModel) -> Result<String, Error> {
    let mut out = String::new();
    let personas = distinct_personas(model.personas);
    let header: Vec<String> = personas.iter().map(|p| format!("`{}`", p.name)).collect();
    let _ = writeln!(out, "## Access matrix\n");
    let _ = writeln!(
        out,
        "Who may do what, per persona, table and action. This is the declared matrix of \
         `sql/src/moha/security.rs`: the policies, grants and column privileges are generated \
         from it, and the effective-access tests probe a live database against it.\n"
    );
    let _ = writeln!(
        out,
        "`all`: every row · a rule name: only the rows the rule selects ([Rules](#rules)); \
         several rules: the rows of any of them · —: denied. `service_role` bypasses RLS, so only \
         its grants apply.\n"
    );
    let _ = writeln!(out, "Personas:\n");
    for p in &personas {
        let audiences: Vec<&str> = p.audiences.iter().map(|a| a.name).collect();
        let _ = writeln!(
            out,
            "- `{}`: database role `{}`; audiences {}",
            p.name,
            p.db_role,
            audiences.join(", ")
        );
    }
    out.push('\n');
    for module in Module::ALL {
        let tables = module_tables(catalog, module);
        if tables.is_empty() {
            continue;
        }
        let _ = writeln!(out, "### Access: {}\n", module.title());
        let _ = writeln!(out, "| table | action | {} |", header.join(" | "));
        let _ = writeln!(out, "|---|---|{}", "---|".repeat(personas.len()));
        for t in tables {
            let label = format!("`{}`", t.name.name);
            match model.tables.iter().find(|a| a.table == t.name) {
                Some(a) => matrix_rows(&t.name.name, &a.entries, &personas, &label, &mut out),
                None => matrix_rows(&t.name.name, &[], &personas, &label, &mut out),
            }
        }
        out.push('\n');
    }
    let mut columns = Vec::new();
    for a in model.tables {
        for c in &a.columns.hidden {
            columns.push(format!(
                "- `{}.{c}`: hidden from every API role",
                a.table.name
            ));
        }
        for (role, cols) in &a.columns.updatable {
            columns.push(format!(
                "- `{}`: `{role}` may update only {}",
                a.table.name,
                cols.iter()
                    .map(|c| format!("`{c}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    if !columns.is_empty() {
        let _ = writeln!(out, "### Column privileges\n");
        for c in columns {
            let _ = writeln!(out, "{c}");
        }
        out.push('\n');
    }
    if !model.buckets.is_empty() {
        let _ = writeln!(out, "### Access: storage buckets\n");
        let _ = writeln!(out, "| bucket | action | {} |", header.join(" | "));
        let _ = writeln!(out, "|---|---|{}", "---|".repeat(personas.len()));
        for b in model.buckets {
            matrix_rows(
                &b.bucket.id,
                &b.entries,
                &personas,
                &format!("`{}`", b.bucket.id),
                &mut out,
            );
        }
        out.push('\n');
        let _ = writeln!(
            out,
            "| bucket | public | size limit | object names | types |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|");
        for b in model.buckets {
            let limit = b
                .bucket
                .file_size_limit
                .map(|l| format!("{} MiB", l / (1024 * 1024)))
                .unwrap_or_else(|| "—".into());
            let _ = writeln!(
                out,
                "| `{}` | {} | {limit} | `{}` | {} |",
                b.bucket.id,
                if b.bucket.public { "yes" } else { "no" },
                md_cell(b.path),
                md_cell(&b.bucket.allowed_mime_types.join(", "))
            );
        }
        out.push('\n');
    }
    let mut rules = Vec::new();
    rules_of(
        model.tables.iter().flat_map(|t| t.entries.iter()),
        &mut rules,
    );
    rules_of(
        model.buckets.iter().flat_map(|b| b.entries.iter()),
        &mut rules,
    );
    let _ = writeln!(out, "### Rules\n");
    let _ = writeln!(out, "| rule | rows (using) | new rows (with check) |");
    let _ = writeln!(out, "|---|---|---|");
    for r in rules {
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            md_cell(r.name),
            code(r.using),
            r.check.map(code).unwrap_or_else(|| "same".into())
        );
    }
    out.push('\n');
    Ok(out)
}

/// The whole `docs/schema.md`.
pub fn schema_md(catalog: &Catalog, access: &AccessModel) -> Result<String, Error> {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<!-- generated — do not edit: run `cargo xtask generate` (from the model in sql/src) -->"
    );
    let _ = writeln!(out, "# Schema reference\n");
    let _ = writeln!(
        out,
        "The Moha Interiors database as the model in `sql/src/moha` defines it: what every \
         migration in `supabase/migrations` adds up to. [`schema-notes.md`](schema-notes.md) says \
         where it departs from the architecture plan and why. The TypeScript types for \
         supabase-js are in \
         [`supabase/functions/_shared/database.types.ts`](../supabase/functions/_shared/database.types.ts).\n"
    );
    let _ = writeln!(out, "- [Diagram](#diagram) ([rendered SVG](schema.svg))");
    let _ = writeln!(out, "- Tables by module:");
    for module in Module::ALL {
        let names: Vec<String> = module_tables(catalog, module)
            .iter()
            .map(|t| format!("[`{}`](#{})", t.name.name, anchor(&t.name.to_string())))
            .collect();
        if !names.is_empty() {
            let _ = writeln!(out, "  - {}: {}", module.title(), names.join(", "));
        }
    }
    let _ = writeln!(out, "- [Enums](#enums), [Functions](#functions)");
    let _ = writeln!(out, "- [Access matrix](#access-matrix)\n");
    let _ = writeln!(out, "## Diagram\n");
    let _ = writeln!(
        out,
        "Every table, grouped by module, with its key columns (PK primary key, FK foreign key, \
         UK unique); every foreign key is a relation labelled with its columns. A relation from \
         `|o` is optional (the key column may be null). Dashed boxes are Supabase's own tables.\n"
    );
    let _ = writeln!(out, "```mermaid\n{}```\n", mermaid(catalog)?);
    for module in Module::ALL {
        let tables = module_tables(catalog, module);
        if tables.is_empty() {
            continue;
        }
        let _ = writeln!(out, "## {}\n", module.title());
        for t in tables {
            table_reference(catalog, t, &mut out)?;
        }
    }
    enums_section(catalog, &mut out);
    functions_section(catalog, &mut out)?;
    out.push_str(&access_matrix(catalog, access)?);
    // One trailing newline, as editors keep it.
    while out.ends_with("\n\n") {
        out.pop();
    }
    Ok(out)
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
            assert!(
                m.contains(&format!("    {} {{", entity_decl(&t.name))),
                "{} missing",
                t.name
            );
            for (_, cols, r) in foreign_keys(t) {
                assert!(
                    m.lines()
                        .any(|l| l.starts_with(&format!("  {} ", entity(r)))
                            && l.contains(&format!(
                                " {} : \"{}\"",
                                entity(&t.name),
                                cols.join(", ")
                            ))),
                    "relation {} -> {r} missing",
                    t.name
                );
            }
        }
    }

    #[test]
    fn mermaid_blocks_are_extracted() {
        let md = "a\n```mermaid\nerDiagram\n  x\n```\nb\n```sql\nselect\n```\n";
        assert_eq!(mermaid_blocks(md), ["erDiagram\n  x\n"]);
    }
}
