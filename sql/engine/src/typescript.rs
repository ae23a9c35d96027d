//! The `Database` type for `@supabase/supabase-js`, rendered from the folded catalog in the shape
//! the Supabase CLI's `gen types typescript` emits (postgres-meta's TypeScript template), so
//! `createClient<Database>()` types every query without Docker or a live database.
//!
//! The layout follows what prettier makes of that template (80 columns, no semicolons), so a
//! file from the CLI and this one differ as little as possible.

use crate::catalog::Catalog;
use crate::model::*;
use crate::Error;

/// The schema PostgREST exposes and the CLI types by default.
pub const SCHEMA: &str = "public";

/// The PostgREST version the client should assume. Hosted projects run 12 or newer, and 12 is
/// also what supabase-js assumes when the type says nothing.
pub const POSTGREST_VERSION: &str = "12";

const WIDTH: usize = 80;

/// The arguments of a function that takes none.
const NO_ARGS: &str = "Record<PropertyKey, never>";

/// The whole `database.types.ts`; its header names `model`, where the schema is written.
pub fn database_types(catalog: &Catalog, model: &str) -> Result<String, Error> {
    let ts = Ts { catalog };
    let mut out = format!(
        "// generated — do not edit: run `cargo xtask gen types` (from the model in {model})\n"
    );
    out.push_str(JSON_TYPE);
    out.push_str("\nexport type Database = {\n");
    out.push_str(
        "  // Allows to automatically instantiate createClient with right options\n  \
         // instead of createClient<Database, { PostgrestVersion: 'XX' }>(URL, KEY)\n",
    );
    out.push_str(&format!(
        "  __InternalSupabase: {{\n    PostgrestVersion: \"{POSTGREST_VERSION}\"\n  }}\n"
    ));
    out.push_str(&format!("  {SCHEMA}: {{\n"));
    ts.tables(&mut out)?;
    ts.views(&mut out)?;
    ts.functions(&mut out)?;
    ts.enums(&mut out);
    out.push_str("    CompositeTypes: {\n      [_ in never]: never\n    }\n");
    out.push_str("  }\n}\n");
    out.push_str(HELPERS);
    ts.constants(&mut out);
    Ok(out)
}

const JSON_TYPE: &str = "export type Json =
  | string
  | number
  | boolean
  | null
  | { [key: string]: Json | undefined }
  | Json[]
";

/// `Tables<>`, `TablesInsert<>`, `TablesUpdate<>`, `Enums<>`, `CompositeTypes<>`: the CLI's
/// helpers, verbatim in shape.
const HELPERS: &str = r#"
type DatabaseWithoutInternals = Omit<Database, "__InternalSupabase">

type DefaultSchema = DatabaseWithoutInternals[Extract<keyof Database, "public">]

export type Tables<
  DefaultSchemaTableNameOrOptions extends
    | keyof (DefaultSchema["Tables"] & DefaultSchema["Views"])
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends (DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof (DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"] &
        DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Views"])
    : never) = never,
> = DefaultSchemaTableNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? (DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"] &
      DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Views"])[TableName] extends {
      Row: infer R
    }
    ? R
    : never
  : DefaultSchemaTableNameOrOptions extends keyof (DefaultSchema["Tables"] &
        DefaultSchema["Views"])
    ? (DefaultSchema["Tables"] &
        DefaultSchema["Views"])[DefaultSchemaTableNameOrOptions] extends {
        Row: infer R
      }
      ? R
      : never
    : never

export type TablesInsert<
  DefaultSchemaTableNameOrOptions extends
    | keyof DefaultSchema["Tables"]
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends (DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
    : never) = never,
> = DefaultSchemaTableNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"][TableName] extends {
      Insert: infer I
    }
    ? I
    : never
  : DefaultSchemaTableNameOrOptions extends keyof DefaultSchema["Tables"]
    ? DefaultSchema["Tables"][DefaultSchemaTableNameOrOptions] extends {
        Insert: infer I
      }
      ? I
      : never
    : never

export type TablesUpdate<
  DefaultSchemaTableNameOrOptions extends
    | keyof DefaultSchema["Tables"]
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends (DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
    : never) = never,
> = DefaultSchemaTableNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"][TableName] extends {
      Update: infer U
    }
    ? U
    : never
  : DefaultSchemaTableNameOrOptions extends keyof DefaultSchema["Tables"]
    ? DefaultSchema["Tables"][DefaultSchemaTableNameOrOptions] extends {
        Update: infer U
      }
      ? U
      : never
    : never

