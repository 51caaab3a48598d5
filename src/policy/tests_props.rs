//! Property tests over random call / outcome / timeout sequences, with the
//! cases drawn from a seeded generator (the package has no property-testing
//! dependency): on failure the message names the seed to replay.
//!
//! Properties: every call ends exactly once; the router's bookkeeping agrees
//! with the driver's; no free, usable endpoint is left idle while a call
//! waits for it (so a lower class never goes while a higher one waits for a
//! free endpoint); dispatches never go to an open breaker (checked by a
//! debug assertion in the router); the same inputs give the same outputs.

use std::collections::BTreeMap;

use super::rng::SplitMix64;
use super::tests::{endpoint, tenant};
use super::*;
use crate::time::{Span, Time};

fn config(seed: u64) -> RouterConfig {
    let mut a = endpoint("a", Some(2), 1_000);
    a.rpm = Some(600);
    let b = endpoint("b", Some(1), 800);
    let c = endpoint("c", None, 1_500);
    let s = endpoint("s", None, 1_000);
    let mut gold = tenant("gold", SlaClass::Gold, &[("a", 0), ("b", 1), ("s", 4)]);
    gold.max_suspend = Span::from_secs(3);
    gold.latency_ceiling = Some(Span::from_millis(700));
    gold.notify_on_degradation = true;
    let mut silver = tenant("silver", SlaClass::Silver, &[("a", 0), ("c", 2)]);
    silver.requires_consent = vec![Tier(2)];
    silver.max_suspend = Span::from_secs(2);
    let mut bronze = tenant("bronze", SlaClass::Bronze, &[("b", 0), ("c", 1), ("a", 2)]);
    bronze.retry.backoff = Span::from_millis(20);
    bronze.retry.jitter = 0.5;
    RouterConfig {
        endpoints: vec![a, b, c, s],
        tenants: vec![gold, silver, bronze],
        seed,
        breaker: Some(BreakerPolicy {
            window: Span::from_secs(2),
            min_requests: 3,
            error_ratio: 0.5,
            slow_threshold: Some(Span::from_millis(600)),
            slow_ratio: 0.8,
            open_for: Span::from_millis(500),
            half_open_probes: 2,
        }),
    }
}

/// Runs one random case; returns everything the router emitted.
fn run(seed: u64, steps: usize) -> (Vec<Action>, Vec<AuditEvent>) {
    let mut rng = SplitMix64::new(seed);
    let mut router = Router::new(config(seed)).expect("valid config");
    let mut now = Time::ZERO;
    let mut out: Vec<(AttemptId, EndpointId)> = Vec::new();
    let mut ended: BTreeMap<CallId, u32> = BTreeMap::new();
    let mut submitted = 0u64;
    let (mut actions, mut events) = (Vec::new(), Vec::new());
    let mut drain = |router: &mut Router, out: &mut Vec<(AttemptId, EndpointId)>| {
        while let Some(a) = router.poll_action() {
            match a {
                Action::Dispatch { attempt, endpoint, .. } => out.push((attempt, endpoint)),
                Action::Cancel { attempt, .. } => out.retain(|&(x, _)| x != attempt),
                Action::Complete { call, .. } | Action::Fail { call, .. } => {
                    *ended.entry(call).or_default() += 1;
                }
                Action::Suspend { .. } | Action::Resume { .. } => {}
            }
            actions.push(a);
        }
        while let Some(e) = router.poll_event() {
            events.push(e);
        }
        router.check_invariants(&seed_msg(seed));
    };
    let pick = |rng: &mut SplitMix64, n: usize| (rng.next_u64() % n as u64) as usize;
    for step in 0..steps + 400 {
        let finishing = step >= steps;
        let r = pick(&mut rng, 10);
        if !finishing && r < 4 {
            let deadline = (pick(&mut rng, 3) == 0).then(|| now + Span::from_millis(50 + rng.next_u64() % 2_000));
            router.submit(
                now,
                CallRequest {
                    tenant: TenantId(pick(&mut rng, 3) as u32),
                    workflow: WorkflowId(0),
                    input_tokens: 100,
                    output_tokens: 50,
                    deadline,
                },
            );
            submitted += 1;
        } else if !out.is_empty() && (r < 8 || finishing) {
            let (attempt, _) = out.remove(pick(&mut rng, out.len()));
            let outcome = match pick(&mut rng, if finishing { 1 } else { 6 }) {
                0..=2 => Outcome::Success,
                3 => Outcome::ServerError,
                4 => Outcome::ConnectionError,
                _ => Outcome::RateLimited {
                    retry_after: Span::from_millis(rng.next_u64() % 300),
                },
            };
            router.on_outcome(now, attempt, outcome);
        } else {
            let jump = if finishing {
                router.poll_timeout().unwrap_or(now)
            } else {
                now + Span::from_millis(rng.next_u64() % 400)
            };
            now = now.max(jump);
            router.handle_timeout(now);
            // An extra handle_timeout at the same instant is a no-op.
            drain(&mut router, &mut out);
            router.handle_timeout(now);
            assert!(router.poll_action().is_none(), "{}", seed_msg(seed));
        }
        drain(&mut router, &mut out);
        if let Some(t) = router.poll_timeout() {
            assert!(t >= now || finishing, "stale timeout; {}", seed_msg(seed));
        }
    }
    let msg = seed_msg(seed);
    assert!(out.is_empty(), "attempts left after draining; {msg}");
    assert_eq!(router.waiting(), 0, "{msg}");
    assert_eq!(ended.len() as u64, submitted, "every call ends; {msg}");
    assert!(ended.values().all(|&n| n == 1), "ends exactly once; {msg}");
    (actions, events)
}

fn seed_msg(seed: u64) -> String {
    format!("replay with seed {seed}")
}

#[test]
fn random_sequences_keep_every_invariant() {
    let mut seen = [false; 5];
    for seed in 0..200 {
        let (actions, events) = run(seed, 300);
        for e in &events {
            match e.kind {
                AuditKind::Breaker { to, .. } => seen[usize::from(to == BreakerState::Closed)] = true,
                AuditKind::Suspended { .. } => seen[2] = true,
                AuditKind::Resumed => seen[3] = true,
                _ => {}
            }
        }
        seen[4] |= actions.iter().any(|a| {
            matches!(
                a,
                Action::Fail {
                    reason: FailReason::DeadlineUnreachable,
                    ..
                }
            )
        });
    }
    // The cases reach the interesting paths, so the checks are not vacuous.
    assert_eq!(seen, [true; 5], "breaker open/closed, suspend, resume, deadline");
}

#[test]
fn same_inputs_same_outputs() {
    for seed in [3, 17, 99] {
        assert_eq!(run(seed, 400), run(seed, 400), "{}", seed_msg(seed));
    }
}
