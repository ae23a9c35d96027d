//! The current schema: the fold of every release's changes, validated as it is built.
//!
//! This is what the database must look like after all migrations ran; the schema test compares
//! it with the live catalog, and generated types and docs read it.

use crate::model::*;
use crate::Error;

/// Schemas the model refers to but does not own (Supabase's and the compat layer's).
pub const EXTERNAL_SCHEMAS: &[&str] = &["auth", "storage", "realtime", "extensions", "pg_catalog"];

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalog {
    pub schemas: Vec<String>,
    pub extensions: Vec<Extension>,
    pub roles: Vec<Role>,
    pub enums: Vec<Enum>,
    pub tables: Vec<Table>,
    pub partitions: Vec<Partition>,
    pub indexes: Vec<Index>,
    pub functions: Vec<Function>,
    pub triggers: Vec<Trigger>,
    pub policies: Vec<Policy>,
    pub grants: Vec<Grant>,
    /// `(publication, table)`.
    pub publications: Vec<(String, Name)>,
    pub views: Vec<View>,
    pub buckets: Vec<Bucket>,
    /// Supabase Cron jobs, by name.
    pub jobs: Vec<Job>,
}

fn dup(kind: &'static str, name: impl ToString) -> Error {
    Error::Duplicate {
        kind,
        name: name.to_string(),
    }
}

fn unknown(kind: &'static str, name: impl ToString) -> Error {
    Error::Unknown {
        kind,
        name: name.to_string(),
    }
}

impl Catalog {
    /// The indexes on `table`, in creation order.
    pub fn indexes_on(&self, table: &Name) -> Vec<&Index> {
        self.indexes.iter().filter(|i| &i.table == table).collect()
    }

    /// The triggers on `table`, in creation order.
    pub fn triggers_on(&self, table: &Name) -> Vec<&Trigger> {
        self.triggers.iter().filter(|t| &t.table == table).collect()
    }

    /// Folds releases in order, checking each one.
    pub fn from_releases(releases: &[Release]) -> Result<Catalog, Error> {
        let mut catalog = Catalog::default();
        let mut previous: Option<&str> = None;
        for r in releases {
            check_release_header(r, previous)?;
            previous = Some(r.version);
            for c in &r.changes {
                catalog.apply(c).map_err(|e| Error::InRelease {
                    release: r.file_name(),
                    source: Box::new(e),
                })?;
            }
            catalog.check().map_err(|e| Error::InRelease {
                release: r.file_name(),
                source: Box::new(e),
            })?;
        }
        Ok(catalog)
    }

    pub fn table(&self, name: &Name) -> Option<&Table> {
        self.tables.iter().find(|t| &t.name == name)
    }

    fn table_mut(&mut self, name: &Name) -> Result<&mut Table, Error> {
        self.tables
            .iter_mut()
            .find(|t| &t.name == name)
            .ok_or_else(|| unknown("table", name))
    }

    fn has_schema(&self, schema: &str) -> bool {
        schema == "public"
            || EXTERNAL_SCHEMAS.contains(&schema)
            || self.schemas.iter().any(|s| s == schema)
    }

    fn require_schema(&self, n: &Name) -> Result<(), Error> {
        if self.has_schema(&n.schema) {
            Ok(())
        } else {
            Err(unknown("schema", &n.schema))
        }
    }

    fn require_columns(&self, table: &Name, columns: &[String]) -> Result<(), Error> {
        if EXTERNAL_SCHEMAS.contains(&table.schema.as_str()) {
            return Ok(());
        }
        let t = self.table(table).ok_or_else(|| unknown("table", table))?;
        for c in columns {
            if t.find_column(c).is_none() {
                return Err(unknown("column", format!("{table}.{c}")));
            }
        }
        Ok(())
    }

    fn require_type(&self, ty: &SqlType) -> Result<(), Error> {
        match ty {
            SqlType::Enum(n) if !self.enums.iter().any(|e| &e.name == n) => Err(unknown("enum", n)),
            SqlType::Array(inner) => self.require_type(inner),
            _ => Ok(()),
        }
    }

