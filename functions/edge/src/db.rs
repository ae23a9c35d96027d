//! The database as the host offers it: a transaction per request, as a chosen role with the
//! caller's claims, and queries with bound parameters only.
//!
//! SQL is `&'static str`: every statement is a constant in the function's source, so no SQL is
//! ever built from input; values travel only as bound parameters.
//!
//! JSON goes in as text and is cast in SQL (`$1::text::jsonb`): the host's driver serialises a
//! parameter by the type the server infers for it, and for a bare `$1::jsonb` it would encode
//! an already serialised string a second time.

use std::future::Future;

use serde::de::DeserializeOwned;
use serde_json::Value;

/// A result row, by column name.
pub type Row = serde_json::Map<String, Value>;

/// The roles a signed-in user's token may name: `authenticated`, and the database role of each
/// RBAC role, which the project's access token hook puts in the token (generated from
/// `sql::moha::BUSINESS_ROLES`).
pub use crate::facts::USER_ROLES;

/// The database role a transaction runs as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbRole {
    /// The caller, as the role their verified token names (one of [`USER_ROLES`]), with their
    /// claims in `request.jwt.claims`: their business role's policies decide what they see.
    Authenticated,
    /// The AI agent's own role for the writes only agents may make.
    AiAgent,
    /// The service role, only for the one call that needs it: decrypting a social account's
    /// token with `public.social_account_token` (executable by `service_role` alone).
    ServiceRole,
    /// An outside agent's API token (the `mcp` function), with claims naming the agent, the
    /// token and its scopes once the token is checked.
    Agent,
    /// The `metrics` function: may call `public.backend_metrics()` and nothing else.
    Metrics,
}

impl DbRole {
    /// The role to `set local role` to. For the caller it is the token's role when that is one
    /// of [`USER_ROLES`] (the token was verified before); anything else falls back to
    /// `authenticated`, the least a signed-in user gets.
    pub fn name(self, claims: &Value) -> &'static str {
        match self {
            DbRole::Authenticated => {
                let role = claims.get("role").and_then(Value::as_str);
                USER_ROLES
                    .iter()
                    .find(|r| Some(**r) == role)
                    .copied()
                    .unwrap_or("authenticated")
            }
            DbRole::AiAgent => "ai_agent",
            DbRole::ServiceRole => "service_role",
            DbRole::Agent => "moha_agent",
            DbRole::Metrics => "metrics_reader",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}{}", sqlstate.as_deref().map(|c| format!(" (SQLSTATE {c})")).unwrap_or_default())]
pub struct DbError {
    /// The SQLSTATE, when the server answered.
    pub sqlstate: Option<String>,
    pub message: String,
    /// The server's HINT, e.g. the retry time `increment_agent_counter` gives with PT429.
    pub hint: Option<String>,
}

impl DbError {
    pub fn new(sqlstate: Option<&str>, message: impl Into<String>) -> Self {
        DbError {
            sqlstate: sqlstate.map(str::to_string),
            message: message.into(),
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: Option<String>) -> Self {
        self.hint = hint;
        self
    }

    pub fn is_permission_denied(&self) -> bool {
        // 42501 insufficient_privilege; RLS `with check` failures also use it.
        self.sqlstate.as_deref() == Some("42501")
    }

    pub fn is_unique_violation(&self) -> bool {
        self.sqlstate.as_deref() == Some("23505")
    }
}

// The host is single-threaded (one wasm instance per isolate), so the futures need not be
// `Send`; that is exactly what `async fn` in a trait gives.
#[allow(async_fn_in_trait)]
pub trait Db {
    /// A handle on an open transaction; clones name the same transaction.
    type Tx: Tx + Clone;

    /// Opens a transaction as `role` with `claims` (a JSON object) set as
    /// `request.jwt.claims`, as PostgREST does.
    async fn begin(&self, role: DbRole, claims: &Value) -> Result<Self::Tx, DbError>;

