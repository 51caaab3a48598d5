//! Session affinity through the whole world: a task sticks to the endpoint
//! its calls went to, so a failover mid-outage costs one migration per task
//! and no promotion back when the primary recovers.
//!
//! Tenant chain [a, b], chains of 5 calls (1000 input tokens plus the grown
//! context: 1000, 1100, ..., 1400; 100 output tokens), 2 attempts per call,
//! no breaker. `a` is hard down (fast 5xx) for [0, 12h); `b` is hard down for
//! [13h, 24h). Hand-worked, per task:
//! - first call in [0, 12h): attempt 1 on a fails, attempt 2 on b (a→b: one
//!   migration); calls 2..5 carry affinity b and go to b, even when they
//!   come after 12h with a healthy again (no b→a migration);
//! - first call at or after 12h: starts on a (no affinity yet) and stays on
//!   a; had it gone to b after 13h it would fail there and retry.
//!
//! So: failed attempts = migrations = tasks whose first call fell in the
//! outage; every call and every task succeeds.

use slaplan::model::World;
use slaplan::time::{Span, Time};

use crate::common::scenario;

const TEXT: &str = r#"
[simulation]
start = "2026-04-01"
duration = "1d"
seed = 5

[[endpoints]]
name = "a"
concurrency = 100000
attempt_timeout = "1h"
latency = { model = "lognormal", ttft = "100ms", per_input_token = "1us", per_output_token = "1ms" }
outages = [{ start = "0s", duration = "12h" }]

[[endpoints]]
name = "b"
concurrency = 100000
attempt_timeout = "1h"
latency = { model = "lognormal", ttft = "10s", per_input_token = "1us", per_output_token = "1ms" }
outages = [{ start = "13h", duration = "11h" }]

[[tenants]]
name = "t"
class = "gold"
chain = ["a", "b"]
retry = { max_attempts = 2 }

[[tenants.workflows]]
name = "w"
rate = 0.2
input_tokens = { dist = "constant", value = 1000 }
output_tokens = { dist = "constant", value = 100 }
shape = { kind = "chain", depth = { dist = "constant", value = 5 } }

[[tenants.clauses]]
metric = "task_availability"
target = 0.5
"#;

#[test]
fn a_failed_over_task_stays_on_its_fallback_and_new_tasks_start_on_the_primary() {
    let s = scenario(TEXT);
    let (_, stats, log) = World::new(&s, 0).unwrap().log_calls(usize::MAX).run_logged();
    let half = Time::ZERO + Span::from_hours(12);
    // A task's first call is the one without grown context.
    let firsts: Vec<Time> = log
        .iter()
        .filter(|c| c.input_tokens == 1000)
        .map(|c| c.submitted)
        .collect();
    assert_eq!(firsts.len() as u64, stats.tasks);
    assert_eq!(stats.calls, 5 * stats.tasks);
    let in_outage = firsts.iter().filter(|&&t| t < half).count() as u64;
    // Tasks on b (≥ 5 calls of 10 s) that started in the last 40 s of the
    // outage are still running when a recovers.
    let late = Time::ZERO + Span::from_secs(12 * 3600 - 40);
    let straddling = firsts.iter().filter(|&&t| t < half && t >= late).count();
    println!(
        "tasks {}, calls {}, first calls in the outage {in_outage}, straddling {straddling}, attempts {}, migrations {}",
        stats.tasks, stats.calls, stats.attempts, stats.migrations
    );
    assert!(in_outage > 1000 && in_outage < stats.tasks - 1000, "{in_outage}");
    assert!(straddling > 0, "some tasks span the end of the outage");
    assert_eq!(
        stats.migrations, in_outage,
        "one a→b migration per task started in the outage"
    );
    assert_eq!(
        stats.attempts,
        stats.calls + in_outage,
        "only their first attempt on a failed"
    );
    assert_eq!(stats.failed, 0);
    assert_eq!(stats.completed, stats.calls);
    assert_eq!(stats.tasks_succeeded, stats.tasks);
}
