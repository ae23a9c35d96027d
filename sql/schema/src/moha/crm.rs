//! Leads and CRM: leads with status and source, notes, scoring history.

use super::*;

pub fn leads() -> Name {
    public("leads")
}

pub fn release() -> Release {
    let mut changes = vec![
        create_enum(
            "lead_status",
            &["new", "contacted", "qualified", "proposal", "won", "lost"],
        ),
        create_enum(
            "lead_source",
            &[
                "website",
                "instagram",
                "tiktok",
                "referral",
                "walk_in",
                "phone",
                "email",
                "other",
            ],
        ),
    ];
    changes.extend(table(
        Table::new(leads())
            .comment("Lead tracking.")
            .column(uuid_pk())
            .column(text("client_name").not_null())
            .column(text("email"))
            .column(text("phone"))
            .column(
                Column::new("source", enum_type("lead_source"))
                    .not_null()
                    .default(enum_value("lead_source", "other")),
            )
            .column(uuid("assigned_to").comment("The Sales user who owns the lead."))
            .column(
                Column::new("status", enum_type("lead_status"))
                    .not_null()
                    .default(enum_value("lead_status", "new")),
            )
            .column(
                Column::new("score", SqlType::SmallInt)
                    .comment("Current score 0-100 (update_lead_score).")
                    .lint_ignore(
                        "prefer-bigint-over-smallint",
                        "a score from 0 to 100 (checked), not an id or a counter",
                    ),
            )
            .column(created_at())
            .column(updated_at())
            .primary_key(&["id"])
            .foreign_key(&["assigned_to"], rbac::users(), &["id"], OnDelete::SetNull)
            .check("score", Expr::Sql("score between 0 and 100")),
        Audit::Yes,
    ));
    // A Sales user's list of their open leads, newest first: the index gives their leads in
    // order, so a page reads its 50 rows and the few closed ones between them, and stops. The
    // status is a filter, not a key: under RLS it cannot be an index condition anyway (the
    // enum comparison is not leakproof, so it may not run before the policy's own condition).
    changes.push(Change::CreateIndex(
        Index::on(&leads(), &["assigned_to", "created_at"]).keys(vec![
            IndexKey::Column("assigned_to".into()),
            IndexKey::Desc("created_at".into()),
        ]),
    ));
    changes.push(index(&leads(), &["status"]));
    changes.extend(table(
        Table::new(public("lead_notes"))
            .comment("Communication log of a lead.")
            .column(uuid_pk())
            .column(uuid("lead_id").not_null())
            .column(text("note").not_null())
            .column(uuid("created_by").default(Expr::Sql("auth.uid()")))
            .column(created_at())
            .primary_key(&["id"])
            .foreign_key(&["lead_id"], leads(), &["id"], OnDelete::Cascade)
            .foreign_key(&["created_by"], rbac::users(), &["id"], OnDelete::SetNull),
        Audit::Yes,
    ));
    changes.push(index(&public("lead_notes"), &["lead_id", "created_at"]));
    changes.push(index(&public("lead_notes"), &["created_by"]));
    changes.extend(table(
        Table::new(public("lead_scoring"))
            .comment("AI-powered and rule-based scores of a lead, newest last.")
            .column(uuid_pk())
            .column(uuid("lead_id").not_null())
            .column(
                Column::new("score", SqlType::SmallInt)
                    .not_null()
                    .lint_ignore(
                        "prefer-bigint-over-smallint",
                        "a score from 0 to 100 (checked), not an id or a counter",
                    ),
            )
            .column(text("rationale"))
            .column(
                text("model")
                    .not_null()
                    .comment("The AI model, or rules-v1 for update_lead_score."),
            )
            .column(created_at())
            .primary_key(&["id"])
            .foreign_key(&["lead_id"], leads(), &["id"], OnDelete::Cascade)
            .check("score", Expr::Sql("score between 0 and 100")),
        Audit::Yes,
    ));
    changes.push(index(&public("lead_scoring"), &["lead_id", "created_at"]));
    // update_lead_score's "latest AI score": without the predicate it would walk every
    // rules-v1 row of the lead first.
    changes.push(Change::CreateIndex(
        Index::on(&public("lead_scoring"), &["lead_id", "created_at"])
            .named("lead_scoring_ai_idx")
            .keys(vec![
                IndexKey::Column("lead_id".into()),
                IndexKey::Desc("created_at".into()),
            ])
            .r#where(Expr::Sql("model <> 'rules-v1'")),
    ));
    changes.push(Change::CreateFunction(
        Function::new(public("update_lead_score"), Returns::Type(SqlType::SmallInt), include_str!("sql/update_lead_score.sql"))
            .arg(Arg::new("lead_id", SqlType::Uuid))
            .security_definer()
            .execute(&["service_role", AI_AGENT])
            .comment("Deterministic score 0-100 from source, recency, recent notes and the latest AI score; writes lead_scoring and leads.score."),
    ));
    Release {
        version: "20250601000500",
        name: "crm",
        summary: "Leads with status and source, notes, scoring.",
        changes,
    }
}