    fn check_table(&self, t: &Table) -> Result<(), Error> {
        self.require_schema(&t.name)?;
        let mut seen = Vec::new();
        for c in &t.columns {
            if seen.contains(&&c.name) {
                return Err(dup("column", format!("{}.{}", t.name, c.name)));
            }
            seen.push(&c.name);
            self.require_type(&c.ty)?;
        }
        for c in &t.constraints {
            self.check_constraint(t, c)?;
        }
        Ok(())
    }

    fn check_constraint(&self, t: &Table, c: &Constraint) -> Result<(), Error> {
        for col in c.columns() {
            if t.find_column(col).is_none() {
                return Err(unknown(
                    "column",
                    format!("{}.{col} (constraint {})", t.name, c.name),
                ));
            }
        }
        if let ConstraintKind::ForeignKey {
            references,
            ref_columns,
            ..
        } = &c.kind
        {
            if references != &t.name {
                self.require_columns(references, ref_columns)?;
            }
        }
        Ok(())
    }

    fn constraint_names(&self) -> impl Iterator<Item = (&Name, &str)> {
        self.tables.iter().flat_map(|t| {
            t.constraints
                .iter()
                .map(move |c| (&t.name, c.name.as_str()))
        })
    }

    /// Relation names (tables, partitions, indexes, views) share one namespace per schema.
    fn relation_exists(&self, n: &Name) -> bool {
        self.tables.iter().any(|t| &t.name == n)
            || self.partitions.iter().any(|p| &p.name == n)
            || self.views.iter().any(|v| &v.name == n)
            || self
                .indexes
                .iter()
                .any(|i| i.table.schema == n.schema && i.name == n.name)
            || self.tables.iter().any(|t| {
                t.name.schema == n.schema
                    && t.constraints.iter().any(|c| {
                        c.name == n.name
                            && matches!(
                                c.kind,
                                ConstraintKind::PrimaryKey(_)
                                    | ConstraintKind::Unique(_)
                                    | ConstraintKind::UniqueNullsNotDistinct(_)
                            )
                    })
            })
    }

