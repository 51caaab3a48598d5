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

/// The tenant-level tier events: moving on after `max_wait` is not a
/// degradation (busy is not failed), so there should be none.
fn degradations(h: &Harness) -> usize {
    h.events
        .iter()
        .filter(|e| matches!(e.kind, AuditKind::Degraded { .. } | AuditKind::Promoted { .. }))
        .count()
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
    assert_eq!(degradations(&h), 0);
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
    assert_eq!(degradations(&h), 0);
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
    assert_eq!(degradations(&h), 0);
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
    assert_eq!(degradations(&h), 0);
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

/// `a`: one slot, expected latency 100 ms; tenant `t` uses only `a`.
fn estimated() -> Harness {
    let mut a = endpoint("a", Some(1), 1_000);
    a.expected_latency = Some(Span::from_millis(100));
    Harness::new(vec![a], vec![tenant("t", SlaClass::Gold, &[("a", 0)])])
}

fn unreachable_events(h: &Harness) -> Vec<(Time, CallId, Span, Time)> {
    h.events
        .iter()
        .filter_map(|e| match e.kind {
            AuditKind::DeadlineUnreachable { estimate, deadline } => Some((e.at, e.call?, estimate, deadline)),
            _ => None,
        })
        .collect()
}

fn failed(call: CallId) -> Action {
    Action::Fail {
        call,
        reason: FailReason::DeadlineUnreachable,
    }
}

#[test]
fn a_deadline_the_latency_estimate_cannot_make_fails_at_once() {
    let mut h = estimated();
    // One success in 180 ms: the estimate goes from 100 to
    // 100 + (180 - 100) / 8 = 110 ms.
    h.submit(ms(0), "t");
    h.outcome(ms(180), AttemptId(0), Outcome::Success);
    // 200 + 110 = 310 > 300: hopeless.
    let (late, acts) = h.submit_with(ms(200), "t", Some(ms(300)));
    assert_eq!(acts, vec![failed(late)]);
    assert_eq!(
        unreachable_events(&h),
        vec![(ms(200), late, Span::from_millis(110), ms(300))]
    );
    assert_eq!(h.events.last().map(|e| e.endpoint), Some(Some(h.ep("a"))));
    // 200 + 110 = 310, not after 310: dispatched.
    let (ok, acts) = h.submit_with(ms(200), "t", Some(ms(310)));
    assert_eq!(dispatched(&acts), vec![(ok, AttemptId(1), h.ep("a"))]);
}

#[test]
fn a_waiting_call_fails_when_its_deadline_drops_out_of_reach() {
    let mut h = estimated();
    h.submit(ms(0), "t");
    // Waits for a from 10 ms; 100 ms estimate, 400 ms deadline: hopeless
    // from 300 ms + 1 ns on.
    let (call, acts) = h.submit_with(ms(10), "t", Some(ms(400)));
    assert!(acts.is_empty());
    let at = ms(300) + Span::from_nanos(1);
    assert_eq!(h.router.poll_timeout(), Some(at));
    assert!(h.tick(ms(300)).is_empty());
    assert_eq!(h.tick(at), vec![failed(call)]);
    assert_eq!(
        unreachable_events(&h),
        vec![(at, call, Span::from_millis(100), ms(400))]
    );
    assert_eq!(h.router.waiting(), 0);
}

#[test]
fn a_waiting_call_is_checked_again_when_its_endpoint_frees() {
    let mut h = estimated();
    h.submit(ms(0), "t");
    let (call, _) = h.submit_with(ms(10), "t", Some(ms(400)));
    // The first call answers at 300 ms: estimate 100 + 200 / 8 = 125 ms;
    // 300 + 125 = 425 > 400, so the waiting call fails instead of going.
    let acts = h.outcome(ms(300), AttemptId(0), Outcome::Success);
    assert_eq!(acts.last(), Some(&failed(call)));
    assert_eq!(
        unreachable_events(&h),
        vec![(ms(300), call, Span::from_millis(125), ms(400))]
    );
}

#[test]
fn no_estimate_means_no_early_failure() {
    let mut h = Harness::new(
        vec![endpoint("a", Some(1), 1_000)],
        vec![tenant("t", SlaClass::Gold, &[("a", 0)])],
    );
    let (call, acts) = h.submit_with(ms(0), "t", Some(ms(1)));
    assert_eq!(dispatched(&acts), vec![(call, AttemptId(0), h.ep("a"))]);
    // One step of the chain without an estimate is enough to try.
    let mut a = endpoint("a", Some(1), 1_000);
    a.expected_latency = Some(Span::from_secs(5));
    let mut h = Harness::new(
        vec![a, endpoint("b", Some(1), 1_000)],
        vec![tenant("t", SlaClass::Gold, &[("a", 0), ("b", 1)])],
    );
    let (call, acts) = h.submit_with(ms(0), "t", Some(ms(100)));
    assert_eq!(dispatched(&acts), vec![(call, AttemptId(0), h.ep("a"))]);
    assert!(unreachable_events(&h).is_empty());
}

#[test]
fn a_retry_whose_backoff_leaves_no_time_fails_when_the_attempt_fails() {
    let mut a = endpoint("a", Some(1), 1_000);
    a.expected_latency = Some(Span::from_millis(100));
    let mut t = tenant("t", SlaClass::Gold, &[("a", 0)]);
    t.retry.backoff = Span::from_millis(50);
    let mut h = Harness::new(vec![a], vec![t]);
    // Fails at 20 ms; the retry would go at 70 ms, answer at 170 > 150.
    let (call, _) = h.submit_with(ms(0), "t", Some(ms(150)));
    let acts = h.outcome(ms(20), AttemptId(0), Outcome::ServerError);
    assert_eq!(acts, vec![failed(call)]);
    assert_eq!(
        unreachable_events(&h),
        vec![(ms(20), call, Span::from_millis(100), ms(150))]
    );
}

#[test]
fn a_spilled_call_still_fails_when_its_deadline_drops_out_of_reach() {
    let mut t = tenant("t", SlaClass::Gold, &[("a", 0), ("b", 1)]);
    t.max_wait = Some(Span::from_millis(100));
    let u = tenant("u", SlaClass::Gold, &[("b", 0)]);
    let mut a = endpoint("a", Some(1), 1_000);
    a.expected_latency = Some(Span::from_millis(300));
    let mut b = endpoint("b", Some(1), 1_000);
    b.expected_latency = Some(Span::from_millis(200));
    let mut h = Harness::new(vec![a, b], vec![t, u]);
    h.submit(ms(0), "t");
    h.submit(ms(0), "u");
    // Best estimate 200 ms, deadline 500 ms: hopeless after 300 ms.
    let (call, _) = h.submit_with(ms(0), "t", Some(ms(500)));
    assert!(h.tick(ms(100)).is_empty(), "spilled to b's queue");
    let at = ms(300) + Span::from_nanos(1);
    assert_eq!(h.router.poll_timeout(), Some(at));
    assert_eq!(h.tick(at), vec![failed(call)]);
    assert_eq!(
        unreachable_events(&h),
        vec![(at, call, Span::from_millis(200), ms(500))]
    );
    h.router.check_invariants("spilled call failed");
}
