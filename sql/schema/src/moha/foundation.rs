//! Extensions, the private schema, the `ai_agent` role, and audit and error logging, which
//! every later table's triggers use.

use super::*;

pub fn audit_logs() -> Name {
    public("audit_logs")
}

pub fn release() -> Release {
    let mut changes = vec![
        Change::CreateSchema(PRIVATE.into()),
        Change::CreateExtension(Extension {
            name: "pgcrypto".into(),
            schema: "extensions".into(),
        }),
        Change::CreateExtension(Extension {
            name: "postgis".into(),
            schema: "extensions".into(),
        }),
        Change::CreateRole(Role {
            name: AI_AGENT.into(),
            login: false,
            // `authenticator` switches to it for edge functions' AI work; `postgres` for tests
            // and maintenance, as it can for the other API roles.
            member_of_granted_to: vec!["authenticator".into(), "postgres".into()],
            inherits: vec![],
        }),
        create_enum("actor_kind", &["human", "agent", "service", "system"]),
        Change::CreateFunction(
            Function::new(
                private("set_updated_at"),
                Returns::Trigger,
                include_str!("sql/set_updated_at.sql"),
            )
            .comment("Keeps updated_at current on every update."),
        ),
    ];
    changes.push(Change::CreateTable(
        Table::new(audit_logs())
            .comment("Append-only trail of every change to business data, by humans and AI agents.")
            .column(Column::new("id", SqlType::BigInt).identity())
            .column(
                text("table_name")
                    .not_null()
                    .comment("Schema-qualified table, e.g. public.projects."),
            )
            .column(
                text("record_id")
                    .comment("The row's id as text; null for actions on no single row."),
            )
            .column(
                text("action")
                    .not_null()
                    .comment("insert, update, delete, or a named action such as archive."),
            )
            .column(
                uuid("performed_by")
                    .comment("auth.uid() of the caller, or the user an edge function acted for."),
            )
            .column(Column::new("actor_kind", enum_type("actor_kind")).not_null())
            .column(
                text("actor_role")
                    .not_null()
                    .comment("The database role the change was made as."),
            )
            .column(ts("timestamp").not_null().default(Expr::Sql("now()")))
            .column(
                Column::new("old_values", SqlType::Jsonb)
                    .comment("Row before the change; secret columns redacted."),
            )
            .column(
                Column::new("new_values", SqlType::Jsonb)
                    .comment("Row after the change; secret columns redacted."),
            )
            .primary_key(&["id"])
            .check("action", Expr::Sql("action ~ '^[a-z][a-z0-9_:.]*$'")),
    ));
    changes.push(index(&audit_logs(), &["table_name", "record_id"]));
    changes.push(Change::CreateIndex(
        Index::on(&audit_logs(), &["timestamp"]).keys(vec![IndexKey::Desc("timestamp".into())]),
    ));
    // Partial: rows without an actor (migrations, maintenance, bulk loads) are never looked up
    // by actor, and skipping them keeps bulk statements' audit cheaper (benchmark P6).
    changes.push(Change::CreateIndex(
        Index::on(&audit_logs(), &["performed_by"]).r#where(Expr::Sql("performed_by is not null")),
    ));
    changes.push(Change::CreateFunction(
        Function::new(
            private("forbid_change"),
            Returns::Trigger,
            include_str!("sql/forbid_change.sql"),
        )
        .comment("Refuses updates, deletes and truncates on append-only tables."),
    ));
    for (name, events, level) in [
        (
            "append_only",
            vec![Event::Update, Event::Delete],
            Level::Row,
        ),
        (
            "append_only_truncate",
            vec![Event::Truncate],
            Level::Statement,
        ),
    ] {
        changes.push(Change::CreateTrigger(Trigger {
            name: name.into(),
            table: audit_logs(),
            timing: Timing::Before,
            events,
            level,
            function: private("forbid_change"),
            args: vec![],
        }));
    }
    // Supabase's auth.jwt() and auth.uid() pin `search_path = ''`, which searches the caller's
    // temporary schema first: called from a definer function, their `::jsonb` and `::uuid` could
    // resolve to a caller's temp domain, whose check would run as the owner. Definer code reads
    // the claims through these copies of the same definitions, under the project's search_path.
    for (name, returns, body, about) in [
        (
            "jwt",
            SqlType::Jsonb,
            include_str!("sql/jwt.sql"),
            "auth.jwt() for definer code: the same claims, under the project's search_path.",
        ),
        (
            "uid",
            SqlType::Uuid,
            include_str!("sql/uid.sql"),
            "auth.uid() for definer code: the same user id, under the project's search_path.",
        ),
    ] {
        changes.push(Change::CreateFunction(
            Function::new(private(name), Returns::Type(returns), body)
                .language(Language::Sql)
                .volatility(Volatility::Stable)
                .comment(about),
        ));
    }
    changes.push(Change::CreateFunction(
        Function::new(
            private("audit_actor"),
            Returns::Table(vec![
                ("performed_by".into(), SqlType::Uuid),
                ("actor_kind".into(), enum_type("actor_kind")),
                ("actor_role".into(), SqlType::Text),
            ]),
            include_str!("sql/audit_actor.sql"),
        )
        .volatility(Volatility::Stable)
        .comment("Who is acting: auth.uid(), human/agent/service/system, and the database role."),
    ));
    changes.push(Change::CreateFunction(
        Function::new(public("log_audit_action"), Returns::Type(SqlType::BigInt), include_str!("sql/log_audit_action.sql"))
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
            private("redact"),
            Returns::Type(SqlType::Jsonb),
            include_str!("sql/redact.sql"),
        )
        .arg(Arg::new("row_values", SqlType::Jsonb))
        .arg(Arg::new("secrets", SqlType::Array(Box::new(SqlType::Text))))
        .language(Language::Sql)
        .volatility(Volatility::Immutable)
        .comment(
            "The row with each named secret column that is not null replaced by \"[redacted]\".",
        ),
    ));
    changes.push(Change::CreateFunction(
        Function::new(private("audit_statement"), Returns::Trigger, include_str!("sql/audit_statement.sql"))
            .security_definer()
            .comment("Statement trigger on business tables: logs every inserted, updated or deleted row with one insert per statement; arguments name columns to redact."),
    ));
    changes.push(Change::CreateTable(
        Table::new(public("error_logs"))
            .comment("Errors of the backend and of AI agents.")
            .column(Column::new("id", SqlType::BigInt).identity())
            .column(text("service").not_null())
            .column(text("error_message").not_null())
            .column(text("stack_trace"))
            .column(
                Column::new("context", SqlType::Jsonb)
                    .not_null()
                    .default(Expr::Sql("'{}'::jsonb")),
            )
            .column(created_at())
            .primary_key(&["id"]),
    ));
    changes.push(Change::CreateIndex(
        Index::on(&public("error_logs"), &["service", "created_at"]).keys(vec![
            IndexKey::Column("service".into()),
            IndexKey::Desc("created_at".into()),
        ]),
    ));
    Release {
        version: "20250601000000",
        name: "foundation",
        summary: "Extensions, private schema, ai_agent role, audit and error logs.",
        changes,
    }
}
