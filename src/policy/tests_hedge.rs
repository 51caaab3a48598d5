//! Hedging, driven by hand with a moved clock.

use super::tests::{Harness, dispatched, endpoint, ms, tenant};
use super::*;
use crate::time::Span;

fn hedged() -> Harness {
    let mut t = tenant("t", SlaClass::Gold, &[("a", 0), ("b", 1)]);
    t.hedge_after = Some(Span::from_millis(100));
    Harness::new(
        vec![endpoint("a", Some(1), 1000), endpoint("b", Some(1), 1000)],
        vec![t],
    )
}

#[test]
fn slow_attempt_is_hedged_and_the_first_success_wins() {
    let mut h = hedged();
    let (call, acts) = h.submit(ms(0), "t");
    assert_eq!(dispatched(&acts), vec![(call, AttemptId(0), h.ep("a"))]);
    assert_eq!(h.router.poll_timeout(), Some(ms(100)));
    let acts = h.tick(ms(100));
    assert_eq!(dispatched(&acts), vec![(call, AttemptId(1), h.ep("b"))]);
    assert!(h.events.is_empty(), "a hedge is not a degradation");
    assert_eq!(h.router.waiting(), 0);
    let acts = h.outcome(ms(150), AttemptId(1), Outcome::Success);
    assert_eq!(
        acts,
        vec![
            Action::Cancel {
                call,
                attempt: AttemptId(0)
            },
            Action::Complete {
                call,
                attempt: AttemptId(1),
                endpoint: h.ep("b"),
                tier: Tier(1)
            }
        ]
    );
    assert_eq!(h.router.in_flight(h.ep("a")), 0);
    assert_eq!(h.router.in_flight(h.ep("b")), 0);
    // The loser's late answer is ignored.
    assert!(h.outcome(ms(160), AttemptId(0), Outcome::Success).is_empty());
    h.router.check_invariants("after the race");
}

#[test]
fn a_failed_leg_does_not_fail_the_call_while_the_other_is_out() {
    let mut h = hedged();
    let (call, _) = h.submit(ms(0), "t");
    h.tick(ms(100));
    let acts = h.outcome(ms(120), AttemptId(0), Outcome::ServerError);
    assert!(acts.is_empty(), "{acts:?}");
    assert_eq!(h.router.in_flight(h.ep("a")), 0);
    h.router.check_invariants("one leg left");
    let acts = h.outcome(ms(130), AttemptId(1), Outcome::Success);
    assert!(matches!(acts[..], [Action::Complete { call: c, attempt: AttemptId(1), .. }] if c == call));
}

#[test]
fn both_legs_failing_moves_on_like_a_failure() {
    let mut h = hedged();
    let (call, _) = h.submit(ms(0), "t");
    h.tick(ms(100));
    h.outcome(ms(110), AttemptId(1), Outcome::ServerError);
    let acts = h.outcome(ms(120), AttemptId(0), Outcome::ServerError);
    // Third (last) attempt goes to the step after a.
    assert_eq!(dispatched(&acts), vec![(call, AttemptId(2), h.ep("b"))]);
    let acts = h.outcome(ms(130), AttemptId(2), Outcome::ServerError);
    assert_eq!(
        acts,
        vec![Action::Fail {
            call,
            reason: FailReason::AttemptsExhausted
        }]
    );
}

#[test]
fn no_hedge_after_an_answer_or_without_a_free_step() {
    let mut h = hedged();
    h.submit(ms(0), "t");
    h.outcome(ms(50), AttemptId(0), Outcome::Success);
    assert!(h.tick(ms(100)).is_empty());
    assert_eq!(h.router.poll_timeout(), None);
    // b is busy: the hedge is skipped rather than queued.
    h.submit(ms(200), "t"); // attempt 1 on a
    h.tick(ms(300)); // hedge, attempt 2 on b
    h.submit(ms(300), "t"); // waits for a
    let acts = h.tick(ms(400));
    assert!(dispatched(&acts).is_empty(), "{acts:?}");
    h.router.check_invariants("busy");
}

#[test]
fn tenants_without_hedge_after_never_hedge() {
    let mut h = Harness::new(
        vec![endpoint("a", Some(1), 1000), endpoint("b", Some(1), 1000)],
        vec![tenant("t", SlaClass::Gold, &[("a", 0), ("b", 1)])],
    );
    h.submit(ms(0), "t");
    assert_eq!(h.router.poll_timeout(), Some(ms(1000)));
}

