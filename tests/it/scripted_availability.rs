//! Availability under scripted outages against the hand-computed value.
//!
//! The primary is hard down for 25% of the month (fast 5xx), the secondary is
//! always up but fails each attempt with probability p. Arrivals are Poisson,
//! so a call lands in an outage with probability 0.25, independently of
//! everything else. With two attempts (primary, then secondary) a call fails
//! only when the primary is down and the secondary errs: 1 − A = 0.25 p. With
//! one attempt it fails whenever the primary is down: 1 − A = 0.25.

use slaplan::plan::clopper_pearson;

use crate::common::{replicate, scenario};

fn outage_scenario(max_attempts: u32, p: f64) -> String {
    format!(
        r#"
[simulation]
start = "2026-04-01"
duration = "30d"
seed = 11

[[endpoints]]
name = "primary"
concurrency = 1000
attempt_timeout = "10s"
latency = {{ model = "exponential", mean = "50ms" }}
# 4 outages of 45 hours: 180 h of 720 h = 25%.
outages = [
  {{ start = "1d", duration = "45h" }},
  {{ start = "2026-04-09T00:00:00", duration = "45h" }},
  {{ start = "16d", duration = "45h" }},
  {{ start = "24d", duration = "45h" }},
]

[[endpoints]]
name = "secondary"
concurrency = 1000
attempt_timeout = "10s"
error_probability = {p}
latency = {{ model = "exponential", mean = "80ms" }}

[[tenants]]
name = "t"
class = "gold"
chain = ["primary", "secondary"]
retry = {{ max_attempts = {max_attempts} }}

[[tenants.workflows]]
name = "w"
rate = 0.5

[[tenants.clauses]]
metric = "availability"
target = 0.9
"#
    )
}

/// Checks the failure share of all calls against `expected` with a 99.9%
/// Clopper-Pearson interval over the pooled calls.
fn assert_failure_share(max_attempts: u32, p: f64, expected: f64) {
    let s = scenario(&outage_scenario(max_attempts, p));
    let reps = replicate(&s, 4);
    let (mut calls, mut ok) = (0u64, 0u64);
    for r in &reps {
        calls += r.attainment[0].eligible;
        ok += r.attainment[0].succeeded;
    }
    let (lo, hi) = clopper_pearson(calls - ok, calls, 0.999);
    assert!(
        lo <= expected && expected <= hi,
        "failed share {:.5} (99.9% CI [{lo:.5}, {hi:.5}]) vs hand-computed {expected:.5}, {calls} calls",
        (calls - ok) as f64 / calls as f64
    );
}

#[test]
fn primary_alone_loses_exactly_its_outage_share() {
    assert_failure_share(1, 0.0, 0.25);
}

#[test]
fn failover_to_a_flaky_secondary_loses_outage_share_times_its_error_rate() {
    assert_failure_share(2, 0.2, 0.25 * 0.2);
}

#[test]
fn failover_to_a_perfect_secondary_loses_nothing() {
    let s = scenario(&outage_scenario(2, 0.0));
    let reps = replicate(&s, 1);
    let a = &reps[0].attainment[0];
    assert!(a.eligible > 1_000_000);
    assert_eq!(a.succeeded, a.eligible);
}

/// A degradation clause counts calls served below the allowed tier: with the
/// primary down 25% of the month and the secondary at tier 2, a quarter of
/// the served calls are degraded.
#[test]
fn degradation_share_is_the_outage_share_when_the_fallback_is_a_lower_tier() {
    let text = outage_scenario(2, 0.0)
        .replace(r#"chain = ["primary", "secondary"]"#, r#"chain = ["primary", { endpoint = "secondary", tier = 2 }]"#)
        .replace(
            "metric = \"availability\"\ntarget = 0.9\n",
            "metric = \"degradation\"\ntier = 1\ntarget = 0.3\n\n[[tenants.clauses]]\nmetric = \"degradation\"\ntier = 1\ntarget = 0.2\n\n[[tenants.clauses]]\nmetric = \"degradation\"\ntier = 2\ntarget = 0\n",
        );
    let s = scenario(&text);
    let r = &replicate(&s, 1)[0];
    let (loose, tight, at_two) = (&r.attainment[0], &r.attainment[1], &r.attainment[2]);
    let share = loose.value.unwrap();
    let n = loose.succeeded;
    let degraded = (share * n as f64).round() as u64;
    let (lo, hi) = clopper_pearson(degraded, n, 0.999);
    assert!(
        lo <= 0.25 && 0.25 <= hi,
        "degraded share {share:.4} in [{lo:.4}, {hi:.4}]"
    );
    assert!(loose.met && !tight.met, "0.25 is under 30% and over 20%");
    assert_eq!(at_two.value, Some(0.0), "nothing is served below tier 2");
    assert!(at_two.met);
}
