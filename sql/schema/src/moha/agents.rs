//! Outside agents as identities of their own (issue 16): `agents`, their API tokens (only the
//! SHA-256 of a token is stored), the `moha_agent` role whose policies the access matrix
//! generates, the policy helpers that read an agent token's claims, and the Admin's token
//! functions in `agent_auth`, a schema the Data API does not expose.

use super::*;

pub fn agents() -> Name {
    public("agents")
}

pub fn api_tokens() -> Name {
    public("api_tokens")
}

pub fn agent_proposals() -> Name {
    public("agent_proposals")
}

/// Schema of the token functions: Admins create, list, rotate and revoke tokens there, and the
/// `mcp` function checks a bearer token. Not exposed by PostgREST, so never an RPC.
pub const AGENT_AUTH: &str = "agent_auth";

pub fn agent_auth(name: &str) -> Name {
    Name::new(AGENT_AUTH, name)
}

pub(super) fn text_array() -> SqlType {
    SqlType::Array(Box::new(SqlType::Text))
}

/// A policy helper about the caller's agent token: stable, security definer (it reads
/// `api_tokens`, which the agent may not), only for `moha_agent`.
fn agent_helper(name: &str, returns: SqlType, body: &'static str, comment: &str) -> Function {
    Function::new(authz(name), Returns::Type(returns), body)
        .volatility(Volatility::Stable)
        .security_definer()
        .execute(&[MOHA_AGENT])
        .comment(comment)
}

fn admin_function(name: &str, returns: Returns, body: &'static str, comment: &str) -> Function {
    Function::new(agent_auth(name), returns, body)
        .security_definer()
        .execute(&["moha_admin"])
        .comment(comment)
}

fn issued() -> Returns {
    Returns::Table(vec![
        ("token_id".into(), SqlType::Uuid),
        ("token".into(), SqlType::Text),
        ("prefix".into(), SqlType::Text),
        ("expires_at".into(), SqlType::Timestamptz),
    ])
}

