//! The access matrix as data, and the policies, grants and column privileges generated from it.
//!
//! A matrix entry says: this [`Audience`] may do these [`Action`]s on this table (or storage
//! bucket), on all rows or on the rows a named [`Rule`] selects. Everything not listed is denied.
//! The generator turns the entries into one permissive policy per database role and action
//! (never two, so PostgreSQL evaluates one expression), table grants and column privileges that
//! allow exactly the listed actions, and the tests read the same entries to know what every
//! persona must be able to do.

use crate::model::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    Select,
    Insert,
    Update,
    Delete,
}

impl Action {
    pub const ALL: [Action; 4] = [
        Action::Select,
        Action::Insert,
        Action::Update,
        Action::Delete,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Select => "select",
            Action::Insert => "insert",
            Action::Update => "update",
            Action::Delete => "delete",
        }
    }

    /// The verb of the permission vocabulary (`resource:verb`): read, create, edit, delete.
    pub fn verb(self) -> &'static str {
        match self {
            Action::Select => "read",
            Action::Insert => "create",
            Action::Update => "edit",
            Action::Delete => "delete",
        }
    }

    fn command(self) -> Command {
        match self {
            Action::Select => Command::Select,
            Action::Insert => Command::Insert,
            Action::Update => Command::Update,
            Action::Delete => Command::Delete,
        }
    }

    fn privilege(self) -> Privilege {
        match self {
            Action::Select => Privilege::Select,
            Action::Insert => Privilege::Insert,
            Action::Update => Privilege::Update,
            Action::Delete => Privilege::Delete,
        }
    }
}

/// Who an entry is for: a database role, narrowed (for `authenticated`) by a guard on the
/// caller's RBAC role. The guard reads the caller's role from `public.users` through a security
/// definer helper, never from the row and never from `user_metadata`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Audience {
    pub name: &'static str,
    pub db_role: &'static str,
    /// Trusted SQL that is true when the caller belongs to this audience, evaluated once per
    /// statement (`(select ...)`); `None` when the database role alone decides.
    pub guard: Option<&'static str>,
    /// A token's audience: each entry also needs the token to hold the scope `<table>:<verb>`
    /// of its table and action, which this function `(schema, name)` checks ([`scope_guard`]).
    pub scope_check: Option<(&'static str, &'static str)>,
}

/// The scope an agent token needs for `action` on the table `resource`: `leads:read`,
/// `lead_notes:create`, ... (the permission vocabulary of [`Action::verb`]).
pub fn scope(resource: &str, action: Action) -> String {
    format!("{resource}:{}", action.verb())
}

/// `(select <check>('<resource>:<verb>'))`: true once per statement when the caller's token
/// holds the scope.
pub fn scope_guard(check: (&str, &str), resource: &str, action: Action) -> Expr {
    Expr::Call(
        Name::new(check.0, check.1),
        vec![Expr::Text(scope(resource, action))],
    )
    .select()
}

/// A named row filter. `using` selects existing rows (select, update, delete); `check` must hold
/// for new rows (insert, update) and defaults to `using`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rule {
    pub name: &'static str,
    pub using: &'static str,
    pub check: Option<&'static str>,
    /// The table's columns the rule filters on; each must be indexed.
    pub columns: &'static [&'static str],
    /// Permissions (`resource:action` rows of `public.permissions`) the rule cannot pass
    /// without: a role lacking one gets nothing from it.
    pub requires: &'static [&'static str],
    /// Permissions the rule chooses among by row (each row calls for one of them): a role
    /// holding none gets nothing from it, a role holding all of them gets every row.
    pub one_of: &'static [&'static str],
}

impl Rule {
    /// A rule with nothing required.
    pub const fn new(
        name: &'static str,
        using: &'static str,
        check: Option<&'static str>,
        columns: &'static [&'static str],
    ) -> Rule {
        Rule {
            name,
            using,
            check,
            columns,
            requires: &[],
            one_of: &[],
        }
    }

    pub const fn requires(mut self, permissions: &'static [&'static str]) -> Rule {
        self.requires = permissions;
        self
    }

    pub const fn one_of(mut self, permissions: &'static [&'static str]) -> Rule {
        self.one_of = permissions;
        self
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    All,
    Rule(Rule),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub audience: Audience,
    pub actions: Vec<Action>,
    pub access: Access,
}