export type Enums<
  DefaultSchemaEnumNameOrOptions extends
    | keyof DefaultSchema["Enums"]
    | { schema: keyof DatabaseWithoutInternals },
  EnumName extends (DefaultSchemaEnumNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaEnumNameOrOptions["schema"]]["Enums"]
    : never) = never,
> = DefaultSchemaEnumNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[DefaultSchemaEnumNameOrOptions["schema"]]["Enums"][EnumName]
  : DefaultSchemaEnumNameOrOptions extends keyof DefaultSchema["Enums"]
    ? DefaultSchema["Enums"][DefaultSchemaEnumNameOrOptions]
    : never

export type CompositeTypes<
  PublicCompositeTypeNameOrOptions extends
    | keyof DefaultSchema["CompositeTypes"]
    | { schema: keyof DatabaseWithoutInternals },
  CompositeTypeName extends (PublicCompositeTypeNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[PublicCompositeTypeNameOrOptions["schema"]]["CompositeTypes"]
    : never) = never,
> = PublicCompositeTypeNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[PublicCompositeTypeNameOrOptions["schema"]]["CompositeTypes"][CompositeTypeName]
  : PublicCompositeTypeNameOrOptions extends keyof DefaultSchema["CompositeTypes"]
    ? DefaultSchema["CompositeTypes"][PublicCompositeTypeNameOrOptions]
    : never
"#;

/// Orders names as JavaScript's `localeCompare` does for identifiers: `_` before digits before
/// letters (plain byte order would put digits first).
pub fn locale_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let key = |s: &str| -> Vec<(u8, u8)> {
        s.bytes()
            .map(|c| match c {
                b'_' => (0, c),
                b'0'..=b'9' => (1, c),
                _ => (2, c.to_ascii_lowercase()),
            })
            .collect()
    };
    key(a).cmp(&key(b)).then_with(|| a.cmp(b))
}

/// A property name as the CLI prints it: bare when it is an identifier, else a JSON string.
fn prop(name: &str) -> String {
    let ident = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    if ident {
        name.to_string()
    } else {
        json_string(name)
    }
}

fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `{ a: T; b: U }` when it fits in `room` columns, else one member per line at `indent`.
fn object(members: &[String], indent: usize, room: usize) -> String {
    if members.is_empty() {
        return "{}".into();
    }
    let inline = format!("{{ {} }}", members.join("; "));
    if inline.len() <= room {
        return inline;
    }
    let pad = " ".repeat(indent + 2);
    let mut out = String::from("{\n");
    for m in members {
        out.push_str(&format!("{pad}{m}\n"));
    }
    out.push_str(&" ".repeat(indent));
    out.push('}');
    out
}

struct Ts<'a> {
    catalog: &'a Catalog,
}

/// A column's type with its nullability, as postgres-meta's `generateNullableUnionTsType`
/// writes it: `Json` includes `null`, so a not-null json column is `NonNullable<Json>`, and
/// `unknown` already includes `null`, so it gets no `| null`.
fn nullable(ty: String, not_null: bool) -> String {
    match (ty.as_str(), not_null) {
        ("Json", true) => "NonNullable<Json>".into(),
        ("unknown", _) | (_, true) => ty,
        (_, false) => format!("{ty} | null"),
    }
}

