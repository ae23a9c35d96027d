//! One database session for a migration run.
//!
//! It is `tokio-postgres` on a single-threaded runtime rather than the blocking `postgres`
//! client because a file is executed as one simple-query batch (the fastest way, and exactly how
//! PostgreSQL parses it), and only the raw message stream tells how many of the file's statements
//! completed before an error without a position (e.g. "relation already exists").

use std::str::FromStr;

use futures_util::StreamExt;
use tokio::runtime::Runtime;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Config, Row, SimpleQueryMessage};

use super::error::MigrateError;
use crate::infra::db::{redact, CONNECT_TIMEOUT};

pub struct Session {
    rt: Runtime,
    client: Client,
}

/// A script failed after `completed` of its statements had run.
pub struct ScriptError {
    pub completed: usize,
    pub source: tokio_postgres::Error,
}

impl Session {
    pub fn connect(url: &str) -> Result<Session, MigrateError> {
        let connect_error = |source| MigrateError::Connect {
            url: redact(url),
            timeout_secs: CONNECT_TIMEOUT.as_secs(),
            source,
        };
        let mut config = Config::from_str(url).map_err(connect_error)?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        config.application_name("cargo-xtask migrate");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a current-thread runtime builds");
        let (client, connection) = rt
            .block_on(config.connect(crate::infra::db::tls()))
            .map_err(connect_error)?;
        // Drives the socket whenever a query is awaited; ends when the session drops.
        rt.spawn(async move {
            let _ = connection.await;
        });
        Ok(Session { rt, client })
    }

    pub fn batch(&self, sql: &str) -> Result<(), tokio_postgres::Error> {
        self.rt.block_on(self.client.batch_execute(sql))
    }

    pub fn query(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, tokio_postgres::Error> {
        self.rt.block_on(self.client.query(sql, params))
    }

    pub fn execute(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, tokio_postgres::Error> {
        self.rt.block_on(self.client.execute(sql, params))
    }

    /// Runs `sql` as one simple query (many statements, one round trip), counting the statements
    /// that completed so a failure can be pinned to its statement.
    pub fn script(&self, sql: &str) -> Result<(), ScriptError> {
        self.rt.block_on(async {
            let mut completed = 0;
            let stream = self
                .client
                .simple_query_raw(sql)
                .await
                .map_err(|source| ScriptError { completed, source })?;
            let mut stream = std::pin::pin!(stream);
            while let Some(message) = stream.next().await {
                match message {
                    Ok(SimpleQueryMessage::CommandComplete(_)) => completed += 1,
                    Ok(_) => {}
                    Err(source) => return Err(ScriptError { completed, source }),
                }
            }
            Ok(())
        })
    }
}
