//! The schema reference as people read it, rendered from the folded catalog and the declared
//! access matrix: a Mermaid `erDiagram` of every table and relation grouped as the [`Layout`]
//! says, a reference per table (columns, types, defaults, constraints, indexes, triggers,
//! realtime and its purpose line), functions, buckets and the access matrix. The groups,
//! purposes and prose come from the schema's own crate.

use std::fmt::Write;

use crate::access::{self, Access, Action, BucketAccess, Declared, Entry, Persona, TableAccess};
use crate::catalog::Catalog;
use crate::describe::{self, Style};
use crate::model::*;
use crate::render;
use crate::Error;

/// A group of tables: one box of the diagram, one section of the reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// An identifier for Mermaid subgraphs and classes.
    pub id: &'static str,
    pub title: &'static str,
    /// Fill colour of the group's tables in the diagram.
    pub colour: &'static str,
    /// The group's tables in reference order, each with its purpose line (Markdown).
    pub tables: Vec<(Name, String)>,
}

/// How the reference is grouped and introduced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub groups: Vec<Group>,
    /// The first line: the generated marker.
    pub header: String,
    /// The paragraph under the title.
    pub intro: String,
    /// The paragraph under the access matrix's heading: where the matrix is declared.
    pub matrix_intro: String,
}

impl Layout {
    /// The purpose line of a table, if the layout places it.
    pub fn purpose(&self, name: &Name) -> Option<&str> {
        self.groups
            .iter()
            .flat_map(|g| &g.tables)
            .find(|(n, _)| n == name)
            .map(|(_, p)| p.as_str())
    }
}

/// The tables of `group` that the catalog holds, in reference order.
fn group_tables<'a>(catalog: &'a Catalog, group: &Group) -> Vec<&'a Table> {
    group
        .tables
        .iter()
        .filter_map(|(n, _)| catalog.table(n))
        .collect()
}

/// The declared access, as the security model states it.
#[derive(Debug, Clone, Copy)]
pub struct AccessModel<'a> {
    pub personas: &'a [Persona],
    pub tables: &'a [TableAccess],
    pub buckets: &'a [BucketAccess],
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// Inline code in a table cell: backticks, with pipes escaped for the table.
fn code(s: &str) -> String {
    format!("`{}`", md_cell(s))
}

/// A GitHub heading anchor for `text`.
fn anchor(text: &str) -> String {
    text.chars()
        .filter_map(|c| match c {
            'A'..='Z' => Some(c.to_ascii_lowercase()),
            'a'..='z' | '0'..='9' | '-' | '_' => Some(c),
            ' ' => Some('-'),
            _ => None,
        })
        .collect()
}

/// The entity name of a table in the diagram: the table name in `public`, `schema_table`
/// elsewhere (shown as `schema.table`).
pub fn entity(n: &Name) -> String {
    if n.schema == "public" {
        n.name.clone()
    } else {
        format!("{}_{}", n.schema, n.name)
    }
}

/// How a table is declared in the diagram: its entity, labelled `schema.table` outside `public`.
pub fn entity_decl(n: &Name) -> String {
    if n.schema == "public" {
        n.name.clone()
    } else {
        format!("{}[\"{}\"]", entity(n), n)
    }
}

/// A column type as a Mermaid attribute type (letters, digits, `_`, `[]` only).
fn mermaid_type(ty: &SqlType) -> String {
    match ty {
        SqlType::Uuid => "uuid".into(),
        SqlType::Text => "text".into(),
        SqlType::Integer => "integer".into(),
        SqlType::BigInt => "bigint".into(),
        SqlType::SmallInt => "smallint".into(),
        SqlType::Boolean => "boolean".into(),
        SqlType::Numeric { .. } | SqlType::AnyNumeric => "numeric".into(),
        SqlType::Timestamptz => "timestamptz".into(),
        SqlType::Date => "date".into(),
        SqlType::Interval => "interval".into(),
        SqlType::Jsonb => "jsonb".into(),
        SqlType::Bytea => "bytea".into(),
        SqlType::Inet => "inet".into(),
        SqlType::Enum(n) => n.name.clone(),
        SqlType::Geography { shape, .. } => format!("geography_{}", shape.as_str()),
        SqlType::Array(inner) => format!("{}[]", mermaid_type(inner)),
    }
}

