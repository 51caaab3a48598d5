//! Weighted fair share inside a class, per-tenant concurrency caps and load
//! shedding, driven by hand with a moved clock.

use super::tests::{Harness, dispatched, endpoint, ms, tenant};
use super::*;

/// Completes the attempt in flight on the single-slot endpoint and returns
/// the call dispatched next, if any.
fn next(h: &mut Harness, at: u64, attempt: AttemptId) -> Option<(CallId, AttemptId)> {
    let acts = h.outcome(ms(at), attempt, Outcome::Success);
    dispatched(&acts).first().map(|&(c, a, _)| (c, a))
}

#[test]
fn tenants_of_a_class_share_a_busy_endpoint_by_weight() {
    let mut x = tenant("x", SlaClass::Silver, &[("a", 0)]);
    x.weight = 3;
    let y = tenant("y", SlaClass::Silver, &[("a", 0)]);
    let g = tenant("g", SlaClass::Gold, &[("a", 0)]);
    let mut h = Harness::new(vec![endpoint("a", Some(1), 10_000)], vec![x, y, g]);
    let (_, acts) = h.submit(ms(0), "g");
    let mut attempt = dispatched(&acts)[0].1;
    let mut owner = std::collections::BTreeMap::new();
    for i in 0..8 {
        owner.insert(h.submit(ms(1), "x").0, 'x');
        owner.insert(h.submit(ms(1), "y").0, 'y');
        assert_eq!(h.router.waiting(), 2 * (i + 1));
    }
    // A gold call arriving last still goes first: strict priority.
    let (gold, _) = h.submit(ms(2), "g");
    let (c, a) = next(&mut h, 10, attempt).unwrap();
    assert_eq!(c, gold);
    attempt = a;
    let mut order = String::new();
    for t in 0..16 {
        let (c, a) = next(&mut h, 20 + t, attempt).unwrap();
        order.push(owner[&c]);
        attempt = a;
    }
    // x (weight 3) gets three slots for each of y's while both wait; each
    // tenant's calls stay in order.
    assert_eq!(&order[..8], "xxxyxxxy", "{order}");
    assert_eq!(order.matches('x').count(), 8);
    h.router.check_invariants("fair share");
}

#[test]
fn a_capped_tenant_waits_while_others_pass() {
    let mut x = tenant("x", SlaClass::Gold, &[("a", 0)]);
    x.max_concurrency = Some(1);
    let y = tenant("y", SlaClass::Bronze, &[("a", 0)]);
    let mut h = Harness::new(vec![endpoint("a", None, 10_000)], vec![x, y]);
    let (x1, acts) = h.submit(ms(0), "x");
    assert_eq!(dispatched(&acts).len(), 1);
    let (x2, acts) = h.submit(ms(1), "x");
    assert!(dispatched(&acts).is_empty());
    assert_eq!(h.router.waiting(), 1);
    let (y1, acts) = h.submit(ms(2), "y");
    assert_eq!(dispatched(&acts)[0].0, y1, "the bronze call passes the capped gold one");
    h.router.check_invariants("capped");
    let acts = h.outcome(ms(3), AttemptId(0), Outcome::Success);
    assert!(matches!(acts[0], Action::Complete { call, .. } if call == x1));
    assert_eq!(dispatched(&acts)[0].0, x2, "x2 goes once x is under its cap");
}

#[test]
fn a_capped_tenant_resumes_on_another_endpoint() {
    let mut x = tenant("x", SlaClass::Gold, &[("a", 0)]);
    x.max_concurrency = Some(1);
    let mut x_b = x.clone();
    x_b.name = "xb".into();
    x.chain[0].endpoint = "b".into();
    // x (capped at 1) runs on b; xb, another tenant, on a.
    let mut h = Harness::new(
        vec![endpoint("a", None, 10_000), endpoint("b", None, 10_000)],
        vec![x, x_b],
    );
    let (_, acts) = h.submit(ms(0), "x");
    assert_eq!(dispatched(&acts)[0].2, h.ep("b"));
    let (x2, _) = h.submit(ms(1), "x");
    let (_, acts) = h.submit(ms(1), "xb");
    assert_eq!(dispatched(&acts)[0].2, h.ep("a"));
    let acts = h.outcome(ms(5), AttemptId(0), Outcome::ServerError);
    // The failed call retries (capped: it waits), and x2 was first in line.
    assert_eq!(dispatched(&acts)[0].0, x2);
    h.router.check_invariants("cap across endpoints");
}

#[test]
fn overflowing_queue_sheds_the_newest_call_of_the_lowest_class() {
    let g = tenant("g", SlaClass::Gold, &[("a", 0)]);
    let s = tenant("s", SlaClass::Silver, &[("a", 0)]);
    let b = tenant("b", SlaClass::Bronze, &[("a", 0)]);
    let mut h = Harness::with(RouterConfig {
        endpoints: vec![endpoint("a", Some(1), 10_000)],
        tenants: vec![g, s, b],
        seed: 0,
        breaker: None,
        budget: Default::default(),
        max_queue: Some(2),
        ..Default::default()
    });
    h.submit(ms(0), "g");
    let (b1, _) = h.submit(ms(1), "b");
    let (_s1, _) = h.submit(ms(2), "s");
    let (b2, acts) = h.submit(ms(3), "b");
    assert_eq!(
        acts,
        vec![Action::Fail {
            call: b2,
            reason: FailReason::Shed
        }]
    );
    let (_g2, acts) = h.submit(ms(4), "g");
    assert_eq!(
        acts,
        vec![Action::Fail {
            call: b1,
            reason: FailReason::Shed
        }]
    );
    let shed: Vec<_> = h
        .events
        .iter()
        .filter(|e| matches!(e.kind, AuditKind::Shed { .. }))
        .map(|e| (e.call, e.endpoint, e.kind))
        .collect();
    let kind = AuditKind::Shed {
        class: SlaClass::Bronze,
        max_queue: 2,
    };
    assert_eq!(
        shed,
        vec![(Some(b2), Some(h.ep("a")), kind), (Some(b1), Some(h.ep("a")), kind)]
    );
    assert_eq!(h.router.waiting(), 2);
    h.router.check_invariants("after shedding");
}

#[test]
fn zero_weight_or_cap_is_rejected() {
    for f in [(|t: &mut TenantPolicy| t.weight = 0) as fn(&mut TenantPolicy), |t| {
        t.max_concurrency = Some(0)
    }] {
        let mut t = tenant("t", SlaClass::Gold, &[("a", 0)]);
        f(&mut t);
        let config = RouterConfig {
            endpoints: vec![endpoint("a", None, 1000)],
            tenants: vec![t],
            seed: 0,
            breaker: None,
            budget: Default::default(),
            max_queue: None,
            ..Default::default()
        };
        assert!(matches!(Router::new(config), Err(ConfigError::ZeroLimit { .. })));
    }
}
