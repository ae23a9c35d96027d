//! Measuring effective access: run an operation as a persona (as PostgREST would), inside a
//! transaction that is always rolled back, and record what happened; then compare it with what
//! the access matrix declares.
//!
//! Every probe works on a "universe" of rows (the demo rows of a table, or of a bucket, as
//! `postgres` sees them). A select records which of them came back; an update or delete is
//! tried row by row (each in its own savepoint) and records which rows it changed; an insert
//! tries a row the persona owns and one that belongs to someone else.

use std::collections::BTreeSet;
use std::fmt::Write;
use std::sync::OnceLock;

use postgres::Client;
use sql::access::{Access, Action, Declared, Entry, Persona};
use sql::moha::security::permissions;

use crate::personas;

/// Rows added to the demo data for the effective tests (`probe_rows.sql`): something of every
/// kind for each persona a rule reaches, so each rule shows a row it admits.
pub const PROBE_ROWS: &str = include_str!("probe_rows.sql");

/// The personas, their demo data and [`PROBE_ROWS`], as `postgres`.
pub fn seed(c: &mut Client) -> anyhow::Result<()> {
    personas::create(c, true)?;
    c.batch_execute(PROBE_ROWS)?;
    Ok(())
}

/// The entries as they reach `persona`: a rule that requires a capability the persona's RBAC
/// role lacks (`Rule::requires`), or that chooses among capabilities it holds none of
/// (`Rule::one_of`), gives it nothing, so its declared access is measured without it (a
/// Client's `blog_posts` insert is denied, not a rule that admits nothing); a rule choosing among
/// capabilities it holds all of gives it every row (an Admin decides every proposal).
pub fn reachable(persona: &Persona, entries: &[Entry]) -> Vec<Entry> {
    let role = personas::user(persona.name).map(|u| u.role);
    // `public.permissions` as the matrix implies it (table access plus the capabilities).
    static HELD: OnceLock<Vec<(&'static str, String)>> = OnceLock::new();
    let held = HELD.get_or_init(permissions);
    let holds = |p: &str| role.is_some_and(|r| held.iter().any(|(hr, hp)| *hr == r && hp == p));
    entries
        .iter()
        .filter_map(|e| match e.access {
            Access::All => Some(e.clone()),
            Access::Rule(r) if !r.requires.iter().all(|p| holds(p)) => None,
            Access::Rule(r) if r.one_of.is_empty() => Some(e.clone()),
            Access::Rule(r) if !r.one_of.iter().any(|p| holds(p)) => None,
            Access::Rule(r) if r.one_of.iter().all(|p| holds(p)) => Some(Entry {
                access: Access::All,
                ..e.clone()
            }),
            Access::Rule(_) => Some(e.clone()),
        })
        .collect()
}

/// What a probe touches: rows of `from` matching `scope`, each named by `label`.
pub struct Target {
    /// Shown in reports, e.g. `projects` or `renders`.
    pub name: String,
    /// A trusted relation name, e.g. `public.projects`.
    pub from: String,
    /// A trusted filter, e.g. `bucket_id = 'renders'` (or `true`).
    pub scope: String,
    /// A trusted expression naming a row.
    pub label: String,
    /// A trusted `set` list that changes nothing the policies care about.
    pub update_set: String,
}

/// Insert candidates: a statement whose `$1` is the owner key (or no parameter).
pub enum InsertProbe {
    /// The table has no owner: one statement.
    Ownerless(String),
    /// `own`: a key the persona owns (none when it owns nothing of the kind); `foreign`: a key
    /// that belongs to someone else.
    Owned {
        sql: String,
        own: Option<String>,
        foreign: String,
    },
}

/// The result of one probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Rows (by label) the operation saw or changed. Rows blocked only by an integrity
    /// constraint count as allowed (access control let them through) and carry `!`.
    Rows(BTreeSet<String>),
    /// The statement failed for every row with this SQLSTATE (e.g. 42501: no privilege).
    Denied(String),
    /// Some rows failed with a SQLSTATE that is neither a refusal nor an integrity error (an
    /// undefined column, a typo in the probe): never what the matrix declares.
    Broken(String),
    /// Insert: (own, foreign) results; `None` when the persona owns nothing to try.
    Insert {
        own: Option<Result<(), String>>,
        foreign: Result<(), String>,
    },
}

fn sqlstate(e: &postgres::Error) -> String {
    e.code()
        .map(|c| c.code().to_string())
        .unwrap_or_else(|| format!("no SQLSTATE: {e}"))
}

/// Integrity-constraint violations (class 23): the operation passed access control.
fn is_integrity(code: &str) -> bool {
    code.starts_with("23")
}