pub fn release() -> Release {
    let mut changes = vec![
        Change::CreateRole(Role {
            name: MOHA_AGENT.into(),
            login: false,
            // `authenticator` switches to it for the `mcp` function (and PostgREST could, from a
            // token only the project's secret can sign); `postgres` for tests and maintenance.
            member_of_granted_to: vec!["authenticator".into(), "postgres".into()],
            inherits: vec![],
        }),
        create_enum("agent_status", &["active", "suspended"]),
        Change::Insert(Insert {
            table: rbac::roles(),
            columns: vec!["name".into(), "description".into()],
            rows: vec![vec![
                Expr::text("Agent"),
                Expr::text("Outside agents acting through API tokens; never a user's role. Its permissions are the scopes a token may hold."),
            ]],
            conflict_target: vec!["name".into()],
        }),
    ];
    changes.extend(table(
        Table::new(agents())
            .comment("Outside agents (IDE agents, automations): each acts through its own API tokens, within the scopes allowed here.")
            .column(uuid_pk())
            .column(text("name").not_null().comment("Unique; its calls are counted as agent:<name> (per minute) and agent:<name>:day."))
            .column(text("description"))
            .column(uuid("owner_id").not_null().comment("The user accountable for the agent; renders and drafts it makes are theirs."))
            .column(
                Column::new("status", enum_type("agent_status"))
                    .not_null()
                    .default(enum_value("agent_status", "active")),
            )
            .column(
                Column::new("allowed_scopes", text_array())
                    .not_null()
                    .default(Expr::Sql("'{}'::text[]"))
                    .comment("Scopes its tokens may hold: rows of the Agent role in public.permissions."),
            )
            .column(
                Column::new("max_token_days", SqlType::Integer)
                    .not_null()
                    .default(Expr::Int(90))
                    .lint_ignore("prefer-bigint-over-int", "a lifetime in days, at most 365")
                    .comment("The longest a token of this agent may live."),
            )
            .column(uuid("created_by").default(Expr::Sql("auth.uid()")))
            .column(created_at())
            .column(updated_at())
            .primary_key(&["id"])
            .unique(&["name"])
            .foreign_key(&["owner_id"], rbac::users(), &["id"], OnDelete::Restrict)
            .foreign_key(&["created_by"], rbac::users(), &["id"], OnDelete::SetNull)
            .check("name", Expr::Sql("name ~ '^[a-z][a-z0-9-]{1,62}$'"))
            .check("max_token_days", Expr::Sql("max_token_days between 1 and 365")),
        Audit::Yes,
    ));
    changes.push(index(&agents(), &["owner_id"]));
    changes.push(index(&agents(), &["created_by"]));
    changes.extend(table(
        Table::new(api_tokens())
            .comment("API tokens of agents. A token is moha_ + 32 random bytes, shown once; only its SHA-256 is kept.")
            .column(uuid_pk())
            .column(uuid("agent_id").not_null())
            .column(text("label").not_null())
            .column(text("prefix").not_null().comment("The token's first 12 characters, to recognise it."))
            .column(
                text("token_hash")
                    .not_null()
                    .secret()
                    .comment("sha-256 hex of the token; never readable through the API."),
            )
            .column(Column::new("scopes", text_array()).not_null())
            .column(ts("expires_at").not_null())
            .column(ts("last_used_at").comment("Updated at most once a minute."))
            .column(uuid("created_by"))
            .column(created_at())
            .column(ts("revoked_at"))
            .primary_key(&["id"])
            .unique(&["token_hash"])
            .foreign_key(&["agent_id"], agents(), &["id"], OnDelete::Cascade)
            .foreign_key(&["created_by"], rbac::users(), &["id"], OnDelete::SetNull)
            .check("token_hash", Expr::Sql("token_hash ~ '^[0-9a-f]{64}$'"))
            .check("prefix", Expr::Sql("prefix ~ '^moha_'"))
            .check("scopes", Expr::Sql("pg_catalog.cardinality(scopes) > 0"))
            .check("expires_at", Expr::Sql("expires_at > created_at")),
        Audit::Yes,
    ));
    changes.push(index(&api_tokens(), &["agent_id"]));
    changes.push(index(&api_tokens(), &["created_by"]));

    // Who wrote what: an outside agent's writes carry its agent and token.
    for (column, comment) in [
        (
            "agent_id",
            "The outside agent (public.agents) whose token made the change.",
        ),
        (
            "token_id",
            "The API token (public.api_tokens) the change was made with.",
        ),
    ] {
        changes.push(Change::AddColumn {
            table: foundation::audit_logs(),
            column: uuid(column).comment(comment),
        });
    }
    changes.push(Change::CreateFunction(
        Function::new(
            private("audit_agent"),
            Returns::Table(vec![
                ("agent_id".into(), SqlType::Uuid),
                ("token_id".into(), SqlType::Uuid),
            ]),
            include_str!("sql/audit_agent.sql"),
        )
        .language(Language::Sql)
        .volatility(Volatility::Stable)
        .comment("The agent and token of the claims, when the session runs as moha_agent."),
    ));
    changes.push(Change::CreateFunction(
        Function::new(
            private("audit_actor"),
            Returns::Table(vec![
                ("performed_by".into(), SqlType::Uuid),
                ("actor_kind".into(), enum_type("actor_kind")),
                ("actor_role".into(), SqlType::Text),
            ]),
            include_str!("sql/audit_actor_agents.sql"),
        )
        .volatility(Volatility::Stable)
        .comment("Who is acting: auth.uid(), human/agent/service/system, and the database role."),
    ));
    changes.push(Change::CreateFunction(
        Function::new(private("audit_statement"), Returns::Trigger, include_str!("sql/audit_statement_agents.sql"))
            .security_definer()
            .comment("Statement trigger on business tables: logs every inserted, updated or deleted row with one insert per statement; arguments name columns to redact."),
    ));
    changes.push(Change::CreateFunction(
        Function::new(public("log_audit_action"), Returns::Type(SqlType::BigInt), include_str!("sql/log_audit_action_agents.sql"))
            .arg(Arg::new("table_name", SqlType::Text))
            .arg(Arg::new("record_id", SqlType::Text))
            .arg(Arg::new("action", SqlType::Text))
            .arg(Arg::new("user_id", SqlType::Uuid).default(Expr::Null))
            .arg(Arg::new("old_values", SqlType::Jsonb).default(Expr::Null))
            .arg(Arg::new("new_values", SqlType::Jsonb).default(Expr::Null))
            .security_definer()
            .execute(&["service_role", AI_AGENT])
            .comment("The one way rows enter audit_logs: the audit trigger and edge functions call it. Returns the new row's id."),
    ));

    changes.push(Change::CreateFunction(
        Function::new(
            private("check_agent_scopes"),
            Returns::Trigger,
            include_str!("sql/check_agent_scopes.sql"),
        )
        .comment("An agent may be allowed only the Agent role's scopes (public.permissions)."),
    ));
    changes.push(Change::CreateTrigger(Trigger {
        name: "check_agent_scopes".into(),
        table: agents(),
        timing: Timing::Before,
        events: vec![
            Event::Insert,
            Event::UpdateOf(vec!["allowed_scopes".into()]),
        ],
        level: Level::Row,
        function: private("check_agent_scopes"),
        args: vec![],
    }));

    changes.push(Change::Grant(Grant {
        privileges: vec![Privilege::Usage],
        object: GrantObject::Schema(AUTHZ.into()),
        roles: vec![MOHA_AGENT.into()],
        revoke: false,
    }));
    changes.push(Change::CreateFunction(
        agent_helper(
            "agent_has_scope",
            SqlType::Boolean,
            include_str!("sql/agent_has_scope.sql"),
            "The caller's agent token names the scope in its claims and its live record still grants it (token neither revoked nor expired, agent active and allowed the scope).",
        )
        .arg(Arg::new("scope", SqlType::Text)),
    ));
    changes.push(Change::CreateFunction(agent_helper(
        "agent_id",
        SqlType::Uuid,
        include_str!("sql/agent_id.sql"),
        "The caller's agent while the token its claims name is live; else null.",
    )));
    changes.push(Change::CreateFunction(agent_helper(
        "agent_owner",
        SqlType::Uuid,
        include_str!("sql/agent_owner.sql"),
        "The owner of the caller's agent while the token its claims name is live; else null.",
    )));

    changes.push(Change::CreateSchema(AGENT_AUTH.into()));
    changes.push(Change::Grant(Grant {
        privileges: vec![Privilege::Usage],
        object: GrantObject::Schema(AGENT_AUTH.into()),
        roles: vec!["moha_admin".into(), MOHA_AGENT.into()],
        revoke: false,
    }));
    changes.push(Change::CreateFunction(
        admin_function(
            "create_token",
            issued(),
            include_str!("sql/create_token.sql"),
            "Admins only: a new token for an active agent, with scopes within the agent's allowed ones and a lifetime of at most its max_token_days (default: that maximum). Returns the token once; only its SHA-256 is stored.",
        )
        .arg(Arg::new("agent_id", SqlType::Uuid))
        .arg(Arg::new("label", SqlType::Text))
        .arg(Arg::new("scopes", text_array()))
        .arg(Arg::new("ttl", SqlType::Interval).default(Expr::Null)),
    ));
    changes.push(Change::CreateFunction(
        admin_function(
            "list_tokens",
            Returns::Table(vec![
                ("token_id".into(), SqlType::Uuid),
                ("agent_id".into(), SqlType::Uuid),
                ("agent_name".into(), SqlType::Text),
                ("label".into(), SqlType::Text),
                ("prefix".into(), SqlType::Text),
                ("scopes".into(), text_array()),
                ("expires_at".into(), SqlType::Timestamptz),
                ("last_used_at".into(), SqlType::Timestamptz),
                ("created_at".into(), SqlType::Timestamptz),
                ("revoked_at".into(), SqlType::Timestamptz),
            ]),
            include_str!("sql/list_tokens.sql"),
            "Admins only: every token (of one agent, when given), without its hash.",
        )
        .arg(Arg::new("of_agent", SqlType::Uuid).default(Expr::Null))
        .volatility(Volatility::Stable),
    ));
    changes.push(Change::CreateFunction(
        admin_function(
            "rotate_token",
            Returns::Table(vec![
                ("new_token_id".into(), SqlType::Uuid),
                ("token".into(), SqlType::Text),
                ("prefix".into(), SqlType::Text),
                ("expires_at".into(), SqlType::Timestamptz),
            ]),
            include_str!("sql/rotate_token.sql"),
            "Admins only: a new token with the old one's agent, label and scopes; the old one is revoked at once.",
        )
        .arg(Arg::new("token_id", SqlType::Uuid))
        .arg(Arg::new("ttl", SqlType::Interval).default(Expr::Null)),
    ));
    changes.push(Change::CreateFunction(
        admin_function(
            "revoke_token",
            Returns::Type(SqlType::Timestamptz),
            include_str!("sql/revoke_token.sql"),
            "Admins only: revokes a token (idempotent); returns when it was revoked.",
        )
        .arg(Arg::new("token_id", SqlType::Uuid)),
    ));
    changes.push(Change::CreateFunction(
        Function::new(
            agent_auth("authenticate"),
            Returns::Table(vec![
                ("outcome".into(), SqlType::Text),
                ("token_id".into(), SqlType::Uuid),
                ("agent_id".into(), SqlType::Uuid),
                ("agent_name".into(), SqlType::Text),
                ("owner_id".into(), SqlType::Uuid),
                ("scopes".into(), text_array()),
            ]),
            include_str!("sql/authenticate.sql"),
        )
        .arg(Arg::new("token_sha256", SqlType::Text))
        .security_definer()
        .execute(&[MOHA_AGENT])
        .comment("The mcp function's token check by hash: outcome ok (with the token, agent, owner and the scopes it holds and its agent still allows), unknown, revoked, expired or suspended. Records last_used_at at most once a minute, without waiting."),
    ));
    changes.extend(proposals());
    Release {
        version: "20250601000650",
        name: "agents",
        summary: "Outside agents and their API tokens (hash only), the moha_agent role and its scope helpers, the Admin's token functions in agent_auth, agent and token in audit_logs.",
        changes,
    }
}

