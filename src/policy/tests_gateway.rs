//! Unit tests of the inputs a gateway needs: cancel, first token, client
//! errors, per-request priority, the read-only views, and time that goes
//! slightly backwards.

use super::tests::{Harness, dispatched, endpoint, ms, tenant};
use super::*;
use crate::time::Span;

/// A breaker that trips on the first failure.
fn touchy() -> BreakerPolicy {
    BreakerPolicy {
        min_requests: 1,
        error_ratio: 0.5,
        open_for: Span::from_secs(1),
        half_open_probes: 1,
        ..BreakerPolicy::default()
    }
}

fn guarded(endpoints: Vec<EndpointPolicy>, mut tenants: Vec<TenantPolicy>) -> Harness {
    for t in &mut tenants {
        t.availability_target = Some(0.99);
    }
    Harness::with(RouterConfig {
        endpoints,
        tenants,
        breaker: Some(touchy()),
        ..Default::default()
    })
}

fn fails(actions: &[Action]) -> Vec<(CallId, FailReason)> {
    actions
        .iter()
        .filter_map(|a| match *a {
            Action::Fail { call, reason } => Some((call, reason)),
            _ => None,
        })
        .collect()
}

#[test]
fn cancel_abandons_the_attempts_and_fails_the_call_without_blame() {
    let mut h = guarded(
        vec![endpoint("a", Some(1), 1_000), endpoint("b", None, 1_000)],
        vec![tenant("t", SlaClass::Gold, &[("a", 0), ("b", 1)])],
    );
    let (call, acts) = h.submit(ms(0), "t");
    let (_, attempt, a) = dispatched(&acts)[0];
    h.router.cancel(ms(5), call);
    let acts: Vec<Action> = std::iter::from_fn(|| h.router.poll_action()).collect();
    assert_eq!(
        acts,
        vec![
            Action::Cancel {
                call,
                attempt,
                failed: None
            },
            Action::Fail {
                call,
                reason: FailReason::Cancelled
            }
        ]
    );
    assert_eq!(h.router.in_flight(a), 0);
    assert_eq!(
        h.router.breaker_state(a),
        Some(BreakerState::Closed),
        "no breaker count"
    );
    let budget = h.router.budget(TenantId(0)).expect("budget");
    assert_eq!((budget.calls, budget.failed), (0, 0), "no budget burn");
    // A late answer for the cancelled attempt, and a second cancel: no-ops.
    assert!(h.outcome(ms(6), attempt, Outcome::ServerError).is_empty());
    h.router.cancel(ms(7), call);
    h.router.cancel(ms(7), CallId(99));
    assert!(h.router.poll_action().is_none());
    assert_eq!(h.router.poll_timeout(), None);
    h.router.check_invariants("after cancel");
}

#[test]
fn cancel_of_a_waiting_or_hedged_call() {
    let mut t = tenant("t", SlaClass::Gold, &[("a", 0), ("b", 1)]);
    t.hedge_after = Some(Span::from_millis(100));
    let mut h = guarded(
        vec![endpoint("a", Some(1), 1_000), endpoint("b", Some(1), 1_000)],
        vec![t],
    );
    let (first, _) = h.submit(ms(0), "t");
    let (waiter, acts) = h.submit(ms(1), "t");
    assert!(dispatched(&acts).is_empty());
    assert_eq!(h.router.queue_depth(h.ep("a")), 1);
    h.router.cancel(ms(2), waiter);
    assert_eq!(
        fails(&std::iter::from_fn(|| h.router.poll_action()).collect::<Vec<_>>()),
        vec![(waiter, FailReason::Cancelled)]
    );
    assert_eq!(h.router.queue_depth(h.ep("a")), 0);
    // The first call gets a hedge leg on b at 100 ms; cancel both legs.
    let acts = h.tick(ms(100));
    assert_eq!(dispatched(&acts)[0].2, h.ep("b"));
    h.router.cancel(ms(110), first);
    let acts: Vec<Action> = std::iter::from_fn(|| h.router.poll_action()).collect();
    let cancels = acts.iter().filter(|a| matches!(a, Action::Cancel { .. })).count();
    assert_eq!(cancels, 2);
    assert_eq!(
        acts.last(),
        Some(&Action::Fail {
            call: first,
            reason: FailReason::Cancelled
        })
    );
    assert_eq!((h.router.in_flight(h.ep("a")), h.router.in_flight(h.ep("b"))), (0, 0));
    h.router.check_invariants("after cancels");
}

