//! The database the migrations build is exactly the model: after applying every migration to a
//! throwaway database, the catalog is read back and compared with the fold of the releases.
//! Any difference fails with a readable diff (missing in the database / not in the model).

use std::collections::BTreeSet;

use moha_tests::cluster;
use postgres::Client;
use sql::describe::{self, Style};
use sql::model::*;
use sql::{render, Catalog};

/// Roles whose execute rights on our functions the test compares.
const API_ROLES: &[&str] = &["anon", "authenticated", "service_role", "ai_agent"];

fn model() -> Catalog {
    Catalog::from_releases(&sql::moha::releases()).expect("the model folds")
}

fn trigger_def(t: &Trigger) -> String {
    // pg_get_triggerdef's spelling: events in the order insert, delete, update, truncate.
    let mut events = Vec::new();
    for want in ["INSERT", "DELETE", "UPDATE", "TRUNCATE"] {
        for e in &t.events {
            match (want, e) {
                ("INSERT", Event::Insert)
                | ("DELETE", Event::Delete)
                | ("UPDATE", Event::Update)
                | ("TRUNCATE", Event::Truncate) => events.push(want.to_string()),
                ("UPDATE", Event::UpdateOf(cols)) => {
                    events.push(format!("UPDATE OF {}", cols.join(", ")))
                }
                _ => {}
            }
        }
    }
    let args: Vec<String> = t
        .args
        .iter()
        .map(|a| format!("'{}'", a.replace('\'', "''")))
        .collect();
    let referencing = match (t.level, events.as_slice()) {
        (Level::StatementWithRows, [e]) if e == "INSERT" => "REFERENCING NEW TABLE AS new_rows ",
        (Level::StatementWithRows, [e]) if e == "DELETE" => "REFERENCING OLD TABLE AS old_rows ",
        (Level::StatementWithRows, _) => "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows ",
        _ => "",
    };
    if t.level == Level::RowAtCommit {
        return format!(
            "CREATE CONSTRAINT TRIGGER {} AFTER {} ON {} DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {}({})",
            t.name,
            events.join(" OR "),
            render::name(&t.table).unwrap(),
            render::name(&t.function).unwrap(),
            args.join(", ")
        );
    }
    format!(
        "CREATE TRIGGER {} {} {} ON {} {referencing}FOR EACH {} EXECUTE FUNCTION {}({})",
        t.name,
        if t.timing == Timing::Before {
            "BEFORE"
        } else {
            "AFTER"
        },
        events.join(" OR "),
        render::name(&t.table).unwrap(),
        if t.level == Level::Row {
            "ROW"
        } else {
            "STATEMENT"
        },
        render::name(&t.function).unwrap(),
        args.join(", ")
    )
}

