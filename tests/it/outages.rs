//! Realistic providers and outages against independent truth: renewal
//! availability algebra, hand-computed rate limits, the cited provider
//! figures.
//!
//! Availability tests use the between-replication Student-t interval
//! (calls inside one outage are correlated, so a binomial interval over
//! calls would be far too narrow); calls that are independent of each other
//! (a brownout in force all month) use Clopper-Pearson over calls.

use slaplan::model::{Admission, EndpointSim, process_incidents};
use slaplan::plan::clopper_pearson;
use slaplan::policy::AttemptId;
use slaplan::scenario::{OutageMode, profiles};
use slaplan::time::{Span, Time};

use crate::common::{replicate, scenario, t_interval};

/// Availability of clause 0 (all windows pooled) in each replication.
fn availability_per_replication(text: &str, replications: u64) -> Vec<f64> {
    let s = scenario(text);
    replicate(&s, replications)
        .iter()
        .map(|r| {
            let (ok, all) = r
                .attainment
                .iter()
                .filter(|a| a.clause == 0)
                .fold((0u64, 0u64), |(ok, all), a| (ok + a.succeeded, all + a.eligible));
            ok as f64 / all as f64
        })
        .collect()
}

fn assert_in_t_interval(samples: &[f64], expected: f64, what: &str) {
    let (mean, half) = t_interval(samples, 0.999);
    assert!(
        (mean - expected).abs() <= half,
        "{what}: measured {mean:.5} ± {half:.5} (99.9% t-interval over {} replications) vs theory {expected:.5}",
        samples.len()
    );
}

const TWO_ENDPOINTS: &str = r#"
[simulation]
start = "2026-01-01"
duration = "90d"
seed = 5

[[endpoints]]
name = "a"
provider = "pa"
concurrency = 1000
latency = { model = "exponential", mean = "50ms" }

[[endpoints]]
name = "b"
provider = "pb"
concurrency = 1000
latency = { model = "exponential", mean = "50ms" }

[[outage_processes]]
endpoint = "a"
mtbf = "2h"
mttr = "30m"

[[outage_processes]]
endpoint = "b"
mtbf = "2h"
mttr = "30m"

[[tenants]]
name = "t"
class = "gold"
chain = CHAIN
retry = { max_attempts = ATTEMPTS }

[[tenants.workflows]]
name = "w"
rate = 0.05

[[tenants.clauses]]
metric = "availability"
target = 0.5
"#;