#[test]
fn a_client_error_fails_the_call_at_once_without_blame() {
    let mut h = guarded(
        vec![endpoint("a", None, 1_000), endpoint("b", None, 1_000)],
        vec![tenant("t", SlaClass::Gold, &[("a", 0), ("b", 1)])],
    );
    let (call, acts) = h.submit(ms(0), "t");
    let attempt = dispatched(&acts)[0].1;
    let acts = h.outcome(ms(3), attempt, Outcome::ClientError { status: 400 });
    assert_eq!(
        acts,
        vec![Action::Fail {
            call,
            reason: FailReason::ClientError { status: 400 }
        }],
        "no retry, no fallback"
    );
    assert_eq!(h.router.breaker_state(h.ep("a")), Some(BreakerState::Closed));
    let budget = h.router.budget(TenantId(0)).expect("budget");
    assert_eq!((budget.calls, budget.failed), (0, 0));
    assert_eq!(h.router.latency_estimate(h.ep("a")), None, "no latency sample");
    // A server error on the same endpoint does trip the touchy breaker.
    let (_, acts) = h.submit(ms(4), "t");
    h.outcome(ms(5), dispatched(&acts)[0].1, Outcome::ServerError);
    assert_eq!(h.router.breaker_state(h.ep("a")), Some(BreakerState::Open));
}

#[test]
fn a_client_error_on_a_half_open_probe_releases_the_probe() {
    let mut h = guarded(
        vec![endpoint("a", None, 10_000), endpoint("b", None, 10_000)],
        vec![tenant("t", SlaClass::Gold, &[("a", 0), ("b", 1)])],
    );
    let (_, acts) = h.submit(ms(0), "t");
    h.outcome(ms(1), dispatched(&acts)[0].1, Outcome::ServerError);
    h.tick(ms(1_001));
    assert_eq!(h.router.breaker_state(h.ep("a")), Some(BreakerState::HalfOpen));
    let (_, acts) = h.submit(ms(1_002), "t");
    let (_, probe, a) = dispatched(&acts)[0];
    assert_eq!(a, h.ep("a"));
    h.outcome(ms(1_003), probe, Outcome::ClientError { status: 413 });
    // Still half-open, and the probe slot is free again.
    assert_eq!(h.router.breaker_state(a), Some(BreakerState::HalfOpen));
    let (_, acts) = h.submit(ms(1_004), "t");
    assert_eq!(dispatched(&acts)[0].2, a);
}

#[test]
fn the_first_token_timeout_fires_without_a_first_token_and_not_after_one() {
    let mut a = endpoint("a", None, 1_000);
    a.first_token_timeout = Some(Span::from_millis(100));
    let mut h = Harness::new(
        vec![a, endpoint("b", None, 1_000)],
        vec![tenant("t", SlaClass::Gold, &[("a", 0), ("b", 1)])],
    );
    // No first token by 100 ms: cancelled, falls back to b.
    let (call, acts) = h.submit(ms(0), "t");
    let attempt = dispatched(&acts)[0].1;
    assert_eq!(h.router.poll_timeout(), Some(ms(100)));
    let acts = h.tick(ms(100));
    assert_eq!(
        acts[0],
        Action::Cancel {
            call,
            attempt,
            failed: Some(Trigger::Timeout)
        },
        "a first-token timeout is a failed attempt"
    );
    assert_eq!(dispatched(&acts)[0].2, h.ep("b"));
    // A first token at 40 ms ends the first-token timer; the answer may
    // then take up to the attempt timeout.
    let (call, acts) = h.submit(ms(200), "t");
    let attempt = dispatched(&acts)[0].1;
    h.router.on_first_token(ms(240), attempt);
    h.router.on_first_token(ms(250), attempt); // a repeat is a no-op
    assert_eq!(h.router.first_token_estimate(h.ep("a")), Some(Span::from_millis(40)));
    assert!(h.tick(ms(300)).is_empty(), "no first-token timeout after a first token");
    let acts = h.outcome(ms(900), attempt, Outcome::Success);
    assert!(matches!(acts[..], [Action::Complete { call: c, .. }] if c == call));
    // Unknown attempts: no-op.
    h.router.on_first_token(ms(901), AttemptId(77));
    assert!(h.router.poll_action().is_none());
}