impl Ts<'_> {
    /// postgres-meta's `pgTypeToTsType`: interval is `string`; geometry and network types are
    /// `unknown`.
    fn ty(&self, ty: &SqlType) -> Result<String, Error> {
        Ok(match ty {
            SqlType::Boolean => "boolean".into(),
            SqlType::Integer
            | SqlType::BigInt
            | SqlType::SmallInt
            | SqlType::Numeric { .. }
            | SqlType::AnyNumeric => "number".into(),
            SqlType::Uuid
            | SqlType::Text
            | SqlType::Timestamptz
            | SqlType::Date
            | SqlType::Bytea
            | SqlType::Interval => "string".into(),
            SqlType::Jsonb => "Json".into(),
            SqlType::Inet | SqlType::Geography { .. } => "unknown".into(),
            SqlType::Enum(n) if n.schema == SCHEMA => {
                format!(
                    "Database[\"{SCHEMA}\"][\"Enums\"][{}]",
                    json_string(&n.name)
                )
            }
            SqlType::Enum(n) => {
                let e = self
                    .catalog
                    .enums
                    .iter()
                    .find(|e| &e.name == n)
                    .ok_or_else(|| Error::Unknown {
                        kind: "enum",
                        name: n.to_string(),
                    })?;
                let values: Vec<String> = e.values.iter().map(|v| json_string(v)).collect();
                values.join(" | ")
            }
            SqlType::Array(inner) => {
                let t = self.ty(inner)?;
                if t.contains(" | ") {
                    format!("({t})[]")
                } else {
                    format!("{t}[]")
                }
            }
        })
    }

    fn tables(&self, out: &mut String) -> Result<(), Error> {
        let mut tables: Vec<&Table> = self
            .catalog
            .tables
            .iter()
            .filter(|t| t.name.schema == SCHEMA)
            .collect();
        tables.sort_by(|a, b| locale_cmp(&a.name.name, &b.name.name));
        out.push_str("    Tables: {\n");
        if tables.is_empty() {
            out.push_str("      [_ in never]: never\n");
        }
        for t in tables {
            let mut columns: Vec<&Column> = t.columns.iter().collect();
            columns.sort_by(|a, b| locale_cmp(&a.name, &b.name));
            out.push_str(&format!("      {}: {{\n", prop(&t.name.name)));
            out.push_str("        Row: {\n");
            for c in &columns {
                out.push_str(&format!(
                    "          {}: {}\n",
                    prop(&c.name),
                    nullable(self.ty(&c.ty)?, c.not_null)
                ));
            }
            out.push_str("        }\n        Insert: {\n");
            for c in &columns {
                let name = prop(&c.name);
                if c.identity {
                    out.push_str(&format!("          {name}?: never\n"));
                    continue;
                }
                let optional = !c.not_null || c.default.is_some();
                out.push_str(&format!(
                    "          {name}{}: {}\n",
                    if optional { "?" } else { "" },
                    nullable(self.ty(&c.ty)?, c.not_null)
                ));
            }
            out.push_str("        }\n        Update: {\n");
            for c in &columns {
                let name = prop(&c.name);
                if c.identity {
                    out.push_str(&format!("          {name}?: never\n"));
                    continue;
                }
                out.push_str(&format!(
                    "          {name}?: {}\n",
                    nullable(self.ty(&c.ty)?, c.not_null)
                ));
            }
            out.push_str("        }\n");
            self.relationships(t, out);
            out.push_str("      }\n");
        }
        out.push_str("    }\n");
        Ok(())
    }

    /// Foreign keys of `t` to tables of the same schema, as PostgREST embeds them.
    fn relationships(&self, t: &Table, out: &mut String) {
        let mut rels: Vec<(&str, &[String], &Name, &[String])> = t
            .constraints
            .iter()
            .filter_map(|c| match &c.kind {
                ConstraintKind::ForeignKey {
                    columns,
                    references,
                    ref_columns,
                    ..
                } if references.schema == t.name.schema => Some((
                    c.name.as_str(),
                    columns.as_slice(),
                    references,
                    ref_columns.as_slice(),
                )),
                _ => None,
            })
            .collect();
        rels.sort_by(|a, b| {
            locale_cmp(a.0, b.0)
                .then_with(|| locale_cmp(&a.2.name, &b.2.name))
                .then_with(|| a.3.cmp(b.3))
        });
        if rels.is_empty() {
            out.push_str("        Relationships: []\n");
            return;
        }
        out.push_str("        Relationships: [\n");
        for (name, columns, references, ref_columns) in rels {
            let list = |cols: &[String]| {
                let items: Vec<String> = cols.iter().map(|c| json_string(c)).collect();
                format!("[{}]", items.join(", "))
            };
            out.push_str("          {\n");
            out.push_str(&format!(
                "            foreignKeyName: {}\n",
                json_string(name)
            ));
            out.push_str(&format!("            columns: {}\n", list(columns)));
            out.push_str(&format!(
                "            isOneToOne: {}\n",
                is_one_to_one(self.catalog, t, columns)
            ));
            out.push_str(&format!(
                "            referencedRelation: {}\n",
                json_string(&references.name)
            ));
            out.push_str(&format!(
                "            referencedColumns: {}\n",
                list(ref_columns)
            ));
            out.push_str("          },\n");
        }
        out.push_str("        ]\n");
    }

    fn views(&self, out: &mut String) -> Result<(), Error> {
        if let Some(v) = self.catalog.views.iter().find(|v| v.name.schema == SCHEMA) {
            // A view's columns come from its query, which the model keeps as text only.
            return Err(Error::Invalid {
                what: v.name.to_string(),
                reason: "views in the public schema cannot be typed yet; give the model view columns before exposing one",
            });
        }
        out.push_str("    Views: {\n      [_ in never]: never\n    }\n");
        Ok(())
    }

    fn functions(&self, out: &mut String) -> Result<(), Error> {
        let mut names: Vec<&str> = Vec::new();
        for f in self
            .catalog
            .functions
            .iter()
            .filter(|f| f.name.schema == SCHEMA)
        {
            if !names.contains(&f.name.name.as_str()) {
                names.push(&f.name.name);
            }
        }
        names.sort_by(|a, b| locale_cmp(a, b));
        out.push_str("    Functions: {\n");
        if names.is_empty() {
            out.push_str("      [_ in never]: never\n");
        }
        for name in names {
            let overloads: Vec<&Function> = self
                .catalog
                .functions
                .iter()
                .filter(|f| f.name.schema == SCHEMA && f.name.name == name)
                .collect();
            let key = prop(name);
            // The CLI lists arguments by name, not in declaration order; a function without
            // arguments takes `Record<PropertyKey, never>`, as postgres-meta 0.99 writes it.
            let arg_members = |f: &Function| -> Result<Vec<String>, Error> {
                let mut args: Vec<&Arg> = f.args.iter().collect();
                args.sort_by(|a, b| locale_cmp(&a.name, &b.name));
                args.into_iter()
                    .map(|a| {
                        Ok(format!(
                            "{}{}: {}",
                            prop(&a.name),
                            if a.default.is_some() { "?" } else { "" },
                            self.ty(&a.ty)?
                        ))
                    })
                    .collect()
            };
            let args = |f: &Function, indent: usize, room: usize| -> Result<String, Error> {
                let m = arg_members(f)?;
                Ok(if m.is_empty() {
                    NO_ARGS.to_string()
                } else {
                    object(&m, indent, room)
                })
            };
            if let [f] = overloads.as_slice() {
                // One signature: the entry on one line when it fits, as prettier prints it.
                let returns = self.returns(&f.returns, 8)?;
                let one_line = format!(
                    "      {key}: {{ Args: {}; Returns: {returns} }}",
                    args(f, 0, usize::MAX)?
                );
                if one_line.len() <= WIDTH && !returns.contains('\n') {
                    out.push_str(&one_line);
                    out.push('\n');
                    continue;
                }
                out.push_str(&format!("      {key}: {{\n"));
                out.push_str(&format!(
                    "        Args: {}\n",
                    args(f, 8, WIDTH - "        Args: ".len())?
                ));
                out.push_str(&format!("        Returns: {returns}\n"));
                out.push_str("      }\n");
                continue;
            }
            // Overloads: a union of `{ Args; Returns }` objects, one `| ` member per line.
            out.push_str(&format!("      {key}:\n"));
            for f in overloads {
                let returns = self.returns(&f.returns, 12)?;
                let one_line = format!(
                    "        | {{ Args: {}; Returns: {returns} }}",
                    args(f, 0, usize::MAX)?
                );
                if one_line.len() <= WIDTH && !returns.contains('\n') {
                    out.push_str(&one_line);
                    out.push('\n');
                    continue;
                }
                out.push_str("        | {\n");
                out.push_str(&format!(
                    "            Args: {}\n",
                    args(f, 12, WIDTH - "            Args: ".len())?
                ));
                out.push_str(&format!("            Returns: {returns}\n"));
                out.push_str("          }\n");
            }
        }
        out.push_str("    }\n");
        Ok(())
    }

    fn returns(&self, r: &Returns, indent: usize) -> Result<String, Error> {
        Ok(match r {
            Returns::Type(t) => self.ty(t)?,
            Returns::Void => "undefined".into(),
            Returns::Trigger => "unknown".into(),
            Returns::Table(cols) => {
                let pad = " ".repeat(indent + 2);
                let mut s = String::from("{\n");
                // Columns by name, as postgres-meta lists them.
                let mut cols: Vec<_> = cols.iter().collect();
                cols.sort_by(|a, b| locale_cmp(&a.0, &b.0));
                for (n, t) in cols {
                    s.push_str(&format!("{pad}{}: {}\n", prop(n), self.ty(t)?));
                }
                s.push_str(&" ".repeat(indent));
                s.push_str("}[]");
                s
            }
        })
    }

    fn sorted_enums(&self) -> Vec<&Enum> {
        let mut enums: Vec<&Enum> = self
            .catalog
            .enums
            .iter()
            .filter(|e| e.name.schema == SCHEMA)
            .collect();
        enums.sort_by(|a, b| locale_cmp(&a.name.name, &b.name.name));
        enums
    }

    fn enums(&self, out: &mut String) {
        let enums = self.sorted_enums();
        out.push_str("    Enums: {\n");
        if enums.is_empty() {
            out.push_str("      [_ in never]: never\n");
        }
        for e in enums {
            let values: Vec<String> = e.values.iter().map(|v| json_string(v)).collect();
            let line = format!("      {}: {}", prop(&e.name.name), values.join(" | "));
            if line.len() <= WIDTH {
                out.push_str(&line);
                out.push('\n');
            } else {
                out.push_str(&format!("      {}:\n", prop(&e.name.name)));
                for v in values {
                    out.push_str(&format!("        | {v}\n"));
                }
            }
        }
        out.push_str("    }\n");
    }

    fn constants(&self, out: &mut String) {
        out.push_str("\nexport const Constants = {\n");
        out.push_str(&format!("  {SCHEMA}: {{\n    Enums: {{\n"));
        for e in self.sorted_enums() {
            let values: Vec<String> = e.values.iter().map(|v| json_string(v)).collect();
            let line = format!("      {}: [{}],", prop(&e.name.name), values.join(", "));
            if line.len() <= WIDTH {
                out.push_str(&line);
                out.push('\n');
            } else {
                out.push_str(&format!("      {}: [\n", prop(&e.name.name)));
                for v in values {
                    out.push_str(&format!("        {v},\n"));
                }
                out.push_str("      ],\n");
            }
        }
        out.push_str("    },\n  },\n} as const\n");
    }
}