/// Column privileges beyond the table-wide ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Columns {
    /// Never selectable, insertable or updatable by any API role (secrets).
    pub hidden: Vec<&'static str>,
    /// `(database role, columns)`: the only columns that role may read.
    pub selectable: Vec<(&'static str, Vec<&'static str>)>,
    /// `(database role, columns)`: the only columns that role may set on insert; the others take
    /// their defaults (server-chosen fields).
    pub insertable: Vec<(&'static str, Vec<&'static str>)>,
    /// `(database role, columns)`: the only columns that role may update.
    pub updatable: Vec<(&'static str, Vec<&'static str>)>,
    /// The columns that decide who sees what, each with the roles that may write it. Every other
    /// role's insert and update privileges leave the column out, whatever its other lists say.
    pub owners: Vec<Owner>,
}

/// An ownership column (`user_id`, `client_id`, `assigned_to`, ...) and the database roles that
/// may set it on insert and change it on update. A role named here still meets the table's
/// policies (e.g. `user_id = auth.uid()` on insert). `authenticated` stands for every business
/// role, which inherits it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub column: &'static str,
    pub insert: Vec<&'static str>,
    pub update: Vec<&'static str>,
    /// The roles that inherit `authenticated`, which a named `authenticated` stands for.
    pub members: &'static [&'static str],
}

impl Owner {
    /// Whether `role` may write the column with `action` (insert or update).
    pub fn allows(&self, role: &str, action: Action) -> bool {
        let roles = match action {
            Action::Insert => &self.insert,
            Action::Update => &self.update,
            Action::Select | Action::Delete => return true,
        };
        roles
            .iter()
            .any(|r| *r == role || (*r == "authenticated" && self.members.contains(&role)))
    }
}

impl Columns {
    /// The columns `role` may use for `action` (`None`: every column, a table-wide privilege),
    /// given the table's `columns`.
    pub fn allowed(&self, role: &str, action: Action, columns: &[String]) -> Option<Vec<String>> {
        let explicit = match action {
            Action::Select => &self.selectable,
            Action::Insert => &self.insertable,
            Action::Update => &self.updatable,
            Action::Delete => return None,
        };
        let bypass = BYPASS_RLS.contains(&role);
        let chosen: Vec<String> = match explicit.iter().find(|(r, _)| *r == role) {
            Some((_, cols)) => cols.iter().map(|c| c.to_string()).collect(),
            None => columns
                .iter()
                .filter(|c| !self.hidden.contains(&c.as_str()))
                .cloned()
                .collect(),
        };
        let chosen: Vec<String> = chosen
            .into_iter()
            .filter(|c| {
                bypass
                    || self
                        .owners
                        .iter()
                        .filter(|o| o.column == c)
                        .all(|o| o.allows(role, action))
            })
            .collect();
        (chosen.len() != columns.len()).then_some(chosen)
    }
}

/// The declared access to one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableAccess {
    pub table: Name,
    pub entries: Vec<Entry>,
    pub columns: Columns,
}

/// The declared access to one storage bucket's objects (`storage.objects` rows with this
/// `bucket_id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketAccess {
    pub bucket: Bucket,
    /// How object names are laid out, e.g. `<project id>/<file>`.
    pub path: &'static str,
    pub entries: Vec<Entry>,
}

/// A test identity: a database role plus the audiences it belongs to (and, for an agent token,
/// the scopes it holds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Persona {
    pub name: &'static str,
    pub db_role: &'static str,
    pub audiences: &'static [Audience],
    pub scopes: &'static [&'static str],
}

/// What a persona may do, as the matrix declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Declared {
    Deny,
    All,
    /// The union of these rules' rows (names in matrix order).
    Rules(Vec<&'static str>),
}