/// The key markers of a column: `PK`, `FK`, `UK`.
fn keys(t: &Table, column: &str) -> Vec<&'static str> {
    let mut out = Vec::new();
    let has = |pred: &dyn Fn(&ConstraintKind) -> bool| {
        t.constraints
            .iter()
            .any(|c| pred(&c.kind) && c.columns().iter().any(|x| x == column))
    };
    if has(&|k| matches!(k, ConstraintKind::PrimaryKey(_))) {
        out.push("PK");
    }
    if has(&|k| matches!(k, ConstraintKind::ForeignKey { .. })) {
        out.push("FK");
    }
    if has(&|k| {
        matches!(
            k,
            ConstraintKind::Unique(_) | ConstraintKind::UniqueNullsNotDistinct(_)
        )
    }) {
        out.push("UK");
    }
    out
}

fn foreign_keys(t: &Table) -> impl Iterator<Item = (&Constraint, &[String], &Name)> {
    t.constraints.iter().filter_map(|c| match &c.kind {
        ConstraintKind::ForeignKey {
            columns,
            references,
            ..
        } => Some((c, columns.as_slice(), references)),
        _ => None,
    })
}

/// The Mermaid `erDiagram`: every table in a subgraph per group, with its key columns, every
/// foreign key as a relation, and the tables of other schemas that keys point to.
pub fn mermaid(catalog: &Catalog, layout: &Layout) -> Result<String, Error> {
    let mut out = String::from("erDiagram\n  direction LR\n");
    for group in &layout.groups {
        let tables = group_tables(catalog, group);
        if tables.is_empty() {
            continue;
        }
        let _ = writeln!(out, "  subgraph {}[\"{}\"]", group.id, group.title);
        for t in tables {
            let _ = writeln!(out, "    {} {{", entity_decl(&t.name));
            for c in &t.columns {
                let k = keys(t, &c.name);
                if k.is_empty() {
                    continue;
                }
                let _ = writeln!(
                    out,
                    "      {} {} {}",
                    mermaid_type(&c.ty),
                    c.name,
                    k.join(", ")
                );
            }
            let _ = writeln!(out, "    }}");
        }
        let _ = writeln!(out, "  end");
    }
    // Tables outside the model (Supabase's own) that keys point to.
    let mut external: Vec<&Name> = Vec::new();
    for t in &catalog.tables {
        for (_, _, r) in foreign_keys(t) {
            if catalog.table(r).is_none() && !external.contains(&r) {
                external.push(r);
            }
        }
    }
    for n in &external {
        let _ = writeln!(out, "  {}", entity_decl(n));
    }
    for group in &layout.groups {
        for t in group_tables(catalog, group) {
            for (_, columns, references) in foreign_keys(t) {
                let optional = columns
                    .iter()
                    .any(|col| t.find_column(col).is_some_and(|x| !x.not_null));
                let parent = if optional { "|o" } else { "||" };
                let child = if crate::typescript::is_one_to_one(catalog, t, columns) {
                    "o|"
                } else {
                    "o{"
                };
                let _ = writeln!(
                    out,
                    "  {} {parent}--{child} {} : \"{}\"",
                    entity(references),
                    entity(&t.name),
                    columns.join(", ")
                );
            }
        }
    }
    for group in &layout.groups {
        let tables = group_tables(catalog, group);
        if tables.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "  classDef {} fill:{},stroke:#555",
            group.id, group.colour
        );
        let names: Vec<String> = tables.iter().map(|t| entity(&t.name)).collect();
        let _ = writeln!(out, "  class {} {}", names.join(","), group.id);
    }
    if !external.is_empty() {
        let _ = writeln!(
            out,
            "  classDef external fill:#ffffff,stroke:#999,stroke-dasharray:4 2"
        );
        let names: Vec<String> = external.iter().map(|n| entity(n)).collect();
        let _ = writeln!(out, "  class {} external", names.join(","));
    }
    Ok(out)
}