/// Whether at most one row of `t` can reference a given row: the foreign key's columns are
/// exactly a primary key, a unique constraint or a full unique index of `t`.
pub fn is_one_to_one(catalog: &Catalog, t: &Table, columns: &[String]) -> bool {
    let same =
        |cols: &[String]| cols.len() == columns.len() && cols.iter().all(|c| columns.contains(c));
    let by_constraint = t.constraints.iter().any(|c| match &c.kind {
        ConstraintKind::PrimaryKey(cols)
        | ConstraintKind::Unique(cols)
        | ConstraintKind::UniqueNullsNotDistinct(cols) => same(cols),
        _ => false,
    });
    let by_index = catalog.indexes.iter().any(|i| {
        i.table == t.name && i.unique && i.predicate.is_none() && {
            let cols: Vec<String> = i
                .keys
                .iter()
                .filter_map(|k| k.column().map(String::from))
                .collect();
            cols.len() == i.keys.len() && same(&cols)
        }
    });
    by_constraint || by_index
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;

    fn types() -> String {
        database_types(&fixture::catalog(), "the fixture").unwrap()
    }

    #[test]
    fn header_names_the_model() {
        assert!(types().starts_with(
            "// generated — do not edit: run `cargo xtask gen types` (from the model in the fixture)\n"
        ));
    }

    #[test]
    fn nullable_defaulted_and_identity_columns() {
        let ts = types();
        assert!(ts.contains("          description: string | null\n"));
        assert!(ts.contains("          title: string\n          updated_at?: string\n"));
        assert!(ts.contains("          seq?: never\n"));
        assert!(
            ts.contains("          status: Database[\"public\"][\"Enums\"][\"project_status\"]\n")
        );
        assert!(ts.contains("          payload: NonNullable<Json>\n"));
    }

    #[test]
    fn locale_order_puts_underscore_before_digits() {
        let mut v = vec!["a1", "a_b", "ab", "a"];
        v.sort_by(|a, b| locale_cmp(a, b));
        assert_eq!(v, ["a", "a_b", "a1", "ab"]);
    }

    #[test]
    fn one_to_one_relationships() {
        let ts = types();
        assert!(ts.contains(
            "            foreignKeyName: \"project_details_project_id_fkey\"\n            columns: [\"project_id\"]\n            isOneToOne: true\n"
        ));
        assert!(ts.contains(
            "            foreignKeyName: \"project_notes_project_id_fkey\"\n            columns: [\"project_id\"]\n            isOneToOne: false\n"
        ));
    }
}