#[test]
fn one_endpoint_renewal_availability_is_mtbf_over_mtbf_plus_mttr() {
    let text = TWO_ENDPOINTS.replace("CHAIN", r#"["a"]"#).replace("ATTEMPTS", "1");
    let samples = availability_per_replication(&text, 10);
    assert_in_t_interval(&samples, 2.0 / (2.0 + 0.5), "single endpoint");
}

#[test]
fn independent_pair_with_perfect_failover_gives_one_minus_product_of_unavailabilities() {
    let text = TWO_ENDPOINTS.replace("CHAIN", r#"["a", "b"]"#).replace("ATTEMPTS", "2");
    let samples = availability_per_replication(&text, 10);
    let a = 2.0 / 2.5;
    assert_in_t_interval(&samples, 1.0 - (1.0 - a) * (1.0 - a), "failover pair");
}

#[test]
fn a_provider_process_hits_all_its_endpoints_at_identical_times() {
    let s = scenario(
        &TWO_ENDPOINTS
            .replace("CHAIN", r#"["a", "b"]"#)
            .replace("ATTEMPTS", "2")
            .replace("provider = \"pb\"", "provider = \"pa\"")
            .replace(
                "[[outage_processes]]\nendpoint = \"a\"\nmtbf = \"2h\"\nmttr = \"30m\"\n\n[[outage_processes]]\nendpoint = \"b\"",
                "[[outage_processes]]\nprovider = \"pa\"",
            ),
    );
    assert_eq!(s.outage_processes.len(), 1, "the edit made one provider-wide process");
    let horizon = Time::ZERO + Span::from_days(91);
    let per_endpoint = process_incidents(&s, 3, horizon);
    assert!(per_endpoint[0].len() > 500, "about 91 d / 2.5 h = 874 incidents");
    assert_eq!(per_endpoint[0], per_endpoint[1]);
    // Another replication draws another schedule.
    assert_ne!(process_incidents(&s, 4, horizon)[0], per_endpoint[0]);
}

#[test]
fn brownout_multiplies_service_time_and_fails_at_its_probability() {
    let s = scenario(
        r#"
[simulation]
start = "2026-03-01"
duration = "10d"
seed = 3

[[endpoints]]
name = "e"
concurrency = 10000
latency = { model = "lognormal", ttft = "100ms", sigma = 0 }
outages = [{ start = "0s", duration = "11d", mode = "brownout", latency_factor = 3, error_probability = 0.2 }]

[[tenants]]
name = "t"
class = "gold"
chain = ["e"]
retry = { max_attempts = 1 }

[[tenants.workflows]]
name = "w"
rate = 0.5

[[tenants.clauses]]
metric = "latency"
percentile = 50
threshold = "1s"
"#,
    );
    let reps = replicate(&s, 1);
    let (mut ok, mut all) = (0u64, 0u64);
    for a in &reps[0].attainment {
        ok += a.succeeded;
        all += a.eligible;
        // Deterministic service time 100 ms × 3; the histogram is exact to 0.1%, read at a bucket top.
        let p50 = a.value.expect("calls succeeded");
        assert!((p50 - 300.0).abs() <= 0.6, "p50 {p50} ms vs 100 ms × 3");
        let mean = a.mean_latency_ms.expect("calls succeeded");
        assert!((mean - 300.0).abs() <= 0.6, "mean {mean} ms vs 100 ms × 3");
    }
    let (lo, hi) = clopper_pearson(all - ok, all, 0.999);
    assert!(
        lo <= 0.2 && 0.2 <= hi,
        "failed share {:.5} (99.9% CI [{lo:.5}, {hi:.5}]) vs brownout error probability 0.2",
        (all - ok) as f64 / all as f64
    );
}

const RPM_SCENARIO: &str = r#"
[simulation]
start = "2026-01-01"
duration = "1d"

[[endpoints]]
name = "e"
concurrency = 1000
provider_rpm = 60
error_latency = "20ms"
latency = { model = "lognormal", ttft = "100ms", sigma = 0 }

[[tenants]]
name = "t"
class = "gold"
chain = ["e"]
retry = { max_attempts = 1 }

[[tenants.workflows]]
name = "w"
rate = 2

[[tenants.clauses]]
metric = "availability"
target = 0.5

[[tenants.clauses]]
metric = "latency"
percentile = 50
threshold = "1s"
"#;

#[test]
fn provider_rpm_admits_exactly_the_bucket_and_answers_429_with_whole_second_retry_after() {
    let s = scenario(RPM_SCENARIO);
    let rng = slaplan::engine::stream(0, 0, "test");
    let mut e = EndpointSim::new(&s.endpoints[0], s.start(), rng, &[]);
    // One attempt every 0.5 s for 10 minutes (1200 attempts) against 60 per
    // minute: a full bucket of 60, then 1 per second. By t = 599.5 s the
    // provider admits floor(60 + 599.5) = 659 and rate-limits 541.
    let (mut admitted, mut limited) = (0u64, 0u64);
    for k in 0..1200u64 {
        let now = Time::ZERO + Span::from_millis(500 * k);
        match e.admit(now, AttemptId(k), 100, 10) {
            Admission::Serve(_) => {
                admitted += 1;
                e.release(now);
            }
            Admission::RateLimited { after, retry_after } => {
                limited += 1;
                assert_eq!(after, Span::from_millis(20));
                // Half a token short: 0.5 s, rounded up to whole seconds.
                assert_eq!(retry_after, Span::from_secs(1), "at t = {now}");
            }
            other => panic!("unexpected {other:?} at {now}"),
        }
    }
    assert_eq!((admitted, limited), (659, 541));
}

#[test]
fn provider_rpm_caps_what_the_router_gets_served_and_the_rest_fail_on_429s() {
    let reps = replicate(&scenario(RPM_SCENARIO), 1);
    let availability = reps[0].attainment[0];
    let (ok, all) = (availability.succeeded, availability.eligible);
    // Hand-computed ceiling: a full bucket (60) plus 60 per minute for a day.
    let bound = 60 + 60 * 24 * 60;
    assert!(ok <= bound, "{ok} served, above the provider's limit {bound}");
    // Offered about 2/s = 172 800 calls; the router retries the endpoint as
    // soon as each 1 s retry-after ends, so it uses nearly all the quota.
    assert!(
        ok as f64 >= 0.9 * bound as f64,
        "{ok} served, far under the limit {bound}"
    );
    assert!(all - ok > 80_000, "{} calls failed on 429s of {all}", all - ok);
    // The world reports 429s as such (not as 5xx): the router then holds the
    // endpoint for the retry-after and parks calls meanwhile, so served calls
    // wait beyond the deterministic 100 ms service time. Reported as 5xx,
    // every served call would take exactly 100 ms.
    let mean = reps[0].attainment[1].mean_latency_ms.expect("calls were served");
    assert!(
        mean > 110.0,
        "mean latency of served calls {mean} ms: no call waited out a retry-after"
    );
}

#[test]
fn provider_profiles_reproduce_the_cited_daily_availability() {
    let profiles = profiles();
    assert_eq!(profiles.len(), 2, "data/providers.toml parses, with both profiles");
    for p in profiles {
        let mtbf_days = p.mtbf.as_secs_f64() / 86_400.0;
        let mttr_hours = p.mttr.as_secs_f64() / 3_600.0;
        assert!((5.2..=5.6).contains(&mtbf_days), "{}: MTBF {mtbf_days} d", p.name);
        assert!((2.6..=2.8).contains(&mttr_hours), "{}: MTTR {mttr_hours} h", p.name);
        let share = p.mttr.as_secs_f64() / (p.mtbf.as_secs_f64() + p.mttr.as_secs_f64());
        let p_err = p.error_probability.unwrap_or(1.0);
        let availability = 1.0 - p_err * share;
        assert!(
            (availability - p.cited_daily_availability).abs() <= 5e-5,
            "{}: 1 - {p_err} × {share:.6} = {availability:.6} vs cited {}",
            p.name,
            p.cited_daily_availability
        );
        assert!([0.9982, 0.9992].contains(&p.cited_daily_availability));
    }
    let mode = slaplan::scenario::OutageProcess {
        endpoint: None,
        provider: Some("x".into()),
        region: None,
        profile: Some("openai-like".into()),
        mtbf: None,
        mttr: None,
        uptime: None,
        uptime_sigma: None,
        repair: None,
        repair_sigma: None,
        mode: None,
        latency_factor: None,
        error_probability: None,
        rpm: None,
    }
    .renewal()
    .expect("a profile supplies mtbf and mttr")
    .mode;
    assert!(matches!(mode, OutageMode::Brownout { error_probability, .. } if error_probability == 0.039));
}

/// A one-endpoint scenario around `endpoint_fields` (TOML lines of the
/// endpoint table), starting at `start`.
fn one_endpoint(start: &str, endpoint_fields: &str) -> slaplan::scenario::Scenario {
    scenario(&format!(
        r#"
[simulation]
start = "{start}"
duration = "2d"

[[endpoints]]
name = "e"
concurrency = 100
latency = {{ model = "lognormal", ttft = "100ms", sigma = 0 }}
{endpoint_fields}

[[tenants]]
name = "t"
class = "gold"
chain = ["e"]

[[tenants.workflows]]
name = "w"
rate = 1
"#
    ))
}

fn endpoint_of(s: &slaplan::scenario::Scenario) -> EndpointSim {
    EndpointSim::new(&s.endpoints[0], s.start(), slaplan::engine::stream(0, 0, "test"), &[])
}

#[test]
fn background_load_multiplies_service_time_in_its_utc_hour() {
    // Start at 22:30 UTC; hour 23 is loaded ×2.
    let mut factors = vec!["1"; 24];
    factors[23] = "2";
    let s = one_endpoint("2026-01-01T22:30:00", &format!("background = [{}]", factors.join(", ")));
    let mut e = endpoint_of(&s);
    let at = |m: u64| Time::ZERO + Span::from_mins(m);
    for (minutes, hour, service_ms) in [(0, 22, 100), (29, 22, 100), (30, 23, 200), (89, 23, 200), (90, 0, 100)] {
        assert_eq!(e.hour_of_day(at(minutes)), hour, "t+{minutes} min");
        match e.admit(at(minutes), AttemptId(minutes), 10, 10) {
            Admission::Serve(span) => assert_eq!(span, Span::from_millis(service_ms), "t+{minutes} min"),
            other => panic!("unexpected {other:?}"),
        }
        e.release(at(minutes));
    }
}

#[test]
fn an_input_over_the_context_window_fails_fast_and_cost_and_quality_are_exposed() {
    let s = one_endpoint(
        "2026-01-01",
        "context_window = 1000\nerror_latency = \"30ms\"\ncost_per_million_input = 3.0\n\
         cost_per_million_output = 15.0\nquality = 0.8",
    );
    let mut e = endpoint_of(&s);
    assert_eq!(
        e.admit(Time::ZERO, AttemptId(0), 1001, 10),
        Admission::Reject(Span::from_millis(30))
    );
    assert!(matches!(
        e.admit(Time::ZERO, AttemptId(1), 1000, 10),
        Admission::Serve(_)
    ));
    // 2000 in × $3/M + 500 out × $15/M = $0.006 + $0.0075.
    assert!((e.cost(2000, 500) - 0.0135).abs() < 1e-12);
    assert_eq!(e.quality(), 0.8);
}

#[test]
fn a_quota_squeeze_lowers_the_provider_rpm_only_while_it_lasts() {
    let s = one_endpoint(
        "2026-01-01",
        r#"outages = [{ start = "0s", duration = "1h", mode = "quota_squeeze", rpm = 2 }]"#,
    );
    let mut e = endpoint_of(&s);
    let ms = |m: u64| Time::ZERO + Span::from_millis(m);
    assert!(matches!(e.admit(ms(0), AttemptId(0), 10, 10), Admission::Serve(_)));
    assert!(matches!(e.admit(ms(100), AttemptId(1), 10, 10), Admission::Serve(_)));
    // Empty bucket of 2 per minute: refills one every 30 s; at t = 0.2 s it
    // holds 0.2/30 of one, so the next fits in 29.8 s, sent as 30 s.
    assert_eq!(
        e.admit(ms(200), AttemptId(2), 10, 10),
        Admission::RateLimited {
            after: Span::from_millis(20),
            retry_after: Span::from_secs(30)
        }
    );
    assert!(matches!(e.admit(ms(30_100), AttemptId(3), 10, 10), Admission::Serve(_)));
    for k in 0..50 {
        e.release(ms(30_100));
        let after = Time::ZERO + Span::from_hours(1) + Span::from_millis(k);
        assert!(matches!(e.admit(after, AttemptId(4 + k), 10, 10), Admission::Serve(_)));
    }
}

#[test]
fn lognormal_repairs_have_the_configured_mean_and_the_process_the_configured_uptime() {
    use slaplan::scenario::{Law, Renewal};
    let process = Renewal {
        mtbf: Span::from_hours(10),
        mttr: Span::from_hours(2),
        uptime: Law::Exponential,
        uptime_sigma: 0.0,
        repair: Law::Lognormal,
        repair_sigma: 1.0,
        mode: OutageMode::Down,
    };
    let mut rng = slaplan::engine::stream(1, 0, "test");
    let horizon = Time::ZERO + Span::from_days(3000);
    let incidents = slaplan::model::renewal_incidents(&process, &mut rng, horizon);
    // Repair lengths are independent draws: a t-interval over them.
    let hours: Vec<f64> = incidents[1..incidents.len() - 1]
        .iter()
        .map(|i| (i.end - i.start).as_secs_f64() / 3600.0)
        .collect();
    assert_in_t_interval(&hours, 2.0, "mean lognormal repair (h)");
    let gaps: Vec<f64> = incidents
        .windows(2)
        .map(|w| (w[1].start - w[0].end).as_secs_f64() / 3600.0)
        .collect();
    assert_in_t_interval(&gaps, 10.0, "mean exponential up time (h)");
}

fn problems(text: &str) -> Vec<(String, String)> {
    match slaplan::scenario::parse(text, std::path::Path::new("t.toml")) {
        Ok(_) => Vec::new(),
        Err(e) => e.problems.into_iter().map(|p| (p.path, p.message)).collect(),
    }
}

#[test]
fn new_world_fields_are_range_checked_with_suggestions() {
    let base = TWO_ENDPOINTS.replace("CHAIN", r#"["a", "b"]"#).replace("ATTEMPTS", "2");
    let bad = base
        .replace(
            "name = \"a\"\nprovider = \"pa\"",
            "name = \"a\"\nprovider = \"pa\"\nquality = 1.5\nbackground = [1, 2]\nprovider_rpm = 0\n\
             outages = [{ start = \"1d\", duration = \"1h\", mode = \"brownout\", error_probability = 1.5 },\n\
             { start = \"2d\", duration = \"1h\", rpm = 5 }]",
        )
        .replace("endpoint = \"b\"\nmtbf = \"2h\"", "provider = \"pbb\"\nmtbf = \"0s\"");
    let got = problems(&bad);
    let find = |path: &str| {
        got.iter()
            .find(|(p, _)| p == path)
            .map(|(_, m)| m.clone())
            .unwrap_or_else(|| panic!("no problem at {path} in {got:#?}"))
    };
    assert!(find("endpoints[0].quality").contains("outside [0, 1]"));
    assert!(find("endpoints[0].background").contains("expected 24"));
    assert!(find("endpoints[0].provider_rpm").contains("1 or more"));
    assert!(find("endpoints[0].outages[0].error_probability").contains("not a probability"));
    assert!(find("endpoints[0].outages[1].rpm").contains("quota_squeeze"));
    assert!(find("outage_processes[1].provider").contains("did you mean \"pb\"?"));
    assert!(find("outage_processes[1].mtbf").contains("zero duration"));
    assert_eq!(got.len(), 7, "{got:#?}");

    let typo = base.replace("mtbf = \"2h\"\nmttr = \"30m\"", "mtbf = \"2s\"\nmttr = \"1s\"");
    let got = problems(&typo);
    assert_eq!(got.len(), 2, "{got:#?}");
    assert!(got[0].1.contains("incidents over the period"), "{got:#?}");

    let unknown_profile = base.replace(
        "endpoint = \"a\"\nmtbf = \"2h\"\nmttr = \"30m\"",
        "endpoint = \"a\"\nprofile = \"openai-lik\"",
    );
    let got = problems(&unknown_profile);
    assert_eq!(got.len(), 1, "{got:#?}");
    assert!(got[0].1.contains("did you mean \"openai-like\"?"), "{got:#?}");
}
