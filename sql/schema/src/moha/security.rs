//! The declared access matrix of Moha Interiors: who may select, insert, update and delete
//! which rows of every table. Policies, grants and column privileges are generated from it
//! (`crate::access`), and the effective-matrix test probes a live database against it.
//! `docs/security.md` explains each choice.

use super::*;
use crate::access::*;

/// Unauthenticated callers (PostgREST's `anon`).
pub const ANON: Audience = Audience {
    name: "anon",
    db_role: "anon",
    guard: None,
    scope_check: None,
};
/// Any signed-in user, whatever their RBAC role.
pub const SIGNED_IN: Audience = Audience {
    name: "signed-in",
    db_role: "authenticated",
    guard: None,
    scope_check: None,
};
pub const CLIENT: Audience = Audience {
    name: "Client",
    db_role: "moha_client",
    guard: Some("(select authz.has_role('Client'))"),
    scope_check: None,
};
pub const DESIGNER: Audience = Audience {
    name: "Designer",
    db_role: "moha_designer",
    guard: Some("(select authz.has_role('Designer'))"),
    scope_check: None,
};
pub const SALES: Audience = Audience {
    name: "Sales",
    db_role: "moha_sales",
    guard: Some("(select authz.has_role('Sales'))"),
    scope_check: None,
};
pub const ADMIN: Audience = Audience {
    name: "Admin",
    db_role: "moha_admin",
    guard: Some("(select authz.is_admin())"),
    scope_check: None,
};
/// Edge functions doing AI work (`set role ai_agent`).
pub const AGENT: Audience = Audience {
    name: "ai_agent",
    db_role: AI_AGENT,
    guard: None,
    scope_check: None,
};
/// An outside agent's API token (`set role moha_agent`, claims naming the agent, the token and
/// its scopes). Every entry also needs the token's scope `<table>:<verb>`; the scope's guard
/// reads the claims and the live token once per statement.
pub const AGENT_TOKEN: Audience = Audience {
    name: "agent token",
    db_role: MOHA_AGENT,
    guard: None,
    scope_check: Some((AUTHZ, "agent_has_scope")),
};
/// Trusted server code; bypasses RLS, so only grants apply.
pub const SERVICE: Audience = Audience {
    name: "service_role",
    db_role: "service_role",
    guard: None,
    scope_check: None,
};

/// The personas every proof runs as.
pub const PERSONAS: &[Persona] = &[
    Persona {
        name: "anon",
        db_role: "anon",
        audiences: &[ANON],
        scopes: &[],
    },
    Persona {
        name: "client",
        db_role: "moha_client",
        audiences: &[SIGNED_IN, CLIENT],
        scopes: &[],
    },
    Persona {
        name: "client2",
        db_role: "moha_client",
        audiences: &[SIGNED_IN, CLIENT],
        scopes: &[],
    },
    Persona {
        name: "designer",
        db_role: "moha_designer",
        audiences: &[SIGNED_IN, DESIGNER],
        scopes: &[],
    },
    Persona {
        name: "sales_a",
        db_role: "moha_sales",
        audiences: &[SIGNED_IN, SALES],
        scopes: &[],
    },
    Persona {
        name: "sales_b",
        db_role: "moha_sales",
        audiences: &[SIGNED_IN, SALES],
        scopes: &[],
    },
    Persona {
        name: "admin",
        db_role: "moha_admin",
        audiences: &[SIGNED_IN, ADMIN],
        scopes: &[],
    },
    Persona {
        name: "service_role",
        db_role: "service_role",
        audiences: &[SERVICE],
        scopes: &[],
    },
    Persona {
        name: "ai_agent",
        db_role: AI_AGENT,
        audiences: &[AGENT],
        scopes: &[],
    },
    Persona {
        name: "agent_crm",
        db_role: MOHA_AGENT,
        audiences: &[AGENT_TOKEN],
        scopes: super::personas::AGENT_CRM_SCOPES,
    },
    Persona {
        name: "agent_studio",
        db_role: MOHA_AGENT,
        audiences: &[AGENT_TOKEN],
        scopes: super::personas::AGENT_STUDIO_SCOPES,
    },
];

// Row rules. Every `auth.uid()` and helper call is wrapped in `(select ...)` so it runs once per
// statement; subqueries are uncorrelated `in (select ...)` so they run once and hash.

pub const OWN_ROW: Rule = Rule {
    name: "own row",
    using: "id = (select auth.uid())",
    check: None,
    columns: &["id"],
    requires: &[],
    one_of: &[],
};
pub const OWN_ROWS: Rule = Rule {
    name: "own rows",
    using: "user_id = (select auth.uid())",
    check: None,
    columns: &["user_id"],
    requires: &[],
    one_of: &[],
};
pub const PUBLISHED_PROJECTS: Rule = Rule {
    name: "published",
    using: "is_published",
    check: None,
    columns: &["is_published"],
    requires: &[],
    one_of: &[],
};
pub const OWN_PROJECTS: Rule = Rule {
    name: "own projects",
    using: "client_id in (select c.id from public.clients c where c.user_id = (select auth.uid()))",
    check: None,
    columns: &["client_id"],
    requires: &[],
    one_of: &[],
};
pub const OF_PUBLISHED_PROJECT: Rule = Rule {
    name: "of published project",
    using: "project_id in (select p.id from public.projects p where p.is_published)",
    check: None,
    columns: &["project_id"],
    requires: &[],
    one_of: &[],
};
pub const OF_OWN_PROJECT: Rule = Rule {
    name: "of own project",
    using: "project_id in (select o.id from authz.own_projects() o)",
    check: None,
    columns: &["project_id"],
    requires: &[],
    one_of: &[],
};
pub const PUBLISHED_POSTS: Rule = Rule {
    name: "published",
    using: "status = 'published'::public.blog_status",
    check: None,
    columns: &["status"],
    requires: &[],
    one_of: &[],
};
/// Authors edit their own posts but cannot hand them to someone else, and only publish with
/// `blog:publish`.
pub const OWN_POSTS: Rule = Rule {
    name: "own posts",
    using: "author_id = (select auth.uid())",
    check: Some("author_id = (select auth.uid()) and (status <> 'published'::public.blog_status or (select authz.has_permission('blog', 'publish')))"),
    columns: &["author_id"],
    requires: &[],
    one_of: &[],
};
pub const NEW_POST_AS_SELF: Rule = Rule {
    name: "as self with blog:create",
    using: "false",
    check: Some("author_id = (select auth.uid()) and (select authz.has_permission('blog', 'create')) and (status <> 'published'::public.blog_status or (select authz.has_permission('blog', 'publish')))"),
    columns: &["author_id"],
    requires: &["blog:create"],
    one_of: &[],
};
pub const OF_PUBLISHED_POST: Rule = Rule {
    name: "of published post",
    using: "post_id in (select p.id from public.blog_posts p where p.status = 'published'::public.blog_status)",
    check: None,
    columns: &["post_id"],
    requires: &[],
    one_of: &[],
};
pub const OF_OWN_POST: Rule = Rule {
    name: "of own post",
    using:
        "post_id in (select p.id from public.blog_posts p where p.author_id = (select auth.uid()))",
    check: None,
    columns: &["post_id"],
    requires: &[],
    one_of: &[],
};
/// The image models a caller may ask for; the first is the column's default. Anything else would
/// let a caller pick what the studio pays per image.
pub const RENDER_MODELS: &[&str] = &["gemini-2.5-flash-image"];