#[test]
fn a_priority_override_lowers_the_class_and_a_raise_is_clamped() {
    let mut h = Harness::new(
        vec![endpoint("a", Some(1), 10_000)],
        vec![
            tenant("gold", SlaClass::Gold, &[("a", 0)]),
            tenant("silver", SlaClass::Silver, &[("a", 0)]),
            tenant("bronze", SlaClass::Bronze, &[("a", 0)]),
        ],
    );
    let request = |h: &Harness, name: &str, priority: Option<SlaClass>| CallRequest {
        tenant: h.router.tenant_id(name).expect("tenant"),
        priority,
        ..Default::default()
    };
    let (_, acts) = h.submit(ms(0), "bronze");
    let busy = dispatched(&acts)[0].1;
    // Waiting: a gold call asking to go as bronze, a bronze call asking to
    // go as gold (clamped to bronze), then a silver call.
    let lowered = h.router.submit(ms(1), request(&h, "gold", Some(SlaClass::Bronze)));
    let raised = h.router.submit(ms(2), request(&h, "bronze", Some(SlaClass::Gold)));
    let silver = h.router.submit(ms(3), request(&h, "silver", None));
    let mut order = Vec::new();
    let mut attempt = busy;
    for k in 0..3 {
        let acts = h.outcome(ms(10 + k), attempt, Outcome::Success);
        let (call, next, _) = dispatched(&acts)[0];
        order.push(call);
        attempt = next;
    }
    assert_eq!(order, vec![silver, lowered, raised]);
}

#[test]
fn views_report_breakers_queues_estimates_and_tiers() {
    let mut a = endpoint("a", Some(1), 1_000);
    a.expected_latency = Some(Span::from_millis(200));
    let mut h = guarded(
        vec![a, endpoint("b", Some(1), 1_000), endpoint("c", None, 1_000)],
        vec![tenant("t", SlaClass::Gold, &[("a", 0), ("b", 0), ("c", 1)])],
    );
    let (a, b, c) = (h.ep("a"), h.ep("b"), h.ep("c"));
    assert_eq!(h.router.latency_estimate(a), Some(Span::from_millis(200)));
    assert_eq!(h.router.latency_estimate(c), None);
    h.submit(ms(0), "t");
    h.submit(ms(0), "t");
    h.submit(ms(0), "t");
    // Two in flight on the pool {a, b}; the third waits for both.
    assert_eq!((h.router.in_flight(a), h.router.in_flight(b)), (1, 1));
    assert_eq!(
        (
            h.router.queue_depth(a),
            h.router.queue_depth(b),
            h.router.queue_depth(c)
        ),
        (1, 1, 0)
    );
    assert_eq!(h.router.breaker_state(c), Some(BreakerState::Closed));
    assert_eq!(h.router.tenant_tier(TenantId(0)), Tier(0));
    assert_eq!(h.router.tenant_tier(TenantId(9)), Tier(0));
    assert_eq!(h.router.queue_depth(EndpointId(9)), 0);
    assert_eq!(h.router.breaker_state(EndpointId(9)), None);
    let no_breaker = Harness::new(vec![endpoint("x", None, 10)], vec![]);
    assert_eq!(no_breaker.router.breaker_state(EndpointId(0)), None);
}

/// Regression: `now` slightly earlier than a previous input was clamped
/// for the router's clock but the raw value was used for the decision:
/// here the retry after a 100 ms backoff was armed from the raw (earlier)
/// instant.
#[test]
fn time_going_backwards_is_clamped_in_every_decision() {
    let mut t = tenant("t", SlaClass::Gold, &[("a", 0)]);
    t.retry.backoff = Span::from_millis(100);
    let mut h = Harness::new(vec![endpoint("a", None, 10_000)], vec![t]);
    let (_, acts) = h.submit(ms(200), "t");
    let attempt = dispatched(&acts)[0].1;
    // The outcome is reported with an earlier clock reading.
    h.outcome(ms(150), attempt, Outcome::ServerError);
    assert_eq!(
        h.router.poll_timeout(),
        Some(ms(300)),
        "backoff from the clamped 200 ms"
    );
}
