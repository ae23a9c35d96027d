//! Blog / CMS: categories, posts with a status workflow, tags and media.

use super::*;

pub fn posts() -> Name {
    public("blog_posts")
}

pub fn release() -> Release {
    let mut changes = vec![create_enum(
        "blog_status",
        &["draft", "review", "published", "archived"],
    )];
    changes.extend(table(
        Table::new(public("blog_categories"))
            .comment("Categories of blog posts.")
            .column(uuid_pk())
            .column(text("name").not_null())
            .column(text("slug").not_null())
            .column(created_at())
            .primary_key(&["id"])
            .unique(&["name"])
            .unique(&["slug"])
            .check("slug", Expr::Sql("slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'")),
        Audit::Yes,
    ));
    changes.extend(table(
        Table::new(posts())
            .comment("CMS content.")
            .column(uuid_pk())
            .column(text("title").not_null())
            .column(text("slug").not_null())
            .column(
                text("content")
                    .not_null()
                    .default(Expr::text("").cast(SqlType::Text)),
            )
            .column(text("excerpt"))
            .column(uuid("author_id").default(Expr::Sql("auth.uid()")))
            .column(uuid("category_id"))
            .column(
                Column::new("status", enum_type("blog_status"))
                    .not_null()
                    .default(enum_value("blog_status", "draft")),
            )
            .column(ts("published_at"))
            .column(created_at())
            .column(updated_at())
            .primary_key(&["id"])
            .unique(&["slug"])
            .foreign_key(&["author_id"], rbac::users(), &["id"], OnDelete::SetNull)
            .foreign_key(
                &["category_id"],
                public("blog_categories"),
                &["id"],
                OnDelete::SetNull,
            )
            .check("slug", Expr::Sql("slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'"))
            .check(
                "published",
                Expr::Sql("status <> 'published' or published_at is not null"),
            ),
        Audit::Yes,
    ));
    changes.push(index(&posts(), &["author_id"]));
    changes.push(index(&posts(), &["category_id"]));
    changes.push(Change::CreateIndex(
        Index::on(&posts(), &["published_at"])
            .named("blog_posts_published_idx")
            .keys(vec![IndexKey::Desc("published_at".into())])
            .r#where(Expr::Sql("status = 'published'::public.blog_status")),
    ));
    changes.extend(table(
        Table::new(public("blog_tags"))
            .comment("Flexible tags for search and filtering.")
            .column(uuid_pk())
            .column(uuid("post_id").not_null())
            .column(text("tag").not_null())
            .primary_key(&["id"])
            .unique(&["post_id", "tag"])
            .foreign_key(&["post_id"], posts(), &["id"], OnDelete::Cascade)
            .check("tag", Expr::Sql("length(tag) between 1 and 64")),
        Audit::Yes,
    ));
    changes.push(index(&public("blog_tags"), &["tag"]));
    changes.extend(table(
        Table::new(public("blog_media"))
            .comment("Featured images and videos of posts (files in the blog-media bucket).")
            .column(uuid_pk())
            .column(uuid("post_id").not_null())
            .column(text("file_path").not_null())
            .column(
                Column::new("is_featured", SqlType::Boolean)
                    .not_null()
                    .default(Expr::Bool(false)),
            )
            .column(created_at())
            .primary_key(&["id"])
            .foreign_key(&["post_id"], posts(), &["id"], OnDelete::Cascade),
        Audit::Yes,
    ));
    changes.push(index(&public("blog_media"), &["post_id"]));
    Release {
        version: "20250601000300",
        name: "blog",
        summary: "Blog categories, posts with status workflow, tags, media.",
        changes,
    }
}
