//! Unit tests of [`Router::reload`]: what is carried over by name, what is
//! reported, and that new limits apply at once.

use super::tests::{Harness, dispatched, endpoint, ms, tenant};
use super::*;
use crate::time::Span;

fn touchy() -> BreakerPolicy {
    BreakerPolicy {
        min_requests: 1,
        error_ratio: 0.5,
        open_for: Span::from_secs(10),
        half_open_probes: 1,
        ..BreakerPolicy::default()
    }
}

fn base() -> RouterConfig {
    let mut a = endpoint("a", Some(1), 10_000);
    a.rpm = Some(2);
    RouterConfig {
        endpoints: vec![a, endpoint("b", Some(1), 10_000), endpoint("c", None, 10_000)],
        tenants: vec![
            tenant("t", SlaClass::Gold, &[("a", 0), ("c", 1)]),
            tenant("u", SlaClass::Silver, &[("b", 0)]),
        ],
        breaker: Some(touchy()),
        ..Default::default()
    }
}

#[test]
fn breakers_buckets_queues_and_calls_in_flight_carry_over() {
    let mut h = Harness::with(base());
    let (a, b) = (h.ep("a"), h.ep("b"));
    // b's breaker opens (u's call is parked); t has a call in flight on a
    // and one waiting for a.
    let (_, acts) = h.submit(ms(0), "u");
    h.outcome(ms(1), dispatched(&acts)[0].1, Outcome::ServerError);
    assert_eq!(h.router.breaker_state(b), Some(BreakerState::Open));
    let (first, acts) = h.submit(ms(2), "t");
    let in_flight = dispatched(&acts)[0].1;
    let (waiter, _) = h.submit(ms(3), "t");
    assert_eq!(h.router.queue_depth(a), 1);
    // Reload the same configuration with the endpoints and tenants listed
    // in another order: ids change, names keep their state.
    let mut config = base();
    config.endpoints.reverse();
    config.tenants.reverse();
    let report = h.router.reload(ms(4), config).expect("valid");
    assert_eq!(
        report,
        ReloadReport {
            calls_requeued: 1,
            ..ReloadReport::default()
        }
    );
    let (a2, b2) = (h.ep("a"), h.ep("b"));
    assert_ne!(a, a2, "ids follow the new order");
    assert_eq!(
        h.router.breaker_state(b2),
        Some(BreakerState::Open),
        "the open breaker stays open"
    );
    assert_eq!(h.router.in_flight(a2), 1);
    assert_eq!(h.router.queue_depth(a2), 1, "the waiting call still waits for a");
    // The answer to the attempt dispatched before the reload is accepted;
    // the waiting call takes the freed slot (the second of a's 2 rpm).
    let acts = h.outcome(ms(5), in_flight, Outcome::Success);
    assert!(matches!(acts[0], Action::Complete { call, endpoint, .. } if call == first && endpoint == a2));
    assert_eq!(dispatched(&acts)[0].0, waiter);
    // a's rpm bucket was carried: a third call skips a.
    let (_, acts) = h.submit(ms(6), "t");
    assert_eq!(dispatched(&acts)[0].2, h.ep("c"));
    h.router.check_invariants("after reload");
}

#[test]
fn a_raised_concurrency_cap_takes_effect_at_once() {
    let mut h = Harness::with(base());
    let b = h.ep("b");
    h.submit(ms(0), "u");
    h.submit(ms(1), "u");
    h.submit(ms(2), "u");
    assert_eq!((h.router.in_flight(b), h.router.queue_depth(b)), (1, 2));
    let mut config = base();
    config.endpoints[1].max_concurrency = Some(3);
    h.router.reload(ms(3), config).expect("valid");
    let acts: Vec<Action> = std::iter::from_fn(|| h.router.poll_action()).collect();
    assert_eq!(dispatched(&acts).len(), 2, "the two waiting calls go at once");
    assert_eq!((h.router.in_flight(b), h.router.queue_depth(b)), (3, 0));
}

