//! The unified inbox as an RPC (benchmark P7). The table query PostgREST builds for
//! `social_messages?account_id=in.(...)&status=eq.unread&order=received_at.desc&limit=50` merges
//! every listed account's rows; the function takes each account's newest rows through the
//! partial unread index and merges only those. It is security invoker: the caller's
//! `social_messages` policies decide what it returns.

use super::*;

pub fn release() -> Release {
    let message_type = enum_type("message_type");
    let status = enum_type("message_status");
    let changes = vec![Change::CreateFunction(
        Function::new(
            public("inbox"),
            Returns::Table(vec![
                ("id".into(), SqlType::Uuid),
                ("account_id".into(), SqlType::Uuid),
                ("message_type".into(), message_type),
                ("content".into(), SqlType::Text),
                ("sender_id".into(), SqlType::Text),
                ("received_at".into(), SqlType::Timestamptz),
                ("status".into(), status),
            ]),
            include_str!("sql/inbox.sql"),
        )
        .arg(Arg::new("account_ids", SqlType::Array(Box::new(SqlType::Uuid))))
        .arg(
            Arg::new("since", SqlType::Timestamptz)
                .default(Expr::Sql("now() - interval '30 days'")),
        )
        .arg(Arg::new("max_rows", SqlType::Integer).default(Expr::Int(50)))
        .volatility(Volatility::Stable)
        .execute(&["authenticated", "service_role", MOHA_AGENT])
        .comment("The newest unread messages of the given accounts since a time (default: 30 days), newest first, at most max_rows (1–200, default 50). Runs as the caller: RLS applies."),
    )];
    Release {
        version: "20250601000900",
        name: "inbox",
        summary: "The unified inbox RPC: each account's newest unread messages, merged.",
        changes,
    }
}