    pub fn apply(&mut self, change: &Change) -> Result<(), Error> {
        match change {
            Change::CreateSchema(s) => {
                if self.has_schema(s) {
                    return Err(dup("schema", s));
                }
                self.schemas.push(s.clone());
            }
            Change::CreateExtension(e) => {
                if self.extensions.iter().any(|x| x.name == e.name) {
                    return Err(dup("extension", &e.name));
                }
                self.extensions.push(e.clone());
            }
            Change::CreateRole(r) => {
                if self.roles.iter().any(|x| x.name == r.name) {
                    return Err(dup("role", &r.name));
                }
                self.roles.push(r.clone());
            }
            Change::CreateEnum(e) => {
                self.require_schema(&e.name)?;
                if self.enums.iter().any(|x| x.name == e.name) {
                    return Err(dup("enum", &e.name));
                }
                self.enums.push(e.clone());
            }
            Change::AddEnumValue { name, value } => {
                let e = self
                    .enums
                    .iter_mut()
                    .find(|e| &e.name == name)
                    .ok_or_else(|| unknown("enum", name))?;
                if e.values.contains(value) {
                    return Err(dup("enum value", format!("{name}.{value}")));
                }
                e.values.push(value.clone());
            }
            Change::CreateTable(t) => {
                if self.relation_exists(&t.name) {
                    return Err(dup("relation", &t.name));
                }
                self.check_table(t)?;
                let names: Vec<&str> = t.constraints.iter().map(|c| c.name.as_str()).collect();
                for (i, n) in names.iter().enumerate() {
                    if names[..i].contains(n)
                        || self
                            .constraint_names()
                            .any(|(tn, c)| tn.schema == t.name.schema && c == *n)
                    {
                        return Err(dup("constraint", n));
                    }
                }
                self.tables.push(t.clone());
            }
            Change::AddColumn { table, column } => {
                self.require_type(&column.ty)?;
                let t = self.table_mut(table)?;
                if t.find_column(&column.name).is_some() {
                    return Err(dup("column", format!("{table}.{}", column.name)));
                }
                if column.not_null && column.default.is_none() && !column.identity {
                    return Err(Error::Invalid {
                        what: format!("{table}.{}", column.name),
                        reason: "a not-null column added to an existing table needs a default",
                    });
                }
                t.columns.push(column.clone());
            }
            Change::AddConstraint { table, constraint } => {
                if self
                    .constraint_names()
                    .any(|(tn, c)| tn.schema == table.schema && c == constraint.name)
                {
                    return Err(dup("constraint", &constraint.name));
                }
                let t = self
                    .table(table)
                    .ok_or_else(|| unknown("table", table))?
                    .clone();
                self.check_constraint(&t, constraint)?;
                self.table_mut(table)?.constraints.push(constraint.clone());
            }
            Change::CreatePartition(p) => {
                self.require_schema(&p.name)?;
                if self.relation_exists(&p.name) {
                    return Err(dup("relation", &p.name));
                }
                let parent = self
                    .table(&p.parent)
                    .ok_or_else(|| unknown("table", &p.parent))?;
                if parent.partition_by.is_none() {
                    return Err(Error::Invalid {
                        what: p.parent.to_string(),
                        reason: "it is not partitioned",
                    });
                }
                self.partitions.push(p.clone());
            }
            Change::CreateIndex(i) => {
                let key = Name::new(&i.table.schema, &i.name);
                if self.relation_exists(&key) {
                    return Err(dup("relation", key));
                }
                let cols: Vec<String> = i
                    .keys
                    .iter()
                    .filter_map(|k| k.column().map(String::from))
                    .collect();
                self.require_columns(&i.table, &cols)?;
                self.indexes.push(i.clone());
            }
            Change::DropIndex { table, name } => {
                let before = self.indexes.len();
                self.indexes
                    .retain(|i| !(&i.table == table && &i.name == name));
                if self.indexes.len() == before {
                    return Err(unknown("index", name));
                }
            }
            Change::CreateFunction(f) => {
                self.require_schema(&f.name)?;
                for a in &f.args {
                    self.require_type(&a.ty)?;
                    // PostgreSQL drops an argument's precision: the catalog would not match.
                    if matches!(a.ty, SqlType::Numeric { .. }) {
                        return Err(Error::Invalid {
                            what: format!("{} argument {}", f.name, a.name),
                            reason: "PostgreSQL ignores an argument's precision; use SqlType::AnyNumeric",
                        });
                    }
                }
                let sig = f.signature();
                match self.functions.iter_mut().find(|x| x.name == f.name && x.signature() == sig) {
                    // `create or replace` cannot change the result type; PostgreSQL would refuse.
                    Some(existing) if existing.returns != f.returns => {
                        return Err(Error::Invalid {
                            what: f.name.to_string(),
                            reason: "create or replace cannot change the return type; add a function with a new name",
                        })
                    }
                    Some(existing) => *existing = f.clone(),
                    None => self.functions.push(f.clone()),
                }
            }
            Change::CreateTrigger(t) => {
                if !EXTERNAL_SCHEMAS.contains(&t.table.schema.as_str())
                    && self.table(&t.table).is_none()
                {
                    return Err(unknown("table", &t.table));
                }
                if !self
                    .functions
                    .iter()
                    .any(|f| f.name == t.function && f.returns == Returns::Trigger)
                {
                    return Err(unknown("trigger function", &t.function));
                }
                if self
                    .triggers
                    .iter()
                    .any(|x| x.table == t.table && x.name == t.name)
                {
                    return Err(dup("trigger", format!("{} on {}", t.name, t.table)));
                }
                self.triggers.push(t.clone());
            }
            Change::CreatePolicy(p) => {
                if !EXTERNAL_SCHEMAS.contains(&p.table.schema.as_str())
                    && self.table(&p.table).is_none()
                {
                    return Err(unknown("table", &p.table));
                }
                if p.roles.is_empty() {
                    return Err(Error::Invalid {
                        what: p.name.clone(),
                        reason: "a policy must name its roles",
                    });
                }
                if self
                    .policies
                    .iter()
                    .any(|x| x.table == p.table && x.name == p.name)
                {
                    return Err(dup("policy", format!("{} on {}", p.name, p.table)));
                }
                self.policies.push(p.clone());
            }
            Change::DropPolicy { table, name } => {
                let before = self.policies.len();
                self.policies
                    .retain(|p| !(&p.table == table && &p.name == name));
                if self.policies.len() == before {
                    return Err(unknown("policy", name));
                }
            }
            Change::Grant(g) => self.grants.push(g.clone()),
            Change::AddToPublication { publication, table } => {
                if self.table(table).is_none() {
                    return Err(unknown("table", table));
                }
                if self
                    .publications
                    .iter()
                    .any(|(p, t)| p == publication && t == table)
                {
                    return Err(dup("publication member", table));
                }
                self.publications.push((publication.clone(), table.clone()));
            }
            Change::DropFromPublication { publication, table } => {
                let before = self.publications.len();
                self.publications
                    .retain(|(p, t)| !(p == publication && t == table));
                if self.publications.len() == before {
                    return Err(unknown("publication member", table));
                }
            }
            Change::CreateView(v) => match self.views.iter_mut().find(|x| x.name == v.name) {
                Some(existing) => *existing = v.clone(),
                None => {
                    if self.relation_exists(&v.name) {
                        return Err(dup("relation", &v.name));
                    }
                    self.views.push(v.clone())
                }
            },
            Change::CreateBucket(b) => match self.buckets.iter_mut().find(|x| x.id == b.id) {
                Some(existing) => *existing = b.clone(),
                None => self.buckets.push(b.clone()),
            },
            Change::Insert(i) => {
                self.require_columns(&i.table, &i.columns)?;
                self.require_columns(&i.table, &i.conflict_target)?;
                if i.rows.iter().any(|r| r.len() != i.columns.len()) {
                    return Err(Error::Invalid {
                        what: i.table.to_string(),
                        reason: "a seed row has the wrong number of values",
                    });
                }
            }
            Change::Schedule(job) => {
                check_job(job)?;
                if let JobCommand::CallFunction { .. } = job.command {
                    let (schema, name) = CALL_EDGE_FUNCTION;
                    if self.function(&Name::new(schema, name)).is_none() {
                        return Err(unknown("function", format!("{schema}.{name}")));
                    }
                }
                match self.jobs.iter_mut().find(|j| j.name == job.name) {
                    Some(existing) => *existing = job.clone(),
                    None => self.jobs.push(job.clone()),
                }
            }
            Change::Unschedule(name) => {
                let before = self.jobs.len();
                self.jobs.retain(|j| j.name != *name);
                if self.jobs.len() == before {
                    return Err(unknown("job", name));
                }
            }
            Change::Statement(_) => {}
        }
        Ok(())
    }

