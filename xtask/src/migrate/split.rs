//! Splits a migration file into statements exactly as the Supabase CLI 2.117.0 does
//! (`pkg/parser`: a character state machine, then `SplitAndTrim`), so the `statements` column we
//! write is the array the CLI would write for the same file.
//!
//! The CLI's splitter is a heuristic, not PostgreSQL's lexer, and its quirks are kept on purpose
//! (each was checked against the real CLI, see the tests): `(` ... `)` is one unit but nested
//! parentheses close at the first `)`; `BEGIN ATOMIC` bodies end at the first `end` even inside
//! a word (`legend`); a `$` always opens a dollar-quote tag, even after an identifier (`a$b$`);
//! backslashes are not escapes inside quotes. The migrator executes the file as PostgreSQL parses
//! it and uses these statements only for the ledger, error reports and drift checks.
//!
//! [`Statement::tokens`] reads one statement's keywords (deploy's plan classifies statements by
//! them); it is not a parser and does not split.

use std::ops::Range;

/// One statement of a migration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The text the CLI stores: the token without its trailing `;`, trimmed.
    pub text: String,
    /// Where `text` sits in the file (bytes).
    pub span: Range<usize>,
}

impl Statement {
    /// PostgreSQL sees nothing to run (only comments): it sends no CommandComplete for it.
    pub fn is_empty_for_server(&self) -> bool {
        skip_comments(&self.text).is_empty()
    }

    /// The first `n` words, lowercased, after leading comments (e.g. `["rollback", "to"]`).
    pub fn first_words(&self, n: usize) -> Vec<String> {
        skip_comments(&self.text)
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .filter(|w| !w.is_empty())
            .take(n)
            .map(str::to_ascii_lowercase)
            .collect()
    }

    /// The statement's tokens; empty when it holds only comments.
    pub fn tokens(&self) -> Vec<Token> {
        tokens(&self.text)
    }
}

/// A token of [`Statement::tokens`]: the engine's lint token, so the lints read the splitter's
/// tokens as they are.
pub use sql::lint::Token;