/// The source of every ```` ```mermaid ```` block of a Markdown text, in order.
pub fn mermaid_blocks(markdown: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match &mut current {
            None if line.trim_end() == "```mermaid" => current = Some(String::new()),
            None => {}
            Some(_) if line.trim_end() == "```" => out.extend(current.take()),
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
        }
    }
    out
}

fn trigger_text(tr: &Trigger) -> String {
    let timing = match tr.timing {
        Timing::Before => "before",
        Timing::After => "after",
    };
    let events: Vec<String> = tr
        .events
        .iter()
        .map(|e| match e {
            Event::Insert => "insert".to_string(),
            Event::Update => "update".to_string(),
            Event::UpdateOf(cols) => format!("update of {}", cols.join(", ")),
            Event::Delete => "delete".to_string(),
            Event::Truncate => "truncate".to_string(),
        })
        .collect();
    let level = match tr.level {
        Level::Row => "each row",
        Level::RowAtCommit => "each row, at commit",
        Level::Statement | Level::StatementWithRows => "each statement",
    };
    let args = if tr.args.is_empty() {
        String::new()
    } else {
        format!("('{}')", tr.args.join("', '"))
    };
    format!(
        "{timing} {} for {level} → `{}{}`",
        events.join(" or "),
        tr.function,
        if args.is_empty() { "()".into() } else { args }
    )
}

fn table_reference(
    catalog: &Catalog,
    layout: &Layout,
    t: &Table,
    out: &mut String,
) -> Result<(), Error> {
    let purpose = layout.purpose(&t.name).ok_or_else(|| Error::Unknown {
        kind: "table doc",
        name: t.name.to_string(),
    })?;
    let _ = writeln!(out, "### {}\n", t.name);
    let _ = writeln!(out, "{purpose}\n");
    if let Some(c) = &t.comment {
        let _ = writeln!(out, "{c}\n");
    }
    let mut facts = vec!["RLS enabled".to_string()];
    let policies = catalog
        .policies
        .iter()
        .filter(|p| p.table == t.name)
        .count();
    facts.push(match policies {
        0 => "no policies (API roles see nothing)".into(),
        1 => "1 policy".into(),
        n => format!("{n} policies"),
    });
    let pubs: Vec<&str> = catalog
        .publications
        .iter()
        .filter(|(_, n)| n == &t.name)
        .map(|(p, _)| p.as_str())
        .collect();
    facts.push(if pubs.is_empty() {
        "realtime: no".into()
    } else {
        format!("realtime: {}", pubs.join(", "))
    });
    if let Some(PartitionBy::Range(cols)) = &t.partition_by {
        let parts: Vec<String> = catalog
            .partitions
            .iter()
            .filter(|p| p.parent == t.name)
            .map(|p| format!("`{}`", p.name))
            .collect();
        facts.push(format!(
            "partitioned by range ({}): {}",
            cols.join(", "),
            parts.join(", ")
        ));
    }
    let _ = writeln!(out, "{}\n", facts.join(" · "));
    let _ = writeln!(out, "| column | type | null | default | notes |");
    let _ = writeln!(out, "|---|---|---|---|---|");
    for c in &t.columns {
        let default = if c.identity {
            "generated always as identity".to_string()
        } else {
            describe::column_default(c)?.map_or(String::new(), |d| code(&d))
        };
        let mut notes: Vec<String> = keys(t, &c.name).iter().map(|k| k.to_string()).collect();
        for (_, columns, references) in foreign_keys(t) {
            if columns.iter().any(|x| x == &c.name) {
                notes.push(format!("→ {references}"));
            }
        }
        if c.secret {
            notes.push("secret: redacted in audit".into());
        }
        if let Some(comment) = &c.comment {
            notes.push(md_cell(comment));
        }
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {default} | {} |",
            c.name,
            code(&describe::column_type(c)?),
            if c.not_null { "not null" } else { "null" },
            notes.join("; ")
        );
    }
    out.push('\n');
    let _ = writeln!(out, "Constraints:\n");
    for c in &t.constraints {
        let _ = writeln!(
            out,
            "- `{}`: `{}`",
            c.name,
            describe::constraint(&c.kind, Style::SQL)?
        );
    }
    let indexes = catalog.indexes_on(&t.name);
    if !indexes.is_empty() {
        let _ = writeln!(out, "\nIndexes:\n");
        for i in indexes {
            let _ = writeln!(out, "- `{}`: `{}`", i.name, describe::index(i, Style::SQL)?);
        }
    }
    let triggers = catalog.triggers_on(&t.name);
    if !triggers.is_empty() {
        let _ = writeln!(out, "\nTriggers:\n");
        for tr in triggers {
            let _ = writeln!(out, "- `{}`: {}", tr.name, trigger_text(tr));
        }
    }
    out.push('\n');
    Ok(())
}

