//! Session affinity through the whole world, with tenant tiers: a task
//! sticks to the endpoint its calls went to, so a failover mid-outage costs
//! one migration per task that failed over, and no promotion back when the
//! primary recovers; the tenant itself is degraded to `b` during the
//! outage, so most tasks start on `b` and never fail on `a` at all.
//!
//! Tenant chain [a, b], chains of 5 calls (1000 input tokens plus the grown
//! context: 1000, 1100, ..., 1400; 100 output tokens), 2 attempts per call,
//! no breaker, the default `degrade_after` = 3 and `promote_after` = 30 s.
//! `a` is hard down (fast 5xx after 20 ms) for [0, 12h); `b` is hard down
//! for [13h, 24h). Hand-worked, per task:
//! - the first 3 tasks: their first call fails on a and goes to b (a→b:
//!   one migration each); the third degrades the tenant to tier 1;
//! - while degraded, a task's first call (no session yet) starts on b,
//!   except one *probe* task whose first call starts on a: the first task
//!   arriving at least 30 s after the previous probe fell back (after its
//!   20 ms failure). Tasks arrive at 0.2/s, so probes come every
//!   30.02 s + Exp(mean 5 s), about 43,200 / 35.02 ≈ 1,234 of them in the
//!   12 h outage (a renewal count with a standard deviation of about
//!   √(43,200 × 5² / 35.02³) ≈ 5); each fails on a and moves to b;
//! - calls 2..5 carry affinity b and go to b, even after 12h (no b→a
//!   migration), and are never probes;
//! - the first probe after 12h is served on a and promotes the tenant:
//!   later tasks start on a and stay there (b's outage from 13h never
//!   touches them; tasks on b end within a minute).
//!
//! So: failed attempts = migrations = 3 + probes in the outage; every call
//! and every task succeeds.

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
max_attempts = 2

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
    // 3 + about 1,234 probes (± 8 standard deviations of the renewal count).
    assert!(
        (3 + 1_194..=3 + 1_274).contains(&stats.migrations),
        "one a→b migration per task that failed over: {}",
        stats.migrations
    );
    assert_eq!(
        stats.attempts,
        stats.calls + stats.migrations,
        "only the first attempt of those tasks failed, on a"
    );
    assert_eq!(stats.failed, 0);
    assert_eq!(stats.completed, stats.calls);
    assert_eq!(stats.tasks_succeeded, stats.tasks);
}
