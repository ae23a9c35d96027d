//! The agent_admit release: the `mcp` function's whole admission in one statement (one round
//! trip, issue 16's P9): the token check of `agent_auth.authenticate`, then the request counted
//! under the agent's own names, committed by the caller before the work runs.

use super::agents::{agent_auth, text_array};
use super::*;

pub fn release() -> Release {
    Release {
        version: "20250601002150",
        name: "agent_admit",
        summary: "agent_auth.admit: the mcp function's token check and request count in one statement.",
        changes: vec![Change::CreateFunction(
            Function::new(
                agent_auth("admit"),
                Returns::Table(vec![
                    ("outcome".into(), SqlType::Text),
                    ("token_id".into(), SqlType::Uuid),
                    ("agent_id".into(), SqlType::Uuid),
                    ("agent_name".into(), SqlType::Text),
                    ("owner_id".into(), SqlType::Uuid),
                    ("scopes".into(), text_array()),
                    ("retry_after".into(), SqlType::Integer),
                ]),
                include_str!("sql/admit.sql"),
            )
            .arg(Arg::new("token_sha256", SqlType::Text))
            .arg(Arg::new("requests", SqlType::Integer))
            .security_definer()
            .execute(&[MOHA_AGENT])
            .comment("The mcp function's admission: agent_auth.authenticate's outcome, then, when ok, each of the body's requests (at most 16) counted under agent:<name> and agent:<name>:day; over a limit the outcome is limited, nothing is counted, and retry_after gives the seconds to wait."),
        )],
    }
}
