//! Rendering the model to PostgreSQL SQL. Names go through [`ident`], strings through
//! [`literal`], bodies through [`dollar_quote`]; nothing else turns text into SQL.

mod cron;
mod data;
mod enums;
mod function;
mod grant;
mod index;
mod policy;
mod publication;
mod role;
mod schema;
mod storage;
mod table;
mod trigger;
mod view;

use crate::model::*;
use crate::quote::{dollar_quote, ident, literal};
use crate::Error;

pub use cron::job_command;
pub use function::API_ROLES;

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

fn comment_on(kind: &str, target: &str, text: &Option<String>) -> Result<String, Error> {
    match text {
        Some(t) => Ok(format!("comment on {kind} {target} is {};\n", literal(t)?)),
        None => Ok(String::new()),
    }
}

/// One change as SQL statements, each ending in `;` and a newline.
pub fn change(c: &Change) -> Result<String, Error> {
    Ok(match c {
        Change::CreateSchema(s) => schema::create_schema(s)?,
        Change::CreateExtension(e) => schema::create_extension(e)?,
        Change::CreateRole(r) => role::create_role(r)?,
        Change::CreateEnum(e) => enums::create_enum(e)?,
        Change::AddEnumValue { name: n, value } => enums::add_enum_value(n, value)?,
        Change::CreateTable(t) => table::create_table(t)?,
        Change::AddColumn { table, column } => table::add_column(table, column)?,
        Change::AddConstraint { table, constraint } => table::add_constraint(table, constraint)?,
        Change::CreatePartition(p) => table::create_partition(p)?,
        Change::CreateIndex(i) => index::create_index(i)?,
        Change::DropIndex { table, name: n } => index::drop_index(table, n)?,
        Change::CreateFunction(f) => function::create_function(f)?,
        Change::CreateTrigger(t) => trigger::create_trigger(t)?,
        Change::CreatePolicy(p) => policy::create_policy(p)?,
        Change::DropPolicy { table, name: n } => policy::drop_policy(table, n)?,
        Change::Grant(g) => grant::grant(g)?,
        Change::AddToPublication { publication, table } => {
            publication::add_table(publication, table)?
        }
        Change::DropFromPublication { publication, table } => {
            publication::drop_table(publication, table)?
        }
        Change::CreateView(v) => view::create_view(v)?,
        Change::CreateBucket(b) => storage::bucket(b)?,
        Change::Insert(i) => data::insert(i)?,
        Change::Schedule(job) => cron::schedule(job)?,
        Change::Unschedule(job) => cron::unschedule(job)?,
        Change::Statement(s) => format!("{};\n", s.trim_end().trim_end_matches(';')),
    })
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
    use super::table::{create_table, lint_ignore};
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
