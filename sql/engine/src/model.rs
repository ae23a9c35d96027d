//! The model: plain data describing database objects. Rendering lives in `render`, the fold of
//! changes into a current schema in `catalog`.

use std::fmt;

/// A schema-qualified name. Every object of the model is qualified, so migrations never depend
/// on `search_path`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name {
    pub schema: String,
    pub name: String,
}

impl Name {
    pub fn new(schema: &str, name: &str) -> Self {
        Name {
            schema: schema.into(),
            name: name.into(),
        }
    }
}

/// `public.<name>`.
pub fn public(name: &str) -> Name {
    Name::new("public", name)
}

impl fmt::Display for Name {
    /// Unquoted, for messages and reports (SQL goes through `quote::ident`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.schema, self.name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeoShape {
    Point,
    Polygon,
    MultiPolygon,
}

impl GeoShape {
    pub fn as_str(self) -> &'static str {
        match self {
            GeoShape::Point => "Point",
            GeoShape::Polygon => "Polygon",
            GeoShape::MultiPolygon => "MultiPolygon",
        }
    }
}

/// Column and argument types. Rendered in the spelling of `format_type()` so the catalog reads
/// back exactly what the model says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqlType {
    Uuid,
    Text,
    Integer,
    BigInt,
    SmallInt,
    Boolean,
    Numeric {
        precision: u8,
        scale: u8,
    },
    /// `numeric` without precision: for function arguments, whose precision PostgreSQL ignores.
    AnyNumeric,
    Timestamptz,
    Date,
    Interval,
    Jsonb,
    Bytea,
    Inet,
    /// A user-defined enum (see [`Enum`]).
    Enum(Name),
    /// PostGIS geography, installed in schema `extensions`.
    Geography {
        shape: GeoShape,
        srid: u32,
    },
    Array(Box<SqlType>),
}

