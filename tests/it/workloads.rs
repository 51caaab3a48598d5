//! Agentic workloads against theory and hand-worked cases: shaped arrival
//! counts (mean and dispersion), chain and swarm latencies, tool failures,
//! deadlines.

use chrono::NaiveDate;
use slaplan::engine;
use slaplan::model::Arrivals;
use slaplan::scenario::{Bursts, Shape, TokenDist, Workflow};
use slaplan::time::{Span, Time};
use statrs::distribution::{ChiSquared, ContinuousCDF};

use crate::common::{replicate, scenario, t_interval};

const HOUR: u64 = 3_600_000_000_000;

fn workflow(rate: f64) -> Workflow {
    let text = format!("name = \"w\"\nrate = {rate}\n");
    toml::from_str(&text).expect("minimal workflow")
}

/// Counts of arrivals per hour over `days` days.
fn hourly_counts(w: &Workflow, days: u64, replication: u64) -> Vec<u64> {
    let monday = NaiveDate::from_ymd_opt(2026, 3, 2)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    let mut a = Arrivals::new(w, monday, engine::stream(3, replication, "arrivals"));
    let horizon = Time::ZERO + Span::from_days(days);
    let mut counts = vec![0u64; (days * 24) as usize];
    let mut t = Time::ZERO;
    while let Some(next) = a.next_after(t, horizon) {
        counts[(next.as_nanos() / HOUR) as usize] += 1;
        t = next;
    }
    counts
}

