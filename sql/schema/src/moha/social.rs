//! Social media: accounts with encrypted tokens, the unified inbox (partitioned by month),
//! analytics, sentiment; notifications; realtime publication.

use super::*;

pub fn accounts() -> Name {
    public("social_accounts")
}

pub fn messages() -> Name {
    public("social_messages")
}

pub fn release() -> Release {
    let mut changes = vec![
        create_enum("social_platform", &["instagram", "tiktok"]),
        create_enum("message_type", &["direct_message", "comment", "mention", "reply"]),
        create_enum("message_status", &["unread", "read", "replied", "archived"]),
        Change::CreateTable(
            Table::new(private("secrets"))
                .comment("Vault-like secrets for database functions. Values never appear in migrations: set them as postgres.")
                .column(text("name").not_null())
                .column(text("secret").not_null().secret())
                .column(created_at())
                .primary_key(&["name"]),
        ),
        Change::CreateFunction(
            Function::new(private("secret"), Returns::Type(SqlType::Text), include_str!("sql/secret.sql"))
                .arg(Arg::new("name", SqlType::Text))
                .volatility(Volatility::Stable)
                .comment("A secret's value, or SQLSTATE P0002 with a hint when it is not set."),
        ),
    ];
    changes.extend(table(
        Table::new(accounts())
            .comment("Connected Instagram/TikTok accounts.")
            .column(uuid_pk())
            .column(Column::new("platform", enum_type("social_platform")).not_null())
            .column(text("username").not_null())
            .column(
                Column::new("access_token", SqlType::Bytea)
                    .secret()
                    .comment("pgp_sym_encrypt ciphertext; read it with social_account_token() as service_role."),
            )
            .column(ts("token_updated_at"))
            .column(uuid("connected_by").default(Expr::Sql("auth.uid()")))
            .column(created_at())
            .column(updated_at())
            .primary_key(&["id"])
            .unique(&["platform", "username"])
            .foreign_key(&["connected_by"], rbac::users(), &["id"], OnDelete::SetNull),
        Audit::Yes,
    ));
    changes.push(index(&accounts(), &["connected_by"]));
    changes.push(Change::CreateFunction(
        Function::new(public("set_social_account_token"), Returns::Void, include_str!("sql/set_social_account_token.sql"))
            .arg(Arg::new("account_id", SqlType::Uuid))
            .arg(Arg::new("token", SqlType::Text))
            .security_definer()
            .execute(&["service_role"])
            .comment("Encrypts and stores an account's access token (key: private.secrets social_token_key)."),
    ));
    changes.push(Change::CreateFunction(
        Function::new(
            public("social_account_token"),
            Returns::Type(SqlType::Text),
            include_str!("sql/social_account_token.sql"),
        )
        .arg(Arg::new("account_id", SqlType::Uuid))
        .volatility(Volatility::Stable)
        .security_definer()
        .execute(&["service_role"])
        .comment("The decrypted access token of an account; service_role only."),
    ));

    changes.extend(table(
        Table::new(messages())
            .comment("Unified inbox, range-partitioned by month on received_at (partitions in schema private).")
            .column(uuid_pk())
            .column(uuid("account_id").not_null())
            .column(Column::new("message_type", enum_type("message_type")).not_null())
            .column(text("content"))
            .column(text("sender_id").comment("The sender's id on the platform."))
            .column(text("external_id").comment("The message's id on the platform."))
            .column(ts("received_at").not_null().default(Expr::Sql("now()")))
            .column(Column::new("status", enum_type("message_status")).not_null().default(enum_value("message_status", "unread")))
            .column(created_at())
            .primary_key(&["id", "received_at"])
            .foreign_key(&["account_id"], accounts(), &["id"], OnDelete::Cascade)
            .partition_by_range(&["received_at"]),
        Audit::Yes,
    ));
    changes.push(Change::CreateIndex(
        Index::on(&messages(), &["account_id", "received_at"]).keys(vec![
            IndexKey::Column("account_id".into()),
            IndexKey::Desc("received_at".into()),
        ]),
    ));
    changes.push(Change::CreateIndex(
        Index::on(&messages(), &["account_id", "received_at"])
            .named("social_messages_unread_idx")
            .keys(vec![
                IndexKey::Column("account_id".into()),
                IndexKey::Desc("received_at".into()),
            ])
            .r#where(Expr::Sql("status = 'unread'::public.message_status")),
    ));
    changes.push(Change::CreatePartition(Partition {
        name: private("social_messages_default"),
        parent: messages(),
        bound: PartitionBound::Default,
    }));
    changes.push(Change::CreateFunction(
        Function::new(
            public("create_social_messages_partitions"),
            Returns::Type(SqlType::Integer),
            include_str!("sql/create_social_messages_partitions.sql"),
        )
        .arg(Arg::new("months_ahead", SqlType::Integer).default(Expr::Int(3)))
        .arg(Arg::new("from_month", SqlType::Date).default(Expr::Sql("current_date")))
        .security_definer()
        .execute(&["service_role"])
        .comment("Creates the monthly partitions of social_messages from from_month through months_ahead months later, moving rows out of the default partition; returns how many it created. Run it monthly (pg_cron or a scheduled function)."),
    ));
    changes.push(Change::Statement(
        "select public.create_social_messages_partitions(3)",
    ));

    changes.extend(table(
        Table::new(public("social_analytics"))
            .comment("Engagement metrics per account.")
            .column(uuid_pk())
            .column(uuid("account_id").not_null())
            .column(text("metric_type").not_null())
            .column(
                Column::new(
                    "value",
                    SqlType::Numeric {
                        precision: 18,
                        scale: 4,
                    },
                )
                .not_null(),
            )
            .column(ts("recorded_at").not_null().default(Expr::Sql("now()")))
            .primary_key(&["id"])
            .foreign_key(&["account_id"], accounts(), &["id"], OnDelete::Cascade),
        Audit::Yes,
    ));
    changes.push(index(
        &public("social_analytics"),
        &["account_id", "metric_type", "recorded_at"],
    ));
    changes.extend(table(
        Table::new(public("social_sentiment"))
            .comment("AI-analysed sentiment of a message.")
            .column(uuid_pk())
            .column(uuid("message_id").not_null())
            .column(
                ts("message_received_at")
                    .not_null()
                    .comment("Part of the message's key (the partition key)."),
            )
            .column(
                Column::new(
                    "sentiment_score",
                    SqlType::Numeric {
                        precision: 4,
                        scale: 3,
                    },
                )
                .not_null(),
            )
            .column(text("model_used").not_null())
            .column(created_at())
            .primary_key(&["id"])
            .foreign_key(
                &["message_id", "message_received_at"],
                messages(),
                &["id", "received_at"],
                OnDelete::Cascade,
            )
            .check("score", Expr::Sql("sentiment_score between -1 and 1")),
        Audit::Yes,
    ));
    changes.push(index(
        &public("social_sentiment"),
        &["message_id", "message_received_at"],
    ));

    let notifications = public("notifications");
    changes.extend(table(
        Table::new(notifications.clone())
            .comment("Live notifications for a user (delivered through Realtime).")
            .column(uuid_pk())
            .column(uuid("user_id").not_null())
            .column(text("kind").not_null())
            .column(text("title").not_null())
            .column(text("body"))
            .column(
                Column::new("data", SqlType::Jsonb)
                    .not_null()
                    .default(Expr::Sql("'{}'::jsonb")),
            )
            .column(ts("read_at"))
            .column(created_at())
            .primary_key(&["id"])
            .foreign_key(&["user_id"], rbac::users(), &["id"], OnDelete::Cascade),
        Audit::No,
    ));
    changes.push(Change::CreateIndex(
        Index::on(&notifications, &["user_id", "created_at"]).keys(vec![
            IndexKey::Column("user_id".into()),
            IndexKey::Desc("created_at".into()),
        ]),
    ));
    changes.push(Change::CreateIndex(
        Index::on(&notifications, &["user_id", "created_at"])
            .named("notifications_unread_idx")
            .keys(vec![
                IndexKey::Column("user_id".into()),
                IndexKey::Desc("created_at".into()),
            ])
            .r#where(Expr::Sql("read_at is null")),
    ));
    for t in [
        messages(),
        notifications,
        ai::render_requests(),
        crm::leads(),
    ] {
        changes.push(Change::AddToPublication {
            publication: "supabase_realtime".into(),
            table: t,
        });
    }
    Release {
        version: "20250601000600",
        name: "social",
        summary: "Social accounts with encrypted tokens, partitioned inbox, analytics, sentiment, notifications, realtime.",
        changes,
    }
}
