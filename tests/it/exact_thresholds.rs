//! Thresholds met exactly, and latency distributions past 1,000 s.

use std::fs;

use crate::common::{replicate, scenario, slaplan, tempdir};

/// The primary is down for the whole day: a call that tries it fails there
/// after its 20 ms error latency and, after a fixed 50 ms backoff, is
/// dispatched to the secondary. Every fallback takes exactly 50 ms. After
/// three such calls the tenant is degraded, so later calls start on the
/// secondary, except one probe of the primary at most every
/// `promote_after` (30 s) after the previous probe fell back.
const EXACT_FALLBACK: &str = r#"
[simulation]
start = "2026-03-01"
duration = "1d"
seed = 2

[[endpoints]]
name = "primary"
concurrency = 100
latency = { model = "exponential", mean = "50ms" }
outages = [{ start = "0s", duration = "1d", mode = "down" }]

[[endpoints]]
name = "secondary"
concurrency = 100
latency = { model = "exponential", mean = "50ms" }

[[tenants]]
name = "t"
class = "gold"
chain = ["primary", "secondary"]
max_attempts = 2
backoff = "50ms"

[[tenants.workflows]]
name = "w"
rate = 0.05

[[tenants.clauses]]
metric = "fallback_time"
threshold = "50ms"

[[tenants.clauses]]
metric = "fallback_time"
percentile = 99
threshold = "50ms"

[[tenants.clauses]]
metric = "fallback_time"
threshold = "49.999ms"
"#;

#[test]
fn a_fallback_of_exactly_50ms_meets_within_50ms() {
    let r = &replicate(&scenario(EXACT_FALLBACK), 1)[0];
    let every = r.attainment[0];
    // Calls that fall back: the probes. A probe falls back, then the next
    // call at least 30 s later probes: gaps of 30 s plus an exponential
    // 20 s wait, 50 s on average, so 86,400 / 50 = 1,728 a day, with a
    // renewal-count standard deviation of sqrt(1,728 * 20^2 / 50^2) = 17:
    // five of them either side.
    assert!(
        (1_728 - 85..=1_728 + 85).contains(&every.eligible),
        "about 1,728 probes fall back: {every:?}"
    );
    assert_eq!(every.succeeded, every.eligible);
    assert_eq!((every.value, every.met), (Some(50.0), true));
    assert_eq!((r.attainment[1].value, r.attainment[1].met), (Some(50.0), true));
    // A microsecond less is never met.
    let tighter = r.attainment[2];
    assert!(!tighter.met);
    assert!(tighter.value.unwrap() >= 50.0, "{tighter:?}");
}

/// Every call is served in exactly 2,000 s (beyond the 1,000 s the
/// distribution once stopped at).
const SLOW: &str = r#"
[simulation]
start = "2026-03-01"
duration = "1d"
seed = 2

[[endpoints]]
name = "slow"
concurrency = 1000
attempt_timeout = "1h"
latency = { model = "lognormal", ttft = "2000s" }

[[tenants]]
name = "t"
class = "gold"
chain = ["slow"]

[[tenants.workflows]]
name = "w"
rate = 0.01

[[tenants.clauses]]
metric = "latency"
percentile = 50
threshold = "1h"
"#;

#[test]
fn latency_csv_covers_waits_beyond_1000_s() {
    let dir = tempdir();
    let path = dir.path().join("slow.toml");
    fs::write(&path, SLOW).unwrap();
    let out = dir.path().join("out");
    let run = slaplan()
        .args(["run", "--quiet", "--out"])
        .arg(&out)
        .arg(&path)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let text = fs::read_to_string(out.join("latency.csv")).unwrap();
    let rows: Vec<(f64, f64)> = text
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[3].parse().unwrap(), f[4].parse().unwrap())
        })
        .collect();
    let (last_edge, last_share) = *rows.last().unwrap();
    // The last edge is the first at or above 2,000 s (edges 40 per decade:
    // 10^(253/40) ms ≈ 2,113 s), where every call is counted.
    assert!((2_000_000.0..2_200_000.0).contains(&last_edge), "{last_edge}");
    assert_eq!(last_share, 1.0);
    // Under 2,000 s, none.
    let below: Vec<_> = rows.iter().filter(|(e, _)| *e < 2_000_000.0).collect();
    assert!(below.iter().all(|(_, s)| *s == 0.0));
    assert_eq!(rows.len(), 254);
}
