//! Quality clauses (eval pass rate of a sampled audit, mean quality)
//! against independent truth.
//!
//! - One endpoint of quality q, attempts failing independently with
//!   probability e and never retried: every call passes independently
//!   with probability (1 - e)·q (a failed call produced no answer and
//!   fails), so a uniform sample without replacement of n of a month's
//!   calls has Binomial(n, (1 - e)·q) passes, and P(a month's rate is
//!   below the target) is that binomial's tail (statrs), which the share
//!   of such months must match within its Clopper-Pearson interval.
//! - Degradation to a weaker tier: a scripted outage of the tier-0
//!   endpoint sends calls to a tier-1 endpoint of lower quality. The
//!   window's mean quality is the served-share-weighted quality,
//!   availability × ((1 - d)·q0 + d·q1) with d the share served below
//!   tier 0 (both measured by their own clauses), and the sampled pass
//!   rate is that mean in expectation: it drops by d × (q0 - q1).

use slaplan::plan::credits::CreditTally;
use slaplan::plan::quantile::ValueStore;
use slaplan::plan::{INTERVAL_LEVEL, summarize};
use slaplan::sla::Clause;
use statrs::distribution::{Binomial, DiscreteCDF};

use crate::common::{replicate, scenario, t_interval};

const TAIL: &str = r#"
[simulation]
start = "2026-01-01"
duration = "31d"
seed = 11

[[endpoints]]
name = "clean"
concurrency = 1000
quality = 0.9
attempt_timeout = "10s"
latency = { model = "exponential", mean = "100ms" }

[[endpoints]]
name = "flaky"
concurrency = 1000
quality = 0.95
error_probability = 0.05
attempt_timeout = "10s"
latency = { model = "exponential", mean = "100ms" }

[[tenants]]
name = "a"
class = "gold"
chain = ["clean"]
retry = { max_attempts = 1 }

[[tenants.workflows]]
name = "w"
rate = 0.0005

[[tenants.clauses]]
metric = "eval_pass_rate"
target = 0.88
samples = 100
monthly_fee = 1000
credits = [{ below = 0.88, credit = 0.1 }]

[[tenants.clauses]]
metric = "mean_quality"
target = 0.9
monthly_fee = 1000
credits = [{ below = 0.95, credit = 0.05 }]

[[tenants]]
name = "b"
class = "gold"
chain = ["flaky"]
retry = { max_attempts = 1 }

[[tenants.workflows]]
name = "w"
rate = 0.0005

[[tenants.clauses]]
metric = "eval_pass_rate"
target = 0.9
samples = 150
"#;

/// Clopper-Pearson at 99.9% of `k` of `n`, through statrs' Beta quantiles.
fn clopper_pearson(k: u64, n: u64) -> (f64, f64) {
    use statrs::distribution::{Beta, ContinuousCDF};
    let alpha = 0.001;
    let low = if k == 0 {
        0.0
    } else {
        Beta::new(k as f64, (n - k + 1) as f64)
            .unwrap()
            .inverse_cdf(alpha / 2.0)
    };
    let high = if k == n {
        1.0
    } else {
        Beta::new((k + 1) as f64, (n - k) as f64)
            .unwrap()
            .inverse_cdf(1.0 - alpha / 2.0)
    };
    (low, high)
}

#[test]
fn the_share_of_months_below_the_target_is_the_binomial_tail() {
    let s = scenario(TAIL);
    let reps = replicate(&s, 400);
    let clauses = Clause::all(&s);
    // (clause, samples, pass probability of a call, target).
    for (ci, n, p, target) in [(0usize, 100u64, 0.9, 0.88), (2, 150, 0.95 * 0.95, 0.9)] {
        let (mut below, mut months) = (0u64, 0u64);
        for r in &reps {
            for a in r.attainment.iter().filter(|a| a.clause == ci) {
                months += 1;
                assert_eq!(a.eligible, n, "a month has more calls than the sample: the sample is n");
                let rate = a.value.unwrap();
                assert_eq!(rate, a.succeeded as f64 / n as f64);
                assert_eq!(a.met, rate >= target);
                below += u64::from(!a.met);
            }
        }
        // Below the target: fewer than ⌈target·n⌉ passes.
        let needed = (target * n as f64 - 1e-9).ceil() as u64;
        let exact = Binomial::new(p, n).unwrap().cdf(needed - 1);
        let (low, high) = clopper_pearson(below, months);
        eprintln!(
            "{}: {below} of {months} months below, exact {exact:.4}, interval [{low:.4}, {high:.4}]",
            clauses[ci].kind_name()
        );
        assert!(
            low <= exact && exact <= high,
            "clause {ci}: {exact} outside [{low}, {high}]"
        );
    }
    // Every call served at quality 0.9: the mean is exactly 0.9.
    for r in &reps {
        let a = r.attainment.iter().find(|a| a.clause == 1).unwrap();
        assert_eq!(a.value, Some(0.9));
        assert!(a.met && a.eligible == a.succeeded);
    }
    let summary = summarize(&reps, clauses.len(), 0.95, 0.999);
    assert_eq!(summary[1].probability, 1.0);

    // Credits: 10% of $1,000 in a month sampled below 88% (the binomial
    // tail's months), 5% in every month for a mean of 0.9 below 0.95.
    let mut tally = CreditTally::new(&clauses, ValueStore::in_memory());
    for r in &reps {
        tally.add(&clauses, r).unwrap();
    }
    let credits = tally.finish(INTERVAL_LEVEL).unwrap();
    let (audit, mean) = (&credits[0], &credits[1]);
    assert_eq!((audit.clause, mean.clause), (Some(0), Some(1)));
    // A running mean: the share of paying months times $100, to rounding.
    let paying = 100.0 * audit.months_paying as f64 / audit.months as f64;
    assert!(
        (audit.month_mean - paying).abs() < 1e-9,
        "{} against {paying}",
        audit.month_mean
    );
    let exact = Binomial::new(0.9, 100).unwrap().cdf(87);
    let (low, high) = audit.p_any_interval;
    assert!(low <= exact && exact <= high, "P(any) {exact} outside [{low}, {high}]");
    assert_eq!((mean.month_mean, mean.p_any), (50.0, 1.0));
}

