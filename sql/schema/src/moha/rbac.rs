//! Roles, permissions, user profiles (of `auth.users`), sessions, and the helper functions
//! policies call.

use super::*;

pub fn users() -> Name {
    public("users")
}

pub fn roles() -> Name {
    public("roles")
}

/// A policy helper. PL/pgSQL, not SQL: a non-inlinable SQL function is planned again in every
/// statement (about 70 µs here), a PL/pgSQL one keeps its plan for the session (about 15 µs).
/// Each reads `users`/`roles` itself rather than calling another helper, for the same reason.
fn helper(name: &str, returns: SqlType, body: &'static str, comment: &str) -> Function {
    Function::new(authz(name), Returns::Type(returns), body)
        .volatility(Volatility::Stable)
        .security_definer()
        .execute(&["authenticated", "service_role"])
        .comment(comment)
}

pub fn release() -> Release {
    let mut changes = Vec::new();
    changes.extend(table(
        Table::new(roles())
            .comment("System roles for RBAC: Admin, Designer, Client, Sales.")
            .column(uuid_pk())
            .column(text("name").not_null())
            .column(text("description"))
            .column(created_at())
            .primary_key(&["id"])
            .unique(&["name"]),
        Audit::Yes,
    ));
    changes.extend(table(
        Table::new(public("permissions"))
            .comment("What each role may do, as resource:action (a table and read/create/edit/delete, or a permission rules check such as blog:publish). Generated from the access matrix; the Agent role's rows are the scopes an agent token may hold.")
            .column(uuid_pk())
            .column(uuid("role_id").not_null())
            .column(text("resource").not_null())
            .column(text("action").not_null())
            .primary_key(&["id"])
            .unique(&["role_id", "resource", "action"])
            .foreign_key(&["role_id"], roles(), &["id"], OnDelete::Cascade)
            .check("resource", Expr::Sql("resource ~ '^[a-z][a-z_]*$'"))
            .check("action", Expr::Sql("action ~ '^[a-z][a-z_]*$'")),
        Audit::Yes,
    ));
    changes.extend(table(
        Table::new(users())
            .comment("Profile of an auth.users account (same id). Supabase Auth owns credentials.")
            .column(Column::new("id", SqlType::Uuid).not_null())
            .column(
                text("email")
                    .comment("Copied from auth.users by trigger; null for phone sign-ups."),
            )
            .column(text("full_name"))
            .column(text("phone"))
            .column(
                uuid("role_id")
                    .not_null()
                    .comment("Changed only by an Admin or the service role."),
            )
            .column(created_at())
            .column(updated_at())
            .primary_key(&["id"])
            .foreign_key(
                &["id"],
                Name::new("auth", "users"),
                &["id"],
                OnDelete::Cascade,
            )
            .foreign_key(&["role_id"], roles(), &["id"], OnDelete::Restrict),
        Audit::Yes,
    ));
    changes.push(index(&users(), &["role_id"]));
    changes.extend(table(
        Table::new(public("user_sessions"))
            .comment("Custom session tracking (optional; Supabase Auth has its own sessions).")
            .column(uuid_pk())
            .column(uuid("user_id").not_null())
            .column(
                text("session_token").not_null().secret().comment(
                    "A hash of the session token (e.g. sha-256 hex), never the token itself.",
                ),
            )
            .column(ts("expires_at").not_null())
            .column(created_at())
            .primary_key(&["id"])
            .unique(&["session_token"])
            .foreign_key(&["user_id"], users(), &["id"], OnDelete::Cascade),
        Audit::Yes,
    ));
    changes.push(index(&public("user_sessions"), &["user_id"]));
    changes.push(index(&public("user_sessions"), &["expires_at"]));

    let roles_seed = [
        ("Admin", "Full access to every module."),
        ("Designer", "Portfolio, blog and render review."),
        ("Client", "Own projects and renders."),
        ("Sales", "Assigned leads and the social inbox."),
    ];
    changes.push(Change::Insert(Insert {
        table: roles(),
        columns: vec!["name".into(), "description".into()],
        rows: roles_seed
            .iter()
            .map(|(n, d)| vec![Expr::text(n), Expr::text(d)])
            .collect(),
        conflict_target: vec!["name".into()],
    }));
    // The permissions are generated from the access matrix by the security release.

    for (_, db_role) in BUSINESS_ROLES {
        changes.push(Change::CreateRole(Role {
            name: db_role.to_string(),
            login: false,
            // PostgREST (`authenticator`) switches to it from the token's role claim; `postgres`
            // for tests and maintenance, as for the other API roles.
            member_of_granted_to: vec!["authenticator".into(), "postgres".into()],
            inherits: vec!["authenticated".into()],
        }));
    }
    changes.push(Change::CreateSchema(AUTHZ.into()));
    changes.push(Change::Grant(Grant {
        privileges: vec![Privilege::Usage],
        object: GrantObject::Schema(AUTHZ.into()),
        roles: vec![
            "authenticated".into(),
            "service_role".into(),
            "supabase_auth_admin".into(),
        ],
        revoke: false,
    }));
    changes.push(Change::CreateFunction(helper(
        "current_role_name",
        SqlType::Text,
        "\nbegin\n  return (select r.name\n            from public.users u\n            join public.roles r on r.id = u.role_id\n           where u.id = (select private.uid()));\nend\n",
        "The caller's RBAC role name (Admin, Designer, Client, Sales), or null.",
    )));
    changes.push(Change::CreateFunction(helper(
        "is_admin",
        SqlType::Boolean,
        "\nbegin\n  return coalesce((select r.name = 'Admin'\n                     from public.users u\n                     join public.roles r on r.id = u.role_id\n                    where u.id = (select private.uid())), false);\nend\n",
        "The caller has the Admin role.",
    )));
    changes.push(Change::CreateFunction(
        helper(
            "has_role",
            SqlType::Boolean,
            "\nbegin\n  return coalesce((select r.name = has_role.role_name\n                     from public.users u\n                     join public.roles r on r.id = u.role_id\n                    where u.id = (select private.uid())), false);\nend\n",
            "The caller has the named RBAC role.",
        )
        .arg(Arg::new("role_name", SqlType::Text)),
    ));
    changes.push(Change::CreateFunction(
        helper(
            "has_permission",
            SqlType::Boolean,
            "\nbegin\n  return exists (\n    select 1\n      from public.users u\n      join public.permissions p on p.role_id = u.role_id\n     where u.id = (select private.uid())\n       and p.resource = has_permission.resource\n       and p.action = has_permission.action\n  );\nend\n",
            "The caller's role grants resource:action.",
        )
        .arg(Arg::new("resource", SqlType::Text))
        .arg(Arg::new("action", SqlType::Text)),
    ));

    changes.push(Change::CreateFunction(
        Function::new(
            authz("custom_access_token_hook"),
            Returns::Type(SqlType::Jsonb),
            include_str!("sql/custom_access_token_hook.sql"),
        )
        .arg(Arg::new("event", SqlType::Jsonb))
        .volatility(Volatility::Stable)
        .security_definer()
        .execute(&["supabase_auth_admin"])
        .comment("Supabase Auth's custom access token hook: sets a signed-in user's role claim to the database role of their RBAC role (moha_admin, ...), so their requests run under that role's policies."),
    ));
    changes.push(Change::CreateFunction(
        Function::new(
            private("guard_role_change"),
            Returns::Trigger,
            include_str!("sql/guard_role_change.sql"),
        )
        .comment("Only an Admin or the service role sets users.role_id; sign-ups get Client."),
    ));
    changes.push(Change::CreateTrigger(Trigger {
        name: "guard_role_change".into(),
        table: users(),
        timing: Timing::Before,
        events: vec![Event::Insert, Event::UpdateOf(vec!["role_id".into()])],
        level: Level::Row,
        function: private("guard_role_change"),
        args: vec![],
    }));
    changes.push(Change::CreateFunction(
        Function::new(private("handle_new_user"), Returns::Trigger, include_str!("sql/handle_new_user.sql"))
            .security_definer()
            .comment("Creates the public.users profile (role Client) for a new auth user; keeps email and phone in sync."),
    ));
    changes.push(Change::CreateTrigger(Trigger {
        name: "on_auth_user_created".into(),
        table: Name::new("auth", "users"),
        timing: Timing::After,
        events: vec![Event::Insert],
        level: Level::Row,
        function: private("handle_new_user"),
        args: vec![],
    }));
    changes.push(Change::CreateTrigger(Trigger {
        name: "on_auth_user_updated".into(),
        table: Name::new("auth", "users"),
        timing: Timing::After,
        events: vec![Event::UpdateOf(vec!["email".into(), "phone".into()])],
        level: Level::Row,
        function: private("handle_new_user"),
        args: vec![],
    }));
    Release {
        version: "20250601000100",
        name: "rbac",
        summary:
            "Roles, permissions, user profiles of auth.users, sessions, RBAC helper functions.",
        changes,
    }
}
