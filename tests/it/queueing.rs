//! The simulator against closed-form queueing results: M/M/1 sojourn mean and
//! p95, and M/M/c mean wait by Erlang C. Tolerances are Student-t intervals
//! over independent replications (each replication one batch), plus the
//! streaming histogram's 0.1% resolution.

use crate::common::{replicate, scenario, t_interval};

/// One tenant, one endpoint with `c` slots, an unbounded FIFO queue,
/// exponential service of mean `mean_ms`, Poisson arrivals at `rate`/s.
fn queue_scenario(c: u32, mean_ms: u32, rate: f64, duration: &str, percentile: f64) -> String {
    format!(
        r#"
[simulation]
start = "2026-03-01"
duration = "{duration}"
seed = 7

[[endpoints]]
name = "server"
concurrency = {c}
queue_limit = 10000000
attempt_timeout = "1h"
latency = {{ model = "exponential", mean = "{mean_ms}ms" }}

[[tenants]]
name = "t"
class = "gold"
chain = ["server"]
max_attempts = 1

[[tenants.workflows]]
name = "w"
rate = {rate}

[[tenants.clauses]]
metric = "latency"
percentile = {percentile}
threshold = "1h"
"#
    )
}

/// Erlang C: probability an arrival waits in M/M/c with offered load `a`.
fn erlang_c(c: u32, a: f64) -> f64 {
    let mut term = 1.0; // a^k / k!
    let mut sum = 1.0;
    for k in 1..c {
        term *= a / f64::from(k);
        sum += term;
    }
    let last = term * a / f64::from(c); // a^c / c!
    let rho = a / f64::from(c);
    let top = last / (1.0 - rho);
    top / (sum + top)
}

#[test]
fn erlang_c_matches_a_hand_worked_case() {
    // c = 2, a = 1: P0 = 1/3, C = (a^2/2!)(1/(1-1/2)) P0 = 1/3.
    assert!((erlang_c(2, 1.0) - 1.0 / 3.0).abs() < 1e-12);
    // c = 1 reduces to M/M/1: C = rho.
    assert!((erlang_c(1, 0.8) - 0.8).abs() < 1e-12);
}

#[test]
fn mm1_sojourn_mean_and_p95_match_theory() {
    // mu = 100/s (10 ms), lambda = 80/s: sojourn ~ Exp(mu - lambda) = Exp(20/s):
    // mean 50 ms, p95 = ln(20)/20 s = 149.79 ms.
    let s = scenario(&queue_scenario(1, 10, 80.0, "6h", 95.0));
    let reps = replicate(&s, 12);
    let means: Vec<f64> = reps.iter().map(|r| r.attainment[0].mean_latency_ms.unwrap()).collect();
    let p95s: Vec<f64> = reps.iter().map(|r| r.attainment[0].value.unwrap()).collect();
    let (mean, half) = t_interval(&means, 0.99);
    let resolution = 0.001 * mean;
    assert!(
        (mean - 50.0).abs() <= half + resolution,
        "mean sojourn {mean:.3} ± {half:.3} ms, theory 50 ms"
    );
    let theory_p95 = 20f64.ln() / 20.0 * 1000.0;
    let (p95, half) = t_interval(&p95s, 0.99);
    eprintln!("M/M/1 at rho 0.8: mean {mean:.3} ms (theory 50), p95 {p95:.3} ± {half:.3} ms (theory {theory_p95:.3})");
    let resolution = 0.001 * p95;
    assert!(
        (p95 - theory_p95).abs() <= half + resolution,
        "p95 sojourn {p95:.3} ± {half:.3} ms, theory {theory_p95:.3} ms"
    );
    // The interval is informative, not vacuous.
    assert!(half / theory_p95 < 0.02, "p95 interval too wide: ±{half:.3} ms");
}

