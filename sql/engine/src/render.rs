//! Rendering the model to PostgreSQL SQL. Names go through [`ident`], strings through
//! [`literal`], bodies through [`dollar_quote`]; nothing else turns text into SQL.

use crate::model::*;
use crate::quote::{dollar_quote, ident, literal};
use crate::Error;

/// The roles execute is revoked from before a function's own grants: `public` covers every
/// role, the others because Supabase's default privileges grant them execute explicitly.
pub const API_ROLES: &[&str] = &["anon", "authenticated", "service_role"];

pub fn name(n: &Name) -> Result<String, Error> {
    Ok(format!("{}.{}", ident(&n.schema)?, ident(&n.name)?))
}

fn idents(names: &[String]) -> Result<String, Error> {
    Ok(names
        .iter()
        .map(|n| ident(n))
        .collect::<Result<Vec<_>, _>>()?
        .join(", "))
}

fn roles(names: &[String]) -> Result<String, Error> {
    names
        .iter()
        .map(|r| {
            if r == "public" {
                Ok("public".to_string())
            } else {
                ident(r)
            }
        })
        .collect::<Result<Vec<_>, _>>()
        .map(|v| v.join(", "))
}

pub fn sql_type(ty: &SqlType) -> Result<String, Error> {
    Ok(match ty {
        SqlType::Uuid => "uuid".into(),
        SqlType::Text => "text".into(),
        SqlType::Integer => "integer".into(),
        SqlType::BigInt => "bigint".into(),
        SqlType::SmallInt => "smallint".into(),
        SqlType::Boolean => "boolean".into(),
        SqlType::Numeric { precision, scale } => format!("numeric({precision},{scale})"),
        SqlType::AnyNumeric => "numeric".into(),
        SqlType::Timestamptz => "timestamp with time zone".into(),
        SqlType::Date => "date".into(),
        SqlType::Interval => "interval".into(),
        SqlType::Jsonb => "jsonb".into(),
        SqlType::Bytea => "bytea".into(),
        SqlType::Inet => "inet".into(),
        SqlType::Enum(n) => name(n)?,
        SqlType::Geography { shape, srid } => {
            format!("extensions.geography({},{srid})", shape.as_str())
        }
        SqlType::Array(inner) => format!("{}[]", sql_type(inner)?),
    })
}

pub fn expr(e: &Expr) -> Result<String, Error> {
    Ok(match e {
        Expr::Sql(s) => s.to_string(),
        Expr::Text(s) => literal(s)?,
        Expr::Int(i) => i.to_string(),
        Expr::Bool(b) => b.to_string(),
        Expr::Null => "null".into(),
        Expr::Column(c) => ident(c)?,
        Expr::Call(n, args) => format!(
            "{}({})",
            name(n)?,
            args.iter()
                .map(expr)
                .collect::<Result<Vec<_>, _>>()?
                .join(", ")
        ),
        Expr::Cast(inner, ty) => format!("{}::{}", expr(inner)?, sql_type(ty)?),
        Expr::Select(inner) => format!("(select {})", expr(inner)?),
        Expr::Eq(a, b) => format!("{} = {}", expr(a)?, expr(b)?),
        Expr::And(items) => join_bool(items, " and ")?,
        Expr::Or(items) => join_bool(items, " or ")?,
        Expr::Not(inner) => format!("not ({})", expr(inner)?),
    })
}

