//! Semantic checks on a parsed scenario: ranges and cross-references. Every
//! problem is collected; nothing stops at the first.

use super::{Problem, Scenario};

/// Every problem with `scenario`; `source` is its text, for line numbers.
pub fn check(scenario: &Scenario, source: &str) -> Vec<Problem> {
    let _ = source;
    let mut problems = Vec::new();
    if super::parse_datetime(&scenario.simulation.start).is_none() {
        problems.push(Problem::new(
            "simulation.start",
            None,
            "expected a UTC date such as \"2026-01-01\"",
        ));
    }
    if scenario.simulation.duration.as_nanos() == 0 {
        problems.push(Problem::new(
            "simulation.duration",
            None,
            "expected a positive duration such as \"31d\"",
        ));
    }
    for (ti, t) in scenario.tenants.iter().enumerate() {
        for (ci, c) in t.chain.iter().enumerate() {
            if !scenario.endpoints.iter().any(|e| e.name == c.endpoint()) {
                problems.push(Problem::new(
                    format!("tenants[{ti}].chain[{ci}]"),
                    None,
                    format!("unknown endpoint {:?}", c.endpoint()),
                ));
            }
        }
        for (wi, w) in t.workflows.iter().enumerate() {
            if !(w.rate.is_finite() && w.rate >= 0.0) {
                problems.push(Problem::new(
                    format!("tenants[{ti}].workflows[{wi}].rate"),
                    None,
                    "expected a non-negative number of calls per second",
                ));
            }
        }
    }
    problems
}
