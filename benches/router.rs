//! `router_decision`: the cost of one call's whole life in the router core,
//! submit -> dispatch -> outcome -> complete, with 20 tenants and 10
//! endpoints.
//!
//! A plain `harness = false` timing loop (the package has no benchmarking
//! dev-dependency): it runs batches of calls, prints the median, minimum and
//! maximum nanoseconds per call over the batches.
//!
//! Run: `cargo bench --no-default-features --bench router`.

use std::hint::black_box;
use std::time::Instant;

use slaplan::policy::*;
use slaplan::time::{Span, Time};

const TENANTS: usize = 20;
const ENDPOINTS: usize = 10;
const BATCH: u64 = 20_000;
const BATCHES: usize = 50;

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
        breaker: None,
    }
}

fn main() {
    let mut router = match Router::new(config()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("bench config rejected: {e}");
            std::process::exit(1);
        }
    };
    let mut now = Time::ZERO;
    let mut call_no = 0u64;
    let mut run_batch = |router: &mut Router| {
        for _ in 0..BATCH {
            now += Span::from_micros(50);
            let tenant = TenantId((call_no % TENANTS as u64) as u32);
            call_no += 1;
            router.submit(
                now,
                CallRequest {
                    tenant,
                    workflow: WorkflowId(0),
                    input_tokens: 1_500,
                    output_tokens: 200,
                    deadline: Some(now + Span::from_secs(60)),
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
                now += Span::from_micros(40);
                router.on_outcome(now, a, Outcome::Success);
            }
            while let Some(action) = router.poll_action() {
                black_box(action);
            }
            black_box(router.poll_timeout());
        }
    };
    // Warm up.
    run_batch(&mut router);
    let mut per_call: Vec<f64> = (0..BATCHES)
        .map(|_| {
            let start = Instant::now();
            run_batch(&mut router);
            start.elapsed().as_nanos() as f64 / BATCH as f64
        })
        .collect();
    per_call.sort_by(f64::total_cmp);
    println!(
        "router_decision (submit -> dispatch -> outcome -> complete, {TENANTS} tenants, {ENDPOINTS} endpoints): \
         median {:.0} ns/call, min {:.0}, max {:.0} over {BATCHES} batches of {BATCH}",
        per_call[BATCHES / 2],
        per_call[0],
        per_call[BATCHES - 1],
    );
}
