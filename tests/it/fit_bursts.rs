//! `slaplan fit` and bursts: arrivals drawn from a known two-state MMPP
//! (by a generator written here, and by the simulator from a scenario's
//! `bursts`) are fitted back within their intervals; Poisson arrivals stay
//! Poisson at the dispersion test's level.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs;

use rand::RngExt;
use rand_distr::{Distribution, Exp};
use slaplan::fit::{ArrivalBins, BURSTY_P, MmppFit, fit_arrivals, fit_bursts, fit_logs};
use slaplan::logs::{CallRecord, litellm_line};
use slaplan::model::World;
use slaplan::scenario;

use crate::common::tempdir;

const S: u64 = 1_000_000_000;
const HOUR: u64 = 3600 * S;
/// 2026-03-02T00:00:00Z, a Monday.
const EPOCH: u64 = 1_772_409_600 * S;

/// A two-state MMPP's parameters: rates per second and mean periods in seconds.
#[derive(Clone, Copy)]
struct Truth {
    off: f64,
    factor: f64,
    mean_on: f64,
    mean_off: f64,
}

/// Arrival instants (ns from `EPOCH`) over `secs` seconds, drawn directly:
/// alternating exponential periods, Poisson arrivals within each at its
/// rate, starting in the stationary state.
fn mmpp(t: Truth, secs: f64, seed: u64) -> Vec<u64> {
    let mut rng = slaplan::engine::stream(seed, 0, "mmpp");
    let mut on = rng.random::<f64>() < t.mean_on / (t.mean_on + t.mean_off);
    let mut now = 0.0;
    let mut out = Vec::new();
    while now < secs {
        let (mean, rate) = if on {
            (t.mean_on, t.off * t.factor)
        } else {
            (t.mean_off, t.off)
        };
        let end = (now + Exp::new(1.0 / mean).unwrap().sample(&mut rng)).min(secs);
        let gap = Exp::new(rate).unwrap();
        let mut a = now;
        loop {
            a += gap.sample(&mut rng);
            if a >= end {
                break;
            }
            out.push(EPOCH + (a * 1e9) as u64);
        }
        now = end;
        on = !on;
    }
    out
}

fn bins_of(times: &[u64]) -> (HashMap<u64, u32>, ArrivalBins) {
    let mut hours = HashMap::new();
    let mut bins = ArrivalBins::default();
    for &t in times {
        *hours.entry(t / HOUR).or_default() += 1;
        bins.add(t);
    }
    (hours, bins)
}

fn covers(name: &str, truth: f64, lo: f64, hi: f64, hits: &mut HashMap<&'static str, u32>, key: &'static str) {
    let inside = lo <= truth && truth <= hi;
    *hits.entry(key).or_default() += u32::from(inside);
    if !inside {
        eprintln!("{name}: truth {truth} outside [{lo}, {hi}]");
    }
}

/// Ten seeded streams of a week: each of the four parameters falls inside
/// its 95% interval in at least 7 of them (if the intervals hold, fewer
/// happens with probability 0.001 per parameter).
#[test]
fn an_mmpp_stream_is_fitted_back_within_its_intervals() {
    let truth = Truth {
        off: 0.05,
        factor: 6.0,
        mean_on: 1200.0,
        mean_off: 7200.0,
    };
    let secs = 7.0 * 86400.0;
    let (from, to) = (EPOCH, EPOCH + (secs * 1e9) as u64);
    let mut hits = HashMap::new();
    let reps = 10;
    for seed in 0..reps {
        let times = mmpp(truth, secs, seed);
        let (hours, bins) = bins_of(&times);
        // Through the workflow's arrival fit: Poisson rejected, bursts fitted.
        let a = fit_arrivals(&hours, &bins, from, to);
        let (_, p) = a.dispersion.expect("a week of whole hours");
        assert!(p < BURSTY_P, "seed {seed}: bursty arrivals judged Poisson (p {p})");
        let b: &MmppFit = match &a.bursts {
            Some(Ok(b)) => b,
            other => panic!("seed {seed}: no MMPP: {other:?}"),
        };
        // The flat profile is what was drawn; the workflow fit may have
        // taken an hour-of-day profile from bursts, so the parameters are
        // checked on the fit with the true (flat) profile.
        let b = if a.diurnal.is_none() && a.weekly.is_none() {
            b.clone()
        } else {
            fit_bursts(&bins, from, to, |_, _| 1.0).unwrap()
        };
        assert_eq!(b.bin_seconds, 16.0);
        covers("off rate", truth.off, b.rate_off.low, b.rate_off.high, &mut hits, "off");
        covers("factor", truth.factor, b.factor.low, b.factor.high, &mut hits, "factor");
        covers("mean on", truth.mean_on, b.mean_on.low, b.mean_on.high, &mut hits, "on");
        covers(
            "mean off",
            truth.mean_off,
            b.mean_off.low,
            b.mean_off.high,
            &mut hits,
            "off_period",
        );
    }
    for key in ["off", "factor", "on", "off_period"] {
        let h = hits.get(key).copied().unwrap_or(0);
        assert!(h >= 7, "{key}: truth inside the 95% interval in {h} of {reps} streams");
    }
}

