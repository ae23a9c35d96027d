//! A small schema for the engine's own tests: a project with an enum status, a one-to-one
//! detail row and many notes. No business schema is used here.

use crate::shorthand::*;
use crate::*;

pub fn projects() -> Name {
    public("projects")
}

pub fn releases() -> Vec<Release> {
    let projects = projects();
    vec![Release {
        version: "20250101000000",
        name: "projects",
        summary: "Projects, their details and notes.",
        changes: vec![
            create_enum("project_status", &["draft", "done"]),
            Change::CreateTable(
                Table::new(projects.clone())
                    .column(uuid_pk())
                    .column(text("title").not_null())
                    .column(text("description"))
                    .column(
                        Column::new("status", enum_type("project_status"))
                            .not_null()
                            .default(enum_value("project_status", "draft")),
                    )
                    .column(Column::new("payload", SqlType::Jsonb).not_null())
                    .column(Column::new("seq", SqlType::BigInt).not_null().identity())
                    .column(updated_at())
                    .primary_key(&["id"]),
            ),
            Change::CreateTable(
                Table::new(public("project_details"))
                    .column(uuid("project_id").not_null())
                    .column(text("brief"))
                    .primary_key(&["project_id"])
                    .foreign_key(
                        &["project_id"],
                        projects.clone(),
                        &["id"],
                        OnDelete::Cascade,
                    ),
            ),
            Change::CreateTable(
                Table::new(public("project_notes"))
                    .column(uuid_pk())
                    .column(uuid("project_id"))
                    .column(text("body").not_null())
                    .primary_key(&["id"])
                    .foreign_key(&["project_id"], projects, &["id"], OnDelete::Cascade),
            ),
            index(&public("project_notes"), &["project_id"]),
        ],
    }]
}

pub fn catalog() -> Catalog {
    Catalog::from_releases(&releases()).unwrap()
}
