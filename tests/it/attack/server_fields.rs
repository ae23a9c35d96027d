//! Class 3: callers choosing fields the server should choose. The break: on insert, a client set
//! `render_requests.model` to any string (an expensive model), `created_at`, `retry_at` and
//! `attempts` to jump the queue, and `project_id` to another client's project.

use super::common::*;

const OWN_PROJECT: &str = "12000000-0000-4000-a000-000000000001";
const CLIENT2_PROJECT: &str = "12000000-0000-4000-a000-000000000002";
const PUBLISHED_PROJECT: &str = "12000000-0000-4000-a000-000000000003";
const MODEL: &str = sql::moha::security::RENDER_MODELS[0];

fn queue(
    c: &mut postgres::Client,
    who: &serde_json::Value,
    columns: &str,
    values: &str,
) -> Result<u64, String> {
    let sql = format!("insert into public.render_requests ({columns}) values ({values})");
    attempt(c, who, &sql, &[])
}

#[test]
fn a_client_queues_a_render_with_only_what_a_client_may_choose() {
    let (_db, mut c) = seeded();
    let client = persona_claims("client");
    // The honest request works: input, an allowed model, the client's own project.
    assert_eq!(
        queue(
            &mut c,
            &client,
            "input_file_path, model, project_id",
            &format!("'in.png', '{MODEL}', '{OWN_PROJECT}'")
        ),
        Ok(1)
    );
    // And without choosing a model: the server's default is an allowed one.
    assert_eq!(queue(&mut c, &client, "input_file_path", "'in.png'"), Ok(1));
    // Server-chosen fields are not the caller's to set.
    for (column, value) in [
        ("created_at", "'2000-01-01'"),
        ("retry_at", "'2000-01-01'"),
        ("attempts", "-100"),
        ("status", "'queued'"),
        ("error_message", "'x'"),
        ("completed_at", "null"),
        ("id", "gen_random_uuid()"),
    ] {
        let r = queue(
            &mut c,
            &client,
            &format!("input_file_path, {column}"),
            &format!("'in.png', {value}"),
        );
        assert_eq!(r, Err(DENIED.into()), "a client sets {column}");
    }
}

#[test]
fn a_client_cannot_pick_a_model_outside_the_allow_list() {
    let (_db, mut c) = seeded();
    let client = persona_claims("client");
    for model in [
        "gpt-ultra-4k-per-image",
        "gemini-2.5-pro",
        "../../v1/models/x",
        "",
    ] {
        let r = queue(
            &mut c,
            &client,
            "input_file_path, model",
            &format!("'in.png', '{model}'"),
        );
        assert_eq!(r, Err(DENIED.into()), "model {model:?}");
    }
}

#[test]
fn a_client_cannot_charge_a_render_to_a_project_that_is_not_theirs() {
    let (_db, mut c) = seeded();
    let client = persona_claims("client");
    for project in [
        CLIENT2_PROJECT,
        PUBLISHED_PROJECT,
        "99999999-0000-4000-a000-000000000000",
    ] {
        let r = queue(
            &mut c,
            &client,
            "input_file_path, project_id",
            &format!("'in.png', '{project}'"),
        );
        assert_eq!(r, Err(DENIED.into()), "project {project}");
    }
}

#[test]
fn a_fresh_sign_up_cannot_queue_paid_work() {
    // Sign-up is open: an account no staff member has linked to a client record gets no quota.
    let (_db, mut c) = seeded();
    let mallory = sign_up(&mut c, "mallory@evil.test");
    let claims = issued_claims(&mut c, &mallory);
    assert_eq!(
        queue(&mut c, &claims, "input_file_path", "'in.png'"),
        Err(DENIED.into())
    );
    assert_eq!(
        queue(
            &mut c,
            &claims,
            "input_file_path, model",
            &format!("'in.png', '{MODEL}'")
        ),
        Err(DENIED.into())
    );
}
