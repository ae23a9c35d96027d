//! Realtime that delivers (issue 18): private channels fed by broadcast from the database. Row
//! triggers send a chosen payload with `realtime.send` to the topics of `security::topics()`,
//! from security-definer functions in `private` (`realtime.send` runs with the rights of
//! whoever writes the row and turns its errors into warnings); the topics' policies on
//! `realtime.messages` come from the same declaration. Postgres Changes is not used: the
//! tables leave the `supabase_realtime` publication. `docs/realtime.md` lists topics and
//! payloads.

use super::*;

fn trigger_fn(name: &str, body: &'static str, comment: &str) -> Change {
    Change::CreateFunction(
        Function::new(private(name), Returns::Trigger, body)
            .security_definer()
            .comment(comment),
    )
}

fn after(name: &str, table: &str, events: Vec<Event>, function: &str) -> Change {
    Change::CreateTrigger(Trigger {
        name: name.into(),
        table: public(table),
        timing: Timing::After,
        events,
        level: Level::Row,
        function: private(function),
        args: vec![],
    })
}

/// The job that sends the dashboard's final counters after a burst of many transactions.
pub const FLUSH_DASHBOARD: &str = "moha-realtime-dashboard";

/// Supabase Cron jobs of this release.
pub fn jobs() -> Vec<Job> {
    vec![Job {
        name: FLUSH_DASHBOARD,
        schedule: "* * * * *",
        command: JobCommand::Sql("select private.realtime_dashboard_flush()"),
        comment: "Sends the dashboard's counters to dashboard:admin when they differ from the last ones sent (the trailing edge of the once-a-second limit).",
    }]
}

/// The tables whose changes move the dashboard's counters.
pub const DASHBOARD_TABLES: &[&str] = &["leads", "render_requests", "error_logs", "agent_usage"];

pub fn release() -> Release {
    let mut changes = vec![
        trigger_fn(
            "realtime_inbox",
            include_str!("sql/realtime_inbox.sql"),
            "Sends a social message's list fields to inbox:<account id> when it arrives or changes.",
        ),
        trigger_fn(
            "realtime_notification",
            include_str!("sql/realtime_notification.sql"),
            "Sends a new notification's id, kind and title to user:<user id>.",
        ),
        trigger_fn(
            "realtime_render",
            include_str!("sql/realtime_render.sql"),
            "Sends a render request's new status to user:<owner id> and renders:review.",
        ),
        trigger_fn(
            "realtime_lead",
            include_str!("sql/realtime_lead.sql"),
            "Sends a lead's list fields to leads:<sales user id> and leads:all when it is assigned or its status changes; the previous owner gets its id only.",
        ),
        Change::CreateFunction(
            Function::new(
                private("realtime_dashboard_counters"),
                Returns::Type(SqlType::Jsonb),
                include_str!("sql/realtime_dashboard_counters.sql"),
            )
            .language(Language::Sql)
            .volatility(Volatility::Stable)
            .comment("The dashboard's counters (render queue, AI spend today, recent errors, unassigned leads), read from public.backend_metrics()."),
        ),
        Change::CreateFunction(
            Function::new(
                private("realtime_dashboard_flush"),
                Returns::Void,
                include_str!("sql/realtime_dashboard_flush.sql"),
            )
            .comment("Sends the dashboard's counters when they differ from the last ones sent; run every minute by moha-realtime-dashboard."),
        ),
        trigger_fn(
            "realtime_dashboard",
            include_str!("sql/realtime_dashboard.sql"),
            "At commit, sends the dashboard's counters to dashboard:admin, at most once a second.",
        ),
        // Any month's partition: row triggers on a partitioned table are cloned to every
        // partition, those created later included.
        after(
            "realtime_inbox",
            "social_messages",
            vec![Event::Insert, Event::Update],
            "realtime_inbox",
        ),
        after(
            "realtime_notification",
            "notifications",
            vec![Event::Insert],
            "realtime_notification",
        ),
        after(
            "realtime_render",
            "render_requests",
            vec![Event::Insert, Event::UpdateOf(vec!["status".into()])],
            "realtime_render",
        ),
        after(
            "realtime_lead",
            "leads",
            vec![
                Event::Insert,
                Event::UpdateOf(vec!["assigned_to".into(), "status".into()]),
            ],
            "realtime_lead",
        ),
    ];
    // At commit, once per transaction (the function skips the transaction's other rows).
    for t in DASHBOARD_TABLES {
        changes.push(Change::CreateTrigger(Trigger {
            name: "realtime_dashboard".into(),
            table: public(t),
            timing: Timing::After,
            events: vec![Event::Insert, Event::Update, Event::Delete],
            level: Level::RowAtCommit,
            function: private("realtime_dashboard"),
            args: vec![],
        }));
    }
    changes.extend(crate::access::topic_changes(&security::topics()));
    for t in [
        "social_messages",
        "notifications",
        "render_requests",
        "leads",
    ] {
        changes.push(Change::DropFromPublication {
            publication: "supabase_realtime".into(),
            table: public(t),
        });
    }
    changes.extend(jobs().into_iter().map(Change::Schedule));
    Release {
        version: "20250601002200",
        name: "realtime",
        summary: "Realtime: private topics fed by broadcast from the database (inbox, notifications, renders, leads, the admin dashboard at most once a second), their policies on realtime.messages from the access matrix; Postgres Changes publication emptied.",
        changes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::{Access, Entry};

    /// Who an entry list lets do `action`, as docs/realtime.md words it.
    fn who(entries: &[Entry], action: crate::access::Action) -> String {
        let names: Vec<String> = entries
            .iter()
            .filter(|e| e.actions.contains(&action) && e.audience.db_role != "service_role")
            .map(|e| match e.access {
                Access::All => e.audience.name.to_string(),
                Access::Rule(_) => "that user".to_string(),
            })
            .collect();
        if names.is_empty() {
            "—".into()
        } else {
            names.join(", ")
        }
    }

    /// docs/realtime.md lists every topic with who may listen, send and use presence, as
    /// `security::topics()` declares them.
    #[test]
    fn the_docs_list_every_topic_as_declared() {
        use crate::access::Action::{Insert, Select};
        let docs = include_str!("../../../../docs/realtime.md");
        let topics = security::topics();
        for t in &topics {
            let listen = who(&t.broadcast, Select).replace(
                "that user",
                match t.pattern {
                    p if p.starts_with("leads:") => "that Sales user",
                    _ => "that user",
                },
            );
            let presence = match (who(&t.presence, Select), who(&t.presence, Insert)) {
                (s, i) if s == "—" && i == "—" => "—".to_string(),
                (s, i) if s == i => format!("{s} (see and track)"),
                (s, i) => format!("see: {s}; track: {i}"),
            };
            let row = format!(
                "| `{}` | {listen} | {} | {presence} |",
                t.pattern,
                who(&t.broadcast, Insert)
            );
            assert!(docs.contains(&row), "docs/realtime.md lacks:\n{row}");
        }
        let rows = docs
            .lines()
            .filter(|l| l.starts_with("| `") && l.contains(':'))
            .filter(|l| {
                topics
                    .iter()
                    .any(|t| l.starts_with(&format!("| `{}`", t.pattern)))
            })
            .count();
        assert_eq!(rows, topics.len());
    }
}
