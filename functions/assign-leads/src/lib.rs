//! `assign-leads {lead_id}`: refreshes the lead's score and assigns it to the Sales user with
//! the lowest score-weighted open workload, with a note, a notification and an audit entry.
//! Idempotent: an assigned lead keeps its owner.

pub mod assign;
pub mod sql;

use moha_edge::auth::{self, Caller};
use moha_edge::db::{query_as, query_opt};
use moha_edge::validate;
use moha_edge::{DbRole, Env, Error, Host, Method, Request, Response, Result, Tx};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::assign::{Decision, SalesLoad};

#[cfg(target_arch = "wasm32")]
moha_edge::export_handler!(crate::handle);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    lead_id: String,
}

#[derive(Debug, Deserialize)]
struct Lead {
    id: String,
    assigned_to: Option<Uuid>,
}

pub async fn handle(req: Request, env: &Env, host: &impl Host) -> Response {
    if req.method == Method::Options {
        return validate::preflight();
    }
    moha_edge::respond(run(req, env, host).await)
}

async fn run(req: Request, env: &Env, host: &impl Host) -> Result<Response> {
    validate::require_post(&req)?;
    let caller = auth::caller(&req, env, host).await?;
    let input: Input = validate::json_body(&req)?;
    let id = json!(validate::uuid("lead_id", &input.lead_id)?.to_string());

    // A user loads the lead as themselves, so RLS decides whether they may assign it.
    let (role, acting_for) = match &caller {
        Caller::User { id, .. } => (DbRole::Authenticated, json!(id.to_string())),
        Caller::Service { .. } => (DbRole::AiAgent, serde_json::Value::Null),
    };
    let tx = host.begin(role, caller.claims()).await?;
    let lead: Option<Lead> = query_opt(&tx, sql::LOAD_LEAD, std::slice::from_ref(&id)).await?;
    tx.commit().await?;
    let lead = lead.ok_or_else(|| Error::NotFound("lead not found".into()))?;

    let tx = host.begin(DbRole::AiAgent, caller.claims()).await?;
    match assign(&tx, &lead, &id, acting_for).await {
        Ok(resp) => {
            tx.commit().await?;
            Ok(resp)
        }
        Err(e) => {
            tx.rollback().await?;
            Err(e)
        }
    }
}

async fn assign(
    tx: &impl Tx,
    lead: &Lead,
    id: &serde_json::Value,
    acting_for: serde_json::Value,
) -> Result<Response> {
    let score = tx
        .query(sql::UPDATE_SCORE, std::slice::from_ref(id))
        .await?;
    let score = score.first().and_then(|r| r.get("score")).cloned();
    let loads: Vec<SalesLoad> = query_as(tx, sql::SALES_WORKLOAD, std::slice::from_ref(id)).await?;
    let owner = match assign::decide(lead.assigned_to, &loads) {
        Decision::Keep(owner) => owner,
        Decision::NoSalesUser => {
            return Err(Error::Conflict(
                "no Sales user exists to assign the lead to".into(),
            ))
        }
        Decision::Assign(owner) => {
            let rows = tx
                .query(sql::ASSIGN, &[id.clone(), json!(owner.to_string())])
                .await?;
            if rows.is_empty() {
                // A concurrent call assigned it first; its choice stands.
                let now: Option<Lead> = query_opt(tx, sql::OWNER, std::slice::from_ref(id)).await?;
                let owner = now.and_then(|l| l.assigned_to).ok_or_else(|| {
                    Error::Conflict("lead changed concurrently; try again".into())
                })?;
                return Ok(Response::json(
                    200,
                    &json!({ "lead_id": lead.id, "assigned_to": owner, "score": score }),
                ));
            }
            let note = format!(
                "Assigned automatically (score {}).",
                score.clone().unwrap_or_default()
            );
            tx.query(sql::NOTE, &[id.clone(), json!(note)]).await?;
            let data = json!({ "lead_id": lead.id }).to_string();
            tx.query(sql::NOTIFY, &[json!(owner.to_string()), json!(data)])
                .await?;
            tx.query(sql::AUDIT, &[id.clone(), acting_for]).await?;
            owner
        }
    };
    Ok(Response::json(
        200,
        &json!({ "lead_id": lead.id, "assigned_to": owner, "score": score }),
    ))
}
