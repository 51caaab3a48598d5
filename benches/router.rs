//! `router_decision`: the cost of one call's whole life in the router core,
//! submit -> dispatch -> outcome -> complete, with 20 tenants and 10
//! endpoints.
//!
//! Run: `cargo bench --bench router` (criterion; the router core needs no
//! default feature, so `--no-default-features` works too).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};

use slaplan::policy::*;
use slaplan::time::{Span, Time};

const TENANTS: usize = 20;
const ENDPOINTS: usize = 10;

fn config() -> RouterConfig {
    let endpoints = (0..ENDPOINTS)
        .map(|i| EndpointPolicy {
            name: format!("model-{i}@provider-{}/eu", i % 3),
            provider: format!("provider-{}", i % 3),
            region: "eu".into(),
            max_concurrency: Some(64),
            attempt_timeout: Span::from_secs(30),
            ..Default::default()
        })
        .collect();
    let classes = [SlaClass::Gold, SlaClass::Silver, SlaClass::Bronze];
    let tenants = (0..TENANTS)
        .map(|t| TenantPolicy {
            name: format!("tenant-{t}"),
            class: classes[t % 3],
            chain: (0..3)
                .map(|k| ChainStep {
                    endpoint: format!(
                        "model-{}@provider-{}/eu",
                        (t + k) % ENDPOINTS,
                        ((t + k) % ENDPOINTS) % 3
                    ),
                    tier: Tier(k as u8),
                })
                .collect(),
            ..Default::default()
        })
        .collect();
    RouterConfig {
        endpoints,
        tenants,
        seed: 0,
        budget: Default::default(),
        max_queue: None,
        breaker: None,
    }
}

/// One call's whole life; the clock moves 50 µs per call and the attempt
/// answers 40 µs after dispatch, so the router never holds a queue.
fn one_call(router: &mut Router, now: &mut Time, call_no: &mut u64) {
    *now += Span::from_micros(50);
    let tenant = TenantId((*call_no % TENANTS as u64) as u32);
    *call_no += 1;
    router.submit(
        *now,
        CallRequest {
            tenant,
            workflow: WorkflowId(0),
            input_tokens: 1_500,
            output_tokens: 200,
            deadline: Some(*now + Span::from_secs(60)),
            affinity: None,
        },
    );
    let mut attempt = None;
    while let Some(action) = router.poll_action() {
        if let Action::Dispatch { attempt: a, .. } = action {
            attempt = Some(a);
        }
    }
    while router.poll_event().is_some() {}
    if let Some(a) = attempt {
        *now += Span::from_micros(40);
        router.on_outcome(*now, a, Outcome::Success);
    }
    while let Some(action) = router.poll_action() {
        black_box(action);
    }
    black_box(router.poll_timeout());
}

fn router_decision(c: &mut Criterion) {
    let mut router = Router::new(config()).expect("bench config is valid");
    let (mut now, mut call_no) = (Time::ZERO, 0u64);
    c.bench_function("router_decision", |b| {
        b.iter(|| one_call(&mut router, &mut now, &mut call_no))
    });
}

criterion_group!(benches, router_decision);
criterion_main!(benches);
