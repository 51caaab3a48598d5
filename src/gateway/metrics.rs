//! `/metrics`: the gateway's Prometheus metrics (prometheus-client, text
//! format). Per tenant: requests, outcomes, latency and time-to-first-token
//! histograms, calls served per tier, fallbacks (tier changes), sheds, and
//! the error budget left. Per endpoint: attempts in flight, breaker state,
//! 429s. Counters are updated by the router's driver as calls end; gauges
//! are read from the router at each scrape.
//!
//! The histograms observe what the simulator's clauses judge, so that a
//! rule written over them (`export-slo`) monitors the vetted quantity: the
//! latency histogram is split by `outcome` (`success`, the population of a
//! latency clause, or `failure`), the time-to-first-token histogram
//! observes successful calls only (a call without a first token at its
//! end, as `judge` reads it), and the bucket boundaries are a fixed grid
//! plus every latency and time-to-first-token threshold the scenario's
//! clauses name, so a clause's own threshold is always a boundary.
//!
//! Metric handles are created once per tenant and endpoint at start, so
//! recording allocates nothing; the label sets and buckets are fixed by the
//! scenario, so memory does not grow with traffic.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::family::MetricConstructor;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

use crate::policy::BreakerState;
use crate::time::Span;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TenantLabel {
    tenant: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    tenant: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TierLabels {
    tenant: String,
    tier: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EndpointLabel {
    endpoint: String,
}

/// Outcomes a call can end with, as the `outcome` label says them: every
/// outcome the request log can hold (one list, so that no way a call ends
/// is missing from the counters the monitoring rules divide by).
pub const OUTCOMES: [&str; 12] = crate::logs::REQUEST_LOG_OUTCOMES;

/// The prefix of every metric name.
pub const PREFIX: &str = "slaplan";
/// Calls ended per tenant and outcome (a counter: exposed as
/// `slaplan_outcomes_total{tenant, outcome}`).
pub const OUTCOMES_METRIC: &str = "outcomes";
/// Call latency per tenant and outcome (a histogram:
/// `slaplan_request_duration_seconds_bucket{tenant, outcome, le}`, `_count`,
/// `_sum`), `outcome` one of [`LATENCY_OUTCOMES`]: every call that ended is
/// observed once.
pub const LATENCY_METRIC: &str = "request_duration_seconds";
/// The `outcome` label of [`LATENCY_METRIC`]: `success` (the calls a
/// latency clause ranks) or `failure` (every other outcome of
/// [`OUTCOMES_METRIC`]; that counter has the breakdown).
pub const LATENCY_OUTCOMES: [&str; 2] = ["success", "failure"];
/// Time to first token of successful calls per tenant (a histogram:
/// `slaplan_time_to_first_token_seconds_bucket{tenant, le}`): arrival to
/// the first token, or to the end for a call that sent none (the
/// population and value of a `ttft` clause).
pub const TTFT_METRIC: &str = "time_to_first_token_seconds";
/// Calls served per tenant and tier (a counter: `slaplan_served_total{tenant, tier}`).
pub const SERVED_METRIC: &str = "served";
/// Tiers the `tier` label of [`SERVED_METRIC`] takes: 0 to this.
pub const LAST_TIER: u8 = 4;

/// The exposed name of metric `name`, with the `_total` a counter gets.
pub fn exposed(name: &str, counter: bool) -> String {
    if counter {
        format!("{PREFIX}_{name}_total")
    } else {
        format!("{PREFIX}_{name}")
    }
}

/// The mantissas of the fixed grid, in thousandths: 1, 1.25, 1.5, 2, 2.5,
/// 3, 4, 5, 6 and 8 times a power of ten. Neighbours are at most a third
/// apart, so an objective rounded up to the next boundary loses at most a
/// quarter of itself.
const GRID_MANTISSAS: [u64; 10] = [1000, 1250, 1500, 2000, 2500, 3000, 4000, 5000, 6000, 8000];

/// The fixed grid of bucket boundaries every gateway histogram has: the
/// [`GRID_MANTISSAS`] from 1 ms to 100 s (51 boundaries).
pub fn grid() -> Vec<Span> {
    // 1 ms is 10^6 ns: a mantissa in thousandths times 10^3 ns per decade.
    let mut out: Vec<Span> = (0..5u32)
        .flat_map(|decade| {
            GRID_MANTISSAS
                .iter()
                .map(move |m| Span::from_nanos(m * 1000 * 10u64.pow(decade)))
        })
        .collect();
    out.push(Span::from_secs(100));
    out
}

/// The histograms' bucket boundaries: the [`grid`] and every `objective`
/// (the scenario's latency and time-to-first-token thresholds), sorted,
/// without repeats, as seconds (`Span::as_secs_f64`, as calls are observed).
pub fn bucket_bounds(objectives: &[Span]) -> Vec<f64> {
    let mut spans = grid();
    spans.extend(objectives.iter().copied().filter(|s| *s > Span::ZERO));
    spans.sort();
    spans.dedup();
    spans.into_iter().map(Span::as_secs_f64).collect()
}

/// The `le` label `/metrics` writes for boundary `bound` (read from an
/// exposition, so a rule selecting a bucket by label matches it).
pub fn le_label(bound: Span) -> String {
    let mut registry = Registry::default();
    registry.register("probe", "", Histogram::new([bound.as_secs_f64()]));
    let mut text = String::new();
    let _ = prometheus_client::encoding::text::encode(&mut text, &registry);
    text.lines()
        .filter_map(|l| l.split("le=\"").nth(1)?.split('"').next())
        .find(|label| *label != "+Inf")
        .map_or_else(|| bound.as_secs_f64().to_string(), str::to_string)
}

/// Builds each histogram of a family with the gateway's buckets.
#[derive(Clone, Debug)]
struct Buckets(Vec<f64>);

impl MetricConstructor<Histogram> for Buckets {
    fn new_metric(&self) -> Histogram {
        Histogram::new(self.0.iter().copied())
    }
}

/// One tenant's handles.
struct TenantMetrics {
    requests: Counter,
    outcomes: Vec<Counter>,
    /// By [`LATENCY_OUTCOMES`]: successful calls, then the others.
    latency: [Histogram; 2],
    ttft: Histogram,
    served: Vec<Counter>,
    fallbacks: Counter,
    shed: Counter,
    budget: Gauge<f64, AtomicU64>,
}

/// One endpoint's handles.
struct EndpointMetrics {
    in_flight: Gauge,
    breaker: Gauge,
    rate_limited: Counter,
}

/// Every metric of the gateway.
pub struct Metrics {
    registry: Registry,
    /// The histograms' finite bucket boundaries, in seconds.
    bounds: Vec<f64>,
    tenants: Vec<TenantMetrics>,
    endpoints: Vec<EndpointMetrics>,
    log_dropped: Counter,
    live_calls: Gauge,
    sessions: Gauge,
}

impl Metrics {
    /// Metrics for these tenants and endpoints (names in id order), with a
    /// histogram boundary at each of `objectives` besides the [`grid`].
    pub fn new(tenants: &[String], endpoints: &[String], objectives: &[Span]) -> Metrics {
        let mut registry = Registry::with_prefix(PREFIX);
        let bounds = bucket_bounds(objectives);
        let buckets = Buckets(bounds.clone());
        let requests = Family::<TenantLabel, Counter>::default();
        let outcomes = Family::<OutcomeLabels, Counter>::default();
        let latency = Family::<OutcomeLabels, Histogram, Buckets>::new_with_constructor(buckets.clone());
        let ttft = Family::<TenantLabel, Histogram, Buckets>::new_with_constructor(buckets);
        let served = Family::<TierLabels, Counter>::default();
        let fallbacks = Family::<TenantLabel, Counter>::default();
        let shed = Family::<TenantLabel, Counter>::default();
        let budget = Family::<TenantLabel, Gauge<f64, AtomicU64>>::default();
        let in_flight = Family::<EndpointLabel, Gauge>::default();
        let breaker = Family::<EndpointLabel, Gauge>::default();
        let rate_limited = Family::<EndpointLabel, Counter>::default();
        let log_dropped = Counter::default();
        let live_calls = Gauge::default();
        let sessions = Gauge::default();
        registry.register(
            "requests",
            "Chat-completion requests accepted, per tenant",
            requests.clone(),
        );
        registry.register(OUTCOMES_METRIC, "Calls ended, per tenant and outcome", outcomes.clone());
        registry.register(
            LATENCY_METRIC,
            "Call latency, arrival to the end of the answer, by outcome (success or failure)",
            latency.clone(),
        );
        registry.register(
            TTFT_METRIC,
            "Successful calls: arrival to the first token (to the end without one)",
            ttft.clone(),
        );
        registry.register(SERVED_METRIC, "Calls served, per tenant and tier", served.clone());
        registry.register(
            "fallbacks",
            "Tier changes of the tenant's calls (audit tier_change events)",
            fallbacks.clone(),
        );
        registry.register("shed", "Calls shed (429 to the client)", shed.clone());
        registry.register(
            "error_budget_remaining",
            "Share of the tenant's error budget left (1: untouched)",
            budget.clone(),
        );
        registry.register(
            "endpoint_in_flight",
            "Attempts in flight on the endpoint",
            in_flight.clone(),
        );
        registry.register(
            "endpoint_breaker_state",
            "Circuit breaker: 0 closed, 1 half-open, 2 open",
            breaker.clone(),
        );
        registry.register(
            "endpoint_rate_limited",
            "429 answers from the endpoint",
            rate_limited.clone(),
        );
        registry.register(
            "log_lines_dropped",
            "Audit or request-log lines dropped because the writer fell behind",
            log_dropped.clone(),
        );
        registry.register(
            "live_calls",
            "Calls the gateway holds state for (submitted, not yet ended)",
            live_calls.clone(),
        );
        registry.register(
            "sessions_remembered",
            "Client sessions whose last endpoint the gateway remembers (bounded)",
            sessions.clone(),
        );
        let tenants = tenants
            .iter()
            .map(|t| {
                let l = TenantLabel { tenant: t.clone() };
                TenantMetrics {
                    requests: requests.get_or_create(&l).clone(),
                    outcomes: OUTCOMES
                        .iter()
                        .map(|o| {
                            outcomes
                                .get_or_create(&OutcomeLabels {
                                    tenant: t.clone(),
                                    outcome: (*o).into(),
                                })
                                .clone()
                        })
                        .collect(),
                    latency: LATENCY_OUTCOMES.map(|o| {
                        latency
                            .get_or_create(&OutcomeLabels {
                                tenant: t.clone(),
                                outcome: o.into(),
                            })
                            .clone()
                    }),
                    ttft: ttft.get_or_create(&l).clone(),
                    served: (0..=LAST_TIER)
                        .map(|tier| {
                            served
                                .get_or_create(&TierLabels {
                                    tenant: t.clone(),
                                    tier: tier.to_string(),
                                })
                                .clone()
                        })
                        .collect(),
                    fallbacks: fallbacks.get_or_create(&l).clone(),
                    shed: shed.get_or_create(&l).clone(),
                    budget: budget.get_or_create(&l).clone(),
                }
            })
            .collect();
        let endpoints = endpoints
            .iter()
            .map(|e| {
                let l = EndpointLabel { endpoint: e.clone() };
                EndpointMetrics {
                    in_flight: in_flight.get_or_create(&l).clone(),
                    breaker: breaker.get_or_create(&l).clone(),
                    rate_limited: rate_limited.get_or_create(&l).clone(),
                }
            })
            .collect();
        Metrics {
            registry,
            bounds,
            tenants,
            endpoints,
            log_dropped,
            live_calls,
            sessions,
        }
    }

    /// Whether `bound` is a bucket boundary of the histograms.
    pub fn has_bound(&self, bound: Span) -> bool {
        self.bounds.contains(&bound.as_secs_f64())
    }

    /// The driver's live calls and remembered sessions.
    pub fn set_state(&self, live_calls: usize, sessions: usize) {
        self.live_calls.set(i64::try_from(live_calls).unwrap_or(i64::MAX));
        self.sessions.set(i64::try_from(sessions).unwrap_or(i64::MAX));
    }

    /// A request of `tenant` was accepted.
    pub fn request(&self, tenant: usize) {
        if let Some(t) = self.tenants.get(tenant) {
            t.requests.inc();
        }
    }

    /// A call of `tenant` ended with `outcome` (one of [`OUTCOMES`]) after
    /// `latency`, its first token after `ttft` if one came, served at
    /// `tier` if it was.
    pub fn call_ended(&self, tenant: usize, outcome: &str, latency: Span, ttft: Option<Span>, tier: Option<u8>) {
        let Some(t) = self.tenants.get(tenant) else { return };
        if let Some(i) = OUTCOMES.iter().position(|o| *o == outcome) {
            t.outcomes[i].inc();
        }
        let success = outcome == LATENCY_OUTCOMES[0];
        t.latency[usize::from(!success)].observe(latency.as_secs_f64());
        if success {
            // As `judge` reads the request log: no first token, the end.
            t.ttft.observe(ttft.unwrap_or(latency).as_secs_f64());
        }
        if let Some(tier) = tier.and_then(|x| t.served.get(usize::from(x))) {
            tier.inc();
        }
        if outcome == "shed" {
            t.shed.inc();
        }
    }

    /// A call of `tenant` was dispatched again (a retry or a fallback).
    pub fn fallback(&self, tenant: usize) {
        if let Some(t) = self.tenants.get(tenant) {
            t.fallbacks.inc();
        }
    }

    /// `endpoint` answered 429.
    pub fn rate_limited(&self, endpoint: usize) {
        if let Some(e) = self.endpoints.get(endpoint) {
            e.rate_limited.inc();
        }
    }

    /// A log line was dropped.
    pub fn log_dropped(&self) {
        self.log_dropped.inc();
    }

    /// Gauges read from the router.
    pub fn set_endpoint(&self, endpoint: usize, in_flight: u32, breaker: BreakerState) {
        if let Some(e) = self.endpoints.get(endpoint) {
            e.in_flight.set(i64::from(in_flight));
            e.breaker.set(match breaker {
                BreakerState::Closed => 0,
                BreakerState::HalfOpen => 1,
                BreakerState::Open => 2,
            });
        }
    }

    /// The share of `tenant`'s error budget left.
    pub fn set_budget(&self, tenant: usize, remaining: f64) {
        if let Some(t) = self.tenants.get(tenant) {
            t.budget.set(remaining);
        }
    }

    /// The text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value of the series written exactly `series` in `text`.
    fn value(text: &str, series: &str) -> f64 {
        let prefix = format!("{series} ");
        let line = text
            .lines()
            .find(|l| l.starts_with(&prefix))
            .unwrap_or_else(|| panic!("no series {series} in:\n{text}"));
        line[prefix.len()..].parse().unwrap()
    }

    fn ms(n: u64) -> Span {
        Span::from_millis(n)
    }

    #[test]
    fn the_grid_is_one_to_eight_times_powers_of_ten_with_each_objective_added() {
        let g = grid();
        assert_eq!(g.len(), 51);
        assert_eq!(g[0], ms(1));
        assert_eq!(g[1], Span::from_micros(1250));
        assert_eq!(g[9], ms(8));
        assert_eq!(g[10], ms(10));
        assert_eq!(g[49], Span::from_secs(80));
        assert_eq!(g[50], Span::from_secs(100));
        // Neighbours at most a third apart.
        for w in g.windows(2) {
            assert!(w[1].as_secs_f64() <= w[0].as_secs_f64() * (4.0 / 3.0) + 1e-12, "{w:?}");
        }
        // An objective on the grid adds nothing; one off it adds itself.
        assert_eq!(bucket_bounds(&[ms(800), ms(800)]).len(), 51);
        let b = bucket_bounds(&[ms(700), ms(800)]);
        assert_eq!(b.len(), 52);
        assert!(b.contains(&0.7) && b.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(le_label(ms(700)), "0.7");
        assert_eq!(le_label(Span::from_secs(2)), "2.0");
        assert_eq!(le_label(Span::from_micros(1250)), "0.00125");
    }

    #[test]
    fn latency_is_split_by_outcome_and_ttft_counts_successes_with_hand_counted_buckets() {
        let m = Metrics::new(&["a".to_string(), "b".to_string()], &[], &[ms(700)]);
        assert!(m.has_bound(ms(700)) && m.has_bound(ms(800)) && !m.has_bound(ms(650)));
        // Four successes: 300 ms (first token at 100 ms), exactly 700 ms
        // (no first token: counted at its end), 700 ms and a nanosecond
        // (first token at 650 ms), 2 s (first token 1.2 s). Two failures:
        // 10 ms with a first token at 5 ms, and a shed at once.
        let over = ms(700) + Span::from_nanos(1);
        m.call_ended(0, "success", ms(300), Some(ms(100)), Some(0));
        m.call_ended(0, "success", ms(700), None, Some(0));
        m.call_ended(0, "success", over, Some(ms(650)), Some(1));
        m.call_ended(0, "success", ms(2000), Some(ms(1200)), Some(0));
        m.call_ended(0, "attempts_exhausted", ms(10), Some(ms(5)), None);
        m.call_ended(0, "shed", Span::ZERO, None, None);
        let text = m.encode();
        let lat = |outcome: &str, le: &str| {
            value(
                &text,
                &format!("slaplan_request_duration_seconds_bucket{{le=\"{le}\",tenant=\"a\",outcome=\"{outcome}\"}}"),
            )
        };
        // Successes, cumulative: 300 ms; 700 ms; then 700 ms + 1 ns, 2 s.
        for (le, n) in [
            ("0.25", 0.0),
            ("0.3", 1.0),
            ("0.6", 1.0),
            ("0.7", 2.0),
            ("0.8", 3.0),
            ("1.5", 3.0),
        ] {
            assert_eq!(lat("success", le), n, "success le={le}");
        }
        assert_eq!(lat("success", "2.0"), 4.0);
        assert_eq!(lat("success", "+Inf"), 4.0);
        assert_eq!(
            value(
                &text,
                "slaplan_request_duration_seconds_count{tenant=\"a\",outcome=\"success\"}"
            ),
            4.0
        );
        // Failures: the shed (0 s) and the 10 ms one.
        assert_eq!(lat("failure", "0.001"), 1.0);
        assert_eq!(lat("failure", "0.008"), 1.0);
        assert_eq!(lat("failure", "0.01"), 2.0);
        assert_eq!(
            value(
                &text,
                "slaplan_request_duration_seconds_count{tenant=\"a\",outcome=\"failure\"}"
            ),
            2.0
        );
        // First tokens of successes: 100 ms, 700 ms (the end), 650 ms, 1.2 s;
        // the failure's 5 ms is not observed.
        let ttft = |le: &str| {
            value(
                &text,
                &format!("slaplan_time_to_first_token_seconds_bucket{{le=\"{le}\",tenant=\"a\"}}"),
            )
        };
        for (le, n) in [
            ("0.005", 0.0),
            ("0.1", 1.0),
            ("0.6", 1.0),
            ("0.7", 3.0),
            ("1.0", 3.0),
            ("1.25", 4.0),
        ] {
            assert_eq!(ttft(le), n, "ttft le={le}");
        }
        assert_eq!(
            value(&text, "slaplan_time_to_first_token_seconds_count{tenant=\"a\"}"),
            4.0
        );
        // The outcome counter agrees with the histogram counts.
        let outcome = |o: &str| {
            value(
                &text,
                &format!("slaplan_outcomes_total{{tenant=\"a\",outcome=\"{o}\"}}"),
            )
        };
        assert_eq!(outcome("success"), 4.0);
        assert_eq!(outcome("attempts_exhausted") + outcome("shed"), 2.0);
        // Tenant b saw nothing.
        assert_eq!(
            value(
                &text,
                "slaplan_request_duration_seconds_count{tenant=\"b\",outcome=\"success\"}"
            ),
            0.0
        );
    }

    /// Every outcome the request log can hold is counted: the monitoring
    /// rules' availability divides by these counters, so an outcome left
    /// out would be a failure missing from the denominator.
    #[test]
    fn every_request_log_outcome_is_counted() {
        let m = Metrics::new(&["a".to_string()], &[], &[ms(700)]);
        for o in crate::logs::REQUEST_LOG_OUTCOMES {
            m.call_ended(0, o, ms(10), None, None);
        }
        let text = m.encode();
        for o in crate::logs::REQUEST_LOG_OUTCOMES {
            let series = format!("slaplan_outcomes_total{{tenant=\"a\",outcome=\"{o}\"}}");
            assert_eq!(value(&text, &series), 1.0, "{o}");
        }
        let failures = crate::logs::REQUEST_LOG_OUTCOMES.len() - 1;
        assert_eq!(
            value(
                &text,
                "slaplan_request_duration_seconds_count{tenant=\"a\",outcome=\"failure\"}"
            ),
            failures as f64
        );
    }

    #[test]
    fn the_exposition_does_not_grow_with_calls() {
        let m = Metrics::new(&["a".to_string()], &["e".to_string()], &[ms(700)]);
        let before = m.encode().lines().count();
        for i in 0..10_000u64 {
            let outcome = if i % 7 == 0 { "attempts_exhausted" } else { "success" };
            m.call_ended(0, outcome, Span::from_micros(i * 37), None, Some(0));
        }
        assert_eq!(m.encode().lines().count(), before);
    }
}