#[test]
fn a_removed_endpoint_cancels_its_attempts_and_reroutes_their_calls() {
    let config = RouterConfig {
        breaker: None,
        ..base()
    };
    let mut h = Harness::with(config.clone());
    let (call, acts) = h.submit(ms(0), "t");
    let attempt = dispatched(&acts)[0].1;
    let mut config = config;
    config.endpoints.remove(0); // a
    config.tenants[0].chain.remove(0);
    let report = h.router.reload(ms(5), config).expect("valid");
    assert_eq!(report.endpoints_removed, vec!["a".to_string()]);
    assert_eq!(report.attempts_cancelled, vec![attempt]);
    let acts: Vec<Action> = std::iter::from_fn(|| h.router.poll_action()).collect();
    assert_eq!(
        acts[0],
        Action::Cancel {
            call,
            attempt,
            failed: None
        },
        "a reload withdraws the attempt without a verdict"
    );
    assert_eq!(dispatched(&acts), vec![(call, dispatched(&acts)[0].1, h.ep("c"))]);
    // The withdrawn attempt does not count: the call still has 2 more.
    let next = dispatched(&acts)[0].1;
    let acts = h.outcome(ms(6), next, Outcome::ServerError);
    assert_eq!(dispatched(&acts).len(), 1, "a retry, not a failure");
    // A late answer for the cancelled attempt is ignored.
    assert!(h.outcome(ms(7), attempt, Outcome::Success).is_empty());
    h.router.check_invariants("after removal");
}

#[test]
fn a_removed_tenant_fails_its_calls_and_budgets_follow_their_target() {
    let mut config = base();
    config.tenants[0].availability_target = Some(0.99);
    config.tenants[1].availability_target = Some(0.99);
    let mut h = Harness::with(config.clone());
    let (_, acts) = h.submit(ms(0), "t");
    h.outcome(ms(1), dispatched(&acts)[0].1, Outcome::Success);
    let (doomed, acts) = h.submit(ms(2), "u");
    let attempt = dispatched(&acts)[0].1;
    // Drop u; change nothing of t's budget.
    let mut next = config.clone();
    next.tenants.remove(1);
    let report = h.router.reload(ms(3), next.clone()).expect("valid");
    assert_eq!(report.tenants_removed, vec!["u".to_string()]);
    assert_eq!(report.calls_failed, vec![doomed]);
    let acts: Vec<Action> = std::iter::from_fn(|| h.router.poll_action()).collect();
    assert_eq!(
        acts,
        vec![
            Action::Cancel {
                call: doomed,
                attempt,
                failed: None
            },
            Action::Fail {
                call: doomed,
                reason: FailReason::Reconfigured
            }
        ]
    );
    assert_eq!(
        h.router.budget(TenantId(0)).map(|b| b.calls),
        Some(1),
        "t's budget is kept"
    );
    // A new target starts t's budget afresh.
    next.tenants[0].availability_target = Some(0.999);
    let report = h.router.reload(ms(4), next).expect("valid");
    assert_eq!(report.budgets_reset, vec!["t".to_string()]);
    assert_eq!(h.router.budget(TenantId(0)).map(|b| b.calls), Some(0));
}

#[test]
fn a_rejected_configuration_leaves_the_router_untouched() {
    let mut h = Harness::with(base());
    h.submit(ms(0), "t");
    let mut bad = base();
    bad.tenants[0].chain[0].endpoint = "nowhere".into();
    assert!(matches!(
        h.router.reload(ms(1), bad),
        Err(ConfigError::UnknownEndpoint { .. })
    ));
    assert_eq!(h.router.in_flight(h.ep("a")), 1);
    assert_eq!(h.router.config(), &base());
}

#[test]
fn a_degraded_tenant_stays_degraded_across_a_reload() {
    let mut config = base();
    config.breaker = None;
    config.tenants[0].degrade_after = 1;
    let mut h = Harness::with(config.clone());
    let (_, acts) = h.submit(ms(0), "t");
    h.outcome(ms(1), dispatched(&acts)[0].1, Outcome::ServerError);
    assert_eq!(h.router.tenant_tier(TenantId(0)), Tier(1));
    config.endpoints.push(endpoint("d", None, 10_000));
    let report = h.router.reload(ms(2), config).expect("valid");
    assert_eq!(report.endpoints_added, vec!["d".to_string()]);
    assert_eq!(h.router.tenant_tier(TenantId(0)), Tier(1));
    let (_, acts) = h.submit(ms(3), "t");
    assert_eq!(dispatched(&acts)[0].2, h.ep("c"));
}