    /// Invariants that hold after every release: every foreign key is covered by an index
    /// (so deletes on the parent and joins do not scan), and no two indexes are the same.
    pub fn check(&self) -> Result<(), Error> {
        for t in &self.tables {
            let leading: Vec<Vec<String>> = self.index_columns(&t.name);
            for c in &t.constraints {
                if let ConstraintKind::ForeignKey { columns, .. } = &c.kind {
                    let covered = leading.iter().any(|cols| {
                        cols.len() >= columns.len() && &cols[..columns.len()] == columns.as_slice()
                    });
                    if !covered {
                        return Err(Error::Invalid {
                            what: format!("{} ({})", t.name, c.name),
                            reason:
                                "foreign key without an index that starts with its columns; add one",
                        });
                    }
                }
            }
        }
        let mut seen: Vec<(&Name, String)> = Vec::new();
        for t in &self.tables {
            for c in &t.constraints {
                if let ConstraintKind::PrimaryKey(cols)
                | ConstraintKind::Unique(cols)
                | ConstraintKind::UniqueNullsNotDistinct(cols) = &c.kind
                {
                    seen.push((&t.name, format!("btree {cols:?} where None")));
                }
            }
        }
        for i in &self.indexes {
            let keys: Vec<String> = i
                .keys
                .iter()
                .map(|k| match k {
                    IndexKey::Column(c) => c.clone(),
                    other => format!("{other:?}"),
                })
                .collect();
            let signature = format!("{} {keys:?} where {:?}", i.method.as_str(), i.predicate);
            if seen.iter().any(|(t, s)| *t == &i.table && *s == signature) {
                return Err(Error::Invalid {
                    what: i.name.clone(),
                    reason: "duplicate of another index or key on the same columns",
                });
            }
            seen.push((&i.table, signature));
        }
        Ok(())
    }