fn join_bool(items: &[Expr], op: &str) -> Result<String, Error> {
    let parts = items
        .iter()
        .map(|i| expr(i).map(|s| format!("({s})")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(parts.join(op))
}

/// The waiver of a column as two comment lines (the reason, then squawk's ignore comment, which
/// covers the next line), each followed by `indent`; empty without a waiver.
fn lint_ignore(c: &Column, indent: &str) -> Result<String, Error> {
    let Some(w) = &c.lint_ignore else {
        return Ok(String::new());
    };
    let what = || format!("squawk waiver on column {}", c.name);
    if w.rule.is_empty()
        || !w
            .rule
            .chars()
            .all(|ch| ch.is_ascii_lowercase() || ch == '-')
    {
        return Err(Error::Invalid {
            what: what(),
            reason: "a squawk rule name is lowercase letters and dashes",
        });
    }
    // A line break would end the comment and turn the rest of the reason into SQL.
    if w.reason.trim().is_empty() || w.reason.contains(['\n', '\r']) {
        return Err(Error::Invalid {
            what: what(),
            reason: "the reason must be one non-empty line",
        });
    }
    Ok(format!(
        "-- {}\n{indent}-- squawk-ignore {}\n{indent}",
        w.reason, w.rule
    ))
}

fn column_def(c: &Column) -> Result<String, Error> {
    let mut s = format!("{} {}", ident(&c.name)?, sql_type(&c.ty)?);
    if c.identity {
        s.push_str(" generated always as identity");
    }
    if c.not_null {
        s.push_str(" not null");
    }
    if let Some(d) = &c.default {
        s.push_str(&format!(" default {}", expr(d)?));
    }
    Ok(s)
}

fn constraint_def(c: &Constraint) -> Result<String, Error> {
    let body = match &c.kind {
        ConstraintKind::PrimaryKey(cols) => format!("primary key ({})", idents(cols)?),
        ConstraintKind::Unique(cols) => format!("unique ({})", idents(cols)?),
        ConstraintKind::UniqueNullsNotDistinct(cols) => {
            format!("unique nulls not distinct ({})", idents(cols)?)
        }
        ConstraintKind::ForeignKey {
            columns,
            references,
            ref_columns,
            on_delete,
        } => {
            let action = match on_delete {
                OnDelete::NoAction => "",
                OnDelete::Restrict => " on delete restrict",
                OnDelete::Cascade => " on delete cascade",
                OnDelete::SetNull => " on delete set null",
            };
            format!(
                "foreign key ({}) references {} ({}){action}",
                idents(columns)?,
                name(references)?,
                idents(ref_columns)?
            )
        }
        ConstraintKind::Check(e) => format!("check ({})", expr(e)?),
    };
    Ok(format!("constraint {} {body}", ident(&c.name)?))
}

fn comment_on(kind: &str, target: &str, text: &Option<String>) -> Result<String, Error> {
    match text {
        Some(t) => Ok(format!("comment on {kind} {target} is {};\n", literal(t)?)),
        None => Ok(String::new()),
    }
}

fn create_table(t: &Table) -> Result<String, Error> {
    let tn = name(&t.name)?;
    let mut lines = Vec::new();
    for c in &t.columns {
        lines.push(format!("{}{}", lint_ignore(c, "  ")?, column_def(c)?));
    }
    for c in &t.constraints {
        lines.push(constraint_def(c)?);
    }
    let mut s = format!("create table {tn} (\n  {}\n)", lines.join(",\n  "));
    if let Some(PartitionBy::Range(cols)) = &t.partition_by {
        s.push_str(&format!(" partition by range ({})", idents(cols)?));
    }
    s.push_str(";\n");
    s.push_str(&format!("alter table {tn} enable row level security;\n"));
    s.push_str(&comment_on("table", &tn, &t.comment)?);
    for c in &t.columns {
        s.push_str(&comment_on(
            "column",
            &format!("{tn}.{}", ident(&c.name)?),
            &c.comment,
        )?);
    }
    Ok(s)
}

fn signature(n: &Name, types: &[SqlType]) -> Result<String, Error> {
    Ok(format!(
        "{}({})",
        name(n)?,
        types
            .iter()
            .map(sql_type)
            .collect::<Result<Vec<_>, _>>()?
            .join(", ")
    ))
}

fn create_function(f: &Function) -> Result<String, Error> {
    let args = f
        .args
        .iter()
        .map(|a| {
            let mut s = format!("{} {}", ident(&a.name)?, sql_type(&a.ty)?);
            if let Some(d) = &a.default {
                s.push_str(&format!(" default {}", expr(d)?));
            }
            Ok(s)
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let args = if args.is_empty() {
        String::new()
    } else {
        format!("\n  {}\n", args.join(",\n  "))
    };
    let returns = match &f.returns {
        Returns::Type(t) => sql_type(t)?,
        Returns::Table(cols) => format!(
            "table ({})",
            cols.iter()
                .map(|(n, t)| Ok(format!("{} {}", ident(n)?, sql_type(t)?)))
                .collect::<Result<Vec<_>, Error>>()?
                .join(", ")
        ),
        Returns::Trigger => "trigger".into(),
        Returns::Void => "void".into(),
    };
    let language = match f.language {
        Language::Plpgsql => "plpgsql",
        Language::Sql => "sql",
    };
    let volatility = match f.volatility {
        Volatility::Immutable => "immutable",
        Volatility::Stable => "stable",
        Volatility::Volatile => "volatile",
    };
    let security = match f.security {
        Security::Invoker => "security invoker",
        Security::Definer => "security definer",
    };
    let sig = signature(&f.name, &f.signature())?;
    let mut s = format!(
        "create or replace function {}({args})\nreturns {returns}\nlanguage {language}\n{volatility}\n{security}\nset search_path = {FUNCTION_SEARCH_PATH}\nas {};\n",
        name(&f.name)?,
        dollar_quote(f.body)
    );
    let mut revoke_from = vec!["public".to_string()];
    revoke_from.extend(API_ROLES.iter().map(|r| r.to_string()));
    s.push_str(&format!(
        "revoke all on function {sig} from {};\n",
        roles(&revoke_from)?
    ));
    if !f.execute.is_empty() {
        s.push_str(&format!(
            "grant execute on function {sig} to {};\n",
            roles(&f.execute)?
        ));
    }
    s.push_str(&comment_on("function", &sig, &f.comment)?);
    Ok(s)
}

fn create_trigger(t: &Trigger) -> Result<String, Error> {
    let events = t
        .events
        .iter()
        .map(|e| {
            Ok(match e {
                Event::Insert => "insert".to_string(),
                Event::Update => "update".to_string(),
                Event::UpdateOf(cols) => format!("update of {}", idents(cols)?),
                Event::Delete => "delete".to_string(),
                Event::Truncate => "truncate".to_string(),
            })
        })
        .collect::<Result<Vec<_>, Error>>()?
        .join(" or ");
    let timing = match t.timing {
        Timing::Before => "before",
        Timing::After => "after",
    };
    if t.level == Level::RowAtCommit {
        if t.timing != Timing::After {
            return Err(Error::Invalid {
                what: format!("trigger {} on {}", t.name, t.table),
                reason: "a trigger deferred to commit runs after the row's change",
            });
        }
        return Ok(format!(
            "create constraint trigger {} after {events} on {}
  deferrable initially deferred
  for each row execute function {}({});
",
            ident(&t.name)?,
            name(&t.table)?,
            name(&t.function)?,
            t.args
                .iter()
                .map(|a| literal(a))
                .collect::<Result<Vec<_>, _>>()?
                .join(", ")
        ));
    }
    let (level, referencing) = match t.level {
        Level::Row | Level::RowAtCommit => ("row", String::new()),
        Level::Statement => ("statement", String::new()),
        Level::StatementWithRows => {
            let tables = match t.events.as_slice() {
                [Event::Insert] => "new table as new_rows",
                [Event::Update] => "old table as old_rows new table as new_rows",
                [Event::Delete] => "old table as old_rows",
                _ => {
                    return Err(Error::Invalid {
                        what: format!("trigger {} on {}", t.name, t.table),
                        reason: "transition tables need exactly one event: insert, update (without a column list) or delete",
                    })
                }
            };
            ("statement", format!("\n  referencing {tables}"))
        }
    };
    let args = t
        .args
        .iter()
        .map(|a| literal(a))
        .collect::<Result<Vec<_>, _>>()?
        .join(", ");
    Ok(format!(
        "create trigger {} {timing} {events} on {}{referencing}\n  for each {level} execute function {}({args});\n",
        ident(&t.name)?,
        name(&t.table)?,
        name(&t.function)?
    ))
}

fn create_policy(p: &Policy) -> Result<String, Error> {
    let mut s = format!(
        "create policy {} on {}\n  as {}\n  for {}\n  to {}",
        ident(&p.name)?,
        name(&p.table)?,
        if p.permissive {
            "permissive"
        } else {
            "restrictive"
        },
        p.command.as_str(),
        roles(&p.roles)?
    );
    if let Some(u) = &p.using {
        s.push_str(&format!("\n  using ({})", expr(u)?));
    }
    if let Some(w) = &p.with_check {
        s.push_str(&format!("\n  with check ({})", expr(w)?));
    }
    s.push_str(";\n");
    Ok(s)
}

fn grant(g: &Grant) -> Result<String, Error> {
    let privs: Vec<&str> = g.privileges.iter().map(|p| p.as_str()).collect();
    let privs = privs.join(", ");
    let (privs, object) = match &g.object {
        GrantObject::Table(t) => (privs, format!("table {}", name(t)?)),
        GrantObject::Columns(t, cols) => {
            let cols = idents(cols)?;
            let each: Vec<String> = g
                .privileges
                .iter()
                .map(|p| format!("{} ({cols})", p.as_str()))
                .collect();
            (each.join(", "), format!("table {}", name(t)?))
        }
        GrantObject::Schema(s) => (privs, format!("schema {}", ident(s)?)),
        GrantObject::Function(f, types) => (privs, format!("function {}", signature(f, types)?)),
    };
    let to = roles(&g.roles)?;
    Ok(if g.revoke {
        format!("revoke {privs} on {object} from {to};\n")
    } else {
        format!("grant {privs} on {object} to {to};\n")
    })
}

fn create_role(r: &Role) -> Result<String, Error> {
    let body = format!(
        "\nbegin\n  if not exists (select from pg_catalog.pg_roles where rolname = {}) then\n    create role {} {};\n  end if;\nend\n",
        literal(&r.name)?,
        ident(&r.name)?,
        if r.login { "login" } else { "nologin" }
    );
    let mut s = format!("do {};\n", dollar_quote(&body));
    for member in &r.member_of_granted_to {
        s.push_str(&format!(
            "grant {} to {};\n",
            ident(&r.name)?,
            ident(member)?
        ));
    }
    for parent in &r.inherits {
        s.push_str(&format!(
            "grant {} to {};\n",
            ident(parent)?,
            ident(&r.name)?
        ));
    }
    Ok(s)
}

fn insert(i: &Insert) -> Result<String, Error> {
    let rows = i
        .rows
        .iter()
        .map(|r| {
            Ok(format!(
                "({})",
                r.iter()
                    .map(expr)
                    .collect::<Result<Vec<_>, _>>()?
                    .join(", ")
            ))
        })
        .collect::<Result<Vec<_>, Error>>()?;
    // Without a target, any unique conflict (e.g. a partial unique index) skips the row.
    let target = if i.conflict_target.is_empty() {
        String::new()
    } else {
        format!("({}) ", idents(&i.conflict_target)?)
    };
    Ok(format!(
        "insert into {} ({}) values\n  {}\non conflict {target}do nothing;\n",
        name(&i.table)?,
        idents(&i.columns)?,
        rows.join(",\n  "),
    ))
}

fn bucket(b: &Bucket) -> Result<String, Error> {
    let limit = match b.file_size_limit {
        Some(l) => l.to_string(),
        None => "null".into(),
    };
    let mimes = if b.allowed_mime_types.is_empty() {
        "null".to_string()
    } else {
        format!(
            "array[{}]",
            b.allowed_mime_types
                .iter()
                .map(|m| literal(m))
                .collect::<Result<Vec<_>, _>>()?
                .join(", ")
        )
    };
    let id = literal(&b.id)?;
    Ok(format!(
        "insert into storage.buckets (id, name, public, file_size_limit, allowed_mime_types)\n  values ({id}, {id}, {}, {limit}, {mimes})\n  on conflict (id) do update set public = excluded.public, file_size_limit = excluded.file_size_limit, allowed_mime_types = excluded.allowed_mime_types;\n",
        b.public
    ))
}

/// One change as SQL statements, each ending in `;` and a newline.
pub fn change(c: &Change) -> Result<String, Error> {
    Ok(match c {
        Change::CreateSchema(s) => format!("create schema if not exists {};\n", ident(s)?),
        Change::CreateExtension(e) => format!(
            "create extension if not exists {} with schema {};\n",
            ident(&e.name)?,
            ident(&e.schema)?
        ),
        Change::CreateRole(r) => create_role(r)?,
        Change::CreateEnum(e) => format!(
            "create type {} as enum ({});\n",
            name(&e.name)?,
            e.values
                .iter()
                .map(|v| literal(v))
                .collect::<Result<Vec<_>, _>>()?
                .join(", ")
        ),
        Change::AddEnumValue { name: n, value } => {
            format!(
                "alter type {} add value if not exists {};\n",
                name(n)?,
                literal(value)?
            )
        }
        Change::CreateTable(t) => create_table(t)?,
        Change::AddColumn { table, column } => {
            let tn = name(table)?;
            let mut s = format!(
                "{}alter table {tn} add column {};\n",
                lint_ignore(column, "")?,
                column_def(column)?
            );
            s.push_str(&comment_on(
                "column",
                &format!("{tn}.{}", ident(&column.name)?),
                &column.comment,
            )?);
            s
        }
        Change::AddConstraint { table, constraint } => {
            format!(
                "alter table {} add {};\n",
                name(table)?,
                constraint_def(constraint)?
            )
        }
        Change::CreatePartition(p) => {
            let bound = match &p.bound {
                PartitionBound::Default => "default".to_string(),
                PartitionBound::Range { from, to } => {
                    format!("for values from ({}) to ({})", literal(from)?, literal(to)?)
                }
            };
            let pn = name(&p.name)?;
            format!(
                "create table {pn} partition of {} {bound};\nalter table {pn} enable row level security;\n",
                name(&p.parent)?
            )
        }
        Change::CreateIndex(i) => {
            let keys = i
                .keys
                .iter()
                .map(|k| {
                    Ok(match k {
                        IndexKey::Column(c) => ident(c)?,
                        IndexKey::Desc(c) => format!("{} desc", ident(c)?),
                        IndexKey::Expr(e) => format!("({})", expr(e)?),
                    })
                })
                .collect::<Result<Vec<_>, Error>>()?
                .join(", ");
            let mut s = format!(
                "create {}index {} on {}{} ({keys})",
                if i.unique { "unique " } else { "" },
                ident(&i.name)?,
                name(&i.table)?,
                if i.method == IndexMethod::Btree {
                    String::new()
                } else {
                    format!(" using {}", i.method.as_str())
                }
            );
            if let Some(p) = &i.predicate {
                s.push_str(&format!(" where {}", expr(p)?));
            }
            s.push_str(";\n");
            s
        }
        Change::DropIndex { table, name: n } => {
            format!(
                "drop index if exists {};\n",
                name(&Name::new(&table.schema, n))?
            )
        }
        Change::CreateFunction(f) => create_function(f)?,
        Change::CreateTrigger(t) => create_trigger(t)?,
        Change::CreatePolicy(p) => create_policy(p)?,
        Change::DropPolicy { table, name: n } => {
            format!("drop policy if exists {} on {};\n", ident(n)?, name(table)?)
        }
        Change::Grant(g) => grant(g)?,
        Change::AddToPublication { publication, table } => {
            format!(
                "alter publication {} add table {};\n",
                ident(publication)?,
                name(table)?
            )
        }
        Change::DropFromPublication { publication, table } => {
            format!(
                "alter publication {} drop table {};\n",
                ident(publication)?,
                name(table)?
            )
        }
        Change::CreateView(v) => {
            let opts = if v.security_invoker {
                " with (security_invoker = true)"
            } else {
                ""
            };
            format!(
                "create or replace view {}{opts} as\n{};\n",
                name(&v.name)?,
                v.query.trim_end()
            )
        }
        Change::CreateBucket(b) => bucket(b)?,
        Change::Insert(i) => insert(i)?,
        Change::Schedule(job) => schedule(job)?,
        // Removes the job where it exists; `cron.unschedule(name)` would fail where it does not.
        Change::Unschedule(job) => where_pg_cron(&format!(
            "perform cron.unschedule(j.jobid) from cron.job j where j.jobname = {} and j.username = current_user;",
            literal(job)?
        )),
        Change::Statement(s) => format!("{};\n", s.trim_end().trim_end_matches(';')),
    })
}

/// The SQL a job runs, as `cron.job.command` holds it.
pub fn job_command(job: &Job) -> Result<String, Error> {
    Ok(match &job.command {
        JobCommand::Sql(sql) => sql.trim().trim_end_matches(';').to_string(),
        JobCommand::CallFunction { function, body } => {
            let (schema, name) = CALL_EDGE_FUNCTION;
            format!(
                "select {}.{}({}, {}, {}::jsonb)",
                ident(schema)?,
                ident(name)?,
                literal(job.name)?,
                literal(function)?,
                literal(body.trim())?
            )
        }
    })
}

/// `cron.schedule` by name, as Supabase Cron does it: the job runs as the role that ran the
/// migration (`postgres`), in the database `cron.database_name` names.
fn schedule(job: &Job) -> Result<String, Error> {
    let command = job_command(job)?;
    Ok(where_pg_cron(&format!(
        "perform cron.schedule({}, {}, {});",
        literal(job.name)?,
        literal(job.schedule)?,
        dollar_quote(&command)
    )))
}

/// `statement` (PL/pgSQL) where pg_cron is installed. pg_cron lives in one database only, the one
/// `cron.database_name` names (hosted: `postgres`, the project's database); a migration applied
/// to any other database leaves its jobs out instead of failing.
fn where_pg_cron(statement: &str) -> String {
    let body = format!(
        "\nbegin\n  if exists (select from pg_catalog.pg_extension where extname = 'pg_cron') then\n    {statement}\n  end if;\nend\n"
    );
    format!("do {};\n", dollar_quote(&body))
}

/// The header every generated migration starts with.
pub const HEADER: &str = "-- generated by `cargo xtask generate` — do not edit";

/// Set first in every migration: a deploy that cannot get a lock within seconds fails and can be
/// retried, instead of queueing behind live traffic while every later query queues behind it;
/// no statement may run away either. Plain `set`, not `set local`, so it also holds when
/// `supabase db push` sends the file without a transaction block.
pub const TIMEOUTS: &str = "set lock_timeout = '5s';\nset statement_timeout = '5min';\n";

/// A whole release as one migration file.
pub fn release(r: &Release) -> Result<String, Error> {
    let mut s = format!(
        "{HEADER}\n-- {} {}: {}\n\n{TIMEOUTS}",
        r.version, r.name, r.summary
    );
    for c in &r.changes {
        s.push('\n');
        s.push_str(&change(c)?);
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_with_awkward_names() {
        let t = Table::new(Name::new("public", "a\"b"))
            .comment("O'Brien's table")
            .column(
                Column::new("id", SqlType::Uuid)
                    .not_null()
                    .default(Expr::Sql("gen_random_uuid()")),
            )
            .column(
                Column::new("timestamp", SqlType::Timestamptz)
                    .not_null()
                    .default(Expr::Sql("now()")),
            )
            .column(Column::new("note", SqlType::Text).default(Expr::text("it's")))
            .primary_key(&["id"])
            .check("note", Expr::Sql("length(note) < 10"));
        assert_eq!(
            change(&Change::CreateTable(t)).unwrap(),
            "create table public.\"a\"\"b\" (\n  id uuid not null default gen_random_uuid(),\n  \"timestamp\" timestamp with time zone not null default now(),\n  note text default 'it''s',\n  constraint \"a\"\"b_pkey\" primary key (id),\n  constraint \"a\"\"b_note_check\" check (length(note) < 10)\n);\nalter table public.\"a\"\"b\" enable row level security;\ncomment on table public.\"a\"\"b\" is 'O''Brien''s table';\n"
        );
    }

    #[test]
    fn function_with_dollars_in_body() {
        let f = Function::new(
            public("f"),
            Returns::Type(SqlType::Text),
            "\nbegin\n  return '$$' || $body$x$body$;\nend\n",
        )
        .arg(Arg::new("who", SqlType::Text).default(Expr::text("O'Brien")))
        .execute(&["service_role"]);
        assert_eq!(
            change(&Change::CreateFunction(f)).unwrap(),
            "create or replace function public.f(\n  who text default 'O''Brien'\n)\nreturns text\nlanguage plpgsql\nvolatile\nsecurity invoker\nset search_path = pg_catalog, pg_temp\nas $body1$\nbegin\n  return '$$' || $body$x$body$;\nend\n$body1$;\nrevoke all on function public.f(text) from public, anon, authenticated, service_role;\ngrant execute on function public.f(text) to service_role;\n"
        );
    }

    #[test]
    fn trigger_args_are_literals() {
        let t = Trigger {
            name: "audit".into(),
            table: public("t"),
            timing: Timing::After,
            events: vec![
                Event::Insert,
                Event::UpdateOf(vec!["role_id".into()]),
                Event::Delete,
            ],
            level: Level::Row,
            function: Name::new("private", "audit_row"),
            args: vec!["access'token".into()],
        };
        assert_eq!(
            change(&Change::CreateTrigger(t)).unwrap(),
            "create trigger audit after insert or update of role_id or delete on public.t\n  for each row execute function private.audit_row('access''token');\n"
        );
    }

    #[test]
    fn statement_triggers_with_transition_tables() {
        let t = |events: Vec<Event>| Trigger {
            name: "audit_update".into(),
            table: public("t"),
            timing: Timing::After,
            events,
            level: Level::StatementWithRows,
            function: Name::new("private", "audit_statement"),
            args: vec![],
        };
        assert_eq!(
            change(&Change::CreateTrigger(t(vec![Event::Update]))).unwrap(),
            "create trigger audit_update after update on public.t\n  referencing old table as old_rows new table as new_rows\n  for each statement execute function private.audit_statement();\n"
        );
        // PostgreSQL refuses transition tables on multi-event or column-list triggers; so does
        // the renderer, before a migration is written.
        for events in [
            vec![Event::Insert, Event::Delete],
            vec![Event::UpdateOf(vec!["a".into()])],
        ] {
            assert!(matches!(
                change(&Change::CreateTrigger(t(events))),
                Err(Error::Invalid { .. })
            ));
        }
    }

    #[test]
    fn policy_and_grants() {
        let p = Policy {
            name: "own \"rows\"".into(),
            table: public("users"),
            command: Command::Select,
            permissive: true,
            roles: vec!["authenticated".into()],
            using: Some(
                Expr::call("auth", "uid", vec![])
                    .select()
                    .eq(Expr::column("id")),
            ),
            with_check: None,
        };
        assert_eq!(
            change(&Change::CreatePolicy(p)).unwrap(),
            "create policy \"own \"\"rows\"\"\" on public.users\n  as permissive\n  for select\n  to authenticated\n  using ((select auth.uid()) = id);\n"
        );
        let g = Grant {
            privileges: vec![Privilege::Update],
            object: GrantObject::Columns(public("users"), vec!["full_name".into(), "phone".into()]),
            roles: vec!["authenticated".into()],
            revoke: false,
        };
        assert_eq!(
            change(&Change::Grant(g)).unwrap(),
            "grant update (full_name, phone) on table public.users to authenticated;\n"
        );
    }

    #[test]
    fn role_is_created_once() {
        let r = Role {
            name: "ai_agent".into(),
            login: false,
            member_of_granted_to: vec!["authenticator".into()],
            inherits: vec![],
        };
        assert_eq!(
            change(&Change::CreateRole(r)).unwrap(),
            "do $body$\nbegin\n  if not exists (select from pg_catalog.pg_roles where rolname = 'ai_agent') then\n    create role ai_agent nologin;\n  end if;\nend\n$body$;\ngrant ai_agent to authenticator;\n"
        );
    }

    #[test]
    fn bucket_and_seed_literals() {
        let b = Bucket {
            id: "project-media".into(),
            public: false,
            file_size_limit: Some(1024),
            allowed_mime_types: vec!["image/png".into()],
        };
        assert!(change(&Change::CreateBucket(b)).unwrap().contains(
            "values ('project-media', 'project-media', false, 1024, array['image/png'])"
        ));
        let i = Insert {
            table: public("roles"),
            columns: vec!["name".into()],
            rows: vec![vec![Expr::text("O'Brien")]],
            conflict_target: vec!["name".into()],
        };
        assert_eq!(
            change(&Change::Insert(i)).unwrap(),
            "insert into public.roles (name) values\n  ('O''Brien')\non conflict (name) do nothing;\n"
        );
    }

    #[test]
    fn a_squawk_waiver_sits_above_its_column_and_cannot_break_out_of_the_comment() {
        let c = Column::new("n", SqlType::Integer)
            .lint_ignore("prefer-bigint-over-int", "a position, not an id");
        let t = Table::new(public("t")).column(c.clone());
        assert!(create_table(&t).unwrap().starts_with(
            "create table public.t (\n  -- a position, not an id\n  -- squawk-ignore prefer-bigint-over-int\n  n integer\n)"
        ));
        let add = Change::AddColumn {
            table: public("t"),
            column: c,
        };
        assert!(change(&add).unwrap().starts_with(
            "-- a position, not an id\n-- squawk-ignore prefer-bigint-over-int\nalter table public.t add column n integer;"
        ));
        let injected = Column::new("n", SqlType::Integer)
            .lint_ignore("prefer-bigint-over-int", "x\ndrop table t");
        assert!(lint_ignore(&injected, "").is_err());
        let bad_rule = Column::new("n", SqlType::Integer).lint_ignore("rule; drop", "x");
        assert!(lint_ignore(&bad_rule, "").is_err());
    }

    #[test]
    fn jobs_are_scheduled_by_name_and_unscheduled_only_where_they_exist() {
        let sql_job = Job {
            name: "nightly-purge",
            schedule: "45 2 * * *",
            command: JobCommand::Sql("select private.purge();"),
            comment: "",
        };
        let guarded = |statement: &str| {
            format!("do $body1$\nbegin\n  if exists (select from pg_catalog.pg_extension where extname = 'pg_cron') then\n    {statement}\n  end if;\nend\n$body1$;\n")
        };
        assert_eq!(
            change(&Change::Schedule(sql_job)).unwrap(),
            guarded("perform cron.schedule('nightly-purge', '45 2 * * *', $body$select private.purge()$body$);")
        );
        let call = Job {
            name: "drain",
            schedule: "* * * * *",
            command: JobCommand::CallFunction {
                function: "process-render-request",
                body: r#"{"drain": true}"#,
            },
            comment: "",
        };
        assert_eq!(
            change(&Change::Schedule(call)).unwrap(),
            guarded("perform cron.schedule('drain', '* * * * *', $body$select private.call_edge_function('drain', 'process-render-request', '{\"drain\": true}'::jsonb)$body$);")
        );
        assert_eq!(
            change(&Change::Unschedule("drain")).unwrap(),
            "do $body$\nbegin\n  if exists (select from pg_catalog.pg_extension where extname = 'pg_cron') then\n    perform cron.unschedule(j.jobid) from cron.job j where j.jobname = 'drain' and j.username = current_user;\n  end if;\nend\n$body$;\n"
        );
    }
}
