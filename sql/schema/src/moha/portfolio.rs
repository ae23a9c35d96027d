//! Clients, projects (with PostGIS location and site), images and tags; archival.

use super::*;

pub fn projects() -> Name {
    public("projects")
}

pub fn clients() -> Name {
    public("clients")
}

pub fn release() -> Release {
    let mut changes = vec![create_enum(
        "project_status",
        &["draft", "active", "on_hold", "completed", "archived"],
    )];
    changes.extend(table(
        Table::new(clients())
            .comment("Clients of the studio; user_id links a client portal account.")
            .column(uuid_pk())
            .column(text("name").not_null())
            .column(text("email"))
            .column(text("phone"))
            .column(text("address"))
            .column(uuid("user_id").comment("Optional portal login (public.users)."))
            .column(created_at())
            .column(updated_at())
            .primary_key(&["id"])
            .unique(&["user_id"])
            .foreign_key(&["user_id"], rbac::users(), &["id"], OnDelete::SetNull),
        Audit::Yes,
    ));
    changes.extend(table(
        Table::new(projects())
            .comment("Portfolio and project management: the main project entity.")
            .column(uuid_pk())
            .column(text("title").not_null())
            .column(text("description"))
            .column(text("category"))
            .column(uuid("client_id"))
            .column(
                Column::new("status", enum_type("project_status"))
                    .not_null()
                    .default(enum_value("project_status", "draft")),
            )
            .column(
                Column::new("is_published", SqlType::Boolean)
                    .not_null()
                    .default(Expr::Bool(false))
                    .comment("Approved for the public portfolio."),
            )
            .column(ts("published_at"))
            .column(Column::new(
                "location",
                SqlType::Geography {
                    shape: GeoShape::Point,
                    srid: 4326,
                },
            ))
            .column(
                Column::new(
                    "site",
                    SqlType::Geography {
                        shape: GeoShape::Polygon,
                        srid: 4326,
                    },
                )
                .comment("Site outline, e.g. for landscaping."),
            )
            .column(uuid("created_by").default(Expr::Sql("auth.uid()")))
            .column(ts("completed_at"))
            .column(ts("archived_at"))
            .column(created_at())
            .column(updated_at())
            .primary_key(&["id"])
            .foreign_key(&["client_id"], clients(), &["id"], OnDelete::SetNull)
            .foreign_key(&["created_by"], rbac::users(), &["id"], OnDelete::SetNull)
            .check(
                "archived",
                Expr::Sql("(status = 'archived') = (archived_at is not null)"),
            )
            .check(
                "published",
                Expr::Sql("not is_published or published_at is not null"),
            ),
        Audit::Yes,
    ));
    changes.push(index(&projects(), &["client_id"]));
    changes.push(index(&projects(), &["created_by"]));
    changes.push(index(&projects(), &["status"]));
    changes.push(Change::CreateIndex(
        Index::on(&projects(), &["published_at"])
            .named("projects_published_idx")
            .keys(vec![IndexKey::Desc("published_at".into())])
            .r#where(Expr::Sql("is_published")),
    ));
    changes.push(Change::CreateIndex(
        Index::on(&projects(), &["location"]).method(IndexMethod::Gist),
    ));
    changes.push(Change::CreateIndex(
        Index::on(&projects(), &["site"]).method(IndexMethod::Gist),
    ));
    changes.extend(table(
        Table::new(public("project_images"))
            .comment("Project photos and media (files in the project-media bucket).")
            .column(uuid_pk())
            .column(uuid("project_id").not_null())
            .column(text("file_path").not_null())
            .column(
                Column::new("order_index", SqlType::Integer)
                    .not_null()
                    .default(Expr::Int(0))
                    .lint_ignore(
                        "prefer-bigint-over-int",
                        "a position in one project's gallery, not an id or a counter",
                    ),
            )
            .column(text("caption"))
            .column(created_at())
            .primary_key(&["id"])
            .unique(&["project_id", "order_index"])
            .foreign_key(&["project_id"], projects(), &["id"], OnDelete::Cascade)
            .check("order_index", Expr::Sql("order_index >= 0")),
        Audit::Yes,
    ));
    changes.extend(table(
        Table::new(public("project_tags"))
            .comment("Flexible tagging of projects for filtering.")
            .column(uuid_pk())
            .column(uuid("project_id").not_null())
            .column(text("tag").not_null())
            .primary_key(&["id"])
            .unique(&["project_id", "tag"])
            .foreign_key(&["project_id"], projects(), &["id"], OnDelete::Cascade)
            .check("tag", Expr::Sql("length(tag) between 1 and 64")),
        Audit::Yes,
    ));
    changes.push(index(&public("project_tags"), &["tag"]));
    changes.push(Change::CreateFunction(
        Function::new(public("archive_old_projects"), Returns::Type(SqlType::Integer), include_str!("sql/archive_old_projects.sql"))
            .arg(Arg::new("cutoff", SqlType::Timestamptz).default(Expr::Sql("now() - interval '1 year'")))
            .execute(&["service_role"])
            .comment("Archives completed projects finished before cutoff; returns how many. Audited; safe to repeat."),
    ));
    // Policies on other tables ask "is this the caller's project?" through this helper, not a
    // subquery on projects.client_id: callers who see other people's published projects hold no
    // select privilege on client_id (the public face), and a policy's subquery runs with theirs.
    changes.push(Change::CreateFunction(
        Function::new(
            authz("own_projects"),
            Returns::Table(vec![("id".into(), SqlType::Uuid)]),
            "\nbegin\n  return query\n    select p.id\n      from public.projects p\n     where p.client_id in (select c.id from public.clients c where c.user_id = (select private.uid()));\nend\n",
        )
        .volatility(Volatility::Stable)
        .security_definer()
        .execute(&["authenticated", "service_role"])
        .comment("The projects of the caller's client record (none when the account is not linked to one)."),
    ));
    Release {
        version: "20250601000200",
        name: "portfolio",
        summary: "Clients, projects with PostGIS location and site, images, tags, archival.",
        changes,
    }
}