impl std::fmt::Display for Declared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Declared::Deny => write!(f, "deny"),
            Declared::All => write!(f, "all"),
            Declared::Rules(r) => write!(f, "{}", r.join(" + ")),
        }
    }
}

/// The declared access of `persona` for `action` over `entries` of the table (or bucket)
/// `resource`: a scoped audience's entries count only when the persona holds the scope.
pub fn declared(resource: &str, entries: &[Entry], persona: &Persona, action: Action) -> Declared {
    let mut rules = Vec::new();
    let scoped_ok = |a: &Audience| {
        a.scope_check.is_none() || persona.scopes.contains(&scope(resource, action).as_str())
    };
    for e in entries.iter().filter(|e| {
        e.actions.contains(&action)
            && persona.audiences.contains(&e.audience)
            && scoped_ok(&e.audience)
    }) {
        match e.access {
            Access::All => return Declared::All,
            Access::Rule(r) => {
                if !rules.contains(&r.name) {
                    rules.push(r.name)
                }
            }
        }
    }
    if rules.is_empty() {
        Declared::Deny
    } else {
        Declared::Rules(rules)
    }
}

/// Database roles that bypass row level security: they get grants but no policies.
pub const BYPASS_RLS: &[&str] = &["service_role"];

/// The roles Supabase itself creates and grants storage privileges to.
pub const SUPABASE_ROLES: &[&str] = &["anon", "authenticated", "service_role"];

/// The guard, the scope's guard (scoped audiences) and the rule's text, ANDed.
fn term(e: &Entry, rule: Option<&'static str>, resource: &str, action: Action) -> Option<Expr> {
    let parts: Vec<Expr> = e
        .audience
        .guard
        .map(Expr::Sql)
        .into_iter()
        .chain(
            e.audience
                .scope_check
                .map(|check| scope_guard(check, resource, action)),
        )
        .chain(rule.map(Expr::Sql))
        .collect();
    match parts.len() {
        0 => None,
        1 => parts.into_iter().next(),
        _ => Some(Expr::And(parts)),
    }
}

fn using_term(e: &Entry, resource: &str, action: Action) -> Option<Expr> {
    let rule = match e.access {
        Access::All => None,
        Access::Rule(r) => Some(r.using),
    };
    term(e, rule, resource, action)
}

fn check_term(e: &Entry, resource: &str, action: Action) -> Option<Expr> {
    let rule = match e.access {
        Access::All => None,
        Access::Rule(r) => Some(r.check.unwrap_or(r.using)),
    };
    term(e, rule, resource, action)
}

/// OR of the terms; `None` when one of them is unconditional (the role may touch every row).
fn any(terms: Vec<Option<Expr>>) -> Option<Expr> {
    if terms.iter().any(Option::is_none) {
        return None;
    }
    let mut terms: Vec<Expr> = terms.into_iter().flatten().collect();
    if terms.len() == 1 {
        terms.pop()
    } else {
        Some(Expr::Or(terms))
    }
}

/// The roles, in a stable order, that `entries` mention.
fn roles(entries: &[&Entry]) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for e in entries {
        if !out.contains(&e.audience.db_role) {
            out.push(e.audience.db_role);
        }
    }
    out
}

