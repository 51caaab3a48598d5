//! Unit tests of waiting limits (`max_wait`) and deadline awareness, on a
//! hand-moved clock.

use super::tests::{Harness, dispatched, endpoint, ms, tenant};
use super::*;
use crate::time::{Span, Time};

/// `a` (tier 0, one slot) and `b` (tier 1, one slot); tenant `t` waits at
/// most 100 ms for a busy endpoint.
fn waiting_pair() -> Harness {
    let mut t = tenant("t", SlaClass::Gold, &[("a", 0), ("b", 1)]);
    t.max_wait = Some(Span::from_millis(100));
    Harness::new(
        vec![endpoint("a", Some(1), 1_000), endpoint("b", Some(1), 1_000)],
        vec![t],
    )
}

fn tier_changes(h: &Harness) -> Vec<(Time, CallId, Tier, Tier, Trigger)> {
    h.events
        .iter()
        .filter_map(|e| match e.kind {
            AuditKind::TierChange { from, to, trigger } => Some((e.at, e.call?, from, to, trigger)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_call_busy_past_max_wait_is_dispatched_on_the_fallback_at_exactly_max_wait() {
    let mut h = waiting_pair();
    let (first, acts) = h.submit(ms(0), "t");
    assert_eq!(dispatched(&acts), vec![(first, AttemptId(0), h.ep("a"))]);
    let (second, acts) = h.submit(ms(10), "t");
    assert!(dispatched(&acts).is_empty(), "a is busy: the call waits");
    assert_eq!(h.router.waiting(), 1);
    // The wait started at 10 ms: the router wants to act at 110 ms.
    assert_eq!(h.router.poll_timeout(), Some(ms(110)));
    assert!(h.tick(ms(109)).is_empty());
    let acts = h.tick(ms(110));
    assert_eq!(dispatched(&acts), vec![(second, AttemptId(1), h.ep("b"))]);
    assert_eq!(
        tier_changes(&h),
        vec![(ms(110), second, Tier(0), Tier(1), Trigger::Saturated)]
    );
    assert_eq!(h.router.waiting(), 0);
    // The old queue entry is dead: freeing a dispatches nothing.
    let acts = h.outcome(ms(120), AttemptId(0), Outcome::Success);
    assert!(dispatched(&acts).is_empty());
    h.router.check_invariants("after max_wait");
}

#[test]
fn a_call_freed_before_max_wait_stays_on_its_tier() {
    let mut h = waiting_pair();
    h.submit(ms(0), "t");
    let (second, _) = h.submit(ms(10), "t");
    let acts = h.outcome(ms(60), AttemptId(0), Outcome::Success);
    assert_eq!(dispatched(&acts), vec![(second, AttemptId(1), h.ep("a"))]);
    assert!(h.tick(ms(110)).is_empty(), "the max_wait timer is dead");
    assert!(tier_changes(&h).is_empty());
}

/// [`waiting_pair`] plus tenant `u`, whose calls only go to `b`.
fn busy_pair() -> Harness {
    let mut t = tenant("t", SlaClass::Gold, &[("a", 0), ("b", 1)]);
    t.max_wait = Some(Span::from_millis(100));
    let u = tenant("u", SlaClass::Gold, &[("b", 0)]);
    Harness::new(
        vec![endpoint("a", Some(1), 1_000), endpoint("b", Some(1), 1_000)],
        vec![t, u],
    )
}

#[test]
fn without_a_free_fallback_the_call_waits_on_both_and_takes_the_first_slot() {
    let mut h = busy_pair();
    h.submit(ms(0), "t"); // attempt 0 on a
    h.submit(ms(0), "u"); // attempt 1 on b
    let (call, acts) = h.submit(ms(20), "t");
    assert!(dispatched(&acts).is_empty());
    // At 120 ms b is busy too: the call now also waits for b.
    assert!(dispatched(&h.tick(ms(120))).is_empty());
    assert_eq!(h.router.waiting(), 1);
    assert_eq!(h.router.poll_timeout(), Some(ms(1_000)));
    // b frees first, at 150 ms: the call goes there at once.
    let acts = h.outcome(ms(150), AttemptId(1), Outcome::Success);
    assert_eq!(dispatched(&acts), vec![(call, AttemptId(2), h.ep("b"))]);
    assert_eq!(
        tier_changes(&h),
        vec![(ms(150), call, Tier(0), Tier(1), Trigger::Saturated)]
    );
    // a frees later: nothing left waiting for it.
    assert!(dispatched(&h.outcome(ms(160), AttemptId(0), Outcome::Success)).is_empty());
    h.router.check_invariants("spilled call served");
}

#[test]
fn a_spilled_call_still_takes_its_own_endpoint_if_it_frees_first() {
    let mut h = busy_pair();
    h.submit(ms(0), "t");
    h.submit(ms(0), "u");
    let (call, _) = h.submit(ms(0), "t");
    h.tick(ms(100));
    let acts = h.outcome(ms(130), AttemptId(0), Outcome::Success);
    assert_eq!(dispatched(&acts), vec![(call, AttemptId(2), h.ep("a"))]);
    assert!(tier_changes(&h).is_empty());
    assert!(dispatched(&h.outcome(ms(140), AttemptId(1), Outcome::Success)).is_empty());
    h.router.check_invariants("spilled call served at home");
}

#[test]
fn max_wait_never_suspends_a_call() {
    let mut t = tenant("t", SlaClass::Gold, &[("a", 0), ("s", 4)]);
    t.max_wait = Some(Span::from_millis(50));
    let mut h = Harness::new(vec![endpoint("a", Some(1), 1_000), endpoint("s", None, 1_000)], vec![t]);
    h.submit(ms(0), "t");
    let (call, _) = h.submit(ms(0), "t");
    assert!(h.tick(ms(50)).is_empty());
    let acts = h.outcome(ms(70), AttemptId(0), Outcome::Success);
    assert_eq!(dispatched(&acts), vec![(call, AttemptId(1), h.ep("a"))]);
}