/// A Client spends the studio's money only once staff have linked their account to a client
/// record (sign-up is open), and only for that client's own projects: foreign keys are checked
/// without RLS, so the policy checks that the project is the caller's.
pub const NEW_RENDER_AS_LINKED_CLIENT: Rule = Rule {
    name: "queued as a linked client with render:create",
    using: "false",
    check: Some("user_id = (select auth.uid()) and status = 'queued'::public.render_status and model = 'gemini-2.5-flash-image' and (select authz.has_permission('render', 'create')) and (select auth.uid()) in (select c.user_id from public.clients c) and (project_id is null or project_id in (select o.id from authz.own_projects() o))"),
    columns: &["user_id", "project_id"],
    requires: &["render:create"],
    one_of: &[],
};
/// Staff queue renders for any project; the model is still from the allow-list.
pub const NEW_RENDER_AS_STAFF: Rule = Rule {
    name: "queued as self with render:create",
    using: "false",
    check: Some("user_id = (select auth.uid()) and status = 'queued'::public.render_status and model = 'gemini-2.5-flash-image' and (select authz.has_permission('render', 'create'))"),
    columns: &["user_id", "project_id"],
    requires: &["render:create"],
    one_of: &[],
};
/// Owners may only move their own active job to `cancelled`.
pub const CANCEL_OWN: Rule = Rule {
    name: "cancel own active",
    using: "user_id = (select auth.uid()) and status in ('queued'::public.render_status, 'pending'::public.render_status, 'processing'::public.render_status)",
    check: Some("user_id = (select auth.uid()) and status = 'cancelled'::public.render_status"),
    columns: &["user_id"],
    requires: &[],
    one_of: &[],
};
pub const OF_OWN_REQUEST: Rule = Rule {
    name: "of own request",
    using: "request_id in (select r.id from public.render_requests r where r.user_id = (select auth.uid()))",
    check: None,
    columns: &["request_id"],
    requires: &[],
    one_of: &[],
};
/// Also the check on update: a Sales user cannot hand a lead to someone else.
pub const ASSIGNED_LEADS: Rule = Rule {
    name: "assigned",
    using: "assigned_to = (select auth.uid())",
    check: None,
    columns: &["assigned_to"],
    requires: &[],
    one_of: &[],
};
pub const OF_ASSIGNED_LEAD: Rule = Rule {
    name: "of assigned lead",
    using: "lead_id in (select l.id from public.leads l where l.assigned_to = (select auth.uid()))",
    check: None,
    columns: &["lead_id"],
    requires: &[],
    one_of: &[],
};
pub const NOTE_AS_SELF: Rule = Rule {
    name: "on assigned lead as self",
    using: "false",
    check: Some("created_by = (select auth.uid()) and lead_id in (select l.id from public.leads l where l.assigned_to = (select auth.uid()))"),
    columns: &["lead_id", "created_by"],
    requires: &[],
    one_of: &[],
};

// An outside agent's rows. `authz.agent_owner()` is the owner of the agent whose live token the
// claims name: what an agent makes is its owner's, and it sees only that among private rows.

/// Notes an agent writes name no author (it is not a user; the audit row names agent and
/// token), on leads its own policies let it see.
pub const NOTE_BY_AGENT: Rule = Rule::new(
    "unsigned, on a lead it reads",
    "false",
    Some("created_by is null and lead_id in (select l.id from public.leads l)"),
    &["lead_id", "created_by"],
);
pub const OWNERS_RENDERS: Rule = Rule::new(
    "its owner's",
    "user_id = (select authz.agent_owner())",
    None,
    &["user_id"],
);
/// Queued for its owner, with an allowed model, for no project or one it may read; the owner's
/// render limits and right to spend apply when the job runs.
pub const NEW_RENDER_BY_AGENT: Rule = Rule::new(
    "queued for its owner",
    "false",
    Some("user_id = (select authz.agent_owner()) and status = 'queued'::public.render_status and model = 'gemini-2.5-flash-image' and (project_id is null or project_id in (select p.id from public.projects p))"),
    &["user_id", "project_id"],
);
pub const OF_OWNERS_REQUEST: Rule = Rule::new(
    "of its owner's request",
    "request_id in (select r.id from public.render_requests r where r.user_id = (select authz.agent_owner()))",
    None,
    &["request_id"],
);
pub const OWNERS_POSTS: Rule = Rule::new(
    "its owner's",
    "author_id = (select authz.agent_owner())",
    None,
    &["author_id"],
);
/// Drafts only, authored by its owner: publishing is a human's decision.
pub const DRAFT_BY_AGENT: Rule = Rule::new(
    "draft for its owner",
    "false",
    Some("author_id = (select authz.agent_owner()) and status = 'draft'::public.blog_status"),
    &["author_id"],
);

/// The proposals an agent made (through any of its live tokens).
pub const OWN_PROPOSALS: Rule = Rule::new(
    "its own",
    "agent_id = (select authz.agent_id())",
    None,
    &["agent_id"],
);
/// A pending proposal of its own, about a target its own policies let it read: proposing
/// needs the target's read scope too.
pub const NEW_PROPOSAL: Rule = Rule::new(
    "pending, its own, on a target it reads",
    "false",
    Some("agent_id = (select authz.agent_id()) and status = 'pending'::public.proposal_status and ((action in ('assign_lead'::public.proposal_action, 'set_lead_status'::public.proposal_action) and target_id in (select l.id from public.leads l)) or (action = 'publish_post'::public.proposal_action and target_id in (select p.id from public.blog_posts p)) or (action = 'send_reply'::public.proposal_action and target_id in (select m.id from public.social_messages m)))"),
    &["agent_id"],
);
/// The proposals a human may decide: their role holds the permission of the action.
pub const DECIDABLE: Rule = Rule::new(
    "decidable by the caller's permissions",
    "(action = 'publish_post'::public.proposal_action and (select authz.has_permission('blog', 'publish'))) or (action = 'send_reply'::public.proposal_action and (select authz.has_permission('social_messages', 'edit'))) or (action = 'assign_lead'::public.proposal_action and (select authz.has_permission('leads', 'assign'))) or (action = 'set_lead_status'::public.proposal_action and (select authz.has_permission('leads', 'edit')))",
    Some("status <> 'pending'::public.proposal_status and decided_by = (select auth.uid()) and ((action = 'publish_post'::public.proposal_action and (select authz.has_permission('blog', 'publish'))) or (action = 'send_reply'::public.proposal_action and (select authz.has_permission('social_messages', 'edit'))) or (action = 'assign_lead'::public.proposal_action and (select authz.has_permission('leads', 'assign'))) or (action = 'set_lead_status'::public.proposal_action and (select authz.has_permission('leads', 'edit'))))"),
    &["action"],
)
.one_of(&["blog:publish", "social_messages:edit", "leads:assign", "leads:edit"]);