/// A SQL expression, for defaults, checks, index predicates and policies.
///
/// Only [`Expr::Sql`] carries raw SQL, and it takes `&'static str`: text written in this
/// repository at compile time. Anything computed at run time must arrive as a literal or an
/// identifier, which are always escaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// Trusted SQL from the source code of this repository.
    Sql(&'static str),
    /// A string literal.
    Text(String),
    Int(i64),
    Bool(bool),
    Null,
    /// A column of the current row.
    Column(String),
    /// A call of a schema-qualified function.
    Call(Name, Vec<Expr>),
    Cast(Box<Expr>, SqlType),
    /// `(select <expr>)`: evaluated once per statement (an init plan), as Supabase recommends
    /// for `auth.uid()` and helper functions in policies.
    Select(Box<Expr>),
    Eq(Box<Expr>, Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
}

impl Expr {
    pub fn text(s: &str) -> Expr {
        Expr::Text(s.into())
    }
    pub fn column(s: &str) -> Expr {
        Expr::Column(s.into())
    }
    pub fn call(schema: &str, name: &str, args: Vec<Expr>) -> Expr {
        Expr::Call(Name::new(schema, name), args)
    }
    pub fn cast(self, ty: SqlType) -> Expr {
        Expr::Cast(Box::new(self), ty)
    }
    pub fn select(self) -> Expr {
        Expr::Select(Box::new(self))
    }
    pub fn eq(self, other: Expr) -> Expr {
        Expr::Eq(Box::new(self), Box::new(other))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub ty: SqlType,
    pub not_null: bool,
    pub default: Option<Expr>,
    /// `generated always as identity`.
    pub identity: bool,
    /// Never copied in clear into `audit_logs` (the audit trigger redacts it).
    pub secret: bool,
    pub comment: Option<String>,
    /// A squawk rule waived for this column, rendered with its reason right above the column.
    pub lint_ignore: Option<LintIgnore>,
}

/// A squawk rule that does not apply to one column, and why (one line, shown in the migration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LintIgnore {
    pub rule: &'static str,
    pub reason: &'static str,
}

impl Column {
    /// A nullable column without default.
    pub fn new(name: &str, ty: SqlType) -> Self {
        Column {
            name: name.into(),
            ty,
            not_null: false,
            default: None,
            identity: false,
            secret: false,
            comment: None,
            lint_ignore: None,
        }
    }
    pub fn not_null(mut self) -> Self {
        self.not_null = true;
        self
    }
    pub fn default(mut self, expr: Expr) -> Self {
        self.default = Some(expr);
        self
    }
    pub fn identity(mut self) -> Self {
        self.identity = true;
        self.not_null = true;
        self
    }
    pub fn secret(mut self) -> Self {
        self.secret = true;
        self
    }
    pub fn comment(mut self, text: &str) -> Self {
        self.comment = Some(text.into());
        self
    }
    /// Waives squawk's `rule` for this column; `reason` says why it does not apply.
    pub fn lint_ignore(mut self, rule: &'static str, reason: &'static str) -> Self {
        self.lint_ignore = Some(LintIgnore { rule, reason });
        self
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnDelete {
    NoAction,
    Restrict,
    Cascade,
    SetNull,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConstraintKind {
    PrimaryKey(Vec<String>),
    Unique(Vec<String>),
    /// `unique nulls not distinct (...)` (PostgreSQL 15): one row per key even when parts are null.
    UniqueNullsNotDistinct(Vec<String>),
    ForeignKey {
        columns: Vec<String>,
        references: Name,
        ref_columns: Vec<String>,
        on_delete: OnDelete,
    },
    Check(Expr),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constraint {
    pub name: String,
    pub kind: ConstraintKind,
}

impl Constraint {
    /// The columns an index must lead with for this constraint to be cheap to check (foreign
    /// keys) or that the constraint's own index covers (primary keys, unique).
    pub fn columns(&self) -> &[String] {
        match &self.kind {
            ConstraintKind::PrimaryKey(c)
            | ConstraintKind::Unique(c)
            | ConstraintKind::UniqueNullsNotDistinct(c) => c,
            ConstraintKind::ForeignKey { columns, .. } => columns,
            ConstraintKind::Check(_) => &[],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartitionBy {
    Range(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub name: Name,
    pub columns: Vec<Column>,
    pub constraints: Vec<Constraint>,
    pub partition_by: Option<PartitionBy>,
    pub comment: Option<String>,
}

fn joined(columns: &[&str]) -> String {
    columns.join("_")
}

fn owned(columns: &[&str]) -> Vec<String> {
    columns.iter().map(|c| c.to_string()).collect()
}

impl Table {
    pub fn new(name: Name) -> Self {
        Table {
            name,
            columns: Vec::new(),
            constraints: Vec::new(),
            partition_by: None,
            comment: None,
        }
    }
    pub fn comment(mut self, text: &str) -> Self {
        self.comment = Some(text.into());
        self
    }
    pub fn column(mut self, column: Column) -> Self {
        self.columns.push(column);
        self
    }
    /// Named `<table>_pkey`, as PostgreSQL would.
    pub fn primary_key(mut self, columns: &[&str]) -> Self {
        let name = format!("{}_pkey", self.name.name);
        self.constraints.push(Constraint {
            name,
            kind: ConstraintKind::PrimaryKey(owned(columns)),
        });
        self
    }
    /// Named `<table>_<columns>_key`.
    pub fn unique(mut self, columns: &[&str]) -> Self {
        let name = format!("{}_{}_key", self.name.name, joined(columns));
        self.constraints.push(Constraint {
            name,
            kind: ConstraintKind::Unique(owned(columns)),
        });
        self
    }
    /// Named `<table>_<columns>_key`; nulls count as equal.
    pub fn unique_nulls_not_distinct(mut self, columns: &[&str]) -> Self {
        let name = format!("{}_{}_key", self.name.name, joined(columns));
        self.constraints.push(Constraint {
            name,
            kind: ConstraintKind::UniqueNullsNotDistinct(owned(columns)),
        });
        self
    }
    /// Named `<table>_<columns>_fkey`.
    pub fn foreign_key(
        mut self,
        columns: &[&str],
        references: Name,
        ref_columns: &[&str],
        on_delete: OnDelete,
    ) -> Self {
        let name = format!("{}_{}_fkey", self.name.name, joined(columns));
        self.constraints.push(Constraint {
            name,
            kind: ConstraintKind::ForeignKey {
                columns: owned(columns),
                references,
                ref_columns: owned(ref_columns),
                on_delete,
            },
        });
        self
    }
    /// Named `<table>_<what>_check`.
    pub fn check(mut self, what: &str, expr: Expr) -> Self {
        let name = format!("{}_{what}_check", self.name.name);
        self.constraints.push(Constraint {
            name,
            kind: ConstraintKind::Check(expr),
        });
        self
    }
    pub fn partition_by_range(mut self, columns: &[&str]) -> Self {
        self.partition_by = Some(PartitionBy::Range(owned(columns)));
        self
    }
    pub fn find_column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
    /// Columns the audit trigger must redact.
    pub fn secret_columns(&self) -> Vec<String> {
        self.columns
            .iter()
            .filter(|c| c.secret)
            .map(|c| c.name.clone())
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartitionBound {
    Default,
    /// `for values from (<from>) to (<to>)`, as literals of the partition key's type.
    Range {
        from: String,
        to: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    pub name: Name,
    pub parent: Name,
    pub bound: PartitionBound,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexMethod {
    Btree,
    Gin,
    Gist,
}

impl IndexMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            IndexMethod::Btree => "btree",
            IndexMethod::Gin => "gin",
            IndexMethod::Gist => "gist",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexKey {
    Column(String),
    Desc(String),
    Expr(Expr),
}

impl IndexKey {
    /// The column this key is on, when it is a plain column.
    pub fn column(&self) -> Option<&str> {
        match self {
            IndexKey::Column(c) | IndexKey::Desc(c) => Some(c),
            IndexKey::Expr(_) => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    pub name: String,
    pub table: Name,
    pub unique: bool,
    pub method: IndexMethod,
    pub keys: Vec<IndexKey>,
    pub predicate: Option<Expr>,
}

impl Index {
    /// A btree index on `columns`, named `<table>_<columns>_idx`.
    pub fn on(table: &Name, columns: &[&str]) -> Self {
        Index {
            name: format!("{}_{}_idx", table.name, joined(columns)),
            table: table.clone(),
            unique: false,
            method: IndexMethod::Btree,
            keys: columns
                .iter()
                .map(|c| IndexKey::Column(c.to_string()))
                .collect(),
            predicate: None,
        }
    }
    pub fn named(mut self, name: &str) -> Self {
        self.name = name.into();
        self
    }
    pub fn unique(mut self) -> Self {
        self.unique = true;
        self
    }
    pub fn method(mut self, method: IndexMethod) -> Self {
        self.method = method;
        self
    }
    pub fn keys(mut self, keys: Vec<IndexKey>) -> Self {
        self.keys = keys;
        self
    }
    pub fn r#where(mut self, predicate: Expr) -> Self {
        self.predicate = Some(predicate);
        self
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Plpgsql,
    Sql,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Volatility {
    Immutable,
    Stable,
    Volatile,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    Invoker,
    /// Runs with the owner's rights; only for functions that must read or write what the caller
    /// may not (helpers called from policies, the audit writer, the token decryptor).
    Definer,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arg {
    pub name: String,
    pub ty: SqlType,
    pub default: Option<Expr>,
}

impl Arg {
    pub fn new(name: &str, ty: SqlType) -> Self {
        Arg {
            name: name.into(),
            ty,
            default: None,
        }
    }
    pub fn default(mut self, expr: Expr) -> Self {
        self.default = Some(expr);
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Returns {
    Type(SqlType),
    /// `returns table (...)`.
    Table(Vec<(String, SqlType)>),
    Trigger,
    Void,
}

/// The `search_path` every function runs with. `pg_temp` is named last on purpose: left out, as
/// in `''`, PostgreSQL searches the session's temporary schema first for relation and type names,
/// so a caller's temp table or domain would shadow what the body means. `pg_catalog` first makes
/// built-in names (`text`, `jsonb`) the built-ins; everything else must be schema-qualified.
pub const FUNCTION_SEARCH_PATH: &str = "pg_catalog, pg_temp";

/// A function. [`FUNCTION_SEARCH_PATH`] is not optional: every function gets it, so the body
/// must schema-qualify everything it touches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    pub name: Name,
    pub args: Vec<Arg>,
    pub returns: Returns,
    pub language: Language,
    pub volatility: Volatility,
    pub security: Security,
    pub body: &'static str,
    /// Roles granted `execute`; it is revoked from everyone else (`public`, `anon`,
    /// `authenticated`, `service_role`) first.
    pub execute: Vec<String>,
    pub comment: Option<String>,
}

impl Function {
    pub fn new(name: Name, returns: Returns, body: &'static str) -> Self {
        Function {
            name,
            args: Vec::new(),
            returns,
            language: Language::Plpgsql,
            volatility: Volatility::Volatile,
            security: Security::Invoker,
            body,
            execute: Vec::new(),
            comment: None,
        }
    }
    pub fn arg(mut self, arg: Arg) -> Self {
        self.args.push(arg);
        self
    }
    pub fn language(mut self, language: Language) -> Self {
        self.language = language;
        self
    }
    pub fn volatility(mut self, volatility: Volatility) -> Self {
        self.volatility = volatility;
        self
    }
    pub fn security_definer(mut self) -> Self {
        self.security = Security::Definer;
        self
    }
    pub fn execute(mut self, roles: &[&str]) -> Self {
        self.execute = owned(roles);
        self
    }
    pub fn comment(mut self, text: &str) -> Self {
        self.comment = Some(text.into());
        self
    }
    /// The argument types that identify the function (for grants and `create or replace`).
    pub fn signature(&self) -> Vec<SqlType> {
        self.args.iter().map(|a| a.ty.clone()).collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timing {
    Before,
    After,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Insert,
    Update,
    UpdateOf(Vec<String>),
    Delete,
    Truncate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Row,
    Statement,
    /// For each statement, with the statement's rows as transition tables: `old_rows` (update,
    /// delete) and `new_rows` (insert, update). PostgreSQL allows them only on single-event
    /// triggers without a column list.
    StatementWithRows,
    /// For each row, at commit: a constraint trigger, `deferrable initially deferred` (after
    /// triggers only), so it sees everything the transaction wrote.
    RowAtCommit,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trigger {
    pub name: String,
    pub table: Name,
    pub timing: Timing,
    pub events: Vec<Event>,
    pub level: Level,
    pub function: Name,
    /// Passed to the function as `tg_argv`, always as string literals.
    pub args: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Command {
    All,
    Select,
    Insert,
    Update,
    Delete,
}

impl Command {
    pub fn as_str(self) -> &'static str {
        match self {
            Command::All => "all",
            Command::Select => "select",
            Command::Insert => "insert",
            Command::Update => "update",
            Command::Delete => "delete",
        }
    }
}

/// A row-level security policy (the access matrix of the security model renders to these).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub name: String,
    pub table: Name,
    pub command: Command,
    pub permissive: bool,
    pub roles: Vec<String>,
    pub using: Option<Expr>,
    pub with_check: Option<Expr>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Privilege {
    Select,
    Insert,
    Update,
    Delete,
    Truncate,
    References,
    Trigger,
    Usage,
    Execute,
    All,
}

impl Privilege {
    pub fn as_str(self) -> &'static str {
        match self {
            Privilege::Select => "select",
            Privilege::Insert => "insert",
            Privilege::Update => "update",
            Privilege::Delete => "delete",
            Privilege::Truncate => "truncate",
            Privilege::References => "references",
            Privilege::Trigger => "trigger",
            Privilege::Usage => "usage",
            Privilege::Execute => "execute",
            Privilege::All => "all",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantObject {
    Table(Name),
    /// Column privileges: `grant update (a, b) on table t`.
    Columns(Name, Vec<String>),
    Schema(String),
    Function(Name, Vec<SqlType>),
}

/// `grant` or (with `revoke: true`) `revoke`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub privileges: Vec<Privilege>,
    pub object: GrantObject,
    pub roles: Vec<String>,
    pub revoke: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enum {
    pub name: Name,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    pub name: String,
    pub schema: String,
}

/// A cluster-wide role, created only when missing (other databases of the cluster may have it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub name: String,
    pub login: bool,
    /// Roles that may `set role` to this one (e.g. `authenticator`).
    pub member_of_granted_to: Vec<String>,
    /// Roles this one is a member of and inherits privileges and policies from (e.g. a business
    /// role inherits `authenticated`).
    pub inherits: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    pub name: Name,
    /// Always true for views in exposed schemas: the caller's RLS applies, not the owner's.
    pub security_invoker: bool,
    pub query: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    pub id: String,
    pub public: bool,
    pub file_size_limit: Option<i64>,
    pub allowed_mime_types: Vec<String>,
}

/// The function that queues a scheduled call of an edge function (through pg_net, with the
/// scheduled-call secret read from Vault) and records its request id so its answer is judged.
/// [`JobCommand::CallFunction`] renders to a call of it; the release that schedules such a job
/// must create it first.
pub const CALL_EDGE_FUNCTION: (&str, &str) = ("private", "call_edge_function");

/// What a scheduled job runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobCommand {
    /// Trusted SQL from this repository.
    Sql(&'static str),
    /// `POST /functions/v1/<function>` with a JSON `body` (an object, written in this repository).
    CallFunction {
        function: &'static str,
        body: &'static str,
    },
}

/// A Supabase Cron job: a pg_cron job scheduled by name. Scheduling a name again replaces the job
/// (pg_cron's `cron.schedule(name, ...)` is an upsert), so rendering is idempotent and a later
/// release changes a job by scheduling it again; [`Change::Unschedule`] removes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Lowercase letters, digits and dashes.
    pub name: &'static str,
    /// Five-field cron (minute hour day-of-month month day-of-week) in UTC, with digits, `*`,
    /// `,`, `-` and `/` only: the syntax both Debian's pg_cron 1.4 and hosted's newer one accept
    /// (no seconds, no `$`, no names).
    pub schedule: &'static str,
    pub command: JobCommand,
    /// What the job is for (for docs/schema.md).
    pub comment: &'static str,
}

/// Rows of reference data (seeded roles, permissions); conflicting rows are left alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Insert {
    pub table: Name,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Expr>>,
    /// Columns of the unique constraint whose conflicts skip a row; empty: any conflict does.
    pub conflict_target: Vec<String>,
}

/// One step of the schema's history. Releases are ordered lists of these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    CreateSchema(String),
    CreateExtension(Extension),
    CreateRole(Role),
    CreateEnum(Enum),
    AddEnumValue {
        name: Name,
        value: String,
    },
    CreateTable(Table),
    AddColumn {
        table: Name,
        column: Column,
    },
    AddConstraint {
        table: Name,
        constraint: Constraint,
    },
    CreatePartition(Partition),
    CreateIndex(Index),
    DropIndex {
        table: Name,
        name: String,
    },
    /// `create or replace function`, with its grants.
    CreateFunction(Function),
    CreateTrigger(Trigger),
    CreatePolicy(Policy),
    DropPolicy {
        table: Name,
        name: String,
    },
    Grant(Grant),
    AddToPublication {
        publication: String,
        table: Name,
    },
    /// `alter publication ... drop table ...`.
    DropFromPublication {
        publication: String,
        table: Name,
    },
    CreateView(View),
    CreateBucket(Bucket),
    Insert(Insert),
    /// `cron.schedule(name, schedule, command)`: creates or replaces a job.
    Schedule(Job),
    /// Removes the job of this name if it is scheduled.
    Unschedule(&'static str),
    /// A trusted statement from this repository's source for what the model has no type for
    /// (e.g. calling a function once). It does not change the folded catalog.
    Statement(&'static str),
}

/// A named, versioned list of changes: one migration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    /// 14 digits (`YYYYMMDDHHMMSS`), chosen by hand, strictly increasing.
    pub version: &'static str,
    /// snake_case; the file is `<version>_<name>.sql`.
    pub name: &'static str,
    pub summary: &'static str,
    pub changes: Vec<Change>,
}

impl Release {
    pub fn file_name(&self) -> String {
        format!("{}_{}.sql", self.version, self.name)
    }
}
