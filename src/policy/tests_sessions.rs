//! Unit tests of session affinity ([`CallRequest::affinity`]), driven by
//! hand with a moved clock.

use super::tests::{Harness, dispatched, endpoint, ms, tenant};
use super::*;
use crate::time::Span;

fn sessions(breaker: Option<BreakerPolicy>) -> Harness {
    let mut c = endpoint("c", Some(1), 1_000);
    c.rpm = Some(1);
    Harness::with(RouterConfig {
        endpoints: vec![
            endpoint("a", Some(1), 1_000),
            endpoint("b", Some(1), 1_000),
            c,
            endpoint("x", None, 1_000),
        ],
        tenants: vec![tenant("t", SlaClass::Gold, &[("a", 0), ("b", 1), ("c", 2)])],
        seed: 0,
        budget: Default::default(),
        max_queue: None,
        breaker,
        ..Default::default()
    })
}

fn degradations(h: &Harness) -> usize {
    h.events
        .iter()
        .filter(|e| matches!(e.kind, AuditKind::Degraded { .. }))
        .count()
}

#[test]
fn a_session_on_tier_one_stays_there_while_the_primary_is_healthy() {
    let mut h = sessions(None);
    let (a, b) = (h.ep("a"), h.ep("b"));
    let (call, acts) = h.submit_request(ms(0), "t", None, Some(b));
    assert_eq!(dispatched(&acts), vec![(call, AttemptId(0), b)]);
    assert_eq!(degradations(&h), 0, "starting on the session's step is no degradation");
    // The primary is free and healthy: a call without a session goes there.
    let (other, acts) = h.submit(ms(1), "t");
    assert_eq!(dispatched(&acts), vec![(other, AttemptId(1), a)]);
    // b is busy: a second call of the session waits for b, not for a.
    h.outcome(ms(2), AttemptId(1), Outcome::Success);
    let (queued, acts) = h.submit_request(ms(3), "t", None, Some(b));
    assert!(dispatched(&acts).is_empty(), "waits for its session's endpoint");
    assert_eq!(h.router.in_flight(a), 0);
    let acts = h.outcome(ms(4), AttemptId(0), Outcome::Success);
    assert_eq!(dispatched(&acts), vec![(queued, AttemptId(2), b)]);
    let acts = h.outcome(ms(5), AttemptId(2), Outcome::Success);
    assert!(matches!(acts[..], [Action::Complete { endpoint, tier: Tier(1), .. }] if endpoint == b));
}

#[test]
fn a_failure_on_the_session_step_moves_on_down_the_chain() {
    let mut h = sessions(None);
    let (b, c) = (h.ep("b"), h.ep("c"));
    let (call, _) = h.submit_request(ms(0), "t", None, Some(b));
    let acts = h.outcome(ms(1), AttemptId(0), Outcome::ServerError);
    assert_eq!(dispatched(&acts), vec![(call, AttemptId(1), c)]);
    // The call left tier 1, not its tenant's tier (0): no degradation.
    assert_eq!(degradations(&h), 0);
    assert_eq!(h.router.tenant_tier(TenantId(0)), Tier(0));
}

#[test]
fn an_open_breaker_on_the_session_endpoint_sends_the_call_to_the_primary() {
    let breaker = BreakerPolicy {
        min_requests: 1,
        error_ratio: 0.5,
        open_for: Span::from_secs(1),
        half_open_probes: 1,
        ..BreakerPolicy::default()
    };
    let mut h = sessions(Some(breaker));
    let (a, b) = (h.ep("a"), h.ep("b"));
    h.submit_request(ms(0), "t", None, Some(b));
    h.outcome(ms(1), AttemptId(0), Outcome::ServerError);
    assert!(h.events.iter().any(|e| e.endpoint == Some(b)
        && matches!(
            e.kind,
            AuditKind::Breaker {
                to: BreakerState::Open,
                ..
            }
        )));
    // The first call went on to c; c is now busy with it.
    let events = h.events.len();
    let (call, acts) = h.submit_request(ms(2), "t", None, Some(b));
    assert_eq!(dispatched(&acts), vec![(call, AttemptId(2), a)]);
    assert_eq!(h.events.len(), events, "the primary, as usual: no tier change");
    // Once b's breaker is half-open, the session is honoured again.
    h.tick(ms(1001));
    let (call, acts) = h.submit_request(ms(1001), "t", None, Some(b));
    assert_eq!(dispatched(&acts), vec![(call, AttemptId(3), b)]);
}