fn functions_section(catalog: &Catalog, out: &mut String) -> Result<(), Error> {
    let _ = writeln!(out, "## Functions\n");
    let _ = writeln!(
        out,
        "Every function runs with `search_path = {}` (`pg_temp` last, so a caller's temporary objects never shadow a name); execute is revoked from everyone, then granted to the roles listed.\n",
        crate::model::FUNCTION_SEARCH_PATH
    );
    let _ = writeln!(out, "| function | returns | security | execute | about |");
    let _ = writeln!(out, "|---|---|---|---|---|");
    for f in &catalog.functions {
        let args = describe::arguments(f, true)?;
        let returns = match &f.returns {
            Returns::Type(t) => render::sql_type(t)?,
            Returns::Table(cols) => {
                let cols: Vec<String> = cols
                    .iter()
                    .map(|(n, t)| Ok(format!("{n} {}", render::sql_type(t)?)))
                    .collect::<Result<_, Error>>()?;
                format!("table ({})", cols.join(", "))
            }
            Returns::Trigger => "trigger".into(),
            Returns::Void => "void".into(),
        };
        let security = describe::security(f.security);
        let execute = if f.execute.is_empty() {
            "—".to_string()
        } else {
            f.execute.join(", ")
        };
        let _ = writeln!(
            out,
            "| {} | {} | {security} | {execute} | {} |",
            code(&format!("{}({})", f.name, args.join(", "))),
            code(&returns),
            md_cell(f.comment.as_deref().unwrap_or(""))
        );
    }
    out.push('\n');
    Ok(())
}

fn enums_section(catalog: &Catalog, out: &mut String) {
    let _ = writeln!(out, "## Enums\n");
    let _ = writeln!(out, "| enum | values |");
    let _ = writeln!(out, "|---|---|");
    for e in &catalog.enums {
        let values: Vec<String> = e.values.iter().map(|v| format!("`{v}`")).collect();
        let _ = writeln!(out, "| `{}` | {} |", e.name, values.join(", "));
    }
    out.push('\n');
}

/// Personas that differ in what they are (not just in who they are): the matrix shows one
/// column per distinct set of audiences.
fn distinct_personas(personas: &[Persona]) -> Vec<&Persona> {
    let mut out: Vec<&Persona> = Vec::new();
    for p in personas {
        if !out
            .iter()
            .any(|q| q.db_role == p.db_role && q.audiences == p.audiences && q.scopes == p.scopes)
        {
            out.push(p);
        }
    }
    out
}

fn cell(d: &Declared) -> String {
    match d {
        Declared::Deny => "—".into(),
        Declared::All => "all".into(),
        Declared::Rules(r) => md_cell(&r.join(" + ")),
    }
}

fn matrix_rows(
    resource: &str,
    entries: &[Entry],
    personas: &[&Persona],
    label: &str,
    out: &mut String,
) {
    for action in Action::ALL {
        let cells: Vec<String> = personas
            .iter()
            .map(|p| cell(&access::declared(resource, entries, p, action)))
            .collect();
        let _ = writeln!(
            out,
            "| {label} | {} | {} |",
            action.as_str(),
            cells.join(" | ")
        );
    }
}

fn rules_of<'a>(entries: impl Iterator<Item = &'a Entry>, rules: &mut Vec<access::Rule>) {
    for e in entries {
        if let Access::Rule(r) = e.access {
            if !rules.iter().any(|x| x.name == r.name && x.using == r.using) {
                rules.push(r);
            }
        }
    }
}