#[test]
fn a_hedge_inside_a_pool_goes_to_the_other_member_and_raises_nothing() {
    let mut t = tenant("t", SlaClass::Gold, &[("a", 0), ("b", 0)]);
    t.hedge_after = Some(Span::from_millis(100));
    t.max_concurrency = Some(2);
    let mut h = Harness::new(vec![endpoint("a", None, 1000), endpoint("b", None, 1000)], vec![t]);
    let (call, acts) = h.submit(ms(0), "t");
    let first = dispatched(&acts)[0].2;
    let other = if first == h.ep("a") { h.ep("b") } else { h.ep("a") };
    let acts = h.tick(ms(100));
    assert_eq!(dispatched(&acts), vec![(call, AttemptId(1), other)]);
    assert!(h.events.is_empty(), "{:?}", h.events);
    // The first leg wins this time; the hedge is cancelled.
    let acts = h.outcome(ms(120), AttemptId(0), Outcome::Success);
    assert_eq!(
        acts[0],
        Action::Cancel {
            call,
            attempt: AttemptId(1)
        }
    );
    assert!(matches!(
        acts[1],
        Action::Complete {
            attempt: AttemptId(0),
            ..
        }
    ));
    h.router.check_invariants("same tier");
}

#[test]
fn a_tenant_at_its_cap_does_not_hedge() {
    let mut t = tenant("t", SlaClass::Gold, &[("a", 0), ("b", 1)]);
    t.hedge_after = Some(Span::from_millis(100));
    t.max_concurrency = Some(1);
    let mut h = Harness::new(vec![endpoint("a", None, 1000), endpoint("b", None, 1000)], vec![t]);
    h.submit(ms(0), "t");
    assert!(dispatched(&h.tick(ms(100))).is_empty());
}

#[test]
fn a_streamed_hedge_is_won_by_the_first_token_and_the_loser_cancelled_then() {
    let mut h = hedged();
    let (call, _) = h.submit(ms(0), "t");
    h.tick(ms(100));
    // The hedge (attempt 1, on b) streams first: the original is cancelled
    // at that instant, not when either answer ends.
    h.router.on_first_token(ms(130), AttemptId(1));
    assert_eq!(
        h.drain(),
        vec![Action::Cancel {
            call,
            attempt: AttemptId(0)
        }]
    );
    assert_eq!(h.router.in_flight(h.ep("a")), 0);
    assert_eq!(h.router.in_flight(h.ep("b")), 1);
    h.router.check_invariants("the race decided by the first token");
    // The loser's late first token and answer change nothing.
    h.router.on_first_token(ms(140), AttemptId(0));
    assert!(h.drain().is_empty());
    assert!(h.outcome(ms(150), AttemptId(0), Outcome::Success).is_empty());
    let acts = h.outcome(ms(400), AttemptId(1), Outcome::Success);
    assert_eq!(
        acts,
        vec![Action::Complete {
            call,
            attempt: AttemptId(1),
            endpoint: h.ep("b"),
            tier: Tier(1)
        }]
    );
    assert_eq!(h.router.in_flight(h.ep("b")), 0);
    h.router.check_invariants("after the streamed race");
}

#[test]
fn the_original_streaming_first_cancels_the_hedge() {
    let mut h = hedged();
    let (call, _) = h.submit(ms(0), "t");
    h.tick(ms(100));
    h.router.on_first_token(ms(110), AttemptId(0));
    assert_eq!(
        h.drain(),
        vec![Action::Cancel {
            call,
            attempt: AttemptId(1)
        }]
    );
    assert_eq!(h.router.in_flight(h.ep("b")), 0);
    // The winner failing mid-stream is an ordinary failure: retried or
    // failed as any attempt, never resurrecting the cancelled leg.
    assert!(h.outcome(ms(120), AttemptId(1), Outcome::Success).is_empty());
    h.router.check_invariants("hedge cancelled");
}

#[test]
fn a_leg_already_streaming_is_not_hedged() {
    let mut h = hedged();
    let (_, acts) = h.submit(ms(0), "t");
    assert_eq!(dispatched(&acts).len(), 1);
    h.router.on_first_token(ms(50), AttemptId(0));
    assert!(h.drain().is_empty());
    // The hedge timer fires, but a second stream could not reach the client.
    let acts = h.tick(ms(100));
    assert!(dispatched(&acts).is_empty(), "{acts:?}");
    assert_eq!(h.router.in_flight(h.ep("b")), 0);
    h.router.check_invariants("no hedge after the first token");
}