#[test]
fn a_cooling_down_or_rate_limited_session_endpoint_is_not_eligible() {
    let mut h = sessions(None);
    let (a, b, c) = (h.ep("a"), h.ep("b"), h.ep("c"));
    // b answers 429: cooling down for 500 ms.
    h.submit_request(ms(0), "t", None, Some(b));
    h.outcome(
        ms(1),
        AttemptId(0),
        Outcome::RateLimited {
            retry_after: Span::from_millis(500),
        },
    );
    // The first call went on to c (spending c's 1 rpm).
    assert_eq!(h.router.in_flight(c), 1);
    let (call, acts) = h.submit_request(ms(2), "t", None, Some(b));
    assert_eq!(dispatched(&acts), vec![(call, AttemptId(2), a)]);
    h.outcome(ms(3), AttemptId(1), Outcome::Success);
    h.outcome(ms(3), AttemptId(2), Outcome::Success);
    // c's rpm budget is spent: its session is not honoured either.
    let (call, acts) = h.submit_request(ms(4), "t", None, Some(c));
    assert_eq!(dispatched(&acts), vec![(call, AttemptId(3), a)]);
}

#[test]
fn an_affinity_outside_the_chain_is_ignored() {
    let mut h = sessions(None);
    let (a, x) = (h.ep("a"), h.ep("x"));
    let (call, acts) = h.submit_request(ms(0), "t", None, Some(x));
    assert_eq!(dispatched(&acts), vec![(call, AttemptId(0), a)]);
    // An id the router does not know at all is ignored the same way.
    h.outcome(ms(1), AttemptId(0), Outcome::Success);
    let (call, acts) = h.submit_request(ms(2), "t", None, Some(EndpointId(99)));
    assert_eq!(dispatched(&acts), vec![(call, AttemptId(1), a)]);
    assert!(h.events.is_empty());
}

#[test]
fn an_affinity_to_a_step_the_tenant_may_not_use_is_ignored() {
    let mut t = tenant("t", SlaClass::Gold, &[("a", 0), ("b", 1), ("c", 2)]);
    t.allowed_tiers = vec![Tier(0), Tier(2)];
    let mut h = Harness::new(
        vec![
            endpoint("a", Some(1), 1_000),
            endpoint("b", Some(1), 1_000),
            endpoint("c", Some(1), 1_000),
        ],
        vec![t],
    );
    let (a, b, c) = (h.ep("a"), h.ep("b"), h.ep("c"));
    let (call, acts) = h.submit_request(ms(0), "t", None, Some(b));
    assert_eq!(dispatched(&acts), vec![(call, AttemptId(0), a)]);
    let (call, acts) = h.submit_request(ms(0), "t", None, Some(c));
    assert_eq!(dispatched(&acts), vec![(call, AttemptId(1), c)]);
}

#[test]
fn no_affinity_is_unchanged_behaviour() {
    let run = |affinity: fn(&Harness) -> Option<EndpointId>| {
        let mut h = sessions(None);
        let mut all = Vec::new();
        for i in 0..4 {
            let aff = affinity(&h);
            let (_, acts) = h.submit_request(ms(i), "t", None, aff);
            all.extend(acts);
        }
        all.extend(h.outcome(ms(10), AttemptId(0), Outcome::ServerError));
        all.extend(h.tick(ms(1_000)));
        (all, h.events)
    };
    // Naming the primary as the session is the same as naming none.
    assert_eq!(run(|_| None), run(|h| Some(h.ep("a"))));
    let (actions, _) = run(|_| None);
    assert_eq!(dispatched(&actions)[0].2, EndpointId(0));
}
