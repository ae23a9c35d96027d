//! The integration tests: one binary, one shared throwaway cluster per run (the harness in
//! `moha_tests`), one module per subject. Before, each file was its own binary that linked on
//! its own and started its own cluster.

mod access_matrix;
mod advisors;
mod agents;
mod alerts;
mod attack;
mod auth_api;
mod backup;
mod compat;
mod db_functions;
mod definer_lints;
mod deploy;
mod diagram;
mod escalation;
mod fidelity;
mod functions_gateway;
mod functions_insights;
mod functions_lead_scoring;
mod functions_leads;
mod functions_mcp;
mod functions_wasm;
mod harness;
mod inbox;
mod inspect;
mod key_rotation;
mod metrics;
mod migrate;
mod partitions;
mod pg17;
mod pgtap;
mod realtime;
mod schedules;
mod schedules_fire;
mod schema;
mod schema_lint;
mod seed_token;
mod social_connect;
mod social_tokens;
mod storage_api;
mod storage_policies;
mod supabase_cli;
mod tls;
mod types_check;
mod types_postgres_meta;
mod workflows;