use Action::{Delete, Insert, Select, Update};

const READ: &[Action] = &[Select];
const WRITE: &[Action] = &[Insert, Update, Delete];
const EVERYTHING: &[Action] = &[Select, Insert, Update, Delete];

fn all(audience: Audience, actions: &[Action]) -> Entry {
    Entry {
        audience,
        actions: actions.to_vec(),
        access: Access::All,
    }
}

fn rule(audience: Audience, actions: &[Action], rule: Rule) -> Entry {
    Entry {
        audience,
        actions: actions.to_vec(),
        access: Access::Rule(rule),
    }
}

/// The columns of a project that anyone who sees a published project may read: no identifier of
/// a person (`client_id`, `created_by`) and no place (`location`, `site`).
pub const PROJECT_PUBLIC_FACE: &[&str] = &[
    "id",
    "title",
    "description",
    "category",
    "status",
    "is_published",
    "published_at",
    "completed_at",
    "archived_at",
    "created_at",
    "updated_at",
];

/// The roles that run the studio's projects.
const STUDIO: &[&str] = &["moha_designer", "moha_admin"];
/// Every signed-in author (the policies keep them to their own posts).
const AUTHORS: &[&str] = &["authenticated", "moha_admin"];

fn owner(column: &'static str, insert: &[&'static str], update: &[&'static str]) -> Owner {
    Owner {
        column,
        insert: insert.to_vec(),
        update: update.to_vec(),
        members: AUTHENTICATED_MEMBERS,
    }
}

fn t(name: &str, entries: Vec<Entry>) -> TableAccess {
    TableAccess {
        table: public(name),
        entries,
        columns: Columns::default(),
    }
}

/// Service role: everything (it bypasses RLS; grants still apply).
fn service() -> Entry {
    all(SERVICE, EVERYTHING)
}