/// Tokens of `sql` past comments, quotes and dollar quotes; a `;` is a `Punct` like any other.
fn tokens(sql: &str) -> Vec<Token> {
    let b = sql.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if let Some(n) = comment_len(&sql[i..]) {
            i += n;
            continue;
        }
        match c {
            b'\'' | b'"' => {
                // `''` / `""` inside is an escaped quote; E'' backslashes are rare in migrations.
                let q = c;
                i += 1;
                while i < b.len() {
                    if b[i] == q {
                        if b.get(i + 1) == Some(&q) {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i += 1;
                tokens.push(Token::Literal);
            }
            b'$' => {
                let tag_end = sql[i + 1..]
                    .find(|ch: char| !(ch.is_alphanumeric() || ch == '_'))
                    .map(|n| i + 1 + n);
                match tag_end {
                    Some(e) if b[e] == b'$' => {
                        let tag = &sql[i..=e];
                        let body_start = e + 1;
                        i = sql[body_start..]
                            .find(tag)
                            .map_or(b.len(), |n| body_start + n + tag.len());
                        tokens.push(Token::Literal);
                    }
                    // `$1` parameters and the like.
                    _ => i += 1,
                }
            }
            _ if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 => {
                let ch = sql[i..].chars().next().unwrap_or(' ');
                if !(ch.is_alphanumeric() || ch == '_') {
                    tokens.push(Token::Punct(ch));
                    i += ch.len_utf8();
                    continue;
                }
                let end = sql[i..]
                    .find(|ch: char| !(ch.is_alphanumeric() || ch == '_' || ch == '$'))
                    .map_or(b.len(), |n| i + n);
                tokens.push(Token::Word(sql[i..end].to_ascii_lowercase()));
                i = end;
            }
            _ if c.is_ascii_whitespace() => i += 1,
            _ if c.is_ascii_digit() => {
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.') {
                    i += 1;
                }
                tokens.push(Token::Literal);
            }
            _ => {
                tokens.push(Token::Punct(c as char));
                i += 1;
            }
        }
    }
    tokens
}

/// Splits `sql` like `parser.SplitAndTrim`: statements that trim to nothing are dropped.
pub fn split(sql: &str) -> Vec<Statement> {
    let mut out = Vec::new();
    let mut push = |start: usize, end: usize| {
        let token = &sql[start..end];
        let trimmed_right = token.trim_end_matches(';');
        let text = trimmed_right.trim();
        if !text.is_empty() {
            let lead = trimmed_right.len() - trimmed_right.trim_start().len();
            let begin = start + lead;
            out.push(Statement {
                text: text.to_string(),
                span: begin..begin + text.len(),
            });
        }
    };
    let mut state = State::Ready;
    let mut start = 0;
    for (i, c) in sql.char_indices() {
        let end = i + c.len_utf8();
        match state.next(c, &sql.as_bytes()[start..end]) {
            Some(next) => state = next,
            None => {
                push(start, end);
                start = end;
                state = State::Ready;
            }
        }
    }
    if start < sql.len() {
        push(start, sql.len());
    }
    out
}

/// The CLI tokenizer's states; `next` returns `None` to emit the token ending at this character.
/// `data` is the current token up to and including `c`.
#[derive(Debug, Clone)]
enum State {
    Ready,
    /// Saw one `-`.
    Comment,
    /// Saw `/`; inside a block comment once `depth > 0`.
    Block {
        depth: u32,
    },
    Quote {
        delimiter: char,
        escape: bool,
    },
    /// Inside a dollar-quoted string or a `--` comment (delimiter `\n`).
    Dollar {
        delimiter: Vec<u8>,
    },
    /// Saw `$` at `offset` of the token; reading a tag.
    Tag {
        offset: usize,
    },
    /// Saw `\`: the next character is skipped.
    Escape,
    /// Inside `( ... )` or `BEGIN ATOMIC ... END`: `;` does not split.
    Atomic {
        prev: Box<State>,
        delimiter: &'static [u8],
    },
}

impl State {
    /// Whether `next` may return `None` (emit). Units, dollar quotes and escapes never do: each
    /// of their steps returns a state.
    fn can_emit(&self) -> bool {
        !matches!(
            self,
            State::Atomic { .. } | State::Dollar { .. } | State::Escape
        )
    }

    fn next(self, c: char, data: &[u8]) -> Option<State> {
        match self {
            State::Ready => ready_next(c, data),
            State::Comment => {
                if c == '-' {
                    Some(State::Dollar {
                        delimiter: b"\n".to_vec(),
                    })
                } else {
                    ready_next(c, data)
                }
            }
            State::Block { mut depth } => {
                let window = &data[data.len().saturating_sub(2)..];
                if window == b"/*" {
                    depth += 1;
                    return Some(State::Block { depth });
                }
                if depth == 0 {
                    return ready_next(c, data);
                }
                if window == b"*/" {
                    depth -= 1;
                    if depth == 0 {
                        return Some(State::Ready);
                    }
                }
                Some(State::Block { depth })
            }
            State::Quote { delimiter, escape } => {
                if escape {
                    // A doubled quote ('') stays inside the string.
                    if c == delimiter {
                        return Some(State::Quote {
                            delimiter,
                            escape: false,
                        });
                    }
                    return ready_next(c, data);
                }
                Some(State::Quote {
                    delimiter,
                    escape: c == delimiter,
                })
            }
            State::Dollar { delimiter } => {
                if data.ends_with(&delimiter) {
                    Some(State::Ready)
                } else {
                    Some(State::Dollar { delimiter })
                }
            }
            State::Tag { offset } => {
                if c == '$' {
                    return Some(State::Dollar {
                        delimiter: data[offset..].to_vec(),
                    });
                }
                if is_identifier_char(c) {
                    return Some(State::Tag { offset });
                }
                ready_next(c, data)
            }
            State::Escape => Some(State::Ready),
            State::Atomic { prev, delimiter } => {
                // A `;` (emit) inside the unit leaves the inner state as it was, so a state that
                // can emit is stepped on a copy. The others are stepped in place: copying a
                // nested unit on every character made deep nesting quadratic.
                let (stepped, kept) = if prev.can_emit() {
                    (prev.clone().next(c, data), Some(prev))
                } else {
                    ((*prev).next(c, data), None)
                };
                let prev = match stepped {
                    // A unit opened inside a unit with the same delimiter closes at the same
                    // character as it (both at the first `)`), so it stands for both: keeping
                    // one keeps `((((` linear instead of one nested state per `(`.
                    Some(State::Atomic {
                        prev: inner,
                        delimiter: d,
                    }) if d == delimiter => {
                        return Some(State::Atomic {
                            prev: inner,
                            delimiter,
                        })
                    }
                    Some(curr) => Box::new(curr),
                    None => kept.expect("only a state that can emit returns None"),
                };
                if matches!(*prev, State::Ready) && ends_with_ignore_case(data, delimiter) {
                    return Some(State::Ready);
                }
                Some(State::Atomic { prev, delimiter })
            }
        }
    }
}

fn ready_next(c: char, data: &[u8]) -> Option<State> {
    Some(match c {
        '$' => State::Tag {
            offset: data.len() - 1,
        },
        '\'' | '"' => State::Quote {
            delimiter: c,
            escape: false,
        },
        '-' => State::Comment,
        '/' => State::Block { depth: 0 },
        '\\' => State::Escape,
        ';' => return None,
        '(' => State::Atomic {
            prev: Box::new(State::Ready),
            delimiter: b")",
        },
        'c' | 'C' if is_begin_atomic(data) => State::Atomic {
            prev: Box::new(State::Ready),
            delimiter: b"END",
        },
        _ => State::Ready,
    })
}

/// `data` ends with `BEGIN <whitespace> ATOMIC`, both whole words.
fn is_begin_atomic(data: &[u8]) -> bool {
    const ATOMIC: &[u8] = b"ATOMIC";
    if !ends_with_ignore_case(data, ATOMIC) {
        return false;
    }
    let offset = data.len() - ATOMIC.len();
    if identifier_char_before(data, offset) {
        return false;
    }
    let prefix = trim_end_whitespace(&data[..offset]);
    if !ends_with_ignore_case(prefix, b"BEGIN") {
        return false;
    }
    let offset = prefix.len() - b"BEGIN".len();
    offset == 0 || !identifier_char_before(prefix, offset)
}

/// Go's `unicode.IsLetter || unicode.IsDigit || '_' || '$'` (Rust's Unicode classes differ only
/// for exotic characters).
fn is_identifier_char(c: char) -> bool {
    c.is_alphabetic() || c.is_numeric() || c == '_' || c == '$'
}

fn identifier_char_before(data: &[u8], offset: usize) -> bool {
    last_char(&data[..offset]).is_some_and(is_identifier_char)
}

fn last_char(bytes: &[u8]) -> Option<char> {
    // Tokens always end on a character boundary; step back over continuation bytes.
    let mut i = bytes.len();
    while i > 0 {
        i -= 1;
        if bytes[i] & 0xC0 != 0x80 {
            return std::str::from_utf8(&bytes[i..]).ok()?.chars().next();
        }
    }
    None
}

fn trim_end_whitespace(mut bytes: &[u8]) -> &[u8] {
    while let Some(c) = last_char(bytes) {
        if !c.is_whitespace() {
            break;
        }
        bytes = &bytes[..bytes.len() - c.len_utf8()];
    }
    bytes
}

fn ends_with_ignore_case(data: &[u8], word: &[u8]) -> bool {
    data.len() >= word.len() && data[data.len() - word.len()..].eq_ignore_ascii_case(word)
}

/// `sql` without leading whitespace and comments (`--` lines, nested `/* */`).
fn skip_comments(mut sql: &str) -> &str {
    loop {
        sql = sql.trim_start();
        match comment_len(sql) {
            Some(n) => sql = &sql[n..],
            None => return sql,
        }
    }
}

/// The length of the comment `sql` starts with (a `--` line with its newline, or a nested
/// `/* */`); an unterminated comment runs to the end.
fn comment_len(sql: &str) -> Option<usize> {
    if let Some(rest) = sql.strip_prefix("--") {
        return Some(rest.find('\n').map_or(sql.len(), |i| i + 3));
    }
    if !sql.starts_with("/*") {
        return None;
    }
    let bytes = sql.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i + 1 < bytes.len() {
        match &bytes[i..i + 2] {
            b"/*" => {
                depth += 1;
                i += 2;
            }
            b"*/" => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => i += 1,
        }
    }
    Some(sql.len())
}

#[cfg(test)]
mod tests {
    use super::split;

    fn texts(sql: &str) -> Vec<String> {
        split(sql).into_iter().map(|s| s.text).collect()
    }

    // Nested units close together at the first `)`, as the CLI's do; deep nesting keeps one
    // state (the fuzz target met inputs of thousands of `(`).
    #[test]
    fn nested_parentheses_close_at_the_first_one_however_deep() {
        let deep = format!(
            "select {}1;2{}; select 3;",
            "(".repeat(5000),
            ")".repeat(5000)
        );
        assert_eq!(
            texts(&deep),
            [
                format!("select {}1;2{}", "(".repeat(5000), ")".repeat(5000)),
                "select 3".to_string()
            ]
        );
        assert_eq!(
            texts("select ((1); 2); select 3"),
            ["select ((1)", "2)", "select 3"]
        );
    }

    // Found by the migration_split fuzz target: Go's strings.TrimSpace, which the CLI trims
    // with, trims Unicode whitespace (vertical tab, NEL, no-break space), and so do we.
    #[test]
    fn statements_are_trimmed_of_unicode_whitespace_as_go_trims_them() {
        assert_eq!(
            texts("\u{b}select 1\u{b};\u{85}select 2\u{a0};\u{b}"),
            ["select 1", "select 2"]
        );
    }

    // Expected arrays are what `supabase db push` (CLI 2.117.0) stored in
    // `schema_migrations.statements` for the same input.
    #[test]
    fn matches_the_cli_on_quotes_comments_and_bodies() {
        let sql = "-- leading comment
create table t1 (id int primary key, note text default 'a;b');

/* block ; comment /* nested ; */ still */
create function f1() returns int language sql as $$ select 1; $$;
create function f2() returns int language plpgsql as $body$
begin
  return 2; -- ; inside
end;
$body$;
select 1 as xatomic; select 2 as \"q;uote\";
create function f3() returns int language sql
begin atomic
  select 1;
  select 2;
end;
select (1); select ((1)+2); select 5;
insert into t1 values (1, 'it''s; ok');;
select 3 as atomic; select 4;
-- trailing comment
";
        assert_eq!(
            texts(sql),
            [
                "-- leading comment\ncreate table t1 (id int primary key, note text default 'a;b')",
                "/* block ; comment /* nested ; */ still */\ncreate function f1() returns int language sql as $$ select 1; $$",
                "create function f2() returns int language plpgsql as $body$\nbegin\n  return 2; -- ; inside\nend;\n$body$",
                "select 1 as xatomic",
                "select 2 as \"q;uote\"",
                "create function f3() returns int language sql\nbegin atomic\n  select 1;\n  select 2;\nend",
                "select (1)",
                "select ((1)+2)",
                "select 5",
                "insert into t1 values (1, 'it''s; ok')",
                "select 3 as atomic",
                "select 4",
                "-- trailing comment",
            ]
        );
    }

    #[test]
    fn matches_the_cli_on_its_quirks() {
        // Nested parentheses close at the first `)`.
        assert_eq!(texts("select ((1);2);"), ["select ((1)", "2)"]);
        // `$` after an identifier still opens a tag, which never closes here.
        assert_eq!(
            texts("create table t2 (a$b$ int); select 8;\n"),
            ["create table t2 (a$b$ int); select 8;"]
        );
        // BEGIN ATOMIC needs whole words; END does not.
        assert_eq!(
            texts("create table t (xbegin int); select xbegin atomic from t; select 2;\n"),
            [
                "create table t (xbegin int)",
                "select xbegin atomic from t",
                "select 2"
            ]
        );
        assert_eq!(
            texts("select 1 as beginatomic; select 2;\n"),
            ["select 1 as beginatomic", "select 2"]
        );
        assert_eq!(
            texts("select 1 as x$begin atomic; select 2;\n"),
            ["select 1 as x$begin atomic", "select 2"]
        );
        assert_eq!(
            texts("create function f5() returns int language sql begin atomic select 1 as a_end; end; select 11;\n"),
            [
                "create function f5() returns int language sql begin atomic select 1 as a_end",
                "end",
                "select 11"
            ]
        );
        // A non-letter after `$` ends the tag.
        assert_eq!(
            texts("select $€$a;b$€$; select 2;\n"),
            ["select $€$a", "b$€$", "select 2"]
        );
        // Empty statements vanish; comment-only ones stay.
        assert_eq!(
            texts("-- a\n;\n/* b */;\n\n;select 1;;  \n\n"),
            ["-- a", "/* b */", "select 1"]
        );
        assert!(texts("").is_empty());
        assert!(texts(";\n").is_empty());
    }

    #[test]
    fn spans_point_into_the_file() {
        let sql = "select 1;\n\n  select 2 ;\n";
        let stmts = split(sql);
        assert_eq!(&sql[stmts[1].span.clone()], "select 2");
        assert_eq!(stmts[1].span.start, 13);
    }

    #[test]
    fn comment_only_statements_are_empty_for_the_server() {
        let stmts = split("-- a\n/* b /* c */ */ select 1; -- tail\n");
        assert!(!stmts[0].is_empty_for_server());
        assert!(stmts[1].is_empty_for_server());
        assert_eq!(stmts[0].first_words(2), ["select", "1"]);
        assert!(stmts[1].tokens().is_empty());
    }

    #[test]
    fn tokens_skip_comments_and_keep_quoted_text_out_of_words() {
        use super::Token::{Literal, Punct, Word};
        let stmt = &split(
            "-- drop table a;\n/* b /* c */ */ Select 'drop; x', \"T;\", $q$ drop $q$, $1, 2.5e3, \
             a$b from t /* unterminated",
        )[0];
        let word = |w: &str| Word(w.into());
        assert_eq!(
            stmt.tokens(),
            [
                word("select"),
                Literal,
                Punct(','),
                Literal,
                Punct(','),
                Literal,
                Punct(','),
                Literal,
                Punct(','),
                Literal,
                Punct(','),
                word("a$b"),
                word("from"),
                word("t"),
            ]
        );
        // A BEGIN ATOMIC body is one statement; its `;` are tokens.
        let stmt =
            &split("create function f() returns int language sql begin atomic select 1; end;")[0];
        assert!(stmt.tokens().contains(&Punct(';')));
    }
}
