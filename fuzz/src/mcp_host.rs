//! A stand-in host for the `mcp` target: the database answers the admission with a valid agent
//! (or its limit), a new id with a UUID, and everything else with no rows. It fuzzes the
//! endpoint's parsing and dispatch, not the database (the tests do that for real).

use std::cell::Cell;
use std::rc::Rc;

use moha_edge::auth::JwksCache;
use moha_edge::{
    Clock, Db, DbError, DbRole, Host, Http, HttpError, HttpRequest, HttpResponse, Row, Tx,
};
use serde_json::{json, Value};

pub struct FuzzHost {
    limited: bool,
    open: Rc<Cell<i64>>,
    jwks: JwksCache,
}

impl FuzzHost {
    pub fn new(limited: bool) -> Self {
        FuzzHost {
            limited,
            open: Rc::new(Cell::new(0)),
            jwks: JwksCache::default(),
        }
    }

    /// Every transaction begun was committed or rolled back.
    pub fn balanced(&self) -> bool {
        self.open.get() == 0
    }
}

pub struct FuzzTx {
    limited: bool,
    open: Rc<Cell<i64>>,
}

impl Db for FuzzHost {
    type Tx = FuzzTx;
    async fn begin(&self, _: DbRole, _: &Value) -> Result<FuzzTx, DbError> {
        self.open.set(self.open.get() + 1);
        Ok(FuzzTx {
            limited: self.limited,
            open: self.open.clone(),
        })
    }
}

fn row(v: Value) -> Row {
    match v {
        Value::Object(m) => m,
        _ => unreachable!("rows are objects"),
    }
}

impl Tx for FuzzTx {
    async fn query(&self, sql: &'static str, _: &[Value]) -> Result<Vec<Row>, DbError> {
        if sql == mcp::sql::ADMIT {
            let scopes: Vec<&str> = mcp::tools::TOOLS
                .iter()
                .flat_map(|t| t.scopes.iter().copied())
                .collect();
            return Ok(vec![row(if self.limited {
                json!({"outcome": "limited", "retry_after": 7})
            } else {
                json!({"outcome": "ok", "token_id": "00000000-0000-4000-a000-000000000001",
                       "agent_id": "00000000-0000-4000-a000-000000000002", "agent_name": "fuzz",
                       "owner_id": "00000000-0000-4000-a000-000000000003", "scopes": scopes,
                       "retry_after": null})
            })]);
        }
        if sql == mcp::sql::NEW_ID {
            return Ok(vec![row(
                json!({"id": "00000000-0000-4000-a000-000000000004"}),
            )]);
        }
        Ok(Vec::new())
    }

    async fn commit(self) -> Result<(), DbError> {
        self.open.set(self.open.get() - 1);
        Ok(())
    }

    async fn rollback(self) -> Result<(), DbError> {
        self.open.set(self.open.get() - 1);
        Ok(())
    }
}

impl Http for FuzzHost {
    async fn fetch(&self, _: HttpRequest) -> Result<HttpResponse, HttpError> {
        panic!("the mcp function fetched over HTTP")
    }
}

impl Clock for FuzzHost {
    fn now_ms(&self) -> u64 {
        super::NOW as u64 * 1000
    }
    async fn sleep(&self, _: u64) {}
}

impl Host for FuzzHost {
    fn seed(&self) -> u64 {
        0
    }
    fn jwks_cache(&self) -> &JwksCache {
        &self.jwks
    }
}
