//! P6: the audit trigger's cost on a bulk insert.

use std::time::Instant;

use anyhow::{ensure, Result};

use super::{median, migrated_db, Figure};
use crate::infra::cluster::Throwaway;
use crate::infra::db;

/// P6: 100k projects in one insert with the audit trigger, and with it disabled; median of 3
/// each, alternating, on an emptied table.
pub(super) fn p6_audit_trigger_cost() -> Result<Vec<Figure>> {
    const ROWS: i64 = 100_000;
    eprintln!("==> P6: insert {ROWS} projects, audit trigger on vs off (3 runs each)");
    let t = Throwaway::start()?;
    let url = migrated_db(&t, "p6")?;
    let mut c = db::connect(&url)?;
    let insert = "insert into public.projects (title, description, category, status) \
                  select 'Project ' || i, 'A living room in oak and linen, number ' || i, \
                         'residential', 'active' \
                    from generate_series(1, $1::bigint) i";
    let (mut on, mut off) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        for audited in [true, false] {
            c.batch_execute("truncate public.projects cascade")?;
            c.batch_execute(if audited {
                "alter table public.projects enable trigger audit_insert"
            } else {
                "alter table public.projects disable trigger audit_insert"
            })?;
            c.batch_execute("checkpoint").ok();
            let start = Instant::now();
            c.execute(insert, &[&ROWS])?;
            let took = start.elapsed();
            if audited {
                on.push(took)
            } else {
                off.push(took)
            }
        }
    }
    c.batch_execute("alter table public.projects enable trigger audit_insert")?;
    let audit_rows: i64 = c
        .query_one(
            "select count(*) from public.audit_logs where table_name = 'public.projects' and action = 'insert'",
            &[],
        )?
        .get(0);
    ensure!(
        audit_rows == 3 * ROWS,
        "expected {} audit rows, found {audit_rows}",
        3 * ROWS
    );
    let (on, off) = (median(on), median(off));
    Ok(vec![Figure {
        id: "P6",
        what: format!(
            "insert {ROWS} projects (one statement), audit trigger on / off, median of 3"
        ),
        value: format!(
            "{:.2}× ({:.0} ms / {:.0} ms)",
            on.as_secs_f64() / off.as_secs_f64(),
            on.as_secs_f64() * 1e3,
            off.as_secs_f64() * 1e3
        ),
        target: "≤ 1.5×",
    }])
}
