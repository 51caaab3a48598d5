//! Attempts the router dispatches at one instant reach their endpoint in a
//! random order, not in the order the router listed them (a real gateway
//! sends them as concurrent requests; see `model::world::transit`).
//!
//! The hand-worked case: the provider allows one request a minute (its
//! bucket holds one). Call A (t = 0 s) takes it. Call B (t = 1 s) gets a
//! 429 asking to retry after 59 s (the bucket refills at 60 s), so the
//! router cools the endpoint down until 1.02 s + 59 s = 60.02 s; B has one
//! attempt only and fails. Calls C, D and E (t = 2, 3, 4 s) find the
//! endpoint cooling down and park. At 60.02 s the router releases them
//! together and dispatches all three at that instant; the bucket holds one
//! request again, so exactly one of them is served and the other two get a
//! 429 and fail. Which one is served is the order they reach the
//! provider: with no order kept, each of the three, with probability 1/3.
//! (Admitted in the router's order, C, which parked first, always won; the
//! measured gateway's emulated provider admits them in no such order, and
//! the quota squeeze's bronze availability was 2 pp too optimistic for it.)

use std::io::Write;

use slaplan::model::{RequestLog, World};
use slaplan::plan::clopper_pearson;

const SCENARIO: &str = r#"
[simulation]
start = "2026-01-05"
duration = "5m"
seed = 5

[[endpoints]]
name = "p"
concurrency = 10
attempt_timeout = "10s"
provider_rpm = 1
latency = { model = "exponential", mean = "100ms" }

[[tenants]]
name = "t"
class = "gold"
chain = ["p"]
retry = { max_attempts = 1 }

[[tenants.workflows]]
name = "w"
replay = { path = "calls.csv", format = "generic" }
"#;

/// The (arrival second, served) of each call of replication `r`.
fn outcomes(dir: &std::path::Path, r: u64) -> Vec<(u32, bool)> {
    let s = slaplan::scenario::load(&dir.join("order.toml")).expect("valid scenario");
    let log = dir.join(format!("requests-{r}.jsonl"));
    let out = std::fs::File::create(&log).unwrap();
    let world = World::new(&s, r)
        .unwrap()
        .write_requests(RequestLog::new(&s, Box::new(out)));
    let result = world.run_full();
    assert!(result.overload.is_none());
    let mut calls: Vec<(u32, bool)> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let arrival = v["arrival"].as_str().unwrap();
            // "2026-01-05T00:00:0S.xxxZ": the whole second of the arrival.
            let second: u32 = arrival[17..19].parse().unwrap();
            (second, v["outcome"] == "success")
        })
        .collect();
    calls.sort_unstable();
    calls
}

#[test]
fn calls_released_together_reach_the_provider_in_random_order() {
    let dir = crate::common::tempdir();
    std::fs::write(dir.path().join("order.toml"), SCENARIO).unwrap();
    let mut trace = std::fs::File::create(dir.path().join("calls.csv")).unwrap();
    writeln!(trace, "timestamp,input_tokens,output_tokens").unwrap();
    for t in 0..5 {
        writeln!(trace, "{t},100,10").unwrap();
    }
    drop(trace);

    let n = 120;
    let mut won = [0u64; 3];
    for r in 0..n {
        let calls = outcomes(dir.path(), r);
        let seconds: Vec<u32> = calls.iter().map(|c| c.0).collect();
        assert_eq!(seconds, [0, 1, 2, 3, 4], "replication {r}: one call a second");
        assert!(calls[0].1, "replication {r}: A takes the bucket's request");
        assert!(!calls[1].1, "replication {r}: B gets the 429");
        let winners: Vec<usize> = (0..3).filter(|&i| calls[2 + i].1).collect();
        assert_eq!(
            winners.len(),
            1,
            "replication {r}: exactly one of C, D, E is served: {calls:?}"
        );
        won[winners[0]] += 1;
    }
    for (name, k) in ["C", "D", "E"].iter().zip(won) {
        let (lo, hi) = clopper_pearson(k, n, 0.999);
        assert!(
            lo <= 1.0 / 3.0 && 1.0 / 3.0 <= hi,
            "{name} was served in {k} of {n} replications (99.9% interval {lo:.3} to {hi:.3}), expected a third: {won:?}"
        );
    }
}
