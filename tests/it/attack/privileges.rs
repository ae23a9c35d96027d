//! Class 5: SQL privileges broader than the API needs. The break: `anon` and `authenticated`
//! could `setval` the project's sequences (moving `audit_logs_id_seq` makes every audited write
//! fail). Platform-owned objects (`storage.objects`, Supabase grants API roles ALL there) are
//! accepted as hosted has them; see docs/security.md.

use super::common::*;

const API_ROLES: &[&str] = &[
    "anon",
    "authenticated",
    "service_role",
    "ai_agent",
    "moha_admin",
    "moha_designer",
    "moha_client",
    "moha_sales",
];

#[test]
fn api_roles_cannot_move_a_sequence() {
    let (_db, mut c) = seeded();
    for who in ["anon", "client", "admin", "ai_agent"] {
        for sql in [
            "select pg_catalog.setval('public.audit_logs_id_seq', 1)",
            "select pg_catalog.nextval('public.audit_logs_id_seq')",
        ] {
            let r = attempt(&mut c, &persona_claims(who), sql, &[]);
            assert_eq!(r, Err(DENIED.into()), "{who}: {sql}");
        }
    }
    // An audited write still works afterwards (the sequence was not moved).
    let r = commit(
        &mut c,
        &persona_claims("admin"),
        "update public.projects set title = title where id = '12000000-0000-4000-a000-000000000001'",
        &[],
    );
    assert_eq!(r, Ok(1));
}

/// On every object the project owns, API roles hold no TRUNCATE, TRIGGER or REFERENCES, and no
/// privilege at all on sequences (identity columns need none to insert).
#[test]
fn api_roles_hold_no_privilege_the_api_never_needs() {
    let (_db, mut c) = seeded();
    // Objects made at run time count too: next year's inbox partitions.
    c.batch_execute("select public.create_social_messages_partitions(1, (pg_catalog.date_trunc('month', now()) + interval '14 months')::date)")
        .unwrap_or_else(|e| panic!("{e}"));
    let rows = c
        .query(
            "select n.nspname || '.' || k.relname, k.relkind::text, a.privilege_type, g.rolname \
               from pg_class k join pg_namespace n on n.oid = k.relnamespace \
               cross join lateral pg_catalog.aclexplode(k.relacl) a \
               join pg_roles g on g.oid = a.grantee \
              where n.nspname in ('public', 'private', 'authz') and k.relkind in ('r', 'p', 'v', 'm', 'S', 'f') \
                and g.rolname = any($1) \
                and (k.relkind = 'S' or a.privilege_type in ('TRUNCATE', 'TRIGGER', 'REFERENCES')) \
              order by 1, 4, 3",
            &[&API_ROLES],
        )
        .unwrap();
    let found: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{} ({}): {} to {}",
                r.get::<_, String>(0),
                r.get::<_, String>(1),
                r.get::<_, String>(2),
                r.get::<_, String>(3)
            )
        })
        .collect();
    assert!(
        found.is_empty(),
        "{} grants:\n{}",
        found.len(),
        found.join("\n")
    );
}