/// The matrix. Where a table or action is not listed for an audience, it is denied.
pub fn matrix() -> Vec<TableAccess> {
    let mut users = t(
        "users",
        vec![
            rule(SIGNED_IN, &[Select, Update], OWN_ROW),
            all(ADMIN, &[Select, Update]),
            all(AGENT, READ),
            service(),
        ],
    );
    // Only an Admin may change `role_id` (the `guard_role_change` trigger also checks the
    // database's own record, for a token issued before a demotion). Email comes from Auth.
    users.columns.updatable = vec![
        ("authenticated", vec!["full_name", "phone"]),
        ("moha_admin", vec!["full_name", "phone", "role_id"]),
    ];
    users.columns.owners = vec![
        owner("id", &[], &[]),
        owner("role_id", &[], &["moha_admin"]),
    ];

    let mut render_requests = t(
        "render_requests",
        vec![
            rule(SIGNED_IN, READ, OWN_ROWS),
            rule(CLIENT, &[Insert], NEW_RENDER_AS_LINKED_CLIENT),
            rule(DESIGNER, &[Insert], NEW_RENDER_AS_STAFF),
            rule(SIGNED_IN, &[Update], CANCEL_OWN),
            all(DESIGNER, READ),
            all(ADMIN, EVERYTHING),
            all(AGENT, &[Select, Update]),
            rule(AGENT_TOKEN, READ, OWNERS_RENDERS),
            rule(AGENT_TOKEN, &[Insert], NEW_RENDER_BY_AGENT),
            service(),
        ],
    );
    render_requests.columns.updatable = vec![
        ("authenticated", vec!["status"]),
        ("moha_admin", vec!["status"]),
    ];
    // Status, attempts, retry time and timestamps are the queue's, never the caller's.
    let render_input = vec!["user_id", "project_id", "input_file_path", "model"];
    // The agent names the id itself: it may not be able to read the row back.
    let mut agent_render_input = vec!["id"];
    agent_render_input.extend(&render_input);
    render_requests.columns.insertable = vec![
        ("moha_client", render_input.clone()),
        ("moha_designer", render_input),
        (MOHA_AGENT, agent_render_input),
    ];
    let render_owners = &["moha_client", "moha_designer", "moha_admin", MOHA_AGENT];
    render_requests.columns.owners = vec![
        owner("user_id", render_owners, &[]),
        owner("project_id", render_owners, &[]),
    ];

    let mut leads = t(
        "leads",
        vec![
            rule(SALES, &[Select, Update], ASSIGNED_LEADS),
            all(ADMIN, EVERYTHING),
            all(AGENT, &[Select, Update]),
            all(AGENT_TOKEN, READ),
            service(),
        ],
    );
    // No scope reads a lead's contact details: column privileges are per role, not per scope.
    leads.columns.selectable = vec![(
        MOHA_AGENT,
        vec![
            "id",
            "client_name",
            "source",
            "assigned_to",
            "status",
            "score",
            "created_at",
            "updated_at",
        ],
    )];
    // The score is the AI's and update_lead_score's.
    let lead_fields = vec![
        "client_name",
        "email",
        "phone",
        "source",
        "status",
        "assigned_to",
    ];
    leads.columns.updatable = vec![
        ("moha_sales", lead_fields.clone()),
        ("moha_admin", lead_fields),
    ];
    // Leads are handed out by an Admin or the assign-leads agent, never taken or passed on.
    leads.columns.owners = vec![owner(
        "assigned_to",
        &["moha_admin"],
        &["moha_admin", AI_AGENT],
    )];

    let mut social_accounts = t(
        "social_accounts",
        vec![
            all(SALES, READ),
            all(ADMIN, EVERYTHING),
            all(AGENT, READ),
            all(AGENT_TOKEN, READ),
            service(),
        ],
    );
    social_accounts.columns.hidden = vec!["access_token"];

    let mut social_messages = t(
        "social_messages",
        vec![
            all(SALES, &[Select, Update]),
            all(ADMIN, &[Select, Update]),
            all(AGENT, &[Select, Insert, Update]),
            all(AGENT_TOKEN, READ),
            service(),
        ],
    );
    social_messages.columns.updatable = vec![
        ("moha_sales", vec!["status"]),
        ("moha_admin", vec!["status"]),
    ];

    let mut notifications = t(
        "notifications",
        vec![
            rule(SIGNED_IN, &[Select, Update], OWN_ROWS),
            all(AGENT, &[Insert]),
            service(),
        ],
    );
    notifications.columns.updatable = vec![("authenticated", vec!["read_at"])];
    notifications.columns.owners = vec![owner("user_id", &[AI_AGENT], &[])];

    let project_child = |name: &str| {
        let mut child = t(
            name,
            vec![
                rule(ANON, READ, OF_PUBLISHED_PROJECT),
                rule(SIGNED_IN, READ, OF_PUBLISHED_PROJECT),
                rule(CLIENT, READ, OF_OWN_PROJECT),
                all(DESIGNER, EVERYTHING),
                all(ADMIN, EVERYTHING),
                all(AGENT_TOKEN, READ),
                service(),
            ],
        );
        child.columns.owners = vec![owner("project_id", STUDIO, STUDIO)];
        child
    };
    let post_child = |name: &str| {
        let mut child = t(
            name,
            vec![
                rule(ANON, READ, OF_PUBLISHED_POST),
                rule(SIGNED_IN, READ, OF_PUBLISHED_POST),
                rule(SIGNED_IN, EVERYTHING, OF_OWN_POST),
                all(ADMIN, EVERYTHING),
                service(),
            ],
        );
        // Authors move media between their own posts only (the policy's check).
        child.columns.owners = vec![owner("post_id", AUTHORS, AUTHORS)];
        child
    };
    let ai_output = |name: &str| {
        let mut output = t(
            name,
            vec![
                rule(SIGNED_IN, READ, OF_OWN_REQUEST),
                all(DESIGNER, READ),
                all(ADMIN, READ),
                all(AGENT, &[Select, Insert]),
                rule(AGENT_TOKEN, READ, OF_OWNERS_REQUEST),
                service(),
            ],
        );
        output.columns.owners = vec![owner("request_id", &[AI_AGENT], &[])];
        output
    };
    let inbox_data = |name: &str| {
        t(
            name,
            vec![
                all(SALES, READ),
                all(ADMIN, READ),
                all(AGENT, &[Select, Insert]),
                service(),
            ],
        )
    };
    let mut social_analytics = inbox_data("social_analytics");
    social_analytics.entries.push(all(AGENT_TOKEN, READ));

    let mut render_parameters = ai_output("render_parameters");
    render_parameters.entries[0] = rule(SIGNED_IN, &[Select, Insert], OF_OWN_REQUEST);
    render_parameters.entries[3] = all(AGENT, READ);
    // Parameters are the owner's inputs; the agent's tools do not read them.
    render_parameters.entries.remove(4);
    render_parameters.columns.owners = vec![owner("request_id", &["authenticated"], &[])];

    let mut clients = t(
        "clients",
        vec![
            rule(CLIENT, READ, OWN_ROWS),
            all(DESIGNER, &[Select, Insert, Update]),
            all(SALES, &[Select, Insert, Update]),
            all(ADMIN, EVERYTHING),
            service(),
        ],
    );
    // Linking a portal account hands it the client's projects, images and files: Admins only.
    clients.columns.owners = vec![owner("user_id", &["moha_admin"], &["moha_admin"])];

    let mut projects = t(
        "projects",
        vec![
            rule(ANON, READ, PUBLISHED_PROJECTS),
            rule(SIGNED_IN, READ, PUBLISHED_PROJECTS),
            rule(CLIENT, READ, OWN_PROJECTS),
            all(DESIGNER, EVERYTHING),
            all(ADMIN, EVERYTHING),
            all(AGENT_TOKEN, READ),
            service(),
        ],
    );
    // Column privileges are per role, not per row: every role that sees other people's
    // published projects sees only the portfolio's columns, its own projects included.
    projects.columns.selectable = [
        "anon",
        "authenticated",
        "moha_client",
        "moha_sales",
        MOHA_AGENT,
    ]
    .into_iter()
    .map(|r| (r, PROJECT_PUBLIC_FACE.to_vec()))
    .collect();
    projects.columns.owners = vec![
        owner("client_id", STUDIO, &["moha_admin"]),
        owner("created_by", &[], &[]),
        owner("is_published", STUDIO, STUDIO),
    ];

    let mut blog_posts = t(
        "blog_posts",
        vec![
            rule(ANON, READ, PUBLISHED_POSTS),
            rule(SIGNED_IN, READ, PUBLISHED_POSTS),
            rule(SIGNED_IN, &[Select, Update], OWN_POSTS),
            rule(SIGNED_IN, &[Insert], NEW_POST_AS_SELF),
            all(ADMIN, EVERYTHING),
            rule(AGENT_TOKEN, READ, OWNERS_POSTS),
            rule(AGENT_TOKEN, &[Insert], DRAFT_BY_AGENT),
            service(),
        ],
    );
    blog_posts.columns.insertable = vec![(
        MOHA_AGENT,
        vec![
            "id",
            "title",
            "slug",
            "content",
            "excerpt",
            "author_id",
            "category_id",
        ],
    )];
    blog_posts.columns.owners = vec![
        owner(
            "author_id",
            &["authenticated", "moha_admin", MOHA_AGENT],
            &["moha_admin"],
        ),
        owner("status", AUTHORS, AUTHORS),
    ];

    let mut user_sessions = t(
        "user_sessions",
        vec![
            rule(SIGNED_IN, EVERYTHING, OWN_ROWS),
            all(ADMIN, READ),
            service(),
        ],
    );
    user_sessions.columns.owners = vec![owner("user_id", &["authenticated"], &[])];

    let mut lead_notes = t(
        "lead_notes",
        vec![
            rule(SALES, READ, OF_ASSIGNED_LEAD),
            rule(SALES, &[Insert], NOTE_AS_SELF),
            all(ADMIN, &[Select, Insert, Delete]),
            all(AGENT, &[Select, Insert]),
            all(AGENT_TOKEN, READ),
            rule(AGENT_TOKEN, &[Insert], NOTE_BY_AGENT),
            service(),
        ],
    );
    let note_writers = &["moha_sales", "moha_admin", AI_AGENT, MOHA_AGENT];
    lead_notes.columns.owners = vec![
        owner("lead_id", note_writers, &[]),
        owner("created_by", note_writers, &[]),
    ];

    let mut lead_scoring = t(
        "lead_scoring",
        vec![
            rule(SALES, READ, OF_ASSIGNED_LEAD),
            all(ADMIN, READ),
            all(AGENT, &[Select, Insert]),
            service(),
        ],
    );
    lead_scoring.columns.owners = vec![owner("lead_id", &[AI_AGENT], &[])];

    let mut agents = t("agents", vec![all(ADMIN, EVERYTHING), service()]);
    agents.columns.updatable = vec![(
        "moha_admin",
        vec![
            "description",
            "owner_id",
            "status",
            "allowed_scopes",
            "max_token_days",
        ],
    )];
    agents.columns.owners = vec![
        owner("owner_id", &["moha_admin"], &["moha_admin"]),
        owner("created_by", &[], &[]),
    ];
    // Tokens are made, rotated and revoked only by the agent_auth functions; their hashes are
    // never readable.
    let mut api_tokens = t("api_tokens", vec![all(ADMIN, READ), all(SERVICE, READ)]);
    api_tokens.columns.hidden = vec!["token_hash"];

    let mut agent_proposals = t(
        "agent_proposals",
        vec![
            rule(SIGNED_IN, &[Select, Update], DECIDABLE),
            all(ADMIN, READ),
            rule(AGENT_TOKEN, READ, OWN_PROPOSALS),
            rule(AGENT_TOKEN, &[Insert], NEW_PROPOSAL),
            service(),
        ],
    );
    // Deciding writes the decision only; the agent names the id, the action and its target.
    agent_proposals.columns.updatable = vec![(
        "authenticated",
        vec!["status", "decided_by", "decided_at", "reason"],
    )];
    agent_proposals.columns.insertable = vec![(
        MOHA_AGENT,
        vec!["id", "agent_id", "action", "target_id", "payload"],
    )];
    agent_proposals.columns.owners = vec![
        owner("agent_id", &[MOHA_AGENT], &[]),
        owner("action", &[MOHA_AGENT], &[]),
        owner("decided_by", &[], &["authenticated"]),
    ];

    let mut agent_limits = t(
        "agent_limits",
        vec![all(ADMIN, EVERYTHING), all(AGENT, READ), service()],
    );
    agent_limits.columns.owners = vec![owner("user_id", &["moha_admin"], &["moha_admin"])];

    vec![
        users,
        t(
            "roles",
            vec![
                all(SIGNED_IN, READ),
                all(ADMIN, WRITE),
                all(AGENT, READ),
                service(),
            ],
        ),
        {
            // Generated from this matrix by the security release: nobody edits it.
            t(
                "permissions",
                vec![all(SIGNED_IN, READ), all(SERVICE, READ)],
            )
        },
        user_sessions,
        agents,
        api_tokens,
        agent_proposals,
        clients,
        projects,
        project_child("project_images"),
        project_child("project_tags"),
        t(
            "blog_categories",
            vec![
                all(ANON, READ),
                all(SIGNED_IN, READ),
                all(ADMIN, WRITE),
                service(),
            ],
        ),
        blog_posts,
        post_child("blog_tags"),
        post_child("blog_media"),
        render_requests,
        render_parameters,
        ai_output("render_results"),
        leads,
        lead_notes,
        lead_scoring,
        social_accounts,
        social_messages,
        social_analytics,
        inbox_data("social_sentiment"),
        notifications,
        t("audit_logs", vec![all(ADMIN, READ), all(SERVICE, READ)]),
        t(
            "error_logs",
            vec![
                all(ADMIN, READ),
                all(AGENT, &[Insert]),
                all(SERVICE, &[Select, Insert]),
            ],
        ),
        // Counters move only through the counting functions (security definer), never by a
        // direct write, so an agent cannot reset its own usage.
        t(
            "agent_usage",
            vec![all(ADMIN, READ), all(AGENT, READ), service()],
        ),
        agent_limits,
        t(
            "ai_cache",
            vec![
                all(ADMIN, &[Select, Insert]),
                all(AGENT, &[Select, Insert, Update]),
                service(),
            ],
        ),
        t(
            "prompt_templates",
            vec![all(ADMIN, EVERYTHING), all(AGENT, READ), service()],
        ),
        // The scheduled jobs' settings (issue 17): one row, which an Admin reads and changes.
        t(
            "operations_settings",
            vec![all(ADMIN, &[Select, Update]), service()],
        ),
    ]
}

