//! `/metrics`: the gateway's Prometheus metrics (prometheus-client, text
//! format). Per tenant: requests, outcomes, latency and time-to-first-token
//! histograms, calls served per tier, fallbacks (tier changes), sheds, and
//! the error budget left. Per endpoint: attempts in flight, breaker state,
//! 429s. Counters are updated by the router's driver as calls end; gauges
//! are read from the router at each scrape.
//!
//! Metric handles are created once per tenant and endpoint at start, so
//! recording allocates nothing; the label sets are fixed by the scenario,
//! so memory does not grow with traffic.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
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

/// Outcomes a call can end with, as the `outcome` label says them.
pub const OUTCOMES: [&str; 10] = [
    "success",
    "attempts_exhausted",
    "no_eligible_endpoint",
    "deadline_unreachable",
    "invalid_request",
    "suspended",
    "shed",
    "cancelled",
    "client_error",
    "suspended_too_long",
];

/// The prefix of every metric name.
pub const PREFIX: &str = "slaplan";
/// Calls ended per tenant and outcome (a counter: exposed as
/// `slaplan_outcomes_total{tenant, outcome}`).
pub const OUTCOMES_METRIC: &str = "outcomes";
/// Call latency per tenant (a histogram: `slaplan_request_duration_seconds_bucket{tenant, le}`,
/// `_count`, `_sum`); every call that ended is observed, failed ones included.
pub const LATENCY_METRIC: &str = "request_duration_seconds";
/// Time to first token of streamed calls per tenant (a histogram).
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

/// The histograms' bucket boundaries in seconds (`le` labels): 1 ms to about 65 s.
pub fn seconds_buckets() -> Vec<f64> {
    exponential_buckets(0.001, 2.0, 17).collect()
}

/// Each finite bucket boundary of [`LATENCY_METRIC`] and [`TTFT_METRIC`]
/// with its `le` label exactly as `/metrics` writes it (read from the
/// exposition itself, so a rule selecting a bucket by label matches).
pub fn bucket_labels() -> Vec<(f64, String)> {
    let probe = Metrics::new(&["probe".to_string()], &[]);
    let series = format!("{}_bucket{{", exposed(LATENCY_METRIC, false));
    probe
        .encode()
        .lines()
        .filter(|l| l.starts_with(&series))
        .filter_map(|l| {
            let label = l.split("le=\"").nth(1)?.split('"').next()?;
            let bound: f64 = label.parse().ok()?;
            bound.is_finite().then(|| (bound, label.to_string()))
        })
        .collect()
}

fn seconds_histogram() -> Histogram {
    Histogram::new(seconds_buckets())
}

/// One tenant's handles.
struct TenantMetrics {
    requests: Counter,
    outcomes: Vec<Counter>,
    latency: Histogram,
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
    tenants: Vec<TenantMetrics>,
    endpoints: Vec<EndpointMetrics>,
    log_dropped: Counter,
    live_calls: Gauge,
    sessions: Gauge,
}

impl Metrics {
    /// Metrics for these tenants and endpoints (names in id order).
    pub fn new(tenants: &[String], endpoints: &[String]) -> Metrics {
        let mut registry = Registry::with_prefix(PREFIX);
        let requests = Family::<TenantLabel, Counter>::default();
        let outcomes = Family::<OutcomeLabels, Counter>::default();
        let latency = Family::<TenantLabel, Histogram, fn() -> Histogram>::new_with_constructor(seconds_histogram);
        let ttft = Family::<TenantLabel, Histogram, fn() -> Histogram>::new_with_constructor(seconds_histogram);
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
            "Call latency, arrival to the end of the answer",
            latency.clone(),
        );
        registry.register(TTFT_METRIC, "Streamed calls: arrival to the first token", ttft.clone());
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
                    latency: latency.get_or_create(&l).clone(),
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
            tenants,
            endpoints,
            log_dropped,
            live_calls,
            sessions,
        }
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
    /// `latency`, served at `tier` if it was.
    pub fn call_ended(&self, tenant: usize, outcome: &str, latency: Span, ttft: Option<Span>, tier: Option<u8>) {
        let Some(t) = self.tenants.get(tenant) else { return };
        if let Some(i) = OUTCOMES.iter().position(|o| *o == outcome) {
            t.outcomes[i].inc();
        }
        t.latency.observe(latency.as_secs_f64());
        if let Some(f) = ttft {
            t.ttft.observe(f.as_secs_f64());
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