/// Twenty Poisson streams of a week, flat and with an hour-of-day profile:
/// at most 3 are given bursts (the dispersion test rejects at 1%: 4 or
/// more of 20 happens with probability 4e-5).
#[test]
fn a_poisson_stream_is_not_turned_into_an_mmpp() {
    let secs = 7.0 * 86400.0;
    let (from, to) = (EPOCH, EPOCH + (secs * 1e9) as u64);
    let diurnal = |h: u64| 0.5 + (h as f64 / 23.0);
    let mut bursty = 0;
    for seed in 0..20u64 {
        let mut rng = slaplan::engine::stream(1000 + seed, 0, "poisson");
        let profiled = seed % 2 == 1;
        // Thinning from the peak rate.
        let peak = 0.08 * if profiled { 1.5 } else { 1.0 };
        let gap = Exp::new(peak).unwrap();
        let mut t = 0.0;
        let mut times = Vec::new();
        loop {
            t += gap.sample(&mut rng);
            if t >= secs {
                break;
            }
            let h = (t / 3600.0) as u64 % 24;
            let rate = 0.08 * if profiled { diurnal(h) } else { 1.0 };
            if rng.random::<f64>() < rate / peak {
                times.push(EPOCH + (t * 1e9) as u64);
            }
        }
        let (hours, bins) = bins_of(&times);
        let a = fit_arrivals(&hours, &bins, from, to);
        if matches!(a.bursts, Some(Ok(_))) {
            bursty += 1;
        }
        if a.bursts.is_none() {
            let (_, p) = a.dispersion.unwrap();
            assert!(p >= BURSTY_P);
        }
    }
    assert!(bursty <= 3, "{bursty} of 20 Poisson streams were given bursts");
}

/// The simulator's own `bursts` (from a scenario) written as a LiteLLM log
/// and fitted: the scenario written has `bursts` whose parameters' 99.9%
/// intervals hold the truth, and it validates.
#[test]
fn simulated_bursts_fit_back_into_the_scenario() {
    let text = r#"
[simulation]
start = "2026-03-02"
duration = "7d"
seed = 5

[[endpoints]]
name = "m@p"
provider = "p"
concurrency = 1000
latency = { model = "lognormal", ttft = "200ms", per_output_token = "1ms", sigma = 0.2 }

[[tenants]]
name = "t"
class = "gold"
chain = ["m@p"]

[[tenants.workflows]]
name = "w"
rate = 0.04
bursts = { factor = 8, mean_on = "15m", mean_off = "90m" }
input_tokens = { dist = "constant", value = 100 }
output_tokens = { dist = "constant", value = 10 }
"#;
    let s = scenario::parse(text, std::path::Path::new("truth.toml")).unwrap();
    let (_, _, calls) = World::new(&s, 0).unwrap().log_calls(usize::MAX).run_logged();
    let mut log = String::new();
    for (i, c) in calls.iter().enumerate() {
        let start = EPOCH + c.submitted.as_nanos();
        let end = EPOCH + c.ended.expect("every call ends").as_nanos();
        let mut r = CallRecord::model(start, end, c.input_tokens, c.output_tokens);
        r.endpoint = Some("m@p".into());
        r.tenant = Some("t".into());
        r.workflow = Some("w".into());
        r.call = Some(format!("call-{i}"));
        let _ = writeln!(log, "{}", litellm_line(&r));
    }
    let dir = tempdir();
    let path = dir.path().join("spend.jsonl");
    fs::write(&path, log).unwrap();
    let fit = fit_logs(&[path]).unwrap();
    let w = &fit.workflows[&("t".to_string(), "w".to_string())];
    let Some(Ok(b)) = &w.arrivals.bursts else {
        panic!("no bursts: {:?}", w.arrivals)
    };
    // The log starts at its first call, not at the period's start: the
    // intervals at 99.9% (z 3.29 against 1.96 on the log scale).
    let wide = |e: &slaplan::fit::Estimate| {
        let k = 3.29 / 1.96;
        (
            e.value * (e.low / e.value).powf(k),
            e.value * (e.high / e.value).powf(k),
        )
    };
    for (what, truth, e) in [
        ("off rate", 0.04, &b.rate_off),
        ("factor", 8.0, &b.factor),
        ("mean on", 900.0, &b.mean_on),
        ("mean off", 5400.0, &b.mean_off),
    ] {
        let (lo, hi) = wide(e);
        assert!(
            lo <= truth && truth <= hi,
            "{what}: truth {truth} outside [{lo}, {hi}]; profile notes {:?}",
            w.arrivals.notes
        );
    }
    assert_eq!(w.arrivals.rate, b.rate_off, "the scenario's rate is the off rate");
    assert!(
        w.arrivals.diurnal.is_none() && w.arrivals.weekly.is_none(),
        "bursts taken for a profile"
    );
    let toml = fit.scenario_toml(None).unwrap();
    assert!(toml.contains("bursts = { factor = "), "{toml}");
    let back = scenario::parse(&toml, std::path::Path::new("fitted.toml")).unwrap();
    let fitted = back.tenants[0].workflows[0]
        .bursts
        .as_ref()
        .expect("bursts in the scenario");
    assert!((fitted.factor - b.factor.value).abs() < 1e-3);
    let md = fit.summary_md();
    assert!(md.contains("bursts (two-state MMPP"), "{md}");
    let laws = fit.laws_csv();
    assert!(laws.contains(",mmpp2,mean_on_s,"), "{laws}");
}