/// Permissions the matrix cannot derive from table access because rules read them
/// (`authz.has_permission`), with the RBAC roles that hold them. Everything else in
/// `public.permissions` is derived by [`permissions`].
pub const CAPABILITIES: &[(&str, &[&str])] = &[
    ("blog:create", &["Admin", "Designer"]),
    ("blog:publish", &["Admin"]),
    ("render:create", &["Admin", "Designer", "Client"]),
    // Deciding an agent's proposal to hand a lead to someone.
    ("leads:assign", &["Admin"]),
];

/// The RBAC roles of `public.roles` whose permissions are generated, with the audiences their
/// requests belong to. `Agent` is no user's role: its permissions are the scopes a token may hold.
pub const RBAC_AUDIENCES: &[(&str, &[Audience])] = &[
    ("Admin", &[SIGNED_IN, ADMIN]),
    ("Designer", &[SIGNED_IN, DESIGNER]),
    ("Client", &[SIGNED_IN, CLIENT]),
    ("Sales", &[SIGNED_IN, SALES]),
    ("Agent", &[AGENT_TOKEN]),
];

/// `public.permissions` as the matrix implies it: `(role, "resource:action")`, sorted. For every
/// table and action a role's audiences hold an entry for (whose rule needs no permission the role
/// lacks), `<table>:<verb>`; for the Agent role these are exactly the scopes its entries read.
/// Plus [`CAPABILITIES`].
pub fn permissions() -> Vec<(&'static str, String)> {
    let mut out = std::collections::BTreeSet::new();
    for (role, audiences) in RBAC_AUDIENCES {
        let holds = |p: &str| {
            CAPABILITIES
                .iter()
                .any(|(c, roles)| *c == p && roles.contains(role))
        };
        for t in matrix() {
            for action in Action::ALL {
                let granted = t.entries.iter().any(|e| {
                    e.actions.contains(&action)
                        && audiences.contains(&e.audience)
                        && match e.access {
                            Access::All => true,
                            Access::Rule(r) => r.requires.iter().all(|p| holds(p)),
                        }
                });
                if granted {
                    out.insert((*role, scope(&t.table.name, action)));
                }
            }
        }
        for (c, roles) in CAPABILITIES {
            if roles.contains(role) {
                out.insert((*role, c.to_string()));
            }
        }
    }
    out.into_iter().collect()
}