/// Poisson counts: the dispersion statistic (n-1)s²/mean is χ²(n-1); the
/// test rejects at 99.9% either way.
fn assert_poisson_dispersion(counts: &[u64], what: &str) {
    let n = counts.len() as f64;
    let mean = counts.iter().sum::<u64>() as f64 / n;
    let var = counts.iter().map(|c| (*c as f64 - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let stat = (n - 1.0) * var / mean;
    let chi = ChiSquared::new(n - 1.0).unwrap();
    let (lo, hi) = (chi.inverse_cdf(0.0005), chi.inverse_cdf(0.9995));
    assert!(
        lo <= stat && stat <= hi,
        "{what}: dispersion statistic {stat:.1} outside [{lo:.1}, {hi:.1}] (mean {mean:.2}, variance {var:.2})"
    );
}

/// The count's expectation `expected` lies in the exact Poisson 99.9% interval of `observed`.
fn assert_poisson_mean(observed: u64, expected: f64, what: &str) {
    // Normal approximation of the Poisson interval is accurate for counts in the thousands.
    let half = 3.29 * (observed as f64).sqrt();
    assert!(
        (observed as f64 - expected).abs() <= half,
        "{what}: {observed} arrivals, expected {expected:.0} ± {half:.0}"
    );
}

#[test]
fn diurnal_profile_shapes_hourly_counts_as_poisson_with_the_given_means() {
    let mut w = workflow(0.5);
    // Quiet nights (0.2), busy afternoons (2.0), 1.0 otherwise.
    let mut diurnal = vec![1.0; 24];
    diurnal[0..6].fill(0.2);
    diurnal[12..18].fill(2.0);
    w.diurnal = Some(diurnal.clone());
    let days = 60;
    let counts = hourly_counts(&w, days, 0);
    for (band, factor) in [(0..6, 0.2), (12..18, 2.0), (6..12, 1.0)] {
        let band_counts: Vec<u64> = counts
            .iter()
            .enumerate()
            .filter(|(i, _)| band.contains(&(i % 24)))
            .map(|(_, c)| *c)
            .collect();
        let expected = 0.5 * factor * 3600.0 * band_counts.len() as f64;
        assert_poisson_mean(band_counts.iter().sum(), expected, &format!("hours {band:?}"));
        assert_poisson_dispersion(&band_counts, &format!("hours {band:?}"));
    }
}

#[test]
fn weekly_profile_scales_each_day() {
    let mut w = workflow(0.2);
    w.weekly = Some(vec![1.0, 1.0, 1.0, 1.0, 1.0, 0.25, 0.0]);
    let counts = hourly_counts(&w, 7 * 10, 1);
    let per_day: Vec<u64> = counts.chunks(24).map(|c| c.iter().sum()).collect();
    let (mut weekday, mut saturday, mut sunday) = (0, 0, 0);
    for (d, c) in per_day.iter().enumerate() {
        match d % 7 {
            5 => saturday += c,
            6 => sunday += c,
            _ => weekday += c,
        }
    }
    let day = 0.2 * 86_400.0;
    assert_poisson_mean(weekday, day * 50.0, "weekdays");
    assert_poisson_mean(saturday, day * 0.25 * 10.0, "saturdays");
    assert_eq!(sunday, 0, "a zero factor silences the day");
}

/// Index of dispersion of counts in windows of length `t` for a two-state
/// MMPP with rates `l1` (on) and `l2` (off) and switching rates `r1` (on→off)
/// and `r2` (off→on) (Fischer & Meier-Hellstern 1993).
fn mmpp_idc(l1: f64, l2: f64, r1: f64, r2: f64, t: f64) -> f64 {
    let r = r1 + r2;
    let mean = (l1 * r2 + l2 * r1) / r;
    1.0 + 2.0 * (l1 - l2).powi(2) * r1 * r2 / (r.powi(3) * mean) * (1.0 - (1.0 - (-r * t).exp()) / (r * t))
}

#[test]
fn bursts_match_the_mmpp_mean_and_dispersion() {
    // Base 1/s; ×6 while on; on periods 10 min, off periods 50 min.
    let mut w = workflow(1.0);
    w.bursts = Some(Bursts {
        factor: 6.0,
        mean_on: Span::from_mins(10),
        mean_off: Span::from_mins(50),
    });
    let (l1, l2, r1, r2) = (6.0, 1.0, 1.0 / 600.0, 1.0 / 3000.0);
    let mean_rate = (l1 * r2 + l2 * r1) / (r1 + r2);
    let theory_idc = mmpp_idc(l1, l2, r1, r2, 3600.0);
    let (mut rates, mut idcs) = (Vec::new(), Vec::new());
    for rep in 0..24 {
        let counts = hourly_counts(&w, 20, rep);
        let n = counts.len() as f64;
        let mean = counts.iter().sum::<u64>() as f64 / n;
        let var = counts.iter().map(|c| (*c as f64 - mean).powi(2)).sum::<f64>() / (n - 1.0);
        rates.push(mean / 3600.0);
        idcs.push(var / mean);
    }
    let (rate, half) = t_interval(&rates, 0.999);
    assert!(
        (rate - mean_rate).abs() <= half,
        "mean rate {rate:.4} ± {half:.4}, theory {mean_rate:.4}"
    );
    let (idc, half) = t_interval(&idcs, 0.999);
    assert!(
        (idc - theory_idc).abs() <= half,
        "hourly dispersion {idc:.1} ± {half:.1}, theory {theory_idc:.1}"
    );
    assert!(idc > 10.0, "bursts are overdispersed");
}

/// One tenant on one deterministic, uncongested endpoint: a call with `in`
/// input and `out` output tokens takes exactly 100 ms + 1 µs × in + 1 ms × out.
fn shaped_scenario(shape: &str, extra: &str) -> String {
    format!(
        r#"
[simulation]
start = "2026-05-01"
duration = "2d"
seed = 3

[[endpoints]]
name = "e"
concurrency = 100000
attempt_timeout = "1h"
latency = {{ model = "lognormal", ttft = "100ms", per_input_token = "1us", per_output_token = "1ms" }}

[[tenants]]
name = "t"
class = "gold"
chain = ["e"]
retry = {{ max_attempts = 1 }}

[[tenants.workflows]]
name = "w"
rate = 0.2
input_tokens = {{ dist = "constant", value = 1000 }}
output_tokens = {{ dist = "constant", value = 100 }}
shape = {shape}
{extra}

[[tenants.clauses]]
metric = "task_latency"
percentile = 50
threshold = "1h"

[[tenants.clauses]]
metric = "task_availability"
target = 0.5
"#
    )
}

fn within_histogram_precision(value: f64, exact: f64) {
    assert!(
        value >= exact - 1e-9 && value <= exact * 1.001 + 1e-9,
        "{value} vs exact {exact}"
    );
}

#[test]
fn a_chain_grows_its_context_and_sums_its_calls() {
    // Calls see 1000, 1100, 1200 input tokens: 201 + 201.1 + 201.2 = 603.3 ms.
    let s = scenario(&shaped_scenario(
        r#"{ kind = "chain", depth = { dist = "constant", value = 3 } }"#,
        "",
    ));
    let r = &replicate(&s, 1)[0];
    let latency = &r.attainment[0];
    within_histogram_precision(latency.value.unwrap(), 603.3);
    assert_eq!(r.stats.calls, 3 * r.stats.tasks);
    assert_eq!(r.stats.tasks_succeeded, r.stats.tasks);
}

#[test]
fn a_swarm_fans_out_joins_and_aggregates() {
    // Orchestrator (1000 tokens in: 201 ms), 4 parallel agents inheriting its
    // 100-token output (1100 in: 201.1 ms each), an aggregator reading the
    // orchestrator's and every agent's output (1500 in: 201.5 ms).
    let s = scenario(&shaped_scenario(
        r#"{ kind = "swarm", agents = { dist = "constant", value = 4 } }"#,
        "",
    ));
    let r = &replicate(&s, 1)[0];
    within_histogram_precision(r.attainment[0].value.unwrap(), 603.6);
    assert_eq!(r.stats.calls, 6 * r.stats.tasks);
}

#[test]
fn tool_time_adds_its_mean_and_tool_failures_fail_tasks() {
    // Two steps, each: call, a tool (mean 500 ms, fails 10%), one follow-up call.
    // Calls: 1000/1100 tokens, tool result adds 50: follow-up sees 1150, then
    // step 2 sees 1250 and 1350: 201 + 201.15 + 201.25 + 201.35 = 804.75 ms,
    // plus two tools of mean 500 ms each. Success needs both tools: 0.9² = 0.81.
    let tool = r#"{ kind = "chain", depth = { dist = "constant", value = 2 }, tool = { duration = "500ms", failure_probability = 0.1, result_tokens = 50, followups = 1 } }"#;
    let s = scenario(&shaped_scenario(tool, ""));
    let reps = replicate(&s, 8);
    let (mut tasks, mut ok) = (0, 0);
    let mut means = Vec::new();
    for r in &reps {
        tasks += r.attainment[1].eligible;
        ok += r.attainment[1].succeeded;
        means.push(r.attainment[0].mean_latency_ms.unwrap());
    }
    let (lo, hi) = slaplan::plan::clopper_pearson(ok, tasks, 0.999);
    assert!(
        lo <= 0.81 && 0.81 <= hi,
        "task success {:.4} in [{lo:.4}, {hi:.4}]",
        ok as f64 / tasks as f64
    );
    // Successful tasks only: their tools are a sample of exponential times.
    let (mean, half) = t_interval(&means, 0.999);
    let exact = 804.75 + 1000.0;
    assert!(
        (mean - exact).abs() <= half + exact * 0.001,
        "mean task latency {mean:.1} ± {half:.1}, theory {exact}"
    );
}

#[test]
fn a_task_past_its_deadline_fails() {
    // 3 calls of about 201 ms cannot finish within 500 ms.
    let s = scenario(&shaped_scenario(
        r#"{ kind = "chain", depth = { dist = "constant", value = 3 } }"#,
        "deadline = \"500ms\"",
    ));
    let r = &replicate(&s, 1)[0];
    assert!(r.stats.tasks > 10_000);
    assert_eq!(r.stats.tasks_succeeded, 0);
    assert_eq!(r.attainment[1].succeeded, 0);
    // ...while 700 ms is enough for all of them.
    let s = scenario(&shaped_scenario(
        r#"{ kind = "chain", depth = { dist = "constant", value = 3 } }"#,
        "deadline = \"700ms\"",
    ));
    let r = &replicate(&s, 1)[0];
    assert_eq!(r.stats.tasks_succeeded, r.stats.tasks);
}

#[test]
fn single_call_tasks_are_the_default_shape() {
    let w = workflow(1.0);
    assert_eq!(w.shape, Shape::Single);
    assert_eq!(w.input_tokens, TokenDist::Constant { value: 1000 });
}

/// Replaying a real trace through the whole world reproduces every arrival
/// time and token count exactly, ties (Mooncake) in file order.
#[test]
fn replay_through_the_world_reproduces_real_traces_exactly() {
    use slaplan::model::{TraceFormat, TraceReader, World};
    let traces = crate::common::repo_path("../shared/data/traces");
    for (file, format, name) in [
        ("mooncake_conversation_trace.jsonl", TraceFormat::Mooncake, "mooncake"),
        ("AzureLLMInferenceTrace_conv.csv", TraceFormat::Azure, "azure"),
    ] {
        let path = traces.join(file);
        if !path.exists() {
            println!("skipped: {} not found", path.display());
            continue;
        }
        let dir = crate::common::tempdir();
        let text = format!(
            r#"
[simulation]
start = "2026-06-01"
duration = "2h"

[[endpoints]]
name = "e"
concurrency = 100000
latency = {{ model = "exponential", mean = "1s" }}

[[tenants]]
name = "t"
class = "gold"
chain = ["e"]

[[tenants.workflows]]
name = "replayed"
replay = {{ path = "{}", format = "{name}" }}
"#,
            path.display()
        );
        let file_path = dir.path().join("replay.toml");
        std::fs::write(&file_path, text).unwrap();
        let s = slaplan::scenario::load(&file_path).expect("valid replay scenario");
        let (_, stats, log) = World::new(&s, 0).unwrap().log_calls(usize::MAX).run_logged();
        let expected: Vec<_> = TraceReader::open(&path, format).unwrap().map(|r| r.unwrap()).collect();
        assert_eq!(log.len(), expected.len(), "{name}: every row becomes one call");
        assert_eq!(stats.calls as usize, expected.len());
        for (i, (call, row)) in log.iter().zip(&expected).enumerate() {
            assert_eq!(call.submitted, Time::ZERO + row.at, "{name} row {i}: arrival time");
            assert_eq!(
                (call.input_tokens, call.output_tokens),
                (row.input_tokens, row.output_tokens),
                "{name} row {i}"
            );
        }
    }
}

#[test]
fn a_chain_never_outgrows_the_smallest_context_window_of_its_chain() {
    // Context would grow to 1000 + 9 × 100 = 1900 tokens by step 10; the
    // window of 1300 caps calls 4..10 at 1300: 201 + 201.1 + 201.2 + 7 × 201.3.
    let text = shaped_scenario(r#"{ kind = "chain", depth = { dist = "constant", value = 10 } }"#, "").replace(
        "per_output_token = \"1ms\" }",
        "per_output_token = \"1ms\" }\ncontext_window = 1300",
    );
    let s = scenario(&text);
    let r = &replicate(&s, 1)[0];
    within_histogram_precision(r.attainment[0].value.unwrap(), 201.0 + 201.1 + 201.2 + 7.0 * 201.3);
    assert_eq!(r.stats.tasks_succeeded, r.stats.tasks, "no call overflows the window");
}