/// The access matrix (persona × table × action → rule) as Markdown, from the same data the
/// policies and grants are generated from.
pub fn access_matrix(
    catalog: &Catalog,
    layout: &Layout,
    model: &AccessModel,
) -> Result<String, Error> {
    let mut out = String::new();
    let personas = distinct_personas(model.personas);
    let header: Vec<String> = personas.iter().map(|p| format!("`{}`", p.name)).collect();
    let _ = writeln!(out, "## Access matrix\n");
    let _ = writeln!(out, "{}\n", layout.matrix_intro);
    let _ = writeln!(
        out,
        "`all`: every row · a rule name: only the rows the rule selects ([Rules](#rules)); \
         several rules: the rows of any of them · —: denied. `service_role` bypasses RLS, so only \
         its grants apply.\n"
    );
    let _ = writeln!(out, "Personas:\n");
    for p in &personas {
        let audiences: Vec<&str> = p.audiences.iter().map(|a| a.name).collect();
        let _ = writeln!(
            out,
            "- `{}`: database role `{}`; audiences {}",
            p.name,
            p.db_role,
            audiences.join(", ")
        );
    }
    out.push('\n');
    for group in &layout.groups {
        let tables = group_tables(catalog, group);
        if tables.is_empty() {
            continue;
        }
        let _ = writeln!(out, "### Access: {}\n", group.title);
        let _ = writeln!(out, "| table | action | {} |", header.join(" | "));
        let _ = writeln!(out, "|---|---|{}", "---|".repeat(personas.len()));
        for t in tables {
            let label = format!("`{}`", t.name.name);
            match model.tables.iter().find(|a| a.table == t.name) {
                Some(a) => matrix_rows(&t.name.name, &a.entries, &personas, &label, &mut out),
                None => matrix_rows(&t.name.name, &[], &personas, &label, &mut out),
            }
        }
        out.push('\n');
    }
    let mut columns = Vec::new();
    for a in model.tables {
        for c in &a.columns.hidden {
            columns.push(format!(
                "- `{}.{c}`: hidden from every API role",
                a.table.name
            ));
        }
        for (role, cols) in &a.columns.updatable {
            columns.push(format!(
                "- `{}`: `{role}` may update only {}",
                a.table.name,
                cols.iter()
                    .map(|c| format!("`{c}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    if !columns.is_empty() {
        let _ = writeln!(out, "### Column privileges\n");
        for c in columns {
            let _ = writeln!(out, "{c}");
        }
        out.push('\n');
    }
    if !model.buckets.is_empty() {
        let _ = writeln!(out, "### Access: storage buckets\n");
        let _ = writeln!(out, "| bucket | action | {} |", header.join(" | "));
        let _ = writeln!(out, "|---|---|{}", "---|".repeat(personas.len()));
        for b in model.buckets {
            matrix_rows(
                &b.bucket.id,
                &b.entries,
                &personas,
                &format!("`{}`", b.bucket.id),
                &mut out,
            );
        }
        out.push('\n');
        let _ = writeln!(
            out,
            "| bucket | public | size limit | object names | types |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|");
        for b in model.buckets {
            let limit = b
                .bucket
                .file_size_limit
                .map(|l| format!("{} MiB", l / (1024 * 1024)))
                .unwrap_or_else(|| "—".into());
            let _ = writeln!(
                out,
                "| `{}` | {} | {limit} | `{}` | {} |",
                b.bucket.id,
                if b.bucket.public { "yes" } else { "no" },
                md_cell(b.path),
                md_cell(&b.bucket.allowed_mime_types.join(", "))
            );
        }
        out.push('\n');
    }
    let mut rules = Vec::new();
    rules_of(
        model.tables.iter().flat_map(|t| t.entries.iter()),
        &mut rules,
    );
    rules_of(
        model.buckets.iter().flat_map(|b| b.entries.iter()),
        &mut rules,
    );
    let _ = writeln!(out, "### Rules\n");
    let _ = writeln!(out, "| rule | rows (using) | new rows (with check) |");
    let _ = writeln!(out, "|---|---|---|");
    for r in rules {
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            md_cell(r.name),
            code(r.using),
            r.check.map(code).unwrap_or_else(|| "same".into())
        );
    }
    out.push('\n');
    Ok(out)
}

/// The whole `docs/schema.md`.
pub fn schema_md(
    catalog: &Catalog,
    layout: &Layout,
    access: &AccessModel,
) -> Result<String, Error> {
    let mut out = String::new();
    let _ = writeln!(out, "{}", layout.header);
    let _ = writeln!(out, "# Schema reference\n");
    let _ = writeln!(out, "{}\n", layout.intro);
    let _ = writeln!(out, "- [Diagram](#diagram) ([rendered SVG](schema.svg))");
    let _ = writeln!(out, "- Tables by module:");
    for group in &layout.groups {
        let names: Vec<String> = group_tables(catalog, group)
            .iter()
            .map(|t| format!("[`{}`](#{})", t.name.name, anchor(&t.name.to_string())))
            .collect();
        if !names.is_empty() {
            let _ = writeln!(out, "  - {}: {}", group.title, names.join(", "));
        }
    }
    let _ = writeln!(out, "- [Enums](#enums), [Functions](#functions)");
    let _ = writeln!(out, "- [Access matrix](#access-matrix)\n");
    let _ = writeln!(out, "## Diagram\n");
    let _ = writeln!(
        out,
        "Every table, grouped by module, with its key columns (PK primary key, FK foreign key, \
         UK unique); every foreign key is a relation labelled with its columns. A relation from \
         `|o` is optional (the key column may be null). Dashed boxes are Supabase's own tables.\n"
    );
    let _ = writeln!(out, "```mermaid\n{}```\n", mermaid(catalog, layout)?);
    for group in &layout.groups {
        let tables = group_tables(catalog, group);
        if tables.is_empty() {
            continue;
        }
        let _ = writeln!(out, "## {}\n", group.title);
        for t in tables {
            table_reference(catalog, layout, t, &mut out)?;
        }
    }
    enums_section(catalog, &mut out);
    functions_section(catalog, &mut out)?;
    out.push_str(&access_matrix(catalog, layout, access)?);
    // One trailing newline, as editors keep it.
    while out.ends_with("\n\n") {
        out.pop();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;

    fn layout() -> Layout {
        Layout {
            groups: vec![Group {
                id: "work",
                title: "Work",
                colour: "#ffffff",
                tables: ["projects", "project_details", "project_notes"]
                    .into_iter()
                    .map(|t| (public(t), format!("purpose of {t}")))
                    .collect(),
            }],
            header: "<!-- generated -->".into(),
            intro: "The fixture.".into(),
            matrix_intro: "Declared nowhere.".into(),
        }
    }

    #[test]
    fn diagram_has_every_table_and_relation() {
        let m = mermaid(&fixture::catalog(), &layout()).unwrap();
        assert!(m.contains("  subgraph work[\"Work\"]\n    projects {\n      uuid id PK\n"));
        assert!(m.contains("  projects ||--o| project_details : \"project_id\"\n"));
        assert!(m.contains("  projects |o--o{ project_notes : \"project_id\"\n"));
        assert!(m.contains("  class projects,project_details,project_notes work\n"));
    }

    #[test]
    fn the_reference_places_every_table_with_its_purpose() {
        let md = schema_md(
            &fixture::catalog(),
            &layout(),
            &AccessModel {
                personas: &[],
                tables: &[],
                buckets: &[],
            },
        )
        .unwrap();
        assert!(md.starts_with("<!-- generated -->\n# Schema reference\n\nThe fixture.\n"));
        assert!(md.contains("### public.project_notes\n\npurpose of project_notes\n"));
        assert!(md.contains("## Access matrix\n\nDeclared nowhere.\n"));
        let mut unplaced = layout();
        unplaced.groups[0].tables.pop();
        assert!(mermaid(&fixture::catalog(), &unplaced).is_ok());
    }

    #[test]
    fn mermaid_blocks_are_extracted() {
        let md = "a\n```mermaid\nerDiagram\n  x\n```\nb\n```sql\nselect\n```\n";
        assert_eq!(mermaid_blocks(md), ["erDiagram\n  x\n"]);
    }
}