/// `(using, with check)` of the policy for `role` and `action` over `entries`, each a list of
/// `(scope, entries)` pairs: a scope (e.g. `bucket_id = 'renders'`) is ANDed with its entries'
/// terms. `None` when the role has no entry for the action.
fn policy_exprs(
    scoped: &[(Option<Expr>, Vec<&Entry>)],
    resource: &str,
    role: &str,
    action: Action,
    write_check: Option<&Expr>,
) -> Option<(Option<Expr>, Option<Expr>)> {
    let mut using_terms = Vec::new();
    let mut check_terms = Vec::new();
    for (scope, entries) in scoped {
        let mine: Vec<&&Entry> = entries
            .iter()
            .filter(|e| e.audience.db_role == role && e.actions.contains(&action))
            .collect();
        if mine.is_empty() {
            continue;
        }
        let inner_using = any(mine
            .iter()
            .map(|e| using_term(e, resource, action))
            .collect());
        let inner_check = any(mine
            .iter()
            .map(|e| check_term(e, resource, action))
            .collect());
        let scoped_expr = |inner: Option<Expr>, extra: Option<&Expr>| {
            let parts: Vec<Expr> = scope
                .iter()
                .cloned()
                .chain(extra.cloned())
                .chain(inner)
                .collect();
            match parts.len() {
                0 => None,
                1 => parts.into_iter().next(),
                _ => Some(Expr::And(parts)),
            }
        };
        using_terms.push(scoped_expr(inner_using, None));
        check_terms.push(scoped_expr(inner_check, write_check));
    }
    if using_terms.is_empty() {
        return None;
    }
    let using = any(using_terms);
    let check = any(check_terms);
    Some(match action {
        Action::Select | Action::Delete => (Some(using.unwrap_or(Expr::Bool(true))), None),
        Action::Insert => (None, Some(check.unwrap_or(Expr::Bool(true)))),
        Action::Update => (
            Some(using.unwrap_or(Expr::Bool(true))),
            Some(check.unwrap_or(Expr::Bool(true))),
        ),
    })
}

fn policy(
    table: &Name,
    label: &str,
    role: &str,
    action: Action,
    exprs: (Option<Expr>, Option<Expr>),
) -> Change {
    Change::CreatePolicy(Policy {
        name: format!("{label}_{}_{role}", action.as_str()),
        table: table.clone(),
        command: action.command(),
        permissive: true,
        roles: vec![role.to_string()],
        using: exprs.0,
        with_check: exprs.1,
    })
}

fn grant(privileges: Vec<Privilege>, object: GrantObject, roles: Vec<String>) -> Change {
    Change::Grant(Grant {
        privileges,
        object,
        roles,
        revoke: false,
    })
}

/// Revokes every table privilege from `managed` (the API roles whose privileges the matrix
/// decides), then grants back exactly what the entries allow (columns narrowed by `columns`), and
/// creates one policy per role and action.
pub fn table_changes(t: &TableAccess, table: &Table, managed: &[&str]) -> Vec<Change> {
    let mut out = vec![Change::Grant(Grant {
        privileges: vec![Privilege::All],
        object: GrantObject::Table(t.table.clone()),
        roles: managed.iter().map(|r| r.to_string()).collect(),
        revoke: true,
    })];
    let all_entries: Vec<&Entry> = t.entries.iter().collect();
    let columns: Vec<String> = table.columns.iter().map(|c| c.name.clone()).collect();
    for role in roles(&all_entries) {
        let allowed: Vec<Action> = Action::ALL
            .into_iter()
            .filter(|a| {
                t.entries
                    .iter()
                    .any(|e| e.audience.db_role == role && e.actions.contains(a))
            })
            .collect();
        let mut table_privs = Vec::new();
        for a in &allowed {
            match t.columns.allowed(role, *a, &columns) {
                Some(cols) if cols.is_empty() => {
                    panic!("{}: {role} may {} no column", t.table, a.as_str())
                }
                Some(cols) => out.push(grant(
                    vec![a.privilege()],
                    GrantObject::Columns(t.table.clone(), cols),
                    vec![role.to_string()],
                )),
                None => table_privs.push(a.privilege()),
            }
        }
        if !table_privs.is_empty() {
            out.push(grant(
                table_privs,
                GrantObject::Table(t.table.clone()),
                vec![role.to_string()],
            ));
        }
        if BYPASS_RLS.contains(&role) {
            continue;
        }
        for a in allowed {
            if let Some(exprs) =
                policy_exprs(&[(None, all_entries.clone())], &t.table.name, role, a, None)
            {
                out.push(policy(&t.table, &t.table.name, role, a, exprs));
            }
        }
    }
    out
}

