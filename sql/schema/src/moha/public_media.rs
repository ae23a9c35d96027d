//! Issue 19: the plan's "public read only for approved portfolio/blog assets" as two public
//! buckets, `portfolio-public` and `blog-public`, served by Storage's public route
//! (`getPublicUrl`) without RLS. What may enter them is RLS's decision: an insert names a
//! published project (Designer, Admin) or the author's own published post (Admin: any published
//! post), so approval is the project's `is_published` and the post's `published` status. A
//! project or post cannot stop being published (or be deleted while published) as long as it
//! still has objects there: the public route does not read policies, so its copies must go
//! first, through the Storage API. Publishing is a `copy` from the private bucket.
//!
//! Also here: a signed-in user may update (move or rename) their renders within their own
//! folder, as Storage's `move` needs.
//!
//! [`storage`] is the bucket matrix as it stands after this release (the security release
//! created the first four buckets from `security::storage()`); this release changes only the
//! policies whose terms differ.

use super::security::{
    self, ADMIN, ANON, DESIGNER, OBJECT_OF_OWN_POST, OBJECT_OF_PUBLISHED_POST,
    OBJECT_OF_PUBLISHED_PROJECT, OWN_FOLDER, SAFE_OBJECT_NAME, SERVICE, SIGNED_IN,
};
use super::*;
use crate::access::{self, Access, Action, Audience, BucketAccess, Entry, Rule};

pub const PORTFOLIO_PUBLIC: &str = "portfolio-public";
pub const BLOG_PUBLIC: &str = "blog-public";

pub const OBJECT_OF_OWN_PUBLISHED_POST: Rule = Rule {
    name: "of own published post",
    using: "(storage.foldername(name))[1] in (select p.id::text from public.blog_posts p where p.author_id = (select auth.uid()) and p.status = 'published'::public.blog_status)",
    check: None,
    columns: &["name"],
    requires: &[],
    one_of: &[],
};

fn entry(audience: Audience, actions: &[Action], access: Access) -> Entry {
    Entry {
        audience,
        actions: actions.to_vec(),
        access,
    }
}

fn public_bucket(id: &str, like: &Bucket) -> Bucket {
    Bucket {
        id: id.into(),
        // Public: Storage serves every object by URL without RLS, so the insert policies below
        // are what keeps unapproved media out.
        public: true,
        file_size_limit: like.file_size_limit,
        allowed_mime_types: like.allowed_mime_types.clone(),
    }
}

/// The buckets and who may do what with their objects, after this release.
pub fn storage() -> Vec<BucketAccess> {
    use Action::{Delete, Insert, Select, Update};
    let mut all = security::storage();
    let bucket = |id: &str| -> Bucket {
        all.iter()
            .find(|b| b.bucket.id == id)
            .unwrap_or_else(|| panic!("security::storage() has no {id}"))
            .bucket
            .clone()
    };
    let (project_media, blog_media) = (bucket("project-media"), bucket("blog-media"));
    let renders = all
        .iter_mut()
        .find(|b| b.bucket.id == "renders")
        .expect("security::storage() has renders");
    renders
        .entries
        .push(entry(SIGNED_IN, &[Update], Access::Rule(OWN_FOLDER)));
    // No update on the public buckets: a copy is replaced by delete and copy, so every row there
    // entered through the insert policy.
    all.push(BucketAccess {
        bucket: public_bucket(PORTFOLIO_PUBLIC, &project_media),
        path: "<published project id>/<file>",
        entries: vec![
            entry(ANON, &[Select], Access::Rule(OBJECT_OF_PUBLISHED_PROJECT)),
            entry(
                SIGNED_IN,
                &[Select],
                Access::Rule(OBJECT_OF_PUBLISHED_PROJECT),
            ),
            entry(
                DESIGNER,
                &[Insert],
                Access::Rule(OBJECT_OF_PUBLISHED_PROJECT),
            ),
            entry(DESIGNER, &[Select, Delete], Access::All),
            entry(ADMIN, &[Insert], Access::Rule(OBJECT_OF_PUBLISHED_PROJECT)),
            entry(ADMIN, &[Select, Delete], Access::All),
            entry(SERVICE, &[Select, Insert, Update, Delete], Access::All),
        ],
    });
    all.push(BucketAccess {
        bucket: public_bucket(BLOG_PUBLIC, &blog_media),
        path: "<published post id>/<file>",
        entries: vec![
            entry(ANON, &[Select], Access::Rule(OBJECT_OF_PUBLISHED_POST)),
            entry(SIGNED_IN, &[Select], Access::Rule(OBJECT_OF_PUBLISHED_POST)),
            entry(
                SIGNED_IN,
                &[Insert],
                Access::Rule(OBJECT_OF_OWN_PUBLISHED_POST),
            ),
            entry(SIGNED_IN, &[Delete], Access::Rule(OBJECT_OF_OWN_POST)),
            entry(ADMIN, &[Insert], Access::Rule(OBJECT_OF_PUBLISHED_POST)),
            entry(ADMIN, &[Select, Delete], Access::All),
            entry(SERVICE, &[Select, Insert, Update, Delete], Access::All),
        ],
    });
    all
}