/// The universe: `(key, label)` of every row of `target` as `postgres` sees them.
pub fn universe(c: &mut Client, target: &Target) -> Vec<(String, String)> {
    let q = format!(
        "select id::text, ({})::text from {} where {} order by 2",
        target.label, target.from, target.scope
    );
    c.query(&q, &[])
        .unwrap_or_else(|e| panic!("{q}: {e}"))
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

/// Addresses one row by the key `universe` returns: every table of the model has an `id`.
const ROW: &str = "id::text = $1";

/// Runs `op` as `persona` in a transaction and rolls it back.
fn as_persona<T>(
    c: &mut Client,
    persona: &Persona,
    op: impl FnOnce(&mut postgres::Transaction<'_>) -> T,
) -> T {
    let mut tx = c.transaction().expect("begin");
    // Storage's tables refuse deletes that do not come from the Storage server
    // (`storage.protect_delete`); the probes speak for it, so policies decide.
    tx.batch_execute("select pg_catalog.set_config('storage.allow_delete_query', 'true', true)")
        .expect("mark the transaction as the Storage server's");
    personas::act_as(&mut tx, persona).expect("switch to the persona");
    let out = op(&mut tx);
    tx.rollback().expect("rollback");
    out
}

/// Tries `action` on `target` as `persona`. Rows are addressed by `id`, read beforehand as
/// `postgres`.
pub fn probe(
    c: &mut Client,
    persona: &Persona,
    target: &Target,
    action: Action,
    insert: &InsertProbe,
    universe: &[(String, String)],
) -> Outcome {
    match action {
        Action::Select => {
            let q = format!(
                "select ({})::text from {} where {}",
                target.label, target.from, target.scope
            );
            as_persona(c, persona, |tx| match tx.query(&q, &[]) {
                Ok(rows) => Outcome::Rows(rows.iter().map(|r| r.get(0)).collect()),
                Err(e) => Outcome::Denied(sqlstate(&e)),
            })
        }
        Action::Update | Action::Delete => {
            let q = match action {
                Action::Update => format!(
                    "update {} set {} where {ROW} and {}",
                    target.from, target.update_set, target.scope
                ),
                _ => format!(
                    "delete from {} where {ROW} and {}",
                    target.from, target.scope
                ),
            };
            as_persona(c, persona, |tx| {
                let mut allowed = BTreeSet::new();
                let mut codes = BTreeSet::new();
                for (key, label) in universe {
                    tx.batch_execute("savepoint probe").expect("savepoint");
                    match tx.execute(&q, &[key]) {
                        Ok(n) if n > 0 => {
                            allowed.insert(label.clone());
                        }
                        Ok(_) => {}
                        Err(e) if is_integrity(&sqlstate(&e)) => {
                            allowed.insert(format!("{label}!"));
                        }
                        Err(e) => {
                            codes.insert(sqlstate(&e));
                        }
                    }
                    tx.batch_execute("rollback to savepoint probe")
                        .expect("rollback to savepoint");
                }
                if let Some(odd) = codes.iter().find(|c| *c != REFUSED) {
                    Outcome::Broken(odd.clone())
                } else if allowed.is_empty() && codes.len() == 1 && !universe.is_empty() {
                    Outcome::Denied(codes.into_iter().next().unwrap())
                } else {
                    Outcome::Rows(allowed)
                }
            })
        }
        Action::Insert => {
            let try_one = |c: &mut Client, sql: &str, key: Option<&String>| {
                as_persona(c, persona, |tx| {
                    let r = match key {
                        Some(k) => tx.execute(sql, &[k]),
                        None => tx.execute(sql, &[]),
                    };
                    match r {
                        Ok(n) if n > 0 => Ok(()),
                        Ok(_) => Err("0 rows".to_string()),
                        Err(e) if is_integrity(&sqlstate(&e)) => Ok(()),
                        Err(e) => Err(sqlstate(&e)),
                    }
                })
            };
            match insert {
                InsertProbe::Ownerless(sql) => Outcome::Insert {
                    own: None,
                    foreign: try_one(c, sql, None),
                },
                InsertProbe::Owned { sql, own, foreign } => Outcome::Insert {
                    own: own.as_ref().map(|k| try_one(c, sql, Some(k))),
                    foreign: try_one(c, sql, Some(foreign)),
                },
            }
        }
    }
}

/// The SQLSTATE PostgreSQL gives a refusal by privilege or by a policy's check. Any other error
/// (an undefined column, a typo in a probe) is a broken probe, never a refusal.
pub const REFUSED: &str = "42501";

/// Whether `outcome` is what `declared` promises: deny → nothing (refusals by their SQLSTATE);
/// all → every row (every candidate); rules → some rows but not all, so each rule shows a row it
/// admits and a row it refuses (for inserts: the persona's own candidate admitted, the foreign
/// one refused).
pub fn agrees(declared: &Declared, outcome: &Outcome, universe: &[(String, String)]) -> bool {
    let everything = |rows: &BTreeSet<String>| {
        let names: BTreeSet<String> = rows
            .iter()
            .map(|r| r.trim_end_matches('!').to_string())
            .collect();
        let all: BTreeSet<String> = universe.iter().map(|(_, l)| l.clone()).collect();
        !all.is_empty() && names == all
    };
    let refused = |r: &Result<(), String>| matches!(r, Err(code) if code == REFUSED);
    match (declared, outcome) {
        (_, Outcome::Broken(_)) => false,
        (Declared::Deny, Outcome::Denied(code)) => code == REFUSED,
        (Declared::Deny, Outcome::Rows(r)) => r.is_empty(),
        (Declared::All, Outcome::Rows(r)) => everything(r),
        (Declared::All, Outcome::Denied(_)) => false,
        (Declared::Rules(_), Outcome::Rows(r)) => !r.is_empty() && !everything(r),
        (Declared::Rules(_), Outcome::Denied(_)) => false,
        (Declared::Deny, Outcome::Insert { own, foreign }) => {
            refused(foreign) && own.as_ref().is_none_or(refused)
        }
        (Declared::All, Outcome::Insert { own, foreign }) => {
            foreign.is_ok() && own.as_ref().is_none_or(|o| o.is_ok())
        }
        (Declared::Rules(_), Outcome::Insert { own, foreign }) => {
            refused(foreign) && matches!(own, Some(Ok(())))
        }
    }
}

/// A short human reading of an outcome, for the snapshot.
pub fn describe(outcome: &Outcome, universe: &[(String, String)]) -> String {
    let mark = |r: &Result<(), String>| match r {
        Ok(()) => "✓".to_string(),
        Err(code) => format!("✗ {code}"),
    };
    match outcome {
        Outcome::Denied(code) => format!("denied {code}"),
        Outcome::Broken(code) => format!("failed {code}"),
        Outcome::Rows(rows) if rows.is_empty() => "none".into(),
        Outcome::Rows(rows) => {
            let names: BTreeSet<&str> = rows.iter().map(|r| r.trim_end_matches('!')).collect();
            let all: BTreeSet<&str> = universe.iter().map(|(_, l)| l.as_str()).collect();
            let blocked = rows.iter().filter(|r| r.ends_with('!')).count();
            let suffix = if blocked > 0 {
                format!(" ({blocked} blocked by a constraint)")
            } else {
                String::new()
            };
            if names == all {
                format!("all ({}){suffix}", all.len())
            } else {
                let list: Vec<&str> = rows.iter().map(String::as_str).collect();
                format!("[{}]", list.join(", "))
            }
        }
        Outcome::Insert { own: None, foreign } => mark(foreign),
        Outcome::Insert {
            own: Some(own),
            foreign,
        } => format!("own {} · other's {}", mark(own), mark(foreign)),
    }
}

/// A readable matrix: for each target, one line per persona with its four outcomes, and the
/// list of disagreements with the declaration.
#[derive(Default)]
pub struct Report {
    pub text: String,
    pub mismatches: Vec<String>,
}

impl Report {
    pub fn target(&mut self, target: &Target, universe: &[(String, String)]) {
        let rows: Vec<&str> = universe.iter().map(|(_, l)| l.as_str()).collect();
        let shown = if rows.len() > 6 {
            format!("{} rows", rows.len())
        } else {
            rows.join(", ")
        };
        let _ = writeln!(self.text, "\n## {} ({shown})", target.name);
    }

    pub fn line(
        &mut self,
        target: &Target,
        persona: &Persona,
        results: &[(Action, Declared, Outcome)],
        universe: &[(String, String)],
    ) {
        let cells: Vec<String> = results
            .iter()
            .map(|(a, d, o)| {
                let ok = agrees(d, o, universe);
                if !ok {
                    self.mismatches.push(format!(
                        "{} {} {}: declared {d}, effective {}",
                        target.name,
                        persona.name,
                        a.as_str(),
                        describe(o, universe)
                    ));
                }
                format!(
                    "{} {}{}",
                    a.as_str(),
                    describe(o, universe),
                    if ok { "" } else { " ≠ DECLARED" }
                )
            })
            .collect();
        let _ = writeln!(self.text, "{:<13}{}", persona.name, cells.join(" | "));
    }
}
