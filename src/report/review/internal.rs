//! The review's "Internal objectives" section: a line per clause with the
//! tightest objective on the same metric that holds at the required
//! confidence and its buffer to the contract (from `summary.csv`'s
//! `internal_objective` and `internal_buffer`), or why it has none.

use super::document::Block;
use super::inputs::{ClauseRow, InternalObjective};
use crate::plan::Verdict;

/// The section, or nothing for an output written before internal
/// objectives (no clause has one although some is enforceable).
pub fn section(clauses: &[ClauseRow], required: f64) -> Vec<Block> {
    let recorded =
        clauses.iter().any(|c| c.internal.is_some()) || clauses.iter().all(|c| c.verdict != Verdict::Enforceable);
    if !recorded {
        return Vec::new();
    }
    let lines = clauses.iter().map(line).collect();
    vec![
        Block::Heading("Internal objectives".into()),
        Block::Paragraph(format!(
            "Run the service against an internal objective tighter than the contract: the gap (the buffer) \
             absorbs what the simulation did not see. Each objective below is the tightest on the clause's \
             own metric, over the same windows, that held with probability at least {} in this run; \
             `slaplan export-slo` writes them as OpenSLO documents and Prometheus alert rules.",
            super::content::percent(required)
        )),
        Block::Bullets(lines),
    ]
}

fn line(c: &ClauseRow) -> String {
    let what = format!("{}: {}", c.tenant, c.clause);
    match c.internal {
        Some(i) => format!(
            "{what}: internal objective {} (buffer {}).",
            value(c, i.objective),
            buffer(c, i)
        ),
        None if c.kind.as_deref() == Some("throughput") => {
            format!(
                "{what}: none (the contract is a rate admitted in every minute; a higher rate is a capacity question)."
            )
        }
        None if c.verdict == Verdict::Enforceable => format!("{what}: none (no window value reaches the confidence)."),
        None => format!("{what}: none (the clause is not enforceable)."),
    }
}

fn value(c: &ClauseRow, v: f64) -> String {
    let op = c.direction.as_deref().unwrap_or("");
    let v = match c.unit.as_str() {
        "ms" => format!("{v:.0} ms"),
        "usd" => format!("${v:.4}"),
        _ => format!("{}%", trim_pct(v)),
    };
    if op.is_empty() { v } else { format!("{op} {v}") }
}

fn buffer(c: &ClauseRow, i: InternalObjective) -> String {
    match c.unit.as_str() {
        "ms" => format!("{:.0} ms", i.buffer),
        "usd" => format!("${:.4}", i.buffer),
        _ => format!("{} percentage points", trim_pct(i.buffer)),
    }
}

/// A ratio as a percentage with up to four decimals.
fn trim_pct(ratio: f64) -> String {
    let s = format!("{:.4}", ratio * 100.0);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}