/// The changes that take the storage policies from `before` to `after`: new or changed
/// buckets, and each policy whose terms differ dropped and created again (PostgreSQL has no
/// `create or replace policy`).
fn storage_delta(before: &[BucketAccess], after: &[BucketAccess]) -> Vec<Change> {
    let safe = Expr::Sql(SAFE_OBJECT_NAME);
    let old = access::storage_changes(before, &safe);
    let new = access::storage_changes(after, &safe);
    let mut out = Vec::new();
    for c in &new {
        match c {
            Change::CreateBucket(_) | Change::Grant(_) if !old.contains(c) => out.push(c.clone()),
            Change::CreatePolicy(p) => {
                let previous = old.iter().find_map(|o| match o {
                    Change::CreatePolicy(q) if q.name == p.name && q.table == p.table => Some(q),
                    _ => None,
                });
                if previous == Some(p) {
                    continue;
                }
                if previous.is_some() {
                    out.push(Change::DropPolicy {
                        table: p.table.clone(),
                        name: p.name.clone(),
                    });
                }
                out.push(c.clone());
            }
            _ => {}
        }
    }
    // A policy this release would drop without replacing: none today, and none may appear
    // silently.
    for o in &old {
        if let Change::CreatePolicy(q) = o {
            assert!(
                new.iter()
                    .any(|c| matches!(c, Change::CreatePolicy(p) if p.name == q.name)),
                "public_media drops policy {} without replacing it",
                q.name
            );
        }
    }
    out
}

pub fn release() -> Release {
    let mut changes = storage_delta(&security::storage(), &storage());
    changes.push(Change::CreateFunction(
        Function::new(
            private("keep_public_media_approved"),
            Returns::Trigger,
            include_str!("sql/keep_public_media_approved.sql"),
        )
        .comment("A project or post with objects in its public bucket stays published until they are removed through the Storage API."),
    ));
    for (name, table, column, bucket) in [
        (
            "keep_portfolio_public_approved",
            public("projects"),
            "is_published",
            PORTFOLIO_PUBLIC,
        ),
        (
            "keep_blog_public_approved",
            public("blog_posts"),
            "status",
            BLOG_PUBLIC,
        ),
    ] {
        changes.push(Change::CreateTrigger(Trigger {
            name: name.into(),
            table,
            timing: Timing::Before,
            events: vec![Event::UpdateOf(vec![column.into()]), Event::Delete],
            level: Level::Row,
            function: private("keep_public_media_approved"),
            args: vec![bucket.into()],
        }));
    }
    Release {
        version: "20250601002500",
        name: "public_media",
        summary: "Public buckets portfolio-public and blog-public for approved media (insert only for published projects and posts; unpublishing waits for their removal); renders movable within one's own folder.",
        changes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_changed_policies_are_replaced() {
        let changes = storage_delta(&security::storage(), &storage());
        let dropped: Vec<&str> = changes
            .iter()
            .filter_map(|c| match c {
                Change::DropPolicy { name, .. } => Some(name.as_str()),
                _ => None,
            })
            .collect();
        // Select, insert and delete gain the public buckets' terms; update gains renders'.
        for name in dropped.iter() {
            assert!(name.starts_with("objects_"), "{name}");
        }
        assert!(dropped.contains(&"objects_update_authenticated"));
        let buckets: Vec<&str> = changes
            .iter()
            .filter_map(|c| match c {
                Change::CreateBucket(b) => Some(b.id.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(buckets, [PORTFOLIO_PUBLIC, BLOG_PUBLIC]);
    }
}
