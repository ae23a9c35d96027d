//! Class 8: what anon (and any signed-in stranger) sees of a published project. The break:
//! `client_id`, `created_by`, `location` and `site` were readable by anon, and `location` may be
//! a client's home.

use super::common::*;

const PUBLISHED: &str = "12000000-0000-4000-a000-000000000003";

#[test]
fn a_visitor_reads_the_portfolio_face_and_nothing_that_names_or_locates_a_person() {
    let (_db, mut c) = seeded();
    let mallory = sign_up(&mut c, "mallory@evil.test");
    let stranger = issued_claims(&mut c, &mallory);
    for (who, claims) in [
        ("anon", persona_claims("anon")),
        ("fresh sign-up", stranger),
        ("client2", persona_claims("client2")),
        ("sales_a", persona_claims("sales_a")),
    ] {
        // The portfolio's columns.
        let face = sql::moha::security::PROJECT_PUBLIC_FACE.join(", ");
        let r = attempt(
            &mut c,
            &claims,
            &format!("select {face} from public.projects where id = '{PUBLISHED}'"),
            &[],
        );
        assert_eq!(r, Ok(1), "{who} reads the public face");
        for column in ["client_id", "created_by", "location", "site"] {
            let r = attempt(
                &mut c,
                &claims,
                &format!("select {column} from public.projects"),
                &[],
            );
            assert_eq!(r, Err(DENIED.into()), "{who} reads projects.{column}");
        }
        // `select *` (PostgREST's default) is refused rather than leaking.
        let r = attempt(&mut c, &claims, "select * from public.projects", &[]);
        assert_eq!(r, Err(DENIED.into()), "{who} selects *");
    }

    // Staff still see the whole project.
    for who in ["designer", "admin"] {
        let r = attempt(
            &mut c,
            &persona_claims(who),
            "select client_id, created_by, location, site from public.projects",
            &[],
        );
        assert_eq!(r, Ok(3), "{who}");
    }
}
