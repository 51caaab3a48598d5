//! The router core's decision path, measured on a loaded router.
//!
//! - `router_decision`: one call's whole life, submit -> (queue) ->
//!   dispatch -> outcome -> complete, with 20 tenants of three classes and
//!   10 endpoints; every chain starts with a pool of two endpoints at tier 0,
//!   then one endpoint at tier 1; breakers on (router-wide), error budgets on
//!   (every tenant has an availability target), deadlines with latency
//!   priors (deadline awareness), and a standing queue: every endpoint is
//!   kept full with about two calls waiting for it, so each iteration queues
//!   a call, answers the oldest attempt and dispatches a waiting call.
//! - `router_saturated`: the same router with deep queues and shedding on:
//!   20,000 calls submitted beyond the slots, `max_queue` 1,500 calls per
//!   endpoint, so every endpoint holds a full queue and about every new
//!   call sheds one; one call in and one out per iteration; one answer in
//!   50 is a 5xx, so retries and fallbacks are in the path too.
//!
//! Run: `cargo bench --bench router` (criterion; the router core needs no
//! default feature, so `--no-default-features` works too).

use std::collections::VecDeque;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};

use slaplan::policy::*;
use slaplan::time::{Span, Time};

const TENANTS: usize = 20;
const ENDPOINTS: usize = 10;
const SLOTS: u32 = 8;

fn name(i: usize) -> String {
    format!("model-{i}@provider-{}/eu", i % 3)
}

fn config(max_queue: Option<u32>) -> RouterConfig {
    let endpoints = (0..ENDPOINTS)
        .map(|i| EndpointPolicy {
            name: name(i),
            provider: format!("provider-{}", i % 3),
            region: "eu".into(),
            max_concurrency: Some(SLOTS),
            attempt_timeout: Span::from_secs(30),
            expected_latency: Some(Span::from_millis(800)),
            ..Default::default()
        })
        .collect();
    let classes = [SlaClass::Gold, SlaClass::Silver, SlaClass::Bronze];
    let tenants = (0..TENANTS)
        .map(|t| TenantPolicy {
            name: format!("tenant-{t}"),
            class: classes[t % 3],
            // A pool of two endpoints at tier 0, then a tier-1 standby.
            chain: [(0, 0u8), (1, 0), (2, 1)]
                .iter()
                .map(|&(k, tier)| ChainStep {
                    endpoint: name((t + k) % ENDPOINTS),
                    tier: Tier(tier),
                })
                .collect(),
            availability_target: Some(0.999),
            weight: 1 + (t % 3) as u32,
            ..Default::default()
        })
        .collect();
    RouterConfig {
        endpoints,
        tenants,
        max_queue,
        breaker: Some(BreakerPolicy::default()),
        ..Default::default()
    }
}

/// A router driven like a gateway: attempts in flight answered oldest
/// first, a fixed number of calls held (in flight plus waiting).
struct Load {
    router: Router,
    now: Time,
    calls: u64,
    answers: u64,
    out: VecDeque<AttemptId>,
}

impl Load {
    /// A router that was given `held` calls: every endpoint full, the rest
    /// waiting (or shed beyond `max_queue`).
    fn new(held: usize, max_queue: Option<u32>) -> Load {
        let mut load = Load {
            router: Router::new(config(max_queue)).expect("bench config is valid"),
            now: Time::ZERO,
            calls: 0,
            answers: 0,
            out: VecDeque::new(),
        };
        for _ in 0..held {
            load.submit();
        }
        load.drain();
        load
    }

    fn submit(&mut self) {
        let tenant = TenantId((self.calls % TENANTS as u64) as u32);
        self.calls += 1;
        self.router.submit(
            self.now,
            CallRequest {
                tenant,
                workflow: WorkflowId(0),
                input_tokens: 1_500,
                output_tokens: 200,
                deadline: Some(self.now + Span::from_secs(3_600)),
                affinity: None,
                ..Default::default()
            },
        );
    }

    fn drain(&mut self) {
        while let Some(action) = self.router.poll_action() {
            match action {
                Action::Dispatch { attempt, .. } => self.out.push_back(attempt),
                Action::Cancel { attempt, .. } => self.out.retain(|&a| a != attempt),
                _ => {}
            }
            black_box(action);
        }
        while let Some(event) = self.router.poll_event() {
            black_box(event);
        }
    }

    /// The oldest attempt answered, and one call in unless the answer was
    /// a 5xx (one in `fail_every`, 0 for none: the failed call is retried at
    /// tier 1, so the router holds as many calls as before); the clock
    /// moves 50 µs.
    fn step(&mut self, fail_every: u64) {
        self.now += Span::from_micros(50);
        self.answers += 1;
        let fail = fail_every > 0 && self.answers.is_multiple_of(fail_every);
        if !fail {
            self.submit();
            self.drain();
        }
        if let Some(a) = self.out.pop_front() {
            let outcome = if fail { Outcome::ServerError } else { Outcome::Success };
            self.router.on_outcome(self.now, a, outcome);
            self.drain();
        }
        if let Some(t) = self.router.poll_timeout()
            && t <= self.now
        {
            self.router.handle_timeout(self.now);
            self.drain();
        }
    }
}

fn router_decision(c: &mut Criterion) {
    // 10 endpoints × 8 slots in flight, about 2 calls waiting per endpoint.
    let mut load = Load::new(ENDPOINTS * SLOTS as usize + 2 * ENDPOINTS, None);
    c.bench_function("router_decision", |b| b.iter(|| load.step(0)));
}

fn router_saturated(c: &mut Criterion) {
    let mut load = Load::new(ENDPOINTS * SLOTS as usize + 20_000, Some(1_500));
    c.bench_function("router_saturated", |b| b.iter(|| load.step(50)));
}

criterion_group!(benches, router_decision, router_saturated);
criterion_main!(benches);
