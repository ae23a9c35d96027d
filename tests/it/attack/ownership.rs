//! Class 2: staff rewriting the links that decide who sees what. The break: a Sales user or a
//! Designer points `clients.user_id` at a fresh sign-up, which then owns the client's private
//! projects, images and files.

use sql::access::Action;

use super::common::*;

const CLIENT_RECORD: &str = "11000000-0000-4000-a000-000000000001";
const WALK_IN_RECORD: &str = "11000000-0000-4000-a000-000000000003";

#[test]
fn staff_cannot_hand_a_client_record_to_a_fresh_sign_up() {
    let (_db, mut c) = seeded();
    let mallory = sign_up(&mut c, "mallory@evil.test");
    for staff in ["sales_a", "designer"] {
        for record in [CLIENT_RECORD, WALK_IN_RECORD] {
            let r = commit(
                &mut c,
                &persona_claims(staff),
                "update public.clients set user_id = $1::text::uuid where id = $2::text::uuid",
                &[&mallory, &record],
            );
            assert_eq!(r, Err(DENIED.into()), "{staff} relinks {record}");
        }
        // Nor by creating a record already linked to the account.
        let r = attempt(
            &mut c,
            &persona_claims(staff),
            "insert into public.clients (name, user_id) values ('Mallory', $1::text::uuid)",
            &[&mallory],
        );
        assert_eq!(r, Err(DENIED.into()), "{staff} creates a linked record");
    }
    // Whatever was tried, the sign-up sees nothing private.
    let claims = issued_claims(&mut c, &mallory);
    assert_eq!(claims["role"], "moha_client");
    // Only what anon sees too: the published project's image and media file.
    for (table, filter, expected) in [
        ("public.projects", "not is_published", 0),
        ("public.clients", "true", 0),
        ("public.project_images", "true", 1),
        ("storage.objects", "bucket_id = 'project-media'", 1),
    ] {
        let sql = format!("select 1 from {table} where {filter}");
        let n = attempt(&mut c, &claims, &sql, &[]);
        assert_eq!(n, Ok(expected), "{table} as the sign-up");
    }
    // The one role the matrix names for `clients.user_id` still links accounts.
    let newcomer = sign_up(&mut c, "newcomer@moha.test");
    let r = commit(
        &mut c,
        &persona_claims("admin"),
        "update public.clients set user_id = $1::text::uuid where id = $2::text::uuid",
        &[&newcomer, &WALK_IN_RECORD],
    );
    assert_eq!(r, Ok(1), "an Admin links a record");
}

/// Columns whose names say they link a row to a person or an owner. Found in the live database,
/// not read from the matrix, so a new such column cannot slip past the declaration.
const OWNERSHIP_NAMES: &str =
    "^(user_id|client_id|assigned_to|author_id|role_id|created_by|performed_by|owner|owner_id)$";

/// Per column, per persona: a write of every ownership column is refused (42501) unless the
/// matrix names the persona's database role for it; then the write is allowed by privilege
/// (policies may still narrow the rows).
#[test]
fn every_ownership_column_is_written_only_by_the_roles_the_matrix_names() {
    let (_db, mut c) = seeded();
    let live: Vec<(String, String)> = c
        .query(
            "select table_name::text, column_name::text from information_schema.columns \
              where table_schema = 'public' and column_name ~ $1 \
                and table_name in (select tablename from pg_tables where schemaname = 'public') \
              order by 1, 2",
            &[&OWNERSHIP_NAMES],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert!(live.len() >= 10, "found only {live:?}");
    let matrix = sql::moha::security::matrix();
    let mut failures = Vec::new();
    for (table, column) in &live {
        let access = matrix.iter().find(|t| t.table.name == *table).unwrap();
        let owner = access.columns.owners.iter().find(|o| o.column == column);
        for persona in sql::moha::security::PERSONAS {
            if persona.db_role == "service_role" {
                continue; // bypasses RLS and holds every grant, as on hosted
            }
            let claims = moha_tests::personas::claims(persona);
            for (action, sql) in [
                (
                    Action::Update,
                    format!("update public.{table} set {column} = {column} where false"),
                ),
                (
                    Action::Insert,
                    format!("insert into public.{table} ({column}) select null where false"),
                ),
            ] {
                // The matrix's own reading of a declaration (`authenticated` covers every
                // business role).
                let named = owner.is_some_and(|o| o.allows(persona.db_role, action));
                let got = attempt(&mut c, &claims, &sql, &[]);
                let ok = if named {
                    got == Ok(0)
                } else {
                    got == Err(DENIED.into())
                };
                if !ok {
                    failures.push(format!(
                        "{} {} {table}.{column}: {got:?} (named: {named}, declared: {})",
                        persona.name,
                        action.as_str(),
                        owner.is_some()
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
