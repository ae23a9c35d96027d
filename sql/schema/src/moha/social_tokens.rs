//! Issue 20, section 2: social accounts stay connected.
//!
//! Tokens expire: Instagram's long-lived tokens after about 60 days (refreshed with
//! `graph.instagram.com/refresh_access_token` once a day old), TikTok's access tokens within a
//! day (renewed with the refresh token at `open.tiktokapis.com/v2/oauth/token/`, which rotates
//! it). `fetch-social-updates {"refresh_tokens": true}`, called by the `moha-refresh-social-tokens`
//! job, renews the tokens `social_tokens_due` lists and stores them with `store_social_tokens`;
//! when a platform refuses, `mark_social_reconnect` sets `needs_reconnect` and notifies every
//! Admin once, and the account is left out of the fetch walk until it is connected again.
//!
//! Refresh tokens live in `private.social_tokens`, encrypted like the access token, out of the
//! API's reach and out of the audit trail. The key, `social_token_key`, is read from Vault
//! first (hosted), then from `private.secrets` (how it was set before).

use super::*;

/// The Vault secret holding the tokens' encryption key.
pub const VAULT_SOCIAL_TOKEN_KEY: &str = "social_token_key";
/// The schedule that renews tokens before they expire.
pub const REFRESH_TOKENS: &str = "moha-refresh-social-tokens";

fn tokens() -> Name {
    private("social_tokens")
}

/// The release's Supabase Cron job.
pub fn jobs() -> Vec<Job> {
    vec![Job {
        name: REFRESH_TOKENS,
        schedule: "*/15 * * * *",
        command: JobCommand::CallFunction {
            function: "fetch-social-updates",
            body: r#"{"refresh_tokens": true}"#,
        },
        comment: "Renews the social accounts' tokens before they expire; a refusal marks the account needs_reconnect and notifies the Admins.",
    }]
}

