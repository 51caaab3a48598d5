//! Hedged calls, worked by hand: what the losing attempt costs, and whose
//! first token a call's time to first token is.
//!
//! Every endpoint serves deterministically (lognormal, σ = 0): service =
//! `ttft` + `per_output_token` × 200 output tokens, the first token after
//! `ttft`. Each tenant sends one call of 1000 input and 200 output tokens
//! at 00:00 (a daily batch, one day).
//!
//! - `hog` (no hedging) takes endpoint `a`'s only slot for 3 s: billed whole,
//!   1000 × 3 + 200 × 15 = 6000 µUSD.
//! - `t` goes to `a` too and waits in its provider queue; at 1 s it is
//!   hedged to `b`, which answers at 1.5 s; the attempt still queued at `a`
//!   is cancelled and costs nothing. `b` bills 1000 × 1 + 200 × 5 = 2000
//!   µUSD. Its first token came from `b`: 1 s + 100 ms.
//! - `u` is served by `c` (first token at 1 s, done at 3 s), hedged at 2 s
//!   to `d`, which answers at 2.5 s. `c`'s attempt, cancelled three
//!   quarters into its decode, is billed its input and 150 of its 200
//!   output tokens: 1000 × 3 + 150 × 15 = 5250 µUSD, plus `d`'s 2000.
//!   Its first token is `d`'s, at 2 s + 100 ms (not `c`'s, at 1 s).

use crate::common::{replicate, scenario};

const HEDGES: &str = r#"
[simulation]
start = "2026-03-02"
duration = "1d"
seed = 1

[[endpoints]]
name = "a"
concurrency = 1
queue_limit = 1
cost_per_million_input = 3
cost_per_million_output = 15
latency = { model = "lognormal", ttft = "1s", per_output_token = "10ms" }

[[endpoints]]
name = "b"
concurrency = 4
cost_per_million_input = 1
cost_per_million_output = 5
latency = { model = "lognormal", ttft = "100ms", per_output_token = "2ms" }

[[endpoints]]
name = "c"
concurrency = 4
cost_per_million_input = 3
cost_per_million_output = 15
latency = { model = "lognormal", ttft = "1s", per_output_token = "10ms" }

[[endpoints]]
name = "d"
concurrency = 4
cost_per_million_input = 1
cost_per_million_output = 5
latency = { model = "lognormal", ttft = "100ms", per_output_token = "2ms" }

[[tenants]]
name = "hog"
class = "gold"
chain = ["a"]

[[tenants.workflows]]
name = "w"
rate = 0
batches = [{ at = "00:00", tasks = 1 }]
output_tokens = { dist = "constant", value = 200 }

[[tenants.clauses]]
metric = "cost"
budget = 1
per = "window"

[[tenants]]
name = "t"
class = "gold"
chain = ["a", "b"]
hedge_after = "1s"

[[tenants.workflows]]
name = "w"
rate = 0
batches = [{ at = "00:00", tasks = 1 }]
output_tokens = { dist = "constant", value = 200 }

[[tenants.clauses]]
metric = "cost"
budget = 1
per = "window"

[[tenants.clauses]]
metric = "ttft"
percentile = 50
threshold = "1.1s"

[[tenants]]
name = "u"
class = "gold"
chain = ["c", "d"]
hedge_after = "2s"

[[tenants.workflows]]
name = "w"
rate = 0
batches = [{ at = "00:00", tasks = 1 }]
output_tokens = { dist = "constant", value = 200 }

[[tenants.clauses]]
metric = "cost"
budget = 1
per = "window"

[[tenants.clauses]]
metric = "ttft"
percentile = 50
threshold = "2.1s"

[[tenants.clauses]]
metric = "ttft"
percentile = 50
threshold = "2s"

[[tenants.clauses]]
metric = "latency"
percentile = 50
threshold = "2.5s"
"#;

fn usd(micro: f64) -> f64 {
    micro / 1e6
}

#[test]
fn a_hedge_loser_is_billed_its_input_and_the_output_it_produced() {
    let r = &replicate(&scenario(HEDGES), 1)[0];
    let cost = |clause: usize| r.attainment[clause].value.unwrap();
    assert!((cost(0) - usd(6000.0)).abs() < 1e-12, "hog: {}", cost(0));
    assert!(
        (cost(1) - usd(2000.0)).abs() < 1e-12,
        "t: a queued loser costs nothing: {}",
        cost(1)
    );
    assert!((cost(3) - usd(7250.0)).abs() < 1e-12, "u: {}", cost(3));
    assert_eq!(r.stats.billed_unfinished_attempts, 1, "c's attempt only");
    assert_eq!((r.stats.calls, r.stats.completed), (3, 3));
}

#[test]
fn time_to_first_token_is_the_serving_attempts() {
    let r = &replicate(&scenario(HEDGES), 1)[0];
    let judged = |clause: usize| (r.attainment[clause].value, r.attainment[clause].met);
    // t: b's first token, 1.1 s after submission, met exactly.
    assert_eq!(judged(2), (Some(1100.0), true));
    // u: d's, 2.1 s: within 2.1 s, not within 2 s (c's first token, at 1 s,
    // does not count: c did not serve the call).
    assert_eq!(judged(4), (Some(2100.0), true));
    assert!(!judged(5).1);
    assert!(judged(5).0.unwrap() > 2000.0);
    // The whole call took 2.5 s.
    assert_eq!(judged(6), (Some(2500.0), true));
}

#[test]
fn a_ttft_clause_needs_a_percentile_and_a_threshold() {
    let text = HEDGES.replace("threshold = \"1.1s\"", "target = 0.9");
    let err = slaplan::scenario::parse(&text, std::path::Path::new("hedges.toml"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("tenants[1].clauses[1].target: a ttft clause has no target"),
        "{err}"
    );
    assert!(
        err.contains("tenants[1].clauses[1].threshold: a ttft clause needs a threshold"),
        "{err}"
    );
}