/// `(select id from public.roles where name = ...)` for a role of [`RBAC_AUDIENCES`].
fn role_id(role: &str) -> Expr {
    Expr::Sql(match role {
        "Admin" => "(select id from public.roles where name = 'Admin')",
        "Designer" => "(select id from public.roles where name = 'Designer')",
        "Client" => "(select id from public.roles where name = 'Client')",
        "Sales" => "(select id from public.roles where name = 'Sales')",
        "Agent" => "(select id from public.roles where name = 'Agent')",
        other => panic!("no roles row for {other}"),
    })
}

/// Storage object names that writes accept: no leading or doubled `/`, no `.` or `..`
/// segment, no backslash, no `%` (encoded separators), no control characters, and at least
/// one folder (the scope segment).
pub const SAFE_OBJECT_NAME: &str = "name !~ '(^/|//|\\\\|%|(^|/)\\.\\.?(/|$)|[[:cntrl:]])' and pg_catalog.array_length(storage.foldername(name), 1) >= 1";

pub const OBJECT_OF_PUBLISHED_PROJECT: Rule = Rule {
    name: "of published project",
    using: "(storage.foldername(name))[1] in (select p.id::text from public.projects p where p.is_published)",
    check: None,
    columns: &["name"],
    requires: &[],
    one_of: &[],
};
pub const OBJECT_OF_OWN_PROJECT: Rule = Rule {
    name: "of own project",
    using: "(storage.foldername(name))[1] in (select o.id::text from authz.own_projects() o)",
    check: None,
    columns: &["name"],
    requires: &[],
    one_of: &[],
};
pub const OBJECT_OF_PUBLISHED_POST: Rule = Rule {
    name: "of published post",
    using: "(storage.foldername(name))[1] in (select p.id::text from public.blog_posts p where p.status = 'published'::public.blog_status)",
    check: None,
    columns: &["name"],
    requires: &[],
    one_of: &[],
};
pub const OBJECT_OF_OWN_POST: Rule = Rule {
    name: "of own post",
    using: "(storage.foldername(name))[1] in (select p.id::text from public.blog_posts p where p.author_id = (select auth.uid()))",
    check: None,
    columns: &["name"],
    requires: &[],
    one_of: &[],
};
pub const OWN_FOLDER: Rule = Rule {
    name: "own folder",
    using: "(storage.foldername(name))[1] = (select auth.uid())::text",
    check: None,
    columns: &["name"],
    requires: &[],
    one_of: &[],
};

const MB: i64 = 1024 * 1024;

fn bucket(id: &str, size_mb: i64, mimes: &[&str]) -> Bucket {
    Bucket {
        id: id.into(),
        // Never public: a public bucket serves every object by URL without RLS, and lists.
        public: false,
        file_size_limit: Some(size_mb * MB),
        allowed_mime_types: mimes.iter().map(|m| m.to_string()).collect(),
    }
}

const IMAGES: &[&str] = &["image/jpeg", "image/png", "image/webp", "image/avif"];

/// The buckets and who may do what with their objects.
pub fn storage() -> Vec<BucketAccess> {
    let mut media = IMAGES.to_vec();
    media.extend(["video/mp4", "video/webm"]);
    let mut renders = IMAGES.to_vec();
    renders.extend(["model/gltf-binary", "application/pdf"]);
    let mut social = IMAGES.to_vec();
    social.extend([
        "video/mp4",
        "video/quicktime",
        "audio/mpeg",
        "application/pdf",
    ]);
    vec![
        BucketAccess {
            bucket: bucket("project-media", 50, &media),
            path: "<project id>/<file>",
            entries: vec![
                rule(ANON, READ, OBJECT_OF_PUBLISHED_PROJECT),
                rule(SIGNED_IN, READ, OBJECT_OF_PUBLISHED_PROJECT),
                rule(CLIENT, READ, OBJECT_OF_OWN_PROJECT),
                all(DESIGNER, EVERYTHING),
                all(ADMIN, EVERYTHING),
                service(),
            ],
        },
        BucketAccess {
            bucket: bucket("blog-media", 20, &media),
            path: "<post id>/<file>",
            entries: vec![
                rule(ANON, READ, OBJECT_OF_PUBLISHED_POST),
                rule(SIGNED_IN, READ, OBJECT_OF_PUBLISHED_POST),
                rule(SIGNED_IN, EVERYTHING, OBJECT_OF_OWN_POST),
                all(ADMIN, EVERYTHING),
                service(),
            ],
        },
        BucketAccess {
            bucket: bucket("renders", 100, &renders),
            path: "<user id>/<file>",
            entries: vec![
                rule(SIGNED_IN, &[Select, Insert, Delete], OWN_FOLDER),
                all(DESIGNER, READ),
                all(ADMIN, EVERYTHING),
                all(AGENT, &[Select, Insert]),
                service(),
            ],
        },
        BucketAccess {
            bucket: bucket("social-uploads", 25, &social),
            path: "<social account id>/<file>",
            entries: vec![
                all(SALES, &[Select, Insert]),
                all(ADMIN, EVERYTHING),
                all(AGENT, &[Select, Insert]),
                service(),
            ],
        },
    ]
}

/// Topics named after the caller: `<prefix>:<the caller's user id>`.
pub const OWN_USER_TOPIC: Rule = Rule::new(
    "own user topic",
    "(select realtime.topic()) = 'user:' || (select auth.uid())::text",
    None,
    &[],
);
pub const OWN_LEADS_TOPIC: Rule = Rule::new(
    "own leads topic",
    "(select realtime.topic()) = 'leads:' || (select auth.uid())::text",
    None,
    &[],
);

/// The Realtime topics (issue 18): private channels only, fed by broadcast from the database
/// (`sql::moha::realtime`). What a topic's messages carry is never more than its listeners may
/// select from the tables they come from; `docs/realtime.md` lists the payloads.
pub fn topics() -> Vec<TopicAccess> {
    // Each family's test is anchored, so a topic belongs to one family at most. The service
    // role bypasses RLS, so it is declared everything on every topic.
    vec![
        TopicAccess {
            pattern: "inbox:<social account id>",
            topic: "(select realtime.topic()) ~ '^inbox:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'",
            broadcast: vec![all(SALES, READ), all(ADMIN, READ), all(SERVICE, &[Select, Insert])],
            presence: vec![all(SERVICE, &[Select, Insert])],
        },
        TopicAccess {
            pattern: "user:<user id>",
            topic: "(select realtime.topic()) ~ '^user:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'",
            broadcast: vec![rule(SIGNED_IN, READ, OWN_USER_TOPIC), all(SERVICE, &[Select, Insert])],
            presence: vec![all(SERVICE, &[Select, Insert])],
        },
        TopicAccess {
            pattern: "renders:review",
            topic: "(select realtime.topic()) = 'renders:review'",
            broadcast: vec![all(DESIGNER, READ), all(ADMIN, READ), all(SERVICE, &[Select, Insert])],
            presence: vec![all(SERVICE, &[Select, Insert])],
        },
        TopicAccess {
            pattern: "leads:<sales user id>",
            topic: "(select realtime.topic()) ~ '^leads:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'",
            broadcast: vec![rule(SALES, READ, OWN_LEADS_TOPIC), all(SERVICE, &[Select, Insert])],
            presence: vec![all(SERVICE, &[Select, Insert])],
        },
        TopicAccess {
            pattern: "leads:all",
            topic: "(select realtime.topic()) = 'leads:all'",
            broadcast: vec![all(ADMIN, READ), all(SERVICE, &[Select, Insert])],
            presence: vec![all(SERVICE, &[Select, Insert])],
        },
        TopicAccess {
            pattern: "dashboard:admin",
            topic: "(select realtime.topic()) = 'dashboard:admin'",
            // Admins also talk to each other on it and see who else is watching.
            broadcast: vec![all(ADMIN, &[Select, Insert]), all(SERVICE, &[Select, Insert])],
            presence: vec![all(ADMIN, &[Select, Insert]), all(SERVICE, &[Select, Insert])],
        },
    ]
}