pub fn release() -> Release {
    let accounts = social::accounts();
    let mut changes = vec![
        Change::AddColumn {
            table: accounts.clone(),
            column: ts("token_expires_at")
                .comment("When the access token expires (from the platform's expires_in); null: not known yet."),
        },
        Change::AddColumn {
            table: accounts.clone(),
            column: Column::new("needs_reconnect", SqlType::Boolean)
                .not_null()
                .default(Expr::Bool(false))
                .comment("The platform refused to renew the token: an Admin must connect the account again."),
        },
        // Readable as the other columns are (the access token stays hidden); written by the
        // definer functions below only.
        Change::Grant(Grant {
            privileges: vec![Privilege::Select],
            object: GrantObject::Columns(
                accounts.clone(),
                vec!["token_expires_at".into(), "needs_reconnect".into()],
            ),
            roles: ["moha_sales", "moha_admin", AI_AGENT, MOHA_AGENT, "service_role"]
                .into_iter()
                .map(String::from)
                .collect(),
            revoke: false,
        }),
        Change::CreateTable(
            Table::new(tokens())
                .comment("Refresh tokens (encrypted with social_token_key) and why an account needs reconnecting; out of the API's reach.")
                .column(uuid("account_id").not_null())
                .column(
                    Column::new("refresh_token", SqlType::Bytea)
                        .secret()
                        .comment("pgp_sym_encrypt ciphertext; read it with social_account_refresh_token() as service_role."),
                )
                .column(ts("refresh_expires_at"))
                .column(text("platform_user_id").comment("The platform's id of the authorised account (Instagram user_id, TikTok open_id): a reconnect must authorise the same one."))
                .column(text("reconnect_reason").comment("The platform's refusal, when needs_reconnect was set."))
                .column(updated_at())
                .primary_key(&["account_id"])
                .foreign_key(&["account_id"], accounts.clone(), &["id"], OnDelete::Cascade),
        ),
        Change::CreateFunction(
            Function::new(private("secret"), Returns::Type(SqlType::Text), include_str!("sql/secret_vault.sql"))
                .arg(Arg::new("name", SqlType::Text))
                .volatility(Volatility::Stable)
                .comment("A secret's value from Vault (vault.decrypted_secrets), else from private.secrets, or SQLSTATE P0002 with a hint when it is in neither."),
        ),
        Change::CreateFunction(
            Function::new(public("store_social_tokens"), Returns::Void, include_str!("sql/store_social_tokens.sql"))
                .arg(Arg::new("account_id", SqlType::Uuid))
                .arg(Arg::new("access_token", SqlType::Text))
                .arg(Arg::new("expires_in", SqlType::Integer))
                .arg(Arg::new("refresh_token", SqlType::Text))
                .arg(Arg::new("refresh_expires_in", SqlType::Integer))
                .security_definer()
                .execute(&["service_role"])
                .comment("Encrypts and stores an account's new access token with its expiry and, when given, its (rotated) refresh token; clears needs_reconnect."),
        ),
        Change::CreateFunction(
            Function::new(public("social_account_refresh_token"), Returns::Type(SqlType::Text), include_str!("sql/social_account_refresh_token.sql"))
                .arg(Arg::new("account_id", SqlType::Uuid))
                .volatility(Volatility::Stable)
                .security_definer()
                .execute(&["service_role"])
                .comment("The decrypted refresh token of an account (null: none); service_role only."),
        ),
        Change::CreateFunction(
            Function::new(
                public("social_tokens_due"),
                Returns::Table(vec![
                    ("account_id".into(), SqlType::Uuid),
                    ("platform".into(), enum_type("social_platform")),
                ]),
                include_str!("sql/social_tokens_due.sql"),
            )
            .arg(Arg::new("batch", SqlType::Integer).default(Expr::Int(20)))
            .volatility(Volatility::Stable)
            .security_definer()
            .execute(&["service_role"])
            .comment("Connected accounts whose access token expires soon (Instagram: within 7 days and at least a day old; TikTok: within an hour) or whose expiry is unknown, soonest first."),
        ),
        Change::CreateFunction(
            Function::new(public("mark_social_reconnect"), Returns::Type(SqlType::Integer), include_str!("sql/mark_social_reconnect.sql"))
                .arg(Arg::new("account_id", SqlType::Uuid))
                .arg(Arg::new("reason", SqlType::Text))
                .security_definer()
                .execute(&["service_role"])
                .comment("Marks the account needs_reconnect with the platform's reason and notifies every Admin (kind social_reconnect), once per refusal; returns how many were notified."),
        ),
        Change::CreateFunction(
            Function::new(
                private("queue_social_fetches"),
                Returns::Type(SqlType::Integer),
                include_str!("sql/queue_social_fetches_v2.sql"),
            )
            .arg(Arg::new("job_name", SqlType::Text))
            .arg(Arg::new("batch", SqlType::Integer).default(Expr::Int(10)))
            .comment("Calls fetch-social-updates for the batch of connected accounts fetched longest ago, leaving out those that need reconnecting; returns how many it queued."),
        ),
    ];
    // The connect flow (social-connect): single-use OAuth states, kept by their hash.
    changes.push(Change::CreateTable(
        Table::new(private("social_oauth_states"))
            .comment("OAuth authorisation-code flows an Admin started (social-connect): the state's SHA-256, single use, 10 minutes.")
            .column(text("state_hash").not_null())
            .column(Column::new("platform", enum_type("social_platform")).not_null())
            .column(uuid("account_id").comment("The account being reconnected; null: a new one."))
            .column(uuid("created_by").not_null())
            .column(ts("expires_at").not_null())
            .primary_key(&["state_hash"])
            .foreign_key(&["account_id"], accounts.clone(), &["id"], OnDelete::Cascade)
            .foreign_key(&["created_by"], rbac::users(), &["id"], OnDelete::Cascade),
    ));
    changes.push(index(&private("social_oauth_states"), &["account_id"]));
    changes.push(index(&private("social_oauth_states"), &["created_by"]));
    changes.push(Change::CreateFunction(
        Function::new(public("begin_social_connect"), Returns::Type(SqlType::Text), include_str!("sql/begin_social_connect.sql"))
            .arg(Arg::new("platform", enum_type("social_platform")))
            .arg(Arg::new("account_id", SqlType::Uuid))
            .arg(Arg::new("created_by", SqlType::Uuid))
            .security_definer()
            .execute(&["service_role"])
            .comment("Starts a connect flow for an Admin: returns a random state (256 bits) valid once for 10 minutes, keeping only its hash; PT403 for anyone else."),
    ));
    changes.push(Change::CreateFunction(
        Function::new(
            public("consume_social_connect"),
            Returns::Table(vec![
                ("platform".into(), enum_type("social_platform")),
                ("account_id".into(), SqlType::Uuid),
                ("created_by".into(), SqlType::Uuid),
            ]),
            include_str!("sql/consume_social_connect.sql"),
        )
        .arg(Arg::new("state", SqlType::Text))
        .security_definer()
        .execute(&["service_role"])
        .comment("Takes a connect flow's state: the flow it started, once; PT403 when the state is unknown, used or expired."),
    ));
    changes.push(Change::CreateFunction(
        Function::new(public("connect_social_account"), Returns::Type(SqlType::Uuid), include_str!("sql/connect_social_account.sql"))
            .arg(Arg::new("platform", enum_type("social_platform")))
            .arg(Arg::new("username", SqlType::Text))
            .arg(Arg::new("platform_user_id", SqlType::Text))
            .arg(Arg::new("account_id", SqlType::Uuid))
            .arg(Arg::new("created_by", SqlType::Uuid))
            .arg(Arg::new("access_token", SqlType::Text))
            .arg(Arg::new("expires_in", SqlType::Integer))
            .arg(Arg::new("refresh_token", SqlType::Text))
            .arg(Arg::new("refresh_expires_in", SqlType::Integer))
            .security_definer()
            .execute(&["service_role"])
            .comment("Stores a finished connect flow: creates or updates the account and its encrypted tokens; PT409 when the authorised platform account is not the one already connected under that account or username."),
    ));
    changes.extend(jobs().into_iter().map(Change::Schedule));
    Release {
        version: "20250601002450",
        name: "social_tokens",
        summary: "Token expiry, refresh tokens, needs_reconnect with Admin notification, social_token_key from Vault, and the refresh schedule.",
        changes,
    }
}