/// One policy per role and action on `storage.objects`, covering every bucket: each bucket's
/// terms are scoped by `bucket_id = '<bucket>'`, and writes must also satisfy `safe_name`.
pub fn storage_changes(buckets: &[BucketAccess], safe_name: &Expr) -> Vec<Change> {
    let objects = Name::new("storage", "objects");
    let mut out: Vec<Change> = buckets
        .iter()
        .map(|b| Change::CreateBucket(b.bucket.clone()))
        .collect();
    let scoped: Vec<(Option<Expr>, Vec<&Entry>)> = buckets
        .iter()
        .map(|b| {
            (
                Some(Expr::column("bucket_id").eq(Expr::text(&b.bucket.id))),
                b.entries.iter().collect(),
            )
        })
        .collect();
    let all: Vec<&Entry> = buckets.iter().flat_map(|b| b.entries.iter()).collect();
    for role in roles(&all) {
        if BYPASS_RLS.contains(&role) {
            continue;
        }
        // Supabase grants its own API roles everything on storage.objects (the policies
        // decide); any other role needs its privileges spelled out.
        if !SUPABASE_ROLES.contains(&role) {
            let privileges: Vec<Privilege> = Action::ALL
                .into_iter()
                .filter(|a| {
                    all.iter()
                        .any(|e| e.audience.db_role == role && e.actions.contains(a))
                })
                .map(Action::privilege)
                .collect();
            out.push(grant(
                vec![Privilege::Usage],
                GrantObject::Schema("storage".into()),
                vec![role.to_string()],
            ));
            out.push(grant(
                privileges,
                GrantObject::Table(objects.clone()),
                vec![role.to_string()],
            ));
        }
        for a in Action::ALL {
            let check = matches!(a, Action::Insert | Action::Update).then_some(safe_name);
            if let Some(exprs) = policy_exprs(&scoped, "objects", role, a, check) {
                out.push(policy(&objects, "objects", role, a, exprs));
            }
        }
    }
    out
}

/// The declared access to one family of Realtime topics (issue 18): private channels whose
/// joins and messages Realtime authorises against RLS on `realtime.messages`, with
/// `realtime.topic()` set to the channel's topic and `extension` naming the feature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicAccess {
    /// How the topics are named, e.g. `leads:<sales user id>`.
    pub pattern: &'static str,
    /// Trusted SQL, true when `(select realtime.topic())` is a topic of this family.
    pub topic: &'static str,
    /// Broadcast: `Select` receives the topic's messages (and may join), `Insert` sends.
    pub broadcast: Vec<Entry>,
    /// Presence: `Select` sees who is present (and may join), `Insert` tracks oneself.
    pub presence: Vec<Entry>,
}

/// The table Realtime authorises against.
pub fn realtime_messages() -> Name {
    Name::new("realtime", "messages")
}

/// One policy per role and action on `realtime.messages`, covering every topic family: each
/// family's entries are scoped by its topic test and the message's `extension`. Realtime checks
/// `select` (may receive) and `insert` (may send or track); nothing else is granted a policy.
/// The table's grants are the Realtime service's own (select, insert, update to the API roles).
pub fn topic_changes(topics: &[TopicAccess]) -> Vec<Change> {
    let messages = realtime_messages();
    let scoped: Vec<(Option<Expr>, Vec<&Entry>)> = topics
        .iter()
        .flat_map(|t| {
            [("broadcast", &t.broadcast), ("presence", &t.presence)]
                .into_iter()
                .map(move |(extension, entries)| {
                    (
                        Some(Expr::And(vec![
                            Expr::column("extension").eq(Expr::text(extension)),
                            Expr::Sql(t.topic),
                        ])),
                        entries.iter().collect(),
                    )
                })
        })
        .collect();
    let all: Vec<&Entry> = topics
        .iter()
        .flat_map(|t| t.broadcast.iter().chain(t.presence.iter()))
        .collect();
    let mut out = Vec::new();
    for role in roles(&all) {
        if BYPASS_RLS.contains(&role) {
            continue;
        }
        for a in [Action::Select, Action::Insert] {
            if let Some(exprs) = policy_exprs(&scoped, "messages", role, a, None) {
                out.push(policy(&messages, "topics", role, a, exprs));
            }
        }
    }
    out
}
