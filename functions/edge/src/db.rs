//! The database as the host offers it: a transaction per request, as a chosen role with the
//! caller's claims, and queries with bound parameters only.
//!
//! SQL is `&'static str`: every statement is a constant in the function's source, so no SQL is
//! ever built from input; values travel only as bound parameters.
//!
//! JSON goes in as text and is cast in SQL (`$1::text::jsonb`): the host's driver serialises a
//! parameter by the type the server infers for it, and for a bare `$1::jsonb` it would encode
//! an already serialised string a second time.

use serde::de::DeserializeOwned;
use serde_json::Value;

/// A result row, by column name.
pub type Row = serde_json::Map<String, Value>;

/// The database role a transaction runs as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbRole {
    /// The caller, with their JWT claims in `request.jwt.claims`: RLS decides what they see.
    Authenticated,
    /// The AI agent's own role for the writes only agents may make.
    AiAgent,
    /// The service role, only for the one call that needs it: decrypting a social account's
    /// token with `public.social_account_token` (executable by `service_role` alone).
    ServiceRole,
}

impl DbRole {
    pub fn as_str(self) -> &'static str {
        match self {
            DbRole::Authenticated => "authenticated",
            DbRole::AiAgent => "ai_agent",
            DbRole::ServiceRole => "service_role",
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
    type Tx: Tx;

    /// Opens a transaction as `role` with `claims` (a JSON object) set as
    /// `request.jwt.claims`, as PostgREST does.
    async fn begin(&self, role: DbRole, claims: &Value) -> Result<Self::Tx, DbError>;
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