pub fn release() -> Release {
    let catalog =
        crate::Catalog::from_releases(&super::schema_releases()).expect("the schema releases fold");
    let mut changes = vec![Change::Grant(Grant {
        privileges: vec![Privilege::Usage],
        object: GrantObject::Schema("public".into()),
        roles: vec![AI_AGENT.into(), MOHA_AGENT.into()],
        revoke: false,
    })];
    // The permissions table says what the policies below grant (a test compares both live).
    changes.push(Change::Insert(crate::model::Insert {
        table: public("permissions"),
        columns: vec!["role_id".into(), "resource".into(), "action".into()],
        rows: permissions()
            .into_iter()
            .map(|(role, p)| {
                let (resource, action) = p.split_once(':').expect("resource:action");
                vec![role_id(role), Expr::text(resource), Expr::text(action)]
            })
            .collect(),
        conflict_target: vec!["role_id".into(), "resource".into(), "action".into()],
    }));
    for t in matrix() {
        let table = catalog
            .table(&t.table)
            .unwrap_or_else(|| panic!("the matrix names {}, which the schema lacks", t.table));
        changes.extend(crate::access::table_changes(&t, table, MANAGED_ROLES));
    }
    // Identity columns need no sequence privilege to insert; with one, `setval` on
    // audit_logs_id_seq would make every audited write fail. Supabase's default privileges grant
    // API roles ALL on what `postgres` creates in `public`: narrow them for the project's own
    // objects, here and for tables and sequences later migrations create (never on
    // platform-owned objects, where a revoke is local-only).
    changes.push(Change::Statement(
        "revoke all on all sequences in schema public from anon, authenticated, service_role",
    ));
    changes.push(Change::Statement(
        "alter default privileges for role postgres in schema public revoke all on sequences from anon, authenticated, service_role",
    ));
    changes.push(Change::Statement(
        "alter default privileges for role postgres in schema public revoke truncate, trigger, references on tables from anon, authenticated, service_role",
    ));
    // PostgreSQL 17 adds MAINTAIN (vacuum, lock table, ...) to "all"; the word does not parse
    // on 15, so only a server that has it revokes it.
    changes.push(Change::Statement(
        "do $$ begin if pg_catalog.current_setting('server_version_num')::int >= 170000 then execute 'alter default privileges for role postgres in schema public revoke maintain on tables from anon, authenticated, service_role'; end if; end $$",
    ));
    changes.extend(crate::access::storage_changes(
        &storage(),
        &Expr::Sql(SAFE_OBJECT_NAME),
    ));
    Release {
        version: "20250601000700",
        name: "security",
        summary: "Access matrix: grants, column privileges and one policy per role and action on every table; storage buckets and their object policies.",
        changes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> crate::Catalog {
        crate::Catalog::from_releases(&super::super::releases()).unwrap()
    }

    fn rules() -> Vec<Rule> {
        let mut out = Vec::new();
        let entries = matrix()
            .into_iter()
            .flat_map(|t| t.entries)
            .chain(storage().into_iter().flat_map(|b| b.entries));
        for e in entries {
            if let Access::Rule(r) = e.access {
                out.push(r);
            }
        }
        out
    }

    #[test]
    fn every_table_is_in_the_matrix_once() {
        let m = matrix();
        for t in catalog()
            .tables
            .iter()
            .filter(|t| t.name.schema == "public")
        {
            let n = m.iter().filter(|a| a.table == t.name).count();
            assert_eq!(n, 1, "{} appears {n} times in the access matrix", t.name);
        }
    }

    #[test]
    fn one_policy_per_table_role_and_command_never_to_public() {
        let c = catalog();
        let mut seen = std::collections::BTreeSet::new();
        for p in &c.policies {
            assert!(p.permissive, "{}", p.name);
            assert_eq!(p.roles.len(), 1, "{} names one role", p.name);
            assert!(p.roles[0] != "public", "{} applies to public", p.name);
            assert!(
                seen.insert((p.table.clone(), p.roles[0].clone(), p.command)),
                "a second {} policy for {} on {}",
                p.command.as_str(),
                p.roles[0],
                p.table
            );
        }
    }

    #[test]
    fn rules_call_functions_once_per_statement_and_trust_no_user_metadata() {
        let audiences = [
            ANON,
            SIGNED_IN,
            CLIENT,
            DESIGNER,
            SALES,
            ADMIN,
            AGENT,
            AGENT_TOKEN,
            SERVICE,
        ];
        let texts = rules()
            .into_iter()
            .flat_map(|r| [Some(r.using), r.check])
            .flatten()
            .chain(audiences.iter().filter_map(|a| a.guard))
            .chain([SAFE_OBJECT_NAME]);
        for text in texts {
            assert!(!text.contains("user_metadata"), "{text}");
            assert!(!text.contains("auth.role()"), "{text}");
            for call in [
                "auth.uid()",
                "authz.is_admin()",
                "authz.has_",
                "authz.agent_",
            ] {
                let bare = text.matches(call).count();
                let wrapped = text.matches(&format!("(select {call}")).count();
                assert_eq!(bare, wrapped, "{call} not wrapped in (select ...): {text}");
            }
        }
    }

    /// Columns that name a person or decide who sees a row: the ones rules filter on, and any
    /// whose name says so. Each must be declared with the roles that may write it wherever a
    /// role other than the service role may insert or update the table.
    #[test]
    fn every_ownership_column_is_declared_with_its_writers() {
        const NAMES: &[&str] = &[
            "user_id",
            "client_id",
            "assigned_to",
            "author_id",
            "role_id",
            "created_by",
            "performed_by",
            "owner",
            "owner_id",
        ];
        let c = catalog();
        for t in matrix() {
            let table = c.table(&t.table).unwrap();
            let writers = t.entries.iter().any(|e| {
                !crate::access::BYPASS_RLS.contains(&e.audience.db_role)
                    && e.actions.iter().any(|a| matches!(a, Insert | Update))
            });
            if !writers {
                continue;
            }
            let mut needed: Vec<&str> = t
                .entries
                .iter()
                .filter_map(|e| match e.access {
                    Access::Rule(r) => Some(r.columns),
                    Access::All => None,
                })
                .flatten()
                .copied()
                .collect();
            needed.extend(
                table
                    .columns
                    .iter()
                    .map(|col| col.name.as_str())
                    .filter(|n| NAMES.contains(n)),
            );
            for col in needed {
                assert!(
                    t.columns.owners.iter().any(|o| o.column == col),
                    "{}.{col} decides who sees what: declare who may write it (Columns::owners)",
                    t.table
                );
            }
            for o in &t.columns.owners {
                for (action, roles) in [(Insert, &o.insert), (Update, &o.update)] {
                    for role in roles {
                        assert!(
                            t.entries.iter().any(|e| e.actions.contains(&action)
                                && (e.audience.db_role == *role
                                    || (*role == "authenticated"
                                        && AUTHENTICATED_MEMBERS.contains(&e.audience.db_role)))),
                            "{}.{}: {role} is named to {} it but holds no {0} {2}",
                            t.table,
                            o.column,
                            action.as_str()
                        );
                    }
                }
            }
        }
    }

    /// A rule's `requires` and the permissions its text checks are declared capabilities, so the
    /// generated table holds the rows the policies read.
    #[test]
    fn rules_read_only_declared_capabilities() {
        for r in rules() {
            for p in r.requires {
                assert!(
                    CAPABILITIES.iter().any(|(c, _)| c == p),
                    "{} requires {p}, which no capability declares",
                    r.name
                );
            }
            for text in [Some(r.using), r.check].into_iter().flatten() {
                for (i, _) in text.match_indices("authz.has_permission('") {
                    let rest = &text[i + "authz.has_permission('".len()..];
                    let (resource, rest) = rest.split_once("', '").expect("two literals");
                    let action = &rest[..rest.find('\'').unwrap()];
                    let p = format!("{resource}:{action}");
                    assert!(
                        CAPABILITIES.iter().any(|(c, _)| *c == p)
                            || permissions().iter().any(|(_, q)| *q == p),
                        "{} checks {p}, which no capability declares and no table grants",
                        r.name
                    );
                }
            }
        }
    }

    /// Every policy of the agent role reads the scope of its own table and command, and the Agent
    /// role's permissions are exactly those scopes.
    #[test]
    fn agent_policies_read_their_tables_scope_and_the_agent_permissions_are_those_scopes() {
        let c = catalog();
        let mut read = std::collections::BTreeSet::new();
        for p in c.policies.iter().filter(|p| p.roles == [MOHA_AGENT]) {
            let action = match p.command {
                Command::Select => Select,
                Command::Insert => Insert,
                Command::Update => Update,
                Command::Delete => Delete,
                Command::All => panic!("{}: one command per policy", p.name),
            };
            let wanted = scope(&p.table.name, action);
            let text: String = [&p.using, &p.with_check]
                .into_iter()
                .flatten()
                .map(|e| crate::render::expr(e).unwrap())
                .collect();
            assert!(
                text.contains(&format!("(select authz.agent_has_scope('{wanted}'))")),
                "{}: {text}",
                p.name
            );
            read.insert(wanted);
        }
        let agent: std::collections::BTreeSet<String> = permissions()
            .into_iter()
            .filter(|(role, _)| *role == "Agent")
            .map(|(_, p)| p)
            .collect();
        assert_eq!(agent, read);
    }

    /// Nobody outside the matrix's roles gets permission rows, and every RBAC role's rows include
    /// the capabilities it holds.
    #[test]
    fn permissions_are_derived_for_every_rbac_role() {
        let rows = permissions();
        for (role, _) in RBAC_AUDIENCES {
            assert!(
                rows.iter().any(|(r, _)| r == role),
                "{role} has no permission"
            );
        }
        assert!(rows.contains(&("Designer", "blog_posts:create".into())));
        // A Client passes the sign-up's insert policy only with blog:create, which it lacks.
        assert!(!rows.contains(&("Client", "blog_posts:create".into())));
        assert!(rows.contains(&("Sales", "leads:edit".into())));
        assert!(!rows.contains(&("Agent", "leads:edit".into())));
    }

    #[test]
    fn the_public_face_of_a_project_names_no_person_and_no_place() {
        for column in ["client_id", "created_by", "location", "site"] {
            assert!(!PROJECT_PUBLIC_FACE.contains(&column), "{column}");
        }
        let projects = catalog().table(&public("projects")).unwrap().clone();
        for column in PROJECT_PUBLIC_FACE {
            assert!(
                projects.columns.iter().any(|c| c.name == *column),
                "projects.{column}"
            );
        }
    }

    #[test]
    fn render_inserts_name_the_model_allow_list() {
        for rule in [
            NEW_RENDER_AS_LINKED_CLIENT,
            NEW_RENDER_AS_STAFF,
            NEW_RENDER_BY_AGENT,
        ] {
            let check = rule.check.unwrap();
            let list: Vec<String> = RENDER_MODELS.iter().map(|m| format!("'{m}'")).collect();
            let expected = match list.as_slice() {
                [one] => format!("model = {one}"),
                many => format!("model in ({})", many.join(", ")),
            };
            assert!(check.contains(&expected), "{}: {check}", rule.name);
        }
    }

    #[test]
    fn columns_rules_filter_on_are_indexed() {
        let c = catalog();
        for t in matrix() {
            for e in &t.entries {
                let Access::Rule(r) = e.access else { continue };
                for col in r.columns {
                    let indexed = c.indexes.iter().any(|i| {
                        i.table == t.table
                            && (i.keys.first().and_then(|k| k.column()) == Some(col)
                                || i.predicate
                                    .as_ref()
                                    .is_some_and(|p| crate::render::expr(p).unwrap().contains(col)))
                    }) || c.table(&t.table).unwrap().constraints.iter().any(|k| {
                        !matches!(
                            k.kind,
                            ConstraintKind::Check(_) | ConstraintKind::ForeignKey { .. }
                        ) && k.columns().first().map(String::as_str) == Some(col)
                    });
                    assert!(indexed, "{}.{col} ({}) has no index", t.table, r.name);
                }
            }
        }
    }
}