    /// Runs `work` in a transaction as `role` with `claims`: commits when it returns `Ok`,
    /// rolls back when it returns `Err`, and gives back what it returned. The outer `Err` is
    /// the transaction's own failure (opening, commit or rollback), kept apart so a caller can
    /// go on after a failed piece of work but not after a failed database.
    async fn transaction<T, E, F, Fut>(
        &self,
        role: DbRole,
        claims: &Value,
        work: F,
    ) -> Result<Result<T, E>, DbError>
    where
        F: FnOnce(Self::Tx) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let tx = self.begin(role, claims).await?;
        let done = work(tx.clone()).await;
        match done {
            Ok(_) => tx.commit().await?,
            Err(_) => tx.rollback().await?,
        }
        Ok(done)
    }
}

#[allow(async_fn_in_trait)]
pub trait Tx {
    async fn query(&self, sql: &'static str, params: &[Value]) -> Result<Vec<Row>, DbError>;
    async fn commit(self) -> Result<(), DbError>;
    async fn rollback(self) -> Result<(), DbError>;
}

/// Runs `sql` and decodes every row into `T`.
pub async fn query_as<T: DeserializeOwned>(
    tx: &impl Tx,
    sql: &'static str,
    params: &[Value],
) -> Result<Vec<T>, DbError> {
    tx.query(sql, params)
        .await?
        .into_iter()
        .map(|row| {
            serde_json::from_value(Value::Object(row))
                .map_err(|e| DbError::new(None, format!("unexpected row shape: {e}")))
        })
        .collect()
}

/// Runs `sql` and decodes the first row, if any.
pub async fn query_opt<T: DeserializeOwned>(
    tx: &impl Tx,
    sql: &'static str,
    params: &[Value],
) -> Result<Option<T>, DbError> {
    Ok(query_as(tx, sql, params).await?.into_iter().next())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A database that records how each transaction ended.
    #[derive(Default)]
    struct Ledger(std::rc::Rc<std::cell::RefCell<Vec<&'static str>>>);

    #[derive(Clone)]
    struct LedgerTx(std::rc::Rc<std::cell::RefCell<Vec<&'static str>>>);

    impl Db for Ledger {
        type Tx = LedgerTx;
        async fn begin(&self, _: DbRole, _: &Value) -> Result<LedgerTx, DbError> {
            self.0.borrow_mut().push("begin");
            Ok(LedgerTx(self.0.clone()))
        }
    }

    impl Tx for LedgerTx {
        async fn query(&self, _: &'static str, _: &[Value]) -> Result<Vec<Row>, DbError> {
            self.0.borrow_mut().push("query");
            Ok(Vec::new())
        }
        async fn commit(self) -> Result<(), DbError> {
            self.0.borrow_mut().push("commit");
            Ok(())
        }
        async fn rollback(self) -> Result<(), DbError> {
            self.0.borrow_mut().push("rollback");
            Ok(())
        }
    }

    #[test]
    fn a_transaction_commits_on_ok_and_rolls_back_on_err() {
        let db = Ledger::default();
        let run = |fail: bool| {
            pollster::block_on(
                db.transaction(DbRole::AiAgent, &json!({}), |tx| async move {
                    tx.query("select 1", &[]).await?;
                    if fail {
                        Err(DbError::new(Some("23505"), "duplicate"))
                    } else {
                        Ok(7)
                    }
                }),
            )
        };
        assert_eq!(run(false), Ok(Ok(7)));
        assert_eq!(*db.0.borrow(), ["begin", "query", "commit"]);
        db.0.borrow_mut().clear();
        let failed = run(true).expect("the transaction itself did not fail");
        assert!(failed.unwrap_err().is_unique_violation());
        assert_eq!(*db.0.borrow(), ["begin", "query", "rollback"]);
    }

    #[test]
    fn the_caller_runs_as_their_tokens_role_and_nothing_else() {
        let role = |r: &str| DbRole::Authenticated.name(&json!({ "role": r }));
        assert_eq!(role("moha_sales"), "moha_sales");
        assert_eq!(role("authenticated"), "authenticated");
        // Never a role outside the list, whatever the claims say.
        for other in [
            "service_role",
            "postgres",
            "ai_agent",
            "moha_sales; drop table x",
        ] {
            assert_eq!(role(other), "authenticated", "{other}");
        }
        assert_eq!(DbRole::Authenticated.name(&json!({})), "authenticated");
        assert_eq!(
            DbRole::AiAgent.name(&json!({ "role": "moha_admin" })),
            "ai_agent"
        );
    }
}