    /// Column lists of every btree index usable for a foreign key on `table`: primary keys,
    /// unique constraints and full (non-partial) plain btree indexes.
    fn index_columns(&self, table: &Name) -> Vec<Vec<String>> {
        let mut out = Vec::new();
        if let Some(t) = self.table(table) {
            for c in &t.constraints {
                if let ConstraintKind::PrimaryKey(cols)
                | ConstraintKind::Unique(cols)
                | ConstraintKind::UniqueNullsNotDistinct(cols) = &c.kind
                {
                    out.push(cols.clone());
                }
            }
        }
        for i in self.indexes.iter().filter(|i| {
            &i.table == table && i.method == IndexMethod::Btree && i.predicate.is_none()
        }) {
            let cols: Vec<String> = i
                .keys
                .iter()
                .map_while(|k| k.column().map(String::from))
                .collect();
            out.push(cols);
        }
        out
    }

    /// The execute grantees of a function, as the model declares them.
    pub fn function(&self, name: &Name) -> Option<&Function> {
        self.functions.iter().find(|f| &f.name == name)
    }
}

/// A job's name and schedule in the forms both pg_cron 1.4 (Debian) and hosted's accept.
fn check_job(job: &Job) -> Result<(), Error> {
    let invalid = |reason| Error::Invalid {
        what: format!("job {}", job.name),
        reason,
    };
    let name_ok = |n: &str| {
        !n.is_empty()
            && n.len() <= 63
            && n.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    if !name_ok(job.name) {
        return Err(invalid(
            "a job name is 1 to 63 lowercase letters, digits and dashes",
        ));
    }
    let fields: Vec<&str> = job.schedule.split(' ').collect();
    if fields.len() != 5
        || fields.iter().any(|f| {
            f.is_empty()
                || !f
                    .bytes()
                    .all(|b| b.is_ascii_digit() || matches!(b, b'*' | b',' | b'-' | b'/'))
        })
    {
        return Err(invalid(
            "a schedule is five fields separated by one space, each of digits, *, comma, - and /: no seconds, no $, no names (Debian's pg_cron 1.4 and hosted's newer one both accept these)",
        ));
    }
    if let JobCommand::CallFunction { function, body } = &job.command {
        if !name_ok(function) {
            return Err(invalid(
                "an edge function name is lowercase letters, digits and dashes",
            ));
        }
        let b = body.trim();
        if !(b.starts_with('{') && b.ends_with('}')) {
            return Err(invalid("a function call's body is a JSON object"));
        }
    }
    Ok(())
}

fn check_release_header(r: &Release, previous: Option<&str>) -> Result<(), Error> {
    if r.version.len() != 14 || !r.version.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::Invalid {
            what: r.file_name(),
            reason: "a release version is 14 digits (YYYYMMDDHHMMSS)",
        });
    }
    if r.name.is_empty()
        || !r
            .name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(Error::Invalid {
            what: r.file_name(),
            reason: "a release name is snake_case",
        });
    }
    if let Some(p) = previous {
        if r.version <= p {
            return Err(Error::Invalid {
                what: r.file_name(),
                reason: "release versions must strictly increase",
            });
        }
    }
    Ok(())
}
