//! Statement kinds and destructive statements of a migration file, for the deploy's plan.

use crate::migrate::split::{self, Token};

/// One statement of a pending migration.
pub struct Finding {
    /// `create table`, `alter table`, `insert`, ...
    pub kind: String,
    /// Why it can lose data or fail on existing rows, when it can.
    pub destructive: Option<String>,
    /// The statement's start, for the plan.
    pub excerpt: String,
}

// ---------------------------------------------------------------------------------------------
// Statement kinds. The file splits as the Supabase CLI splits it (`migrate::split`); each
// statement's tokens are enough to read its keywords. It is not a parser, so it flags by keyword
// patterns.

/// Classifies every statement of a migration file; comment-only statements are left out.
pub fn classify_sql(sql: &str) -> Vec<Finding> {
    split::split(sql)
        .into_iter()
        .filter_map(|stmt| {
            let tokens = stmt.tokens();
            if tokens.is_empty() {
                return None;
            }
            let words: Vec<&str> = tokens
                .iter()
                .map(|t| match t {
                    Token::Word(w) => w.as_str(),
                    Token::Literal => "\u{0}",
                    Token::Punct(_) => "\u{1}",
                })
                .collect();
            let excerpt: String = stmt.text.split_whitespace().collect::<Vec<_>>().join(" ");
            let excerpt = if excerpt.chars().count() > 100 {
                format!("{}…", excerpt.chars().take(100).collect::<String>())
            } else {
                excerpt
            };
            Some(Finding {
                kind: kind(&words),
                destructive: sql::lint::destructive(&tokens),
                excerpt,
            })
        })
        .collect()
}

/// `create table`, `alter table`, `create function`, `insert`, `grant`, `do`, ...
fn kind(words: &[&str]) -> String {
    let Some(&verb) = words.first() else {
        return "empty".into();
    };
    match verb {
        "create" | "alter" | "drop" | "comment" => {
            let fillers = [
                "or",
                "replace",
                "unique",
                "temp",
                "temporary",
                "unlogged",
                "recursive",
                "trusted",
                "procedural",
                "constraint",
                "default",
                "global",
                "local",
                "on",
            ];
            let mut rest = words[1..].iter().skip_while(|w| fillers.contains(w));
            match rest.next() {
                Some(
                    &two @ ("materialized" | "foreign" | "event" | "access" | "text" | "operator"),
                ) => match rest.next() {
                    Some(next) => format!("{verb} {two} {next}"),
                    None => format!("{verb} {two}"),
                },
                Some(obj) if !obj.starts_with('\u{0}') && !obj.starts_with('\u{1}') => {
                    format!("{verb} {obj}")
                }
                _ => verb.to_string(),
            }
        }
        _ => verb.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(sql: &str) -> Vec<(String, Option<String>)> {
        classify_sql(sql)
            .into_iter()
            .map(|f| (f.kind, f.destructive))
            .collect()
    }

    #[test]
    fn splits_past_quotes_comments_and_dollar_bodies() {
        let sql = "-- a; comment\ncreate table t (a text default ';');\n\
                   create or replace function f() returns int language sql as $f$ select 1; $f$;\n\
                   /* x; /* nested; */ */ insert into t values ('a''b;');\n";
        let got = kinds(sql);
        assert_eq!(
            got,
            vec![
                ("create table".into(), None),
                ("create function".into(), None),
                ("insert".into(), None),
            ]
        );
    }

    #[test]
    fn splits_as_the_cli_does_and_leaves_out_comment_only_statements() {
        let sql = "create function h() returns int language sql\nbegin atomic\n  select 1;\n  \
                   delete from t;\nend;\n-- drop table x;\n/* truncate t; */;\nselect 2;\n\
                   -- trailing comment\n";
        let got = classify_sql(sql);
        assert_eq!(got.len(), 2);
        assert_eq!(
            (got[0].kind.as_str(), got[0].destructive.as_deref()),
            ("create function", None)
        );
        assert_eq!(
            got[0].excerpt,
            "create function h() returns int language sql begin atomic select 1; delete from t; end"
        );
        assert_eq!(got[1].kind, "select");
        let long = format!("select '{}'", "x".repeat(200));
        let excerpt = &classify_sql(&long)[0].excerpt;
        assert!(
            excerpt.ends_with('…') && excerpt.chars().count() == 101,
            "{excerpt}"
        );
    }

    #[test]
    fn flags_destructive_statements() {
        let flagged = |sql: &str| kinds(sql)[0].1.clone();
        assert_eq!(
            flagged("drop table public.leads").as_deref(),
            Some("drop table")
        );
        assert_eq!(
            flagged("drop schema crm cascade").as_deref(),
            Some("drop schema")
        );
        assert_eq!(
            flagged("alter table t drop column c").as_deref(),
            Some("drop column")
        );
        assert_eq!(
            flagged("alter table t drop c").as_deref(),
            Some("drop column")
        );
        assert_eq!(
            flagged("alter table t alter column c type bigint").as_deref(),
            Some("column type change")
        );
        assert_eq!(
            flagged("alter table t alter c set data type bigint").as_deref(),
            Some("column type change")
        );
        assert_eq!(
            flagged("alter table t alter column c set not null").as_deref(),
            Some("set not null on an existing column")
        );
        assert_eq!(flagged("truncate t").as_deref(), Some("truncate"));
        assert_eq!(
            flagged("delete from t").as_deref(),
            Some("delete without where")
        );
        assert_eq!(
            flagged("drop function f() cascade").as_deref(),
            Some("drop ... cascade")
        );
        assert_eq!(
            flagged("alter table \"x;y\" drop column c").as_deref(),
            Some("drop column")
        );
        assert_eq!(
            flagged("/* a; comment */ drop table \"a;b\"").as_deref(),
            Some("drop table")
        );
    }

    #[test]
    fn leaves_safe_statements_alone() {
        for sql in [
            "alter table t add column type text",
            "alter table t alter column c drop not null",
            "alter table t alter column c drop default",
            "alter table t drop constraint t_pk",
            "alter table t enable row level security",
            "alter table t add column c int not null default 0",
            "drop policy p on t",
            "drop function f(int)",
            "drop index i",
            "delete from t where id = 1",
            "create table t (id int not null, kind text)",
            "comment on table t is 'drop table x; truncate'",
            "select 'drop table q; truncate t'",
            "select $tag$drop table z; truncate t$tag$, $1",
            "create function g() returns void language plpgsql as $$ begin drop table x; \
             delete from y; end $$",
            "-- drop table x;\n/* truncate t; /* nested; */ */ select 1",
            "alter table t add column \"drop\" text",
        ] {
            assert_eq!(kinds(sql)[0].1, None, "{sql}");
        }
    }
}