#[test]
fn mmc_mean_wait_matches_erlang_c_within_two_percent() {
    // c = 8, mu = 10/s (100 ms), rho = 0.9: lambda = 72/s, a = 7.2.
    // Wq = C(8, 7.2) / (c mu - lambda); sojourn = Wq + 1/mu.
    let (c, mu, lambda) = (8u32, 10.0, 72.0);
    let wq = erlang_c(c, lambda / mu) / (f64::from(c) * mu - lambda) * 1000.0;
    let s = scenario(&queue_scenario(c, 100, lambda, "12h", 50.0));
    let reps = replicate(&s, 16);
    let waits: Vec<f64> = reps
        .iter()
        .map(|r| r.attainment[0].mean_latency_ms.unwrap() - 1000.0 / mu)
        .collect();
    let (mean, half) = t_interval(&waits, 0.99);
    eprintln!("M/M/8 at rho 0.9: mean wait {mean:.3} ± {half:.3} ms (99% t), Erlang C {wq:.3} ms");
    let resolution = 0.001 * (mean + 100.0);
    assert!(
        (mean - wq).abs() <= half + resolution,
        "mean wait {mean:.3} ± {half:.3} ms, Erlang C {wq:.3} ms"
    );
    assert!(
        (half + resolution) / wq <= 0.02,
        "interval ±{half:.3} ms is wider than 2% of {wq:.3} ms"
    );
}

/// Two endpoints at tier 0 of one chain are one pool: with one slot each,
/// no provider-side queue (so the router holds every waiting call, in one
/// queue for the pool, served by whichever endpoint frees first) and
/// exponential service, they are an M/M/2 queue, whatever endpoint the
/// balancer picks when both are idle.
fn pool_scenario(mean_ms: u32, rate: f64, duration: &str) -> String {
    let endpoint = |name: &str| {
        format!(
            r#"
[[endpoints]]
name = "{name}"
concurrency = 1
queue_limit = 0
attempt_timeout = "1h"
latency = {{ model = "exponential", mean = "{mean_ms}ms" }}
"#
        )
    };
    format!(
        r#"
[simulation]
start = "2026-03-01"
duration = "{duration}"
seed = 11
{}{}
[[tenants]]
name = "t"
class = "gold"
chain = [{{ endpoint = "left", tier = 0 }}, {{ endpoint = "right", tier = 0 }}]
max_attempts = 1

[[tenants.workflows]]
name = "w"
rate = {rate}

[[tenants.clauses]]
metric = "latency"
percentile = 50
threshold = "1h"
"#,
        endpoint("left"),
        endpoint("right")
    )
}

#[test]
fn a_pool_of_two_one_slot_endpoints_is_an_mm2_queue() {
    // mu = 10/s per endpoint (100 ms), lambda = 16/s: a = 1.6, rho = 0.8.
    // Erlang C(2, 1.6) = 6.4 / 9 = 0.7111; Wq = C / (2 mu - lambda)
    // = 177.8 ms; mean sojourn W = Wq + 1/mu = 277.8 ms.
    let (mu, lambda) = (10.0, 16.0);
    let w = (erlang_c(2, lambda / mu) / (2.0 * mu - lambda) + 1.0 / mu) * 1000.0;
    assert!((w - 277.78).abs() < 0.01, "hand-worked: {w}");
    let s = scenario(&pool_scenario(100, lambda, "6h"));
    let reps = replicate(&s, 12);
    let means: Vec<f64> = reps.iter().map(|r| r.attainment[0].mean_latency_ms.unwrap()).collect();
    let (mean, half) = t_interval(&means, 0.99);
    eprintln!("M/M/2 pool at rho 0.8: mean sojourn {mean:.3} ± {half:.3} ms (99% t), theory {w:.3} ms");
    let resolution = 0.001 * mean;
    assert!(
        (mean - w).abs() <= half + resolution,
        "mean sojourn {mean:.3} ± {half:.3} ms, M/M/2 {w:.3} ms"
    );
    assert!(
        (half + resolution) / w <= 0.02,
        "interval ±{half:.3} ms is wider than 2% of {w:.3} ms"
    );
    // Every call served. (Had the pool been a fallback chain, one endpoint
    // would have taken every call at rho 1.6 and the mean would diverge.)
    let served: u64 = reps.iter().map(|r| r.stats.completed).sum();
    assert_eq!(served, reps.iter().map(|r| r.stats.calls).sum::<u64>());
}