/// What cannot be undone is proposed, not done: a human whose permission matches the action
/// approves or rejects, and the approved action runs once, as the approver, in the approval's
/// transaction (`decide_agent_proposal` is security invoker).
fn proposals() -> Vec<Change> {
    let mut changes = vec![
        create_enum(
            "proposal_status",
            &["pending", "approved", "rejected", "expired"],
        ),
        create_enum(
            "proposal_action",
            &[
                "publish_post",
                "send_reply",
                "assign_lead",
                "set_lead_status",
            ],
        ),
    ];
    changes.extend(table(
        Table::new(agent_proposals())
            .comment("An agent's proposal of an irreversible or client-facing action; a human with the matching permission decides, and an approval runs it once as that human.")
            .column(uuid_pk())
            .column(
                uuid("agent_id")
                    .not_null()
                    .default(Expr::Sql("authz.agent_id()"))
                    .comment("The proposing agent (the live token's)."),
            )
            .column(Column::new("action", enum_type("proposal_action")).not_null())
            .column(uuid("target_id").not_null().comment("The post, message or lead acted on."))
            .column(
                Column::new("payload", SqlType::Jsonb)
                    .not_null()
                    .default(Expr::Sql("'{}'::jsonb"))
                    .comment("The action's values (assigned_to, status, reply) and the agent's rationale; outside text stays data."),
            )
            .column(
                Column::new("status", enum_type("proposal_status"))
                    .not_null()
                    .default(enum_value("proposal_status", "pending")),
            )
            .column(uuid("decided_by"))
            .column(ts("decided_at"))
            .column(text("reason").comment("The decider's reason."))
            .column(created_at())
            .column(
                ts("expires_at")
                    .not_null()
                    .default(Expr::Sql("(now() + '7 days'::interval)"))
                    .comment("A pending proposal decided after this ends expired, unexecuted."),
            )
            .primary_key(&["id"])
            .foreign_key(&["agent_id"], agents(), &["id"], OnDelete::Cascade)
            .foreign_key(&["decided_by"], rbac::users(), &["id"], OnDelete::SetNull)
            .check(
                "decided",
                Expr::Sql("(status = 'pending') = (decided_at is null) and (status in ('pending', 'expired') or decided_by is not null)"),
            )
            .check(
                "payload",
                Expr::Sql("pg_catalog.jsonb_typeof(payload) = 'object' and pg_catalog.length(payload::text) <= 20000 and case action when 'assign_lead' then (payload ->> 'assigned_to') ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' when 'set_lead_status' then (payload ->> 'status') in ('new', 'contacted', 'qualified', 'proposal', 'won', 'lost') when 'send_reply' then pg_catalog.length(payload ->> 'reply') between 1 and 4000 else true end"),
            ),
        Audit::Yes,
    ));
    changes.push(Change::CreateIndex(
        Index::on(&agent_proposals(), &["agent_id", "created_at"]).keys(vec![
            IndexKey::Column("agent_id".into()),
            IndexKey::Desc("created_at".into()),
        ]),
    ));
    changes.push(Change::CreateIndex(
        Index::on(&agent_proposals(), &["action", "created_at"])
            .named("agent_proposals_pending_idx")
            .r#where(Expr::Sql("status = 'pending'")),
    ));
    changes.push(index(&agent_proposals(), &["decided_by"]));
    changes.push(Change::CreateFunction(
        Function::new(
            private("notify_proposal_deciders"),
            Returns::Trigger,
            include_str!("sql/notify_proposal_deciders.sql"),
        )
        .security_definer()
        .comment("Notifies every user whose role holds the permission that decides a new proposal (notifications are written only by agents and definer code)."),
    ));
    changes.push(Change::CreateTrigger(Trigger {
        name: "notify_deciders".into(),
        table: agent_proposals(),
        timing: Timing::After,
        events: vec![Event::Insert],
        level: Level::StatementWithRows,
        function: private("notify_proposal_deciders"),
        args: vec![],
    }));
    changes.push(Change::CreateFunction(
        Function::new(
            public("decide_agent_proposal"),
            Returns::Type(enum_type("proposal_status")),
            include_str!("sql/decide_agent_proposal.sql"),
        )
        .arg(Arg::new("proposal_id", SqlType::Uuid))
        .arg(Arg::new("approve", SqlType::Boolean))
        .arg(Arg::new("reason", SqlType::Text).default(Expr::Null))
        .execute(&["authenticated"])
        .comment("Approves (running the action once, as the caller, under the caller's policies) or rejects a pending proposal the caller may decide; a proposal past expires_at ends expired. Security invoker: it never acts with more than the caller's rights."),
    ));
    changes
}
