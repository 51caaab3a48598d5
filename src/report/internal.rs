//! The internal objectives in the terminal: one line per clause, the
//! contract as written beside the internal objective as the grammar would
//! write it, or why a clause has none.

use crate::plan::internal::internal_clause;
use crate::plan::{ClauseSummary, Verdict};
use crate::scenario::Scenario;
use crate::sla::{Clause, ClauseKind};

use super::table::format_value;

/// Why clause `c` of summary `s` has no internal objective, or `None` when it has one.
pub fn no_internal_reason(c: &Clause, s: &ClauseSummary) -> Option<&'static str> {
    if s.internal.is_some() {
        return None;
    }
    Some(match (c.kind, s.verdict) {
        (ClauseKind::Throughput { .. }, _) => {
            "none: the contract is a rate admitted in every minute (a higher rate is a capacity question: frontier --capacity)"
        }
        (_, Verdict::Enforceable) => "none: no window value reaches the required confidence",
        (_, Verdict::AtRisk) => "none: the clause is at risk (too few windows to prove it at the required confidence)",
        _ => "none: the clause is not enforceable",
    })
}

/// The block printed after the attainment table: a line per clause.
pub fn internal_table(scenario: &Scenario, clauses: &[Clause], summary: &[ClauseSummary]) -> String {
    let mut out = String::from(
        "\nInternal objectives (the tightest on the same metric that holds at the required confidence):\n",
    );
    for s in summary {
        let c = &clauses[s.clause];
        let what = format!("{} {}", c.tenant_name, c.describe(scenario));
        let line = match (s.internal, no_internal_reason(c, s)) {
            (Some(i), _) => match internal_clause(c, i.objective) {
                Some(internal) => format!(
                    "  {what}: internal {} (buffer {})",
                    internal.describe(scenario),
                    format_buffer(c, i.buffer)
                ),
                None => format!("  {what}: internal objective {}", format_value(c, i.objective)),
            },
            (None, Some(reason)) => format!("  {what}: {reason}"),
            (None, None) => continue,
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// A buffer in the clause's unit; a ratio in percentage points.
pub fn format_buffer(c: &Clause, buffer: f64) -> String {
    match c.value_unit() {
        "ratio" => format!("{} pp", crate::sla::trim_float(buffer * 100.0)),
        _ => format_value(c, buffer),
    }
}
