//! Triggers.

use super::*;

pub(super) fn create_trigger(t: &Trigger) -> Result<String, Error> {
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
