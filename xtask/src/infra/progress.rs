//! Progress lines for long steps: what is happening, then how long it took.

use std::io::Write;
use std::time::Instant;

/// Runs `f`, printing `==> what` before and the elapsed time after (or the failure).
pub fn step<T>(what: &str, f: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<T> {
    eprint!("==> {what} ... ");
    let _ = std::io::stderr().flush();
    let start = Instant::now();
    let result = f();
    let took = start.elapsed();
    match &result {
        Ok(_) => eprintln!("done ({:.2}s)", took.as_secs_f64()),
        Err(_) => eprintln!("failed ({:.2}s)", took.as_secs_f64()),
    }
    result
}