fn model_facts(m: &Catalog) -> BTreeSet<String> {
    let mut f = BTreeSet::new();
    for s in &m.schemas {
        f.insert(format!("schema {s}"));
    }
    for e in &m.extensions {
        f.insert(format!("extension {} in {}", e.name, e.schema));
    }
    for r in &m.roles {
        f.insert(format!("role {} login={}", r.name, r.login));
        for g in &r.member_of_granted_to {
            f.insert(format!("role {} granted to {g}", r.name));
        }
        for parent in &r.inherits {
            f.insert(format!("role {} inherits {parent}", r.name));
        }
    }
    for e in &m.enums {
        f.insert(format!("enum {}: {}", e.name, e.values.join(", ")));
    }
    for t in &m.tables {
        f.insert(format!(
            "table {} rls=true partitioned={}",
            t.name,
            t.partition_by.is_some()
        ));
        for c in &t.columns {
            f.insert(format!(
                "column {}.{}: {}",
                t.name,
                c.name,
                describe::column(c).unwrap()
            ));
        }
        for c in &t.constraints {
            let what = describe::constraint(&c.kind, Style::SHAPE).unwrap();
            f.insert(format!("constraint {}.{}: {what}", t.name, c.name));
        }
    }
    for p in &m.partitions {
        let bound = match &p.bound {
            PartitionBound::Default => "DEFAULT".to_string(),
            PartitionBound::Range { from, to } => format!("FOR VALUES FROM ('{from}') TO ('{to}')"),
        };
        f.insert(format!(
            "partition {} of {}: {bound} rls=true",
            p.name, p.parent
        ));
    }
    for i in &m.indexes {
        f.insert(format!(
            "index {}.{}: {} partial={}",
            i.table.schema,
            i.name,
            describe::index(i, Style::SHAPE).unwrap(),
            i.predicate.is_some()
        ));
    }
    for func in &m.functions {
        let args: Vec<String> = func
            .args
            .iter()
            .map(|a| render::sql_type(&a.ty).unwrap())
            .collect();
        let returns = match &func.returns {
            Returns::Type(t) => render::sql_type(t).unwrap(),
            Returns::Table(cols) => format!(
                "TABLE({})",
                cols.iter()
                    .map(|(n, t)| format!("{n} {}", render::sql_type(t).unwrap()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Returns::Trigger => "trigger".into(),
            Returns::Void => "void".into(),
        };
        let lang = match func.language {
            Language::Plpgsql => "plpgsql",
            Language::Sql => "sql",
        };
        let vol = match func.volatility {
            Volatility::Immutable => "immutable",
            Volatility::Stable => "stable",
            Volatility::Volatile => "volatile",
        };
        let mut exec: Vec<&str> = API_ROLES
            .iter()
            .copied()
            .filter(|r| func.execute.iter().any(|e| e == r))
            .collect();
        exec.sort();
        f.insert(format!(
            "function {}({}) returns {returns} language {lang} {vol} definer={} config=search_path={FUNCTION_SEARCH_PATH} execute=[{}]",
            func.name,
            args.join(", "),
            func.security == Security::Definer,
            exec.join(", ")
        ));
    }
    for t in &m.triggers {
        f.insert(format!("trigger {}: {}", t.table, trigger_def(t)));
    }
    for p in &m.policies {
        f.insert(format!(
            "policy {}.{}: {} {} to {}",
            p.table,
            p.name,
            if p.permissive {
                "permissive"
            } else {
                "restrictive"
            },
            p.command.as_str(),
            p.roles.join(", ")
        ));
    }
    for (p, t) in &m.publications {
        f.insert(format!("publication {p}: {t}"));
    }
    f
}

fn strings(db: &mut Client, query: &str) -> Vec<String> {
    db.query(query, &[])
        .unwrap_or_else(|e| panic!("{e}\n{query}"))
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect()
}

fn database_facts(db: &mut Client, m: &Catalog) -> BTreeSet<String> {
    // With an empty search_path, format_type and pg_get_expr qualify every name.
    db.batch_execute("set search_path = ''").unwrap();
    // The schemas the model creates (from the catalog, so a new one cannot be missed) and public.
    let created: Vec<String> = m.schemas.iter().map(|s| format!("'{s}'")).collect();
    let ours = &format!("('public', {})", created.join(", "));
    let mut f = BTreeSet::new();
    let mut add = |facts: Vec<String>| f.extend(facts);
    add(strings(
        db,
        &format!(
            "select 'schema ' || nspname from pg_namespace where nspname in ({})",
            created.join(", ")
        ),
    ));
    let ext_names: Vec<String> = m
        .extensions
        .iter()
        .map(|e| format!("'{}'", e.name))
        .collect();
    add(strings(
        db,
        &format!(
            "select 'extension ' || extname || ' in ' || extnamespace::regnamespace::text from pg_extension where extname in ({})",
            ext_names.join(", ")
        ),
    ));
    // The model's roles: whether they log in, who may switch to them, what they inherit.
    let roles = m
        .roles
        .iter()
        .map(|r| sql::quote::literal(&r.name).unwrap())
        .collect::<Vec<_>>()
        .join(", ");
    add(strings(
        db,
        &format!("select 'role ' || rolname || ' login=' || rolcanlogin from pg_roles where rolname in ({roles})"),
    ));
    add(strings(
        db,
        &format!(
            "select 'role ' || r.rolname || ' granted to ' || m.rolname from pg_auth_members a join pg_roles r on r.oid = a.roleid \
             join pg_roles m on m.oid = a.member where r.rolname in ({roles})"
        ),
    ));
    add(strings(
        db,
        &format!(
            "select 'role ' || m.rolname || ' inherits ' || r.rolname from pg_auth_members a join pg_roles r on r.oid = a.roleid \
             join pg_roles m on m.oid = a.member where m.rolname in ({roles})"
        ),
    ));
    add(strings(
        db,
        &format!(
            "select 'enum ' || n.nspname || '.' || t.typname || ': ' || string_agg(e.enumlabel, ', ' order by e.enumsortorder) \
             from pg_type t join pg_namespace n on n.oid = t.typnamespace join pg_enum e on e.enumtypid = t.oid \
             where n.nspname in {ours} group by n.nspname, t.typname"
        ),
    ));
    let tables = format!(
        "select c.oid from pg_class c join pg_namespace n on n.oid = c.relnamespace \
         where n.nspname in {ours} and c.relkind in ('r', 'p') and not c.relispartition"
    );
    add(strings(
        db,
        &format!(
            "select 'table ' || c.oid::regclass::text || ' rls=' || c.relrowsecurity || ' partitioned=' || (c.relkind = 'p') \
             from pg_class c where c.oid in ({tables})"
        ),
    ));
    add(strings(
        db,
        &format!(
            "select 'column ' || a.attrelid::regclass::text || '.' || a.attname || ': ' || format_type(a.atttypid, a.atttypmod) \
               || case when a.attidentity <> '' then ' identity' else '' end \
               || case when a.attnotnull then ' not null' else ' null' end \
               || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '') \
             from pg_attribute a left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum \
             where a.attrelid in ({tables}) and a.attnum > 0 and not a.attisdropped"
        ),
    ));
    add(strings(
        db,
        &format!(
            "select 'constraint ' || c.conrelid::regclass::text || '.' || c.conname || ': ' || case c.contype \
               when 'p' then 'primary key (' || cols.l || ')' \
               when 'u' then case when i.indnullsnotdistinct then 'unique nulls not distinct (' else 'unique (' end || cols.l || ')' \
               when 'f' then 'foreign key (' || cols.l || ') references ' || c.confrelid::regclass::text || ' (' || refs.l || ') on delete ' \
                 || case c.confdeltype when 'a' then 'no action' when 'r' then 'restrict' when 'c' then 'cascade' when 'n' then 'set null' else 'set default' end \
               when 'c' then 'check' else c.contype::text end \
             from pg_constraint c left join pg_index i on i.indexrelid = c.conindid and c.contype = 'u' \
             cross join lateral (select string_agg(a.attname, ', ' order by k.ord) l from unnest(c.conkey) with ordinality k(n, ord) \
               join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.n) cols \
             cross join lateral (select string_agg(a.attname, ', ' order by k.ord) l from unnest(c.confkey) with ordinality k(n, ord) \
               join pg_attribute a on a.attrelid = c.confrelid and a.attnum = k.n) refs \
             where c.conrelid in ({tables}) and c.contype in ('p', 'u', 'f', 'c') and c.conparentid = 0"
        ),
    ));
    let declared: Vec<String> = m
        .partitions
        .iter()
        .map(|p| format!("'{}'", p.name))
        .collect();
    add(strings(
        db,
        &format!(
            "select 'partition ' || c.oid::regclass::text || ' of ' || i.inhparent::regclass::text || ': ' \
               || pg_get_expr(c.relpartbound, c.oid) || ' rls=' || c.relrowsecurity \
             from pg_class c join pg_inherits i on i.inhrelid = c.oid \
             where c.relispartition and c.relkind in ('r', 'p') and c.oid::regclass::text in ({})",
            declared.join(", ")
        ),
    ));
    // Indexes that do not back a constraint, on our tables (not on partitions).
    add(strings(
        db,
        &format!(
            "select 'index ' || n.nspname || '.' || ic.relname || ': ' || case when x.indisunique then 'unique ' else '' end \
               || am.amname || ' (' || keys.l || ') partial=' || (x.indpred is not null) \
             from pg_index x join pg_class ic on ic.oid = x.indexrelid join pg_namespace n on n.oid = ic.relnamespace \
             join pg_am am on am.oid = ic.relam \
             cross join lateral (select string_agg(case when k.n = 0 then '(expression)' else a.attname end \
                 || case when (x.indoption[k.ord - 1] & 1) = 1 then ' desc' else '' end, ', ' order by k.ord) l \
               from unnest(x.indkey::int2[]) with ordinality k(n, ord) \
               left join pg_attribute a on a.attrelid = x.indrelid and a.attnum = k.n) keys \
             where x.indrelid in ({tables}) \
               and not exists (select 1 from pg_constraint c where c.conindid = x.indexrelid and c.conrelid = x.indrelid)"
        ),
    ));
    let roles: Vec<String> = API_ROLES.iter().map(|r| format!("'{r}'")).collect();
    add(strings(
        db,
        &format!(
            "select 'function ' || n.nspname || '.' || p.proname || '(' || coalesce(( \
               select string_agg(format_type(t, null), ', ' order by o) from unnest(p.proargtypes::oid[]) with ordinality u(t, o)), '') \
               || ') returns ' || pg_get_function_result(p.oid) || ' language ' || l.lanname || ' ' \
               || case p.provolatile when 'i' then 'immutable' when 's' then 'stable' else 'volatile' end \
               || ' definer=' || p.prosecdef || ' config=' || coalesce(array_to_string(p.proconfig, ','), 'none') \
               || ' execute=[' || coalesce((select string_agg(r, ', ' order by r) from unnest(array[{}]) r \
                    where has_function_privilege(r, p.oid, 'execute')), '') || ']' \
             from pg_proc p join pg_namespace n on n.oid = p.pronamespace join pg_language l on l.oid = p.prolang \
             where n.nspname in {ours} \
               and not exists (select 1 from pg_depend d where d.objid = p.oid and d.deptype = 'e')",
            roles.join(", ")
        ),
    ));
    add(strings(
        db,
        &format!(
            "select 'trigger ' || t.tgrelid::regclass::text || ': ' || pg_get_triggerdef(t.oid) from pg_trigger t \
             join pg_class c on c.oid = t.tgrelid join pg_namespace n on n.oid = c.relnamespace \
             where not t.tgisinternal and t.tgparentid = 0 and (t.tgrelid in ({tables}) \
               or (n.nspname = 'auth' and t.tgfoid in (select p.oid from pg_proc p where p.pronamespace::regnamespace::text in {ours})))"
        ),
    ));
    add(strings(
        db,
        &format!(
            "select 'policy ' || pol.polrelid::regclass::text || '.' || pol.polname || ': ' \
               || case when pol.polpermissive then 'permissive' else 'restrictive' end || ' ' \
               || case pol.polcmd when '*' then 'all' when 'r' then 'select' when 'a' then 'insert' when 'w' then 'update' else 'delete' end \
               || ' to ' || (select string_agg(case when r = 0 then 'public' else r::regrole::text end, ', ') from unnest(pol.polroles) r) \
             from pg_policy pol where pol.polrelid in ({tables}) or pol.polrelid in ('storage.objects'::regclass, 'realtime.messages'::regclass)"
        ),
    ));
    add(strings(
        db,
        &format!(
            "select 'publication ' || p.pubname || ': ' || r.prrelid::regclass::text from pg_publication_rel r \
             join pg_publication p on p.oid = r.prpubid where r.prrelid in ({tables})"
        ),
    ));
    f
}

#[test]
fn the_migrated_database_is_the_model() {
    let m = model();
    let db = cluster().migrated_db();
    let mut client = db.connect();
    let expected = model_facts(&m);
    let actual = database_facts(&mut client, &m);
    let missing: Vec<&String> = expected.difference(&actual).collect();
    let extra: Vec<&String> = actual.difference(&expected).collect();
    if !missing.is_empty() || !extra.is_empty() {
        let mut msg = String::from("the database differs from the model\n");
        for l in &missing {
            msg.push_str(&format!("- model only:    {l}\n"));
        }
        for l in &extra {
            msg.push_str(&format!("+ database only: {l}\n"));
        }
        panic!("{msg}");
    }
}

#[test]
fn every_table_and_partition_has_rls_and_every_function_the_pinned_search_path() {
    let db = cluster().migrated_db();
    let mut c = db.connect();
    let no_rls = strings(
        &mut c,
        "select c.oid::regclass::text from pg_class c join pg_namespace n on n.oid = c.relnamespace \
         where n.nspname in ('public', 'private', 'authz') and c.relkind in ('r', 'p') and not c.relrowsecurity",
    );
    assert!(
        no_rls.is_empty(),
        "tables without row level security: {no_rls:?}"
    );
    let loose: Vec<String> = c
        .query(
            "select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace \
             where n.nspname in ('public', 'private', 'authz') \
               and not exists (select 1 from pg_depend d where d.objid = p.oid and d.deptype = 'e') \
               and (p.proconfig is null or not $1 = any(p.proconfig))",
            &[&format!("search_path={FUNCTION_SEARCH_PATH}")],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(
        loose.is_empty(),
        "functions without set search_path = {FUNCTION_SEARCH_PATH}: {loose:?}"
    );
}

#[test]
fn migrations_are_fresh() {
    if let Err(e) = xtask::generate::check() {
        panic!("{e:#}");
    }
}
