//! The planner's probability that a clause holds, against a value computed
//! by hand.
//!
//! One endpoint fails by an alternating renewal process: exponential up
//! times of mean 20 days, repairs of mean 10 hours, started in its long-run
//! state. A tenant asks for 100% availability over a 31-day month with one
//! attempt per call, so the clause holds exactly when no incident touches the
//! month (an incident that catches none of the 0.05 calls/s has probability
//! 1/(1 + 0.05 × 36000) < 0.06%, far inside the interval). Hence
//!
//!   P(hold) = P(up at the start) × P(first failure after 31 days)
//!           = 480/490 × exp(−744/480) = 0.20792.

use slaplan::plan::{Verdict, summarize};

use crate::common::{replicate, scenario};

const SCENARIO: &str = r#"
[simulation]
start = "2026-01-01"
duration = "31d"
seed = 99

[[endpoints]]
name = "e"
concurrency = 1000
attempt_timeout = "10s"
latency = { model = "exponential", mean = "100ms" }

[[outage_processes]]
endpoint = "e"
mtbf = "20d"
mttr = "10h"
mode = "down"

[[tenants]]
name = "t"
class = "gold"
chain = ["e"]
retry = { max_attempts = 1 }

[[tenants.workflows]]
name = "w"
rate = 0.05

[[tenants.clauses]]
metric = "availability"
target = 1.0
"#;

#[test]
fn the_interval_covers_a_hand_computed_probability() {
    let exact = 480.0 / 490.0 * (-744.0f64 / 480.0).exp();
    assert!((exact - 0.20792).abs() < 1e-5);
    let s = scenario(SCENARIO);
    let reps = replicate(&s, 120);
    let summary = summarize(&reps, 1, 0.95, 0.999);
    let c = &summary[0];
    assert_eq!(c.windows, 120);
    eprintln!(
        "P(hold) {:.3} [{:.3}, {:.3}], exact {exact:.5}",
        c.probability, c.ci_low, c.ci_high
    );
    assert!(
        c.ci_low <= exact && exact <= c.ci_high,
        "P(hold) {:.3} with 99.9% interval [{:.3}, {:.3}] does not cover {exact:.5}",
        c.probability,
        c.ci_low,
        c.ci_high
    );
    assert_eq!(c.verdict, Verdict::NotEnforceable);
}
