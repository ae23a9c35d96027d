//! Lints over migration statements, as Atlas's `sqlcheck` runs them over a plan. The caller
//! splits and tokenizes (it knows how the files are read); a lint reads one statement's tokens.

/// A token of one statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    /// A keyword or unquoted identifier, lowercased.
    Word(String),
    /// A quoted identifier, string, number or dollar-quoted body: never a keyword.
    Literal,
    Punct(char),
}

/// Why a statement can lose data or fail on existing rows (Atlas `sqlcheck/destructive`): drops
/// of tables, schemas, columns, column type changes, `set not null`, truncate, delete without
/// `where`, any `cascade` drop. Not a parser: it flags by keyword patterns.
pub fn destructive(tokens: &[Token]) -> Option<String> {
    let words: Vec<&str> = tokens
        .iter()
        .map(|t| match t {
            Token::Word(w) => w.as_str(),
            Token::Literal => "\u{0}",
            Token::Punct(_) => "\u{1}",
        })
        .collect();
    let at = |i: usize| words.get(i).copied().unwrap_or("");
    match (at(0), at(1)) {
        ("drop", obj @ ("table" | "schema" | "database" | "materialized" | "type" | "domain")) => {
            return Some(format!("drop {obj}"));
        }
        ("truncate", _) => return Some("truncate".into()),
        ("delete", _) if !words.contains(&"where") => return Some("delete without where".into()),
        ("drop", _) if words.contains(&"cascade") => return Some("drop ... cascade".into()),
        _ => {}
    }
    if !(at(0) == "alter" && at(1) == "table") {
        return None;
    }
    // Walk the alter table actions at parenthesis depth 0.
    let mut depth = 0i32;
    for (i, t) in tokens.iter().enumerate() {
        match t {
            Token::Punct('(') => depth += 1,
            Token::Punct(')') => depth -= 1,
            _ => {}
        }
        if depth != 0 {
            continue;
        }
        match words[i] {
            "drop" => {
                let next = at(i + 1);
                let not_a_column = [
                    "constraint",
                    "default",
                    "not",
                    "identity",
                    "expression",
                    "trigger",
                    "policy",
                    "rule",
                ];
                if next == "column" {
                    return Some("drop column".into());
                }
                // `alter table t drop c` drops column c; `alter column c drop ...` does not.
                if !not_a_column.contains(&next) && at(i.wrapping_sub(2)) != "column" {
                    return Some("drop column".into());
                }
            }
            "type" if at(i.wrapping_sub(1)) != "column" && i >= 2 => {
                let alter_column = (at(i - 2) == "alter" || at(i.wrapping_sub(3)) == "alter")
                    || (at(i - 1) == "data" && at(i - 2) == "set");
                if alter_column {
                    return Some("column type change".into());
                }
            }
            "set" if at(i + 1) == "not" && at(i + 2) == "null" => {
                return Some("set not null on an existing column".into());
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tokens of a test statement: words and punctuation; a quoted word (no spaces inside) is a
    /// literal. Comments and dollar quotes are the caller's splitter's business, tested there.
    fn tokens(sql: &str) -> Vec<Token> {
        let spaced: String = sql
            .chars()
            .flat_map(|c| match c {
                '(' | ')' | ',' | ';' => vec![' ', c, ' '],
                _ => vec![c],
            })
            .collect();
        spaced
            .split_whitespace()
            .map(|w| match w.chars().next() {
                Some('\'' | '"') => Token::Literal,
                Some(c @ ('(' | ')' | ',' | ';')) => Token::Punct(c),
                _ => Token::Word(w.to_lowercase()),
            })
            .collect()
    }

    fn flagged(sql: &str) -> Option<String> {
        destructive(&tokens(sql))
    }

    #[test]
    fn flags_destructive_statements() {
        for (sql, why) in [
            ("drop table public.leads", "drop table"),
            ("drop schema crm cascade", "drop schema"),
            ("drop materialized view v", "drop materialized"),
            ("alter table t drop column c", "drop column"),
            ("alter table t drop c", "drop column"),
            (
                "alter table t alter column c type bigint",
                "column type change",
            ),
            (
                "alter table t alter c set data type bigint",
                "column type change",
            ),
            (
                "alter table t alter column c set not null",
                "set not null on an existing column",
            ),
            ("truncate t", "truncate"),
            ("delete from t", "delete without where"),
            ("drop function f() cascade", "drop ... cascade"),
            ("alter table \"x;y\" drop column c", "drop column"),
            (
                "alter table t add column d int, drop column c",
                "drop column",
            ),
        ] {
            assert_eq!(flagged(sql).as_deref(), Some(why), "{sql}");
        }
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
            "alter table t add column \"drop\" text",
            "alter table t add constraint k check (a is not null and (b) is not null)",
            "drop policy p on t",
            "drop function f(int)",
            "drop index i",
            "delete from t where id = 1",
            "create table t (id int not null, kind text)",
            "comment on table t is 'drop'",
        ] {
            assert_eq!(flagged(sql), None, "{sql}");
        }
    }
}