const DEGRADED: &str = r#"
[simulation]
start = "2026-04-01"
duration = "30d"
seed = 5

[[endpoints]]
name = "strong"
concurrency = 1000
quality = 0.95
attempt_timeout = "10s"
latency = { model = "exponential", mean = "100ms" }
outages = [{ start = "2026-04-10T00:00:00", duration = "3d", mode = "down" }]

[[endpoints]]
name = "weak"
concurrency = 1000
quality = 0.7
attempt_timeout = "10s"
latency = { model = "exponential", mean = "100ms" }

[[tenants]]
name = "t"
class = "gold"
chain = ["strong", "weak"]
retry = { max_attempts = 3 }

[[tenants.workflows]]
name = "w"
rate = 0.002

[[tenants.clauses]]
metric = "mean_quality"
target = 0.9

[[tenants.clauses]]
metric = "eval_pass_rate"
target = 0.9
samples = 400

[[tenants.clauses]]
metric = "availability"
target = 0.5

[[tenants.clauses]]
metric = "degradation"
tier = 0
target = 1.0
"#;

#[test]
fn degradation_to_a_weaker_tier_lowers_quality_by_the_served_share() {
    let (q0, q1) = (0.95, 0.7);
    let s = scenario(DEGRADED);
    let reps = replicate(&s, 120);
    let value = |r: &slaplan::plan::Replication, ci: usize| {
        r.attainment.iter().find(|a| a.clause == ci).unwrap().value.unwrap()
    };
    let mut gaps = Vec::new();
    let mut drops = Vec::new();
    let mut shares = Vec::new();
    for r in &reps {
        let (mean, rate, avail, d) = (value(r, 0), value(r, 1), value(r, 2), value(r, 3));
        let closed_form = avail * ((1.0 - d) * q0 + d * q1);
        assert!((mean - closed_form).abs() < 1e-9, "mean {mean} against {closed_form}");
        // The audit's rate is the mean quality in expectation.
        gaps.push(rate - mean);
        // The drop from the strong tier's quality, against d·(q0 - q1)
        // (and the calls not served, at quality 0).
        drops.push((q0 - rate) - (d * (q0 - q1) + (1.0 - avail) * ((1.0 - d) * q0 + d * q1)));
        shares.push(d);
    }
    let (d_mean, _) = t_interval(&shares, 0.999);
    eprintln!("served below tier 0: {d_mean:.4} (the outage is 3 of 30 days)");
    assert!(d_mean > 0.09, "the outage degraded a tenth of the calls or more");
    for (name, sample) in [("rate - mean quality", &gaps), ("drop - d(q0 - q1)", &drops)] {
        let (mean, half) = t_interval(sample, 0.999);
        eprintln!("{name}: {mean:.5} ± {half:.5}");
        assert!(mean.abs() <= half, "{name}: {mean} ± {half} excludes 0");
    }
}

/// Every clause kind, quality ones included, written by `describe` (with
/// its credit terms) parses back to the clause the scenario holds.
#[test]
fn described_clauses_parse_back_to_the_same_clause() {
    use slaplan::plan::grammar::parse_clause;
    use slaplan::sla::Period;
    let mut seen = Vec::new();
    for text in [
        std::fs::read_to_string(crate::common::repo_path("tests/fixtures/judge/roundtrip.toml")).unwrap(),
        TAIL.to_string(),
    ] {
        let s = scenario(&text);
        let clauses = Clause::all(&s);
        let written: Vec<&slaplan::scenario::Clause> = s.tenants.iter().flat_map(|t| &t.clauses).collect();
        assert_eq!(clauses.len(), written.len());
        for (c, original) in clauses.iter().zip(written) {
            let line = c.describe_contract(&s);
            let mut parsed = parse_clause(&line).unwrap_or_else(|e| panic!("{line}: {e}"));
            let mut original = original.clone();
            for x in [&mut parsed, &mut original] {
                if x.window == Some(Period::Month) {
                    x.window = None;
                }
            }
            assert_eq!(parsed, original, "{line}");
            seen.push(c.kind_name());
        }
    }
    assert!(
        seen.contains(&"eval_pass_rate") && seen.contains(&"mean_quality"),
        "{seen:?}"
    );
}
